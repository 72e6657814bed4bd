"""How many queries a scan costs (bench/scans.py measures the same on PostgreSQL)."""

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.models import CenterSettings, FeePeriod
from core.services.kiosks import kiosk_create
from core.services.scanning import scan_process
from tests.factories import make_group, make_room, make_student
from tests.services.test_scanning import enroll, make_session, pay

CAIRO = ZoneInfo("Africa/Cairo")
AT = datetime.datetime(2026, 11, 26, 15, 50, tzinfo=CAIRO)


@pytest.fixture
def door(main_branch):
    CenterSettings.load()
    room = make_room(main_branch)
    group = make_group(main_branch, fee="200.00", fee_period=FeePeriod.MONTH, room=room)
    make_session(group, room)
    kiosk, _token = kiosk_create(actor=None, name="Door", branch=main_branch, room=room)
    return main_branch, group, kiosk


def statements(code, kiosk, scan_id) -> tuple[str, int]:
    with CaptureQueriesContext(connection) as captured:
        outcome = scan_process(code, kiosk=kiosk, at=AT, client_scan_id=scan_id)
    # transaction control is not work: leave BEGIN/SAVEPOINT/RELEASE/COMMIT out
    work = [
        q for q in captured.captured_queries if q["sql"].split()[0] not in {"BEGIN", "SAVEPOINT", "RELEASE", "COMMIT"}
    ]
    return outcome.code, len(work)


def test_an_admitted_scan_runs_ten_statements_besides_the_parent_message(door):
    branch, group, kiosk = door
    student = make_student(branch)
    student.guardian_links.all().delete()  # the message costs are messaging's, measured apart
    pay(enroll(student, group), "200.00")
    assert statements(student.code, kiosk, "q-1") == ("present", 10)


def test_a_refused_scan_runs_eight_statements_besides_the_parent_message(door):
    branch, group, kiosk = door
    student = make_student(branch)
    student.guardian_links.all().delete()
    enroll(student, group)
    assert statements(student.code, kiosk, "q-2") == ("pay_first", 8)


def test_a_repeated_scan_id_answers_without_writing(door):
    branch, group, kiosk = door
    student = make_student(branch)
    pay(enroll(student, group), "200.00")
    statements(student.code, kiosk, "q-3")
    code, _count = statements(student.code, kiosk, "q-3")
    assert code == "present"
