"""The money reports' queries (SPEC.md §4): defaulters, collections per day, settlements per month.

The admin screens (core/admin/money/) only scope the rows to the user, page and show them; the
sums live here, next to the ledger's balances (``selectors/money.py``). Every function takes the
already-scoped queryset it reads from, so the branch rules stay in one place (core/access).
"""

import dataclasses
import datetime
from decimal import Decimal

from django.db.models import Count, OuterRef, QuerySet, Subquery, Sum

from core.models import Enrollment, EntryType, LedgerEntry, PaymentMethod, SettlementLine, Student, StudentGuardian
from core.selectors.money import ZERO, defaulters_owed, enrollments_with_balance, money_round, unpaid_sessions


def defaulters_rows(
    students: QuerySet, *, group_id: int | None = None, offset: int = 0, limit: int
) -> tuple[list[Student], bool]:
    """Students who owe, most first, from ``offset`` (at most ``limit``), and whether more follow
    (no total count is taken). Each has ``owed``, the primary guardian's ``guardian_phone`` and
    ``unpaid_sessions`` (what his owing per-session groups come to in sessions). Three queries
    whatever the page size."""
    owed_rows = list(defaulters_owed(students, group_id=group_id)[offset : offset + limit + 1])
    more = len(owed_rows) > limit
    owed_rows = owed_rows[:limit]
    primary_phone = StudentGuardian.objects.filter(student=OuterRef("pk"), is_primary=True).values("guardian__phone")[
        :1
    ]
    by_id = (
        Student.objects.annotate(guardian_phone=Subquery(primary_phone))
        .select_related("branch")
        .in_bulk([row["student_id"] for row in owed_rows])
    )
    rows = []
    for row in owed_rows:
        student = by_id[row["student_id"]]
        student.owed = row["owed"]
        rows.append(student)
    # Unpaid sessions per student: the owing session-group enrollments of these students, one query.
    session_rows = (
        enrollments_with_balance(
            Enrollment.objects.filter(student__in=rows, is_active=True, group__fee_period="session")
        )
        .filter(owed__gt=0)
        .select_related("group")
    )
    unpaid: dict[int, int] = {}
    for enrollment in session_rows:
        unpaid[enrollment.student_id] = unpaid.get(enrollment.student_id, 0) + unpaid_sessions(
            money_round(enrollment.owed), money_round(enrollment.price or 0)
        )
    for student in rows:
        student.owed = money_round(student.owed)
        student.unpaid_sessions = unpaid.get(student.pk, 0)
    return rows, more


@dataclasses.dataclass(frozen=True)
class Collections:
    rows: list[dict]  # per day, method and cashier: total, count, method_label, cashier
    by_method: list[tuple[str, Decimal]]
    total: Decimal
    refunds: Decimal

    @property
    def net(self) -> Decimal:
        return self.total - self.refunds


def collections_by_day(receipts: QuerySet, *, start: datetime.date, end: datetime.date) -> Collections:
    """What was collected from ``start`` to ``end`` per day, method and cashier (void receipts left
    out), with the refunds made on those receipts in the period. ``receipts``: the user's scope."""
    rows = list(
        receipts.filter(date__gte=start, date__lte=end, voided_at__isnull=True)
        .values("date", "method", "cashier__username", "cashier__first_name", "cashier__last_name")
        .annotate(total=Sum("total"), count=Count("id"))
        .order_by("-date", "method", "cashier__username")
    )
    refunds = (
        LedgerEntry.objects.filter(
            entry_type=EntryType.REFUND, date__gte=start, date__lte=end, receipt__in=receipts
        ).aggregate(total=Sum("amount"))["total"]
        or 0
    )
    methods = dict(PaymentMethod.choices)
    by_method: dict[str, Decimal] = {}
    for row in rows:
        row["total"] = money_round(row["total"])
        row["method_label"] = methods.get(row["method"], row["method"])
        full = f"{row['cashier__first_name']} {row['cashier__last_name']}".strip()
        row["cashier"] = full or row["cashier__username"]
        by_method[row["method_label"]] = by_method.get(row["method_label"], 0) + row["total"]
    return Collections(
        rows=rows,
        by_method=sorted(by_method.items()),
        total=money_round(sum((row["total"] for row in rows), 0)),
        refunds=money_round(refunds),
    )


def settlement_report_rows(settlements: QuerySet, *, month: datetime.date) -> tuple[list[dict], dict[str, Decimal]]:
    """Per teacher and group for ``month``: collected, the teacher's amount and the center's margin
    (none on adjustment lines), and the month's total paid to teachers. ``settlements``: the
    user's scope."""
    lines = (
        SettlementLine.objects.filter(settlement__in=settlements.filter(month=month))
        .values("settlement__teacher__full_name", "settlement__status", "group__code", "group__name", "kind")
        .annotate(collected=Sum("collected"), amount=Sum("amount"), quantity=Sum("quantity"))
        .order_by("settlement__teacher__full_name", "group__code")
    )
    # For per-session and per-student groups, the center's income is what the group's
    # students paid in the month (the same "collected" as the percent scheme).
    rows = []
    for line in lines:
        is_adjustment = line["kind"] == SettlementLine.Kind.ADJUSTMENT
        line["collected"], line["amount"] = money_round(line["collected"]), money_round(line["amount"])
        line["margin"] = None if is_adjustment else line["collected"] - line["amount"]
        line["kind"] = SettlementLine.Kind(line["kind"]).label
        rows.append(line)
    totals = {"amount": money_round(sum((row["amount"] for row in rows), ZERO))}
    return rows, totals
