"""Profit and loss per branch and month (issue 18), and which branch pays a teacher's settlement.

Per branch and calendar month:

- tuition collected: the payment lines of receipts of the branch dated in the month, less the
  voids and refunds of those receipts (the same "collected" as SPEC R9, whatever day the void
  was made);
- teacher shares: the settlement lines of the month for the branch's groups, plus the bonuses
  and less the deductions of those settlements (an advance is part of the share, paid early);
  for a teacher whose month has no settlement yet (the month so far, or one not run), what a
  run today would compute for his groups (``settlement_estimates``), shown as an estimate;
- sales margin: what the notes and books paid in the month brought in above their cost and the
  teachers' share (``core.selectors.catalog``); the teachers' item-share
  settlement lines are therefore not counted again among the teacher shares;
- expenses: the expenses of the branch dated in the month, not voided.

Center margin = tuition collected − teacher shares + sales margin; profit = margin − expenses.
The P&L page and the dashboard's money chart read these same figures (``profit_months``).

A settlement's items are not per group (nor is the item-share line): they go to the branch of its
largest share (its "main" branch), so every settlement is counted once, in full.
"""

import dataclasses
import datetime
from collections import defaultdict
from decimal import Decimal

from django.db.models import Sum
from django.db.models.functions import TruncMonth

from core.models import Branch, EntryType, Expense, Group, LedgerEntry, Settlement, SettlementItem, SettlementLine
from core.selectors.catalog import sales_figures_by_month
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
    """The margin of notes and books paid in the month, per branch (one query)."""
    month = month.replace(day=1)
    figures = sales_figures_by_month(start=month, end=_month_end(month), branch_ids=branch_ids)
    return {
        branch_id: figures[(branch_id, month)].margin if (branch_id, month) in figures else ZERO
        for branch_id in branch_ids
    }


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
    # The part of teacher_shares estimated by the settlement rules for teachers whose month has
    # no settlement yet (run after the month ends): the month so far is not shown without shares.
    estimated_shares: Decimal = ZERO
    estimated_teacher_ids: set = dataclasses.field(default_factory=set)

    @property
    def draft_settlements(self) -> int:
        """Settlements still drafts: their shares may change when they are recomputed."""
        return len(self.draft_settlement_ids)

    @property
    def estimated_teachers(self) -> int:
        """Teachers with a share in the month and no settlement for it yet (their share is estimated)."""
        return len(self.estimated_teacher_ids)

    @property
    def margin(self) -> Decimal:
        """What the center keeps before its expenses: tuition less the teachers' shares, plus the sales margin."""
        return self.tuition - self.teacher_shares + self.sales_margin

    @property
    def profit(self) -> Decimal:
        return self.margin - self.expenses


def _first_of_month(value) -> datetime.date:
    """A month from a database's month truncation (a date, or a midnight datetime)."""
    value = value.date() if isinstance(value, datetime.datetime) else value
    return value.replace(day=1)


