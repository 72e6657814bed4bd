"""The door's endpoints when things break (issue 15: 3, 4): every failure answers 503 JSON with a
translated sentence the tablet shows, never Django's HTML error page; a database that does not
answer is cut off after the deadline instead of holding the door."""

import datetime
import json
import threading
import time

import pytest
import time_machine
from django.core.cache import cache
from django.db import OperationalError, connection, connections
from django.test import Client
from django.utils import translation

from core.models import Attendance, FeePeriod, ScanEvent
from core.ops.db_deadline import database_deadline
from core.services.kiosks import kiosk_create
from core.web import kiosk_api as kiosk_views
from tests.factories import CAIRO, enroll, make_group, make_room, make_session, make_student, pay

URL = "/kiosk/scan/"
ROSTER = "/kiosk/roster/"
BUSY = "The system is busy and could not record this scan right now."
DOOR_OPEN = datetime.datetime(2026, 11, 26, 15, 50, tzinfo=CAIRO)


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def door(main_branch):
    room = make_room(main_branch)
    group = make_group(main_branch, fee="200.00", fee_period=FeePeriod.MONTH, room=room)
    student = make_student(main_branch)
    pay(enroll(student, group), "200.00")
    make_session(group, room)
    _kiosk, token = kiosk_create(actor=None, name="Main door", branch=main_branch, room=room)
    return student, token


def scan(token: str, body: dict, path: str = URL):
    client = Client(enforce_csrf_checks=True)
    csrf = client.get(URL).json()["csrf_token"]
    return client.post(
        path,
        data=json.dumps(body),
        content_type="application/json",
        headers={"X-Kiosk-Token": token, "X-CSRFToken": csrf},
    )


def assert_busy_json(response) -> None:
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    answer = response.json()
    assert answer["retry"] is True and response["Retry-After"] == "15"
    with translation.override("ar"):
        arabic = translation.gettext(BUSY)
    assert arabic != BUSY  # translated
    assert answer["error"] == arabic  # the kiosk speaks the center's language (Arabic)


def break_table(table: str) -> None:
    """A real database failure, undone when the test's transaction rolls back."""
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {table} RENAME TO {table}_gone")


@pytest.mark.django_db
@time_machine.travel(DOOR_OPEN, tick=False)
def test_a_database_error_during_a_scan_answers_503_json_with_a_translated_message(door):
    student, token = door
    with translation.override("ar"):
        Client().get(URL)  # the CSRF cookie first, while the database still works
    break_table("core_scanevent")
    assert_busy_json(scan(token, {"code": student.code, "client_scan_id": "k-1"}))


@pytest.mark.django_db
def test_a_database_error_while_checking_the_kiosk_token_answers_503_json(door):
    student, token = door
    client = Client(enforce_csrf_checks=True)
    csrf = client.get(URL).json()["csrf_token"]
    break_table("core_kiosk")
    response = client.post(
        URL,
        data=json.dumps({"code": student.code}),
        content_type="application/json",
        headers={"X-Kiosk-Token": token, "X-CSRFToken": csrf},
    )
    assert_busy_json(response)


@pytest.mark.django_db
def test_the_roster_answers_503_json_when_the_database_fails(door):
    _student, token = door
    break_table("core_kiosk")
    assert_busy_json(Client().get(ROSTER, headers={"X-Kiosk-Token": token}))


@pytest.mark.django_db
@time_machine.travel(DOOR_OPEN, tick=False)
def test_an_unexpected_error_answers_503_json_and_is_logged_with_its_traceback(door, monkeypatch, caplog):
    student, token = door

    def broken(*args, **kwargs):
        raise RuntimeError("a bug nobody foresaw")

    # The one stand-in here: no real input reaches an unforeseen bug (that is what makes it one).
    monkeypatch.setattr(kiosk_views, "scan_process", broken)
    response = scan(token, {"code": student.code, "client_scan_id": "k-2"})
    assert_busy_json(response)
    [record] = [record for record in caplog.records if record.name == "core.web.kiosk_api"]
    assert record.levelname == "ERROR" and "a bug nobody foresaw" in str(record.exc_info[1])


@pytest.mark.django_db
@time_machine.travel(DOOR_OPEN, tick=False)
def test_an_impossible_offline_scan_time_is_a_400_not_a_crash(door):
    student, token = door
    response = scan(token, {"code": student.code, "client_scan_id": "k-3", "at": "2026-02-30T15:50:00+02:00"})
    assert response.status_code == 400 and "ISO 8601" in response.json()["error"]


@pytest.mark.django_db
@time_machine.travel(DOOR_OPEN, tick=False)
def test_a_scan_that_works_is_untouched_by_the_deadline(door):
    student, token = door
    response = scan(token, {"code": student.code, "client_scan_id": "k-4"})
    assert response.status_code == 200 and response.json()["code"] == "present"
    assert Attendance.objects.count() == 1 and ScanEvent.objects.get().client_scan_id == "k-4"


@pytest.mark.django_db
def test_the_deadline_cuts_a_database_call_that_does_not_answer():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite is a file: there is no server to stall and no socket to cut")
    outcome = {}

    def stalled_request():
        # A thread of its own: its own connection, as a gunicorn thread has.
        # Open the connection first, as a gunicorn thread has it open before the request: on a
        # loaded machine connecting alone can take longer than the 1 s deadline, and a deadline
        # that fires before there is a socket has nothing to cut.
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            outcome["backend"] = cursor.fetchone()[0]
        started = time.monotonic()
        try:
            with database_deadline(1) as fired, connections["default"].cursor() as cursor:
                cursor.execute("SELECT pg_sleep(20)")
        except OperationalError as exc:
            outcome["error"] = exc
        outcome["seconds"] = time.monotonic() - started
        outcome["fired"] = fired.is_set()
        connections["default"].close()

    thread = threading.Thread(target=stalled_request)
    thread.start()
    thread.join(15)
    with connection.cursor() as cursor:  # the server side still sleeps: end it
        cursor.execute("SELECT pg_terminate_backend(%s)", [outcome["backend"]])
    assert isinstance(outcome.get("error"), OperationalError)
    assert outcome["fired"]
    assert outcome["seconds"] < 6  # cut at 1 s; the server would have slept 20 s (slack for a loaded machine)


def test_no_deadline_when_it_is_zero():
    with database_deadline(0) as fired:
        pass
    assert not fired.is_set()
