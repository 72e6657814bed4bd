"""The kiosk's service worker script: served under /kiosk/ to anyone, never cached stale."""

import re

import pytest
from django.urls import reverse

from core.web.kiosk_worker import SERVICE_WORKER


def test_url_is_under_the_kiosk_page_so_the_worker_can_control_it():
    assert reverse("kiosk-sw") == "/kiosk/sw.js"
    assert reverse("kiosk-sw").startswith(reverse("kiosk"))


@pytest.mark.django_db
def test_served_without_login_as_javascript_that_the_browser_rechecks(client):
    response = client.get(reverse("kiosk-sw"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert response["Cache-Control"] == "no-cache"
    body = response.content.decode()
    assert body == SERVICE_WORKER.read_text()
    assert re.search(r'var CACHE = "door-kiosk-v\d+";', body)


@pytest.mark.django_db
def test_the_worker_names_no_static_file(client):
    # Production hashes static file names: the worker must learn them from the page.
    body = client.get(reverse("kiosk-sw")).content.decode()
    assert not re.search(r"/static/\S+\.(js|css|woff2|svg)", body)


@pytest.mark.django_db
def test_only_the_tablet_page_registers_the_worker(client, client_as, supervisor):
    assert 'data-sw-url="/kiosk/sw.js"' in client.get(reverse("kiosk")).content.decode()
    door_page = client_as(supervisor).get(reverse("door"))
    assert door_page.status_code == 200
    assert "data-sw-url" not in door_page.content.decode()


@pytest.mark.django_db
def test_only_get(client):
    assert client.post(reverse("kiosk-sw")).status_code == 405
