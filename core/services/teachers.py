"""Teacher operations that are not plain admin edits."""

from django.db import transaction

from core.models import AuditLog, Teacher
from core.services.audit import audit_record


def teacher_card_revoke(*, actor, teacher: Teacher, reason: str = "") -> Teacher:
    """Revoke every printed card of the teacher: the next card printed is the only valid one."""
    with transaction.atomic():
        locked = Teacher.objects.select_for_update().get(pk=teacher.pk)
        before = locked.card_version
        locked.card_version = before + 1
        locked.save(update_fields=["card_version"])
        audit_record(
            actor=actor,
            action=AuditLog.Action.UPDATE,
            instance=locked,
            changes={"card_version": [before, locked.card_version]},
            reason=reason,
        )
    teacher.card_version = locked.card_version
    return locked
