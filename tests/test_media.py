"""Uploads at /media/: staff or a signed, expiring URL (the kiosk); never public, never outside MEDIA_ROOT."""

import datetime

import pytest
import time_machine
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse

from core.ops.media import media_name_clean, media_url_signed
from tests.conftest import make_staff

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    (tmp_path / "secret.txt").write_text("outside MEDIA_ROOT")
    return settings.MEDIA_ROOT


@pytest.fixture
def photo(media_root) -> str:
    return default_storage.save("students/1001.png", ContentFile(PNG))


@pytest.fixture
def staff_client(client, main_branch):
    client.force_login(make_staff("door9", None, main_branch))
    return client


def test_the_route_exists_in_every_mode():
    assert reverse("media", args=["students/1001.png"]) == "/media/students/1001.png"


def test_staff_may_fetch_an_upload(staff_client, photo):
    response = staff_client.get(f"/media/{photo}")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PNG
    assert response["Content-Type"] == "image/png"
    assert response["Cache-Control"].startswith("private, max-age=")
    assert "attachment" not in response.get("Content-Disposition", "")


def test_anonymous_gets_403(client, photo):
    assert client.get(f"/media/{photo}").status_code == 403


def test_a_logged_in_non_staff_user_gets_403(client, photo, main_branch):
    from core.models import User

    client.force_login(User.objects.create_user(username="plain", password="correct-horse-9"))
    assert client.get(f"/media/{photo}").status_code == 403


def test_a_signed_url_works_without_login(client, photo):
    url = media_url_signed(photo)
    assert url.startswith(f"/media/{photo}?s=600:")
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PNG
    assert response["Cache-Control"] == "private, max-age=600"


def test_a_signed_url_expires(client, photo):
    start = datetime.datetime(2026, 11, 28, 12, 0, tzinfo=datetime.UTC)
    with time_machine.travel(start, tick=False) as clock:
        url = media_url_signed(photo, max_age=60)
        assert client.get(url).status_code == 200
        clock.shift(datetime.timedelta(seconds=61))
        assert client.get(url).status_code == 403


def test_a_tampered_signature_or_lifetime_gets_403(client, photo):
    url = media_url_signed(photo, max_age=60)
    base, token = url.split("?s=")
    max_age, timestamp, signature = token.split(":")
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    assert client.get(f"{base}?s={max_age}:{timestamp}:{flipped}").status_code == 403
    assert client.get(f"{base}?s=99999:{timestamp}:{signature}").status_code == 403
    assert client.get(f"{base}?s=garbage").status_code == 403


def test_a_signature_for_one_file_does_not_open_another(client, photo):
    other = default_storage.save("students/1002.png", ContentFile(PNG))
    token = media_url_signed(photo).split("?s=")[1]
    assert client.get(f"/media/{other}?s={token}").status_code == 403


@pytest.mark.parametrize(
    "path",
    [
        "/media/../secret.txt",
        "/media/%2e%2e/secret.txt",
        "/media/students/%2e%2e/%2e%2e/secret.txt",
        "/media/students//1001.png",
        "/media/students/./1001.png",
        "/media/students%5c..%5c..%5csecret.txt",
    ],
)
def test_path_traversal_never_leaves_media_root(staff_client, client, photo, path):
    assert staff_client.get(path).status_code in (403, 404)
    assert client.logout() is None
    assert client.get(path).status_code in (403, 404)


def test_names_that_could_leave_media_root_are_refused():
    assert media_name_clean("students/1001.png") == "students/1001.png"
    for bad in ["../x", "a/../../x", "/etc/passwd", "a//b", "./a", "a\\..\\b", "a\x00b", ""]:
        assert media_name_clean(bad) is None, bad


def test_a_missing_file_is_404(staff_client, media_root):
    assert staff_client.get("/media/students/none.png").status_code == 404


def test_a_signed_url_of_a_missing_file_is_404(client, media_root):
    assert client.get(media_url_signed("students/none.png")).status_code == 404


def test_files_that_are_not_images_download_instead_of_opening(staff_client, media_root):
    name = default_storage.save("imports/page.html", ContentFile(b"<script>alert(1)</script>"))
    response = staff_client.get(f"/media/{name}")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/html"
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"


def test_an_unchanged_file_answers_304(staff_client, photo):
    first = staff_client.get(f"/media/{photo}")
    again = staff_client.get(f"/media/{photo}", HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])
    assert again.status_code == 304


def test_only_get_and_head(staff_client, photo):
    assert staff_client.head(f"/media/{photo}").status_code == 200
    assert staff_client.post(f"/media/{photo}").status_code in (403, 405)


def test_a_storage_that_does_not_know_modification_times_still_serves(staff_client, photo, monkeypatch):
    def unknown(name):
        raise NotImplementedError

    monkeypatch.setattr(default_storage, "get_modified_time", unknown)
    response = staff_client.get(f"/media/{photo}")
    assert response.status_code == 200
    assert "Last-Modified" not in response
