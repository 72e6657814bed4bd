"""Benchmark: settle a whole month, and the defaulters report, on a center of realistic size.

    .venv/bin/python bench/settlements.py                   # SQLite (a throwaway database file)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/syseducore_dev .venv/bin/python bench/settlements.py
    .venv/bin/python bench/settlements.py --lines 10000     # a quicker run

It creates its own test database (``test_<name>``, migrated, dropped at the end) and bulk-loads:
100 teachers, 1,000 groups (80 % percent of collected, 10 % per held session, 10 % per
attending student, each with four sessions in the month), 20,000 students, ``--lines`` receipt
lines (default 100,000: one payment line per receipt, 1 % voided, 1 % partly refunded) spread
over the month, and attendances for the per-student groups. Then it measures:

1. ``settlements_run_month`` for the month (every teacher's draft), wall time and queries;
2. the same again on half the receipt lines' worth of data is not needed: the query count is
   printed per teacher, and the figures below show it does not move with ``--lines``;
3. the defaulters report page (the admin view, 100 rows a page) with 20,000 students owing:
   wall time and queries.
"""

import argparse
import datetime
import random
import time
from decimal import Decimal

from common import django_setup, emit, throwaway_database

MONTH = datetime.date(2026, 10, 1)
BATCH = 5000


def load(*, teachers: int, groups: int, students: int, lines: int) -> None:
    from django.utils import timezone

    from core.models import (
        Attendance,
        Branch,
        Enrollment,
        EntryType,
        Group,
        LedgerEntry,
        PayScheme,
        Receipt,
        Room,
        Session,
        Student,
        Teacher,
        User,
    )

    rng = random.Random(7)
    branch = Branch.objects.order_by("id").first() or Branch.objects.create(name_ar="الفرع", name_en="Main")
    room = Room.objects.create(branch=branch, name="Bench room")
    cashier = User.objects.create_user(username="bench-cashier", password="x" * 20, is_staff=True)
    teacher_rows = Teacher.objects.bulk_create(
        [Teacher(full_name=f"أستاذ {n}", search_key=f"استاذ {n}") for n in range(teachers)]
    )
    schemes = [PayScheme.PERCENT] * 8 + [PayScheme.PER_SESSION, PayScheme.PER_STUDENT]
    group_rows = Group.objects.bulk_create(
        [
            Group(
                code=f"B{n}",
                name=f"مجموعة {n}",
                teacher=teacher_rows[n % teachers],
                branch=branch,
                fee=Decimal("200.00"),
                pay_scheme=schemes[n % 10],
                pay_rate=Decimal("70") if schemes[n % 10] == PayScheme.PERCENT else Decimal("15.00"),
            )
            for n in range(groups)
        ],
        batch_size=BATCH,
    )
    student_rows = Student.objects.bulk_create(
        [
            Student(code=str(500000 + n), full_name=f"طالب {n}", search_key=f"طالب {n}", branch=branch)
            for n in range(students)
        ],
        batch_size=BATCH,
    )
    # Each student in five groups: 100,000 enrollments for 20,000 students and 1,000 groups.
    enrollments = Enrollment.objects.bulk_create(
        [
            Enrollment(student=student, group=group_rows[(index * 5 + k) % groups], start_date=MONTH)
            for index, student in enumerate(student_rows)
            for k in range(5)
        ],
        batch_size=BATCH,
    )
    # A charge per enrollment (so everyone owes something for the defaulters report).
    LedgerEntry.objects.bulk_create(
        [
            LedgerEntry(
                enrollment=e,
                entry_type=EntryType.CHARGE,
                amount=Decimal("200.00"),
                date=MONTH,
                period_month=MONTH,
                source="system",
            )
            for e in enrollments
        ],
        batch_size=BATCH,
    )
    receipts = []
    for n in range(lines):
        day = MONTH + datetime.timedelta(days=n % 28)
        receipts.append(
            Receipt(
                branch=branch,
                year=day.year,
                sequence=n + 1,
                number=f"{day.year}-{n + 1:06d}",
                student_id=enrollments[n % len(enrollments)].student_id,
                date=day,
                total=Decimal("150.00"),
                cashier=cashier,
            )
        )
    receipts = Receipt.objects.bulk_create(receipts, batch_size=BATCH)
    entries = [
        LedgerEntry(
            enrollment=enrollments[n % len(enrollments)],
            entry_type=EntryType.PAYMENT,
            amount=Decimal("150.00"),
            date=receipt.date,
            receipt=receipt,
            source="desk",
        )
        for n, receipt in enumerate(receipts)
    ]
    entries = LedgerEntry.objects.bulk_create(entries, batch_size=BATCH)
    undo = []
    for n, payment in enumerate(entries):
        if n % 100 == 0:
            undo.append(
                LedgerEntry(
                    enrollment_id=payment.enrollment_id,
                    entry_type=EntryType.VOID,
                    amount=payment.amount,
                    date=payment.date,
                    receipt_id=payment.receipt_id,
                    reverses=payment,
                    source="desk",
                )
            )
        elif n % 100 == 1:
            undo.append(
                LedgerEntry(
                    enrollment_id=payment.enrollment_id,
                    entry_type=EntryType.REFUND,
                    amount=Decimal("50.00"),
                    date=payment.date,
                    receipt_id=payment.receipt_id,
                    source="desk",
                )
            )
    LedgerEntry.objects.bulk_create(undo, batch_size=BATCH)
    sessions = []
    for group in group_rows:
        if group.pay_scheme == PayScheme.PERCENT:
            continue
        for week in range(4):
            starts = timezone.make_aware(
                datetime.datetime.combine(MONTH + datetime.timedelta(days=7 * week), datetime.time(16))
            )
            sessions.append(
                Session(
                    group=group,
                    date=starts.date(),
                    starts_at=starts,
                    ends_at=starts + datetime.timedelta(hours=2),
                    room=room,
                    teacher_checked_in_at=starts if rng.random() < 0.9 else None,
                )
            )
    sessions = Session.objects.bulk_create(sessions, batch_size=BATCH)
    by_group: dict[int, list] = {}
    for enrollment in enrollments:
        by_group.setdefault(enrollment.group_id, []).append(enrollment)
    attendances = [
        Attendance(
            session=session,
            student_id=e.student_id,
            enrollment=e,
            status=Attendance.Status.PRESENT,
            at=session.starts_at,
            source=Attendance.Source.KIOSK,
        )
        for session in sessions
        if session.group.pay_scheme == PayScheme.PER_STUDENT
        for e in by_group.get(session.group_id, [])
    ]
    Attendance.objects.bulk_create(attendances, batch_size=BATCH)
    emit(
        f"loaded: {teachers} teachers, {groups} groups, {students} students, {len(enrollments)} enrollments, "
        f"{lines} receipt lines, {len(undo)} voids/refunds, {len(sessions)} sessions, {len(attendances)} attendances"
    )
    from django.db import connection

    if connection.vendor == "postgresql":
        # A running center's autovacuum has long since seen this data; a bulk load an instant ago
        # has not (every ledger row also updated its enrollment's kept balance, leaving dead row
        # versions behind): without statistics the planner guesses, and the month's sums crawl.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")


