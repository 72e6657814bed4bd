"""Benchmark: import N new students (guardian + one enrollment each), end to end, two ways.

    .venv/bin/python bench/imports.py                      # SQLite (a throwaway database file)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/syseducore_bench .venv/bin/python bench/imports.py
    .venv/bin/python bench/imports.py --rows 2000          # a quicker run

It creates its own test database (``test_<name>``, migrated, dropped at the end) and, in the
same run, measures each variant in a fresh child process (so peak memory is its own):

- ``default``: a plain django-import-export ``ModelResource`` with default settings (the
  guardian, link and enrollment made in ``after_save_instance``), parsing the same .xlsx
  with tablib and calling ``import_data`` once;
- ``engine``: ``core.imports.engine.import_run`` (parse, normalize, check, plan, write in
  one transaction), the code the admin, the q2 task and ``import_students`` use;
- ``engine, no codes``: the same rows without a code column (codes from the counter);
- ``re-import``: the ``engine`` file imported again: every row unchanged.

Prints rows/s, seconds, CPU seconds and the child's peak RSS (MB) per variant as a table
(``--json`` too).
``--only VARIANT`` runs some variants; ``BENCH_PHASES=1`` prints the seconds of each step of the
engine, ``BENCH_PROFILE=1`` a cProfile summary.
"""

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path


def emit(line: str) -> None:
    """One line of the report on standard output."""
    sys.stdout.write(f"{line}\n")


ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
os.environ.setdefault("APP_ENV", "development")
os.environ.setdefault("LOG_LEVEL", "WARNING")

VARIANTS = ["default", "engine", "engine-no-codes", "reimport"]


