"""The enrollment page shows the month a transfer carried (R12)."""

import datetime
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone, translation

from core.models import EntryType, FeePeriod, LedgerEntry
from core.services.enrollments import enrollment_create, enrollment_transfer
from tests.factories import make_group, make_student


def test_the_enrollment_page_shows_the_carried_month(client_as, owner, main_branch):
    old_group = make_group(main_branch, code="MATH-A", fee="200.00", fee_period=FeePeriod.MONTH)
    new_group = make_group(main_branch, code="MATH-B", fee="250.00", fee_period=FeePeriod.MONTH)
    student = make_student(main_branch)
    old = enrollment_create(actor=None, student=student, group=old_group, start_date=datetime.date(2026, 11, 1))
    LedgerEntry.objects.create(
        enrollment=old,
        entry_type=EntryType.CHARGE,
        amount=Decimal("200.00"),
        date=datetime.date(2026, 12, 4),
        period_month=datetime.date(2026, 12, 1),
        source="door",
    )
    new = enrollment_transfer(
        actor=owner, enrollment=old, to_group=new_group, on_date=datetime.date(2026, 12, 7), reason="timing"
    )
    page = client_as(owner).get(reverse("admin:core_enrollment_change", args=[new.pk])).content.decode()
    assert "MATH-A" in page and "200.00 " in page.replace("<", " <")
    with translation.override("en"):
        assert new.carry_note == "December 2026 carried from MATH-A (200.00 already charged there)"


def test_the_receipt_names_the_carried_month_on_the_line_of_the_new_group(client_as, owner, receptionist, main_branch):
    from core.services.payments import payment_record

    old_group = make_group(main_branch, code="PHY-A", fee="200.00", fee_period=FeePeriod.MONTH)
    new_group = make_group(main_branch, code="PHY-B", fee="250.00", fee_period=FeePeriod.MONTH)
    student = make_student(main_branch)
    old = enrollment_create(actor=None, student=student, group=old_group, start_date=datetime.date(2026, 11, 1))
    month = timezone.localdate().replace(day=1)
    LedgerEntry.objects.create(
        enrollment=old,
        entry_type=EntryType.CHARGE,
        amount=Decimal("200.00"),
        date=month,
        period_month=month,
        source="door",
    )
    new = enrollment_transfer(actor=owner, enrollment=old, to_group=new_group, on_date=month, reason="timing")
    receipt = payment_record(student=student, cashier=receptionist, lines=[(old, "200.00"), (new, "50.00")])
    page = client_as(receptionist).get(reverse("admin:core_receipt_print", args=[receipt.pk])).content.decode()
    assert page.count("receipt-carry") == 1  # one line, the new group's, says it
    assert "PHY-A" in page.split('class="receipt-carry"', 1)[1]