def measure(label: str, func):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        result = func()
        seconds = time.perf_counter() - started
    emit(f"{label}: {seconds:.2f} s, {len(queries)} queries")
    return result, seconds, len(queries)


def defaulters_page():
    from django.contrib import admin
    from django.contrib.messages.storage.fallback import FallbackStorage
    from django.contrib.sessions.backends.db import SessionStore
    from django.test import RequestFactory

    from core.models import Receipt, User

    owner = User.objects.filter(is_superuser=True).first() or User.objects.create_superuser(
        "bench-owner", password="y" * 20
    )
    request = RequestFactory().get("/admin/core/receipt/reports/defaulters/")
    request.user = owner
    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    response = admin.site._registry[Receipt].defaulters_view(request)
    response.render()
    return response


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teachers", type=int, default=100)
    parser.add_argument("--groups", type=int, default=1000)
    parser.add_argument("--students", type=int, default=20000)
    parser.add_argument("--lines", type=int, default=100_000)
    args = parser.parse_args()

    django_setup()
    with throwaway_database():
        started = time.perf_counter()
        load(teachers=args.teachers, groups=args.groups, students=args.students, lines=args.lines)
        emit(f"load: {time.perf_counter() - started:.1f} s")
        from core.models import Group
        from core.services.settlements import _figures, settlement_teachers, settlements_run_month

        measure("  phase: teachers of the month", lambda: list(settlement_teachers(MONTH)))
        group_ids = list(Group.objects.values_list("id", flat=True))
        measure("  phase: grouped sums for all groups", lambda: _figures(group_ids, MONTH))
        done, _seconds, queries = measure(
            "settlements_run_month", lambda: settlements_run_month(month=MONTH, actor=None)
        )
        emit(f"  {len(done)} settlements, {queries / max(len(done), 1):.1f} queries per teacher")
        measure(
            "settlements_run_month again (recompute drafts)", lambda: settlements_run_month(month=MONTH, actor=None)
        )
        response, _seconds, _queries = measure("defaulters report page", defaulters_page)
        emit(f"  status {response.status_code}, {len(response.context_data['rows'])} rows on the page")


if __name__ == "__main__":
    main()
