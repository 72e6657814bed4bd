"""What needs someone's attention: students at risk of dropping out, enrollments about to end,
settlements waiting for approval. Each list is a fixed number of grouped queries.

"At risk" (issue 17): absent from the last two sessions of a group in a row (excused absences
are skipped, they neither count nor break the run), or attending less than the chosen rate of
this month's sessions of a group (with at least two of them marked).
"""

import dataclasses
import datetime
from decimal import Decimal

from django.db.models import Count, Exists, F, Min, OuterRef, Q, Sum, Window
from django.db.models.functions import FirstValue, Lead, RowNumber
from django.utils import timezone

from core.models import Attendance, Enrollment, Group, Settlement
from core.selectors.money import ZERO, money_round

DEFAULT_AT_RISK_RATE = 75
AT_RISK_RATES = (50, 60, 75, 90)
AT_RISK_SHOWN = 15
ENDING_WITHIN = datetime.timedelta(days=14)
ENDING_SHOWN = 10
# Two weekly sessions in a row fit in three weeks; looking no further keeps it a small window.
RUN_LOOKBACK = datetime.timedelta(days=21)
COUNTED = (Attendance.Status.PRESENT, Attendance.Status.LATE, Attendance.Status.ABSENT)
ADMITTED = (Attendance.Status.PRESENT, Attendance.Status.LATE)


@dataclasses.dataclass
class AtRisk:
    enrollment_id: int
    student_id: int
    code: str
    name: str
    group_code: str
    group_name: str
    absent_twice: bool
    rate: int | None  # this month's attendance in percent, when below the chosen rate


@dataclasses.dataclass
class AtRiskList:
    rate: int
    enrollment_ids: list[int]
    students: int
    shown: list[AtRisk]


def _scope(queryset, *, branch_ids, teacher_id, group_path: str):
    if branch_ids is not None:
        queryset = queryset.filter(**{f"{group_path}__branch_id__in": branch_ids})
    if teacher_id is not None:
        queryset = queryset.filter(**{f"{group_path}__teacher_id": teacher_id})
    return queryset


def at_risk_enrollments(
    *, branch_ids=None, teacher_id: int | None = None, rate: int = DEFAULT_AT_RISK_RATE, today=None
) -> tuple[dict[int, int], dict[int, tuple[int, int]]]:
    """({enrollment: student} absent twice in a row, {enrollment: (student, this month's rate)} for
    those below ``rate``); active enrollments of active students only. Two queries."""
    today = today or timezone.localdate()
    recent = _scope(
        Attendance.objects.filter(
            session__date__gte=today - RUN_LOOKBACK,
            session__date__lte=today,
            status__in=COUNTED,
            enrollment__is_active=True,
            student__is_active=True,
        ),
        branch_ids=branch_ids,
        teacher_id=teacher_id,
        group_path="session__group",
    )
    newest_first = {"partition_by": [F("enrollment_id")], "order_by": [F("session__starts_at").desc(), F("id").desc()]}
    # Filters on window values run over the windowed rows, so the run is judged on each
    # enrollment's own newest two marks.
    absent_twice = dict(
        recent.annotate(
            newest=Window(RowNumber(), **newest_first),
            last_status=Window(FirstValue("status"), **newest_first),
            before_status=Window(Lead("status"), **newest_first),
        )
        .filter(newest=1, last_status=Attendance.Status.ABSENT, before_status=Attendance.Status.ABSENT)
        .values_list("enrollment_id", "student_id")
    )
    month = _scope(
        Attendance.objects.filter(
            session__date__gte=today.replace(day=1),
            session__date__lte=today,
            status__in=COUNTED,
            enrollment__is_active=True,
            student__is_active=True,
        ),
        branch_ids=branch_ids,
        teacher_id=teacher_id,
        group_path="session__group",
    )
    below = {
        enrollment_id: (student_id, int(admitted * 100 / counted))
        for enrollment_id, student_id, admitted, counted in month.order_by()
        .values("enrollment_id", "student_id")
        .annotate(admitted=Count("id", filter=Q(status__in=ADMITTED)), counted=Count("id"))
        .annotate(admitted_100=F("admitted") * 100, counted_rate=F("counted") * rate)
        .filter(counted__gte=2, admitted_100__lt=F("counted_rate"))
        .values_list("enrollment_id", "student_id", "admitted", "counted")
    }
    return absent_twice, below


def at_risk(
    *, branch_ids=None, teacher_id: int | None = None, rate: int = DEFAULT_AT_RISK_RATE, today=None, shown=AT_RISK_SHOWN
) -> AtRiskList:
    """The at-risk list: the worst ``shown`` first (absent twice and lowest rate), with the ids of
    them all (for the one-click message to their guardians). Three queries (two when nobody is)."""
    absent_twice, below = at_risk_enrollments(branch_ids=branch_ids, teacher_id=teacher_id, rate=rate, today=today)
    ids = set(absent_twice) | set(below)
    students = set(absent_twice.values()) | {student_id for student_id, _rate in below.values()}
    ordered = sorted(ids, key=lambda pk: (pk not in absent_twice, below.get(pk, (0, 101))[1], pk))
    rows = {
        row["pk"]: row
        for row in Enrollment.objects.filter(pk__in=ordered[:shown]).values(
            "pk", "student_id", "student__code", "student__full_name", "group__code", "group__name"
        )
    }
    listed = [
        AtRisk(
            enrollment_id=pk,
            student_id=rows[pk]["student_id"],
            code=rows[pk]["student__code"],
            name=rows[pk]["student__full_name"],
            group_code=rows[pk]["group__code"],
            group_name=rows[pk]["group__name"],
            absent_twice=pk in absent_twice,
            rate=below[pk][1] if pk in below else None,
        )
        for pk in ordered[:shown]
        if pk in rows
    ]
    return AtRiskList(rate=rate, enrollment_ids=sorted(ids), students=len(students), shown=listed)


@dataclasses.dataclass
class EndingEnrollments:
    total: int
    shown: list[dict]


def enrollments_ending(*, branch_ids=None, today=None, shown: int = ENDING_SHOWN) -> EndingEnrollments:
    """Active enrollments whose end date falls in the next two weeks, soonest first (two queries)."""
    today = today or timezone.localdate()
    ending = Enrollment.objects.filter(is_active=True, end_date__gte=today, end_date__lte=today + ENDING_WITHIN)
    if branch_ids is not None:
        ending = ending.filter(group__branch_id__in=branch_ids)
    rows = list(
        ending.order_by("end_date", "pk").values(
            "pk", "end_date", "student_id", "student__code", "student__full_name", "group__code", "group__name"
        )[:shown]
    )
    total = ending.count()
    return EndingEnrollments(total=total, shown=rows)


@dataclasses.dataclass
class SettlementsWaiting:
    count: int
    total: Decimal
    oldest_month: datetime.date | None


def settlements_waiting(*, branch_ids=None, today=None) -> SettlementsWaiting:
    """Computed drafts of months that have ended: the owner's approvals to give (one query)."""
    today = today or timezone.localdate()
    drafts = Settlement.objects.filter(
        status=Settlement.Status.DRAFT, month__lt=today.replace(day=1), computed_at__isnull=False
    )
    if branch_ids is not None:
        drafts = drafts.filter(
            Exists(Group.objects.filter(teacher_id=OuterRef("teacher_id"), branch_id__in=branch_ids))
        )
    totals = drafts.aggregate(count=Count("id"), total=Sum("total"), oldest=Min("month"))
    return SettlementsWaiting(
        count=totals["count"], total=money_round(totals["total"] or ZERO), oldest_month=totals["oldest"]
    )
