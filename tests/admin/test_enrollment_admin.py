"""The enrollment page shows the month a transfer carried (R12)."""

import datetime
from decimal import Decimal

from django.urls import reverse
from django.utils import translation

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
