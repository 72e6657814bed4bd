"""The dashboard's money card: collected today and this month by method, what this month should
bring in, what is owed in all, the ten largest debts and the cash drawers not yet closed.

Every figure is one grouped query (nine in all, whatever the size of the center), and the debts'
WhatsApp links read the payment reminder's template and the center's name once (two more).
"""

import dataclasses
import datetime
from decimal import Decimal

from django.db.models import Case, Count, DecimalField, Exists, F, Min, OuterRef, Q, Subquery, Sum, When
from django.utils import timezone

from core.models import (
    CashClose,
    EntryType,
    FeePeriod,
    FeePlan,
    LedgerEntry,
    PaymentMethod,
    Receipt,
    Session,
    Student,
    StudentGuardian,
)
from core.models.schedule import Enrollment
from core.selectors.click_to_chat import ChatTexts
from core.selectors.money import ZERO, defaulters_owed, money_round

_MONEY = DecimalField(max_digits=14, decimal_places=2)
TOP_DEBTS = 10
# A drawer left open longer than this is a different problem (the cash close page shows it
# whole); the dashboard looks back this far so it never sums a year of receipts.
DRAWER_LOOKBACK = datetime.timedelta(days=31)


@dataclasses.dataclass
class MethodTotals:
    method: str
    today: Decimal = ZERO
    month: Decimal = ZERO
    receipts_today: int = 0

    @property
    def label(self) -> str:
        return PaymentMethod(self.method).label


@dataclasses.dataclass
class Debt:
    student_id: int
    code: str
    name: str
    owed: Decimal
    guardian_phone: str
    # wa.me with the payment reminder written out, as on the defaulters report ("" without a phone).
    whatsapp_url: str = ""


@dataclasses.dataclass
class OpenDrawer:
    cashier: str
    branch_id: int
    cash: Decimal
    receipts: int
    since: datetime.datetime


@dataclasses.dataclass
class MoneyOverview:
    by_method: list[MethodTotals]
    expected_month: Decimal
    owed_total: Decimal
    owing_students: int
    top_debts: list[Debt]
    open_drawers: list[OpenDrawer]

    @property
    def collected_today(self) -> Decimal:
        return sum((row.today for row in self.by_method), ZERO)

    @property
    def collected_month(self) -> Decimal:
        return sum((row.month for row in self.by_method), ZERO)

    @property
    def month_percent(self) -> int | None:
        """Collected this month as a share of what the month should bring in."""
        if not self.expected_month:
            return None
        return int(self.collected_month * 100 / self.expected_month)


def _scoped(queryset, branch_ids, path: str):
    return queryset if branch_ids is None else queryset.filter(**{f"{path}__in": branch_ids})


def collections_by_method(branch_ids, *, today: datetime.date) -> list[MethodTotals]:
    """Receipts of today and of the month so far, less voided receipts and refunds (two queries)."""
    month_start = today.replace(day=1)
    receipts = _scoped(Receipt.objects.filter(date__gte=month_start, date__lte=today), branch_ids, "branch_id")
    rows = {method: MethodTotals(method=method) for method in PaymentMethod.values}
    for row in (
        receipts.filter(voided_at__isnull=True)
        .order_by()
        .values("method")
        .annotate(
            today=Sum("total", filter=Q(date=today)),
            month=Sum("total"),
            count_today=Count("id", filter=Q(date=today)),
        )
    ):
        totals = rows[row["method"]]
        totals.today, totals.month = row["today"] or ZERO, row["month"] or ZERO
        totals.receipts_today = row["count_today"]
    refunds = (
        LedgerEntry.objects.filter(entry_type=EntryType.REFUND, receipt__in=receipts.filter(voided_at__isnull=True))
        .order_by()
        .values("receipt__method")
        .annotate(today=Sum("amount", filter=Q(receipt__date=today)), month=Sum("amount"))
    )
    for row in refunds:
        totals = rows[row["receipt__method"]]
        totals.today -= row["today"] or ZERO
        totals.month -= row["month"] or ZERO
    return [row for row in rows.values() if row.month or row.today]


