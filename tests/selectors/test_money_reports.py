"""The money reports' queries (core/selectors/money_reports.py): defaulters paged without a count,
collections net of refunds with voids left out, each reading only the scope it is given."""

import datetime
from decimal import Decimal

import pytest

from core.models import EntryType, LedgerEntry, Receipt, Student
from core.selectors.money_reports import collections_by_day, defaulters_rows
from core.services.enrollments import enrollment_create
from core.services.payments import payment_record, payment_refund, payment_void
from tests.factories import CAIRO, make_branch, make_group, make_student

pytestmark = pytest.mark.django_db
NOVEMBER = datetime.date(2026, 11, 1)


def owing(branch, group, amount):
    student = make_student(branch)
    enrollment = enrollment_create(actor=None, student=student, group=group, start_date=datetime.date(2026, 9, 1))
    LedgerEntry.objects.create(
        enrollment=enrollment, entry_type=EntryType.CHARGE, amount=Decimal(amount), date=NOVEMBER, source="system"
    )
    return student


def test_defaulters_come_most_owing_first_in_pages_that_know_whether_more_follow(
    main_branch, django_assert_num_queries
):
    group = make_group(main_branch, fee="200.00")
    students = [owing(main_branch, group, amount) for amount in ("50", "300", "120", "80", "10")]
    scope = Student.objects.all()
    with django_assert_num_queries(3):  # the owed list, the students with their phone, unpaid sessions
        first, more = defaulters_rows(scope, limit=2)
    assert [(row.pk, row.owed) for row in first] == [
        (students[1].pk, Decimal("300.00")),
        (students[2].pk, Decimal("120.00")),
    ]
    assert more is True
    last, more = defaulters_rows(scope, offset=4, limit=2)
    assert [row.pk for row in last] == [students[4].pk] and more is False
    # Exactly a page left: no next page.
    _rows, more = defaulters_rows(scope, offset=3, limit=2)
    assert more is False
    assert all(row.guardian_phone for row in first)


def test_defaulters_read_only_the_scope_they_are_given(main_branch):
    other = make_branch("فرع آخر")
    mine = owing(main_branch, make_group(main_branch, fee="100.00"), "100")
    owing(other, make_group(other, fee="100.00"), "500")
    rows, _more = defaulters_rows(Student.objects.filter(branch=main_branch), limit=10)
    assert [row.pk for row in rows] == [mine.pk]


def test_collections_leave_voids_out_and_net_the_refunds(main_branch, receptionist, accountant):
    group = make_group(main_branch, fee="500.00")
    student = make_student(main_branch)
    enrollment_create(actor=None, student=student, group=group, start_date=datetime.date(2026, 9, 1))
    noon = datetime.datetime(2026, 11, 10, 12, tzinfo=CAIRO)
    cash = payment_record(student=student, cashier=receptionist, amount="100", now=noon)
    payment_record(student=student, cashier=receptionist, amount="40", method="instapay", now=noon, confirm_repeat=True)
    typo = payment_record(student=student, cashier=receptionist, amount="999", now=noon, confirm_repeat=True)
    payment_void(receipt=typo, actor=accountant, reason="typo", now=noon)
    payment_refund(receipt=cash, actor=accountant, amount="30", reason="left", now=noon)
    report = collections_by_day(Receipt.objects.all(), start=NOVEMBER, end=datetime.date(2026, 11, 30))
    assert report.total == Decimal("140.00") and report.refunds == Decimal("30.00") and report.net == Decimal("110.00")
    assert sorted((row["method"], row["total"], row["count"]) for row in report.rows) == [
        ("cash", Decimal("100.00"), 1),
        ("instapay", Decimal("40.00"), 1),
    ]
    # Outside the period: nothing, refunds included.
    empty = collections_by_day(Receipt.objects.all(), start=datetime.date(2026, 12, 1), end=datetime.date(2026, 12, 31))
    assert (empty.rows, empty.total, empty.refunds) == ([], Decimal("0.00"), Decimal("0.00"))
    # A scope without the refunded receipt has no refund to net.
    scoped = collections_by_day(Receipt.objects.exclude(pk=cash.pk), start=NOVEMBER, end=datetime.date(2026, 11, 30))
    assert scoped.total == Decimal("40.00") and scoped.refunds == Decimal("0.00")
