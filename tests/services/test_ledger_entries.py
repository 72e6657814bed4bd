"""The one ledger-undo helper: mirror rows that name the original, originals marked reversed."""

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from core.models import EntryType, LedgerEntry
from core.selectors.money import enrollment_balance
from core.services.enrollments import enrollment_create
from core.services.ledger_entries import entries_undo
from tests.factories import make_group, make_student

CAIRO = ZoneInfo("Africa/Cairo")
# 00:30 in Cairo is still the previous day in UTC: the undo row must be dated on the Cairo day.
NOW = datetime.datetime(2026, 11, 11, 0, 30, tzinfo=CAIRO)


@pytest.fixture
def enrollment(main_branch):
    group = make_group(main_branch, fee="200.00")
    student = make_student(main_branch)
    return enrollment_create(actor=None, student=student, group=group, start_date=datetime.date(2026, 9, 1))


def entry(enrollment, entry_type, amount, **extra):
    return LedgerEntry.objects.create(
        enrollment=enrollment,
        entry_type=entry_type,
        amount=Decimal(amount),
        date=datetime.date(2026, 11, 1),
        source="system",
        **extra,
    )


@pytest.mark.django_db
def test_undo_writes_the_mirror_and_marks_the_originals(enrollment, admin_user):
    charge = entry(enrollment, EntryType.CHARGE, "200.00", period_month=datetime.date(2026, 11, 1))
    payment = entry(enrollment, EntryType.PAYMENT, "80.00")
    before = enrollment_balance(enrollment)

    undone = entries_undo([charge, payment], actor=admin_user, reason="x" * 300, source="desk", now=NOW)

    assert [row.entry_type for row in undone] == [EntryType.REVERSAL, EntryType.VOID]
    assert [row.reverses_id for row in undone] == [charge.pk, payment.pk]
    for row, original in zip(undone, (charge, payment), strict=True):
        row.refresh_from_db()
        original.refresh_from_db()
        assert original.reversed_at == NOW
        assert (row.amount, row.enrollment_id, row.date, row.source) == (
            original.amount,
            enrollment.pk,
            datetime.date(2026, 11, 11),
            "desk",
        )
        assert row.created_by == admin_user
        assert row.note == "x" * 255
        assert row.period_month is None
    # The charge (−200) and the payment (+80) are both cancelled: the balance moves by +120.
    assert enrollment_balance(enrollment) == before + Decimal("120.00")


@pytest.mark.django_db
def test_undo_keeps_session_and_receipt_and_takes_no_anonymous_actor(enrollment):
    from django.contrib.auth.models import AnonymousUser

    charge = entry(enrollment, EntryType.CHARGE, "50.00")
    (reversal,) = entries_undo([charge], actor=AnonymousUser(), reason="", source="system", now=NOW)
    reversal.refresh_from_db()
    assert reversal.created_by is None
    assert reversal.session_id is None and reversal.receipt_id is None
    assert reversal.note == ""


@pytest.mark.django_db
def test_undo_refuses_what_it_cannot_mirror(enrollment):
    discount = entry(enrollment, EntryType.DISCOUNT, "10.00")
    with pytest.raises(ValueError):
        entries_undo([discount], actor=None, reason="r", source="system", now=NOW)
    charge = entry(enrollment, EntryType.CHARGE, "10.00")
    entries_undo([charge], actor=None, reason="r", source="system", now=NOW)
    with pytest.raises(ValueError):
        entries_undo([charge], actor=None, reason="r", source="system", now=NOW)
    assert LedgerEntry.objects.filter(reverses=charge).count() == 1
    assert entries_undo([], actor=None, reason="r", source="system", now=NOW) == []