def expected_this_month(branch_ids, *, today: datetime.date) -> Decimal:
    """What the month should bring in: each enrollment running this month at its price, once
    for monthly groups and per scheduled (not cancelled) session for per-session groups."""
    month_start = today.replace(day=1)
    next_month = (month_start + datetime.timedelta(days=32)).replace(day=1)
    running = Enrollment.objects.filter(
        Q(end_date__isnull=True) | Q(end_date__gte=month_start),
        is_active=True,
        student__is_active=True,
        start_date__lt=next_month,
    ).exclude(fee_plan=FeePlan.EXEMPT)
    running = _scoped(running, branch_ids, "group__branch_id")
    price = Case(When(fee_plan=FeePlan.REDUCED, then=F("custom_fee")), default=F("group__fee"), output_field=_MONEY)
    per_group = list(
        running.order_by()
        .values("group_id", "group__fee_period")
        .annotate(total=Sum(price))
        .values_list("group_id", "group__fee_period", "total")
    )
    session_groups = [group_id for group_id, period, _total in per_group if period == FeePeriod.SESSION]
    sessions = dict(
        Session.objects.filter(group_id__in=session_groups, date__gte=month_start, date__lt=next_month)
        .exclude(status=Session.Status.CANCELLED)
        .order_by()
        .values("group_id")
        .annotate(total=Count("id"))
        .values_list("group_id", "total")
        if session_groups
        else []
    )
    expected = ZERO
    for group_id, period, total in per_group:
        expected += (total or ZERO) * (sessions.get(group_id, 0) if period == FeePeriod.SESSION else 1)
    return money_round(expected)


def debts(branch_ids, *, limit: int = TOP_DEBTS) -> tuple[Decimal, int, list[Debt]]:
    """(owed in all, students who owe, the ``limit`` largest debts with a guardian's phone)."""
    owing = _scoped(Enrollment.objects.filter(ledger_balance__lt=0), branch_ids, "student__branch_id")
    totals = owing.aggregate(
        owed=Sum(-F("ledger_balance"), output_field=_MONEY), students=Count("student_id", distinct=True)
    )
    students = _scoped(Student.objects.all(), branch_ids, "branch_id")
    largest = list(defaulters_owed(students)[:limit])
    primary_phone = (
        StudentGuardian.objects.filter(student_id=OuterRef("pk"))
        .order_by("-is_primary", "id")
        .values("guardian__phone")[:1]
    )
    people = {
        row["pk"]: row
        for row in Student.objects.filter(pk__in=[row["student_id"] for row in largest])
        .annotate(guardian_phone=Subquery(primary_phone))
        .values("pk", "code", "full_name", "gender", "guardian_phone")
    }
    # The same reminder as the defaulters report's links: one template for all ten rows.
    chat = ChatTexts()
    top = []
    for row in largest:
        person = people.get(row["student_id"])
        if person is None:
            continue
        owed, phone = money_round(row["owed"]), person["guardian_phone"] or ""
        top.append(
            Debt(
                student_id=row["student_id"],
                code=person["code"],
                name=person["full_name"],
                owed=owed,
                guardian_phone=phone,
                whatsapp_url=chat.reminder_link(
                    phone=phone, student_name=person["full_name"], owed=owed, gender=person["gender"]
                ),
            )
        )
    return money_round(totals["owed"] or ZERO), totals["students"], top


def open_drawers(branch_ids, *, now: datetime.datetime) -> list[OpenDrawer]:
    """Cashiers holding cash taken since their last close in that branch (as the cash close
    page counts it: cash receipts not voided), largest first."""
    last_close = CashClose.objects.filter(cashier_id=OuterRef("cashier_id"), branch_id=OuterRef("branch_id")).order_by(
        "-period_end"
    )
    cash = Receipt.objects.filter(
        method=PaymentMethod.CASH, voided_at__isnull=True, created_at__gte=now - DRAWER_LOOKBACK
    )
    cash = _scoped(cash, branch_ids, "branch_id")
    rows = (
        cash.annotate(closed_after=Exists(last_close.filter(period_end__gte=OuterRef("created_at"))))
        .filter(closed_after=False)
        .order_by()
        .values("cashier_id", "branch_id", "cashier__first_name", "cashier__last_name", "cashier__username")
        .annotate(cash=Sum("total"), receipts=Count("id"), since=Min("created_at"))
        .order_by("-cash")
    )
    return [
        OpenDrawer(
            cashier=f"{row['cashier__first_name']} {row['cashier__last_name']}".strip() or row["cashier__username"],
            branch_id=row["branch_id"],
            cash=money_round(row["cash"]),
            receipts=row["receipts"],
            since=row["since"],
        )
        for row in rows
    ]


def money_overview(branch_ids, *, today: datetime.date | None = None, now: datetime.datetime | None = None):
    now = now or timezone.now()
    today = today or timezone.localdate(now)
    owed_total, owing_students, top = debts(branch_ids)
    return MoneyOverview(
        by_method=collections_by_method(branch_ids, today=today),
        expected_month=expected_this_month(branch_ids, today=today),
        owed_total=owed_total,
        owing_students=owing_students,
        top_debts=top,
        open_drawers=open_drawers(branch_ids, now=now),
    )
