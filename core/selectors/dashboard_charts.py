"""The figures behind the dashboard's charts, as plain rows (the admin turns them into charts
and tables). Each is a fixed number of grouped queries whatever the size of the center.

- attendance rate per week (weeks start on Saturday), the last eight weeks;
- per month over six months: the profit and loss figures of core/selectors/profit.py, the same
  as its page (tuition collected, the teachers' shares — settled, or estimated by the settlement
  rules for a teacher not settled yet —, the sales margin, the center's margin, expenses, profit);
- collections by weekday over the last eight weeks;
- new and leaving students per month over six months;
- collected, teacher's share and margin per teacher this month.
"""

import dataclasses
import datetime
from decimal import Decimal

from django.db.models import Count, Exists, Max, OuterRef, Q, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from core.models import Attendance, Enrollment, Group, Receipt, Student, Weekday
from core.selectors.money import ZERO
from core.selectors.profit import profit_months
from core.services.settlements import month_after, settlement_estimates

WEEKS = 8
MONTHS = 6
TEACHERS_SHOWN = 12
ADMITTED = (Attendance.Status.PRESENT, Attendance.Status.LATE)
COUNTED = (*ADMITTED, Attendance.Status.ABSENT)


def week_start(day: datetime.date) -> datetime.date:
    """The Saturday that starts the center's week of ``day``."""
    return day - datetime.timedelta(days=Weekday.of(day))


def months_back(today: datetime.date, count: int) -> list[datetime.date]:
    """The first days of the last ``count`` months, oldest first, this month last."""
    this_month = today.replace(day=1)
    return [month_after(this_month, -step) for step in range(count - 1, -1, -1)]


@dataclasses.dataclass
class WeekRate:
    week: datetime.date
    admitted: int
    counted: int

    @property
    def rate(self) -> int | None:
        return int(self.admitted * 100 / self.counted) if self.counted else None


def attendance_by_week(
    *, branch_ids=None, teacher_id: int | None = None, today=None, weeks: int = WEEKS
) -> list[WeekRate]:
    """Admitted / (admitted + absent) per week; excused absences count neither way. One query."""
    today = today or timezone.localdate()
    first = week_start(today) - datetime.timedelta(weeks=weeks - 1)
    marks = Attendance.objects.filter(session__date__gte=first, session__date__lte=today, status__in=COUNTED)
    if branch_ids is not None:
        marks = marks.filter(session__group__branch_id__in=branch_ids)
    if teacher_id is not None:
        marks = marks.filter(session__group__teacher_id=teacher_id)
    rows = {
        first + datetime.timedelta(weeks=step): WeekRate(first + datetime.timedelta(weeks=step), 0, 0)
        for step in range(weeks)
    }
    for day, admitted, counted in (
        marks.order_by()
        .values("session__date")
        .annotate(admitted=Count("id", filter=Q(status__in=ADMITTED)), counted=Count("id"))
        .values_list("session__date", "admitted", "counted")
    ):
        row = rows[week_start(day)]
        row.admitted += admitted
        row.counted += counted
    return list(rows.values())


@dataclasses.dataclass
class MonthMoney:
    """One month of the profit and loss of the branches shown (``profit_months``' row for them all)."""

    month: datetime.date
    collected: Decimal = ZERO  # tuition collected
    teacher_share: Decimal = ZERO
    sales_margin: Decimal = ZERO
    expenses: Decimal = ZERO
    estimated_share: Decimal = ZERO  # of teacher_share: teachers not settled yet

    @property
    def margin(self) -> Decimal:
        return self.collected - self.teacher_share + self.sales_margin

    @property
    def profit(self) -> Decimal:
        return self.margin - self.expenses


@dataclasses.dataclass
class TeacherMoney:
    teacher_id: int
    name: str
    collected: Decimal = ZERO
    teacher_share: Decimal = ZERO

    @property
    def margin(self) -> Decimal:
        return self.collected - self.teacher_share


