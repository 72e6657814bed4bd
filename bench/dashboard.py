"""Benchmark: the owner's dashboard (issue 17) on the big center, through gunicorn, on PostgreSQL.

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres   # the server; the DB is its own
    .venv/bin/python bench/dashboard.py                  # 20 requests per variant, 2 workers
    .venv/bin/python bench/dashboard.py --parts          # also time each part in process

The center is ``bench/bigcenter.py``'s (20,000 students, a year of history), built once and
reused (``syseducore_bench_pages``). The dashboard is requested as the owner, for all branches
and for one branch, in two ways (and a small admin page beside them, to read the figures against
the machine's load at the time):

- **as served**: the page as it runs in production, its parts cached for a minute (the cache is
  the database table of a deployment without Redis), so most requests are cache hits;
- **cold**: the dashboard's cache rows deleted before every request, so every part is computed
  again (what the first visitor of each minute waits for).

Printed per variant: median and p95 server time, p95 round trip, statements and SQL time.
Target (issue 17): p95 server time under 200 ms for the owner's dashboard as served; the exit
status is 1 on a miss. ``--parts`` adds each selector's own time (median of ``--repeat`` runs).
Also printed: what the worker's refresh (``dashboard_refresh``, every minute) takes for the two
watched scopes.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bigcenter import bench_database_url, seed  # noqa: E402
from common import emit as out  # noqa: E402
from common import load_average  # noqa: E402
from pages import gunicorn_start, owner_session_cookie, percentile  # noqa: E402

TARGET_MS = 200.0


def cache_forget() -> None:
    """Delete the dashboard's cached parts (DatabaseCache keys carry the project's prefix)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_cache WHERE cache_key LIKE %s", ["%dashboard:%"])


def measure(base: str, cookie, path: str, repeat: int, *, cold: bool) -> dict:
    import requests

    http = requests.Session()
    http.cookies.set(cookie[0], cookie[1], domain="127.0.0.1")
    http.headers["Accept-Encoding"] = "identity"
    warm = http.get(base + path, timeout=120)
    if warm.status_code != 200:
        raise SystemExit(f"{path}: HTTP {warm.status_code}")
    server, client, queries, database = [], [], [], []
    for _ in range(repeat):
        if cold:
            cache_forget()
        started = time.perf_counter()
        response = http.get(base + path, timeout=120)
        client.append((time.perf_counter() - started) * 1000)
        server.append(float(response.headers["X-Bench-Ms"]))
        queries.append(int(response.headers["X-Bench-Queries"]))
        database.append(float(response.headers.get("X-Bench-Db-Ms", 0)))
    return {
        "median": statistics.median(server),
        "p95": percentile(server, 0.95),
        "client_p95": percentile(client, 0.95),
        "queries": f"{min(queries)}–{max(queries)}" if min(queries) != max(queries) else str(queries[0]),
        "db_median": statistics.median(database),
        "bytes": len(warm.content),
    }


