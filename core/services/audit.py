"""Audit rows, written by services inside their own transaction."""

from datetime import date, datetime, time
from decimal import Decimal

from django.db import models

from core.db import row_insert
from core.models import AuditLog


def _plain(value):
    """JSON-safe form of a field value (money stays an exact string, never a float)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, models.fields.files.FieldFile):
        return value.name or ""
    return value


def snapshot(instance: models.Model, fields: list[str]) -> dict:
    return {name: _plain(getattr(instance, name)) for name in fields}


def changes_between(before: dict, after: dict) -> dict:
    return {name: [before.get(name), after[name]] for name in after if before.get(name) != after[name]}


def audit_record(
    *, actor, action: str, instance: models.Model, changes: dict | None = None, reason: str = ""
) -> AuditLog:
    return row_insert(
        AuditLog(
            actor=actor if getattr(actor, "pk", None) else None,
            action=action,
            model=instance._meta.label_lower,
            object_id=str(instance.pk),
            object_repr=str(instance)[:200],
            changes=changes or {},
            reason=reason[:255],
        )
    )
