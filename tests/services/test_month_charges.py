"""Month fees at the edges: a cancelled session's month charge (R6), the grace after a
cancellation (R5), and a transfer inside a month (R12)."""

import datetime
import threading
from decimal import Decimal

import pytest
from django.db import connection

from core.models import Attendance, AuditLog, CenterSettings, EntryType, FeePeriod, LedgerEntry
from core.selectors.money import enrollment_balance
from core.services.door import attendance_set
from core.services.enrollments import enrollment_transfer
from core.services.sessions import session_cancel
from tests.factories import cairo, enroll, make_group, make_room, make_session, make_student, pay, scan

DECEMBER = datetime.date(2026, 12, 1)
JANUARY = datetime.date(2027, 1, 1)


def december(day: int) -> datetime.date:
    return datetime.date(2026, 12, day)


def month_charges(enrollment, month=DECEMBER):
    return LedgerEntry.objects.filter(
        enrollment=enrollment, entry_type=EntryType.CHARGE, period_month=month, reversed_at__isnull=True
    )


def attend(student, day: datetime.date) -> str:
    return scan(student, cairo(15, 55, day=day)).code


@pytest.fixture
def weekly(month_group, room):
    """The month group's December sessions, Fridays at 16:00 (the 4th, 11th, 18th, 25th)."""
    return {day: make_session(month_group, room, starts_at=cairo(16, 0, day=december(day))) for day in (4, 11, 18, 25)}


@pytest.fixture
def paid_up(main_branch, month_group):
    """A student of the month group who paid December ahead: (student, enrollment)."""
    student = make_student(main_branch)
    enrollment = enroll(student, month_group)
    pay(enrollment, "200.00", day=december(1))
    return student, enrollment


# --- R6: cancelling a past session keeps the month's fee when the month was attended ---------------


def test_cancelling_the_session_that_carried_the_month_charge_moves_it_to_the_next_attendance(paid_up, weekly, manager):
    student, enrollment = paid_up
    assert attend(student, december(4)) == "present"
    assert attend(student, december(11)) == "present"
    session_cancel(actor=manager, session=weekly[4], reason="teacher ill")
    charge = month_charges(enrollment).get()
    assert (charge.session, charge.amount, charge.date) == (weekly[11], Decimal("200.00"), december(11))
    assert enrollment_balance(enrollment) == Decimal("0.00")  # he owes the month; it was paid
    assert AuditLog.objects.filter(changes__has_key="moved_to").count() == 1


def test_cancelling_the_only_attendance_reverses_the_month_charge_and_a_later_attendance_charges_it(
    paid_up, weekly, manager
):
    student, enrollment = paid_up
    attend(student, december(4))
    session_cancel(actor=manager, session=weekly[4], reason="teacher ill")
    assert not month_charges(enrollment).exists()
    assert enrollment_balance(enrollment) == Decimal("200.00")  # a credit until he attends
    assert attend(student, december(11)) == "present"
    assert month_charges(enrollment).get().session == weekly[11]
    assert enrollment_balance(enrollment) == Decimal("0.00")


def test_cancelling_a_session_that_did_not_carry_the_month_charge_leaves_it(paid_up, weekly, manager):
    student, enrollment = paid_up
    attend(student, december(4))
    attend(student, december(11))
    session_cancel(actor=manager, session=weekly[11], reason="holiday")
    assert month_charges(enrollment).get().session == weekly[4]
    assert not LedgerEntry.objects.filter(enrollment=enrollment, entry_type=EntryType.REVERSAL).exists()


def test_cancelling_every_attended_session_of_the_month_leaves_no_month_charge(paid_up, weekly, manager):
    student, enrollment = paid_up
    attend(student, december(4))
    attend(student, december(11))
    session_cancel(actor=manager, session=weekly[4], reason="teacher ill")
    session_cancel(actor=manager, session=weekly[11], reason="teacher ill again")
    assert not month_charges(enrollment).exists()
    assert enrollment_balance(enrollment) == Decimal("200.00")


def test_taking_back_the_attendance_that_carried_the_month_charge_moves_it(paid_up, weekly, manager):
    student, enrollment = paid_up
    attend(student, december(4))
    attend(student, december(11))
    attendance_set(actor=manager, session=weekly[4], student=student, status="excused", reason="scanned by mistake")
    assert month_charges(enrollment).get().session == weekly[11]
    assert enrollment_balance(enrollment) == Decimal("0.00")


# --- R5: a cancelled session does not count toward the month's grace --------------------------------


def test_attendance_at_a_cancelled_session_does_not_count_toward_the_month_grace(
    main_branch, month_group, weekly, manager
):
    CenterSettings.load()
    CenterSettings.objects.filter(pk=1).update(unpaid_session_grace=2)
    student = make_student(main_branch)
    enrollment = enroll(student, month_group)
    # November paid and charged: a paying student who owes nothing from earlier months.
    pay(enrollment, "200.00", day=datetime.date(2026, 11, 2))
    LedgerEntry.objects.create(
        enrollment=enrollment,
        entry_type=EntryType.CHARGE,
        amount=Decimal("200.00"),
        date=datetime.date(2026, 11, 2),
        period_month=datetime.date(2026, 11, 1),
        source="door",
    )
    assert attend(student, december(4)) == "present"  # December unpaid: the first of two in grace
    session_cancel(actor=manager, session=weekly[4], reason="teacher ill")
    assert attend(student, december(11)) == "present"
    assert attend(student, december(18)) == "present"  # the second real one: still within grace 2
    assert attend(student, december(25)) == "pay_first"


