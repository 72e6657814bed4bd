"""The teacher's own dashboard (issue 17, SPEC §1): his groups with their attendance rate, today's
sessions with who came, his at-risk students and his month so far as the settlement would pay it
if run today. Nothing of other teachers; of money only his groups' totals.
"""

import dataclasses
import datetime
from decimal import Decimal

from django.db.models import Count, Q
from django.utils import timezone

from core.models import Attendance, Enrollment, Group, Session, SettlementLine
from core.selectors.dashboard_attention import AtRiskList, at_risk
from core.selectors.door import rosters_for
from core.selectors.money import ZERO, money_round
from core.services.door.rules import enrolled_on  # the door's rule of who is expected on a day
from core.services.settlements import settlement_estimate

ADMITTED = (Attendance.Status.PRESENT, Attendance.Status.LATE)
COUNTED = (*ADMITTED, Attendance.Status.ABSENT)
RATE_WEEKS = 8


@dataclasses.dataclass
class TeacherGroup:
    pk: int
    code: str
    name: str
    students: int
    month_rate: int | None
    recent_rate: int | None  # the last eight weeks


@dataclasses.dataclass
class SessionWho:
    """Today's session and the names of who came, was late, was refused, has not come."""

    pk: int
    group_name: str
    room_name: str
    starts_at: datetime.datetime
    status: str
    teacher_in: bool
    present: list[str]
    late: list[str]
    refused: list[str]
    waiting: list[str]
    expected: int

    @property
    def came(self) -> int:
        return len(self.present) + len(self.late)


@dataclasses.dataclass
class EstimateLine:
    group_code: str
    group_name: str
    kind: str
    collected: Decimal
    quantity: int
    rate: Decimal
    amount: Decimal

    @property
    def kind_label(self) -> str:
        return SettlementLine.Kind(self.kind).label


@dataclasses.dataclass
class TeacherDashboard:
    teacher_name: str
    month: datetime.date
    groups: list[TeacherGroup]
    today: list[SessionWho]
    at_risk: AtRiskList
    estimate: list[EstimateLine]

    @property
    def estimate_total(self) -> Decimal:
        return money_round(sum((line.amount for line in self.estimate), ZERO))

    @property
    def collected_total(self) -> Decimal:
        return money_round(sum((line.collected for line in self.estimate), ZERO))


def _rate(admitted: int, counted: int) -> int | None:
    return int(admitted * 100 / counted) if counted else None


def teacher_dashboard(teacher, *, today: datetime.date | None = None) -> TeacherDashboard:
    """Everything on a teacher's dashboard: 13 queries whatever the size of his groups."""
    today = today or timezone.localdate()
    month = today.replace(day=1)
    since = today - datetime.timedelta(weeks=RATE_WEEKS)
    groups = list(Group.objects.filter(teacher=teacher).order_by("-is_active", "code"))
    group_ids = [group.pk for group in groups]
    students = dict(
        Enrollment.objects.filter(enrolled_on(today), group_id__in=group_ids)
        .order_by()
        .values("group_id")
        .annotate(total=Count("id"))
        .values_list("group_id", "total")
    )
    marks = {
        row["session__group_id"]: row
        for row in Attendance.objects.filter(
            session__group_id__in=group_ids, session__date__gte=min(since, month), session__date__lte=today
        )
        .filter(status__in=COUNTED)
        .order_by()
        .values("session__group_id")
        .annotate(
            month_admitted=Count("id", filter=Q(status__in=ADMITTED, session__date__gte=month)),
            month_counted=Count("id", filter=Q(session__date__gte=month)),
            recent_admitted=Count("id", filter=Q(status__in=ADMITTED, session__date__gte=since)),
            recent_counted=Count("id", filter=Q(session__date__gte=since)),
        )
    }
    group_rows = []
    for group in groups:
        if not group.is_active and group.pk not in marks:
            continue
        row = marks.get(group.pk, {})
        group_rows.append(
            TeacherGroup(
                pk=group.pk,
                code=group.code,
                name=group.name,
                students=students.get(group.pk, 0),
                month_rate=_rate(row.get("month_admitted", 0), row.get("month_counted", 0)),
                recent_rate=_rate(row.get("recent_admitted", 0), row.get("recent_counted", 0)),
            )
        )
    sessions = list(
        Session.objects.filter(date=today, group__teacher=teacher).select_related("group", "room").order_by("starts_at")
    )
    today_rows = [
        SessionWho(
            pk=roster.session.pk,
            group_name=roster.session.group.name,
            room_name=roster.session.room.name,
            starts_at=roster.session.starts_at,
            status=roster.session.status,
            teacher_in=roster.session.teacher_checked_in_at is not None,
            present=roster.present,
            late=roster.late,
            refused=roster.refused,
            waiting=roster.waiting,
            expected=len(roster.expected),
        )
        for roster in rosters_for(sessions, today)
    ]
    estimate = [
        EstimateLine(
            group_code=line.group.code,
            group_name=line.group.name,
            kind=line.kind,
            collected=line.collected,
            quantity=line.quantity,
            rate=line.rate,
            amount=line.amount,
        )
        for line in settlement_estimate(groups=groups, month=month)
    ]
    return TeacherDashboard(
        teacher_name=teacher.full_name,
        month=month,
        groups=group_rows,
        today=today_rows,
        at_risk=at_risk(teacher_id=teacher.pk, today=today),
        estimate=estimate,
    )
