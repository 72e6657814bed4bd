"""Benchmark: back up (and verify) a big center; show that memory does not grow with the data.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/syseducore_dev .venv/bin/python bench/backup.py
    .venv/bin/python bench/backup.py --sizes 200000 1000000      # SQLite (a throwaway database file)

It creates its own test database (``test_<name>``, migrated, dropped at the end), loads the demo
center with ``--students`` students (``demo_data``), adds past sessions and then attendance rows
with one bulk ``INSERT ... SELECT`` up to each of ``--sizes``, and at each size measures:

1. ``archive_write``: the whole center to a zip in a temporary folder (the backup itself);
2. ``archive_verify``: that zip restored into a scratch SQLite database, every table counted;

each with wall time and the process's peak resident memory during that step (``VmHWM``, reset
before each step through ``/proc/self/clear_refs``), so the figures of two sizes show whether
memory grows with the data.
"""

import argparse
import datetime
import math
import os
import tempfile
import time
from pathlib import Path

from common import django_setup, emit, throwaway_database, timed


def sessions_add(weeks: int) -> None:
    """Past copies of the demo's sessions, one per week back (extra sessions: no slot)."""
    from core.models import Session

    template = list(Session.objects.filter(is_extra=False).values())
    batch = []
    for week in range(1, weeks + 1):
        shift = datetime.timedelta(days=7 * (week + 4))
        for row in template:
            row = {**row, "id": None, "slot_id": None, "is_extra": True}
            row.update(date=row["date"] - shift, starts_at=row["starts_at"] - shift, ends_at=row["ends_at"] - shift)
            batch.append(Session(**row))
    Session.objects.bulk_create(batch, batch_size=5000)


def attendance_fill(target: int) -> int:
    """Attendance rows up to ``target`` in total, one INSERT ... SELECT over extra sessions × enrollments."""
    from django.db import connection

    from core.models import Attendance

    have = Attendance.objects.count()
    if have >= target:
        return have
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO core_attendance (session_id, student_id, enrollment_id, status, at, minutes_late,"
            " source, reason, created_at, recorded_by_id)"
            " SELECT s.id, e.student_id, e.id, 'present', s.starts_at, 0, 'kiosk', '', s.starts_at, NULL"
            " FROM core_session s JOIN core_enrollment e ON e.group_id = s.group_id"
            " WHERE s.is_extra = %s AND NOT EXISTS (SELECT 1 FROM core_attendance a"
            "  WHERE a.session_id = s.id AND a.student_id = e.student_id)"
            " ORDER BY s.id, e.id LIMIT %s",
            [True, target - have],
        )
    return Attendance.objects.count()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=20000)
    parser.add_argument("--sizes", type=int, nargs="+", default=[200_000, 1_000_000], help="attendance rows")
    args = parser.parse_args()

    django_setup()
    from django.core.files.storage import FileSystemStorage
    from django.core.management import call_command

    from core.models import Enrollment, Session
    from core.services.backup_archive import archive_verify, archive_write

    with throwaway_database():
        started = time.perf_counter()
        with open(os.devnull, "w") as quiet:
            call_command("demo_data", students=args.students, stdout=quiet)
        emit(f"demo_data --students {args.students}: {time.perf_counter() - started:.1f} s")
        pairs_per_week = sum(
            Enrollment.objects.filter(group_id=group_id).count()
            for group_id in Session.objects.filter(is_extra=False).values_list("group_id", flat=True)
        )
        started = time.perf_counter()
        sessions_add(math.ceil(max(args.sizes) / max(pairs_per_week, 1)) + 1)
        emit(f"past sessions added: {time.perf_counter() - started:.1f} s")
        uploads = tempfile.TemporaryDirectory(prefix="bench-media-")
        storage = FileSystemStorage(location=uploads.name)
        for size in sorted(args.sizes):
            started = time.perf_counter()
            rows = attendance_fill(size)
            emit(f"attendance rows: {rows} (filled in {time.perf_counter() - started:.1f} s)")
            with tempfile.TemporaryDirectory(prefix="bench-backup-") as directory:
                path = Path(directory) / "backup.zip"
                manifest = timed("backup (archive_write)", lambda path=path: archive_write(path, storage=storage))
                emit(
                    f"    {sum(manifest.tables.values())} rows in {len(manifest.tables)} tables, zip {path.stat().st_size / 1e6:.1f} MB"
                )
                result = timed("verify (restore into scratch SQLite, count)", lambda path=path: archive_verify(path))
                emit(f"    {'passed' if result.passed else 'FAILED'}: {result.detail}")
        uploads.cleanup()


if __name__ == "__main__":
    main()
