"""R6 auto-cancel and R7 absences: boundaries, reversals, notices, running twice."""

import datetime
from decimal import Decimal

import pytest
from django.utils import translation

from core.cards import teacher_card_value
from core.models import Attendance, EntryType, FeePeriod, LedgerEntry, Message, Session
from core.selectors.money import enrollment_balance
from core.services.door import sessions_auto_cancel, sessions_mark_absent
from core.services.scanning import scan_process
from tests.factories import cairo, center_set, enroll, make_group, make_room, make_session, make_student, pay


@pytest.fixture
def group(main_branch, room):
    return make_group(main_branch, fee="50.00", fee_period=FeePeriod.SESSION, room=room)


def paying_student(branch, group):
    student = make_student(branch)
    enrollment = enroll(student, group)
    pay(enrollment, "50.00", day=datetime.date(2026, 11, 1))
    return student, enrollment


def test_auto_cancel_waits_the_configured_minutes(main_branch, group, room):
    session = make_session(group, room)  # 16:00, auto-cancel after 15 minutes
    assert sessions_auto_cancel(now=cairo(16, 14, 59)) == 0
    assert sessions_auto_cancel(now=cairo(16, 15)) == 1
    session.refresh_from_db()
    assert session.status == Session.Status.CANCELLED
    assert "15" in session.cancel_reason
    assert sessions_auto_cancel(now=cairo(16, 16)) == 0


def test_auto_cancel_reverses_the_admitted_students_charges_and_tells_guardians(main_branch, group, room):
    make_session(group, room)
    admitted, enrollment = paying_student(main_branch, group)
    absent_one, _ = paying_student(main_branch, group)
    assert scan_process(admitted.code, at=cairo(15, 50)).code == "present"
    assert enrollment_balance(enrollment) == Decimal("0.00")
    assert sessions_auto_cancel(now=cairo(16, 20)) == 1
    charge = LedgerEntry.objects.get(entry_type=EntryType.CHARGE)
    assert charge.reversed_at is not None
    assert LedgerEntry.objects.get(entry_type=EntryType.REVERSAL).reverses == charge
    assert enrollment_balance(enrollment) == Decimal("50.00")
    notified = set(Message.objects.filter(template_key="session_cancelled").values_list("student_id", flat=True))
    assert notified == {admitted.pk, absent_one.pk}
    assert sessions_mark_absent(now=cairo(18, 5)) == 0  # a cancelled session has no absences


def test_checked_in_teacher_or_setting_off_means_no_auto_cancel(main_branch, group, room):
    session = make_session(group, room)
    assert scan_process(teacher_card_value(group.teacher), at=cairo(15, 55)).code == "teacher_in"
    assert sessions_auto_cancel(now=cairo(16, 30)) == 0
    other = make_session(make_group(main_branch), make_room(main_branch))
    center_set(auto_cancel_minutes=0)
    assert sessions_auto_cancel(now=cairo(16, 30)) == 0
    other.refresh_from_db()
    session.refresh_from_db()
    assert other.status == session.status == Session.Status.SCHEDULED


def test_absences_are_marked_once_when_the_session_ends(main_branch, group, room):
    session = make_session(group, room)  # 16:00-18:00
    came, _ = paying_student(main_branch, group)
    missed, _ = paying_student(main_branch, group)
    excused, excused_enrollment = paying_student(main_branch, group)
    Attendance.objects.create(
        session=session,
        student=excused,
        enrollment=excused_enrollment,
        status=Attendance.Status.EXCUSED,
        at=cairo(12, 0),
        source=Attendance.Source.MANUAL,
        reason="travelling",
    )
    scan_process(teacher_card_value(group.teacher), at=cairo(15, 55))
    scan_process(came.code, at=cairo(15, 58))
    assert sessions_mark_absent(now=cairo(17, 59, 59)) == 0
    assert sessions_mark_absent(now=cairo(18, 0)) == 1
    assert Attendance.objects.get(session=session, student=missed).status == Attendance.Status.ABSENT
    assert Attendance.objects.get(session=session, student=excused).status == Attendance.Status.EXCUSED
    session.refresh_from_db()
    assert session.status == Session.Status.HELD
    assert session.absences_marked_at == cairo(18, 0)
    assert list(Message.objects.filter(template_key="absent").values_list("student_id", flat=True)) == [missed.pk]
    assert sessions_mark_absent(now=cairo(18, 1)) == 0
    assert Attendance.objects.filter(session=session).count() == 3


def test_absence_notices_off_marks_but_sends_nothing(main_branch, group, room):
    make_session(group, room)
    paying_student(main_branch, group)
    center_set(absence_notices=False, auto_cancel_minutes=0)
    assert sessions_mark_absent(now=cairo(18, 0)) == 1
    assert not Message.objects.filter(template_key="absent").exists()


