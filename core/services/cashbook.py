"""The cash book (الخزينة) of a branch, day by day, and money moved between the drawer and the bank.

A day's book: the opening balance (the counted cash the previous closed day ended with), money in
(receipts by method, net of the voids and refunds made that day; sales; withdrawals from the
bank), money out (expenses, teacher payouts, deposits to the bank) and the expected closing
balance. Only cash moves the drawer: other methods are listed, not counted in the balance.

Closing a day stores its figures with the counted cash and the difference; from then on the day
never changes. Every day up to the last closed one is shut: an expense, a void or a bank transfer
dated there is refused, and corrections land on the day they are made. Money the desk records on
a day after that day was closed (a receipt at 22:00 after the evening close) counts on the first
open day after it (``late`` entries), so no amount is ever lost between two books.

Days are closed in order: a day cannot be closed while an earlier day with movements is open.
"""

import dataclasses
import datetime
from collections import defaultdict
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, F, Min, Q, Sum
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from core.models import (
    AuditLog,
    BankTransfer,
    Branch,
    CashBookDay,
    CashClose,
    EntryType,
    Expense,
    ItemSale,
    LedgerEntry,
    PaymentMethod,
    Receipt,
    Settlement,
    User,
)
from core.selectors.money import ZERO, money_round
from core.selectors.profit import payouts_by_branch
from core.services.audit import audit_record
from core.services.payments import money_parse

RECEIPT_TYPES = [EntryType.PAYMENT, EntryType.VOID, EntryType.REFUND]


# --- which days are shut -------------------------------------------------------------------------


def cashbook_last_close(branch_id: int) -> CashBookDay | None:
    return CashBookDay.objects.filter(branch_id=branch_id).order_by("-date").first()


def cashbook_is_closed(*, branch_id: int, date: datetime.date) -> bool:
    """Every day up to the branch's last closed day is shut."""
    return CashBookDay.objects.filter(branch_id=branch_id, date__gte=date).exists()


def cashbook_refuse_closed(*, branch_id: int, date: datetime.date) -> None:
    """A translated ValidationError when the cash book of ``date`` is closed. Call it after
    ``cashbook_lock`` so a close that commits meanwhile is seen."""
    if cashbook_is_closed(branch_id=branch_id, date=date):
        raise ValidationError(
            _(
                "The cash book of %(date)s is closed and cannot change. Record a correction today, "
                "with the reason in its note."
            )
            % {"date": date_format(date, "SHORT_DATE_FORMAT")},
            code="day_closed",
        )


def cashbook_lock(branch_id: int) -> None:
    """Serialise writes to a branch's cash book against its close (one row lock, the branch)."""
    Branch.objects.select_for_update().filter(pk=branch_id).first()


def payout_refuse_closed(*, settlement: Settlement, paid_on: datetime.date) -> None:
    """A teacher's payout counts on the cash book of the branches it is paid from (see
    ``payouts_by_branch``), on ``paid_on``: refused when that day is closed there. Called by
    ``settlement_pay`` inside its transaction."""
    for branch_id in sorted({branch_id for _pk, branch_id in payouts_by_branch([settlement.pk])}):
        cashbook_lock(branch_id)
        cashbook_refuse_closed(branch_id=branch_id, date=paid_on)


# --- a day's figures ---------------------------------------------------------------------------------


@dataclasses.dataclass
class CashBook:
    branch: Branch
    date: datetime.date
    closed: CashBookDay | None
    previous: CashBookDay | None
    opening: Decimal
    receipts_by_method: list[tuple[str, Decimal]]
    receipts_cash: Decimal
    receipts_other: Decimal
    sales_by_method: list[tuple[str, Decimal]]
    sales_returned_by_method: list[tuple[str, Decimal]]
    sales_cash: Decimal
    expenses: list[Expense]
    expense_voids: list[Expense]
    expenses_cash: Decimal
    payouts: list[tuple[Settlement, Decimal]]
    payouts_cash: Decimal
    transfers: list[BankTransfer]
    deposits: Decimal
    withdrawals: Decimal
    drawer_closes: dict
    late_entries: int
    earlier_open_day: datetime.date | None

    @property
    def cash_in(self) -> Decimal:
        return self.receipts_cash + self.sales_cash + self.withdrawals

    @property
    def cash_out(self) -> Decimal:
        return self.expenses_cash + self.payouts_cash + self.deposits

    @property
    def expected(self) -> Decimal:
        return self.opening + self.cash_in - self.cash_out


