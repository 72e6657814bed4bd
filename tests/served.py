"""Real processes for operations tests: gunicorn and manage.py under production settings,
a PostgreSQL database of their own, and a TCP relay that can cut the database off."""

import contextlib
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg2
import pytest

from tests.db_template import fingerprint, locked

ROOT = Path(__file__).resolve().parent.parent
# The PostgreSQL server the served processes use (each test module makes its own database).
POSTGRES_SERVER = os.environ.get("TEST_POSTGRES_SERVER", "postgres://postgres@127.0.0.1:5432")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def production_env(database_url: str, media_root: Path, **overrides: str) -> dict[str, str]:
    """The environment a PaaS gives the app: production settings, nothing from the test run."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL", "METRICS_TOKEN"}
        and not key.startswith(("PYTEST", "PROMETHEUS"))
    }
    env.update(
        APP_ENV="production",
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(45)[:60],
        # The probe below sends Host: 127.0.0.1:<port>, which is deliberately not listed.
        ALLOWED_HOSTS="center.example.com",
        DATABASE_URL=database_url,
        MEDIA_ROOT=str(media_root),
        WEB_CONCURRENCY="2",
    )
    env.update(overrides)
    return env


def manage(env: dict[str, str], *args: str, timeout: int = 180) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def migrate(env: dict[str, str]) -> None:
    """``manage.py migrate`` for the served process's database. A SQLite file gets a copy of a
    file that one ``manage.py migrate`` under production settings made earlier (one per
    fingerprint of the migrations, kept between runs) instead of migrating again: a
    subprocess's full migration costs seconds of CPU, a copy milliseconds."""
    database_url = env["DATABASE_URL"]
    if not database_url.startswith("sqlite:///"):
        manage(env, "migrate", "--noinput")
        return
    template = Path(tempfile.gettempdir()) / f"syseducore-served-template-{fingerprint()}.sqlite3"
    with locked("served-sqlite"):
        if not template.exists():
            building = template.with_suffix(f".building-{os.getpid()}")
            building.unlink(missing_ok=True)
            manage({**env, "DATABASE_URL": f"sqlite:///{building}"}, "migrate", "--noinput")
            with contextlib.closing(sqlite3.connect(building)) as database:
                database.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the one file
            os.replace(building, template)
    shutil.copyfile(template, database_url.removeprefix("sqlite:///"))


def _served_postgres_template(admin, server_url: str) -> str:
    """A PostgreSQL database migrated once under production settings, named by the migrations'
    fingerprint and kept on the server between runs (as the SQLite one above): a module's
    database is a copy of it (``CREATE DATABASE … TEMPLATE``, a fraction of a second) instead of
    a subprocess's full migration (10-18 s, once per xdist worker that runs the module)."""
    name = f"syseducore_served_{fingerprint()}"
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            building = f"{name}_building_{os.getpid()}"
            cursor.execute(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)')
            cursor.execute(f'CREATE DATABASE "{building}"')
            with tempfile.TemporaryDirectory() as media:
                manage(production_env(f"{server_url}/{building}", Path(media)), "migrate", "--noinput")
            # Complete before it takes the name: a template that exists is always a whole one.
            cursor.execute(f'ALTER DATABASE "{building}" RENAME TO "{name}"')
    return name


def _server_admin():
    """An autocommit connection to the shared server's maintenance database (OperationalError
    when no server answers)."""
    server = urlsplit(POSTGRES_SERVER)
    admin = psycopg2.connect(
        host=server.hostname,
        port=server.port or 5432,
        user=server.username or "postgres",
        password=server.password or None,
        dbname="postgres",
        connect_timeout=5,
    )
    admin.autocommit = True
    return admin


@contextlib.contextmanager
def postgres_database(prefix: str, *, migrated: bool = False) -> Iterator[str]:
    """A PostgreSQL database of its own for one module (migrated: a copy of the served template,
    else empty); dropped afterwards."""
    name = f"{prefix}_{os.getpid()}"
    server_url = POSTGRES_SERVER.rstrip("/")
    try:
        admin = _server_admin()
    except psycopg2.OperationalError as exc:
        pytest.skip(f"no PostgreSQL server at {POSTGRES_SERVER}: {exc}")
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if migrated:
            # One worker builds the template; the copies are made one at a time (a template
            # may not be copied while another session is connected to it).
            with locked("served-postgres"):
                template = _served_postgres_template(admin, server_url)
                cursor.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        else:
            cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server_url}/{name}"
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def served_template_dump(path: Path) -> bool:
    """Write the served PostgreSQL template (migrated under production settings, above) to
    ``path`` in pg_dump's custom format, for a database on another server, such as a throwaway
    cluster: restoring it takes half a second where a subprocess's migration takes seconds.
    False when the shared server or pg_dump is not there (the caller migrates instead)."""
    pg_dump = shutil.which("pg_dump") or "/usr/lib/postgresql/15/bin/pg_dump"
    if not Path(pg_dump).exists():
        return False
    try:
        admin = _server_admin()
    except psycopg2.OperationalError:
        return False
    try:
        # Under the lock: a template may not be copied while pg_dump is connected to it.
        with locked("served-postgres"):
            template = _served_postgres_template(admin, POSTGRES_SERVER.rstrip("/"))
            subprocess.run(
                [
                    pg_dump,
                    "--format=custom",
                    "--no-owner",
                    f"--file={path}",
                    f"{POSTGRES_SERVER.rstrip('/')}/{template}",
                ],
                check=True,
                capture_output=True,
                timeout=120,
            )
    finally:
        admin.close()
    return True


class Served:
    """A process started in its own session, stopped with its whole group."""

    def __init__(self, args: list[str], env: dict[str, str], log_path: Path):
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)

    def stop(self) -> None:
        self.signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.process.wait(timeout=10)
        self._log.close()


def gunicorn_start(env: dict[str, str], log_path: Path) -> tuple[Served, str]:
    """gunicorn exactly as the Procfile starts it, on a free local port."""
    port = free_port()
    env = {**env, "PORT": str(port)}
    served = Served(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "project.wsgi",
            "--config",
            "gunicorn.conf.py",
            "--bind",
            f"127.0.0.1:{port}",
        ],
        env,
        log_path,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if served.process.poll() is not None:
            raise AssertionError(f"gunicorn exited: {served.log()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return served, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.2)
    served.stop()
    raise AssertionError(f"gunicorn did not start: {served.log()}")


def bare_get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str, str, str]:
    """GET as a PaaS probe sends it: urllib, no Accept header. Returns status, final URL,
    content type and body, for error statuses too."""
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 (local test server)
    try:
        with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310 (local test server)
            return response.status, response.geturl(), response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.geturl(), error.headers["Content-Type"], error.read().decode()


class TcpRelay:
    """Forwards 127.0.0.1:<port> to a TCP server until cut: a database that can be stopped."""

    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.port = free_port()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(32)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        """Refuse new connections and drop the open ones, as a stopped server does."""
        with self._lock:
            sockets, self._sockets = [*self._sockets, self._listener], []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _address = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