def money_by_month(*, branch_ids=None, today=None, months: int = MONTHS) -> tuple[list[MonthMoney], list[TeacherMoney]]:
    """(per month: the profit and loss figures, oldest first; per teacher this month, most
    collected first, by the settlement rules computed read-only). The estimates are read once
    (settlement_estimates) for both: a fixed number of grouped queries (seven for a branch with
    percent and per-session groups), whatever the number of months, groups or receipts."""
    today = today or timezone.localdate()
    groups = Group.objects.select_related("teacher").order_by("pk")
    if branch_ids is not None:
        groups = groups.filter(branch_id__in=branch_ids)
    groups = list(groups)
    per_month = []
    teachers: dict[int, TeacherMoney] = {}
    month_list = months_back(today, months)
    estimates = settlement_estimates(groups=groups, first=month_list[0], last=month_list[-1])
    profits = profit_months(first=month_list[0], last=month_list[-1], branch_ids=branch_ids, estimates=estimates)
    for month in month_list:
        together = profits[month][-1]
        per_month.append(
            MonthMoney(
                month=month,
                collected=together.tuition,
                teacher_share=together.teacher_shares,
                sales_margin=together.sales_margin,
                expenses=together.expenses,
                estimated_share=together.estimated_shares,
            )
        )
    for line in estimates[month_list[-1]]:
        teacher = teachers.setdefault(
            line.group.teacher_id, TeacherMoney(line.group.teacher_id, line.group.teacher.full_name)
        )
        teacher.collected += line.collected
        teacher.teacher_share += line.amount
    by_teacher = sorted(
        (teacher for teacher in teachers.values() if teacher.collected or teacher.teacher_share),
        key=lambda teacher: (-teacher.collected, teacher.name),
    )
    return per_month, by_teacher


@dataclasses.dataclass
class WeekdayTotal:
    weekday: int
    total: Decimal = ZERO
    receipts: int = 0

    @property
    def label(self) -> str:
        return Weekday(self.weekday).label


def collections_by_weekday(*, branch_ids=None, today=None, weeks: int = WEEKS) -> list[WeekdayTotal]:
    """Receipts (not voided) of the last ``weeks`` weeks summed by weekday, Saturday first. One query."""
    today = today or timezone.localdate()
    first = week_start(today) - datetime.timedelta(weeks=weeks - 1)
    receipts = Receipt.objects.filter(date__gte=first, date__lte=today, voided_at__isnull=True)
    if branch_ids is not None:
        receipts = receipts.filter(branch_id__in=branch_ids)
    rows = [WeekdayTotal(weekday) for weekday in Weekday.values]
    for day, total, count in (
        receipts.order_by()
        .values("date")
        .annotate(total=Sum("total"), count=Count("id"))
        .values_list("date", "total", "count")
    ):
        row = rows[Weekday.of(day)]
        row.total += total or ZERO
        row.receipts += count
    return rows


@dataclasses.dataclass
class StudentsMonth:
    month: datetime.date
    new: int = 0
    leaving: int = 0


def students_by_month(*, branch_ids=None, today=None, months: int = MONTHS) -> list[StudentsMonth]:
    """New students (registered that month) and leaving ones (no active enrollment now, and
    their last enrollment ended that month), oldest month first. Two queries."""
    today = today or timezone.localdate()
    month_list = months_back(today, months)
    rows = {month: StudentsMonth(month) for month in month_list}
    tz = timezone.get_current_timezone()
    since = timezone.make_aware(datetime.datetime.combine(month_list[0], datetime.time.min), tz)
    students = Student.objects.all()
    if branch_ids is not None:
        students = students.filter(branch_id__in=branch_ids)
    for month, count in (
        students.filter(created_at__gte=since)
        .annotate(month=TruncMonth("created_at", tzinfo=tz))
        .order_by()
        .values("month")
        .annotate(count=Count("id"))
        .values_list("month", "count")
    ):
        month = timezone.localtime(month, tz).date() if isinstance(month, datetime.datetime) else month
        if month in rows:
            rows[month].new = count
    still_enrolled = Enrollment.objects.filter(student_id=OuterRef("student_id"), is_active=True)
    ended = Enrollment.objects.filter(student__in=students).exclude(Exists(still_enrolled))
    for last_end in (
        ended.order_by()
        .values("student_id")
        .annotate(last_end=Max("end_date"))
        .filter(last_end__gte=month_list[0], last_end__lte=today)
        .values_list("last_end", flat=True)
    ):
        rows[last_end.replace(day=1)].leaving += 1
    return list(rows.values())
