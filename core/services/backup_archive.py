"""The backup archive: the whole center (every table's rows and every uploaded file) in one zip.

Layout of an archive::

    manifest.json               format, app version, migrations applied, rows per table, files
    db/<app_label.model>.jsonl  one table: a header line (column names), then one JSON list per row
    files/<storage name>        each uploaded file, byte for byte

Why our own streaming format rather than django-dbbackup (see bench/README.md for figures):
django-dbbackup shells out to ``pg_dump``/``psql`` (client binaries that must match the server's
major version and are not on every PaaS dyno) and its output restores only into the same kind of
database; its media backup is a separate archive. Here every table is read with a server-side
cursor in chunks (``.iterator(chunk_size=...)``), so memory stays flat whatever the size of the
center, and the rows are written as portable values, so a PostgreSQL backup restores into SQLite
(that is how every backup is verified: into a scratch SQLite file, no second PostgreSQL database
needed) and the other way round.

Rows are read and written with the *historical* models of the migrations applied to the database
(the release step backs up before migrating, when the code is already newer than the tables). A
restore builds that schema, loads the rows, records those migrations, then ``migrate`` brings the
database forward to the code.
"""

import base64
import datetime
import decimal
import hashlib
import io
import json
import logging
import posixpath
import shutil
import tempfile
import tomllib
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import Storage
from django.core.management import call_command
from django.core.management.color import no_style
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.db.utils import load_backend
from django.utils import timezone
from django.utils.duration import duration_iso_string
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

FORMAT = "syseducore-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
CHUNK_ROWS = 2000
COPY_BUFFER = 1024 * 1024
# Not part of the center: logins in progress, the task queue's pending messages (replayed
# they would send twice) and the list of backups itself (it describes the storage, not the center).
EXCLUDED_MODELS = frozenset({"sessions.session", "django_q.ormq", "core.backup"})
# Tables that say whether a database already holds a center (restore refuses to overwrite one).
CENTER_DATA_MODELS = ("core.student", "core.teacher", "core.group", "core.receipt", "core.ledgerentry")


class BackupError(Exception):
    """The archive cannot be written, read or restored; the message says why."""


@dataclass
class Manifest:
    app_version: str
    created_at: str
    database_vendor: str
    migrations: list[list[str]]
    tables: dict[str, int] = field(default_factory=dict)
    files: list[dict] = field(default_factory=list)

    def as_json(self) -> bytes:
        return json.dumps(
            {"format": FORMAT, "format_version": FORMAT_VERSION, **self.__dict__}, ensure_ascii=False, indent=1
        ).encode()

    @classmethod
    def from_archive(cls, archive: zipfile.ZipFile) -> "Manifest":
        try:
            data = json.loads(archive.read(MANIFEST))
        except KeyError as exc:
            raise BackupError(_("This file is not a SYSeducore backup (it has no manifest).")) from exc
        if data.get("format") != FORMAT or data.get("format_version") != FORMAT_VERSION:
            raise BackupError(_("This file is not a SYSeducore backup this version can read."))
        return cls(**{name: data[name] for name in cls.__dataclass_fields__})


@cache
def app_version() -> str:
    """The version in pyproject.toml, written into every archive."""
    with open(Path(settings.BASE_DIR) / "pyproject.toml", "rb") as handle:
        return tomllib.load(handle)["project"]["version"]


# --- Values: portable JSON, read back with each field's own to_python --------------------------