def _day_window(date: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    zone = timezone.get_current_timezone()
    start = timezone.make_aware(datetime.datetime.combine(date, datetime.time.min), zone)
    end = timezone.make_aware(datetime.datetime.combine(date + datetime.timedelta(days=1), datetime.time.min), zone)
    return start, end


def _on_book(date, previous: CashBookDay | None, closed: CashBookDay | None, *, day: str, recorded: str) -> Q:
    """Rows dated ``date`` (field ``day``) that count on this day's book, by when they were
    ``recorded``: on a closed day only what was there at its close; on the first open day after a
    close, also what was recorded on a shut day after that close (late entries)."""
    on_day = Q(**{day: date})
    if closed is not None:
        on_day &= Q(**{f"{recorded}__lte": closed.closed_at})  # what the day was closed with, nothing later
    if previous is not None and date == previous.date + datetime.timedelta(days=1):
        on_day |= Q(**{f"{day}__lte": previous.date, f"{recorded}__gt": previous.closed_at})
        if closed is not None:
            on_day &= Q(**{f"{recorded}__lte": closed.closed_at})
    return on_day


def _in_window(date, previous: CashBookDay | None, closed: CashBookDay | None, *, at: str) -> Q:
    """Rows whose moment ``at`` falls in this day's book: the Cairo day, from the previous close
    on the first open day after it, up to this day's close when it is closed."""
    start, end = _day_window(date)
    if previous is not None and date == previous.date + datetime.timedelta(days=1):
        start = min(start, previous.closed_at)
        window = Q(**{f"{at}__gt": start, f"{at}__lt": end})
    else:
        window = Q(**{f"{at}__gte": start, f"{at}__lt": end})
    if closed is not None:
        window &= Q(**{f"{at}__lte": closed.closed_at})
    return window


def _receipt_entries(branch_id: int, date: datetime.date, previous: CashBookDay | None, closed: CashBookDay | None):
    """The receipt lines (payments, voids, refunds) that count on this day's book."""
    entries = LedgerEntry.objects.filter(receipt__branch_id=branch_id, entry_type__in=RECEIPT_TYPES)
    return entries.filter(_on_book(date, previous, closed, day="date", recorded="created_at"))


def _sales_in_out(branch_id: int, date, previous, closed) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    """Money for notes and books taken and given back on this day's book, by receipt method.

    Read from the receipts (a receipt's total is its fee lines plus its sales), not from the
    sales' paid state, which a later void changes: what a receipt took counts on its day, and
    what is given back counts on the day it is given back: a paid sale voided (its total), or a
    receipt voided (its sales part, less the sales on it voided before: they went back already).
    A voided sale keeps the receipt that paid it (``sales_unpaid_by_void``), so a closed day
    never changes and no piastre is given back twice."""
    taken: dict[str, Decimal] = defaultdict(lambda: ZERO)
    given_back: dict[str, Decimal] = defaultdict(lambda: ZERO)
    receipts = Receipt.objects.filter(branch_id=branch_id)
    fee_lines = LedgerEntry.objects.filter(entry_type=EntryType.PAYMENT)
    took = receipts.filter(_on_book(date, previous, closed, day="date", recorded="created_at"))
    voided = receipts.filter(_in_window(date, previous, closed, at="voided_at"))
    for selection, into in ((took, taken), (voided, given_back)):
        for method, total in selection.values("method").annotate(total=Sum("total")).values_list("method", "total"):
            into[method] += total
        for method, total in (
            fee_lines.filter(receipt__in=selection)
            .values("receipt__method")
            .annotate(total=Sum("amount"))
            .values_list("receipt__method", "total")
        ):
            into[method] -= total
    # A sale still on a voided receipt was voided no later than it (the void unlinks the others),
    # at the same moment too (one script's ``now``): its own void gave it back.
    for method, total in (
        ItemSale.objects.filter(receipt__in=voided, voided_at__lte=F("receipt__voided_at"))
        .values("receipt__method")
        .annotate(total=Sum("total"))
        .values_list("receipt__method", "total")
    ):
        given_back[method] -= total
    for method, total in (
        ItemSale.objects.filter(branch_id=branch_id, receipt__isnull=False)
        .filter(_in_window(date, previous, closed, at="voided_at"))
        .values("receipt__method")
        .annotate(total=Sum("total"))
        .values_list("receipt__method", "total")
    ):
        given_back[method] += total
    return (
        {method: money_round(total) for method, total in taken.items() if total},
        {method: money_round(total) for method, total in given_back.items() if total},
    )


def _late_count(branch_id: int, previous: CashBookDay | None) -> int:
    if previous is None:
        return 0
    return LedgerEntry.objects.filter(
        receipt__branch_id=branch_id,
        entry_type__in=RECEIPT_TYPES,
        date__lte=previous.date,
        created_at__gt=previous.closed_at,
    ).count()


def _receipts_by_method(entries) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
    rows = entries.values("receipt__method", "entry_type").annotate(total=Sum("amount"))
    for row in rows:
        sign = 1 if row["entry_type"] == EntryType.PAYMENT else -1
        totals[row["receipt__method"]] += sign * row["total"]
    return {method: money_round(total) for method, total in totals.items()}


def _drawer_closes(branch_id: int, date: datetime.date) -> dict:
    start, end = _day_window(date)
    closes = CashClose.objects.filter(branch_id=branch_id, period_end__gte=start, period_end__lt=end)
    totals = closes.aggregate(
        count=Count("id"), expected=Sum("expected"), counted=Sum("counted"), difference=Sum("difference")
    )
    return {
        "rows": list(closes.select_related("cashier").order_by("period_end")),
        "count": totals["count"] or 0,
        "expected": money_round(totals["expected"] or ZERO),
        "counted": money_round(totals["counted"] or ZERO),
        "difference": money_round(totals["difference"] or ZERO),
    }


def _earlier_open_day(branch_id: int, date: datetime.date, previous: CashBookDay | None) -> datetime.date | None:
    """The first day before ``date`` (after the last close) that has movements and is open.

    Before a branch's first close there is none: the book starts on the first day closed (a
    center with months of receipts does not close each of them first); its opening is zero and
    the counted cash sets the drawer's real balance, the difference saying by how much."""
    if previous is None:
        return None
    after = previous.date
    if _late_count(branch_id, previous) and previous.date + datetime.timedelta(days=1) < date:
        return previous.date + datetime.timedelta(days=1)
    candidates = [
        LedgerEntry.objects.filter(
            receipt__branch_id=branch_id, entry_type__in=RECEIPT_TYPES, date__gt=after, date__lt=date
        ).aggregate(first=Min("date"))["first"],
        Expense.objects.filter(branch_id=branch_id, date__gt=after, date__lt=date).aggregate(first=Min("date"))[
            "first"
        ],
        Expense.objects.filter(branch_id=branch_id, void_date__gt=after, void_date__lt=date).aggregate(
            first=Min("void_date")
        )["first"],
        BankTransfer.objects.filter(branch_id=branch_id, date__gt=after, date__lt=date).aggregate(first=Min("date"))[
            "first"
        ],
        # A receipt for notes alone has no ledger line.
        Receipt.objects.filter(branch_id=branch_id, date__gt=after, date__lt=date).aggregate(first=Min("date"))[
            "first"
        ],
    ]
    paid_days = (
        Settlement.objects.filter(status=Settlement.Status.PAID, paid_on__gt=after, paid_on__lt=date)
        .order_by("paid_on")
        .values_list("pk", "paid_on")
    )
    payout_days = dict(paid_days)
    if payout_days:
        for (settlement_id, payout_branch), _amount in payouts_by_branch(list(payout_days)).items():
            if payout_branch == branch_id:
                candidates.append(payout_days[settlement_id])
    # Notes and books given back (a paid sale voided, a receipt voided) count by the moment they
    # were, from the last close on: the first open day after it, or the day they were made.
    start, _end = _day_window(date)
    zone = timezone.get_current_timezone()
    for first_moment in (
        ItemSale.objects.filter(
            branch_id=branch_id, receipt__isnull=False, voided_at__gt=previous.closed_at, voided_at__lt=start
        ).aggregate(first=Min("voided_at"))["first"],
        Receipt.objects.filter(branch_id=branch_id, voided_at__gt=previous.closed_at, voided_at__lt=start).aggregate(
            first=Min("voided_at")
        )["first"],
    ):
        if first_moment is not None:
            candidates.append(max(timezone.localdate(first_moment, zone), after + datetime.timedelta(days=1)))
    found = [day for day in candidates if day is not None and day < date]
    return min(found) if found else None


def cashbook_day(*, branch: Branch, date: datetime.date) -> CashBook:
    """The cash book of one branch and day: a closed day as it was closed, an open one as it is now."""
    closed = CashBookDay.objects.filter(branch=branch, date=date).select_related("closed_by").first()
    previous = CashBookDay.objects.filter(branch=branch, date__lt=date).order_by("-date").first()
    by_method = _receipts_by_method(_receipt_entries(branch.pk, date, previous, closed))
    methods = dict(PaymentMethod.choices)
    receipts_cash = by_method.get(PaymentMethod.CASH, ZERO)
    receipts_other = money_round(sum((v for k, v in by_method.items() if k != PaymentMethod.CASH), ZERO))
    sales, sales_returned = _sales_in_out(branch.pk, date, previous, closed)
    expenses = list(
        Expense.objects.filter(branch=branch, date=date).select_related("category", "created_by").order_by("id")
    )
    expense_voids = list(
        Expense.objects.filter(branch=branch, void_date=date).select_related("category", "voided_by").order_by("id")
    )
    expenses_cash = sum((e.amount for e in expenses if e.method == PaymentMethod.CASH), ZERO) - sum(
        (e.amount for e in expense_voids if e.method == PaymentMethod.CASH), ZERO
    )
    paid = {
        settlement.pk: settlement
        for settlement in Settlement.objects.filter(status=Settlement.Status.PAID, paid_on=date).select_related(
            "teacher"
        )
    }
    payouts = [
        (paid[settlement_id], amount)
        for (settlement_id, branch_id), amount in sorted(payouts_by_branch(list(paid)).items())
        if branch_id == branch.pk
    ]
    payouts_cash = sum((amount for s, amount in payouts if s.payout_method == PaymentMethod.CASH), ZERO)
    transfers = list(BankTransfer.objects.filter(branch=branch, date=date).select_related("created_by").order_by("id"))
    deposits = sum((t.amount for t in transfers if t.kind == BankTransfer.Kind.DEPOSIT), ZERO)
    withdrawals = sum((t.amount for t in transfers if t.kind == BankTransfer.Kind.WITHDRAWAL), ZERO)
    book = CashBook(
        branch=branch,
        date=date,
        closed=closed,
        previous=previous,
        opening=previous.counted if previous is not None else ZERO,
        receipts_by_method=[(methods.get(k, k), v) for k, v in sorted(by_method.items())],
        receipts_cash=receipts_cash,
        receipts_other=receipts_other,
        sales_by_method=[(methods.get(k, k), v) for k, v in sorted(sales.items())],
        sales_returned_by_method=[(methods.get(k, k), v) for k, v in sorted(sales_returned.items())],
        sales_cash=sales.get(PaymentMethod.CASH, ZERO) - sales_returned.get(PaymentMethod.CASH, ZERO),
        expenses=expenses,
        expense_voids=expense_voids,
        expenses_cash=money_round(expenses_cash),
        payouts=payouts,
        payouts_cash=money_round(payouts_cash),
        transfers=transfers,
        deposits=money_round(deposits),
        withdrawals=money_round(withdrawals),
        drawer_closes=_drawer_closes(branch.pk, date),
        late_entries=_late_count(branch.pk, previous) if closed is None else 0,
        earlier_open_day=None if closed is not None else _earlier_open_day(branch.pk, date, previous),
    )
    if closed is not None:
        # The stored figures are the day's figures, whatever was recorded against its date since.
        book.opening, book.receipts_cash, book.receipts_other = (
            closed.opening,
            closed.receipts_cash,
            closed.receipts_other,
        )
        book.sales_cash, book.expenses_cash, book.payouts_cash = (
            closed.sales_cash,
            closed.expenses_cash,
            closed.payouts_cash,
        )
        book.deposits, book.withdrawals = closed.deposits, closed.withdrawals
    return book


# --- closing a day --------------------------------------------------------------------------------


def cashbook_close(
    *, branch: Branch, date: datetime.date, counted, actor: User, note: str = "", now: datetime.datetime | None = None
) -> CashBookDay:
    """Close a branch's day with the counted cash: the figures are stored, the day is shut."""
    if not actor.has_perm("core.close_cash_book_day"):
        raise PermissionDenied(_("You may not close the cash book."))
    counted = money_parse(counted, allow_zero=True)
    now = now or timezone.now()
    if date > timezone.localdate(now):
        raise ValidationError(_("A day that has not come yet cannot be closed."), code="future")
    with transaction.atomic():
        cashbook_lock(branch.pk)
        if cashbook_is_closed(branch_id=branch.pk, date=date):
            raise ValidationError(
                _("The cash book of %(date)s is closed already.") % {"date": date_format(date, "SHORT_DATE_FORMAT")},
                code="closed_already",
            )
        book = cashbook_day(branch=branch, date=date)
        if book.earlier_open_day is not None:
            raise ValidationError(
                _("Close %(date)s first: it has movements and is still open.")
                % {"date": date_format(book.earlier_open_day, "SHORT_DATE_FORMAT")},
                code="earlier_open",
            )
        expected = book.expected
        day = CashBookDay.objects.create(
            branch=branch,
            date=date,
            opening=book.opening,
            receipts_cash=book.receipts_cash,
            receipts_other=book.receipts_other,
            sales_cash=book.sales_cash,
            expenses_cash=book.expenses_cash,
            payouts_cash=book.payouts_cash,
            deposits=book.deposits,
            withdrawals=book.withdrawals,
            expected=expected,
            counted=counted,
            difference=counted - expected,
            note=(note or "").strip()[:255],
            closed_by=actor,
        )
        audit_record(
            actor=actor,
            action=AuditLog.Action.CREATE,
            instance=day,
            changes={"expected": [None, str(expected)], "counted": [None, str(counted)]},
        )
    return day


# --- the bank ------------------------------------------------------------------------------------


def bank_transfer_record(
    *,
    branch: Branch,
    kind: str,
    amount,
    actor: User,
    date: datetime.date | None = None,
    reference: str = "",
    note: str = "",
    now: datetime.datetime | None = None,
) -> BankTransfer:
    """Cash from the drawer to the bank (deposit) or back (withdrawal), on an open day."""
    if not actor.has_perm("core.add_banktransfer"):
        raise PermissionDenied(_("You may not record bank deposits or withdrawals."))
    if kind not in BankTransfer.Kind.values:
        raise ValidationError(_("Choose deposit or withdrawal."), code="kind")
    amount = money_parse(amount)
    today = timezone.localdate(now or timezone.now())
    date = date or today
    if date > today:
        raise ValidationError(_("The date cannot be in the future."), code="future")
    with transaction.atomic():
        cashbook_lock(branch.pk)
        cashbook_refuse_closed(branch_id=branch.pk, date=date)
        transfer = BankTransfer.objects.create(
            branch=branch,
            kind=kind,
            amount=amount,
            date=date,
            reference=(reference or "").strip()[:80],
            note=(note or "").strip()[:255],
            created_by=actor,
        )
        audit_record(
            actor=actor,
            action=AuditLog.Action.CREATE,
            instance=transfer,
            changes={"kind": [None, kind], "amount": [None, str(amount)], "date": [None, date.isoformat()]},
        )
    return transfer
