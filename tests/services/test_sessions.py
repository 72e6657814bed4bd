"""Sessions: generated from slots in Cairo time, idempotent, extra sessions and cancellations."""

import datetime

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from core.models import AuditLog, ScheduleSlot, Session, Weekday
from core.services.sessions import session_add_extra, session_cancel, sessions_generate
from tests.factories import CAIRO, make_group


def add_slot(group, room, weekday, start=(16, 0), minutes=120):
    # Direct creation: these tests are about generation, not about conflict checks.
    return ScheduleSlot.objects.create(
        group=group, weekday=weekday, start_time=datetime.time(*start), duration_minutes=minutes, room=room
    )


@time_machine.travel(datetime.datetime(2026, 11, 26, 9, 0, tzinfo=CAIRO), tick=False)  # a Thursday
def test_generation_follows_the_saturday_week_and_is_idempotent(main_branch, room):
    group = make_group(main_branch)
    add_slot(group, room, Weekday.SATURDAY)
    add_slot(group, room, Weekday.THURSDAY, start=(18, 0))
    assert sessions_generate() == 4  # 2 Saturdays + 2 Thursdays (today 18:00 and next week) in 14 days
    assert sessions_generate() == 0
    days = sorted(Session.objects.values_list("date", flat=True))
    assert days == [
        datetime.date(2026, 11, 26),
        datetime.date(2026, 11, 28),
        datetime.date(2026, 12, 3),
        datetime.date(2026, 12, 5),
    ]
    saturday = Session.objects.get(date=datetime.date(2026, 11, 28))
    assert saturday.starts_at.astimezone(CAIRO).time() == datetime.time(16, 0)
    assert saturday.ends_at - saturday.starts_at == datetime.timedelta(hours=2)


@time_machine.travel(datetime.datetime(2026, 11, 26, 19, 0, tzinfo=CAIRO), tick=False)
def test_sessions_already_over_are_not_created(main_branch, room):
    group = make_group(main_branch)
    add_slot(group, room, Weekday.THURSDAY, start=(16, 0))  # today 16:00-18:00 is over at 19:00
    sessions_generate()
    assert not Session.objects.filter(date=datetime.date(2026, 11, 26)).exists()


@time_machine.travel(datetime.datetime(2026, 4, 20, 9, 0, tzinfo=CAIRO), tick=False)
def test_generation_across_the_summer_time_change_keeps_the_wall_clock(main_branch, room):
    # Egypt moves to summer time on Friday 24 April 2026: Saturdays before and after differ in UTC.
    group = make_group(main_branch)
    add_slot(group, room, Weekday.SATURDAY)
    sessions_generate()
    sessions = list(Session.objects.order_by("date"))
    assert [session.date for session in sessions] == [datetime.date(2026, 4, 25), datetime.date(2026, 5, 2)]
    for session in sessions:
        assert session.starts_at.astimezone(CAIRO).time() == datetime.time(16, 0)
        assert session.starts_at.astimezone(datetime.UTC).hour == 13  # UTC+3 in summer


@time_machine.travel(datetime.datetime(2026, 10, 26, 9, 0, tzinfo=CAIRO), tick=False)
def test_generation_across_the_return_to_winter_time(main_branch, room):
    group = make_group(main_branch)
    add_slot(group, room, Weekday.MONDAY, start=(10, 0))
    sessions_generate()
    utc_hours = [session.starts_at.astimezone(datetime.UTC).hour for session in Session.objects.order_by("date")]
    assert utc_hours == [7, 8]  # 26 Oct summer (UTC+3), 2 Nov winter (UTC+2)


@time_machine.travel(datetime.datetime(2026, 11, 26, 9, 0, tzinfo=CAIRO), tick=False)
def test_cancelled_sessions_stay_cancelled_after_regeneration(main_branch, room, manager):
    group = make_group(main_branch)
    add_slot(group, room, Weekday.SATURDAY)
    sessions_generate()
    session = Session.objects.order_by("date").first()
    session_cancel(actor=manager, session=session, reason="إجازة رسمية")
    sessions_generate()
    session.refresh_from_db()
    assert session.status == Session.Status.CANCELLED
    assert Session.objects.filter(date=session.date).count() == 1