def _encode(value):
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return duration_iso_string(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


def _decode(model_field, value):
    if value is None:
        return None
    return model_field.to_python(value)


# --- The schema of a migration state -------------------------------------------------------------


def migrations_applied(using: str = DEFAULT_DB_ALIAS) -> list[list[str]]:
    recorder = MigrationRecorder(connections[using])
    if not recorder.has_table():
        return []
    return sorted([app, name] for app, name in recorder.applied_migrations())


def _state_models(migrations: list[list[str]], using: str) -> list:
    """The historical models of the tables those migrations made, in a stable order."""
    loader = MigrationLoader(connections[using], ignore_no_migrations=True)
    nodes = [tuple(node) for node in migrations]
    unknown = [node for node in nodes if node not in loader.graph.nodes]
    if unknown:
        raise BackupError(
            _(
                "The backup was made by a newer version of the app (it has migration %(name)s): deploy that version first."
            )
            % {"name": ".".join(unknown[0])}
        )
    state_apps = loader.graph.make_state(nodes=nodes, at_end=True, real_apps=loader.unmigrated_apps).apps
    models = [
        model
        for model in state_apps.get_models(include_auto_created=True)
        if model._meta.managed
        and not model._meta.proxy
        and not model._meta.swapped
        and model._meta.label_lower not in EXCLUDED_MODELS
    ]
    return sorted(models, key=lambda model: model._meta.label_lower)


# --- Writing ---------------------------------------------------------------------------------------


def storage_names(storage: Storage, path: str = "") -> Iterator[str]:
    """Every file name in a storage, walking its folders."""
    try:
        directories, files = storage.listdir(path)
    except FileNotFoundError:  # a local storage whose folder was never created: no uploads yet
        return
    for name in sorted(files):
        yield posixpath.join(path, name) if path else name
    for directory in sorted(directories):
        yield from storage_names(storage, posixpath.join(path, directory) if path else directory)


@contextmanager
def _snapshot(using: str):
    """One consistent view of every table while they are read one after the other."""
    connection = connections[using]
    if connection.in_atomic_block:  # already inside a transaction (a test): that is the snapshot
        yield
        return
    with transaction.atomic(using=using):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def _table_write(archive: zipfile.ZipFile, model, using: str) -> int:
    fields = model._meta.concrete_fields
    columns = [model_field.attname for model_field in fields]
    rows = model._base_manager.using(using).order_by(model._meta.pk.attname).values_list(*columns)
    count = 0
    with archive.open(f"db/{model._meta.label_lower}.jsonl", "w", force_zip64=True) as member:
        member.write(json.dumps(columns).encode() + b"\n")
        lines = []
        for row in rows.iterator(chunk_size=CHUNK_ROWS):
            lines.append(json.dumps([_encode(value) for value in row], ensure_ascii=False, separators=(",", ":")))
            if len(lines) == CHUNK_ROWS:
                member.write(("\n".join(lines) + "\n").encode())
                count += len(lines)
                lines = []
        if lines:
            member.write(("\n".join(lines) + "\n").encode())
            count += len(lines)
    return count


def _file_write(archive: zipfile.ZipFile, storage: Storage, name: str) -> dict:
    digest = hashlib.sha256()
    size = 0
    info = zipfile.ZipInfo(f"files/{name}", date_time=timezone.localtime().timetuple()[:6])
    info.compress_type = zipfile.ZIP_STORED  # photos and spreadsheets are compressed already
    with storage.open(name, "rb") as source, archive.open(info, "w", force_zip64=True) as member:
        while chunk := source.read(COPY_BUFFER):
            digest.update(chunk)
            size += len(chunk)
            member.write(chunk)
    return {"name": name, "size": size, "sha256": digest.hexdigest()}


def archive_write(path: Path, *, storage: Storage, using: str = DEFAULT_DB_ALIAS) -> Manifest:
    """Write the whole center (database ``using`` and the uploads in ``storage``) to ``path``."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6, allowZip64=True) as archive:
        with _snapshot(using):
            migrations = migrations_applied(using)
            if not migrations:
                raise BackupError(_("The database has no tables yet: there is nothing to back up."))
            manifest = Manifest(
                app_version=app_version(),
                created_at=timezone.now().isoformat(),
                database_vendor=connections[using].vendor,
                migrations=migrations,
            )
            for model in _state_models(migrations, using):
                manifest.tables[model._meta.label_lower] = _table_write(archive, model, using)
        # Uploads are only ever added (new names), so reading them after the rows is consistent.
        manifest.files = [_file_write(archive, storage, name) for name in storage_names(storage)]
        archive.writestr(MANIFEST, manifest.as_json())
    return manifest


# --- Reading and restoring ---------------------------------------------------------------------------


def _rows(archive: zipfile.ZipFile, label: str) -> Iterator[tuple[list[str], list]]:
    with archive.open(f"db/{label}.jsonl") as member:
        lines = io.TextIOWrapper(member, encoding="utf-8")
        columns = json.loads(lines.readline())
        for line in lines:
            yield columns, json.loads(line)


def _table_load(archive: zipfile.ZipFile, model, using: str) -> int:
    """Insert a table's rows as they were (ids, times), CHUNK_ROWS at a time with executemany."""
    connection = connections[using]
    by_attname = {model_field.attname: model_field for model_field in model._meta.concrete_fields}
    count, batch, statement, fields = 0, [], None, []
    with connection.cursor() as cursor:
        for columns, values in _rows(archive, model._meta.label_lower):
            if statement is None:
                missing = [column for column in columns if column not in by_attname]
                if missing:
                    raise BackupError(f"{model._meta.label_lower}: the archive has columns the schema lacks: {missing}")
                fields = [by_attname[column] for column in columns]
                quote = connection.ops.quote_name
                statement = (
                    f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(field.column) for field in fields)})"  # noqa: S608
                    f" VALUES ({', '.join(['%s'] * len(fields))})"
                )
            batch.append(
                [
                    model_field.get_db_prep_save(_decode(model_field, value), connection)
                    for model_field, value in zip(fields, values, strict=True)
                ]
            )
            if len(batch) == CHUNK_ROWS:
                cursor.executemany(statement, batch)
                count += len(batch)
                batch = []
        if batch:
            cursor.executemany(statement, batch)
            count += len(batch)
    return count


