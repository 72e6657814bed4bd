"""Selling notes and books at the desk (issue 18; models in core/models/catalog.py).

A sale takes its copies out of the branch's stock under the stock row's lock (core/services/stock.py)
and keeps each line's price, cost and teacher share of the moment. It is paid on a receipt (the
same receipt as fees: ``payment_record(..., items=..., sales=...)`` calls ``sales_for_receipt``
and ``sales_mark_paid`` inside its transaction) or taken now and paid later: the unpaid sale is
the student's debt for the items, listed at the cashier until a receipt pays it.

The accountant voids a sale with a reason: its copies go back to stock (``returned`` movements)
and, if it was paid, its money is given back (it stops counting as sales in and in the teacher's
share of a month not yet approved).
"""

import dataclasses
import datetime
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from core.models import (
    AuditLog,
    Enrollment,
    Item,
    ItemSale,
    ItemSaleLine,
    ItemSaleReceiptVoid,
    PaymentMethod,
    Receipt,
    StockMovement,
    Student,
    User,
)
from core.selectors.money import ZERO, money_round
from core.services.audit import audit_record
from core.services.stock import MAX_QUANTITY, stock_change

HUNDRED = Decimal("100")


@dataclasses.dataclass(frozen=True)
class SaleItem:
    item: Item
    quantity: int


def _may_sell(actor: User) -> None:
    if not actor.has_perm("core.sell_items"):
        raise PermissionDenied(_("You may not sell notes and books."))


def sale_items_checked(items) -> list[SaleItem]:
    """``[(item or id, quantity), …]`` or SaleItem objects, merged per item, active items only."""
    wanted: dict[int, int] = {}
    for entry in items or []:
        item, quantity = (entry.item, entry.quantity) if isinstance(entry, SaleItem) else entry
        try:
            quantity = int(str(quantity).strip())
        except (TypeError, ValueError):
            raise ValidationError(_("Enter a whole number of copies."), code="quantity") from None
        if quantity <= 0 or quantity > MAX_QUANTITY:
            raise ValidationError(_("The number of copies must be at least 1."), code="quantity")
        item_id = getattr(item, "pk", item)
        wanted[item_id] = wanted.get(item_id, 0) + quantity
    if not wanted:
        return []
    found = {item.pk: item for item in Item.objects.filter(pk__in=list(wanted)).select_related("teacher")}
    missing = set(wanted) - set(found)
    if missing:
        raise ValidationError(_("An item on this sale does not exist."), code="unknown_item")
    inactive = [found[pk].title for pk in wanted if not found[pk].is_active]
    if inactive:
        raise ValidationError(_("“%(title)s” is no longer sold.") % {"title": inactive[0]}, code="inactive_item")
    # Item id order: two sales of the same titles lock their stock rows in the same order.
    return [SaleItem(found[pk], wanted[pk]) for pk in sorted(wanted)]


def _groups_for(student: Student, items: list[SaleItem]) -> dict[int, int | None]:
    """Which group each item is for (the "who took the notes" list): the item's own group, or the
    student's active group with the item's teacher; None for center items."""
    teacher_groups: dict[int, int] = {}
    for teacher_id, group_id in (
        Enrollment.objects.filter(student=student, is_active=True)
        .order_by("start_date", "id")
        .values_list("group__teacher_id", "group_id")
    ):
        teacher_groups.setdefault(teacher_id, group_id)
    return {entry.item.pk: entry.item.group_id or teacher_groups.get(entry.item.teacher_id) for entry in items}


