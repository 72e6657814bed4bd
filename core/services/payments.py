"""Money at the front desk (SPEC.md R8, §2 Receipt): payments, receipts, voids, refunds and
discounts. The cashier's drawer close lives in ``drawer_close`` and amount parsing in ``amounts``;
their public names (``cash_close``, ``drawer_summary``, ``DrawerSummary``, ``money_parse``,
``MAX_PAYMENT``, ``CENT``) are re-exported here, kept so callers and operators' scripts keep working.

Every write here is one transaction that locks what it changes, writes its audit row and adds
ledger entries; nothing is ever edited or deleted. Receipt numbers come from a gap-free
counter per branch and year (``receipt:<branch>:<year>``), locked with select_for_update, so
numbers have no gaps and no duplicates however many desks record at once.
"""

import dataclasses
import datetime
from collections import defaultdict
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from core.models import (
    AuditLog,
    Enrollment,
    EntryType,
    FeePlan,
    LedgerEntry,
    PaymentMethod,
    Receipt,
    Student,
    StudentGuardian,
    TemplateKey,
    User,
)
from core.models.money import CREDIT_TYPES
from core.selectors.money import ZERO, balance_words, money_round, student_balance_through, students_with_balance
from core.services.amounts import CENT as CENT
from core.services.amounts import MAX_PAYMENT as MAX_PAYMENT
from core.services.amounts import money_parse
from core.services.audit import audit_record
from core.services.counters import counter_next
from core.services.drawer_close import DrawerSummary as DrawerSummary
from core.services.drawer_close import cash_close as cash_close
from core.services.drawer_close import drawer_summary as drawer_summary
from core.services.ledger_entries import entries_undo
from core.services.sales import receipt_sales_total, sales_for_receipt, sales_mark_paid, sales_unpaid_by_void

# The same amount for the same student again within this time is asked about ("record again?"):
# two cashier tabs, or a parent paid at the desk while another cashier took it too. Longer than a
# desk's queue turn, shorter than a parent coming back to pay a second month. A constant, not a
# setting: no center has asked to tune it, and the cashier can always confirm.
PAYMENT_REPEAT_WINDOW = datetime.timedelta(minutes=10)


def _reason_required(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("A reason is required."), code="reason")
    return reason[:255]


def receipt_number(year: int, sequence: int) -> str:
    return f"{year}-{sequence:06d}"


@dataclasses.dataclass(frozen=True)
class PaymentLine:
    enrollment: Enrollment
    amount: Decimal


def _oldest_debt_order(enrollments: list[Enrollment]) -> list[tuple[Enrollment, Decimal]]:
    """The student's enrollments that owe, oldest unpaid debt first, with what each owes.

    Within an enrollment credits pay the oldest debits first, so its oldest unpaid debt is the
    first debit at which the running debits pass the credits. One query for the student's rows.
    """
    by_id = {enrollment.pk: enrollment for enrollment in enrollments}
    credits: dict[int, Decimal] = defaultdict(lambda: ZERO)
    debits: dict[int, list[tuple[datetime.date, int, Decimal]]] = defaultdict(list)
    rows = LedgerEntry.objects.filter(enrollment_id__in=list(by_id)).values_list(
        "enrollment_id", "entry_type", "amount", "date", "id"
    )
    for enrollment_id, entry_type, amount, date, pk in rows:
        if entry_type in CREDIT_TYPES:
            credits[enrollment_id] += amount
        else:
            debits[enrollment_id].append((date, pk, amount))
    owing = []
    for enrollment_id, entries in debits.items():
        running, oldest = ZERO, None
        for date, pk, amount in sorted(entries):
            running += amount
            if oldest is None and running > credits[enrollment_id]:
                oldest = (date, pk)
        owed = running - credits[enrollment_id]
        if owed > 0:
            owing.append((oldest, by_id[enrollment_id], owed))
    owing.sort(key=lambda row: row[0])
    return [(enrollment, owed) for _oldest, enrollment, owed in owing]


