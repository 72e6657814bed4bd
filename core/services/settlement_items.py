"""A teacher's share of his notes and books in his settlement (issue 18; R9's habit: he is paid on
what was collected). Beside core/services/settlements.py, which calls these while writing a draft.

- the month's line: Σ the share of his items' lines of sales paid in the month and not void
  (core/selectors/catalog.item_shares_by_teacher), one line with no group;
- adjustments: a sale paid in a month already approved and voided after that month was accounted
  for gives his share back on the next draft (a negative line per month), as R9 does for voids;
  so does a receipt voided after it, for the sales it had paid (they are owed again: a later
  payment earns the share again, in its own month; ``ItemSaleReceiptVoid`` keeps the month).
"""

import datetime

from django.db.models import Q, Sum
from django.db.models.functions import TruncMonth
from django.utils.translation import gettext as _

from core.models import ItemSaleLine, SettlementLine, Teacher
from core.selectors.catalog import ItemShare
from core.selectors.money import ZERO, money_round


def item_share_lines(share: ItemShare | None) -> list[SettlementLine]:
    """The teacher's share of his notes and books paid for in the month, as its own line."""
    if share is None or (share.share == 0 and share.collected == 0):
        return []
    return [
        SettlementLine(
            group=None,
            kind=SettlementLine.Kind.ITEM_SHARE,
            collected=share.collected,
            quantity=share.copies,
            rate=ZERO,  # each item has its own percent; the line is their sum
            amount=share.share,
        )
    ]


def _adjustment_rows(lines, month_path: str):
    """(month, collected, share, copies) of the lines per month read at ``month_path`` (one query)."""
    return (
        lines.annotate(source_month=TruncMonth(month_path))
        .values("source_month")
        .annotate(collected=Sum("amount"), share=Sum("teacher_share"), copies=Sum("quantity"))
        .order_by("source_month")
        .values_list("source_month", "collected", "share", "copies")
    )


def item_adjustment_lines(
    teacher: Teacher, windows: list[tuple[datetime.date, datetime.date, datetime.datetime]]
) -> list[SettlementLine]:
    """His items' sales paid in a locked month (``windows``: first day, first day of the next month,
    watermark) whose payment was undone after it was accounted for: one negative line per month for
    sales voided, one for sales whose receipt was voided (two queries).

    Each undoing counts once: a sale voided before its receipt keeps the receipt (the receipt's
    void leaves no row for it), one voided after its receipt's void is no longer paid in the month."""
    if not windows:
        return []
    voided, unpaid = Q(pk__in=[]), Q(pk__in=[])
    for start, end, watermark in windows:
        voided |= Q(sale__paid_on__gte=start, sale__paid_on__lt=end, sale__voided_at__gt=watermark)
        unpaid |= Q(
            sale__receipt_voids__paid_on__gte=start,
            sale__receipt_voids__paid_on__lt=end,
            sale__receipt_voids__voided_at__gt=watermark,
        )
    mine = ItemSaleLine.objects.filter(teacher=teacher)
    sources = [
        (_adjustment_rows(mine.filter(voided), "sale__paid_on"), _("Sales voided after %(month)s was approved")),
        (
            # The filter and the month read the same join: a sale unpaid twice counts in each month.
            _adjustment_rows(mine.filter(unpaid), "sale__receipt_voids__paid_on"),
            _("Notes and books of receipts voided after %(month)s was approved"),
        ),
    ]
    lines = []
    for rows, note in sources:
        for source_month, collected, share, copies in rows:
            if isinstance(source_month, datetime.datetime):
                source_month = source_month.date()
            lines.append(
                SettlementLine(
                    group=None,
                    kind=SettlementLine.Kind.ITEM_SHARE,
                    collected=-money_round(collected),
                    quantity=copies,
                    rate=ZERO,
                    amount=-money_round(share),
                    source_month=source_month,
                    note=note % {"month": f"{source_month:%Y-%m}"},
                )
            )
    return lines
