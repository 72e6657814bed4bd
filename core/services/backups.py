"""Backups of the whole center: take one, verify it, prune old ones, restore one.

The archive format lives in core/services/backup_archive.py; these functions keep the list of
backups (core.models.Backup), the "backups" storage (local disk, or S3-compatible object storage
when configured) and the audit trail. Restoring is an operator's command (``backup_restore``),
documented in the README's "Restore a center".
"""

import json
import logging
import tempfile
import zipfile
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage, storages
from django.db import DEFAULT_DB_ALIAS, DatabaseError, IntegrityError, transaction
from django.utils import timezone

from core.models import AuditLog, Backup
from core.services.audit import audit_record
from core.services.backup_archive import (
    BackupError,
    Manifest,
    archive_restore,
    archive_verify,
    archive_write,
)

logger = logging.getLogger(__name__)

BACKUPS_STORAGE = "backups"
# What a broken archive can raise while it is read back.
ARCHIVE_READ_ERRORS = (BackupError, zipfile.BadZipFile, DatabaseError, ValueError, KeyError, json.JSONDecodeError)


def backup_storage():
    return storages[BACKUPS_STORAGE]


def _archive_name(kind: str, now: datetime) -> str:
    return f"syseducore-{timezone.localtime(now):%Y%m%d-%H%M%S}-{kind}.zip"


