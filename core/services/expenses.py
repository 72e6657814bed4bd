"""Expenses (issue 18): recorded with a gap-free voucher number per branch and year, voided with a
reason, never deleted or edited.

The front desk records expenses up to the limit the owner sets in the center settings; the
accountant and the owner (``record_any_expense``) have no limit, and only they void. Nothing is
written on a closed day of the cash book: an expense dated there is refused, and the void of an
expense of a closed day counts on today's book (corrections land on the day they are made).
"""

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.models import AuditLog, Branch, CenterSettings, Expense, ExpenseCategory, PaymentMethod, User
from core.ops.storage import uploads_written_first
from core.services.audit import audit_record
from core.services.cashbook import cashbook_lock, cashbook_refuse_closed
from core.services.counters import counter_next
from core.services.payments import money_parse


def expense_voucher_number(year: int, sequence: int) -> str:
    return f"{year}-{sequence:06d}"


def _limit_check(actor: User, amount) -> None:
    if actor.has_perm("core.record_any_expense"):
        return
    limit = CenterSettings.load().expense_desk_limit
    if amount > limit:
        raise ValidationError(
            _("The front desk may record expenses up to %(limit)s EGP; %(amount)s needs the accountant or the owner.")
            % {"limit": limit, "amount": amount},
            code="over_limit",
        )


def expense_record(
    *,
    branch: Branch,
    category: ExpenseCategory,
    amount,
    actor: User,
    date: datetime.date | None = None,
    method: str = PaymentMethod.CASH,
    payee: str = "",
    note: str = "",
    bill=None,
    now: datetime.datetime | None = None,
) -> Expense:
    """Record an expense and return it with its voucher number (the next of its branch and year).

    ``bill`` is an uploaded file (the photo of the bill), written to the project's storage
    before the row; a refused write raises UploadFailed and nothing is kept."""
    if not actor.has_perm("core.add_expense"):
        raise PermissionDenied(_("You may not record expenses."))
    if method not in PaymentMethod.values:
        raise ValidationError(_("Choose a payment method."), code="method")
    if category is None or not category.is_active:
        raise ValidationError(_("Choose an active category."), code="category")
    amount = money_parse(amount)
    _limit_check(actor, amount)
    today = timezone.localdate(now or timezone.now())
    date = date or today
    if date > today:
        raise ValidationError(_("The date cannot be in the future."), code="future")
    with transaction.atomic():
        cashbook_lock(branch.pk)
        cashbook_refuse_closed(branch_id=branch.pk, date=date)
        # The counter row is locked until commit: a rollback gives the number back (no gaps).
        sequence = counter_next(f"expense:{branch.pk}:{date.year}")
        expense = Expense(
            branch=branch,
            year=date.year,
            sequence=sequence,
            number=expense_voucher_number(date.year, sequence),
            category=category,
            amount=amount,
            date=date,
            method=method,
            payee=(payee or "").strip()[:120],
            note=(note or "").strip()[:255],
            created_by=actor,
        )
        if bill:
            expense.bill = bill
        with uploads_written_first(expense):
            expense.save()
        audit_record(
            actor=actor,
            action=AuditLog.Action.CREATE,
            instance=expense,
            changes={
                "amount": [None, str(amount)],
                "category": [None, category.pk],
                "date": [None, date.isoformat()],
                "method": [None, method],
            },
        )
    return expense


def expense_void(*, expense: Expense, actor: User, reason: str, now: datetime.datetime | None = None) -> Expense:
    """Void an expense with a reason. The money comes back on today's cash book (the day the void
    is made), so a closed day keeps its figures; today's book must be open."""
    if not actor.has_perm("core.void_expense"):
        raise PermissionDenied(_("Only the accountant may void an expense."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("A reason is required."), code="reason")
    now = now or timezone.now()
    today = timezone.localdate(now)
    with transaction.atomic():
        cashbook_lock(expense.branch_id)
        expense = Expense.objects.select_for_update().get(pk=expense.pk)
        if expense.is_void:
            raise ValidationError(_("Expense %(number)s is already void.") % {"number": expense.number}, code="void")
        cashbook_refuse_closed(branch_id=expense.branch_id, date=today)
        expense.voided_at, expense.voided_by = now, actor
        expense.void_reason, expense.void_date = reason[:255], today
        expense.save(update_fields=["voided_at", "voided_by", "void_reason", "void_date"])
        audit_record(
            actor=actor,
            action=AuditLog.Action.CANCEL,
            instance=expense,
            changes={"voided_at": [None, now.isoformat()], "void_date": [None, today.isoformat()]},
            reason=reason,
        )
    return expense