def database_has_center_data(using: str = DEFAULT_DB_ALIAS) -> bool:
    """Whether the database already holds a center's students, teachers, groups or money."""
    from django.apps import apps

    connection = connections[using]
    existing = set(connection.introspection.table_names())
    with connection.cursor() as cursor:
        for label in CENTER_DATA_MODELS:
            table = apps.get_model(label)._meta.db_table
            if table in existing:
                cursor.execute(f"SELECT 1 FROM {connection.ops.quote_name(table)} LIMIT 1")  # noqa: S608
                if cursor.fetchone():
                    return True
    return False


def _tables_drop(editor, using: str, archive_models: list) -> None:
    """Drop our tables (those of the code and those of the archive), leaving any other table alone."""
    from django.apps import apps

    connection = connections[using]
    existing = set(connection.introspection.table_names())
    ours = {model._meta.db_table for model in apps.get_models(include_auto_created=True)}
    ours |= {model._meta.db_table for model in archive_models}
    ours.add(MigrationRecorder.Migration._meta.db_table)
    cascade = " CASCADE" if connection.vendor == "postgresql" else ""
    for table in sorted(ours & existing):
        editor.execute(f"DROP TABLE {connection.ops.quote_name(table)}{cascade}")


def _schema_load(archive: zipfile.ZipFile, manifest: Manifest, using: str) -> dict[str, int]:
    """Replace the database's tables with the archive's schema and rows, in one transaction."""
    connection = connections[using]
    models = _state_models(manifest.migrations, using)
    counts = {}
    # The schema editor opens the transaction (and, on SQLite, turns foreign-key checks off until
    # the end, then checks every row); indexes and foreign keys are added after the rows are in.
    with connection.schema_editor(atomic=True) as editor:
        _tables_drop(editor, using, models)
        editor.create_model(MigrationRecorder.Migration)
        for model in models:
            if not model._meta.auto_created:  # a model creates its own many-to-many tables
                editor.create_model(model)
        for model in models:
            counts[model._meta.label_lower] = _table_load(archive, model, using)
        MigrationRecorder.Migration.objects.using(using).bulk_create(
            [MigrationRecorder.Migration(app=app, name=name) for app, name in manifest.migrations]
        )
        for statement in connection.ops.sequence_reset_sql(no_style(), models):
            editor.execute(statement)
    return counts


def _files_restore(archive: zipfile.ZipFile, manifest: Manifest, storage: Storage) -> None:
    for entry in manifest.files:
        name = entry["name"]
        if storage.exists(name):
            storage.delete(name)
        with archive.open(f"files/{name}") as member, tempfile.SpooledTemporaryFile(8 * 1024 * 1024) as spool:
            shutil.copyfileobj(member, spool, COPY_BUFFER)
            spool.seek(0)
            saved = storage.save(name, File(spool, name=posixpath.basename(name)))
        if saved != name:
            raise BackupError(f"{name} was stored as {saved}")