def _sale_create(
    *, student: Student, seller: User, items: list[SaleItem], today: datetime.date, note: str, key: str | None
) -> ItemSale:
    """Inside a transaction: the sale, its lines and the stock taken out (locked, refused when short)."""
    lines = []
    for entry in items:
        item = entry.item
        amount = money_round(item.price * entry.quantity)
        share = money_round(amount * item.teacher_share_percent / HUNDRED) if item.teacher_id else ZERO
        lines.append(
            ItemSaleLine(
                item=item,
                teacher_id=item.teacher_id,
                quantity=entry.quantity,
                unit_price=item.price,
                unit_cost=item.cost,
                teacher_share_percent=item.teacher_share_percent,
                amount=amount,
                teacher_share=share,
            )
        )
    sale = ItemSale.objects.create(
        branch_id=student.branch_id,
        student=student,
        date=today,
        total=sum((line.amount for line in lines), ZERO),
        sold_by=seller,
        note=(note or "").strip()[:255],
        idempotency_key=key,
    )
    groups = _groups_for(student, items)
    for line in lines:
        line.sale = sale
        line.group_id = groups[line.item_id]
    ItemSaleLine.objects.bulk_create(lines)
    for entry in items:
        stock_change(
            item=entry.item,
            branch_id=student.branch_id,
            change=-entry.quantity,
            kind=StockMovement.Kind.SOLD,
            actor=seller,
            sale=sale,
        )
    audit_record(
        actor=seller,
        action=AuditLog.Action.CREATE,
        instance=sale,
        changes={
            "total": [None, str(sale.total)],
            "items": [None, {str(entry.item.pk): entry.quantity for entry in items}],
        },
    )
    return sale


def sale_record(
    *,
    student: Student,
    seller: User,
    items,
    pay_now: bool = False,
    method: str = PaymentMethod.CASH,
    reference: str = "",
    note: str = "",
    idempotency_key: str | None = None,
    now: datetime.datetime | None = None,
    confirm_repeat: bool = False,
) -> ItemSale:
    """Sell items to a student. ``pay_now`` puts the sale on a receipt of its own (R8's receipt,
    gap-free number); otherwise the student takes them now and the sale stays owed until a
    receipt pays it (the cashier page lists it). To sell on the same receipt as fees, the
    cashier calls ``payment_record(..., items=...)`` instead.

    Refused with ValidationError ``not_enough`` when a branch has fewer copies than asked."""
    _may_sell(seller)
    checked = sale_items_checked(items)
    if not checked:
        raise ValidationError(_("Choose at least one item."), code="no_items")
    if pay_now:
        from core.services.payments import payment_record

        receipt = payment_record(
            student=student,
            cashier=seller,
            method=method,
            items=checked,
            reference=reference,
            note=note,
            idempotency_key=idempotency_key,
            now=now,
            confirm_repeat=confirm_repeat,
        )
        return receipt.item_sales.order_by("-pk").first()
    key = (idempotency_key or "").strip()[:64] or None
    if key:
        existing = ItemSale.objects.filter(idempotency_key=key, student=student).first()
        if existing is not None:
            return existing
    today = timezone.localdate(now or timezone.now())
    try:
        with transaction.atomic():
            return _sale_create(student=student, seller=seller, items=checked, today=today, note=note, key=key)
    except IntegrityError:
        existing = ItemSale.objects.filter(idempotency_key=key, student=student).first() if key else None
        if existing is None:
            raise
        return existing


def sales_for_receipt(
    *, student: Student, seller: User, items=None, sales=None, today: datetime.date
) -> tuple[list[ItemSale], Decimal]:
    """For payment_record, inside its transaction and before the receipt: sell ``items`` now (a
    new sale) and lock the student's owed ``sales`` it also pays. Returns the sales and their total."""
    result: list[ItemSale] = []
    checked = sale_items_checked(items)
    if checked:
        _may_sell(seller)
        result.append(_sale_create(student=student, seller=seller, items=checked, today=today, note="", key=None))
    sale_ids = [getattr(sale, "pk", sale) for sale in sales or []]
    if sale_ids:
        owed = list(ItemSale.objects.select_for_update().filter(pk__in=sale_ids).order_by("pk"))
        if len(owed) != len(set(sale_ids)) or any(sale.student_id != student.pk for sale in owed):
            raise ValidationError(_("A sale on this receipt is of another student."), code="foreign_sale")
        for sale in owed:
            if sale.is_void:
                raise ValidationError(_("Sale %(id)s is void.") % {"id": sale.pk}, code="sale_void")
            if sale.is_paid:
                raise ValidationError(_("Sale %(id)s is paid already.") % {"id": sale.pk}, code="sale_paid")
        result.extend(owed)
    return result, sum((sale.total for sale in result), ZERO)


