"""The tablet when the server is slow or busy (issue 15: 3, 4): a scan not answered within 5 s,
or answered 503, goes to the offline queue; its replay keeps the client scan id, so a scan the
server committed late is not counted twice."""

import time

import pytest
from django.utils import translation
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from core.models import Attendance, ScanEvent
from tests.e2e.test_kiosk import door_now, pair, scan  # noqa: F401 (door_now is a fixture)

pytestmark = pytest.mark.e2e
BUSY = "The system is busy and could not record this scan right now."


def test_a_scan_answered_too_late_is_queued_and_its_replay_is_not_counted_twice(page, door_now, problems):  # noqa: F811
    (student, _other), token = door_now
    pair(page, token)
    held = []

    def late(route):
        if route.request.method != "POST" or held:
            route.continue_()
            return
        held.append(route.request.post_data_json["client_scan_id"])
        answer = route.fetch()  # the server records the scan...
        time.sleep(6)  # ...but its answer comes after the tablet's 5 s limit
        try:
            route.fulfill(response=answer)
        except PlaywrightError:
            pass  # the tablet gave up on the request

    problems.expect(r"ERR_|aborted|signal is aborted")
    page.route("**/kiosk/scan/", late)
    started = time.monotonic()
    scan(page, student.code)
    expect(page.locator("#result")).to_have_attribute("data-colour", "offline", timeout=15_000)
    expect(page.locator("#offline-banner")).to_contain_text("1")
    assert Attendance.objects.count() == 1  # committed late, while the tablet had given up
    page.unroute("**/kiosk/scan/")
    page.evaluate("window.dispatchEvent(new Event('online'))")
    expect(page.locator("#offline-banner")).to_be_hidden(timeout=10_000)
    assert time.monotonic() - started < 20
    assert Attendance.objects.count() == 1
    assert ScanEvent.objects.filter(client_scan_id=held[0]).count() == 1


def test_a_busy_server_shows_its_sentence_and_the_scan_waits_on_the_tablet(page, door_now, problems):  # noqa: F811
    (student, _other), token = door_now
    pair(page, token)
    with translation.override("ar"):
        busy = translation.gettext(BUSY)
    problems.expect(r"HTTP 503|status of 503")

    def busy_server(route):
        if route.request.method != "POST":
            route.continue_()
            return
        route.fulfill(status=503, json={"error": busy, "retry": True}, headers={"Retry-After": "15"})

    page.route("**/kiosk/scan/", busy_server)
    scan(page, student.code)
    result = page.locator("#result")
    expect(result).to_have_attribute("data-colour", "offline")
    expect(result).to_contain_text(busy)
    expect(page.locator("#offline-banner")).to_contain_text("1")
    assert not Attendance.objects.exists()
    page.unroute("**/kiosk/scan/")
    page.evaluate("window.dispatchEvent(new Event('online'))")
    expect(page.locator("#offline-banner")).to_be_hidden(timeout=10_000)
    assert Attendance.objects.filter(student=student).count() == 1
