"""Reads about backups, shared by the backups page, /health/ and /metrics."""

from datetime import datetime

from django.utils import timezone

from core.models import Backup


def last_verified_backup_at() -> datetime | None:
    """When the newest backup that restored and matched was taken; None when there is none."""
    return (
        Backup.objects.filter(verification=Backup.Verification.PASSED)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )


def last_verified_backup_age_seconds() -> float | None:
    taken = last_verified_backup_at()
    return None if taken is None else (timezone.now() - taken).total_seconds()
