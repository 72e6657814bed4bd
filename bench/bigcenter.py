"""A big center with a year of history, for the page benchmark (``bench/pages.py``).

    .venv/bin/python bench/bigcenter.py                  # seed (or reuse) at full size
    .venv/bin/python bench/bigcenter.py --scale 0.05     # 1,000 students, a year, in a minute
    .venv/bin/python bench/bigcenter.py --reseed         # drop the database and build it again

PostgreSQL only (the history is written with set-based SQL: ``INSERT … SELECT generate_series``).
The database is its own, on the server of DATABASE_URL: ``syseducore_bench_pages`` unless
``BENCH_PAGES_DB`` names another. It is built once and reused: the table ``bench_seed`` holds the
seed version, the scale and the row counts; a different version or scale (or ``--reseed``) drops
and rebuilds it.

How it is built:

1. ``migrate`` and ``manage.py demo_data --students 20000×scale`` (2 branches, 408 teachers,
   1,360 groups, their weekly timetable, guardians, enrollments, this month's payments and two
   weeks of classes through the real services);
2. a year before that, in SQL: every weekly class held on its day (2 % cancelled), attendance for
   a sample of each group's students sized to ~1,000,000 rows × scale (present, late, absent,
   excused), monthly charges for monthly groups and one charge per admitted student for
   per-session groups, a receipt per student and month for most students with one payment line
   per enrollment, 1 % of receipts voided (void entries, receipt marked), 1 % partly refunded,
   discounts, reversed charges, a scan event for every admitted student and a refusal for half
   of the absent ones, and the audit rows the services write (attendance, receipts, voids);
3. the enrollments' ``ledger_balance`` recomputed (the per-row trigger is off during the bulk
   load), the receipt counters moved past the history, ``VACUUM ANALYZE``.
"""

import argparse
import datetime
import io
import json
import os
import time
from urllib.parse import urlsplit, urlunsplit

from common import django_setup, emit

SEED_VERSION = 1
FULL_STUDENTS = 20_000
FULL_ATTENDANCE = 1_000_000
DEFAULT_DB = "syseducore_bench_pages"


def bench_database_url() -> str:
    """DATABASE_URL's server with the benchmark's own database name."""
    configured = os.environ.get("DATABASE_URL", "")
    if not configured.startswith(("postgres://", "postgresql://")):
        raise SystemExit(
            "bench/pages.py needs PostgreSQL: set DATABASE_URL=postgres://user@host:port/any "
            "(the benchmark creates its own database on that server)."
        )
    parts = urlsplit(configured)
    name = os.environ.get("BENCH_PAGES_DB", DEFAULT_DB)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def _server_connection(url: str):
    import psycopg2

    parts = urlsplit(url)
    connection = psycopg2.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password or None,
        dbname="postgres",
    )
    connection.autocommit = True
    return connection