def payment_allocate(*, student: Student, amount: Decimal) -> list[PaymentLine]:
    """Split a payment over the student's debts, oldest first, ended and transferred enrollments
    included (R8: the old group's debt is the old group's money, not the new teacher's).

    What is left after every debt is credit on an active enrollment: the one paid last if it is
    active, else the newest active one (not exempt, when there is a choice); never on an ended one,
    unless the student has no active enrollment: then on the ended one that owed last."""
    enrollments = list(Enrollment.objects.filter(student=student).select_related("group").order_by("start_date", "id"))
    if not enrollments:
        raise ValidationError(_("This student has no enrollment to pay for."), code="no_enrollment")
    lines: dict[int, PaymentLine] = {}
    remaining = amount
    for enrollment, owed in _oldest_debt_order(enrollments):
        if remaining <= 0:
            break
        part = min(owed, remaining)
        lines[enrollment.pk] = PaymentLine(enrollment, part)
        remaining -= part
    if remaining > 0:
        target = _credit_target(enrollments, paid_last=list(lines.values())[-1].enrollment if lines else None)
        current = lines.get(target.pk)
        lines[target.pk] = PaymentLine(target, (current.amount if current else ZERO) + remaining)
    return list(lines.values())


def _credit_target(enrollments: list[Enrollment], *, paid_last: Enrollment | None) -> Enrollment:
    """Where money left after every debt goes (see payment_allocate)."""
    if paid_last is not None and paid_last.is_active:
        return paid_last
    active = [enrollment for enrollment in enrollments if enrollment.is_active]
    paying = [enrollment for enrollment in active if enrollment.fee_plan != FeePlan.EXEMPT] or active
    if paying:
        return paying[-1]
    if paid_last is not None:
        return paid_last
    raise ValidationError(
        _("This student has no active enrollment and owes nothing: there is nothing to pay for."),
        code="no_enrollment",
    )


def _lines_checked(*, student: Student, lines) -> list[PaymentLine]:
    """Lines given by the desk: ``[(enrollment or id, amount), …]`` or PaymentLine objects."""
    merged: dict[int, Decimal] = {}
    enrollments: dict[int, Enrollment] = {}
    for line in lines:
        enrollment, raw = (line.enrollment, line.amount) if isinstance(line, PaymentLine) else line
        enrollment_id = getattr(enrollment, "pk", enrollment)
        amount = money_parse(raw)
        merged[enrollment_id] = merged.get(enrollment_id, ZERO) + amount
    if not merged:
        raise ValidationError(_("Enter at least one line."), code="no_lines")
    found = Enrollment.objects.filter(pk__in=list(merged), student=student).select_related("group")
    enrollments = {enrollment.pk: enrollment for enrollment in found}
    if set(enrollments) != set(merged):
        raise ValidationError(_("A line is for an enrollment of another student."), code="foreign_enrollment")
    return [PaymentLine(enrollments[pk], amount) for pk, amount in merged.items()]


class _AlreadyRecorded(Exception):
    """The same form was submitted twice: roll back (the receipt number too) and return the first."""


def student_balance(student: Student) -> Decimal:
    row = students_with_balance(Student.objects.filter(pk=student.pk)).values("balance").first()
    return money_round(row["balance"]) if row else ZERO


def receipt_balance_after(receipt: Receipt) -> Decimal:
    """The student's balance right after this receipt (and its own void or refunds, if any):
    what its print said the first time, whatever was paid or charged since. The ledger is
    append-only, so "after" is every entry of the student's up to the receipt's last one."""
    last = receipt.entries.aggregate(last=Max("pk"))["last"]
    if last is None:
        return student_balance(receipt.student)
    return student_balance_through(receipt.student_id, last)


def _notify_payment(receipt: Receipt, balance: Decimal) -> None:
    from core.services.messaging import message_queue

    for link in StudentGuardian.objects.filter(student=receipt.student).select_related("guardian"):
        # The balance in words, in the guardian's language: a stored text (the default or a
        # center's own) reads right whatever it says around {balance}.
        context = {
            "student_name": receipt.student.full_name,
            "amount": str(receipt.total),
            "receipt_number": receipt.number,
            "balance": balance_words(balance, link.guardian.language or "ar", currency=True),
        }
        message_queue(
            event=f"payment_received:{receipt.pk}",
            guardian=link.guardian,
            template=TemplateKey.PAYMENT_RECEIVED,
            context=context,
            student=receipt.student,
        )