def test_a_manager_cancelling_mid_session_reverses_charges_too(main_branch, group, room, manager):
    from core.services.sessions import session_cancel

    session = make_session(group, room)
    student, enrollment = paying_student(main_branch, group)
    scan_process(student.code, at=cairo(15, 50))
    session_cancel(actor=manager, session=session, reason="power cut")
    assert enrollment_balance(enrollment) == Decimal("50.00")
    assert LedgerEntry.objects.get(entry_type=EntryType.REVERSAL).note == "power cut"


# --- manual attendance ----------------------------------------------------------------------------


def test_manual_attendance_needs_the_permission_and_a_reason(main_branch, group, room, accountant, supervisor):
    from django.core.exceptions import PermissionDenied, ValidationError

    from core.services.door import attendance_set

    session = make_session(group, room)
    student, _ = paying_student(main_branch, group)
    with pytest.raises(PermissionDenied):
        attendance_set(actor=accountant, session=session, student=student, status="present", reason="forgot card")
    with pytest.raises(ValidationError):
        attendance_set(actor=None, session=session, student=student, status="present", reason=" ")


def test_manual_present_charges_and_taking_it_back_reverses_with_audit(main_branch, group, room):
    from core.models import AuditLog
    from core.services.door import attendance_set

    session = make_session(group, room)
    student, enrollment = paying_student(main_branch, group)
    attendance = attendance_set(
        actor=None, session=session, student=student, status="present", reason="forgot his card", at=cairo(16, 0)
    )
    assert (attendance.status, attendance.source) == ("present", Attendance.Source.MANUAL)
    assert enrollment_balance(enrollment) == Decimal("0.00")
    assert LedgerEntry.objects.get(enrollment=enrollment, entry_type=EntryType.CHARGE).source == "manual"
    attendance_set(actor=None, session=session, student=student, status="excused", reason="scanned by mistake")
    assert enrollment_balance(enrollment) == Decimal("50.00")
    rows = AuditLog.objects.filter(model="core.attendance", object_id=str(attendance.pk)).order_by("id")
    assert [row.changes["status"] for row in rows] == [[None, "present"], ["present", "excused"]]
    assert rows.last().reason == "scanned by mistake"


def test_manual_change_of_one_month_session_keeps_the_month_charge(main_branch, room):
    from core.services.door import attendance_set

    group = make_group(main_branch, fee="200.00", fee_period=FeePeriod.MONTH, room=room)
    student = make_student(main_branch)
    enrollment = enroll(student, group)
    pay(enrollment, "200.00")
    first = make_session(group, room)
    second = make_session(group, room, starts_at=cairo(16, 0, day=datetime.date(2026, 11, 28)))
    scan_process(student.code, at=cairo(15, 50))
    scan_process(student.code, at=cairo(15, 50, day=datetime.date(2026, 11, 28)))
    attendance_set(actor=None, session=first, student=student, status="absent", reason="left at once")
    assert enrollment_balance(enrollment) == Decimal("0.00")  # November is still charged
    attendance_set(actor=None, session=second, student=student, status="absent", reason="left at once")
    assert enrollment_balance(enrollment) == Decimal("200.00")


def test_the_supervisor_marking_the_teacher_is_told_so_and_the_card_greets_the_teacher(main_branch, room):
    from core.cards import teacher_card_value
    from core.services.scanning import teacher_check_in
    from tests.factories import make_teacher

    teacher = make_teacher(name="وائل الشافعي")
    marked = make_session(make_group(main_branch, teacher=teacher, room=room), room)
    carded = make_session(make_group(main_branch, teacher=teacher, room=room), room, starts_at=cairo(18, 0))
    with translation.override("en"):
        by_supervisor = teacher_check_in(session=marked, actor=None, now=cairo(15, 50))
        by_card = scan_process(teacher_card_value(teacher), at=cairo(17, 50))
    assert by_supervisor.message.startswith("وائل الشافعي is checked in to")
    assert by_card.session == carded and by_card.message.startswith("Welcome, وائل الشافعي.")


def test_the_teacher_is_checked_in_only_from_the_door_opening_to_the_end(main_branch, group, room):
    """R6, in the service: the supervisor's button and any other caller get the same refusal."""
    from django.core.exceptions import ValidationError

    from core.services.scanning import teacher_check_in

    session = make_session(group, room)  # 16:00–18:00, the door opens at 15:30
    for too_soon_or_late in (cairo(15, 29), session.ends_at + datetime.timedelta(seconds=1)):
        with pytest.raises(ValidationError):
            teacher_check_in(session=session, actor=None, now=too_soon_or_late)
    session.refresh_from_db()
    assert session.teacher_checked_in_at is None
    assert teacher_check_in(session=session, actor=None, now=cairo(15, 30)).code == "teacher_in"
