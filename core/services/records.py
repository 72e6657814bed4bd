"""Saving plain reference records (branches, rooms, teachers, groups, settings) with an audit row."""

from django.db import models, transaction

from core.models import AuditLog
from core.normalize import name_clean, search_key
from core.ops.storage import uploads_written_first
from core.services.audit import audit_record, changes_between, snapshot


def _audited_fields(instance: models.Model) -> list[str]:
    return [
        field.name
        for field in instance._meta.concrete_fields
        if not field.primary_key and field.editable and field.name not in {"search_key", "updated_at", "created_at"}
    ]


def record_save(*, actor, instance: models.Model, before: dict | None = None) -> models.Model:
    """Validate and save a record; write a create/update audit row with the changed fields.

    ``before`` is the snapshot taken when the record was loaded (the admin passes the values
    from the database); without it the stored row is read again under a lock.
    """
    fields = _audited_fields(instance)
    with transaction.atomic():
        creating = instance._state.adding or instance.pk is None
        if before is None:
            stored = None if creating else type(instance).objects.select_for_update().filter(pk=instance.pk).first()
            before = snapshot(stored, fields) if stored is not None else {}
        if hasattr(instance, "search_key") and hasattr(instance, "full_name"):
            instance.full_name = name_clean(instance.full_name)
            instance.search_key = search_key(instance.full_name)  # derived: kept in step on every save
        instance.full_clean()
        # New uploads (the center's logo) are written before the row: a refused write raises
        # UploadFailed and this transaction keeps nothing (core/ops/storage.py).
        with uploads_written_first(instance):
            instance.save()
            diff = changes_between(before, snapshot(instance, fields))
            if diff or creating:
                audit_record(
                    actor=actor,
                    action=AuditLog.Action.CREATE if creating else AuditLog.Action.UPDATE,
                    instance=instance,
                    changes=diff,
                )
    return instance


def record_delete(*, actor, instance: models.Model) -> None:
    """Delete a reference record (the database refuses if history points at it) with an audit row."""
    fields = _audited_fields(instance)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=AuditLog.Action.DELETE,
            instance=instance,
            changes={name: [value, None] for name, value in snapshot(instance, fields).items()},
        )
        instance.delete()
