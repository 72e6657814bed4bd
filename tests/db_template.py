"""The test database: migrated once into a template, then copied for each pytest worker.

pytest-django migrates a fresh database in every xdist worker on every run (about 10 s each).
Here the first worker to arrive migrates a *template* under a file lock; every worker then
copies it (SQLite: the file; PostgreSQL: ``CREATE DATABASE … TEMPLATE``), which takes well under
a second. The template's name carries a fingerprint of every migration file (ours and the
installed apps'), the role table (synchronised after migrate) and the cache settings, so a new
or edited migration builds a new template and a stale one is never used. ``--create-db``
rebuilds it. The data the migrations made (roles, default branch, message templates) is in the
template, and serialized for the tests that flush the database (serialized_rollback=True).
"""

import contextlib
import fcntl
import hashlib
import os
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def fingerprint() -> str:
    digest = hashlib.sha256()
    for app_config in apps.get_app_configs():
        for path in sorted(Path(app_config.path).glob("migrations/*.py")):
            digest.update(f"{app_config.label}/{path.name}".encode())
            digest.update(path.read_bytes())
    digest.update((ROOT / "core" / "access" / "roles.py").read_bytes())
    digest.update(repr(sorted(settings.CACHES["default"].items())).encode())
    digest.update(connection.vendor.encode())
    return digest.hexdigest()[:10]


@contextlib.contextmanager
def locked(name: str):
    # One lock per database server kind on this machine: concurrent runs (and the workers of
    # one run) build a template one at a time and never copy one that is being built.
    lock_path = Path(tempfile.gettempdir()) / f"syseducore-test-template-{name}.lock"
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _build(template_name: str, building_name: str) -> None:
    """Migrate a database named building_name and only then give it the template's name, so
    a template that exists is always a complete one."""
    connection.settings_dict["TEST"] = {**connection.settings_dict.get("TEST", {}), "NAME": building_name}
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False, keepdb=False)
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.close()
        os.replace(building_name, template_name)
        return
    connection.close()
    with connection.creation._nodb_cursor() as cursor:
        cursor.execute(f'ALTER DATABASE "{building_name}" RENAME TO "{template_name}"')


def _template_exists(template_name: str) -> bool:
    if connection.vendor == "sqlite":
        return Path(template_name).exists()
    with connection.creation._nodb_cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [template_name])
        return cursor.fetchone() is not None


STALE_AFTER = 86_400  # seconds without use before another checkout's template is dropped


def _templates(prefix: str) -> dict[str, float]:
    """Every template on this machine or server, with when a run last copied it (not the
    workers' copies, not a half-built one)."""
    exact = re.compile(re.escape(Path(prefix).name) + r"[0-9a-f]{10}(\.sqlite3)?")
    if connection.vendor == "sqlite":
        folder = Path(prefix).parent
        return {str(path): path.stat().st_mtime for path in folder.iterdir() if exact.fullmatch(path.name)}
    with connection.creation._nodb_cursor() as cursor:
        cursor.execute("SELECT datname, shobj_description(oid, 'pg_database') FROM pg_database")
        return {name: float(used or 0) for name, used in cursor.fetchall() if exact.fullmatch(name)}


def _mark_used(template_name: str) -> None:
    if connection.vendor == "sqlite":
        os.utime(template_name)
        return
    with connection.creation._nodb_cursor() as cursor:
        cursor.execute(f"COMMENT ON DATABASE \"{template_name}\" IS '{time.time():.0f}'")


def _drop_orphans(prefix: str) -> None:
    """SQLite copies left by a run that was killed before its teardown (its process is gone)."""
    if connection.vendor != "sqlite":
        return  # PostgreSQL copies are named per worker and replaced by the next run
    for path in Path(prefix).parent.glob(f"{Path(prefix).name}*_*_*.sqlite3"):
        pid = path.stem.rsplit("_", 1)[-1]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            _drop(str(path))


def _drop(name: str) -> None:
    if connection.vendor == "sqlite":
        for path in (name, f"{name}-wal", f"{name}-shm"):
            Path(path).unlink(missing_ok=True)
        return
    with connection.creation._nodb_cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def worker_database(config, *, rebuild: bool = False) -> Callable[[], None]:
    """Point the default connection at this worker's copy of the template; return its dropper."""
    worker = getattr(config, "workerinput", {}).get("workerid", "main")
    stamp = fingerprint()
    if connection.vendor == "sqlite":
        prefix = str(Path(tempfile.gettempdir()) / "syseducore-test-template-")
        template_name = f"{prefix}{stamp}.sqlite3"
        building_name = f"{prefix}{stamp}-building-{os.getpid()}.sqlite3"
        # Several runs may share a template, never a copy: the copy's name has this process's id.
        suffix = f"{worker}_{os.getpid()}"
    else:
        prefix = f"test_{settings.DATABASES['default']['NAME']}_tpl_"
        template_name = f"{prefix}{stamp}"
        building_name = f"{template_name}_building"
        suffix = worker
    with locked(connection.vendor):
        _drop_orphans(prefix)
        for name, used in _templates(prefix).items():
            # Another checkout's template stays while it is in use; this one goes on --create-db.
            if (name == template_name and rebuild) or (name != template_name and time.time() - used > STALE_AFTER):
                _drop(name)
        if template_name not in _templates(prefix):
            _build(template_name, building_name)
        _mark_used(template_name)
        connection.settings_dict["NAME"] = template_name
        connection.creation.clone_test_db(suffix=suffix, verbosity=0, keepdb=False)
    copy_name = connection.creation.get_test_db_clone_settings(suffix)["NAME"]
    connection.close()
    connection.settings_dict["NAME"] = copy_name
    settings.DATABASES["default"]["NAME"] = copy_name
    # What a transactional test with serialized_rollback=True puts back after its flush.
    connection._test_serialized_contents = connection.creation.serialize_db_to_string()

    def drop() -> None:
        connection.close()
        _drop(copy_name)

    return drop