# --- R12: a transfer inside a month carries the month ---------------------------------------------


@pytest.fixture
def other_group(main_branch, room):
    def make(fee: str, fee_period=FeePeriod.MONTH):
        return make_group(main_branch, fee=fee, fee_period=fee_period, room=room)

    return make


def transferred(enrollment, group, day: datetime.date | None = None):
    day = day or december(7)
    return enrollment_transfer(actor=None, enrollment=enrollment, to_group=group, on_date=day, reason="timing")


def test_a_transfer_inside_a_month_does_not_charge_the_month_twice(paid_up, weekly, other_group, room):
    student, old = paid_up
    attend(student, december(4))
    group_b = other_group("200.00")
    new = transferred(old, group_b)
    assert (new.carried_month, new.carried_amount, new.transferred_from) == (DECEMBER, Decimal("200.00"), old)
    make_session(group_b, room, starts_at=cairo(16, 0, day=december(9)))
    assert attend(student, december(9)) == "present"
    assert not month_charges(new).exists()
    assert enrollment_balance(old) == Decimal("0.00") and enrollment_balance(new) == Decimal("0.00")


def test_a_transfer_to_a_dearer_group_charges_only_the_difference(paid_up, weekly, other_group, room):
    student, old = paid_up
    attend(student, december(4))
    group_b = other_group("250.00")
    new = transferred(old, group_b)
    make_session(group_b, room, starts_at=cairo(16, 0, day=december(9)))
    make_session(group_b, room, starts_at=cairo(16, 0, day=december(16)))
    assert attend(student, december(9)) == "present"
    assert month_charges(new).get().amount == Decimal("50.00")
    assert attend(student, december(16)) == "present"
    assert month_charges(new).count() == 1
    assert enrollment_balance(new) == Decimal("-50.00")


def test_a_transfer_to_a_cheaper_group_charges_nothing_more_that_month(paid_up, weekly, other_group, room):
    student, old = paid_up
    attend(student, december(4))
    new = transferred(old, other_group("150.00"))
    make_session(new.group, room, starts_at=cairo(16, 0, day=december(9)))
    assert attend(student, december(9)) == "present"
    assert not month_charges(new).exists()


def test_the_month_after_a_transfer_is_charged_in_full(paid_up, weekly, other_group, room):
    student, old = paid_up
    attend(student, december(4))
    new = transferred(old, other_group("200.00"))
    pay(new, "200.00", day=december(20))
    make_session(new.group, room, starts_at=cairo(16, 0, day=datetime.date(2027, 1, 8)))
    assert attend(student, datetime.date(2027, 1, 8)) == "present"
    assert month_charges(new, JANUARY).get().amount == Decimal("200.00")


def test_a_transfer_before_the_old_group_charged_the_month_carries_nothing(paid_up, other_group, room):
    student, old = paid_up
    new = transferred(old, other_group("200.00"))
    assert (new.carried_month, new.carried_amount) == (None, Decimal("0.00"))
    make_session(new.group, room, starts_at=cairo(16, 0, day=december(9)))
    assert attend(student, december(9)) == "present"  # within the month's grace
    assert month_charges(new).get().amount == Decimal("200.00")


def test_a_transfer_from_a_session_group_carries_no_month(main_branch, other_group, room):
    student = make_student(main_branch)
    session_group = other_group("50.00", FeePeriod.SESSION)
    old = enroll(student, session_group)
    pay(old, "50.00", day=december(1))
    make_session(session_group, room, starts_at=cairo(16, 0, day=december(4)))
    attend(student, december(4))
    new = transferred(old, other_group("200.00"))
    assert new.carried_month is None


def test_a_second_transfer_in_the_month_carries_what_both_groups_charged(paid_up, weekly, other_group, room):
    student, old = paid_up
    attend(student, december(4))
    middle = transferred(old, other_group("250.00"))
    make_session(middle.group, room, starts_at=cairo(16, 0, day=december(9)))
    attend(student, december(9))  # charges the 50.00 difference
    last = transferred(middle, other_group("300.00"), day=december(12))
    assert (last.carried_month, last.carried_amount) == (DECEMBER, Decimal("250.00"))


# --- R6 under a race: a cancellation of the charged session against a scan at another ------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_cancellation_racing_a_scan_at_another_session_keeps_one_month_charge(main_branch):
    CenterSettings.load()
    room = make_room(main_branch)
    group = make_group(main_branch, fee="200.00", fee_period=FeePeriod.MONTH, room=room)
    students = [make_student(main_branch) for _ in range(4)]
    enrollments = [enroll(student, group) for student in students]
    for enrollment in enrollments:
        pay(enrollment, "200.00", day=december(1))
    first = make_session(group, room, starts_at=cairo(16, 0, day=december(4)))
    second = make_session(group, room, starts_at=cairo(16, 0, day=december(11)))
    for student in students:
        assert attend(student, december(4)) == "present"
    barrier = threading.Barrier(len(students) + 1)
    errors = []

    def run(work):
        try:
            barrier.wait(timeout=10)
            work()
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    works = [lambda s=student: attend(s, december(11)) for student in students]
    works.append(lambda: session_cancel(actor=None, session=first, reason="teacher ill"))
    threads = [threading.Thread(target=run, args=(work,)) for work in works]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    for enrollment in enrollments:
        assert Attendance.objects.get(enrollment=enrollment, session=second).status == "present"
        assert month_charges(enrollment).get().session == second
        assert enrollment_balance(enrollment) == Decimal("0.00")
