"""The door while the database is frozen (issue 15: 3): a throwaway PostgreSQL cluster this test
starts itself (initdb + pg_ctl on a free port, never the shared server; the schema restored from
the served template), a real gunicorn as the Procfile starts it, kiosk scans over HTTP with urllib.
The cluster is frozen with SIGSTOP on the postmaster and every backend (as a paused host or a
swallowed network looks from the app): each scan must be answered 503 JSON well before the thaw.
After SIGCONT the tablet's replays (same client scan
ids) must admit each student exactly once, even where a frozen commit went through late.

Needs the PostgreSQL 15 server binaries (CI has them); skipped with the reason otherwise.
"""

import concurrent.futures
import contextlib
import datetime
import http.cookies
import json
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import psycopg2
import pytest

from tests.served import free_port, gunicorn_start, manage, postgres_database, production_env, served_template_dump

logger = logging.getLogger(__name__)
PG_BIN = Path("/usr/lib/postgresql/15/bin")
HOST = "center.example.com"
STUDENTS = 12
# The door's two bounds are shortened to 1 s here (the defaults are 3 s, checked below) so the
# freeze can be short: each wave must be answered well before the thaw, or the thaw, not the
# deadline, could be what answered it.
DEADLINE_SECONDS = 1
FREEZE_SECONDS = 10
ANSWER_WITHIN_SECONDS = 4
assert ANSWER_WITHIN_SECONDS < FREEZE_SECONDS / 2

needs_postgres_binaries = pytest.mark.skipif(
    not (PG_BIN / "initdb").exists() or shutil.which("runuser") is None,
    reason="needs the PostgreSQL 15 server binaries (/usr/lib/postgresql/15/bin) and runuser to start a "
    "throwaway cluster",
)

SEED = """
import datetime, json
from django.core.management import call_command
from django.utils import timezone
call_command("migrate", "--check")  # restored or migrated, the door's database is complete
from core.models import FeePeriod, FeePlan, Session
from core.services.enrollments import enrollment_create
from core.services.kiosks import kiosk_create
from tests.factories import make_branch, make_group, make_room, make_student
branch = make_branch()
room = make_room(branch)
group = make_group(branch, fee_period=FeePeriod.MONTH, room=room)
starts = timezone.now() + datetime.timedelta(minutes=10)
Session.objects.create(group=group, date=timezone.localdate(starts), starts_at=starts,
                       ends_at=starts + datetime.timedelta(minutes=120), room=room)
codes = []
for index in range(%(students)d):
    student = make_student(branch)
    enrollment_create(actor=None, student=student, group=group, fee_plan=FeePlan.EXEMPT, fee_reason="test",
                      start_date=timezone.localdate() - datetime.timedelta(days=1))
    codes.append(student.code)
_kiosk, token = kiosk_create(actor=None, name="Door", branch=branch, room=room)
print(json.dumps({"token": token, "codes": codes}))
"""


def as_postgres(*args: str) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else list(args)


@contextlib.contextmanager
def throwaway_cluster():
    base = Path(tempfile.mkdtemp(prefix="syseducore-pg-"))
    data = base / "data"
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    subprocess.run(
        as_postgres(
            str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"
        ),
        check=True,
        capture_output=True,
    )
    port = free_port()
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
    subprocess.run(
        as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(base / "log"), "-w", "start"),
        check=True,
        capture_output=True,
    )
    try:
        yield port, data
    finally:
        postmaster = postmaster_pid(data)
        if postmaster:
            freeze([postmaster, *children(postmaster)], signal.SIGCONT)
        subprocess.run(
            as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"), capture_output=True
        )
        shutil.rmtree(base, ignore_errors=True)


def postmaster_pid(data: Path) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        return int((data / "postmaster.pid").read_text().splitlines()[0])
    return None