def profit_months(
    *,
    first: datetime.date,
    last: datetime.date | None = None,
    branch_ids: list[int] | None = None,
    estimates: dict | None = None,
) -> dict[datetime.date, list[ProfitMonth]]:
    """``profit_month`` for every month from ``first`` to ``last`` (the P&L page and the
    dashboard's money chart read the same figures from here): ``{month: rows}``, oldest first.

    ``estimates``: ``settlement_estimates`` of every group of these branches for these months,
    when the caller has them already (the dashboard, for its teachers' chart); read here otherwise.
    A fixed number of grouped queries whatever the number of months, branches, receipts,
    expenses or settlements (at most 15; five fewer with ``estimates``)."""
    first = first.replace(day=1)
    last = (last or first).replace(day=1)
    months, month = [], first
    while month <= last:
        months.append(month)
        month = _month_end(month)
    end = _month_end(last)
    branches = Branch.objects.order_by("id")
    if branch_ids is not None:
        branches = branches.filter(pk__in=branch_ids)
    branches = list(branches)
    rows = {(month, branch.pk): ProfitMonth(branch=branch, month=month) for month in months for branch in branches}
    wanted = [branch.pk for branch in branches]

    for branch_id, month, entry_type, total in (
        LedgerEntry.objects.filter(
            receipt__date__gte=first,
            receipt__date__lt=end,
            receipt__branch_id__in=wanted,
            entry_type__in=[EntryType.PAYMENT, EntryType.VOID, EntryType.REFUND],
        )
        .annotate(month=TruncMonth("receipt__date"))
        .order_by()
        .values("receipt__branch_id", "month", "entry_type")
        .annotate(total=Sum("amount"))
        .values_list("receipt__branch_id", "month", "entry_type", "total")
    ):
        rows[(_first_of_month(month), branch_id)].tuition += total if entry_type == EntryType.PAYMENT else -total

    settlements = list(
        Settlement.objects.filter(month__gte=first, month__lte=last).values_list("pk", "month", "status", "teacher_id")
    )
    month_of = {pk: settled_month for pk, settled_month, _status, _teacher in settlements}
    drafts = {pk for pk, _month, status, _teacher in settlements if status == Settlement.Status.DRAFT}
    settled = {(settled_month, teacher_id) for _pk, settled_month, _status, teacher_id in settlements}
    extra: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for settlement_id, kind, total in (
        SettlementItem.objects.filter(settlement_id__in=list(month_of))
        .exclude(kind=SettlementItem.Kind.ADVANCE)
        .values("settlement_id", "kind")
        .annotate(total=Sum("amount"))
        .values_list("settlement_id", "kind", "total")
    ):
        extra[settlement_id] += total if kind == SettlementItem.Kind.BONUS else -total
    for (settlement_id, branch_id), amount in _split(list(month_of), dict(extra)).items():
        row = rows.get((month_of[settlement_id], branch_id))
        if row is not None:
            row.teacher_shares += amount
            if settlement_id in drafts:
                row.draft_settlement_ids.add(settlement_id)

    # Teachers whose month has no settlement yet: their groups' shares as a run today would
    # compute them (the item share is in the sales margin, as for a run).
    if estimates is None:
        groups = list(Group.objects.filter(branch_id__in=wanted).order_by("pk"))
        # Imported here: core.services.settlements imports the cash book, which imports this module.
        from core.services.settlements import settlement_estimates

        estimates = settlement_estimates(groups=groups, first=first, last=last) if groups else {}
    for month, lines in estimates.items():
        for line in lines:
            row = rows.get((month, line.group.branch_id))
            if row is None or (month, line.group.teacher_id) in settled or not line.amount:
                continue
            row.teacher_shares += line.amount
            row.estimated_shares += line.amount
            row.estimated_teacher_ids.add(line.group.teacher_id)

    for (branch_id, month), figures in sales_figures_by_month(start=first, end=end, branch_ids=wanted).items():
        rows[(month, branch_id)].sales_margin += figures.margin

    for branch_id, month, category, total in (
        Expense.objects.filter(branch_id__in=wanted, date__gte=first, date__lt=end, voided_at__isnull=True)
        .annotate(month=TruncMonth("date"))
        .values("branch_id", "month", "category_id")
        .annotate(total=Sum("amount"))
        .order_by("branch_id", "month", "category_id")
        .values_list("branch_id", "month", "category_id", "total")
    ):
        row = rows[(_first_of_month(month), branch_id)]
        row.expenses += total
        row.expenses_by_category[category] = money_round(total)

    result: dict[datetime.date, list[ProfitMonth]] = {}
    for month in months:
        month_rows = [rows[(month, branch.pk)] for branch in branches]
        everything = ProfitMonth(branch=None, month=month)
        for row in month_rows:
            row.tuition, row.teacher_shares = money_round(row.tuition), money_round(row.teacher_shares)
            row.sales_margin, row.expenses = money_round(row.sales_margin), money_round(row.expenses)
            row.estimated_shares = money_round(row.estimated_shares)
            everything.tuition += row.tuition
            everything.teacher_shares += row.teacher_shares
            everything.sales_margin += row.sales_margin
            everything.expenses += row.expenses
            everything.estimated_shares += row.estimated_shares
            everything.draft_settlement_ids |= row.draft_settlement_ids
            everything.estimated_teacher_ids |= row.estimated_teacher_ids
            for category, total in row.expenses_by_category.items():
                everything.expenses_by_category[category] = everything.expenses_by_category.get(category, ZERO) + total
        result[month] = [*month_rows, everything]
    return result


def profit_month(*, month: datetime.date, branch_ids: list[int] | None = None) -> list[ProfitMonth]:
    """One row per branch (the given ones, or all) and a last row for them all together.

    A fixed number of queries, whatever the number of receipts, expenses or settlements."""
    month = month.replace(day=1)
    return profit_months(first=month, last=month, branch_ids=branch_ids)[month]