def parts_timing(repeat: int) -> list[tuple[str, float, int]]:
    """Each selector of the owner's dashboard on its own: (name, median ms, queries)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from core.models import User
    from core.selectors import dashboard_attention, dashboard_charts, dashboard_money, dashboard_today
    from core.selectors.dashboard import dashboard_figures

    owner = User.objects.get(username="bench-owner")
    parts = [
        ("summary cards", lambda: dashboard_figures(owner)),
        ("today's sessions", lambda: dashboard_today.sessions_today()),
        ("money", lambda: dashboard_money.money_overview(None)),
        ("at risk", lambda: dashboard_attention.at_risk()),
        ("enrollments ending", lambda: dashboard_attention.enrollments_ending()),
        ("settlements waiting", lambda: dashboard_attention.settlements_waiting()),
        ("chart: attendance per week", lambda: dashboard_charts.attendance_by_week()),
        ("chart: money per month", lambda: dashboard_charts.money_by_month()),
        ("chart: collections by weekday", lambda: dashboard_charts.collections_by_weekday()),
        ("chart: students per month", lambda: dashboard_charts.students_by_month()),
    ]
    rows = []
    for name, run in parts:
        times = []
        for _ in range(repeat):
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                run()
                times.append((time.perf_counter() - started) * 1000)
        rows.append((name, statistics.median(times), len(captured)))
    return rows


def worker_refresh_ms(branch_id: int) -> float:
    """What ``dashboard_refresh`` (the worker, every minute) costs for two watched scopes."""
    from django.core.cache import cache

    from core.selectors.dashboard_page import WATCH_SECONDS, WATCHED_KEY, dashboard_refresh

    until = time.time() + WATCH_SECONDS
    cache.set(
        WATCHED_KEY,
        {"all": {"branch_ids": None, "until": until}, f"b{branch_id}": {"branch_ids": [branch_id], "until": until}},
        WATCH_SECONDS,
    )
    started = time.perf_counter()
    dashboard_refresh()
    return (time.perf_counter() - started) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 20,000 students and a year of history")
    parser.add_argument("--repeat", type=int, default=20, help="requests per variant (after one warm-up)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--parts", action="store_true", help="also time each part of the page in process")
    parser.add_argument("--no-cold", action="store_true", help="skip the cold variants (a few minutes)")
    args = parser.parse_args()

    database_url = bench_database_url()
    counts = seed(scale=args.scale)
    out("Dataset: " + ", ".join(f"{value:,} {label}" for label, value in counts.items()))
    cookie = owner_session_cookie()
    from django.urls import reverse

    from core.models import Branch

    index = reverse("admin:index")
    branch = Branch.objects.order_by("id").first()
    variants = [
        # The floor: a small admin page, to read the others against the machine's load.
        ("reference: the branches list (small page)", reverse("admin:core_branch_changelist"), False),
        ("owner, all branches, as served", index, False),
        (f"owner, one branch (#{branch.pk}), as served", f"{index}?branch={branch.pk}", False),
        ("owner, all branches, cold", index, True),
        (f"owner, one branch (#{branch.pk}), cold", f"{index}?branch={branch.pk}", True),
    ]
    if args.no_cold:
        variants = [variant for variant in variants if not variant[2]]
    if args.parts:
        out("\nEach part in process (median ms, queries):")
        for name, median, queries in parts_timing(max(3, args.repeat // 4)):
            out(f"  {name:<32} {median:8.1f} {queries:4d}")
    out("\nThe worker's refresh of the watched scopes (all branches and one), in process:")
    out(f"  {worker_refresh_ms(branch.pk):8.1f} ms")
    from django.db import connections

    connections.close_all()
    load_before = load_average()
    out(f"\nLoad average before: {load_before}")
    process, base = gunicorn_start(args.workers, database_url)
    results = []
    try:
        out(f"\n  {'variant':<44} {'median':>7} {'p95':>7} {'trip95':>7} {'db':>6} {'queries':>8} {'KB':>6}")
        for label, path, cold in variants:
            row = measure(base, cookie, path, args.repeat, cold=cold)
            results.append((label, cold, row))
            out(
                f"  {label:<44} {row['median']:7.1f} {row['p95']:7.1f} {row['client_p95']:7.1f} "
                f"{row['db_median']:6.1f} {row['queries']:>8} {row['bytes'] / 1024:6.1f}"
            )
    finally:
        process.terminate()
        process.wait(timeout=30)
    out(f"Load average after: {load_average()}")
    served = [row for label, cold, row in results if not cold and not label.startswith("reference")]
    worst = max(row["p95"] for row in served)
    verdict = "met" if worst < TARGET_MS else "MISSED"
    out(f"\nTarget p95 < {TARGET_MS:.0f} ms for the owner's dashboard as served: {verdict} ({worst:.1f} ms).")
    return 0 if worst < TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
