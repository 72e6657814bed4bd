"""Stock of notes and books per branch (issue 18; models in core/models/catalog.py).

Every change locks the item's stock row for the branch (select_for_update), checks that the count
stays at zero or above, and writes a ``StockMovement`` with the count after it, all inside the
caller's transaction. Two desks selling the last copy at once: the second waits for the first's
lock, then finds none left and is refused, so it is sold once.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.models import AuditLog, Branch, Item, ItemSale, ItemStock, StockMovement, User
from core.services.audit import audit_record

MAX_QUANTITY = 100_000  # more than any center holds of one title: a typing mistake


def stock_locked(*, item_id: int, branch_id: int) -> ItemStock:
    """The item's stock row for the branch, locked; made (with 0) the first time."""
    ItemStock.objects.bulk_create([ItemStock(item_id=item_id, branch_id=branch_id)], ignore_conflicts=True)
    return ItemStock.objects.select_for_update().select_related("item").get(item_id=item_id, branch_id=branch_id)


def stock_change(
    *,
    item: Item,
    branch_id: int,
    change: int,
    kind: str,
    actor,
    reason: str = "",
    sale: ItemSale | None = None,
) -> StockMovement:
    """Move the branch's stock of an item by ``change`` (negative takes out) and record it.

    Refuses (ValidationError ``not_enough``) what would leave fewer than zero. Call inside a
    transaction; lock several items in item id order to avoid two sales waiting on each other."""
    stock = stock_locked(item_id=item.pk, branch_id=branch_id)
    after = stock.quantity + change
    if after < 0:
        left = stock.quantity
        raise ValidationError(
            ngettext(
                "Only %(left)d copy of “%(title)s” is left in this branch; %(wanted)d cannot be taken.",
                "Only %(left)d copies of “%(title)s” are left in this branch; %(wanted)d cannot be taken.",
                left,
            )
            % {"left": left, "title": item.title, "wanted": -change},
            code="not_enough",
        )
    ItemStock.objects.filter(pk=stock.pk).update(quantity=after)
    return StockMovement.objects.create(
        item=item,
        branch_id=branch_id,
        kind=kind,
        quantity=change,
        balance_after=after,
        reason=(reason or "")[:255],
        sale=sale,
        created_by=actor if getattr(actor, "pk", None) else None,
    )


def _quantity(value) -> int:
    try:
        quantity = int(str(value).strip())
    except (TypeError, ValueError):
        raise ValidationError(_("Enter a whole number of copies."), code="quantity") from None
    if quantity == 0 or abs(quantity) > MAX_QUANTITY:
        raise ValidationError(
            _("The number of copies must be between 1 and %(maximum)d.") % {"maximum": MAX_QUANTITY},
            code="quantity",
        )
    return quantity


def _may_adjust(actor: User) -> None:
    if not actor.has_perm("core.adjust_stock"):
        raise PermissionDenied(_("You may not receive or adjust stock."))


def stock_receive(*, item: Item, branch: Branch, quantity, actor: User, reason: str = "") -> StockMovement:
    """Copies arrived at a branch (from the printer, from the teacher)."""
    _may_adjust(actor)
    quantity = _quantity(quantity)
    if quantity < 0:
        raise ValidationError(_("Received copies are a positive number; use an adjustment to take copies out."))
    with transaction.atomic():
        movement = stock_change(
            item=item,
            branch_id=branch.pk,
            change=quantity,
            kind=StockMovement.Kind.RECEIVED,
            actor=actor,
            reason=reason,
        )
        audit_record(
            actor=actor,
            action=AuditLog.Action.CREATE,
            instance=movement,
            changes={"quantity": [None, quantity], "in_stock": [None, movement.balance_after]},
            reason=reason,
        )
    return movement


def stock_adjust(*, item: Item, branch: Branch, change, actor: User, reason: str) -> StockMovement:
    """Correct a branch's count (copies lost, damaged, found at the stocktake), with a reason."""
    _may_adjust(actor)
    change = _quantity(change)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("A reason is required."), code="reason")
    with transaction.atomic():
        movement = stock_change(
            item=item, branch_id=branch.pk, change=change, kind=StockMovement.Kind.ADJUSTED, actor=actor, reason=reason
        )
        audit_record(
            actor=actor,
            action=AuditLog.Action.UPDATE,
            instance=movement,
            changes={"quantity": [None, change], "in_stock": [None, movement.balance_after]},
            reason=reason,
        )
    return movement
