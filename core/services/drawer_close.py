"""The cashier's drawer close (SPEC.md §2 Cash close): what a cashier should hold since his last
close (cash receipts taken, less voids, cash refunds and notes given back in the period) and the
close itself, with the counted cash and the difference. One close at a time per cashier.

Money goes back out of the drawer of the receipt that took it, when it goes back, by the rule the
cash book follows (core/services/cashbook.py ``_sales_in_out``): a paid sale voided gives its total
back when it is voided; a receipt voided gives back its total less its sales voided before it (they
went back already and keep the receipt that paid them; the sales it still paid become owed again,
unlinked, so voiding them later moves no money). Every piastre is thus counted once, in the same
period as the cash book counts it."""

import dataclasses
import datetime
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from core.models import AuditLog, CashClose, EntryType, ItemSale, LedgerEntry, PaymentMethod, Receipt, User
from core.selectors.money import ZERO, money_round
from core.services.amounts import money_parse
from core.services.audit import audit_record


@dataclasses.dataclass(frozen=True)
class DrawerSummary:
    period_start: datetime.datetime
    period_end: datetime.datetime
    receipts_count: int
    received: Decimal
    voided: Decimal  # receipts voided: their totals less their notes given back before
    refunded: Decimal
    sales_returned: Decimal = ZERO  # paid notes and books voided

    @property
    def expected(self) -> Decimal:
        return self.received - self.voided - self.refunded - self.sales_returned


def _drawer_start(cashier: User, branch_id: int) -> datetime.datetime:
    last = CashClose.objects.filter(cashier=cashier, branch_id=branch_id).order_by("-period_end").first()
    if last is not None:
        return last.period_end
    first = Receipt.objects.filter(cashier=cashier, branch_id=branch_id).order_by("created_at").first()
    if first is not None:
        return first.created_at - datetime.timedelta(seconds=1)
    return timezone.now() - datetime.timedelta(days=1)


def drawer_summary(*, cashier: User, branch_id: int, now: datetime.datetime | None = None) -> DrawerSummary:
    """The cash a cashier should hold since his last close: his cash receipts taken, less what of
    them went back in the period (receipts voided, net of their notes voided before; refunds;
    paid notes and books voided)."""
    end = now or timezone.now()
    start = _drawer_start(cashier, branch_id)
    cash = Receipt.objects.filter(cashier=cashier, branch_id=branch_id, method=PaymentMethod.CASH)
    taken = cash.filter(created_at__gt=start, created_at__lte=end).aggregate(total=Sum("total"), count=Count("id"))
    voided_receipts = cash.filter(voided_at__gt=start, voided_at__lte=end)
    voided = voided_receipts.aggregate(total=Sum("total"))["total"] or ZERO
    # A sale still on a voided receipt was voided before it (the receipt's void unlinks the others):
    # its money left the drawer then, not again now.
    sales = ItemSale.objects.filter(voided_at__isnull=False)
    voided -= sales.filter(receipt__in=voided_receipts).aggregate(total=Sum("total"))["total"] or ZERO
    returned = sales.filter(receipt__in=cash, voided_at__gt=start, voided_at__lte=end)
    sales_returned = returned.aggregate(total=Sum("total"))["total"] or ZERO
    refunded = (
        LedgerEntry.objects.filter(
            entry_type=EntryType.REFUND,
            receipt__in=cash,
            created_at__gt=start,
            created_at__lte=end,
        ).aggregate(total=Sum("amount"))["total"]
        or ZERO
    )
    return DrawerSummary(
        period_start=start,
        period_end=end,
        receipts_count=taken["count"] or 0,
        # Two places whatever the backend's sum returns (SQLite drops them), as the page shows them.
        received=money_round(taken["total"] or ZERO),
        voided=money_round(voided),
        refunded=money_round(refunded),
        sales_returned=money_round(sales_returned),
    )


def cash_close(
    *, cashier: User, branch_id: int, counted, note: str = "", now: datetime.datetime | None = None
) -> CashClose:
    """Close the cashier's drawer for the period since his last close."""
    if not cashier.has_perm("core.add_cashclose"):
        raise PermissionDenied(_("You may not close a cash drawer."))
    counted = money_parse(counted, allow_zero=True)
    with transaction.atomic():
        # One close at a time per cashier: the period of the next starts where this one ends.
        User.objects.select_for_update().filter(pk=cashier.pk).first()
        summary = drawer_summary(cashier=cashier, branch_id=branch_id, now=now)
        if summary.period_end <= summary.period_start:
            raise ValidationError(_("The drawer was just closed."), code="empty_period")
        close = CashClose.objects.create(
            cashier=cashier,
            branch_id=branch_id,
            period_start=summary.period_start,
            period_end=summary.period_end,
            receipts_count=summary.receipts_count,
            expected=summary.expected,
            counted=counted,
            difference=counted - summary.expected,
            note=(note or "").strip()[:255],
        )
        audit_record(
            actor=cashier,
            action=AuditLog.Action.CREATE,
            instance=close,
            changes={"expected": [None, str(close.expected)], "counted": [None, str(counted)]},
        )
    return close
