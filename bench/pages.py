"""Benchmark: every admin page of a big center with a year of history, through gunicorn.

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres   # the server; the DB is its own
    make bench                                     # = .venv/bin/python bench/pages.py --readme
    .venv/bin/python bench/pages.py --scale 0.05 --repeat 5 --no-others   # a quick look

1. ``bench/bigcenter.py`` builds (once, then reuses) ``syseducore_bench_pages``: 20,000 students,
   1,360 groups, 408 teachers and a year of history (~1M attendance rows, ledger, receipts, scans,
   audit rows).
2. gunicorn (``--workers``, default 2) serves ``bench/pages_wsgi.py`` on 127.0.0.1: the project
   plus two response headers with the server time and the number of database statements.
3. Logged in as an owner (a session made in process: axes refuses a test client's login), every
   admin changelist (``admin.site._registry``), every report, the student page of the student with
   the longest history, the dashboard, the cashier (and its search), the door board and the
   timetable are requested ``--repeat`` times each (after one warm-up request). Printed per page:
   median and p95 server time, p95 round trip, statements (and whether they varied), bytes before
   and after gzip. Target: p95 server time < 200 ms; the exit status is 1 on any miss.
4. The other benchmarks (door scans, import, settlement, messages) run with small sizes
   (``--no-others`` skips them), and with ``--readme`` the results table is written into
   bench/README.md between the markers of its "Every page" section.
"""

import argparse
import gzip
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time

from bigcenter import bench_database_url, seed
from common import ROOT, emit, load_average

TARGET_MS = 200.0
README = ROOT / "bench" / "README.md"
OTHERS_HEADING = "Other benchmarks"
BEGIN, END = "<!-- bench/pages.py results: begin -->", "<!-- bench/pages.py results: end -->"