def _receipt_with_key(idempotency_key: str | None, student: Student) -> Receipt | None:
    """The receipt a form with this key has recorded already, if any (a double submit).

    The key belongs to one cashier form for one student: the same key for another student is a
    form sent to the wrong page (or made up), refused, so it never answers with another
    student's receipt and never records a second payment under a used key."""
    if not idempotency_key:
        return None
    existing = Receipt.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None and existing.student_id != student.pk:
        raise ValidationError(
            _("This payment form was already used for another student. Open the student's cashier page again."),
            code="key_other_student",
        )
    return existing


def payment_repeat_find(*, student: Student, total: Decimal, now: datetime.datetime) -> Receipt | None:
    """A receipt (not void) of this amount for this student recorded within PAYMENT_REPEAT_WINDOW
    of ``now``, the latest first: what a second payment of the same amount may be repeating."""
    return (
        Receipt.objects.filter(
            student=student,
            total=total,
            voided_at__isnull=True,
            # Both sides: a receipt another tab committed while this one waited for the lock is
            # stamped a moment after this call's ``now``.
            created_at__gte=now - PAYMENT_REPEAT_WINDOW,
            created_at__lte=now + PAYMENT_REPEAT_WINDOW,
        )
        .select_related("cashier")
        .order_by("-created_at", "-pk")
        .first()
    )


def _repeat_refused(receipt: Receipt) -> ValidationError:
    cashier = receipt.cashier.get_full_name() or receipt.cashier.get_username()
    return ValidationError(
        _(
            "Receipt %(number)s for the same amount (%(amount)s) was recorded for this student at %(time)s "
            "by %(cashier)s. Record a second payment?"
        ),
        code="possible_duplicate",
        params={
            "number": receipt.number,
            "amount": receipt.total,
            "time": timezone.localtime(receipt.created_at).strftime("%H:%M"),
            "cashier": cashier,
            "receipt_id": receipt.pk,
        },
    )


def payment_record(
    *,
    student: Student,
    cashier: User,
    method: str = PaymentMethod.CASH,
    amount=None,
    lines=None,
    reference: str = "",
    note: str = "",
    idempotency_key: str | None = None,
    now: datetime.datetime | None = None,
    confirm_repeat: bool = False,
    items=None,
    sales=None,
) -> Receipt:
    """Record a payment and return its receipt (R8).

    ``items`` (``[(item, quantity), …]``) sells notes and books on the same receipt, and
    ``sales`` pays sales the student took earlier on credit (core/services/sales.py); with either,
    the fee ``amount`` or ``lines`` may be left out (a receipt for items alone). The receipt's
    total is the fee lines plus the sales.

    Give ``lines`` to say which enrollments it pays, or only ``amount`` to pay the oldest debt
    first. ``idempotency_key`` (a value the form carries) makes a double submit record once:
    the second call returns the first receipt; the same key for another student is refused
    (ValidationError) and records nothing.

    A second payment of the same amount for the same student within PAYMENT_REPEAT_WINDOW (two
    cashier tabs, two cashiers) is refused with ValidationError code ``"possible_duplicate"``
    (params: the earlier receipt's ``receipt_id``, ``number``, ``amount``, ``time``, ``cashier``)
    unless ``confirm_repeat``: the server cannot tell a mistake from a real second payment, the
    cashier can. The same idempotency key (a double click) still returns the first receipt."""
    if not cashier.has_perm("core.record_payment"):
        raise PermissionDenied(_("You may not record payments."))
    if method not in PaymentMethod.values:
        raise ValidationError(_("Choose a payment method."), code="method")
    idempotency_key = (idempotency_key or "").strip()[:64] or None
    existing = _receipt_with_key(idempotency_key, student)
    if existing is not None:
        return existing
    if lines:
        checked = _lines_checked(student=student, lines=lines)
        if amount not in (None, "") and money_parse(amount) != sum(line.amount for line in checked):
            raise ValidationError(_("The lines do not add up to the amount."), code="lines_total")
    elif amount in (None, "") and not (items or sales):
        raise ValidationError(_("Enter the amount."), code="no_amount")
    elif amount in (None, ""):
        checked, total = [], None  # items only
    else:
        total = money_parse(amount)
        checked = None
    try:
        with transaction.atomic():
            return _payment_create(
                student=student,
                cashier=cashier,
                method=method,
                lines=checked,
                amount=None if checked else total,
                reference=reference,
                note=note,
                idempotency_key=idempotency_key,
                now=now or timezone.now(),
                confirm_repeat=confirm_repeat,
                items=items,
                sales=sales,
            )
    except (_AlreadyRecorded, IntegrityError):
        existing = _receipt_with_key(idempotency_key, student)
        if existing is None:
            raise
        return existing