def archive_restore(
    path: Path, *, storage: Storage, using: str = DEFAULT_DB_ALIAS, force: bool = False, migrate_forward: bool = True
) -> Manifest:
    """Restore an archive into database ``using`` and ``storage``: the restored center replaces theirs.

    Refuses a database that already holds a center, or a storage with files, unless ``force``.
    """
    with zipfile.ZipFile(path) as archive:
        manifest = Manifest.from_archive(archive)
        if not force:
            if database_has_center_data(using):
                raise BackupError(
                    _(
                        "The database already holds a center. Restore into an empty deployment, or pass --force to replace it."
                    )
                )
            if next(storage_names(storage), None) is not None:
                raise BackupError(
                    _(
                        "The upload storage already holds files. Restore into an empty deployment, or pass --force to replace them."
                    )
                )
        counts = _schema_load(archive, manifest, using)
        if counts != manifest.tables:
            raise BackupError(f"rows restored differ from the manifest: {_count_differences(manifest.tables, counts)}")
        # The schema comes from the models, not the migrations: put back what only a migration
        # made (the triggers that keep each enrollment's balance; the restored balances are right).
        from core.services.ledger_balance import ledger_balance_triggers_install

        ledger_balance_triggers_install(using=using)
        _files_restore(archive, manifest, storage)
    if migrate_forward:
        call_command("migrate", database=using, interactive=False, verbosity=0)
        call_command("createcachetable", database=using, verbosity=0)
    return manifest


def _count_differences(expected: dict[str, int], found: dict[str, int]) -> str:
    labels = sorted(set(expected) | set(found))
    return ", ".join(
        f"{label}: {expected.get(label)} ≠ {found.get(label)}"
        for label in labels
        if expected.get(label) != found.get(label)
    )


# --- Verification: restore into a scratch SQLite database and compare --------------------------------


@contextmanager
def database_alias(settings_dict: dict) -> Iterator[str]:
    """A connection to another database under a fresh alias, for this thread, closed afterwards.

    The connection is not added to settings.DATABASES: it exists only while the block runs.
    """
    alias = f"backup_{uuid.uuid4().hex[:8]}"
    configured = connections.configure_settings({DEFAULT_DB_ALIAS: dict(settings_dict)})[DEFAULT_DB_ALIAS]
    connections[alias] = load_backend(configured["ENGINE"]).DatabaseWrapper(configured, alias)
    try:
        yield alias
    finally:
        connections[alias].close()
        del connections[alias]


@contextmanager
def scratch_database() -> Iterator[str]:
    """A temporary SQLite database under a fresh connection alias; removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="syseducore-verify-") as directory:
        engine = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(Path(directory) / "scratch.sqlite3")}
        with database_alias(engine) as alias:
            yield alias


@dataclass
class Verification:
    passed: bool
    detail: str
    counts: dict[str, int]


def archive_verify(path: Path) -> Verification:
    """Restore ``path`` into a scratch database, count every table, check every file's bytes."""
    with zipfile.ZipFile(path) as archive:
        manifest = Manifest.from_archive(archive)
        problems = []
        with scratch_database() as alias:
            _schema_load(archive, manifest, alias)
            counts = {}
            for model in _state_models(manifest.migrations, alias):
                counts[model._meta.label_lower] = model._base_manager.using(alias).count()
        if counts != manifest.tables:
            problems.append(_count_differences(manifest.tables, counts))
        for entry in manifest.files:
            digest = hashlib.sha256()
            with archive.open(f"files/{entry['name']}") as member:
                while chunk := member.read(COPY_BUFFER):
                    digest.update(chunk)
            if digest.hexdigest() != entry["sha256"]:
                problems.append(f"{entry['name']}: bytes differ")
    if problems:
        return Verification(passed=False, detail="; ".join(problems), counts=counts)
    detail = _("%(rows)s rows in %(tables)s tables and %(files)s files restored and matched.") % {
        "rows": sum(counts.values()),
        "tables": len(counts),
        "files": len(manifest.files),
    }
    return Verification(passed=True, detail=detail, counts=counts)
