"""Changing a kiosk after it was made: a new name, or another room of the same branch.

The token does not change, so the tablet stays paired. The branch is fixed: it decides which
students the token may admit, and moving a tablet to another branch is a new kiosk.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from core.models import AuditLog, Kiosk, Room
from core.services.audit import audit_record


def kiosk_update(*, actor, kiosk: Kiosk, name: str, room: Room | None) -> Kiosk:
    """Rename the kiosk and/or move it to another room of its branch (None: any room); audited."""
    if actor is not None and not actor.has_perm("core.change_kiosk"):
        raise PermissionDenied(_("You may not change kiosks."))
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("Give the kiosk a name.")})
    with transaction.atomic():
        locked = Kiosk.objects.select_for_update().get(pk=kiosk.pk)
        if locked.revoked_at is not None:
            raise ValidationError(_("This kiosk was revoked; it cannot be changed."))
        if room is not None and room.branch_id != locked.branch_id:
            raise ValidationError({"room": _("The room must belong to the kiosk's branch.")})
        if name != locked.name and Kiosk.objects.filter(branch_id=locked.branch_id, name=name).exists():
            raise ValidationError({"name": _("This branch already has a kiosk with this name.")})
        changes = {}
        if name != locked.name:
            changes["name"] = [locked.name, name]
        if (room.pk if room else None) != locked.room_id:
            changes["room"] = [str(locked.room) if locked.room_id else None, str(room) if room else None]
        if changes:
            locked.name, locked.room = name, room
            locked.save(update_fields=["name", "room"])
            audit_record(actor=actor, action=AuditLog.Action.UPDATE, instance=locked, changes=changes)
    return locked
