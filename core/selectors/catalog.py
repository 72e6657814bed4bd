"""Reads of notes and books sold and in stock, and of the discounts rules gave (issue 18).

One read per figure (DESIGN.md): the cash book, profit and loss, settlements, the dashboard and
the admin pages all take the sales and discount figures from here.

- sales in: the totals of sales paid (``paid_on``) in a period and not void, by receipt method;
- sales margin: what the center keeps of them, amount − cost − the teacher's share;
- the teacher's item share: Σ ``teacher_share`` of his items' lines of those sales (R9 habit:
  teachers are paid on what was collected, so a sale taken on credit counts when it is paid).
"""

import dataclasses
import datetime
from decimal import Decimal

from django.db.models import Count, DecimalField, ExpressionWrapper, F, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncMonth

from core.models import (
    DiscountApplication,
    Enrollment,
    EntryType,
    ItemSale,
    ItemSaleLine,
    ItemStock,
    LedgerEntry,
    Student,
)
from core.selectors.money import ZERO, money_round

_MONEY = DecimalField(max_digits=14, decimal_places=2)


def _month_end(month: datetime.date) -> datetime.date:
    index = month.year * 12 + month.month
    return datetime.date(index // 12, index % 12 + 1, 1)


def _branches(queryset: QuerySet, branch_ids, path: str = "branch_id") -> QuerySet:
    if branch_ids is None:
        return queryset
    return queryset.filter(**{f"{path}__in": list(branch_ids)})


def sales_paid(*, start: datetime.date, end: datetime.date, branch_ids=None) -> QuerySet:
    """Sales paid on days start ≤ paid_on < end, not void."""
    queryset = ItemSale.objects.filter(paid_on__gte=start, paid_on__lt=end, voided_at__isnull=True)
    return _branches(queryset, branch_ids)


def sales_in_by_method(*, start: datetime.date, end: datetime.date, branch_ids=None) -> dict[str, Decimal]:
    """Sales money taken in the period, by the method of the receipt that took it (the cash book)."""
    rows = (
        sales_paid(start=start, end=end, branch_ids=branch_ids)
        .values("receipt__method")
        .annotate(total=Sum("total"))
        .values_list("receipt__method", "total")
    )
    return {method: money_round(total) for method, total in rows}


@dataclasses.dataclass(frozen=True)
class SalesFigures:
    revenue: Decimal
    cost: Decimal
    teacher_share: Decimal
    copies: int

    @property
    def margin(self) -> Decimal:
        return self.revenue - self.cost - self.teacher_share


def sales_figures(*, start: datetime.date, end: datetime.date, branch_ids=None) -> SalesFigures:
    """Revenue, cost, teachers' shares and the center's margin of sales paid in the period (one query)."""
    lines = ItemSaleLine.objects.filter(sale__paid_on__gte=start, sale__paid_on__lt=end, sale__voided_at__isnull=True)
    lines = _branches(lines, branch_ids, "sale__branch_id")
    row = lines.aggregate(
        revenue=Coalesce(Sum("amount"), ZERO, output_field=_MONEY),
        cost=Coalesce(Sum(ExpressionWrapper(F("unit_cost") * F("quantity"), output_field=_MONEY)), ZERO),
        share=Coalesce(Sum("teacher_share"), ZERO, output_field=_MONEY),
        copies=Coalesce(Sum("quantity"), 0),
    )
    return SalesFigures(
        revenue=money_round(row["revenue"]),
        cost=money_round(row["cost"]),
        teacher_share=money_round(row["share"]),
        copies=row["copies"],
    )


def sales_month_figures(*, month: datetime.date, branch_ids=None) -> SalesFigures:
    return sales_figures(start=month, end=_month_end(month), branch_ids=branch_ids)


def sales_figures_by_month(
    *, start: datetime.date, end: datetime.date, branch_ids=None
) -> dict[tuple[int, datetime.date], SalesFigures]:
    """``sales_figures`` per branch and month of payment, ``{(branch id, first of month): …}``,
    for the months from ``start`` (a first of month) to before ``end``: one grouped query,
    whatever the number of months or branches (profit and loss over months, the dashboard)."""
    lines = ItemSaleLine.objects.filter(sale__paid_on__gte=start, sale__paid_on__lt=end, sale__voided_at__isnull=True)
    lines = _branches(lines, branch_ids, "sale__branch_id")
    rows = (
        lines.annotate(month=TruncMonth("sale__paid_on"))
        .order_by()
        .values("sale__branch_id", "month")
        .annotate(
            revenue=Sum("amount"),
            cost=Sum(ExpressionWrapper(F("unit_cost") * F("quantity"), output_field=_MONEY)),
            share=Sum("teacher_share"),
            copies=Sum("quantity"),
        )
        .values_list("sale__branch_id", "month", "revenue", "cost", "share", "copies")
    )
    found = {}
    for branch_id, month, revenue, cost, share, copies in rows:
        # A date from one database, a midnight datetime from another: the month's first day.
        month = month.date() if isinstance(month, datetime.datetime) else month
        found[(branch_id, month)] = SalesFigures(
            revenue=money_round(revenue), cost=money_round(cost), teacher_share=money_round(share), copies=copies
        )
    return found


@dataclasses.dataclass(frozen=True)
class ItemShare:
    collected: Decimal
    share: Decimal
    copies: int


def item_shares_by_teacher(teacher_ids: list[int], month: datetime.date) -> dict[int, ItemShare]:
    """Each teacher's share of his items sold and paid in the month (one grouped query)."""
    if not teacher_ids:
        return {}
    rows = (
        ItemSaleLine.objects.filter(
            teacher_id__in=teacher_ids,
            sale__paid_on__gte=month,
            sale__paid_on__lt=_month_end(month),
            sale__voided_at__isnull=True,
        )
        .values("teacher_id")
        .annotate(collected=Sum("amount"), share=Sum("teacher_share"), copies=Sum("quantity"))
        .values_list("teacher_id", "collected", "share", "copies")
    )
    return {
        teacher_id: ItemShare(money_round(collected), money_round(share), copies)
        for teacher_id, collected, share, copies in rows
    }


def stock_rows(*, branch_ids=None, teacher_user=None) -> QuerySet:
    """Stock per item and branch with the item (and its teacher) for the list and the warnings."""
    queryset = ItemStock.objects.select_related("item", "item__teacher", "branch")
    if teacher_user is not None:
        queryset = queryset.filter(item__teacher__user=teacher_user)
    return _branches(queryset, branch_ids)


def stock_low(*, branch_ids=None, teacher_user=None) -> QuerySet:
    """Active items a branch holds no more than their low-stock level of."""
    return stock_rows(branch_ids=branch_ids, teacher_user=teacher_user).filter(
        item__is_active=True, quantity__lte=F("item__low_stock_at")
    )


def student_open_sales(student: Student | int) -> QuerySet:
    """The student's sales taken on credit and not paid yet (his debt for items), oldest first."""
    student_id = getattr(student, "pk", student)
    return (
        ItemSale.objects.filter(student_id=student_id, paid_on__isnull=True, voided_at__isnull=True)
        .prefetch_related("lines__item")
        .order_by("date", "pk")
    )


def student_items_owed(student: Student | int) -> Decimal:
    student_id = getattr(student, "pk", student)
    total = ItemSale.objects.filter(student_id=student_id, paid_on__isnull=True, voided_at__isnull=True).aggregate(
        total=Sum("total")
    )["total"]
    return money_round(total or ZERO)


@dataclasses.dataclass
class TakerRow:
    student: Student
    quantity: int
    owed: bool  # took it on credit and has not paid yet


def group_item_takers(*, group_id: int, item_id: int) -> list[TakerRow]:
    """ "Who took the notes": the group's active students, each with how many copies of the item
    he took (not void) and whether any is still unpaid; those who took none have quantity 0.
    Two queries whatever the size of the group."""
    taken = dict()
    rows = (
        ItemSaleLine.objects.filter(item_id=item_id, sale__voided_at__isnull=True)
        .values("sale__student_id")
        .annotate(quantity=Sum("quantity"), unpaid=Count("pk", filter=Q(sale__paid_on__isnull=True)))
        .values_list("sale__student_id", "quantity", "unpaid")
    )
    for student_id, quantity, unpaid in rows:
        taken[student_id] = (quantity, unpaid > 0)
    enrollments = (
        Enrollment.objects.filter(group_id=group_id, is_active=True)
        .select_related("student")
        .order_by("student__full_name", "student_id")
    )
    result = []
    for enrollment in enrollments:
        quantity, owed = taken.get(enrollment.student_id, (0, False))
        result.append(TakerRow(student=enrollment.student, quantity=quantity, owed=owed))
    return result


# --- discounts ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class DiscountRow:
    rule_id: int | None  # None: granted by hand at the desk
    name: str
    kind: str
    charges: int
    total: Decimal


def discounts_month(*, month: datetime.date, branch_ids=None) -> list[DiscountRow]:
    """Discounts given in a month (by the ledger date of the discount), per rule, and those granted
    by hand as one row; a rule discount taken back with its charge does not count. Two queries."""
    end = _month_end(month)
    applications = DiscountApplication.objects.filter(
        entry__date__gte=month, entry__date__lt=end, undone_at__isnull=True
    )
    applications = _branches(applications, branch_ids, "entry__enrollment__group__branch_id")
    rows = [
        DiscountRow(rule_id=rule_id, name=name, kind=kind, charges=count, total=money_round(total))
        for rule_id, name, kind, count, total in applications.values("rule_id", "rule__name", "rule__kind")
        .annotate(count=Count("pk"), total=Sum("amount"))
        .order_by("rule__kind", "rule__name")
        .values_list("rule_id", "rule__name", "rule__kind", "count", "total")
    ]
    manual = LedgerEntry.objects.filter(
        entry_type=EntryType.DISCOUNT, date__gte=month, date__lt=end, source=LedgerEntry.Source.DESK
    )
    manual = _branches(manual, branch_ids, "enrollment__group__branch_id").aggregate(
        count=Count("pk"), total=Sum("amount")
    )
    if manual["count"]:
        rows.append(
            DiscountRow(
                rule_id=None, name="", kind="manual", charges=manual["count"], total=money_round(manual["total"])
            )
        )
    return rows


def charge_discounts(charge_ids: list[int]) -> dict[int, list[DiscountApplication]]:
    """The rule discounts each charge got (for the ledger and the receipt), one query."""
    found: dict[int, list[DiscountApplication]] = {}
    for application in DiscountApplication.objects.filter(
        charge_id__in=charge_ids, undone_at__isnull=True
    ).select_related("rule"):
        found.setdefault(application.charge_id, []).append(application)
    return found


# --- on the receipt ----------------------------------------------------------------------------


def receipt_sale_lines(receipt) -> list[ItemSaleLine]:
    """The notes and books a receipt paid, one line per item of each sale (one query)."""
    return list(ItemSaleLine.objects.filter(sale__receipt=receipt).select_related("item").order_by("sale_id", "pk"))


@dataclasses.dataclass(frozen=True)
class ReceiptDiscount:
    name: str
    total: Decimal


def receipt_discounts(receipt, enrollment_ids: list[int]) -> list[ReceiptDiscount]:
    """The rule discounts the receipt's groups got in the receipt's month, per rule (one query):
    printed under the lines so the parent sees why he paid less than the fee."""
    if not enrollment_ids:
        return []
    month = receipt.date.replace(day=1)
    rows = (
        DiscountApplication.objects.filter(
            charge__enrollment_id__in=enrollment_ids,
            entry__date__gte=month,
            entry__date__lt=_month_end(month),
            undone_at__isnull=True,
        )
        .values("rule__name")
        .annotate(total=Sum("amount"))
        .order_by("rule__name")
        .values_list("rule__name", "total")
    )
    return [ReceiptDiscount(name, money_round(total)) for name, total in rows]
