"""Profit and loss per branch and month (issue 18), and which branch pays a teacher's settlement.

Per branch and calendar month:

- tuition collected: the payment lines of receipts of the branch dated in the month, less the
  voids and refunds of those receipts (the same "collected" as SPEC R9, whatever day the void
  was made);
- teacher shares: the settlement lines of the month for the branch's groups, plus the bonuses
  and less the deductions of those settlements (an advance is part of the share, paid early);
- sales margin: what the notes and books paid in the month brought in above their cost and the
  teachers' share (``core.selectors.catalog.sales_month_figures``); the teachers' item-share
  settlement lines are therefore not counted again among the teacher shares;
- expenses: the expenses of the branch dated in the month, not voided.

Profit = tuition collected − teacher shares + sales margin − expenses. A settlement's items are
not per group (nor is the item-share line): they go to the branch of its largest share (its "main"
branch), so every settlement is counted once, in full.
"""

import dataclasses
import datetime
from collections import defaultdict
from decimal import Decimal

from django.db.models import Q, Sum

from core.models import Branch, EntryType, Expense, Group, LedgerEntry, Settlement, SettlementItem, SettlementLine
from core.selectors.catalog import sales_month_figures
from core.selectors.money import ZERO, money_round


def _month_end(month: datetime.date) -> datetime.date:
    index = month.year * 12 + month.month
    return datetime.date(index // 12, index % 12 + 1, 1)


def _split(settlement_ids: list[int], extra: dict[int, Decimal]) -> dict[tuple[int, int], Decimal]:
    """Each settlement's line shares per branch of their groups, plus ``extra[settlement]`` on
    its main branch (the largest share; the lowest branch id on a tie)."""
    by_branch: dict[tuple[int, int], Decimal] = defaultdict(lambda: ZERO)
    rows = (
        SettlementLine.objects.filter(settlement_id__in=settlement_ids, group__isnull=False)
        .values("settlement_id", "group__branch_id")
        .annotate(total=Sum("amount"))
        .values_list("settlement_id", "group__branch_id", "total")
    )
    main: dict[int, tuple[Decimal, int]] = {}
    for settlement_id, branch_id, total in rows:
        by_branch[(settlement_id, branch_id)] += total
        best = main.get(settlement_id)
        if best is None or (total, -branch_id) > (best[0], -best[1]):
            main[settlement_id] = (total, branch_id)
    missing = [settlement_id for settlement_id in settlement_ids if settlement_id not in main]
    if missing:
        # No lines (only items): the teacher's groups' first branch, else the center's first.
        fallback = Branch.objects.order_by("id").values_list("id", flat=True).first()
        teacher_branch = dict(Settlement.objects.filter(pk__in=missing).values_list("pk", "teacher_id"))
        firsts: dict[int, int] = {}
        for teacher_id, branch_id in (
            Group.objects.filter(teacher_id__in=set(teacher_branch.values()))
            .order_by("branch_id")
            .values_list("teacher_id", "branch_id")
        ):
            firsts.setdefault(teacher_id, branch_id)
        for settlement_id in missing:
            main[settlement_id] = (ZERO, firsts.get(teacher_branch[settlement_id], fallback))
    for settlement_id, amount in extra.items():
        if amount:
            by_branch[(settlement_id, main[settlement_id][1])] += amount
    return {key: money_round(value) for key, value in by_branch.items()}


def payouts_by_branch(settlement_ids: list[int]) -> dict[tuple[int, int], Decimal]:
    """What each paid settlement paid out per branch: ``{(settlement id, branch id): amount}``;
    a settlement's amounts add up to its total exactly (its item share and manual items on its
    main branch)."""
    if not settlement_ids:
        return {}
    lines = dict(
        SettlementLine.objects.filter(settlement_id__in=settlement_ids, group__isnull=False)
        .values("settlement_id")
        .annotate(total=Sum("amount"))
        .values_list("settlement_id", "total")
    )
    totals = dict(Settlement.objects.filter(pk__in=settlement_ids).values_list("pk", "total"))
    extra = {pk: total - lines.get(pk, ZERO) for pk, total in totals.items()}
    return _split(list(totals), extra)


def sales_margin_for_month(*, branch_ids: list[int], month: datetime.date) -> dict[int, Decimal]:
    """The margin of notes and books paid in the month, per branch (one query per branch)."""
    return {branch_id: sales_month_figures(month=month, branch_ids=[branch_id]).margin for branch_id in branch_ids}


@dataclasses.dataclass
class ProfitMonth:
    branch: Branch | None  # None: every branch together
    month: datetime.date
    tuition: Decimal = ZERO
    teacher_shares: Decimal = ZERO
    sales_margin: Decimal = ZERO
    expenses: Decimal = ZERO
    expenses_by_category: dict = dataclasses.field(default_factory=dict)  # category id -> amount
    draft_settlement_ids: set = dataclasses.field(default_factory=set)

    @property
    def draft_settlements(self) -> int:
        """Settlements still drafts: their shares may change when they are recomputed."""
        return len(self.draft_settlement_ids)

    @property
    def profit(self) -> Decimal:
        return self.tuition - self.teacher_shares + self.sales_margin - self.expenses


def profit_month(*, month: datetime.date, branch_ids: list[int] | None = None) -> list[ProfitMonth]:
    """One row per branch (the given ones, or all) and a last row for them all together.

    A fixed number of queries, whatever the number of receipts, expenses or settlements."""
    month = month.replace(day=1)
    end = _month_end(month)
    branches = Branch.objects.order_by("id")
    if branch_ids is not None:
        branches = branches.filter(pk__in=branch_ids)
    branches = list(branches)
    rows = {branch.pk: ProfitMonth(branch=branch, month=month) for branch in branches}
    wanted = list(rows)

    in_month = Q(receipt__date__gte=month, receipt__date__lt=end, receipt__branch_id__in=wanted)
    for branch_id, entry_type, total in (
        LedgerEntry.objects.filter(in_month, entry_type__in=[EntryType.PAYMENT, EntryType.VOID, EntryType.REFUND])
        .values("receipt__branch_id", "entry_type")
        .annotate(total=Sum("amount"))
        .values_list("receipt__branch_id", "entry_type", "total")
    ):
        rows[branch_id].tuition += total if entry_type == EntryType.PAYMENT else -total

    settlement_ids = list(Settlement.objects.filter(month=month).values_list("pk", flat=True))
    extra: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for settlement_id, kind, total in (
        SettlementItem.objects.filter(settlement_id__in=settlement_ids)
        .exclude(kind=SettlementItem.Kind.ADVANCE)
        .values("settlement_id", "kind")
        .annotate(total=Sum("amount"))
        .values_list("settlement_id", "kind", "total")
    ):
        extra[settlement_id] += total if kind == SettlementItem.Kind.BONUS else -total
    drafts = set(
        Settlement.objects.filter(pk__in=settlement_ids, status=Settlement.Status.DRAFT).values_list("pk", flat=True)
    )
    for (settlement_id, branch_id), amount in _split(settlement_ids, dict(extra)).items():
        if branch_id in rows:
            rows[branch_id].teacher_shares += amount
            if settlement_id in drafts:
                rows[branch_id].draft_settlement_ids.add(settlement_id)

    for branch_id, margin in sales_margin_for_month(branch_ids=wanted, month=month).items():
        if branch_id in rows:
            rows[branch_id].sales_margin += margin

    for branch_id, category, total in (
        Expense.objects.filter(branch_id__in=wanted, date__gte=month, date__lt=end, voided_at__isnull=True)
        .values("branch_id", "category_id")
        .annotate(total=Sum("amount"))
        .order_by("branch_id", "category_id")
        .values_list("branch_id", "category_id", "total")
    ):
        rows[branch_id].expenses += total
        rows[branch_id].expenses_by_category[category] = money_round(total)

    result = list(rows.values())
    everything = ProfitMonth(branch=None, month=month)
    for row in result:
        row.tuition, row.teacher_shares = money_round(row.tuition), money_round(row.teacher_shares)
        row.sales_margin, row.expenses = money_round(row.sales_margin), money_round(row.expenses)
        everything.tuition += row.tuition
        everything.teacher_shares += row.teacher_shares
        everything.sales_margin += row.sales_margin
        everything.expenses += row.expenses
        everything.draft_settlement_ids |= row.draft_settlement_ids
        for category, total in row.expenses_by_category.items():
            everything.expenses_by_category[category] = everything.expenses_by_category.get(category, ZERO) + total
    result.append(everything)
    return result
