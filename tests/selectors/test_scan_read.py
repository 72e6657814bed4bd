"""The door's one read agrees with the ORM's answers (core/selectors/scan_read.py)."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection

from core.models import Attendance, Branch, CenterSettings, EntryType, FeePeriod, FeePlan, LedgerEntry
from core.selectors.money import door_money
from core.selectors.scan_read import Place, door_read
from core.services.door.rules import attended_this_month
from tests.factories import CAIRO, enroll, make_group, make_room, make_session, make_student, pay

TODAY = datetime.date(2026, 11, 26)
MONTH = TODAY.replace(day=1)


def at(hour, minute=0):
    return datetime.datetime(2026, 11, 26, hour, minute, tzinfo=CAIRO)


@pytest.fixture
def other_branch(db):
    return Branch.objects.create(name_ar="فرع المعادي")


@pytest.fixture
def center(main_branch):
    CenterSettings.load()
    room = make_room(main_branch)
    return main_branch, room


def test_unknown_and_inactive_codes_read_nothing(center):
    branch, _room = center
    student = make_student(branch)
    assert door_read("no-such-code", today=TODAY, place=Place()) is None
    student.is_active = False
    student.save(update_fields=["is_active"])
    assert door_read(student.code, today=TODAY, place=Place()) is None


def test_a_student_without_class_today_reads_with_no_candidates(center):
    branch, _room = center
    student = make_student(branch)
    read = door_read(student.code, today=TODAY, place=Place())
    assert read.student == student and read.candidates == []
    assert [guardian.phone for guardian in read.guardians] == [
        link.guardian.phone for link in student.guardian_links.all()
    ]
    assert read.center == CenterSettings.load()


def test_money_and_attendance_match_the_orm(center):
    branch, room = center
    student = make_student(branch)
    month_group = make_group(branch, fee="200.00", fee_period=FeePeriod.MONTH, room=room)
    session_group = make_group(branch, fee="50.00", fee_period=FeePeriod.SESSION, room=room)
    month_enrollment = enroll(student, month_group)
    session_enrollment = enroll(
        student, session_group, fee_plan=FeePlan.REDUCED, custom_fee=Decimal("40.00"), fee_reason="sibling"
    )
    # arrears from October, a November charge, an earlier admitted session this month, a payment
    LedgerEntry.objects.create(
        enrollment=month_enrollment,
        entry_type=EntryType.CHARGE,
        amount=Decimal("200.00"),
        date=datetime.date(2026, 10, 3),
        period_month=datetime.date(2026, 10, 1),
        source="door",
    )
    earlier = make_session(month_group, room, starts_at=datetime.datetime(2026, 11, 5, 16, 0, tzinfo=CAIRO))
    Attendance.objects.create(
        session=earlier,
        student=student,
        enrollment=month_enrollment,
        status="present",
        at=earlier.starts_at,
        source="kiosk",
    )
    LedgerEntry.objects.create(
        enrollment=month_enrollment,
        entry_type=EntryType.CHARGE,
        amount=Decimal("200.00"),
        date=datetime.date(2026, 11, 5),
        period_month=MONTH,
        session=earlier,
        source="door",
    )
    pay(month_enrollment, "150.00", day=datetime.date(2026, 11, 10))
    pay(session_enrollment, "10.50", day=datetime.date(2026, 11, 10))
    first = make_session(month_group, room, starts_at=at(16))
    second = make_session(session_group, room, starts_at=at(18))
    excused = Attendance.objects.create(
        session=second, student=student, enrollment=session_enrollment, status="excused", at=at(12), source="manual"
    )

    read = door_read(student.code, today=TODAY, place=Place())
    assert [candidate.session.pk for candidate in read.candidates] == [first.pk, second.pk]  # by start
    by_session = {candidate.session.pk: candidate for candidate in read.candidates}
    for candidate, enrollment in (
        (by_session[first.pk], month_enrollment),
        (by_session[second.pk], session_enrollment),
    ):
        assert candidate.enrollment == enrollment
        assert candidate.enrollment.price == enrollment.price
        assert candidate.money == door_money(enrollment, month_start=MONTH)
        assert candidate.attended_this_month == attended_this_month(enrollment, MONTH, TODAY)
        assert candidate.session.group.name == enrollment.group.name
    assert by_session[first.pk].money.arrears_before_month == Decimal("50.00")
    assert by_session[first.pk].attended_this_month == 1
    assert (by_session[second.pk].attendance_id, by_session[second.pk].attendance_status) == (excused.pk, "excused")
    assert by_session[second.pk].money.balance == Decimal("10.50")


def test_the_place_limits_the_sessions(center, main_branch, other_branch):
    branch, room = center
    far_room = make_room(other_branch)
    student = make_student(branch)
    here = make_group(branch, room=room)
    there = make_group(other_branch, room=far_room)
    enroll(student, here)
    enroll(student, there)
    near = make_session(here, room, starts_at=at(16))
    far = make_session(there, far_room, starts_at=at(17))

    def sessions(place):
        return [candidate.session.pk for candidate in door_read(student.code, today=TODAY, place=place).candidates]

    assert sessions(Place()) == [near.pk, far.pk]
    assert sessions(Place(room_id=room.pk)) == [near.pk]
    assert sessions(Place(branch_ids=(other_branch.pk,))) == [far.pk]
    assert sessions(Place(branch_ids=(main_branch.pk, other_branch.pk))) == [near.pk, far.pk]
    assert sessions(Place(branch_ids=())) == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_prepared_read_survives_a_reconnect_and_can_be_turned_off(main_branch, settings):
    CenterSettings.load()
    room = make_room(main_branch)
    student = make_student(main_branch)
    group = make_group(main_branch, room=room)
    enroll(student, group)
    make_session(group, room, starts_at=at(16))
    place = Place(room_id=room.pk)
    assert len(door_read(student.code, today=TODAY, place=place).candidates) == 1
    connection.close()  # the next read runs on a new server connection, which must prepare again
    assert len(door_read(student.code, today=TODAY, place=place).candidates) == 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'door_read_%%'")
        assert cursor.fetchone()[0] == 1
    settings.DB_PREPARED_STATEMENTS = False
    assert len(door_read(student.code, today=TODAY, place=place).candidates) == 1