def sales_mark_paid(*, sales: list[ItemSale], receipt: Receipt) -> None:
    """The receipt pays these sales (inside payment_record's transaction, after the receipt)."""
    if not sales:
        return
    ItemSale.objects.filter(pk__in=[sale.pk for sale in sales]).update(receipt=receipt, paid_on=receipt.date)
    for sale in sales:
        sale.receipt, sale.paid_on = receipt, receipt.date


def sales_unpaid_by_void(*, receipt: Receipt, now: datetime.datetime | None = None) -> list[int]:
    """A voided receipt no longer pays its sales: they are owed again (inside payment_void, whose
    audit row names them). Each keeps a row of the payment undone (``ItemSaleReceiptVoid``: the day
    it had been paid on, ``now``), from which a teacher's share of a month already approved goes
    back on his next draft (core/services/settlement_items.py).

    A sale voided before keeps its receipt: its money was given back when it was voided, and the
    link says so (the cash book gives back only the rest of the receipt; core/services/cashbook.py)."""
    paid = list(ItemSale.objects.filter(receipt=receipt, voided_at__isnull=True).values_list("pk", "paid_on"))
    if not paid:
        return []
    now = now or timezone.now()
    ItemSaleReceiptVoid.objects.bulk_create(
        [
            # a sale on a receipt was paid the receipt's day; paid_on is only empty on unpaid sales
            ItemSaleReceiptVoid(
                sale_id=pk, receipt=receipt, paid_on=paid_on or timezone.localdate(receipt.created_at), voided_at=now
            )
            for pk, paid_on in paid
        ]
    )
    ids = [pk for pk, _paid_on in paid]
    ItemSale.objects.filter(pk__in=ids).update(receipt=None, paid_on=None)
    return ids


def receipt_sales_total(receipt: Receipt) -> Decimal:
    """What of a receipt's total paid notes and books (the rest paid fee lines)."""
    total = ItemSale.objects.filter(receipt=receipt).aggregate(total=Sum("total"))["total"]
    return total or ZERO


def sale_void(*, sale: ItemSale, actor: User, reason: str, now: datetime.datetime | None = None) -> ItemSale:
    """Void a sale (the accountant): its copies go back to stock, its money stops counting."""
    if not actor.has_perm("core.void_item_sale"):
        raise PermissionDenied(_("Only the accountant may void a sale."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("A reason is required."), code="reason")
    now = now or timezone.now()
    with transaction.atomic():
        sale = ItemSale.objects.select_for_update().get(pk=sale.pk)
        if sale.is_void:
            raise ValidationError(_("Sale %(id)s is already void.") % {"id": sale.pk}, code="void")
        for line in sale.lines.select_related("item").order_by("item_id"):
            stock_change(
                item=line.item,
                branch_id=sale.branch_id,
                change=line.quantity,
                kind=StockMovement.Kind.RETURNED,
                actor=actor,
                reason=reason,
                sale=sale,
            )
        sale.voided_at, sale.voided_by, sale.void_reason = now, actor, reason[:255]
        sale.save(update_fields=["voided_at", "voided_by", "void_reason"])
        audit_record(
            actor=actor,
            action=AuditLog.Action.CANCEL,
            instance=sale,
            changes={"voided_at": [None, now.isoformat()], "paid": [None, sale.is_paid]},
            reason=reason,
        )
    return sale
