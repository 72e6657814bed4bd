"""A teacher's share of his notes and books in his settlement (issue 18; R9's habit: he is paid on
what was collected). Beside core/services/settlements.py, which calls these while writing a draft.

- the month's line: Σ the share of his items' lines of sales paid in the month and not void
  (core/selectors/catalog.item_shares_by_teacher), one line with no group;
- adjustments: a sale paid in a month already approved and voided after that month was accounted
  for gives his share back on the next draft (a negative line per month), as R9 does for voids.
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


def item_adjustment_lines(
    teacher: Teacher, windows: list[tuple[datetime.date, datetime.date, datetime.datetime]]
) -> list[SettlementLine]:
    """His items' sales paid in a locked month (``windows``: first day, first day of the next month,
    watermark) and voided after it was accounted for: one negative line per month (one query)."""
    condition = Q(pk__in=[])
    for start, end, watermark in windows:
        condition |= Q(sale__paid_on__gte=start, sale__paid_on__lt=end, sale__voided_at__gt=watermark)
    if not windows:
        return []
    rows = (
        ItemSaleLine.objects.filter(condition, teacher=teacher)
        .annotate(source_month=TruncMonth("sale__paid_on"))
        .values("source_month")
        .annotate(collected=Sum("amount"), share=Sum("teacher_share"), copies=Sum("quantity"))
        .order_by("source_month")
        .values_list("source_month", "collected", "share", "copies")
    )
    lines = []
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
                note=_("Sales voided after %(month)s was approved") % {"month": f"{source_month:%Y-%m}"},
            )
        )
    return lines
