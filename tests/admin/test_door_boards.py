"""The door's admin pages: today's sessions board (mark the teacher in), a session's attendance
changed with a reason, and the monthly attendance sheet; permissions and fixed query counts."""

import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.models import Attendance, AuditLog, FeePeriod, Kiosk, Session
from core.services.kiosks import kiosk_create
from core.services.scanning import scan_process
from tests.factories import CAIRO, enroll, make_group, make_room, make_session, make_student, pay

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


def test_the_board_counts_as_the_kiosk_roster_does(main_branch, supervisor, door):
    """The board counts with grouped queries, the kiosk's roster lists names: same numbers.
    Refused and let in by hand afterwards is in, not refused; refused twice counts once."""
    from core.models import ScanEvent
    from core.selectors.door import rosters_for, session_counts
    from core.services.door import attendance_set

    session, _admitted, waiting = door
    kiosk = Kiosk.objects.get()
    owes, owes_then_let_in = make_student(main_branch), make_student(main_branch)
    enroll(owes, session.group)
    enroll(owes_then_let_in, session.group)
    for student in (owes, owes, owes_then_let_in):
        assert scan_process(student.code, kiosk=kiosk).code == "pay_first"
    attendance_set(actor=supervisor, session=session, student=owes_then_let_in, status="late", reason="دفع")
    assert ScanEvent.objects.filter(outcome="pay_first").count() == 3

    (roster,) = rosters_for([session], NOW.date())
    counts = session_counts({session.pk: session.group_id}, NOW.date())[session.pk].board()
    assert counts == roster.counts == {"expected": 4, "in": 2, "late": 1, "refused": 1}
    assert waiting.full_name in roster.waiting


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
    from core.access.roles import Role
    from tests.conftest import make_staff
    from tests.factories import make_branch

    session, _admitted, _waiting = door
    elsewhere = make_staff("door9", Role.SUPERVISOR, make_branch())
    assert client_as(elsewhere).get(SHEET, {"group": session.group_id}).status_code == 404


def test_a_cancelled_session_is_neither_held_nor_missed_on_the_sheet(client_as, manager, door):
    from core.admin.door_boards import attendance_sheet_rows
    from core.services.sessions import session_cancel

    session, admitted, waiting = door
    earlier_start = datetime.datetime(2026, 11, 19, 16, 0, tzinfo=CAIRO)
    earlier = make_session(session.group, session.room, starts_at=earlier_start)
    Attendance.objects.create(
        session=earlier,
        student=admitted,
        enrollment=admitted.enrollments.get(),
        status=Attendance.Status.LATE,
        minutes_late=5,
        at=earlier_start,
    )
    session_cancel(actor=manager, session=session, reason="عطل")  # after `admitted` came in
    sessions, rows = attendance_sheet_rows(session.group, datetime.date(2026, 11, 1))
    by_student = {row["student"]: row for row in rows}
    assert [s.pk for s in sessions] == [earlier.pk, session.pk]
    assert (by_student[admitted]["attended"], by_student[admitted]["held"]) == (1, 1)
    assert (by_student[waiting]["attended"], by_student[waiting]["held"]) == (0, 1)
    assert by_student[admitted]["cells"][1] == {"status": "cancelled", "mark": "—"}
    page = client_as(manager).get(SHEET, {"group": session.group_id, "month": "2026-11"}).content.decode()
    table = page.split('id="attendance-sheet"')[1].split("</table>")[0]
    assert "is-cancelled" in table and "✓" not in table  # the admitted student's mark is not shown
    assert "<strong>0</strong>/1" in table and "<strong>1</strong>/1" in table


def test_a_session_not_started_yet_is_not_counted_as_held(door):
    from core.admin.door_boards import attendance_sheet_rows

    session, _admitted, _waiting = door
    make_session(session.group, session.room, starts_at=datetime.datetime(2026, 11, 30, 16, 0, tzinfo=CAIRO))
    _sessions, rows = attendance_sheet_rows(session.group, datetime.date(2026, 11, 1))
    assert {row["held"] for row in rows} == {1}