def _database_exists(url: str) -> bool:
    name = urlsplit(url).path.lstrip("/")
    with _server_connection(url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        return cursor.fetchone() is not None


def _database_recreate(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    connection = _server_connection(url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            cursor.execute(f'CREATE DATABASE "{name}"')
    finally:
        connection.close()


def _marker(url: str) -> dict | None:
    import psycopg2

    parts = urlsplit(url)
    try:
        connection = psycopg2.connect(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 5432,
            user=parts.username or "postgres",
            password=parts.password or None,
            dbname=parts.path.lstrip("/"),
        )
    except psycopg2.OperationalError:
        return None
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass('bench_seed')")
            if cursor.fetchone()[0] is None:
                return None
            cursor.execute("SELECT version, scale, counts FROM bench_seed ORDER BY seeded_at DESC LIMIT 1")
            row = cursor.fetchone()
    finally:
        connection.close()
    if row is None:
        return None
    return {"version": row[0], "scale": float(row[1]), "counts": row[2]}


COUNTED_TABLES = [
    ("students", "core_student"),
    ("guardians", "core_guardian"),
    ("teachers", "core_teacher"),
    ("groups", "core_group"),
    ("enrollments", "core_enrollment"),
    ("sessions", "core_session"),
    ("attendance", "core_attendance"),
    ("ledger entries", "core_ledgerentry"),
    ("receipts", "core_receipt"),
    ("scan events", "core_scanevent"),
    ("audit rows", "core_auditlog"),
    ("messages", "core_message"),
]


def row_counts() -> dict[str, int]:
    from django.db import connection

    counts = {}
    with connection.cursor() as cursor:
        for label, table in COUNTED_TABLES:
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - fixed table names
            counts[label] = cursor.fetchone()[0]
    return counts


def _step(cursor, label: str, sql: str, params: dict | None = None) -> int:
    started = time.monotonic()
    cursor.execute(sql, params or {})
    emit(f"  {label}: {cursor.rowcount:,} rows in {time.monotonic() - started:.1f} s")
    return cursor.rowcount


def history_build(*, scale: float) -> None:
    """A year of classes, attendance, money, scans and audit rows before demo_data's two weeks."""
    from django.db import connection, transaction
    from django.utils import timezone

    from core.access.roles import Role
    from core.models import Kiosk, User

    today = timezone.localdate()
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(date) FROM core_session")
        first_demo_day = cursor.fetchone()[0] or today
    end = first_demo_day - datetime.timedelta(days=1)
    start = today - datetime.timedelta(days=365)
    cashiers = list(
        User.objects.filter(groups__name__in=[Role.RECEPTIONIST, Role.ACCOUNTANT, Role.MANAGER])
        .order_by("id")
        .values_list("id", flat=True)
    ) or list(User.objects.order_by("id").values_list("id", flat=True)[:1])
    manager = User.objects.filter(groups__name=Role.MANAGER).order_by("id").values_list("id", flat=True).first()
    kiosks = dict(Kiosk.objects.order_by("id").values_list("branch_id", "id"))
    params = {
        "start": start,
        "end": end,
        "first_month": start.replace(day=1) + datetime.timedelta(days=31),
        "last_month": today.replace(day=1) - datetime.timedelta(days=1),
        "cashiers": cashiers,
        "n_cashiers": len(cashiers),
        "manager": manager or cashiers[0],
        "kiosks": json.dumps({str(branch): kiosk for branch, kiosk in kiosks.items()}),
    }
    params["first_month"] = params["first_month"].replace(day=1)
    params["last_month"] = params["last_month"].replace(day=1)
    emit(f"History from {start} to {end} (scale {scale}):")
    with transaction.atomic(), connection.cursor() as cursor:
        # Bulk load: no per-row triggers (the ledger balance trigger, FK checks); recomputed below.
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("SELECT coalesce(max(id), 0) FROM core_ledgerentry")
        params["ledger_before"] = cursor.fetchone()[0]
        cursor.execute("SELECT coalesce(max(id), 0) FROM core_attendance")
        params["attendance_before"] = cursor.fetchone()[0]
        cursor.execute("SELECT coalesce(max(id), 0) FROM core_receipt")
        params["receipt_before"] = cursor.fetchone()[0]
        _step(
            cursor,
            "enrollments dated a year back",
            "UPDATE core_enrollment SET start_date = %(start)s, created_at = %(start)s::timestamp AT TIME ZONE "
            "'Africa/Cairo' WHERE start_date > %(start)s AND transferred_from_id IS NULL AND carried_month IS NULL",
            params,
        )
        _step(
            cursor,
            "sessions",
            """
            INSERT INTO core_session (date, starts_at, ends_at, status, cancel_reason, is_extra,
                teacher_checked_in_at, absences_marked_at, created_at, group_id, room_id, slot_id)
            SELECT d, t.st, t.st + make_interval(mins => s.duration_minutes),
                CASE WHEN t.cancelled THEN 'cancelled' ELSE 'held' END,
                CASE WHEN t.cancelled THEN 'Teacher absent' ELSE '' END, false,
                CASE WHEN t.cancelled THEN NULL ELSE t.st - interval '5 minutes' END,
                CASE WHEN t.cancelled THEN NULL ELSE t.st + make_interval(mins => s.duration_minutes) END,
                t.st - interval '7 days', s.group_id, s.room_id, s.id
            FROM core_scheduleslot s
            CROSS JOIN LATERAL generate_series(%(start)s::date, %(end)s::date, interval '1 day') AS g(day)
            CROSS JOIN LATERAL (SELECT g.day::date AS d) AS dd
            CROSS JOIN LATERAL (
                SELECT (dd.d + s.start_time) AT TIME ZONE 'Africa/Cairo' AS st,
                       (s.id * 31 + (dd.d - %(start)s::date)) %% 50 = 0 AS cancelled
            ) AS t
            WHERE s.is_active AND (extract(isodow FROM dd.d)::int + 1) %% 7 = s.weekday
            ON CONFLICT DO NOTHING
            """,
            params,
        )
        cursor.execute(
            "SELECT count(*) FROM core_session s JOIN core_enrollment e ON e.group_id = s.group_id "
            "WHERE s.date <= %(end)s AND s.status = 'held'",
            params,
        )
        pairs = cursor.fetchone()[0] or 1
        params["per_mille"] = max(1, min(1000, round(FULL_ATTENDANCE * scale * 1000 / pairs)))
        _step(
            cursor,
            f"attendance ({params['per_mille'] / 10:.1f} % of {pairs:,} student-sessions)",
            """
            INSERT INTO core_attendance (status, at, minutes_late, source, reason, created_at,
                enrollment_id, recorded_by_id, session_id, student_id)
            SELECT CASE WHEN x.h < 80 THEN 'present' WHEN x.h < 88 THEN 'late'
                        WHEN x.h < 98 THEN 'absent' ELSE 'excused' END,
                   x.at, CASE WHEN x.h BETWEEN 80 AND 87 THEN 5 + x.h %% 10 ELSE 0 END,
                   CASE WHEN x.h < 88 THEN 'kiosk' ELSE 'manual' END,
                   CASE WHEN x.h >= 98 THEN 'Sick' ELSE '' END,
                   x.at, x.enrollment_id, NULL, x.session_id, x.student_id
            FROM (
                SELECT s.id AS session_id, e.id AS enrollment_id, e.student_id,
                       (s.id * 7 + e.id * 13) %% 100 AS h,
                       CASE WHEN (s.id * 7 + e.id * 13) %% 100 < 80
                                THEN s.starts_at - make_interval(mins => ((s.id + e.id) %% 20)::int)
                            WHEN (s.id * 7 + e.id * 13) %% 100 < 88
                                THEN s.starts_at + make_interval(mins => (5 + (s.id * 7 + e.id * 13) %% 10)::int)
                            ELSE s.ends_at END AS at
                FROM core_session s JOIN core_enrollment e ON e.group_id = s.group_id
                WHERE s.date <= %(end)s AND s.status = 'held'
                  AND (s.id * 2654435761 + e.id * 40503) %% 1000 < %(per_mille)s
            ) AS x
            ON CONFLICT DO NOTHING
            """,
            params,
        )
        price = "CASE e.fee_plan WHEN 'exempt' THEN 0 WHEN 'reduced' THEN coalesce(e.custom_fee, 0) ELSE g.fee END"
        _step(
            cursor,
            "monthly charges",
            f"""
            INSERT INTO core_ledgerentry (entry_type, amount, date, period_month, reversed_at, source,
                created_at, note, created_by_id, enrollment_id, reverses_id, session_id, receipt_id)
            SELECT 'charge', {price}, m.month::date, m.month::date, NULL, 'system',
                   m.month::date + interval '6 hours', '', NULL, e.id, NULL, NULL, NULL
            FROM core_enrollment e JOIN core_group g ON g.id = e.group_id
            CROSS JOIN LATERAL generate_series(%(first_month)s::date, %(last_month)s::date, interval '1 month')
                AS m(month)
            WHERE g.fee_period = 'month' AND {price} > 0
            ON CONFLICT DO NOTHING
            """,  # noqa: S608 - price is the fixed expression above
            params,
        )
        _step(
            cursor,
            "session charges at the door",
            f"""
            INSERT INTO core_ledgerentry (entry_type, amount, date, period_month, reversed_at, source,
                created_at, note, created_by_id, enrollment_id, reverses_id, session_id, receipt_id)
            SELECT 'charge', {price}, s.date, NULL, NULL, 'door', a.at, '', NULL, e.id, NULL, s.id, NULL
            FROM core_attendance a
            JOIN core_session s ON s.id = a.session_id
            JOIN core_enrollment e ON e.id = a.enrollment_id
            JOIN core_group g ON g.id = e.group_id
            WHERE a.id > %(attendance_before)s AND a.status IN ('present', 'late')
              AND g.fee_period = 'session' AND {price} > 0
            ON CONFLICT DO NOTHING
            """,  # noqa: S608 - price is the fixed expression above
            params,
        )
        cursor.execute(
            """
            CREATE TEMP TABLE bench_pay ON COMMIT DROP AS
            SELECT l.enrollment_id, e.student_id, date_trunc('month', l.date)::date AS month, sum(l.amount) AS amount
            FROM core_ledgerentry l JOIN core_enrollment e ON e.id = l.enrollment_id
            WHERE l.id > %(ledger_before)s AND l.entry_type = 'charge'
            GROUP BY 1, 2, 3
            """,
            params,
        )
        _step(
            cursor,
            "receipts",
            """
            INSERT INTO core_receipt (year, sequence, number, date, method, reference, total, note, created_at,
                idempotency_key, print_count, voided_at, void_reason, branch_id, cashier_id, student_id, voided_by_id)
            SELECT r.year, coalesce(c.value, 0) + r.position,
                   r.year || '-' || lpad((coalesce(c.value, 0) + r.position)::text, 6, '0'),
                   r.day, CASE WHEN r.student_id %% 10 = 0 THEN 'wallet' WHEN r.student_id %% 20 = 1 THEN 'instapay'
                               ELSE 'cash' END,
                   '', r.total, '', (r.day + time '10:00') AT TIME ZONE 'Africa/Cairo' + make_interval(
                       mins => (r.student_id %% 480)::int),
                   r.key, 1, NULL, '', r.branch_id,
                   (%(cashiers)s::bigint[])[1 + (r.student_id %% %(n_cashiers)s)], r.student_id, NULL
            FROM (
                SELECT p.student_id, st.branch_id, extract(year FROM p.month)::int AS year,
                       least(p.month + (p.student_id %% 25)::int, %(end)s::date) AS day,
                       sum(p.amount) AS total, 'bench-' || p.student_id || '-' || to_char(p.month, 'YYYYMM') AS key,
                       row_number() OVER (PARTITION BY st.branch_id, extract(year FROM p.month)
                                          ORDER BY p.month, p.student_id) AS position
                FROM bench_pay p JOIN core_student st ON st.id = p.student_id
                WHERE (p.student_id * 37 + extract(month FROM p.month)::int * 101) %% 100 < 90
                GROUP BY p.student_id, st.branch_id, p.month
            ) AS r
            LEFT JOIN core_counter c ON c.key = 'receipt:' || r.branch_id || ':' || r.year
            """,
            params,
        )
        _step(
            cursor,
            "payment lines",
            """
            INSERT INTO core_ledgerentry (entry_type, amount, date, period_month, reversed_at, source,
                created_at, note, created_by_id, enrollment_id, reverses_id, session_id, receipt_id)
            SELECT 'payment', p.amount, r.date, NULL, NULL, 'desk', r.created_at, '', r.cashier_id,
                   p.enrollment_id, NULL, NULL, r.id
            FROM bench_pay p
            JOIN core_receipt r ON r.idempotency_key = 'bench-' || p.student_id || '-' || to_char(p.month, 'YYYYMM')
            """,
            params,
        )
        _step(
            cursor,
            "counters past the history",
            """
            INSERT INTO core_counter (key, value)
            SELECT 'receipt:' || branch_id || ':' || year, max(sequence) FROM core_receipt GROUP BY branch_id, year
            ON CONFLICT (key) DO UPDATE SET value = greatest(core_counter.value, excluded.value)
            """,
        )
        _step(
            cursor,
            "receipts voided",
            "UPDATE core_receipt SET voided_at = created_at + interval '1 hour', voided_by_id = %(manager)s, "
            "void_reason = 'Wrong amount' WHERE id > %(receipt_before)s AND id %% 100 = 7",
            params,
        )
        _step(
            cursor,
            "void entries",
            """
            INSERT INTO core_ledgerentry (entry_type, amount, date, period_month, reversed_at, source,
                created_at, note, created_by_id, enrollment_id, reverses_id, session_id, receipt_id)
            SELECT 'void', l.amount, l.date, NULL, NULL, 'desk', r.voided_at, 'Wrong amount', r.voided_by_id,
                   l.enrollment_id, l.id, NULL, r.id
            FROM core_ledgerentry l JOIN core_receipt r ON r.id = l.receipt_id
            WHERE r.id > %(receipt_before)s AND r.voided_at IS NOT NULL AND l.entry_type = 'payment'
            """,
            params,
        )
        cursor.execute(
            "UPDATE core_ledgerentry l SET reversed_at = r.voided_at FROM core_receipt r "
            "WHERE r.id = l.receipt_id AND r.id > %(receipt_before)s AND r.voided_at IS NOT NULL "
            "AND l.entry_type = 'payment'",
            params,
        )
        _step(
            cursor,
            "refunds (half of a line)",
            """
            INSERT INTO core_ledgerentry (entry_type, amount, date, period_month, reversed_at, source,
                created_at, note, created_by_id, enrollment_id, reverses_id, session_id, receipt_id)
            SELECT 'refund', round(l.amount / 2, 2), l.date + 3, NULL, NULL, 'desk', l.created_at + interval '3 days',
                   'Left the group', %(manager)s, l.enrollment_id, NULL, NULL, l.receipt_id
            FROM core_ledgerentry l
            WHERE l.id > %(ledger_before)s AND l.entry_type = 'payment' AND l.receipt_id %% 100 = 13
              AND l.amount >= 0.02
            """,
            params,
        )
        _step(
            cursor,
            "discounts",
            """
            INSERT INTO core_ledgerentry (entry_type, amount, date, period_month, reversed_at, source,
                created_at, note, created_by_id, enrollment_id, reverses_id, session_id, receipt_id)
            SELECT 'discount', least(50, l.amount), l.date, NULL, NULL, 'desk', l.created_at + interval '1 day',
                   'Sibling discount', %(manager)s, l.enrollment_id, NULL, NULL, NULL
            FROM core_ledgerentry l
            WHERE l.id > %(ledger_before)s AND l.entry_type = 'charge' AND l.period_month IS NOT NULL
              AND l.enrollment_id %% 40 = 3
            """,
            params,
        )
        _step(
            cursor,
            "reversed charges",
            """
            INSERT INTO core_ledgerentry (entry_type, amount, date, period_month, reversed_at, source,
                created_at, note, created_by_id, enrollment_id, reverses_id, session_id, receipt_id)
            SELECT 'reversal', l.amount, l.date + 1, NULL, NULL, 'system', l.created_at + interval '1 day',
                   'Session cancelled', NULL, l.enrollment_id, l.id, l.session_id, NULL
            FROM core_ledgerentry l
            WHERE l.id > %(ledger_before)s AND l.entry_type = 'charge' AND l.id %% 100 = 42
            """,
            params,
        )
        cursor.execute(
            "UPDATE core_ledgerentry l SET reversed_at = r.created_at FROM core_ledgerentry r "
            "WHERE r.reverses_id = l.id AND r.id > %(ledger_before)s AND r.entry_type = 'reversal'",
            params,
        )
        _step(
            cursor,
            "scan events",
            """
            INSERT INTO core_scanevent (at, raw_code, code, outcome, message, client_scan_id, response, kiosk_id,
                operator_id, session_id, student_id, teacher_id, received_at)
            SELECT a.at, st.code, st.code,
                   CASE WHEN a.status = 'absent' THEN 'pay_first' ELSE a.status END,
                   CASE WHEN a.status = 'absent' THEN 'Pay first' ELSE 'Welcome ' || st.full_name END, '', '{}'::jsonb,
                   (%(kiosks)s::jsonb ->> g.branch_id::text)::bigint, NULL, a.session_id, a.student_id, NULL, a.at
            FROM core_attendance a
            JOIN core_student st ON st.id = a.student_id
            JOIN core_session s ON s.id = a.session_id
            JOIN core_group g ON g.id = s.group_id
            WHERE a.id > %(attendance_before)s
              AND (a.status IN ('present', 'late') OR (a.status = 'absent' AND a.id %% 2 = 0))
            """,
            params,
        )
        _step(
            cursor,
            "audit rows: attendance",
            """
            INSERT INTO core_auditlog (at, action, model, object_id, object_repr, changes, reason, actor_id)
            SELECT a.at, 'create', 'core.attendance', a.id::text,
                   left(st.full_name || ' (' || st.code || ') · ' || g.code || ' · ' || s.date, 200),
                   jsonb_build_object('status', jsonb_build_array(NULL, a.status)), '', NULL
            FROM core_attendance a
            JOIN core_student st ON st.id = a.student_id
            JOIN core_session s ON s.id = a.session_id
            JOIN core_group g ON g.id = s.group_id
            WHERE a.id > %(attendance_before)s AND a.status IN ('present', 'late')
            """,
            params,
        )
        _step(
            cursor,
            "audit rows: receipts and voids",
            """
            INSERT INTO core_auditlog (at, action, model, object_id, object_repr, changes, reason, actor_id)
            SELECT r.created_at, 'create', 'core.receipt', r.id::text, r.number,
                   jsonb_build_object('total', jsonb_build_array(NULL, r.total::text)), '', r.cashier_id
            FROM core_receipt r WHERE r.id > %(receipt_before)s
            UNION ALL
            SELECT r.voided_at, 'update', 'core.receipt', r.id::text, r.number,
                   jsonb_build_object('voided', jsonb_build_array(false, true)), r.void_reason, r.voided_by_id
            FROM core_receipt r WHERE r.id > %(receipt_before)s AND r.voided_at IS NOT NULL
            """,
            params,
        )
        # Per-row checks were off: one look that the FKs written by hand resolve.
        cursor.execute(
            "SELECT count(*) FROM core_ledgerentry l LEFT JOIN core_enrollment e ON e.id = l.enrollment_id "
            "WHERE e.id IS NULL"
        )
        if cursor.fetchone()[0]:
            raise RuntimeError("ledger entries without their enrollment")
    _balances_recompute()


def _balances_recompute() -> None:
    """The per-enrollment balance kept by the ledger trigger, rebuilt after the trigger-less load."""
    try:
        from core.services.ledger_balance import ledger_balances_recompute
    except ImportError:
        return
    started = time.monotonic()
    changed = ledger_balances_recompute()
    emit(f"  enrollment balances recomputed: {changed:,} in {time.monotonic() - started:.1f} s")


def seed(*, scale: float = 1.0, reseed: bool = False) -> dict[str, int]:
    """Make sure the benchmark database holds the center at ``scale``; return its row counts.

    Sets up Django on that database (call before importing models).
    """
    url = bench_database_url()
    marker = None if reseed else _marker(url)
    if marker and marker["version"] == SEED_VERSION and abs(marker["scale"] - scale) < 1e-9:
        django_setup(url)
        from django.core.management import call_command

        call_command("migrate", verbosity=0)  # new migrations of the project since the seed
        emit(f"Reusing {urlsplit(url).path.lstrip('/')} (seed version {SEED_VERSION}, scale {scale}).")
        return row_counts()
    started = time.monotonic()
    emit(f"Building {urlsplit(url).path.lstrip('/')} at scale {scale} (a few minutes at full size) …")
    _database_recreate(url)
    django_setup(url)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    step = time.monotonic()
    call_command("demo_data", students=max(50, round(FULL_STUDENTS * scale)), verbosity=0, stdout=io.StringIO())
    emit(f"  demo_data: {time.monotonic() - step:.1f} s")
    history_build(scale=scale)
    step = time.monotonic()
    connection.close()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    emit(f"  VACUUM ANALYZE: {time.monotonic() - step:.1f} s")
    counts = row_counts()
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_seed (version integer, scale numeric, counts jsonb, seeded_at timestamptz)"
        )
        cursor.execute("INSERT INTO bench_seed VALUES (%s, %s, %s, now())", [SEED_VERSION, scale, json.dumps(counts)])
    emit(f"Built in {time.monotonic() - started:.0f} s.")
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 20,000 students, ~1M attendance rows")
    parser.add_argument("--reseed", action="store_true", help="drop the benchmark database and build it again")
    args = parser.parse_args()
    counts = seed(scale=args.scale, reseed=args.reseed)
    for label, value in counts.items():
        emit(f"  {label:<15} {value:>10,}")


if __name__ == "__main__":
    main()
