"""Benchmark: the door's scans on a center of realistic size, in process and over HTTP.

    createdb -h 127.0.0.1 -U postgres syseducore_bench
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/syseducore_bench APP_ENV=development
    .venv/bin/python manage.py migrate && .venv/bin/python manage.py demo_data --students 20000
    .venv/bin/python bench/scans.py                      # --scans 300 --workers 2 --clients 4

It works on the database in DATABASE_URL as it is (the demo center is the background load: 20,000
students with their enrollments, ledgers and sessions) and adds, for each run, one group in a new
room with a class starting in five minutes, ``--scans`` students who paid (admitted) and as many
who never paid (refused: ``pay_first``), each with one guardian (so the parent messages are
queued as for real, with messaging switched on: ``arrived`` when admitted, ``payment_block`` when
refused), and 60 kiosks in that room (the endpoint allows 120 scans a minute per kiosk; the bench
rotates kiosks so the rate limit never answers). Then:

1. ``scan_process`` called directly: median time and statements (BEGIN/COMMIT not counted) per
   admitted and per refused scan;
2. the kiosk endpoint through Django's whole stack in process (test ``Client``, middleware, CSRF,
   token, rate limit): statements per request;
3. gunicorn (``--workers`` sync workers) on 127.0.0.1 serving ``bench/scans_wsgi.py`` (the
   project's application plus ``/bench/ping/``, a trivial view authenticated by the same kiosk
   token): median round trip per request sent one at a time, then throughput with ``--clients``
   concurrent clients, for the ping, admitted scans and refused scans; the figure of merit is
   admitted-scan throughput ÷ ping throughput, over ``--rounds`` rounds (median).

``--read orm`` runs the door on ``core.services.door.read_orm.door_read_orm`` (the same read
written with the ORM, four queries) instead of the one SQL statement, in process and in gunicorn
(``BENCH_DOOR_READ=orm``, read by bench/scans_wsgi.py), to compare the two on the same center.

Nothing is deleted afterwards: each run adds its own group and students (codes 9xxxxxxx).
"""

import argparse
import datetime
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
os.environ.setdefault("APP_ENV", "development")
os.environ.setdefault("LOG_LEVEL", "WARNING")

KIOSKS = 60


def out(line: str = "") -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def setup(scans: int) -> dict:
    """A class starting in five minutes, its paid and unpaid students, kiosks at its door."""
    from django.db import transaction
    from django.utils import timezone

    from core.models import (
        Branch,
        CenterSettings,
        Enrollment,
        EntryType,
        FeePeriod,
        Group,
        Guardian,
        LedgerEntry,
        Room,
        Session,
        Student,
        StudentGuardian,
        Teacher,
    )
    from core.normalize import search_key
    from core.services.kiosks import kiosk_create

    # A center that uses WhatsApp: admitted scans queue "arrived" as pending and hand the worker
    # its task (the worker is not running here, so nothing is sent).
    CenterSettings.load()
    CenterSettings.objects.filter(pk=1).update(messaging_enabled=True)
    run = int(time.time()) % 100000
    today = timezone.localdate()
    now = timezone.now()
    branch = Branch.objects.order_by("id").first()
    with transaction.atomic():
        room = Room.objects.create(branch=branch, name=f"Bench room {run}", capacity=scans * 2)
        teacher = Teacher.objects.create(full_name=f"Bench teacher {run}", search_key=f"bench teacher {run}")
        group = Group.objects.create(
            code=f"BENCH{run}",
            name=f"Bench {run}",
            teacher=teacher,
            branch=branch,
            default_room=room,
            fee=Decimal("200.00"),
            fee_period=FeePeriod.MONTH,
            capacity=scans * 2,
        )
        Session.objects.create(
            group=group,
            date=today,
            starts_at=now + datetime.timedelta(minutes=5),
            ends_at=now + datetime.timedelta(hours=3),
            room=room,
        )
        students = Student.objects.bulk_create(
            Student(
                code=f"9{run:05d}{index:04d}",
                full_name=f"طالب قياس {index}",
                search_key=search_key(f"طالب قياس {index}"),
                branch=branch,
            )
            for index in range(scans * 2)
        )
        # one guardian each, so every scan queues its parent message as it would for real
        guardians = Guardian.objects.bulk_create(
            Guardian(full_name=f"ولي أمر {index}", phone=f"+2019{run:05d}{index:04d}") for index in range(scans * 2)
        )
        StudentGuardian.objects.bulk_create(
            StudentGuardian(student=student, guardian=guardian, is_primary=True)
            for student, guardian in zip(students, guardians, strict=True)
        )
        enrollments = Enrollment.objects.bulk_create(
            Enrollment(student=student, group=group, start_date=today.replace(day=1)) for student in students
        )
        LedgerEntry.objects.bulk_create(
            LedgerEntry(enrollment=enrollment, entry_type=EntryType.PAYMENT, amount=Decimal("200.00"), date=today)
            for enrollment in enrollments[:scans]
        )
    kiosks = [kiosk_create(actor=None, name=f"Bench {run}-{n}", branch=branch, room=room) for n in range(KIOSKS)]
    codes = [student.code for student in students]
    return {
        "paid": codes[:scans],
        "unpaid": codes[scans:],
        "kiosks": [kiosk for kiosk, _token in kiosks],
        "tokens": [token for _kiosk, token in kiosks],
    }