def owner_session_cookie() -> tuple[str, str]:
    """A signed-in owner's session, made in process (the cookie a browser would hold)."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import Group

    from core.access.roles import Role
    from core.models import User

    owner, _created = User.objects.get_or_create(
        username="bench-owner", defaults={"is_staff": True, "is_superuser": True, "language": "ar"}
    )
    if _created:
        owner.set_unusable_password()
        owner.save()
    owner_role = Group.objects.filter(name=Role.OWNER).first()
    if owner_role is not None:
        owner.groups.add(owner_role)
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(owner.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = owner.get_session_auth_hash()
    store["_last_seen"] = int(time.time()) + 24 * 3600  # no session write during the run
    store.create()
    return settings.SESSION_COOKIE_NAME, store.session_key


def pages_to_measure() -> list[tuple[str, str]]:
    """(label, path) for every page the issue names."""
    import datetime

    from django.contrib import admin
    from django.db.models import Count
    from django.urls import NoReverseMatch, reverse
    from django.utils import timezone

    from core.models import Attendance, Group, Student

    pages = [("dashboard", reverse("admin:index"))]
    for model, _model_admin in sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label):
        meta = model._meta
        try:
            pages.append(
                (
                    f"{meta.app_label}.{meta.model_name} list",
                    reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"),
                )
            )
        except NoReverseMatch:
            continue
    longest = (
        Attendance.objects.values("student_id")
        .annotate(n=Count("id"))
        .order_by("-n")
        .values_list("student_id", flat=True)
        .first()
    )
    student = Student.objects.get(pk=longest) if longest else Student.objects.order_by("id").first()
    busiest_group = Group.objects.annotate(n=Count("enrollments")).order_by("-n").first()
    last_month = (timezone.localdate().replace(day=1) - datetime.timedelta(days=1)).replace(day=1)
    pages += [
        ("students, search by name", reverse("admin:core_student_changelist") + "?q=" + student.full_name.split()[0]),
        ("students, search by code", reverse("admin:core_student_changelist") + f"?q={student.code}"),
        ("student page (longest history)", reverse("admin:core_student_change", args=[student.pk])),
        ("cashier", reverse("admin:core_receipt_cashier")),
        ("cashier, search", reverse("admin:core_receipt_cashier") + f"?q={student.code}"),
        ("defaulters report", reverse("admin:core_receipt_defaulters")),
        ("defaulters report, page 5", reverse("admin:core_receipt_defaulters") + "?page=5"),
        ("collections report", reverse("admin:core_receipt_collections")),
        ("settlements report", reverse("admin:core_settlement_report")),
        ("message cost report", reverse("admin:core_message_report")),
        ("timetable", reverse("timetable")),
        ("door board (today)", reverse("door-today")),
        ("attendance sheet", reverse("door-sheet") + f"?group={busiest_group.pk}&month={last_month:%Y-%m}"),
    ]
    return pages


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def gunicorn_start(workers: int, database_url: str) -> tuple[subprocess.Popen, str]:
    import requests

    port = free_port()
    process = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "pages_wsgi:application",
            "--pythonpath",
            str(ROOT / "bench"),
            "--config",
            str(ROOT / "gunicorn.conf.py"),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url, "LOG_LEVEL": "WARNING", "DEBUG": "0"},
        stdout=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _attempt in range(150):
        try:
            requests.get(f"{base}/health/", timeout=15)
            return process, base
        except requests.RequestException:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError("gunicorn did not start")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


def measure(base: str, cookie: tuple[str, str], pages: list[tuple[str, str]], repeat: int) -> list[dict]:
    import requests

    http = requests.Session()
    http.cookies.set(cookie[0], cookie[1], domain="127.0.0.1")
    http.headers["Accept-Encoding"] = "identity"
    results = []
    for label, path in pages:
        warm = http.get(base + path, timeout=120)
        if warm.status_code != 200:
            emit(f"  {label:<40} HTTP {warm.status_code}")
            results.append({"label": label, "path": path, "status": warm.status_code})
            continue
        server, client, queries, database = [], [], [], []
        for _ in range(repeat):
            started = time.perf_counter()
            response = http.get(base + path, timeout=120)  # a redirect's hops count together
            client.append((time.perf_counter() - started) * 1000)
            hops = [*response.history, response]
            server.append(sum(float(hop.headers["X-Bench-Ms"]) for hop in hops))
            queries.append(sum(int(hop.headers["X-Bench-Queries"]) for hop in hops))
            database.append(sum(float(hop.headers.get("X-Bench-Db-Ms", 0)) for hop in hops))
        body = response.content
        row = {
            "label": label,
            "path": path,
            "status": response.status_code,
            "median": statistics.median(server),
            "p95": percentile(server, 0.95),
            "client_p95": percentile(client, 0.95),
            "db_median": statistics.median(database),
            "queries": statistics.median(queries),
            "queries_vary": min(queries) != max(queries),
            "bytes": len(body),
            "gzip_bytes": len(gzip.compress(body, 6)),
            "served_gzip": http.get(base + path, headers={"Accept-Encoding": "gzip"}, timeout=120).headers.get(
                "Content-Encoding"
            )
            == "gzip",
        }
        results.append(row)
        flag = "ok" if row["p95"] < TARGET_MS else "MISS"
        emit(
            f"  {label:<40} {row['median']:7.1f} {row['p95']:7.1f} {row['client_p95']:7.1f} {row['db_median']:6.1f} "
            f"{row['queries']:5.0f}{'*' if row['queries_vary'] else ' '} {row['bytes'] / 1024:7.1f} "
            f"{row['gzip_bytes'] / 1024:6.1f}  {flag}"
        )
    return results


def table(results: list[dict]) -> str:
    lines = [
        "| page | median ms | p95 ms | p95 round trip ms | SQL ms (median) | queries | KB | KB gzip | p95 < 200 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in results:
        if row["status"] != 200:
            lines.append(f"| {row['label']} | | | | | | | | HTTP {row['status']} |")
            continue
        lines.append(
            f"| {row['label']} | {row['median']:.0f} | {row['p95']:.0f} | {row['client_p95']:.0f} | "
            f"{row.get('db_median', 0):.0f} | "
            f"{row['queries']:.0f}{' (varies)' if row['queries_vary'] else ''} | {row['bytes'] / 1024:.0f} | "
            f"{row['gzip_bytes'] / 1024:.0f} | {'yes' if row['p95'] < TARGET_MS else '**no**'} |"
        )
    return "\n".join(lines)


OTHERS = [
    ("door scans", ["bench/scans.py", "--scans", "100", "--rounds", "2"], True),
    ("student import", ["bench/imports.py", "--rows", "2000", "--only", "engine"], False),
    ("settlement run", ["bench/settlements.py", "--lines", "20000"], False),
    ("messages", ["bench/messages.py", "--messages", "1000", "--per-message", "200"], False),
]


def run_others(database_url: str) -> list[tuple[str, str]]:
    """The existing benchmarks with small sizes; the door on the big center, the rest on their own DBs."""
    results = []
    server = database_url.rsplit("/", 1)[0]
    for label, command, on_big_center in OTHERS:
        url = database_url if on_big_center else f"{server}/syseducore_bench_others"
        emit(f"\n== {label}: {' '.join(command)}")
        started = time.monotonic()
        completed = subprocess.run(
            [str(ROOT / ".venv/bin/python"), *command],
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": url, "APP_ENV": "development", "LOG_LEVEL": "WARNING"},
            capture_output=True,
            text=True,
            check=False,
        )
        text = completed.stdout.strip() or completed.stderr.strip()
        tail = "\n".join(text.splitlines()[-14:])
        emit(tail)
        status = "ok" if completed.returncode == 0 else f"exit {completed.returncode}"
        results.append((label, f"{' '.join(command)} — {status}, {time.monotonic() - started:.0f} s", tail))
    return results


def readme_write(
    *, counts: dict, results: list[dict], others: list, load_before: str, load_after: str, repeat: int, workers: int
) -> None:
    rows = ", ".join(f"{value:,} {label}" for label, value in counts.items())
    misses = sum(1 for row in results if row["status"] != 200 or row["p95"] >= TARGET_MS)
    parts = [
        BEGIN,
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} with `make bench` (PostgreSQL 15, gunicorn "
        f"{workers} workers, {repeat} requests per page after one warm-up, logged in as the owner); load average "
        f"{load_before} before and {load_after} after. Dataset: {rows}. "
        f"{len(results) - misses} of {len(results)} pages under 200 ms p95 (server time).",
        "",
        table(results),
    ]
    if others:
        parts += [
            "",
            OTHERS_HEADING + " in the same run (small sizes; their own sections above give the full runs):",
            "",
        ]
        for label, summary, tail in others:
            parts += [f"- **{label}**: `{summary}`", "", "```", tail, "```", ""]
    text = README.read_text(encoding="utf-8")
    earlier = text[text.find(OTHERS_HEADING) : text.find(END)] if not others and OTHERS_HEADING in text else ""
    if earlier:  # a pages-only run keeps the other benchmarks' last figures
        parts += ["", earlier.rstrip("\n")]
    parts.append(END)
    block = "\n".join(parts)
    if BEGIN in text and END in text:
        text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _match: block, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n## Every page: `bench/pages.py`\n\n" + block + "\n"
    README.write_text(text, encoding="utf-8")
    emit(f"\nResults written to {README.relative_to(ROOT)}.")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 20,000 students and a year of history")
    parser.add_argument("--reseed", action="store_true", help="build the center again")
    parser.add_argument("--repeat", type=int, default=20, help="requests per page (after one warm-up)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--only", help="measure only pages whose label contains this text")
    parser.add_argument(
        "--no-others", action="store_true", help="skip the door, import, settlement and message benchmarks"
    )
    parser.add_argument("--readme", action="store_true", help="write the results table into bench/README.md")
    args = parser.parse_args()

    database_url = bench_database_url()
    counts = seed(scale=args.scale, reseed=args.reseed)
    emit("Dataset: " + ", ".join(f"{value:,} {label}" for label, value in counts.items()))
    cookie = owner_session_cookie()
    pages = pages_to_measure()
    if args.only:
        pages = [page for page in pages if args.only in page[0]]
    from django.db import connections

    connections.close_all()
    load_before = load_average()
    emit(f"Load average before: {load_before}")
    process, base = gunicorn_start(args.workers, database_url)
    try:
        emit(f"\n  {'page':<40} {'median':>7} {'p95':>7} {'trip95':>7} {'db':>6} {'qry':>6} {'KB':>7} {'KBgz':>6}")
        results = measure(base, cookie, pages, args.repeat)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    load_after = load_average()
    emit(f"Load average after: {load_after}")
    misses = [row["label"] for row in results if row["status"] != 200 or row["p95"] >= TARGET_MS]
    others = [] if args.no_others else run_others(database_url)
    if args.readme:
        readme_write(
            counts=counts,
            results=results,
            others=others,
            load_before=load_before,
            load_after=load_after,
            repeat=args.repeat,
            workers=args.workers,
        )
    emit(f"\n{len(results) - len(misses)} of {len(results)} pages under {TARGET_MS:.0f} ms p95.")
    if misses:
        emit("Missed: " + ", ".join(misses))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
