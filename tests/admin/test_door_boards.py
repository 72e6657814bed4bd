"""The door's admin pages: today's sessions board (mark the teacher in), a session's attendance
changed with a reason, and the monthly attendance sheet; permissions and fixed query counts."""

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.models import Attendance, AuditLog, FeePeriod, Session
from core.services.kiosks import kiosk_create
from core.services.scanning import scan_process
from tests.factories import make_group, make_room, make_student
from tests.services.test_scanning import enroll, make_session, pay

CAIRO = ZoneInfo("Africa/Cairo")
NOW = datetime.datetime(2026, 11, 26, 15, 50, tzinfo=CAIRO)
BOARD = "/admin/door/today/"
SHEET = "/admin/door/sheet/"


@pytest.fixture(autouse=True)
def _at_the_door():
    with time_machine.travel(NOW, tick=False):
        yield


def classroom(branch, students=2, start_hour=16):
    room = make_room(branch)
    group = make_group(branch, fee="200.00", fee_period=FeePeriod.MONTH, room=room)
    people = []
    for _index in range(students):
        student = make_student(branch)
        pay(enroll(student, group), "200.00")
        people.append(student)
    start = datetime.datetime(2026, 11, 26, start_hour, 0, tzinfo=CAIRO)
    session = make_session(group, room, starts_at=start)
    return session, people


@pytest.fixture
def door(main_branch):
    session, (admitted, waiting) = classroom(main_branch)
    kiosk, _token = kiosk_create(actor=None, name="Door", branch=main_branch, room=session.room)
    scan_process(admitted.code, kiosk=kiosk)
    return session, admitted, waiting


def queries(client, url, **params) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(captured)


# --- today's board ----------------------------------------------------------------------------------


def test_anonymous_goes_to_the_login(client, door):
    assert client.get(BOARD)["Location"].startswith("/admin/login/")


def test_receptionist_may_not_open_the_board(client_as, receptionist, door):
    assert client_as(receptionist).get(BOARD).status_code == 403


def test_the_board_counts_who_came(client_as, supervisor, door):
    session, _admitted, _waiting = door
    page = client_as(supervisor).get(BOARD).content.decode()
    assert session.group.name in page and session.group.teacher.full_name in page
    assert 'data-count="in">1<' in page
    assert reverse("door-teacher-arrived", args=[session.pk]) in page


def test_the_board_runs_the_same_queries_for_one_session_or_many(client_as, supervisor, main_branch, door):
    client = client_as(supervisor)
    client.get(BOARD)  # warm the per-process caches (center settings, content types)
    one = queries(client, BOARD)
    for hour in (17, 18, 19):
        classroom(main_branch, students=3, start_hour=hour)
    assert queries(client, BOARD) == one


def test_the_supervisor_marks_the_teacher_arrived(client_as, supervisor, door):
    session, _admitted, _waiting = door
    response = client_as(supervisor).post(reverse("door-teacher-arrived", args=[session.pk]))
    assert response.status_code == 302
    session.refresh_from_db()
    assert session.teacher_checked_in_at == NOW
    assert AuditLog.objects.filter(model="core.session", actor=supervisor).count() == 1


def test_the_teacher_cannot_be_marked_before_the_door_opens(client_as, supervisor, main_branch):
    later, _people = classroom(main_branch, students=1, start_hour=19)
    client_as(supervisor).post(reverse("door-teacher-arrived", args=[later.pk]))
    later.refresh_from_db()
    assert later.teacher_checked_in_at is None


def test_staff_without_the_door_permission_may_not_mark_the_teacher(client_as, accountant, door):
    session, _admitted, _waiting = door
    assert client_as(accountant).post(reverse("door-teacher-arrived", args=[session.pk])).status_code == 403
    session.refresh_from_db()
    assert session.teacher_checked_in_at is None


# --- a session's attendance, by hand ------------------------------------------------------------------


def test_a_manual_change_needs_a_reason_and_is_audited(client_as, supervisor, door):
    session, _admitted, waiting = door
    client = client_as(supervisor)
    url = reverse("door-session-attendance", args=[session.pk])
    assert waiting.full_name in client.get(url).content.decode()
    client.post(url, {"student": waiting.pk, "status": "excused", "reason": ""})
    assert not Attendance.objects.filter(student=waiting).exists()
    response = client.post(url, {"student": waiting.pk, "status": "excused", "reason": "مريض"})
    assert response.status_code == 302
    attendance = Attendance.objects.get(student=waiting)
    assert (attendance.status, attendance.source, attendance.reason) == ("excused", "manual", "مريض")
    assert AuditLog.objects.filter(model="core.attendance", actor=supervisor, reason="مريض").exists()


def test_who_may_only_read_cannot_change(client_as, teacher_user, door):
    session, _admitted, waiting = door
    url = reverse("door-session-attendance", args=[session.pk])
    assert (
        client_as(teacher_user).post(url, {"student": waiting.pk, "status": "present", "reason": "x"}).status_code
        == 403
    )
    assert not Attendance.objects.filter(student=waiting).exists()


# --- the monthly sheet --------------------------------------------------------------------------------------


def test_the_sheet_shows_students_by_sessions_with_fixed_queries(client_as, manager, door):
    session, admitted, waiting = door
    client = client_as(manager)
    params = {"group": session.group_id, "month": "2026-11"}
    page = client.get(SHEET, params).content.decode()
    assert admitted.full_name in page and waiting.full_name in page
    assert "26/11" in page
    one = queries(client, SHEET, **params)
    for day in (3, 10, 17):
        start = datetime.datetime(2026, 11, day, 16, 0, tzinfo=CAIRO)
        Session.objects.create(
            group=session.group,
            date=start.date(),
            starts_at=start,
            ends_at=start + datetime.timedelta(hours=2),
            room=session.room,
        )
    enroll(make_student(session.room.branch), session.group)
    assert queries(client, SHEET, **params) == one


def test_the_sheet_is_scoped_to_the_users_branches(client_as, door):
    from core.roles import Role
    from tests.conftest import make_staff
    from tests.factories import make_branch

    session, _admitted, _waiting = door
    elsewhere = make_staff("door9", Role.SUPERVISOR, make_branch())
    assert client_as(elsewhere).get(SHEET, {"group": session.group_id}).status_code == 404
