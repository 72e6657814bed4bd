"""The door's read written with the ORM: the same ``DoorRead`` as ``read.door_read``, in four queries.

It is not what the door runs. It is the reference the hand-written read is proved equal to
(tests/services/test_door_read_equal.py, over random ledgers) and the variant bench/scans.py
measures with ``--read orm``: on the 20,000-student center it misses the door's targets (an
admitted scan 11 statements against ≤ 10, a refusal 6 against ≤ 5, and several times the SQL
read's time: Django compiles its subqueries and PostgreSQL plans them again on every scan); the
figures are in bench/README.md.

Queries: the student's active enrollments with their money (or, with none, the student), today's
sessions of those groups at this place with his attendance and refusals, his guardians, and the
center settings; and for each of today's sessions the discount rules' own look-up
(``discount_rules.rules_for``), which the verdict would otherwise make.
"""

import datetime

from django.db.models import Count, DecimalField, Exists, IntegerField, Max, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from core.models import (
    Attendance,
    CenterSettings,
    Enrollment,
    EntryType,
    Guardian,
    LedgerEntry,
    MessageTemplate,
    ScanEvent,
    ScanOutcomeCode,
    Session,
    Student,
)
from core.selectors.money import CREDIT_LIST, DEBIT_LIST, ZERO, DoorMoney, money_round
from core.services.discount_rules import rules_for

from .read import DoorCandidate, DoorRead
from .rules import ADMITTED_STATUSES, Place, enrolled_on

_MONEY = DecimalField(max_digits=14, decimal_places=2)


def _total(entries) -> Coalesce:
    summed = entries.order_by().values("enrollment_id").annotate(total=Sum("amount")).values("total")[:1]
    return Coalesce(Subquery(summed, output_field=_MONEY), Value(ZERO), output_field=_MONEY)


def _template_stamp() -> dict:
    """The message templates' (latest change, count): messaging's cache key (``message_sources``)."""
    templates = MessageTemplate.objects.order_by().annotate(one=Value(1)).values("one")
    return {
        "templates_changed": Subquery(templates.annotate(last=Max("updated_at")).values("last")[:1]),
        "templates": Coalesce(
            Subquery(templates.annotate(n=Count("pk")).values("n")[:1], output_field=IntegerField()), Value(0)
        ),
    }


def door_read_orm(code: str, *, today: datetime.date, place: Place) -> DoorRead | None:
    """``read.door_read`` through the ORM (see the module docstring)."""
    month_first = today.replace(day=1)
    own = {"enrollment_id": OuterRef("pk")}
    enrollments = list(
        Enrollment.objects.filter(enrolled_on(today), student__code=code)
        .select_related("student", "group")
        .annotate(
            credits=_total(LedgerEntry.objects.filter(**own, entry_type__in=CREDIT_LIST)),
            debits_before=_total(LedgerEntry.objects.filter(**own, entry_type__in=DEBIT_LIST, date__lt=month_first)),
            month_charged=Exists(
                LedgerEntry.objects.filter(
                    **own, entry_type=EntryType.CHARGE, period_month=month_first, reversed_at__isnull=True
                )
            ),
            has_paid=Exists(
                LedgerEntry.objects.filter(
                    enrollment__student_id=OuterRef("student_id"),
                    entry_type=EntryType.PAYMENT,
                    reversed_at__isnull=True,
                )
            ),
            attended=Coalesce(
                Subquery(
                    Attendance.objects.filter(
                        **own,
                        status__in=ADMITTED_STATUSES,
                        session__date__gte=month_first,
                        session__date__lte=today,
                    )
                    .exclude(session__status=Session.Status.CANCELLED)
                    .order_by()
                    .values("enrollment_id")
                    .annotate(n=Count("pk"))
                    .values("n")[:1],
                    output_field=IntegerField(),
                ),
                Value(0),
            ),
            **_template_stamp(),
        )
        .order_by("pk")
    )
    if enrollments:
        student = enrollments[0].student
        stamp_from = enrollments[0]
    else:
        stamp_from = Student.objects.filter(code=code, is_active=True).annotate(**_template_stamp()).first()
        if stamp_from is None:
            return None
        student = stamp_from
    candidates = []
    if enrollments:
        by_group = {}
        for enrollment in enrollments:
            by_group.setdefault(enrollment.group_id, enrollment)
        mine = {"session_id": OuterRef("pk"), "student_id": student.pk}
        attendance = Attendance.objects.filter(**mine).order_by("pk")
        sessions = (
            Session.objects.filter(place.sessions_filter(), date=today, group_id__in=by_group)
            .annotate(
                attendance_id=Subquery(attendance.values("pk")[:1]),
                attendance_status=Subquery(attendance.values("status")[:1]),
                refused_late=Exists(ScanEvent.objects.filter(**mine, outcome=ScanOutcomeCode.DOOR_CLOSED)),
                refused_pay=Exists(ScanEvent.objects.filter(**mine, outcome=ScanOutcomeCode.PAY_FIRST)),
            )
            .order_by("starts_at", "pk")
        )
        for session in sessions:
            enrollment = by_group[session.group_id]
            session.group = enrollment.group
            candidates.append(
                DoorCandidate(
                    session=session,
                    enrollment=enrollment,
                    money=DoorMoney(
                        balance=money_round(enrollment.ledger_balance),
                        arrears_before_month=money_round(max(enrollment.debits_before - enrollment.credits, ZERO)),
                        month_charged=enrollment.month_charged,
                        student_has_paid=enrollment.has_paid,
                    ),
                    attended_this_month=enrollment.attended,
                    attendance_id=session.attendance_id,
                    attendance_status=session.attendance_status,
                    refused_late_before=session.refused_late,
                    refused_pay_before=session.refused_pay,
                    discount_rules_possible=bool(
                        rules_for(student_id=student.pk, group_id=enrollment.group_id, day=today)
                    ),
                )
            )
    guardians = list(Guardian.objects.filter(student_links__student_id=student.pk).order_by("student_links__id"))
    return DoorRead(
        student=student,
        center=CenterSettings.objects.filter(pk=CenterSettings.SINGLETON_PK).first(),
        candidates=candidates,
        guardians=guardians,
        template_stamp=(stamp_from.templates_changed, stamp_from.templates),
    )