def _payment_create(
    *,
    student,
    cashier,
    method,
    lines,
    amount,
    reference,
    note,
    idempotency_key,
    now,
    confirm_repeat=False,
    items=None,
    sales=None,
) -> Receipt:
    today = timezone.localdate(now)
    # The student's enrollments are the rows whose balances change: lock them, then allocate.
    list(Enrollment.objects.select_for_update().filter(student=student).values_list("pk", flat=True))
    if lines is None:
        lines = payment_allocate(student=student, amount=amount)
    sold, sales_total = [], ZERO
    if items or sales:
        sold, sales_total = sales_for_receipt(student=student, seller=cashier, items=items, sales=sales, today=today)
    total = sum((line.amount for line in lines), ZERO) + sales_total
    if total > MAX_PAYMENT:
        raise ValidationError(_("The lines add up to more than the largest allowed amount."), code="too_large")
    sequence = counter_next(f"receipt:{student.branch_id}:{today.year}")
    # Checked again under the counter lock: a double submit that raced past the first check
    # finds the first receipt committed here.
    if idempotency_key and Receipt.objects.filter(idempotency_key=idempotency_key).exists():
        raise _AlreadyRecorded
    # Under the lock on the student's enrollments: of two tabs paying at once, the second sees the first.
    repeated = payment_repeat_find(student=student, total=total, now=now)
    if repeated is not None and not confirm_repeat:
        raise _repeat_refused(repeated)
    receipt = Receipt.objects.create(
        branch_id=student.branch_id,
        year=today.year,
        sequence=sequence,
        number=receipt_number(today.year, sequence),
        student=student,
        date=today,
        method=method,
        reference=(reference or "").strip()[:80],
        total=total,
        note=(note or "").strip()[:255],
        cashier=cashier,
        idempotency_key=idempotency_key,
    )
    sales_mark_paid(sales=sold, receipt=receipt)
    LedgerEntry.objects.bulk_create(
        [
            LedgerEntry(
                enrollment=line.enrollment,
                entry_type=EntryType.PAYMENT,
                amount=line.amount,
                date=today,
                receipt=receipt,
                source=LedgerEntry.Source.DESK,
                created_by=cashier,
            )
            for line in lines
        ]
    )
    audit_record(
        actor=cashier,
        action=AuditLog.Action.CREATE,
        instance=receipt,
        changes={
            "total": [None, str(total)],
            "method": [None, method],
            "lines": [None, {str(line.enrollment.pk): str(line.amount) for line in lines}],
            **({"item_sales": [None, [sale.pk for sale in sold]]} if sold else {}),
            # The cashier was shown this earlier receipt of the same amount and recorded anyway.
            **({"repeat_confirmed": [None, repeated.number]} if repeated is not None else {}),
        },
    )
    _notify_payment(receipt, student_balance(student))
    return receipt


def _may_void(actor) -> None:
    if not actor.has_perm("core.void_receipt"):
        raise PermissionDenied(_("Only the accountant may void or refund a payment."))


def receipt_refunded(receipt: Receipt) -> Decimal:
    return receipt.entries.filter(entry_type=EntryType.REFUND).aggregate(total=Sum("amount"))["total"] or ZERO


