"""Payment reminders (SPEC.md R11): daily at 18:00 Cairo, one message per guardian.

A guardian is reminded when a student of his owes on a ``month`` group (owes a month), when
the student's next scan in a ``session`` group would be refused (R5: the unpaid sessions after
one more charge would pass the grace), or when he owes on an ended or transferred enrollment
(no door will ever ask for that debt). A student who owes nothing is never reminded. One message lists the amount per group (siblings
together); its event is ``payment_reminder:<date>`` so a guardian never gets two on one day,
however often the job runs.
"""

import datetime
from collections import defaultdict
from decimal import Decimal

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core.models import (
    CenterSettings,
    Enrollment,
    EntryType,
    FeePeriod,
    FeePlan,
    LedgerEntry,
    StudentGuardian,
    TemplateKey,
)
from core.selectors.money import ZERO, balance_words, enrollments_with_balance, money_round, unpaid_sessions


def reminder_enrollments():
    """Enrollments that owe, with the group, the student and whether he ever paid: the active
    ones of active groups, and every ended (or transferred) one, whatever became of its group:
    its debt is still owed (R11)."""
    has_paid = LedgerEntry.objects.filter(
        enrollment__student_id=OuterRef("student_id"), entry_type=EntryType.PAYMENT, reversed_at__isnull=True
    )
    return (
        enrollments_with_balance(
            Enrollment.objects.filter(student__is_active=True)
            .filter(Q(is_active=False) | Q(group__is_active=True))
            .exclude(fee_plan=FeePlan.EXEMPT)
        )
        .filter(owed__gt=0)
        .annotate(student_has_paid=Exists(has_paid))
        .select_related("group", "student")
        .order_by("student_id", "-is_active", "group__code")
    )


def _needs_reminder(enrollment, center: CenterSettings) -> bool:
    # An ended enrollment's debt can never be let through at a door: any of it is reminded.
    if not enrollment.is_active or enrollment.group.fee_period == FeePeriod.MONTH:
        return True
    price = money_round(enrollment.price or ZERO)
    grace = center.unpaid_session_grace if enrollment.student_has_paid else center.new_student_grace
    return unpaid_sessions(money_round(enrollment.owed) + price, price) > grace


def _details(rows: list[tuple[str, Enrollment, Decimal]], *, language: str, several_students: bool) -> str:
    """One part per group: "Math: owes 200.00 EGP", an ended enrollment marked as ended."""
    separator = "، " if language != "en" else ", "
    parts = []
    with translation.override(language):
        for student_name, enrollment, owed in rows:
            group = enrollment.group.name
            if not enrollment.is_active:
                group = _("%(group)s (ended)") % {"group": group}
            label = f"{student_name} - {group}" if several_students else group
            parts.append(f"{label}: {balance_words(-owed, language, currency=True)}")
    return separator.join(parts)


def payment_reminders_queue(*, today: datetime.date | None = None) -> int:
    """Queue today's reminders; returns how many guardians were queued (repeats count once)."""
    from core.services.messaging import message_queue

    today = today or timezone.localdate()
    center = CenterSettings.load()
    owing: dict[int, list] = defaultdict(list)
    students = {}
    for enrollment in reminder_enrollments():
        if _needs_reminder(enrollment, center):
            owing[enrollment.student_id].append(enrollment)
            students[enrollment.student_id] = enrollment.student
    if not owing:
        return 0
    by_guardian: dict[int, list] = defaultdict(list)
    guardians = {}
    links = StudentGuardian.objects.filter(student_id__in=list(owing)).select_related("guardian")
    for link in links.order_by("guardian_id", "student_id"):
        by_guardian[link.guardian_id].append(link.student_id)
        guardians[link.guardian_id] = link.guardian
    queued = 0
    for guardian_id, student_ids in by_guardian.items():
        guardian = guardians[guardian_id]
        rows = [
            (students[sid].full_name, enrollment, money_round(enrollment.owed))
            for sid in student_ids
            for enrollment in owing[sid]
        ]
        total = sum((owed for _name, _group, owed in rows), ZERO)
        separator = ", " if guardian.language == "en" else "، "
        context = {
            "student_name": separator.join(students[sid].full_name for sid in student_ids),
            "amount": str(total),
            "details": _details(rows, language=guardian.language or "ar", several_students=len(student_ids) > 1),
        }
        with transaction.atomic():
            message = message_queue(
                event=f"payment_reminder:{today.isoformat()}",
                guardian=guardian,
                template=TemplateKey.PAYMENT_REMINDER,
                context=context,
                student=students[student_ids[0]],
            )
        queued += message is not None
    return queued