def door_read_choose(kind: str) -> None:
    """Run the door on the ORM's read (``orm``) instead of the SQL one; for this benchmark only."""
    if kind == "orm":
        from core.services.door import scan
        from core.services.door.read_orm import door_read_orm

        scan.door_read = door_read_orm


def direct(codes: list[str], kiosks, expect: str) -> tuple[list[float], list[int]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from core.services.scanning import scan_process

    times, queries = [], []
    for index, code in enumerate(codes):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            outcome = scan_process(code, kiosk=kiosks[index % len(kiosks)], client_scan_id=f"d-{code}")
            times.append(time.perf_counter() - started)
        # the door's statements: BEGIN and COMMIT are transaction control, not work
        queries.append(sum(1 for query in captured.captured_queries if query["sql"] not in ("BEGIN", "COMMIT")))
        assert outcome.code in expect, (code, outcome.code, outcome.message)
    return times, queries


def through_django(codes: list[str], tokens: list[str], expect: str) -> list[int]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    queries = []
    for index, code in enumerate(codes):
        client = Client(enforce_csrf_checks=True)
        csrf = client.get("/kiosk/scan/").json()["csrf_token"]
        with CaptureQueriesContext(connection) as captured:
            response = client.post(
                "/kiosk/scan/",
                data=json.dumps({"code": code, "client_scan_id": f"c-{code}"}),
                content_type="application/json",
                headers={"X-Kiosk-Token": tokens[index % len(tokens)], "X-CSRFToken": csrf},
            )
        assert response.status_code == 200 and response.json()["code"] in expect, response.content
        queries.append(sum(1 for query in captured.captured_queries if query["sql"] not in ("BEGIN", "COMMIT")))
    return queries


# --- over HTTP ------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def gunicorn_start(workers: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "scans_wsgi:application",
            "--pythonpath",
            str(ROOT / "bench"),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env={**os.environ, "LOG_LEVEL": "WARNING"},
        stdout=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    import requests

    for _attempt in range(100):
        try:
            requests.get(f"{base}/kiosk/scan/", timeout=15)
            return process, base
        except requests.RequestException:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError("gunicorn did not start")


class Door:
    """One kiosk's HTTP session: the CSRF cookie and token, the device token."""

    def __init__(self, base: str, token: str) -> None:
        import requests

        self.base, self.token = base, token
        self.http = requests.Session()
        self.csrf = self.http.get(f"{base}/kiosk/scan/", timeout=10).json()["csrf_token"]

    def ping(self) -> None:
        response = self.http.get(f"{self.base}/bench/ping/", headers={"X-Kiosk-Token": self.token}, timeout=10)
        assert response.status_code == 200, response.text

    def scan(self, code: str, expect: str) -> None:
        response = self.http.post(
            f"{self.base}/kiosk/scan/",
            data=json.dumps({"code": code, "client_scan_id": f"h-{code}"}),
            headers={"X-Kiosk-Token": self.token, "X-CSRFToken": self.csrf, "Content-Type": "application/json"},
            timeout=30,
        )
        assert response.status_code == 200 and response.json()["code"] in expect, response.text


def timed_one_by_one(calls) -> list[float]:
    times = []
    for call in calls:
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return times


def throughput(calls, clients: int) -> float:
    """Requests per second with `clients` threads sharing the list of calls."""
    pending = list(calls)
    lock = threading.Lock()

    def work():
        while True:
            with lock:
                if not pending:
                    return
                call = pending.pop()
            call()

    threads = [threading.Thread(target=work) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(calls) / (time.perf_counter() - started)


def ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scans", type=int, default=300, help="admitted (and refused) scans per phase")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3, help="throughput rounds (ping, admitted, refused each)")
    parser.add_argument("--read", choices=["sql", "orm"], default="sql", help="the door's read (see above)")
    args = parser.parse_args()
    os.environ["BENCH_DOOR_READ"] = args.read  # gunicorn's workers inherit it (scans_wsgi.py)

    import django

    django.setup()
    door_read_choose(args.read)
    from django.db import connection

    from core.models import Student

    n = args.scans
    out(
        f"database: {connection.vendor} {connection.settings_dict['NAME']}, students: {Student.objects.count():,},"
        f" door read: {args.read}"
    )
    # phases use their own students: direct, through Django, HTTP one by one, then each throughput round
    data = setup(n * (3 + args.rounds))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # fresh planner statistics after the bulk load
            cursor.execute("ANALYZE")
    paid, unpaid, kiosks, tokens = data["paid"], data["unpaid"], data["kiosks"], data["tokens"]

    admitted_t, admitted_q = direct(paid[:n], kiosks, "present late")
    refused_t, refused_q = direct(unpaid[:n], kiosks, "pay_first")
    out(
        f"scan_process  admitted: median {ms(admitted_t)}, queries {statistics.median(admitted_q):.0f} (max {max(admitted_q)})"
    )
    out(
        f"scan_process  refused:  median {ms(refused_t)}, queries {statistics.median(refused_q):.0f} (max {max(refused_q)})"
    )

    sample = min(n, 100)
    admitted_rq = through_django(paid[n : n + sample], tokens, "present late")
    refused_rq = through_django(unpaid[n : n + sample], tokens, "pay_first")
    out(f"whole request admitted: queries {statistics.median(admitted_rq):.0f} (max {max(admitted_rq)})")
    out(f"whole request refused:  queries {statistics.median(refused_rq):.0f} (max {max(refused_rq)})")
    connection.close()

    process, base = gunicorn_start(args.workers)
    try:
        doors = [Door(base, token) for token in tokens]
        for door in doors[:8]:
            door.ping()  # warm every worker
        ping_t = timed_one_by_one([doors[i % KIOSKS].ping for i in range(n)])
        adm_http = paid[2 * n : 3 * n]
        ref_http = unpaid[2 * n : 3 * n]
        adm_t = timed_one_by_one(
            [lambda c=c, i=i: doors[i % KIOSKS].scan(c, "present late") for i, c in enumerate(adm_http)]
        )
        ref_t = timed_one_by_one(
            [lambda c=c, i=i: doors[i % KIOSKS].scan(c, "pay_first") for i, c in enumerate(ref_http)]
        )
        ratio = statistics.median(ping_t) / statistics.median(adm_t)
        out(f"HTTP one by one  ping {ms(ping_t)}, admitted {ms(adm_t)} (ratio {ratio:.2f}), refused {ms(ref_t)}")

        ratios = []
        for round_ in range(args.rounds):
            first = (3 + round_) * n
            ping_rps = throughput([doors[i % KIOSKS].ping for i in range(n)], args.clients)
            adm_rps = throughput(
                [
                    lambda c=c, i=i: doors[i % KIOSKS].scan(c, "present late")
                    for i, c in enumerate(paid[first : first + n])
                ],
                args.clients,
            )
            ref_rps = throughput(
                [
                    lambda c=c, i=i: doors[i % KIOSKS].scan(c, "pay_first")
                    for i, c in enumerate(unpaid[first : first + n])
                ],
                args.clients,
            )
            ratios.append((adm_rps / ping_rps, ref_rps / ping_rps))
            out(
                f"HTTP {args.clients} clients, {args.workers} workers, round {round_ + 1}: ping {ping_rps:.0f}/s, "
                f"admitted {adm_rps:.0f}/s (ratio {adm_rps / ping_rps:.2f}), "
                f"refused {ref_rps:.0f}/s (ratio {ref_rps / ping_rps:.2f})"
            )
        out(
            f"median ratio over {args.rounds} rounds: admitted {statistics.median(r[0] for r in ratios):.2f}, "
            f"refused {statistics.median(r[1] for r in ratios):.2f}"
        )
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


if __name__ == "__main__":
    main()