def payment_void(*, receipt: Receipt, actor: User, reason: str, now: datetime.datetime | None = None) -> Receipt:
    """Void a receipt (a mistake at the desk): a ``void`` entry undoes each of its lines and the
    receipt is marked. Nothing is deleted."""
    _may_void(actor)
    reason = _reason_required(reason)
    now = now or timezone.now()
    with transaction.atomic():
        receipt = Receipt.objects.select_for_update().get(pk=receipt.pk)
        if receipt.is_void:
            raise ValidationError(_("Receipt %(number)s is already void.") % {"number": receipt.number}, code="void")
        if receipt_refunded(receipt) > 0:
            raise ValidationError(
                _("Receipt %(number)s has refunds; refund the rest instead of voiding it.")
                % {"number": receipt.number},
                code="refunded",
            )
        payments = list(
            LedgerEntry.objects.select_for_update().filter(
                receipt=receipt, entry_type=EntryType.PAYMENT, reversed_at__isnull=True
            )
        )
        entries_undo(payments, actor=actor, reason=reason, source=LedgerEntry.Source.DESK, now=now)
        # Notes and books it paid are owed again: the student still has them.
        unpaid = sales_unpaid_by_void(receipt=receipt, now=now)
        receipt.voided_at, receipt.voided_by, receipt.void_reason = now, actor, reason
        receipt.save(update_fields=["voided_at", "voided_by", "void_reason"])
        audit_record(
            actor=actor,
            action=AuditLog.Action.CANCEL,
            instance=receipt,
            changes={"voided_at": [None, now.isoformat()], **({"item_sales_owed": [None, unpaid]} if unpaid else {})},
            reason=reason,
        )
    return receipt


def payment_refund(
    *, receipt: Receipt, actor: User, amount, reason: str, now: datetime.datetime | None = None
) -> list[LedgerEntry]:
    """Give money back against a receipt (all or part): ``refund`` entries, last line first."""
    _may_void(actor)
    reason = _reason_required(reason)
    amount = money_parse(amount)
    now = now or timezone.now()
    with transaction.atomic():
        receipt = Receipt.objects.select_for_update().get(pk=receipt.pk)
        if receipt.is_void:
            raise ValidationError(_("Receipt %(number)s is void.") % {"number": receipt.number}, code="void")
        refunded_by_enrollment = dict(
            receipt.entries.filter(entry_type=EntryType.REFUND)
            .values("enrollment_id")
            .annotate(total=Sum("amount"))
            .values_list("enrollment_id", "total")
        )
        # Fee lines only: items are given back by voiding their sale (core/services/sales.py).
        refundable = receipt.total - receipt_sales_total(receipt) - sum(refunded_by_enrollment.values(), ZERO)
        if amount > refundable:
            raise ValidationError(
                _("At most %(amount)s can still be refunded on receipt %(number)s.")
                % {"amount": refundable, "number": receipt.number},
                code="too_much",
            )
        today = timezone.localdate(now)
        entries, remaining = [], amount
        for payment in receipt.entries.filter(entry_type=EntryType.PAYMENT).order_by("-id"):
            room = payment.amount - refunded_by_enrollment.pop(payment.enrollment_id, ZERO)
            part = min(room, remaining)
            if part <= 0:
                continue
            entries.append(
                LedgerEntry.objects.create(
                    enrollment_id=payment.enrollment_id,
                    entry_type=EntryType.REFUND,
                    amount=part,
                    date=today,
                    receipt=receipt,
                    source=LedgerEntry.Source.DESK,
                    created_by=actor,
                    note=reason,
                )
            )
            remaining -= part
            if remaining <= 0:
                break
        audit_record(
            actor=actor,
            action=AuditLog.Action.CREATE,
            instance=receipt,
            changes={"refund": [None, str(amount)]},
            reason=reason,
        )
    return entries


def discount_grant(
    *, enrollment: Enrollment, actor: User, amount, reason: str, now: datetime.datetime | None = None
) -> LedgerEntry:
    """Lower what an enrollment owes, with a reason (a ``discount`` credit)."""
    if not actor.has_perm("core.grant_discount"):
        raise PermissionDenied(_("You may not grant discounts."))
    reason = _reason_required(reason)
    amount = money_parse(amount)
    with transaction.atomic():
        Enrollment.objects.select_for_update().filter(pk=enrollment.pk).first()
        entry = LedgerEntry.objects.create(
            enrollment=enrollment,
            entry_type=EntryType.DISCOUNT,
            amount=amount,
            date=timezone.localdate(now or timezone.now()),
            source=LedgerEntry.Source.DESK,
            created_by=actor,
            note=reason,
        )
        audit_record(
            actor=actor,
            action=AuditLog.Action.CREATE,
            instance=entry,
            changes={"amount": [None, str(amount)]},
            reason=reason,
        )
    return entry