@time_machine.travel(datetime.datetime(2026, 11, 26, 9, 0, tzinfo=CAIRO), tick=False)
def test_cancel_needs_reason_and_permission(main_branch, room, receptionist, manager):
    group = make_group(main_branch)
    add_slot(group, room, Weekday.SATURDAY)
    sessions_generate()
    session = Session.objects.first()
    with pytest.raises(PermissionDenied):
        session_cancel(actor=receptionist, session=session, reason="x")
    with pytest.raises(ValidationError):
        session_cancel(actor=manager, session=session, reason="  ")
    session_cancel(actor=manager, session=session, reason="عطل في التكييف")
    assert AuditLog.objects.filter(action=AuditLog.Action.CANCEL, reason="عطل في التكييف").exists()
    with pytest.raises(ValidationError):
        session_cancel(actor=manager, session=session, reason="مرة أخرى")


@time_machine.travel(datetime.datetime(2026, 11, 26, 9, 0, tzinfo=CAIRO), tick=False)
def test_extra_session_is_refused_when_the_room_is_busy(main_branch, room, manager):
    group = make_group(main_branch, code="MATH-1")
    add_slot(group, room, Weekday.SATURDAY)
    sessions_generate()
    saturday = datetime.date(2026, 11, 28)
    with pytest.raises(ValidationError) as error:
        session_add_extra(
            actor=manager,
            group=make_group(main_branch),
            date=saturday,
            start_time=datetime.time(18, 10),
            duration_minutes=60,
            room=room,
        )
    assert "MATH-1" in str(error.value)
    extra = session_add_extra(
        actor=manager, group=group, date=saturday, start_time=datetime.time(18, 15), duration_minutes=60, room=room
    )
    assert extra.is_extra and extra.slot is None
    assert AuditLog.objects.filter(model="core.session", action=AuditLog.Action.CREATE).exists()


@time_machine.travel(datetime.datetime(2026, 11, 26, 9, 0, tzinfo=CAIRO), tick=False)
def test_extra_session_in_the_past_is_refused(main_branch, room):
    with pytest.raises(ValidationError):
        session_add_extra(
            actor=None,
            group=make_group(main_branch),
            date=datetime.date(2026, 11, 25),
            start_time=datetime.time(10, 0),
            duration_minutes=60,
            room=room,
        )


@time_machine.travel(datetime.datetime(2026, 11, 26, 9, 0, tzinfo=CAIRO), tick=False)
def test_slot_change_regenerates_only_future_unstarted_sessions(main_branch, room, owner):
    from core.services.schedule import slot_save

    group = make_group(main_branch)
    slot = slot_save(
        actor=owner,
        group=group,
        weekday=Weekday.THURSDAY,
        start_time=datetime.time(8, 0),
        duration_minutes=120,
        room=room,
    )
    started = Session.objects.get(date=datetime.date(2026, 11, 26))  # 08:00-10:00, running now
    slot_save(
        actor=owner,
        group=group,
        weekday=Weekday.THURSDAY,
        start_time=datetime.time(12, 0),
        duration_minutes=60,
        room=room,
        slot=slot,
    )
    started.refresh_from_db()
    assert started.starts_at.astimezone(CAIRO).time() == datetime.time(8, 0)
    next_week = Session.objects.get(date=datetime.date(2026, 12, 3))
    assert next_week.starts_at.astimezone(CAIRO).time() == datetime.time(12, 0)


@time_machine.travel(datetime.datetime(2026, 11, 26, 9, 0, tzinfo=CAIRO), tick=False)
def test_cancelling_tells_every_guardian_of_the_group_once(main_branch, room, manager):
    from core.models import Message
    from core.services.enrollments import enrollment_create
    from tests.factories import make_student

    group = make_group(main_branch)
    add_slot(group, room, Weekday.SATURDAY)
    sessions_generate()
    first = make_student(main_branch, guardian_phone="01001112233")
    sibling = make_student(main_branch, guardian_phone="01001112233")
    other = make_student(main_branch, guardian_phone="01201112233")
    left = make_student(main_branch, guardian_phone="01501112233")
    for student in (first, sibling, other, left):
        enrollment_create(actor=None, student=student, group=group)
    from core.services.enrollments import enrollment_end

    enrollment_end(actor=None, enrollment=left.enrollments.get())
    session = Session.objects.order_by("date").first()
    session_cancel(actor=manager, session=session, reason="ظرف طارئ")
    messages = Message.objects.filter(template_key="session_cancelled")
    assert messages.count() == 3  # one per enrolled student; the one who left hears nothing
    assert {message.student_id for message in messages} == {first.pk, sibling.pk, other.pk}
    assert all("ظرف طارئ" in message.body for message in messages)