def _sha256(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def backup_create(*, kind: str = Backup.Kind.MANUAL, actor=None, verify: bool = True) -> Backup:
    """Write an archive of the center to the backups storage, list it, and (by default) verify it."""
    now = timezone.now()
    with tempfile.TemporaryDirectory(prefix="syseducore-backup-") as directory:
        path = Path(directory) / _archive_name(kind, now)
        manifest = archive_write(path, storage=default_storage)
        size, checksum = path.stat().st_size, _sha256(path)
        with open(path, "rb") as handle:
            name = backup_storage().save(path.name, File(handle, name=path.name))
    with transaction.atomic():
        backup = Backup.objects.create(
            name=name,
            size=size,
            sha256=checksum,
            created_by=actor if getattr(actor, "pk", None) else None,
            kind=kind,
            app_version=manifest.app_version,
            migrations=manifest.migrations,
            row_counts=manifest.tables,
            file_count=len(manifest.files),
        )
        audit_record(
            actor=actor,
            action=AuditLog.Action.CREATE,
            instance=backup,
            changes={"kind": [None, kind], "size": [None, size], "rows": [None, backup.total_rows]},
        )
    logger.info("backup written: %s (%s bytes, %s rows, %s files)", name, size, backup.total_rows, backup.file_count)
    if verify:
        backup = backup_verify(backup_id=backup.pk)
    return backup


def backup_verify(*, backup_id: int) -> Backup:
    """Restore a listed backup into a scratch database; record whether every count and file matched."""
    backup = Backup.objects.get(pk=backup_id)
    with tempfile.TemporaryDirectory(prefix="syseducore-verify-") as directory:
        path = Path(directory) / "archive.zip"
        try:
            with backup_storage().open(backup.name, "rb") as source, open(path, "wb") as target:
                while chunk := source.read(1024 * 1024):
                    target.write(chunk)
        except FileNotFoundError:
            passed, detail, counts = False, "the archive is missing from the backups storage", {}
        else:
            if backup.sha256 and _sha256(path) != backup.sha256:
                passed, detail, counts = False, "the archive's checksum changed since it was written", {}
            else:
                try:
                    result = archive_verify(path)
                except ARCHIVE_READ_ERRORS as error:
                    passed, detail, counts = False, f"{type(error).__name__}: {error}", {}
                else:
                    passed, detail, counts = result.passed, result.detail, result.counts
    if passed and counts != backup.row_counts:
        passed, detail = False, "the restored rows differ from the rows listed when the backup was taken"
    with transaction.atomic():
        backup = Backup.objects.select_for_update().get(pk=backup_id)
        backup.verification = Backup.Verification.PASSED if passed else Backup.Verification.FAILED
        backup.verified_at = timezone.now()
        backup.verification_detail = detail
        backup.save(update_fields=["verification", "verified_at", "verification_detail"])
    (logger.info if passed else logger.error)(
        "backup verification %s: %s: %s", backup.verification, backup.name, detail
    )
    return backup


def _retained(backups: list[Backup], keep_daily: int, keep_monthly: int) -> set[int]:
    """Ids to keep: manual ones always; the newest ``keep_daily`` of each automatic kind; and the
    newest backup of each of the last ``keep_monthly`` months (Cairo months)."""
    keep = {backup.pk for backup in backups if backup.kind == Backup.Kind.MANUAL}
    newest_first = sorted(backups, key=lambda backup: (backup.created_at, backup.pk), reverse=True)
    for kind in (Backup.Kind.DAILY, Backup.Kind.RELEASE):
        keep |= {backup.pk for backup in [b for b in newest_first if b.kind == kind][:keep_daily]}
    months_seen: list[tuple[int, int]] = []
    for backup in newest_first:
        if backup.kind == Backup.Kind.MANUAL or backup.verification == Backup.Verification.FAILED:
            continue
        local = timezone.localtime(backup.created_at)
        month = (local.year, local.month)
        if month not in months_seen:
            if len(months_seen) == keep_monthly:
                break
            months_seen.append(month)
            keep.add(backup.pk)
    return keep


def backup_prune(*, keep_daily: int | None = None, keep_monthly: int | None = None) -> list[str]:
    """Delete automatic backups beyond the retention (settings BACKUP_KEEP_DAILY / _MONTHLY)."""
    keep_daily = settings.BACKUP_KEEP_DAILY if keep_daily is None else keep_daily
    keep_monthly = settings.BACKUP_KEEP_MONTHLY if keep_monthly is None else keep_monthly
    deleted = []
    with transaction.atomic():
        backups = list(Backup.objects.select_for_update().order_by("created_at", "id"))
        keep = _retained(backups, keep_daily, keep_monthly)
        for backup in backups:
            if backup.pk in keep:
                continue
            audit_record(actor=None, action=AuditLog.Action.DELETE, instance=backup, reason="retention")
            backup.delete()
            deleted.append(backup.name)
    # Files go after the rows are gone for good: a failed commit leaves files, never dangling rows.
    for name in deleted:
        backup_storage().delete(name)
        logger.info("backup pruned: %s", name)
    return deleted


def backup_request(*, actor) -> None:
    """The owner's "back up now": the worker takes the backup (minutes for a big center), verifies
    and audits it under the owner's name."""
    from django_q.tasks import async_task

    transaction.on_commit(lambda: async_task("core.tasks.backup_now", actor.pk, group="backups"))


def backup_verify_queue(backup: Backup) -> None:
    """Verify a backup in a task of its own: writing and verifying a big center's archive each take
    minutes (bench/backup.py: 135 s and 190 s at 1.2 million rows), and one task doing both would
    outlive the worker's time limit (``Q_CLUSTER['timeout']``) and be killed."""
    from django_q.tasks import async_task

    transaction.on_commit(lambda: async_task("core.tasks.backup_verify", backup.pk, group="backups"))


def backup_daily() -> Backup:
    """The scheduled job: take a daily backup, queue its verification, then apply the retention."""
    backup = backup_create(kind=Backup.Kind.DAILY, verify=False)
    backup_verify_queue(backup)
    backup_prune()
    return backup


def backup_restore(*, archive: Path, force: bool = False, using: str = DEFAULT_DB_ALIAS) -> Manifest:
    """Restore an archive file into this deployment's database and upload storage (operators only)."""
    try:
        return archive_restore(archive, storage=default_storage, using=using, force=force)
    except IntegrityError as error:
        raise BackupError(f"the archive's rows do not fit together: {error}") from error


def backup_archive_fetch(name: str, target: Path) -> Path:
    """Copy a listed archive from the backups storage to a local file (restore needs to seek)."""
    with backup_storage().open(name, "rb") as source, open(target, "wb") as handle:
        while chunk := source.read(1024 * 1024):
            handle.write(chunk)
    return target
