"""The door tablet reloads while the network is down: the service worker's copy of the page loads,
says it is offline, queues the scans, and sends them when the network is back."""

import threading

import pytest
from django.core.signals import request_started
from django.utils import translation
from playwright.sync_api import expect

from core.models import Attendance, ScanEvent
from core.web.kiosk_api import kiosk_strings
from tests.e2e import test_kiosk
from tests.e2e.test_kiosk import pair, scan

# the same door as the other kiosk tests: a class starting in ten minutes, its kiosk and token
door_now = test_kiosk.door_now

pytestmark = pytest.mark.e2e


class ServerRequests:
    """Every request the live server starts, as the path it asked for (the server is a thread here)."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, sender, environ=None, **kwargs) -> None:
        with self._lock:
            self.paths.append((environ or {}).get("PATH_INFO", "?"))

    def since(self, start: int) -> list[str]:
        with self._lock:
            return self.paths[start:]


@pytest.fixture
def server_requests():
    seen = ServerRequests()
    request_started.connect(seen, weak=False)
    yield seen
    request_started.disconnect(seen)


def worker_controls(page) -> None:
    """Waits until the service worker is active, has kept the page, and controls this tab."""
    # wait_for_function, not evaluate(ready): a worker that never comes must fail, not hang
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    assert (
        page.evaluate("() => navigator.serviceWorker.ready.then((registration) => registration.active.state)")
        == "activated"
    )
    page.wait_for_function(
        "async () => Boolean(await caches.match('/kiosk/')) && (await (await caches.open((await caches.keys())[0])).keys()).length > 3"
    )


def test_the_kiosk_reloads_offline_from_the_worker_and_sends_its_queue_later(
    page, door_now, problems, server_requests, screenshot
):
    (student, _other), token = door_now
    with translation.override("ar"):
        texts = kiosk_strings()
    pair(page, token)
    worker_controls(page)
    cached = page.evaluate(
        "async () => (await caches.open((await caches.keys())[0])).keys().then(k => k.map(r => r.url))"
    )
    assert any(url.endswith(".woff2") for url in cached), cached  # the Arabic face, named by fonts.css

    # what the tablet itself asks for while the network is down (the CSRF token, the roster)
    problems.expect(r"net::ERR_INTERNET_DISCONNECTED")
    page.context.set_offline(True)
    before = len(server_requests.paths)
    static_files = []
    page.on("response", lambda answer: "/static/" in answer.url and static_files.append(answer))
    response = page.reload(wait_until="load")
    assert response is not None and response.ok and response.from_service_worker
    # the page and its files came from the worker's cache (not the browser's own HTTP cache, which
    # a restart or an eviction may empty): the server heard nothing
    assert {answer.url.rsplit("/", 1)[-1] for answer in static_files} >= {"kiosk.js", "kiosk.css", "fonts.css"}
    assert all(answer.ok and answer.from_service_worker for answer in static_files), static_files
    assert server_requests.since(before) == []

    page.wait_for_selector("#scan-input", state="visible")  # still paired: the token is on the tablet
    banner = page.locator("#offline-banner")
    expect(banner).to_be_visible()
    expect(banner).to_have_text(texts["offline"])
    assert page.evaluate("document.fonts.check('16px Cairo', 'سارة')")
    # the template's "no class at this door now" would be a guess: the roster says it needs the network
    expect(page.locator("#roster")).to_have_text(texts["rosterOffline"])
    screenshot(page, "offline-reloaded")

    scan(page, student.code)
    expect(page.locator("#result")).to_have_attribute("data-colour", "offline")
    expect(page.locator("#result-message")).to_have_text(texts["savedOffline"])
    expect(banner).to_have_text(texts["offlineWaiting"] % {"count": 1})
    screenshot(page, "saved-offline")
    assert server_requests.since(before) == []
    assert not ScanEvent.objects.exists() and not Attendance.objects.exists()

    page.context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    expect(banner).to_be_hidden(timeout=10_000)
    attendance = Attendance.objects.get(student=student)
    assert attendance.source == Attendance.Source.OFFLINE
    # the queue went with a fresh CSRF token asked for first, then the scan itself
    assert server_requests.since(before)[:2] == ["/kiosk/scan/", "/kiosk/scan/"]
    # and the next scan goes straight to the server again
    scan(page, student.code)
    expect(page.locator("#result")).to_have_attribute("data-colour", "gray")
    problems.assert_none()