def test_the_sheet_marks_are_symbols_or_translated_words_not_latin_letters(client_as, manager, door):
    from django.utils.translation import pgettext

    from core.admin.door_boards import MARKS

    session, _admitted, _waiting = door
    assert MARKS[Attendance.Status.PRESENT] == "✓" and MARKS[Attendance.Status.ABSENT] == "✗"
    assert str(MARKS[Attendance.Status.LATE]) == pgettext("attendance sheet mark", "late")
    assert str(MARKS[Attendance.Status.EXCUSED]) == pgettext("attendance sheet mark", "excused")
    page = client_as(manager).get(SHEET, {"group": session.group_id, "month": "2026-11"}).content.decode()
    legend = page.split("door-legends")[1].split("</p>")[0]
    assert ">L<" not in legend and ">E<" not in legend


def test_the_board_offers_the_teacher_button_only_inside_the_window(client_as, supervisor, main_branch, door):
    session, _admitted, _waiting = door  # 16:00–18:00, now 15:50: the door is open
    later, _people = classroom(main_branch, students=1, start_hour=19)  # the door opens at 18:30
    over, _people = classroom(main_branch, students=1, start_hour=12)  # ended at 14:00
    page = client_as(supervisor).get(BOARD).content.decode()
    assert reverse("door-teacher-arrived", args=[session.pk]) in page
    assert reverse("door-teacher-arrived", args=[later.pk]) not in page
    assert reverse("door-teacher-arrived", args=[over.pk]) not in page
    rows = {int(row.split('"')[0]): row for row in page.split('data-session="')[1:]}
    assert "18:30" in rows[later.pk].split("</tr>")[0]
    assert "is-muted" in rows[over.pk].split("</tr>")[0]


def attendance_rows(page: str) -> dict[str, str]:
    table = page.split('id="session-attendance"')[1].split("</table>")[0]
    return {row.split('"')[0]: row.split("</tr>")[0] for row in table.split('data-student="')[1:]}


def test_the_status_choice_starts_empty_so_one_click_marks_nobody(client_as, supervisor, door):
    session, _admitted, waiting = door
    client = client_as(supervisor)
    url = reverse("door-session-attendance", args=[session.pk])
    row = attendance_rows(client.get(url).content.decode())[str(waiting.pk)]
    assert '<option value="" selected>' in row and 'value="present" selected' not in row
    client.post(url, {"student": waiting.pk, "status": "", "reason": "x"})
    assert not Attendance.objects.filter(student=waiting).exists()


def test_the_page_shows_each_students_last_door_answer_without_the_amount(client_as, supervisor, door):
    session, admitted, waiting = door
    owes = make_student(session.room.branch)
    enroll(owes, session.group)  # never paid: refused at the door
    assert scan_process(owes.code, kiosk=Kiosk.objects.get()).code == "pay_first"
    page = client_as(supervisor).get(reverse("door-session-attendance", args=[session.pk])).content.decode()
    rows = attendance_rows(page)
    assert "is-refused" in rows[str(owes.pk)] and "15:50" in rows[str(owes.pk)]
    assert "200" not in rows[str(owes.pk)].replace(f'value="{owes.pk}"', "")
    assert "is-refused" not in rows[str(admitted.pk)]
    assert "is-refused" not in rows[str(waiting.pk)]


def test_the_session_attendance_page_runs_the_same_queries_for_few_or_many(client_as, supervisor, door):
    session, _admitted, _waiting = door
    client = client_as(supervisor)
    url = reverse("door-session-attendance", args=[session.pk])
    client.get(url)  # warm the per-process caches
    few = queries(client, url)
    kiosk = Kiosk.objects.get()
    for _index in range(4):
        student = make_student(session.room.branch)
        enroll(student, session.group)
        scan_process(student.code, kiosk=kiosk)  # refused: owes
    assert queries(client, url) == few
