"""Teacher settlements (R9): each pay scheme, collected, voids and refunds, locking, adjustments."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from core.models import (
    Attendance,
    AuditLog,
    PayScheme,
    Session,
    Settlement,
    SettlementItem,
    SettlementLine,
    SettlementRun,
)
from core.services.enrollments import enrollment_create
from core.services.payments import payment_record, payment_refund, payment_void
from core.services.settlements import (
    settlement_approve,
    settlement_item_add,
    settlement_pay,
    settlement_run,
    settlement_run_execute,
    settlement_run_start,
    settlements_run_month,
)
from tests.factories import CAIRO, make_group, make_room, make_student, make_teacher

NOVEMBER = datetime.date(2026, 11, 1)
DECEMBER = datetime.date(2026, 12, 1)


def at(day: int, month: int = 11, hour: int = 12) -> datetime.datetime:
    return datetime.datetime(2026, month, day, hour, 0, tzinfo=CAIRO)


@pytest.fixture
def teacher():
    return make_teacher()


def enrolled(branch, group):
    student = make_student(branch)
    enrollment = enrollment_create(actor=None, student=student, group=group, start_date=datetime.date(2026, 9, 1))
    return student, enrollment


def pay(cashier, student, enrollment, amount, when):
    return payment_record(student=student, cashier=cashier, lines=[(enrollment, amount)], now=when)


def line_of(settlement, group, kind=None):
    lines = settlement.lines.filter(group=group)
    if kind:
        lines = lines.filter(kind=kind)
    return lines.get()


def make_session(group, room, day, *, checked_in=True, status=Session.Status.SCHEDULED):
    starts = datetime.datetime(day.year, day.month, day.day, 16, 0, tzinfo=CAIRO)
    return Session.objects.create(
        group=group,
        date=day,
        starts_at=starts,
        ends_at=starts + datetime.timedelta(hours=2),
        room=room,
        status=status,
        cancel_reason="teacher ill" if status == Session.Status.CANCELLED else "",
        teacher_checked_in_at=starts if checked_in else None,
    )


def test_percent_of_collected_with_mixed_percents(main_branch, receptionist, accountant, teacher):
    seventy = make_group(main_branch, teacher=teacher, pay_rate="70")
    sixty = make_group(main_branch, teacher=teacher, pay_rate="62.5")
    s1, e1 = enrolled(main_branch, seventy)
    s2, e2 = enrolled(main_branch, sixty)
    pay(receptionist, s1, e1, "200.00", at(3))
    pay(receptionist, s1, e1, "33.33", at(30))
    pay(receptionist, s2, e2, "150.00", at(10))
    pay(receptionist, s2, e2, "999.00", at(1, month=12))  # another month
    pay(receptionist, s2, e2, "999.00", datetime.datetime(2026, 10, 31, 23, 30, tzinfo=CAIRO))  # Cairo October
    settlement = settlement_run(teacher=teacher, month=NOVEMBER, actor=accountant)
    assert line_of(settlement, seventy).collected == Decimal("233.33")
    assert line_of(settlement, seventy).amount == Decimal("163.33")  # 163.331
    assert line_of(settlement, sixty).amount == Decimal("93.75")
    assert settlement.total == Decimal("257.08")
    assert settlement.status == Settlement.Status.DRAFT


def test_voided_receipt_is_not_collected(main_branch, receptionist, accountant, teacher):
    group = make_group(main_branch, teacher=teacher)
    student, enrollment = enrolled(main_branch, group)
    pay(receptionist, student, enrollment, "100", at(3))
    wrong = pay(receptionist, student, enrollment, "200", at(4))
    payment_void(receipt=wrong, actor=accountant, reason="typed twice", now=at(2, month=12))
    settlement = settlement_run(teacher=teacher, month=NOVEMBER, actor=accountant)
    assert line_of(settlement, group).collected == Decimal("100.00")
    assert settlement.total == Decimal("70.00")


def test_void_after_approval_becomes_an_adjustment_next_month(main_branch, receptionist, accountant, owner, teacher):
    group = make_group(main_branch, teacher=teacher)
    student, enrollment = enrolled(main_branch, group)
    receipt = pay(receptionist, student, enrollment, "300", at(5))
    november = settlement_run(teacher=teacher, month=NOVEMBER, actor=accountant)
    settlement_approve(settlement=november, actor=owner)
    payment_void(receipt=receipt, actor=accountant, reason="bounced transfer", now=at(3, month=12))
    with pytest.raises(ValidationError):
        settlement_run(teacher=teacher, month=NOVEMBER, actor=accountant)
    november.refresh_from_db()
    assert november.total == Decimal("210.00")  # locked
    december = settlement_run(teacher=teacher, month=DECEMBER, actor=accountant)
    adjustment = line_of(december, group, SettlementLine.Kind.ADJUSTMENT)
    assert adjustment.amount == Decimal("-210.00")
    assert adjustment.source_month == NOVEMBER
    assert december.total == Decimal("-210.00")
    # Recomputing the draft does not count it twice, and January does not see it again.
    december = settlement_run(teacher=teacher, month=DECEMBER, actor=accountant)
    assert december.total == Decimal("-210.00")
    settlement_approve(settlement=december, actor=owner, now=at(1, month=12) + datetime.timedelta(days=31))
    january = settlement_run(teacher=teacher, month=datetime.date(2027, 1, 1), actor=accountant)
    assert not january.lines.filter(kind=SettlementLine.Kind.ADJUSTMENT).exists()


def test_refund_dated_in_another_month(main_branch, receptionist, accountant, owner, teacher):
    group = make_group(main_branch, teacher=teacher, pay_rate="50")
    student, enrollment = enrolled(main_branch, group)
    receipt = pay(receptionist, student, enrollment, "400", at(20))
    # Refunded in December while November is still a draft: November is recomputed without it.
    payment_refund(receipt=receipt, actor=accountant, amount="100", reason="left", now=at(1, month=12))
    november = settlement_run(teacher=teacher, month=NOVEMBER, actor=accountant)
    assert line_of(november, group).collected == Decimal("300.00")
    settlement_approve(settlement=november, actor=owner)
    # A second refund after approval lands on December as an adjustment, at the group's rate.
    payment_refund(receipt=receipt, actor=accountant, amount="60", reason="left", now=at(15, month=12))
    december = settlement_run(teacher=teacher, month=DECEMBER, actor=accountant)
    assert line_of(december, group, SettlementLine.Kind.PERCENT).collected == Decimal("0.00")
    assert line_of(december, group, SettlementLine.Kind.ADJUSTMENT).amount == Decimal("-30.00")


def test_per_session_counts_held_sessions_with_the_teacher(main_branch, accountant, teacher):
    room = make_room(main_branch)
    group = make_group(main_branch, teacher=teacher, pay_scheme=PayScheme.PER_SESSION, pay_rate="250")
    make_session(group, room, datetime.date(2026, 11, 2))
    make_session(group, room, datetime.date(2026, 11, 9), status=Session.Status.HELD)
    make_session(group, room, datetime.date(2026, 11, 16), checked_in=False)
    make_session(group, room, datetime.date(2026, 11, 23), status=Session.Status.CANCELLED)
    make_session(group, room, datetime.date(2026, 12, 7))
    settlement = settlement_run(teacher=teacher, month=NOVEMBER, actor=accountant)
    line = line_of(settlement, group)
    assert (line.kind, line.quantity, line.amount) == (SettlementLine.Kind.PER_SESSION, 2, Decimal("500.00"))


def test_per_student_counts_admitted_attendances(main_branch, accountant, teacher):
    room = make_room(main_branch)
    group = make_group(main_branch, teacher=teacher, pay_scheme=PayScheme.PER_STUDENT, pay_rate="12.50")
    session = make_session(group, room, datetime.date(2026, 11, 2))
    cancelled = make_session(group, room, datetime.date(2026, 11, 9), status=Session.Status.CANCELLED)
    statuses = [Attendance.Status.PRESENT, Attendance.Status.LATE, Attendance.Status.ABSENT, Attendance.Status.EXCUSED]
    for status in statuses:
        student, enrollment = enrolled(main_branch, group)
        common = {"student": student, "enrollment": enrollment, "at": at(2), "source": Attendance.Source.MANUAL}
        Attendance.objects.create(session=session, status=status, **common)
        Attendance.objects.create(session=cancelled, status=Attendance.Status.PRESENT, **common)
    settlement = settlement_run(teacher=teacher, month=NOVEMBER, actor=accountant)
    line = line_of(settlement, group)
    assert (line.quantity, line.amount) == (2, Decimal("25.00"))


def test_manual_items_and_the_lifecycle(main_branch, receptionist, accountant, owner, teacher):
    group = make_group(main_branch, teacher=teacher)
    student, enrollment = enrolled(main_branch, group)
    pay(receptionist, student, enrollment, "1000", at(3))
    settlement = settlement_run(teacher=teacher, month=NOVEMBER, actor=accountant)
    settlement_item_add(
        settlement=settlement, actor=accountant, kind="advance", amount="100", reason="paid on the 15th"
    )
    settlement_item_add(
        settlement=settlement, actor=accountant, kind="deduction", amount="50.50", reason="broken chair"
    )
    with pytest.raises(ValidationError):
        settlement_item_add(settlement=settlement, actor=accountant, kind="bonus", amount="10", reason=" ")
    settlement = settlement_run(teacher=teacher, month=NOVEMBER, actor=accountant)  # recompute keeps the items
    assert settlement.total == Decimal("549.50")
    with pytest.raises(PermissionDenied):
        settlement_approve(settlement=settlement, actor=accountant)
    settlement_approve(settlement=settlement, actor=owner)
    with pytest.raises(ValidationError):
        settlement_item_add(settlement=settlement, actor=accountant, kind="bonus", amount="10", reason="late")
    paid = settlement_pay(
        settlement=settlement, actor=accountant, paid_on=datetime.date(2026, 12, 5), method="instapay", reference="X1"
    )
    assert paid.status == Settlement.Status.PAID
    audits_before = AuditLog.objects.count()
    with pytest.raises(ValidationError) as refused:
        settlement_approve(settlement=paid, actor=owner)
    assert "Paid" in str(refused.value) or "مدفوع" in str(refused.value) or refused.value.code == "not_draft"
    paid.refresh_from_db()
    assert paid.status == Settlement.Status.PAID and AuditLog.objects.count() == audits_before
    assert SettlementItem.objects.count() == 2


def test_run_month_for_every_teacher_skips_locked_ones(main_branch, receptionist, accountant, owner):
    teachers = [make_teacher() for _ in range(3)]
    for teacher in teachers:
        group = make_group(main_branch, teacher=teacher)
        student, enrollment = enrolled(main_branch, group)
        pay(receptionist, student, enrollment, "100", at(3))
    settlement_approve(settlement=settlement_run(teacher=teachers[0], month=NOVEMBER, actor=accountant), actor=owner)
    calls = []
    done = settlements_run_month(month="2026-11", actor=accountant, progress=lambda *args: calls.append(args))
    assert len(done) == 2
    assert calls[-1] == (3, 3, 1)
    assert set(Settlement.objects.values_list("total", flat=True)) == {Decimal("70.00")}


def test_background_run_records_progress(main_branch, receptionist, accountant, django_capture_on_commit_callbacks):
    teacher = make_teacher()
    group = make_group(main_branch, teacher=teacher)
    student, enrollment = enrolled(main_branch, group)
    pay(receptionist, student, enrollment, "100", at(3))
    with django_capture_on_commit_callbacks(execute=True):
        run = settlement_run_start(month=NOVEMBER, actor=accountant)
    run.refresh_from_db()  # django-q2 runs inline in tests
    assert run.status == SettlementRun.Status.DONE
    assert (run.teachers_done, run.teachers_total, run.percent_done) == (1, 1, 100)
    assert settlement_run_execute(run_id=run.pk).status == SettlementRun.Status.DONE


def test_receptionist_cannot_run_settlements(receptionist, teacher):
    with pytest.raises(PermissionDenied):
        settlement_run(teacher=teacher, month=NOVEMBER, actor=receptionist)


def test_a_refused_background_run_is_marked_failed(receptionist):
    run = SettlementRun.objects.create(month=NOVEMBER, started_by=receptionist)
    run = settlement_run_execute(run_id=run.pk)
    assert run.status == SettlementRun.Status.FAILED and run.error
    assert not Settlement.objects.exists()


# --- R9: a month is approved only after it has ended (Cairo time) ---------------------------------


def test_approving_a_month_before_it_ends_is_refused(main_branch, receptionist, accountant, owner, teacher):
    group = make_group(main_branch, teacher=teacher)
    student, enrollment = enrolled(main_branch, group)
    pay(receptionist, student, enrollment, "100", at(3))
    settlement = settlement_run(teacher=teacher, month=NOVEMBER, actor=accountant)
    audits = AuditLog.objects.count()
    # 23:59 on the 30th in Cairo is still November (it is already 21:59 UTC).
    last_minute = datetime.datetime(2026, 11, 30, 23, 59, tzinfo=CAIRO)
    with pytest.raises(ValidationError) as refused:
        settlement_approve(settlement=settlement, actor=owner, now=last_minute)
    assert refused.value.code == "month_not_ended"
    assert "2026-11" in refused.value.messages[0]
    settlement.refresh_from_db()
    assert settlement.status == Settlement.Status.DRAFT and AuditLog.objects.count() == audits


def test_approving_a_month_is_allowed_from_the_first_cairo_day_after_it(
    main_branch, receptionist, accountant, owner, teacher
):
    group = make_group(main_branch, teacher=teacher)
    student, enrollment = enrolled(main_branch, group)
    pay(receptionist, student, enrollment, "100", at(3))
    settlement = settlement_run(teacher=teacher, month=NOVEMBER, actor=accountant)
    # 00:00 on 1 December in Cairo is still 30 November in UTC.
    first_minute = datetime.datetime(2026, 12, 1, 0, 0, tzinfo=CAIRO)
    approved = settlement_approve(settlement=settlement, actor=owner, now=first_minute)
    assert approved.status == Settlement.Status.APPROVED


def test_a_receipt_recorded_late_in_the_month_is_paid_to_the_teacher(
    main_branch, receptionist, accountant, owner, teacher
):
    """The defect behind the rule: an early approval locked the month and lost later receipts."""
    group = make_group(main_branch, teacher=teacher)
    student, enrollment = enrolled(main_branch, group)
    pay(receptionist, student, enrollment, "100", at(3))
    early = settlement_run(teacher=teacher, month=NOVEMBER, actor=accountant)
    with pytest.raises(ValidationError):
        settlement_approve(settlement=early, actor=owner, now=at(25))
    pay(receptionist, student, enrollment, "200", at(29))
    settlement = settlement_run(teacher=teacher, month=NOVEMBER, actor=accountant)
    settlement_approve(settlement=settlement, actor=owner, now=at(1, month=12))
    assert settlement.total == Decimal("210.00")
