"""The busy pages run as many queries with four times the history (issue 13).

Each test builds a week of history (sessions, attendance, charges, receipts with payments, scans,
audit rows) for a few groups, counts the page's queries, adds three more weeks and counts again.
"""

import datetime
import itertools
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.models import (
    Attendance,
    AuditLog,
    Enrollment,
    EntryType,
    LedgerEntry,
    Receipt,
    ScanEvent,
    Session,
)
from tests.factories import make_group, make_room, make_student

_receipt_numbers = itertools.count(1)


class History:
    """Groups with enrolled students, and whole weeks of their classes written in bulk."""

    def __init__(self, branch, cashier, *, groups: int = 3, students_per_group: int = 4):
        self.branch, self.cashier = branch, cashier
        self.room = make_room(branch)
        self.enrollments = []
        today = timezone.localdate()
        for _ in range(groups):
            group = make_group(branch, room=self.room)
            for _ in range(students_per_group):
                student = make_student(branch)
                self.enrollments.append(
                    Enrollment.objects.create(
                        student=student, group=group, start_date=today - datetime.timedelta(days=400)
                    )
                )
        self.weeks_written = 0

    def add_weeks(self, weeks: int) -> None:
        today = timezone.localdate()
        groups = {enrollment.group for enrollment in self.enrollments}
        for _ in range(weeks):
            self.weeks_written += 1
            day = today - datetime.timedelta(days=7 * self.weeks_written)
            starts_at = timezone.make_aware(datetime.datetime.combine(day, datetime.time(16, 0)))
            sessions = Session.objects.bulk_create(
                Session(
                    group=group,
                    date=day,
                    starts_at=starts_at,
                    ends_at=starts_at + datetime.timedelta(hours=2),
                    room=self.room,
                    status=Session.Status.HELD,
                )
                for group in groups
            )
            by_group = {session.group_id: session for session in sessions}
            attendances = Attendance.objects.bulk_create(
                Attendance(
                    session=by_group[enrollment.group_id],
                    student=enrollment.student,
                    enrollment=enrollment,
                    status=Attendance.Status.PRESENT,
                    at=starts_at,
                    source=Attendance.Source.KIOSK,
                )
                for enrollment in self.enrollments
            )
            ScanEvent.objects.bulk_create(
                ScanEvent(
                    at=starts_at,
                    raw_code=attendance.student.code,
                    code=attendance.student.code,
                    outcome="present",
                    message="",
                    student=attendance.student,
                    session=attendance.session,
                )
                for attendance in attendances
            )
            receipts = []
            for enrollment in self.enrollments:
                sequence = next(_receipt_numbers)
                receipts.append(
                    Receipt(
                        branch=self.branch,
                        year=day.year,
                        sequence=sequence,
                        number=f"{day.year}-{sequence:06d}",
                        student=enrollment.student,
                        date=day,
                        total=Decimal("50.00"),
                        cashier=self.cashier,
                    )
                )
            receipts = Receipt.objects.bulk_create(receipts)
            entries = []
            for enrollment, receipt in zip(self.enrollments, receipts, strict=True):
                session = by_group[enrollment.group_id]
                entries += [
                    LedgerEntry(
                        enrollment=enrollment,
                        entry_type=EntryType.CHARGE,
                        amount=Decimal("60.00"),
                        date=day,
                        session=session,
                        source=LedgerEntry.Source.DOOR,
                    ),
                    LedgerEntry(
                        enrollment=enrollment,
                        entry_type=EntryType.PAYMENT,
                        amount=Decimal("50.00"),
                        date=day,
                        receipt=receipt,
                        source=LedgerEntry.Source.DESK,
                        created_by=self.cashier,
                    ),
                ]
            LedgerEntry.objects.bulk_create(entries)
            AuditLog.objects.bulk_create(
                AuditLog(
                    action=AuditLog.Action.CREATE,
                    model="core.attendance",
                    object_id=str(attendance.pk),
                    object_repr=str(attendance.pk),
                )
                for attendance in attendances
            )


def page_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries.captured_queries)


BUSY_LISTS = [
    "admin:core_ledgerentry_changelist",
    "admin:core_attendance_changelist",
    "admin:core_scanevent_changelist",
    "admin:core_auditlog_changelist",
    "admin:core_session_changelist",
    "admin:core_receipt_changelist",
    "admin:core_enrollment_changelist",
    "admin:core_student_changelist",
    "admin:core_group_changelist",
    "admin:index",
    "admin:core_receipt_defaulters",
]


@pytest.mark.parametrize("url_name", BUSY_LISTS)
def test_busy_page_runs_the_same_queries_with_four_times_the_history(client_as, owner, main_branch, url_name):
    history = History(main_branch, owner)
    history.add_weeks(1)
    client = client_as(owner)
    url = reverse(url_name)
    client.get(url)  # warm caches (content types, center settings) out of the count
    small = page_queries(client, url)
    history.add_weeks(3)
    assert page_queries(client, url) == small


def test_student_page_runs_the_same_queries_with_four_times_the_history(client_as, owner, main_branch):
    history = History(main_branch, owner, groups=2, students_per_group=2)
    history.add_weeks(1)
    client = client_as(owner)
    url = reverse("admin:core_student_change", args=[history.enrollments[0].student_id])
    client.get(url)
    small = page_queries(client, url)
    history.add_weeks(3)  # 3 more recent attendance rows, receipts and ledger lines for him
    assert page_queries(client, url) == small


def test_audit_record_type_filter_reads_no_audit_rows(client_as, owner, main_branch):
    History(main_branch, owner, groups=1, students_per_group=1).add_weeks(1)
    client = client_as(owner)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("admin:core_auditlog_changelist"))
    assert response.status_code == 200
    assert b"core.receipt" in response.content  # a record type with no audit row is offered too
    assert not [query for query in queries.captured_queries if "DISTINCT" in query["sql"].upper()]


def test_list_counts_its_rows_once(client_as, owner, main_branch):
    History(main_branch, owner, groups=1, students_per_group=2).add_weeks(2)
    client = client_as(owner)
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("admin:core_attendance_changelist"))
    counts = [query for query in queries.captured_queries if "COUNT(" in query["sql"].upper()]
    assert len(counts) == 1


def test_busy_branch_timetable_shows_one_day_at_a_time(client_as, owner, main_branch):
    from core.admin.timetable import WEEK_AT_ONCE_MAX
    from core.models import ScheduleSlot, Weekday

    room = make_room(main_branch)
    group = make_group(main_branch, room=room)
    ScheduleSlot.objects.bulk_create(
        ScheduleSlot(group=group, weekday=index % 7, start_time=datetime.time(8 + index % 12, 0), room=room)
        for index in range(WEEK_AT_ONCE_MAX + 1)
    )
    client = client_as(owner)
    response = client.get(reverse("timetable"), {"branch": main_branch.pk, "day": Weekday.MONDAY})
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('class="tt-entry') == sum(
        1 for index in range(WEEK_AT_ONCE_MAX + 1) if index % 7 == Weekday.MONDAY
    )
    assert f"day={Weekday.FRIDAY.value}" in html  # the other days are a tab away