def children(parent: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == parent:
                found.append(int(stat.parent.name))
    return found


def freeze(pids: list[int], signum: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


class Kiosk:
    """The tablet's side of the protocol, with urllib: CSRF cookie first, then JSON posts."""

    def __init__(self, base: str, token: str):
        self.base, self.token = base, token
        headers = {"Host": HOST, "X-Forwarded-Proto": "https", "Accept": "application/json"}
        request = urllib.request.Request(f"{base}/kiosk/scan/", headers=headers)  # noqa: S310 (local server)
        with urllib.request.urlopen(request, timeout=20) as reply:  # noqa: S310
            self.csrf = json.loads(reply.read())["csrf_token"]
            cookie = http.cookies.SimpleCookie(reply.headers["Set-Cookie"])
        self.cookie = "; ".join(f"{name}={morsel.value}" for name, morsel in cookie.items())

    def scan(self, body: dict) -> tuple[int, dict, float]:
        request = urllib.request.Request(  # noqa: S310 (a local test server)
            f"{self.base}/kiosk/scan/",
            data=json.dumps(body).encode(),
            method="POST",
            headers={
                "Host": HOST,
                "X-Forwarded-Proto": "https",
                "Origin": f"https://{HOST}",
                "Referer": f"https://{HOST}/kiosk/",
                "Content-Type": "application/json",
                "Cookie": self.cookie,
                "X-CSRFToken": self.csrf,
                "X-Kiosk-Token": self.token,
            },
        )
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=30) as reply:  # noqa: S310
                status, content_type, text = reply.status, reply.headers["Content-Type"], reply.read()
        except urllib.error.HTTPError as error:
            status, content_type, text = error.code, error.headers["Content-Type"], error.read()
        elapsed = time.monotonic() - started
        assert content_type == "application/json", (status, text[:300])
        return status, json.loads(text), elapsed


def test_web_processes_bound_statements_and_lock_waits_and_the_worker_does_not(tmp_path):
    script = (
        "from django.db import connection\n"
        "cursor = connection.cursor()\n"
        "cursor.execute('SHOW statement_timeout'); statement = cursor.fetchone()[0]\n"
        "cursor.execute('SHOW lock_timeout'); lock = cursor.fetchone()[0]\n"
        "from django.conf import settings\n"
        "print(statement, lock, connection.settings_dict['OPTIONS'].get('connect_timeout'),"
        " settings.KIOSK_DB_DEADLINE_SECONDS)"
    )
    with postgres_database("syseducore_bounds") as database_url:
        env = production_env(database_url, tmp_path / "media")
        web = manage({**env, "SYSEDUCORE_WEB": "1"}, "shell", "-c", script).stdout.split()[-4:]
        worker = manage(env, "shell", "-c", script).stdout.split()[-4:]
        off = manage({**env, "SYSEDUCORE_WEB": "1", "DB_STATEMENT_TIMEOUT_MS": "0"}, "shell", "-c", script)
    # The defaults: 5 s statements, 3 s lock waits, 3 s to connect, the door's deadline 3 s.
    assert web == ["5s", "3s", "3", "3"]
    assert worker == ["0", "0", "3", "3"]  # the worker, migrations and backups may run long
    assert off.stdout.split()[-4:] == ["0", "3s", "3", "3"]


@needs_postgres_binaries
def test_a_frozen_database_never_holds_the_door_and_replays_admit_each_student_once(tmp_path):
    test_started = time.monotonic()
    with throwaway_cluster() as (port, data):
        admin = psycopg2.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres")
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute("CREATE DATABASE door")
        admin.close()
        env = production_env(
            f"postgres://postgres@127.0.0.1:{port}/door",
            tmp_path / "media",
            DB_CONNECT_TIMEOUT=str(DEADLINE_SECONDS),
            KIOSK_DB_DEADLINE_SECONDS=str(DEADLINE_SECONDS),
        )
        dump = tmp_path / "served.dump"
        if served_template_dump(dump):  # the migrated schema, restored (a migration takes seconds)
            door_url = f"postgres://postgres@127.0.0.1:{port}/door"
            restore = [str(PG_BIN / "pg_restore"), "--no-owner", f"--dbname={door_url}", str(dump)]
            subprocess.run(restore, check=True, capture_output=True)
        else:
            manage(env, "migrate", "--noinput")
        seeded = json.loads(manage(env, "shell", "-c", SEED % {"students": STUDENTS}).stdout.strip().splitlines()[-1])
        served, base = gunicorn_start(env, tmp_path / "gunicorn.log")
        try:
            kiosk = Kiosk(base, seeded["token"])
            # Warm up: both workers hold a database connection, as at a busy door.
            for index in range(4):
                assert kiosk.scan({"code": "no-such-card", "client_scan_id": f"warm-{index}"})[0] == 200
            scans = [
                {"code": code, "client_scan_id": f"frozen-{index}", "at": ""}
                for index, code in enumerate(seeded["codes"])
            ]
            postmaster = postmaster_pid(data)
            frozen = [postmaster, *children(postmaster)]
            freeze(frozen, signal.SIGSTOP)
            frozen_at = time.monotonic()
            answers = []
            try:
                with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
                    for wave in (scans[: STUDENTS // 2], scans[STUDENTS // 2 :]):
                        for scan in wave:
                            scan["at"] = datetime.datetime.now().astimezone().isoformat()
                        live = [{"code": scan["code"], "client_scan_id": scan["client_scan_id"]} for scan in wave]
                        answers += list(pool.map(kiosk.scan, live))
                        time.sleep(max(0.0, frozen_at + FREEZE_SECONDS / 2 - time.monotonic()))
                time.sleep(max(0.0, frozen_at + FREEZE_SECONDS - time.monotonic()))
            finally:
                freeze(frozen, signal.SIGCONT)
            waits = sorted(round(elapsed, 1) for _status, _answer, elapsed in answers)
            logger.warning("scans answered during a %s s freeze after (s): %s", FREEZE_SECONDS, waits)
            for status, answer, elapsed in answers:
                assert status == 503 and answer["retry"] is True and answer["error"], answer
                assert elapsed < ANSWER_WITHIN_SECONDS, waits
            # The database is back: the tablet replays its queue, each scan with its own id and time.
            replayed = [kiosk.scan(scan) for scan in scans]
            assert all(status == 200 for status, _answer, _elapsed in replayed), replayed
            assert {answer["code"] for _status, answer, _elapsed in replayed} <= {"present", "late"}
            logger.warning("replays answered after (s): %s", sorted(round(elapsed, 2) for *_x, elapsed in replayed))
        finally:
            served.stop()
        check = psycopg2.connect(host="127.0.0.1", port=port, user="postgres", dbname="door")
        with check.cursor() as cursor:
            cursor.execute(
                "SELECT s.code, count(a.id) FROM core_student s LEFT JOIN core_attendance a ON a.student_id = s.id"
                " GROUP BY s.code"
            )
            attendances = dict(cursor.fetchall())
            cursor.execute(
                "SELECT client_scan_id, count(*) FROM core_scanevent WHERE client_scan_id LIKE 'frozen-%%'"
                " GROUP BY client_scan_id"
            )
            events = dict(cursor.fetchall())
        check.close()
    assert attendances == {code: 1 for code in seeded["codes"]}
    assert events == {scan["client_scan_id"]: 1 for scan in scans}
    logger.warning("whole test: %.0f s", time.monotonic() - test_started)
