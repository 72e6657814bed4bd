"""Weekly slots: room turnover buffer, teacher double-booking, owner override."""

import datetime

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from core.models import AuditLog, ScheduleSlot, Session, Weekday
from core.services.schedule import slot_save
from tests.factories import make_branch, make_group, make_room, make_teacher


@pytest.fixture
def room(main_branch):
    return make_room(main_branch, name="قاعة 1")


def save(group, room, start, minutes=120, weekday=Weekday.SATURDAY, **extra):
    return slot_save(
        actor=extra.pop("actor", None),
        group=group,
        weekday=weekday,
        start_time=datetime.time(*start),
        duration_minutes=minutes,
        room=room,
        **extra,
    )


def test_room_overlap_is_refused_naming_the_other_group(main_branch, room):
    save(make_group(main_branch, code="MATH-1"), room, (16, 0))
    with pytest.raises(ValidationError) as error:
        save(make_group(main_branch), room, (17, 0))
    assert "MATH-1" in str(error.value.message_dict["start_time"])
    assert ScheduleSlot.objects.count() == 1


def test_room_needs_fifteen_minutes_turnover(main_branch, room):
    save(make_group(main_branch, code="MATH-1"), room, (16, 0))  # ends 18:00
    with pytest.raises(ValidationError):
        save(make_group(main_branch), room, (18, 14))
    assert save(make_group(main_branch), room, (18, 15)).pk


def test_other_day_or_other_room_is_fine(main_branch, room):
    save(make_group(main_branch), room, (16, 0))
    assert save(make_group(main_branch), room, (16, 0), weekday=Weekday.SUNDAY).pk
    assert save(make_group(main_branch), make_room(main_branch), (16, 0)).pk


def test_teacher_cannot_be_in_two_places(main_branch, room):
    teacher = make_teacher("أ. سامي")
    save(make_group(main_branch, teacher=teacher, code="A1"), room, (16, 0))
    other_branch = make_branch()
    with pytest.raises(ValidationError) as error:
        save(make_group(other_branch, teacher=teacher), make_room(other_branch), (17, 30))
    assert "أ. سامي" in str(error.value.message_dict["start_time"])


def test_override_needs_a_reason_and_the_owner(main_branch, room, owner, manager):
    save(make_group(main_branch, code="A1"), room, (16, 0))
    group = make_group(main_branch)
    with pytest.raises(PermissionDenied):
        save(group, room, (16, 30), actor=manager, override_reason="قاعة كبيرة مقسومة")
    slot = save(group, room, (16, 30), actor=owner, override_reason="قاعة كبيرة مقسومة")
    assert slot.override_reason == "قاعة كبيرة مقسومة"
    entry = AuditLog.objects.get(action=AuditLog.Action.OVERRIDE)
    assert "A1" in entry.reason and entry.actor == owner


def test_room_of_another_branch_is_refused(main_branch):
    other_room = make_room(make_branch())
    with pytest.raises(ValidationError) as error:
        save(make_group(main_branch), other_room, (10, 0))
    assert "room" in error.value.message_dict


@pytest.mark.parametrize(("start", "minutes"), [((10, 0), 0), ((23, 0), 90), ((10, 0), 800)])
def test_bad_durations_are_refused(main_branch, room, start, minutes):
    with pytest.raises(ValidationError) as error:
        save(make_group(main_branch), room, start, minutes=minutes)
    assert "duration_minutes" in error.value.message_dict


@time_machine.travel(
    datetime.datetime(2026, 11, 26, 9, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=2))), tick=False
)
def test_editing_a_slot_does_not_conflict_with_itself_and_moves_future_sessions(main_branch, room):
    group = make_group(main_branch)
    slot = save(group, room, (16, 0))
    before = set(Session.objects.filter(slot=slot).values_list("starts_at", flat=True))
    assert before
    save(group, room, (17, 0), slot=slot)
    after = Session.objects.filter(slot=slot)
    assert {session.starts_at.astimezone(datetime.UTC).hour for session in after} == {
        15
    }  # 17:00 Cairo winter = 15:00 UTC
    assert AuditLog.objects.filter(action=AuditLog.Action.UPDATE, model="core.scheduleslot").exists()


@time_machine.travel(
    datetime.datetime(2026, 11, 26, 9, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=2))), tick=False
)
def test_deactivated_slot_frees_the_room(main_branch, room):
    group = make_group(main_branch)
    slot = save(group, room, (16, 0))
    save(group, room, (16, 0), slot=slot, is_active=False)
    assert not Session.objects.filter(slot=slot, status=Session.Status.SCHEDULED).exists()
    assert save(make_group(main_branch), room, (16, 0)).pk
