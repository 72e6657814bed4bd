"""The door's ledger writes (R4, R6): the charge an admission posts, and what happens to it when
its attendance goes away (the session cancelled, or the attendance taken back).

Locks shared with a racing cancellation: a scan admitting into a month already charged at another
session holds that charge FOR KEY SHARE (``month_charge_hold``); a cancellation takes its session's
charges FOR UPDATE (``session_charges_reverse``). Whichever commits first, the other sees it.
"""

import datetime
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from core.db import row_insert
from core.models import AuditLog, Enrollment, EntryType, FeePeriod, LedgerEntry, Session
from core.selectors.money import money_round
from core.services.audit import audit_record
from core.services.discount_rules import charge_discounts_post, charge_discounts_undo
from core.services.ledger_entries import entries_undo

from .rules import ADMITTED_STATUSES, month_start


def post_charge(
    *,
    enrollment: Enrollment,
    session: Session,
    amount: Decimal,
    today: datetime.date,
    operator,
    source: str = LedgerEntry.Source.DOOR,
) -> LedgerEntry | None:
    """The charge of one admitted attendance (R4): the session's price, or the month's charge
    (``period_month`` set) at a month group's first admitted session of the month. The owner's
    discount rules give it its discounts here (no look-up when the door's read found no rule)."""
    if amount <= 0:
        return None
    is_month_group = enrollment.group.fee_period == FeePeriod.MONTH
    charge = row_insert(
        LedgerEntry(
            enrollment=enrollment,
            entry_type=EntryType.CHARGE,
            amount=amount,
            date=today,
            period_month=month_start(today) if is_month_group else None,
            session=session,
            source=source,
            created_by=operator if getattr(operator, "pk", None) else None,
        )
    )
    charge_discounts_post(charge=charge, actor=operator)
    return charge


def month_charge_hold(enrollment: Enrollment, today: datetime.date) -> bool:
    """Hold the month's live charge, posted at another session, FOR KEY SHARE (PostgreSQL).

    A manager cancelling that other session takes the charge FOR UPDATE and moves it to the
    student's next admitted attendance of the month (R6). Whichever commits first, the other
    sees it: the cancellation waits for our attendance and moves the charge onto it, or we wait
    for the cancellation and find the charge gone. False when the charge is gone."""
    if not connection.features.has_select_for_update:
        return True  # SQLite: the write lock taken at BEGIN serializes us with the cancellation
    table = connection.ops.quote_name(LedgerEntry._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {table} WHERE enrollment_id = %s AND entry_type = %s AND period_month = %s"  # noqa: S608
            " AND reversed_at IS NULL FOR KEY SHARE",
            [enrollment.pk, EntryType.CHARGE.value, month_start(today)],
        )
        return cursor.fetchone() is not None


def month_charge_post_late(*, enrollment: Enrollment, session: Session, today, operator) -> LedgerEntry | None:
    """Post the month's charge after a racing cancellation reversed it; if that cancellation moved
    it to another attendance of the month instead, the unique constraint keeps that one."""
    amount = money_round(enrollment.month_price(month_start(today)))
    try:
        with transaction.atomic():
            return post_charge(enrollment=enrollment, session=session, amount=amount, today=today, operator=operator)
    except IntegrityError:
        return None


def _next_admitted_session(charge: LedgerEntry, *, leaving_session_id: int) -> Session | None:
    """The enrollment's earliest other admitted attendance in the month a monthly charge is for,
    at a session that is not cancelled: where that month's charge belongs once it leaves a session."""
    from core.services.settlements import month_after

    month = charge.period_month
    following = month_after(month)
    return (
        Session.objects.filter(
            attendances__enrollment_id=charge.enrollment_id,
            attendances__status__in=ADMITTED_STATUSES,
            date__gte=month,
            date__lt=following,
        )
        .exclude(status=Session.Status.CANCELLED)
        .exclude(pk=leaving_session_id)
        .order_by("date", "starts_at", "pk")
        .first()
    )


def charge_leave_session(
    charge: LedgerEntry, *, leaving_session_id: int, actor, reason: str, source: str, now: datetime.datetime
) -> str:
    """A charge loses the attendance that caused it (its session cancelled, or the attendance
    taken back). R6: a session charge is reversed; a month charge moves to the student's next
    admitted attendance in that month (reversed here, posted again there, so the ledger stays
    append-only), and is reversed only when he attended nothing else of that group that month.
    Returns ``"reversed"``, ``"moved"`` or ``"kept"`` (a month charge posted at another session)."""
    if charge.period_month is not None and charge.session_id is not None and charge.session_id != leaving_session_id:
        return "kept"
    target = None
    if charge.period_month is not None:
        target = _next_admitted_session(charge, leaving_session_id=leaving_session_id)
    (reversal,) = entries_undo([charge], actor=actor, reason=reason, source=source, now=now)
    charge_discounts_undo(charges=[charge], actor=actor, reason=reason, now=now)
    changes = {"reverses": [None, charge.pk], "amount": [None, str(charge.amount)]}
    if target is not None:
        moved = LedgerEntry.objects.create(
            enrollment_id=charge.enrollment_id,
            entry_type=EntryType.CHARGE,
            amount=charge.amount,
            date=target.date,
            period_month=charge.period_month,
            session=target,
            source=LedgerEntry.Source.SYSTEM,
            created_by=actor if getattr(actor, "pk", None) else None,
            note=reason[:255],
        )
        changes["moved_to"] = [None, moved.pk]
        charge_discounts_post(charge=moved, actor=actor)
    audit_record(actor=actor, action=AuditLog.Action.CREATE, instance=reversal, changes=changes, reason=reason)
    return "moved" if target is not None else "reversed"


def session_charges_reverse(*, session: Session, actor=None, reason: str = "") -> int:
    """Undo what this session's attendances were charged (R6: cancelled means not charged).

    Session charges are reversed. A month charge posted here moves to the student's next
    admitted attendance of the month, if any (R6), and is reversed otherwise. Returns how many
    charges were reversed without moving. Call inside the caller's transaction, with the session
    row locked: a scan admitting to another session of the month holds its month charge FOR KEY
    SHARE (``month_charge_hold``), so whichever commits first, the other sees it.
    """
    charges = list(
        LedgerEntry.objects.select_for_update()
        .filter(session=session, entry_type=EntryType.CHARGE, reversed_at__isnull=True)
        .order_by("pk")
    )
    now = timezone.now()
    outcomes = [
        charge_leave_session(
            charge, leaving_session_id=session.pk, actor=actor, reason=reason, source=LedgerEntry.Source.SYSTEM, now=now
        )
        for charge in charges
    ]
    return outcomes.count("reversed")
