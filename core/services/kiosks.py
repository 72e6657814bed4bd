"""Kiosk devices: created with a token shown once, stored as a hash, revocable (SPEC.md §2 Kiosk)."""

import datetime
import hashlib
import secrets

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.models import AuditLog, Branch, Kiosk, Room, ScanEvent
from core.services.audit import audit_record

TOKEN_PREFIX_LENGTH = 8
# A kiosk reports itself at most this often, so a busy door does not write on every scan.
LAST_SEEN_EVERY_SECONDS = 60


def token_hash(token: str) -> str:
    # The token is 256 random bits: a plain SHA-256 is enough (no password stretching needed).
    return hashlib.sha256(token.encode()).hexdigest()


def kiosk_create(*, actor, name: str, branch: Branch, room: Room | None = None) -> tuple[Kiosk, str]:
    """Create a kiosk; returns it and its token, which is never shown again."""
    if actor is not None and not actor.has_perm("core.add_kiosk"):
        raise PermissionDenied(_("You may not add kiosks."))
    if room is not None and room.branch_id != branch.pk:
        raise ValidationError({"room": _("The room must belong to the kiosk's branch.")})
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        kiosk = Kiosk.objects.create(
            name=name.strip(),
            branch=branch,
            room=room,
            token_hash=token_hash(token),
            token_prefix=token[:TOKEN_PREFIX_LENGTH],
        )
        audit_record(actor=actor, action=AuditLog.Action.CREATE, instance=kiosk, changes={"name": [None, kiosk.name]})
    return kiosk, token


def kiosk_revoke(*, actor, kiosk: Kiosk, reason: str = "") -> Kiosk:
    if actor is not None and not actor.has_perm("core.change_kiosk"):
        raise PermissionDenied(_("You may not revoke kiosks."))
    with transaction.atomic():
        locked = Kiosk.objects.select_for_update().get(pk=kiosk.pk)
        if locked.revoked_at is None:
            locked.is_active, locked.revoked_at = False, timezone.now()
            locked.save(update_fields=["is_active", "revoked_at"])
            audit_record(
                actor=actor,
                action=AuditLog.Action.UPDATE,
                instance=locked,
                changes={"active": [True, False]},
                reason=reason,
            )
    return locked


def kiosk_from_token(token: str) -> Kiosk | None:
    """The active kiosk a token belongs to; None for a wrong, revoked or missing token."""
    token = (token or "").strip()
    if not token or len(token) > 200:
        return None
    kiosk = (
        Kiosk.objects.filter(token_hash=token_hash(token), is_active=True, revoked_at__isnull=True)
        .select_related("branch", "room")
        .first()
    )
    if kiosk is not None:
        now = timezone.now()
        if kiosk.last_seen_at is None or (now - kiosk.last_seen_at).total_seconds() >= LAST_SEEN_EVERY_SECONDS:
            Kiosk.objects.filter(pk=kiosk.pk).update(last_seen_at=now)
            kiosk.last_seen_at = now
    return kiosk


def kiosk_scans_since(kiosk: Kiosk, since: datetime.datetime) -> int:
    """How many scans the server received from this kiosk since then (the endpoint's rate limit).

    Counted from the scan events, on their (kiosk, received_at) index; a plain statement rather
    than the ORM's count() because the endpoint asks on every scan.
    """
    table = connection.ops.quote_name(ScanEvent._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*) FROM {table} WHERE kiosk_id = %s AND received_at >= %s",  # noqa: S608
            [kiosk.pk, connection.ops.adapt_datetimefield_value(since)],
        )
        return cursor.fetchone()[0]
