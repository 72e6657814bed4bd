"""Amounts typed by staff: one parser that turns them into exact Decimal money or a translated
ValidationError (used by payments, the drawer close, expenses, the cash book, settlements)."""

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# A single payment above this is a typing mistake (an extra zero or two), not a fee.
MAX_PAYMENT = Decimal("1000000.00")
CENT = Decimal("0.01")


def money_parse(value, *, allow_zero: bool = False, maximum: Decimal = MAX_PAYMENT) -> Decimal:
    """A user-typed amount as an exact Decimal with two places, or a translated ValidationError.

    Refuses floats (they are not exact), non-numbers, more than two decimals, zero or less
    (unless ``allow_zero``) and anything above ``maximum``."""
    if isinstance(value, float):
        raise ValidationError(_("Amounts must be exact numbers."), code="float")
    text = str(value).strip().replace(",", "") if value is not None else ""
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValidationError(_("“%(value)s” is not an amount.") % {"value": text[:30]}, code="invalid") from None
    if not amount.is_finite():
        raise ValidationError(_("“%(value)s” is not an amount.") % {"value": text[:30]}, code="invalid")
    if amount != amount.quantize(CENT):
        raise ValidationError(_("Amounts have at most two decimal places (piasters)."), code="decimals")
    if amount < 0 or (amount == 0 and not allow_zero):
        raise ValidationError(_("The amount must be more than zero."), code="not_positive")
    if amount > maximum:
        raise ValidationError(
            _("%(amount)s is more than the largest allowed amount, %(maximum)s.")
            % {"amount": amount, "maximum": maximum},
            code="too_large",
        )
    return amount.quantize(CENT)
