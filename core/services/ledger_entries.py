"""Undoing ledger entries: the one place that writes the row that cancels another (models/money.py).

The ledger is append-only, so an entry is never edited or deleted: its undo is a new entry of the
same amount and the opposite sign (``void`` for a payment, ``reversal`` for a charge) that names
the original in ``reverses``, and the original is marked with ``reversed_at``. Callers (receipt
voids, the door's cancelled sessions and taken-back attendances) lock the originals and write
their own audit row; this helper only writes the ledger side, inside the caller's transaction.
"""

import datetime
from collections.abc import Iterable

from django.utils import timezone

from core.models import EntryType, LedgerEntry

# What undoes what. Discounts, refunds and adjustments are not undone by a mirror row: a refund
# is itself a partial undo of a payment, and the others are corrected by a new entry.
UNDO_TYPE = {EntryType.CHARGE: EntryType.REVERSAL, EntryType.PAYMENT: EntryType.VOID}


def entries_undo(
    entries: Iterable[LedgerEntry], *, actor, reason: str, source: str, now: datetime.datetime
) -> list[LedgerEntry]:
    """Write the undo row of each entry and mark the entries reversed; returns the new rows in order.

    The undo row keeps the original's enrollment, amount, session and receipt, is dated on the
    Cairo day of ``now``, and carries ``reason`` as its note. Call inside a transaction, with the
    entries locked and not yet reversed (a second undo would break the one-to-one ``reverses``)."""
    entries = list(entries)
    if not entries:
        return []
    for entry in entries:
        if entry.entry_type not in UNDO_TYPE:
            raise ValueError(f"A {entry.entry_type} entry is not undone by a mirror row.")
        if entry.reversed_at is not None:
            raise ValueError(f"Ledger entry {entry.pk} is already reversed.")
    LedgerEntry.objects.filter(pk__in=[entry.pk for entry in entries]).update(reversed_at=now)
    for entry in entries:
        entry.reversed_at = now
    created_by = actor if getattr(actor, "pk", None) else None
    today = timezone.localdate(now)
    return LedgerEntry.objects.bulk_create(
        [
            LedgerEntry(
                enrollment_id=entry.enrollment_id,
                entry_type=UNDO_TYPE[entry.entry_type],
                amount=entry.amount,
                date=today,
                session_id=entry.session_id,
                receipt_id=entry.receipt_id,
                reverses=entry,
                source=source,
                created_by=created_by,
                note=(reason or "")[:255],
            )
            for entry in entries
        ]
    )
