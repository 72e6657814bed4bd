"""Backups: the restore drill (demo center with photos → archive → empty database and storage → same
rows, same bytes), verification into a scratch database, retention, and the operators' commands."""

import datetime
import hashlib
import io
import zipfile
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import psycopg2
import pytest
from django.apps import apps
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, default_storage
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone, translation

from core.models import AuditLog, Backup, Enrollment, LedgerEntry, Student
from core.selectors.backups import last_verified_backup_at
from core.services import backups
from core.services.backup_archive import (
    EXCLUDED_MODELS,
    BackupError,
    archive_restore,
    database_alias,
    scratch_database,
    storage_names,
)
from core.services.ledger_balance import ledger_balances_check


@pytest.fixture
def storage_dirs(settings, tmp_path):
    """Uploads and backups on the local disk, each in a folder of its own for this test."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "media"},
        },
        "backups": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "backups"},
        },
    }
    return tmp_path


def photo_bytes(seed: int) -> bytes:
    # Not a real JPEG: the drill compares bytes, and arbitrary bytes (every value 0-255) prove more.
    return bytes((seed * 7 + index) % 256 for index in range(3000 + seed))


@pytest.fixture
def demo_center(storage_dirs, main_branch):
    call_command("demo_data", students=12, stdout=io.StringIO())
    for student in Student.objects.order_by("id")[:5]:
        student.photo.save(f"{student.code}.jpg", ContentFile(photo_bytes(student.pk)), save=True)
    default_storage.save("imports/2026/01/students.xlsx", ContentFile(b"PK\x03\x04 sheet"))
    return storage_dirs


@contextmanager
def empty_database():
    """A new, empty database of the same kind as the test database, under its own alias."""
    default = connections[DEFAULT_DB_ALIAS]
    if default.vendor == "sqlite":
        with scratch_database() as alias:
            yield alias
        return
    params = default.get_connection_params()
    name = f"{default.settings_dict['NAME']}_drill"
    admin = psycopg2.connect(**{**params, "dbname": "postgres"})
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
            cursor.execute(f'CREATE DATABASE "{name}"')
        with database_alias({**default.settings_dict, "NAME": name}) as alias:
            yield alias
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
    finally:
        admin.close()


def table_rows(model, using: str) -> list[tuple]:
    columns = [field.attname for field in model._meta.concrete_fields]
    return list(model._base_manager.using(using).order_by("pk").values_list(*columns))


def archive_path(backup: Backup, tmp_path: Path) -> Path:
    return backups.backup_archive_fetch(backup.name, tmp_path / "restore.zip")


def center_models() -> list:
    return [
        model
        for model in apps.get_models(include_auto_created=True)
        if model._meta.label_lower not in EXCLUDED_MODELS and model._meta.managed and not model._meta.proxy
    ]


def test_restore_drill_brings_back_every_row_and_every_file_byte(demo_center, owner, tmp_path):
    # What the center held when the backup was taken (taking it adds an audit row of its own).
    before = {model._meta.label_lower: table_rows(model, DEFAULT_DB_ALIAS) for model in center_models()}
    backup = backups.backup_create(actor=owner)
    assert backup.verification == Backup.Verification.PASSED, backup.verification_detail
    assert backup.row_counts["core.student"] == 12
    assert backup.file_count == 6
    path = archive_path(backup, tmp_path)
    restored_storage = FileSystemStorage(location=tmp_path / "restored-media")

    with empty_database() as target:
        manifest = archive_restore(path, storage=restored_storage, using=target)

        restored = {model._meta.label_lower: table_rows(model, target) for model in center_models()}
        assert set(restored) == set(manifest.tables)
        for label, rows in before.items():
            assert restored[label] == rows, label
        assert sum(len(rows) for rows in restored.values()) > 1000
        # The restored database is at the code's migration state and says so.
        assert call_command("migrate", "--check", database=target, verbosity=0) is None
        # What only a migration made is back too: the triggers keep each balance after a restore.
        enrollment = Enrollment.objects.using(target).order_by("pk").first()
        LedgerEntry.objects.using(target).create(
            enrollment=enrollment,
            entry_type="discount",
            amount=Decimal("1.00"),
            date=enrollment.start_date,
            source="desk",
        )
        assert ledger_balances_check(using=target) == []

    originals = sorted(storage_names(default_storage))
    assert sorted(storage_names(restored_storage)) == originals
    for name in originals:
        with default_storage.open(name, "rb") as original, restored_storage.open(name, "rb") as restored:
            assert restored.read() == original.read(), name


def test_backup_records_version_migrations_and_who_took_it_in_the_audit_log(demo_center, owner, tmp_path):
    backup = backups.backup_create(actor=owner, verify=False)
    with zipfile.ZipFile(archive_path(backup, tmp_path)) as archive:
        names = set(archive.namelist())
    assert {"manifest.json", "db/core.student.jsonl", "files/imports/2026/01/students.xlsx"} <= names
    assert "db/core.backup.jsonl" not in names
    assert backup.app_version == "0.1.0"
    assert ["core", "0015_backups"] in backup.migrations
    assert backup.verification == Backup.Verification.PENDING
    entry = AuditLog.objects.get(model="core.backup", object_id=str(backup.pk))
    assert (entry.actor, entry.action) == (owner, AuditLog.Action.CREATE)


def test_restore_refuses_a_database_that_holds_a_center_unless_forced(demo_center, owner, tmp_path):
    backup = backups.backup_create(actor=owner, verify=False)
    path = archive_path(backup, tmp_path)
    with translation.override("en"), pytest.raises(BackupError, match="already holds a center"):
        archive_restore(path, storage=FileSystemStorage(location=tmp_path / "empty"))


def test_restore_refuses_an_upload_storage_with_files(demo_center, owner, tmp_path):
    backup = backups.backup_create(actor=owner, verify=False)
    path = archive_path(backup, tmp_path)
    with (
        translation.override("en"),
        scratch_database() as target,
        pytest.raises(BackupError, match="upload storage already holds files"),
    ):
        archive_restore(path, storage=default_storage, using=target)


def test_verification_fails_when_the_stored_archive_was_altered(demo_center, owner, tmp_path):
    backup = backups.backup_create(actor=owner, verify=False)
    stored = Path(backups.backup_storage().path(backup.name))
    stored.write_bytes(stored.read_bytes()[:-200])

    verified = backups.backup_verify(backup_id=backup.pk)

    assert verified.verification == Backup.Verification.FAILED
    assert verified.verified_at is not None
    assert "checksum" in verified.verification_detail


def test_verification_fails_when_a_table_lost_a_row_in_the_archive(demo_center, owner, tmp_path):
    backup = backups.backup_create(actor=owner, verify=False)
    stored = Path(backups.backup_storage().path(backup.name))
    # Rewrite the archive with one audit row fewer than its manifest lists; the checksum follows.
    source = tmp_path / "original.zip"
    source.write_bytes(stored.read_bytes())
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(stored, "w") as altered:
        for info in original.infolist():
            data = original.read(info)
            if info.filename == "db/core.auditlog.jsonl":
                data = b"\n".join(data.splitlines()[:-1]) + b"\n"
            altered.writestr(info, data)
    Backup.objects.filter(pk=backup.pk).update(sha256=hashlib.sha256(stored.read_bytes()).hexdigest())

    verified = backups.backup_verify(backup_id=backup.pk)

    assert verified.verification == Backup.Verification.FAILED
    listed = backup.row_counts["core.auditlog"]
    assert f"core.auditlog: {listed} ≠ {listed - 1}" in verified.verification_detail


def make_backup(kind: str, when: datetime.datetime, name: str) -> Backup:
    backups.backup_storage().save(name, ContentFile(b"archive"))
    backup = Backup.objects.create(name=name, kind=kind, verification=Backup.Verification.PASSED)
    Backup.objects.filter(pk=backup.pk).update(created_at=when)
    return backup


def test_prune_keeps_n_daily_the_newest_of_m_months_and_every_manual_backup(storage_dirs, db):
    start = timezone.make_aware(datetime.datetime(2026, 1, 1, 3, 0))
    for day in range(100):  # 1 January to 10 April
        make_backup(Backup.Kind.DAILY, start + datetime.timedelta(days=day), f"daily-{day:03}.zip")
    make_backup(Backup.Kind.MANUAL, start, "manual.zip")

    deleted = backups.backup_prune(keep_daily=3, keep_monthly=2)

    kept = set(Backup.objects.values_list("name", flat=True))
    # 10 April back to 8 April (three daily), 31 March (the newest of March; April's is the 10th), manual.
    assert kept == {"daily-099.zip", "daily-098.zip", "daily-097.zip", "daily-089.zip", "manual.zip"}
    assert len(deleted) == 96
    assert sorted(storage_names(backups.backup_storage())) == sorted(kept)
    assert AuditLog.objects.filter(model="core.backup", action=AuditLog.Action.DELETE).count() == 96


def test_backup_create_command_writes_a_verified_backup(demo_center, capsys):
    call_command("backup_create")
    backup = Backup.objects.get()
    assert backup.kind == Backup.Kind.MANUAL
    assert backup.verification == Backup.Verification.PASSED
    assert backup.name in capsys.readouterr().out


def test_backup_before_migrate_is_skipped_on_a_database_without_tables(storage_dirs, db, capsys):
    with scratch_database() as empty:
        call_command("backup_before_migrate", database=empty)
    assert "skipped" in capsys.readouterr().out
    assert not Backup.objects.exists()


def test_backup_before_migrate_takes_a_release_backup(demo_center, capsys):
    call_command("backup_before_migrate")
    assert Backup.objects.get().kind == Backup.Kind.RELEASE


# The health checks run in a thread with its own connection: the rows must be committed.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_health_reports_the_age_of_the_last_verified_backup(client, storage_dirs):
    def backup_key() -> str:
        checks = client.get("/health/?format=json").json()
        return next(name for name in checks if name.startswith("LastVerifiedBackup"))

    assert backup_key() == "LastVerifiedBackup(age_seconds=None)"
    taken = make_backup(Backup.Kind.DAILY, timezone.now() - datetime.timedelta(hours=2), "daily.zip")
    make_backup(Backup.Kind.DAILY, timezone.now(), "failed.zip")
    Backup.objects.filter(name="failed.zip").update(verification=Backup.Verification.FAILED)

    assert last_verified_backup_at() == Backup.objects.get(pk=taken.pk).created_at
    age = int(backup_key().removeprefix("LastVerifiedBackup(age_seconds=").removesuffix(")"))
    assert 7190 <= age <= 7300
    assert client.get("/health/").status_code == 200
