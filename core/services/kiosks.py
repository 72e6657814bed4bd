"""Kiosk devices: created with a token shown once, stored as a hash, revocable (SPEC.md §2 Kiosk)."""

import datetime
import hashlib
import secrets

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
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


def kiosk_from_token(token: str, *, count_scans_since: datetime.datetime | None = None) -> Kiosk | None:
    """The active kiosk a token belongs to; None for a wrong, revoked or missing token.

    With ``count_scans_since`` the kiosk comes with ``recent_scans``: how many scans the server
    received from it since then (the endpoint's rate limit), in the same query.
    """
    token = (token or "").strip()
    if not token or len(token) > 200:
        return None
    kiosks = Kiosk.objects.filter(token_hash=token_hash(token), is_active=True, revoked_at__isnull=True)
    if count_scans_since is not None:
        recent = (
            ScanEvent.objects.filter(kiosk_id=OuterRef("pk"), received_at__gte=count_scans_since)
            .order_by()
            .values("kiosk_id")
            .annotate(scans=Count("pk"))
            .values("scans")
        )
        kiosks = kiosks.annotate(recent_scans=Coalesce(Subquery(recent), 0))
    kiosk = kiosks.first()
    if kiosk is not None:
        now = timezone.now()
        if kiosk.last_seen_at is None or (now - kiosk.last_seen_at).total_seconds() >= LAST_SEEN_EVERY_SECONDS:
            Kiosk.objects.filter(pk=kiosk.pk).update(last_seen_at=now)
            kiosk.last_seen_at = now
    return kiosk