def sheet(rows: int, *, codes: bool) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    worksheet = workbook.create_sheet()
    header = ["اسم الطالب", "هاتف ولي الأمر", "اسم ولي الأمر", "الصف", "أكواد المجموعات"]
    worksheet.append((["الكود"] if codes else []) + header)
    grades = ["الأول الثانوي", "الثاني الثانوي", "الثالث الثانوي"]
    for n in range(rows):
        row = [f"طالب تجربة {n}", f"010{n:08d}", f"ولي أمر {n}", grades[n % 3], f"B{n % 20}"]
        worksheet.append(([str(200000 + n)] if codes else []) + row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _default_resource():
    from import_export import fields, resources

    from core.models import Enrollment, Group, Guardian, Student, StudentGuardian
    from core.normalize import name_clean, phone_e164, search_key

    class DefaultStudentResource(resources.ModelResource):
        """What a first django-import-export resource for this model looks like."""

        code = fields.Field(attribute="code", column_name="الكود")
        full_name = fields.Field(attribute="full_name", column_name="اسم الطالب")
        guardian_phone = fields.Field(column_name="هاتف ولي الأمر")
        guardian_name = fields.Field(column_name="اسم ولي الأمر")
        group = fields.Field(column_name="أكواد المجموعات")

        class Meta:
            model = Student
            fields = ("code", "full_name", "branch")
            import_id_fields = ("code",)

        def __init__(self, branch):
            super().__init__()
            self.branch = branch

        def before_save_instance(self, instance, row, **kwargs):
            instance.full_name = name_clean(instance.full_name)
            instance.search_key = search_key(instance.full_name)
            instance.branch = self.branch

        def after_save_instance(self, instance, row, **kwargs):
            if kwargs.get("dry_run"):
                return
            guardian, _created = Guardian.objects.get_or_create(
                phone=phone_e164(row["هاتف ولي الأمر"]), defaults={"full_name": row["اسم ولي الأمر"]}
            )
            StudentGuardian.objects.get_or_create(student=instance, guardian=guardian, defaults={"is_primary": True})
            Enrollment.objects.create(
                student=instance,
                group=Group.objects.get(code=row["أكواد المجموعات"]),
                start_date=time.strftime("%Y-%m-%d"),
            )

    return DefaultStudentResource


def _time_phases() -> None:
    """Print the seconds spent in each step of the engine (BENCH_PHASES=1)."""
    import functools

    from django.db import models

    from core.imports import engine, writing
    from core.imports.students import StudentImporter

    def timed(owner, name):
        original = getattr(owner, name)

        @functools.wraps(original)
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                first = args[0] if args else None
                if isinstance(first, list):  # rows_insert(instances): the model of the rows
                    first = type(first[0]) if first else None
                label = first if isinstance(first, type) else getattr(first, "model", None)
                suffix = f"({label.__name__})" if isinstance(label, type) else ""
                sys.stderr.write(f"  {name}{suffix}: {time.perf_counter() - started:.2f}s\n")

        setattr(owner, name, wrapper)

    timed(engine, "sheet_read")
    timed(writing, "rows_insert")
    for name in ("row_parse_all", "rows_plan", "rows_apply", "_codes_assign"):
        if hasattr(StudentImporter, name):
            timed(StudentImporter, name)
    timed(models.QuerySet, "bulk_create")
    timed(models.QuerySet, "bulk_update")


def worker(variant: str, rows: int) -> dict:
    """Runs in a child process against the already-migrated test database."""
    import django

    django.setup()
    from django.db import connection

    from core.imports.engine import import_run
    from core.models import Branch, Student

    if os.environ.get("BENCH_PHASES"):
        _time_phases()
    connection.settings_dict["NAME"] = os.environ["BENCH_DB_NAME"]
    connection.close()
    branch = Branch.objects.order_by("id").first()
    data = sheet(rows, codes=variant != "engine-no-codes")
    result_rows = 0
    if variant == "default":
        import tablib

        started, cpu_started = time.perf_counter(), time.process_time()
        dataset = tablib.Dataset().load(io.BytesIO(data), format="xlsx")
        outcome = _default_resource()(branch).import_data(dataset, dry_run=False, raise_errors=True)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        result_rows = outcome.totals["new"]
    else:
        if variant == "reimport":
            import_run(data=data, file_name="bench.xlsx", branch=branch, apply=True)
        started, cpu_started = time.perf_counter(), time.process_time()
        outcome = import_run(data=data, file_name="bench.xlsx", branch=branch, apply=True)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        assert outcome.applied, outcome.file_error or outcome.issues()[:3]
        expected = "unchanged" if variant == "reimport" else "new"
        result_rows = outcome.count(expected)
    assert result_rows == rows, (variant, result_rows)
    assert Student.objects.count() == rows
    return {
        "variant": variant,
        "rows": rows,
        "seconds": round(elapsed, 2),
        # this process's CPU seconds: steadier than the wall clock on a shared, loaded machine
        "cpu_seconds": round(cpu, 2),
        "rows_per_second": round(rows / elapsed),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def reset(connection) -> None:
    """Empty what the previous variant wrote (students, guardians, enrollments, audit, counter)."""
    from core.models import AuditLog, Counter, Enrollment, Guardian, ImportJob, Student, StudentGuardian

    for model in (Enrollment, StudentGuardian, AuditLog, ImportJob, Student, Guardian, Counter):
        model.objects.all().delete()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--worker", choices=VARIANTS)
    parser.add_argument("--only", choices=VARIANTS, action="append", help="run only these variants")
    args = parser.parse_args()
    if args.worker:
        if os.environ.get("BENCH_PROFILE"):
            import cProfile
            import pstats

            profile = cProfile.Profile()
            result = profile.runcall(worker, args.worker, args.rows)
            pstats.Stats(profile, stream=sys.stderr).sort_stats("cumulative").print_stats(35)
        else:
            result = worker(args.worker, args.rows)
        emit(json.dumps(result))
        return

    import django

    django.setup()
    from django.db import connection
    from django.test.utils import get_runner  # noqa: F401  (test database helpers)

    from core.models import Branch
    from tests.factories import make_group

    creation = connection.creation
    test_name = creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    results = []
    try:
        branch = Branch.objects.order_by("id").first()
        for number in range(20):
            make_group(branch, code=f"B{number}", capacity=100_000)
        for variant in args.only or VARIANTS:
            reset(connection)
            connection.close()
            child = subprocess.run(
                [sys.executable, __file__, "--worker", variant, "--rows", str(args.rows)],
                env={**os.environ, "BENCH_DB_NAME": test_name},
                capture_output=True,
                text=True,
                check=False,
            )
            if os.environ.get("BENCH_PROFILE") or os.environ.get("BENCH_PHASES"):
                sys.stderr.write(child.stderr)
            if child.returncode:
                sys.stderr.write(child.stderr[-3000:])
                raise SystemExit(f"{variant} failed")
            results.append(json.loads(child.stdout.strip().splitlines()[-1]))
    finally:
        connection.close()
        creation.destroy_test_db(test_name, verbosity=0)
    vendor = connection.vendor
    if args.json:
        emit(json.dumps({"database": vendor, "results": results}, ensure_ascii=False))
    default = next((result["rows_per_second"] for result in results if result["variant"] == "default"), None)
    emit(f"{vendor}, {args.rows} rows")
    emit(f"{'variant':<18}{'seconds':>9}{'cpu s':>8}{'rows/s':>9}{'× default':>11}{'peak MB':>9}")
    for result in results:
        ratio = f"{result['rows_per_second'] / default:>10.1f}×" if default else f"{'—':>11}"
        emit(
            f"{result['variant']:<18}{result['seconds']:>9}{result['cpu_seconds']:>8}{result['rows_per_second']:>9}{ratio}"
            f"{result['peak_rss_mb']:>9}"
        )


if __name__ == "__main__":
    main()
