"""The weekly timetable: saving slots with room and teacher conflict checks."""

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from core.models import AuditLog, Group, Room, ScheduleSlot, Teacher, Weekday
from core.services.audit import audit_record, changes_between, snapshot
from core.services.sessions import TURNOVER_BUFFER, sessions_for_slot_refresh

SLOT_FIELDS = ["group", "weekday", "start_time", "duration_minutes", "room", "is_active", "override_reason"]


def _minutes(at: datetime.time) -> int:
    return at.hour * 60 + at.minute


def _overlaps(start_a: int, end_a: int, start_b: int, end_b: int, buffer: int = 0) -> bool:
    return start_a < end_b + buffer and start_b < end_a + buffer


def slot_conflicts(
    *, group: Group, weekday: int, start_time: datetime.time, duration_minutes: int, room: Room, exclude_pk=None
) -> list[str]:
    """Translated descriptions of every active slot this one would collide with."""
    start = _minutes(start_time)
    end = start + duration_minutes
    buffer = int(TURNOVER_BUFFER.total_seconds() // 60)
    others = (
        ScheduleSlot.objects.filter(weekday=weekday, is_active=True, group__is_active=True)
        .exclude(pk=exclude_pk)
        .select_related("group__teacher", "room")
    )
    problems = []
    for other in others:
        other_start = _minutes(other.start_time)
        other_end = other_start + other.duration_minutes
        when = {
            "group": other.group.code,
            "name": other.group.name,
            "day": Weekday(weekday).label,
            "start": other.start_time.strftime("%H:%M"),
            "end": f"{other_end // 60:02d}:{other_end % 60:02d}",
        }
        if other.room_id == room.pk and _overlaps(start, end, other_start, other_end, buffer):
            problems.append(
                _(
                    "%(room)s is used by group %(group)s (%(name)s) on %(day)s %(start)s–%(end)s; rooms need 15 minutes between classes."
                )
                % {**when, "room": room.name}
            )
        elif other.group.teacher_id == group.teacher_id and _overlaps(start, end, other_start, other_end):
            problems.append(
                _("%(teacher)s teaches group %(group)s (%(name)s) on %(day)s %(start)s–%(end)s.")
                % {**when, "teacher": other.group.teacher.full_name}
            )
    return problems


def slot_save(
    *,
    actor,
    group: Group,
    weekday: int,
    start_time: datetime.time,
    duration_minutes: int,
    room: Room,
    slot: ScheduleSlot | None = None,
    is_active: bool = True,
    override_reason: str = "",
) -> ScheduleSlot:
    """Create or change a weekly slot. Conflicts are refused, naming the other group;
    an owner may override them with a reason. Future sessions follow the change."""
    errors = {}
    if weekday not in Weekday.values:
        errors["weekday"] = _("Choose a day of the week.")
    if not duration_minutes or not 0 < duration_minutes <= 720:
        errors["duration_minutes"] = _("Enter a duration between 1 and 720 minutes.")
    elif start_time and _minutes(start_time) + duration_minutes > 24 * 60:
        errors["duration_minutes"] = _("A class must end before midnight.")
    if room.branch_id != group.branch_id:
        errors["room"] = _("The room must be in the group's branch.")
    elif not room.is_active:
        errors["room"] = _("This room is not active.")
    if errors:
        raise ValidationError(errors)
    override_reason = (override_reason or "").strip()

    with transaction.atomic():
        # Lock the room and the teacher so two concurrent saves cannot both pass the check.
        Room.objects.select_for_update().filter(pk=room.pk).first()
        Teacher.objects.select_for_update().filter(pk=group.teacher_id).first()
        problems = []
        if is_active:
            problems = slot_conflicts(
                group=group,
                weekday=weekday,
                start_time=start_time,
                duration_minutes=duration_minutes,
                room=room,
                exclude_pk=slot.pk if slot else None,
            )
        if problems:
            if not override_reason:
                raise ValidationError({"start_time": problems})
            if actor is None or not actor.has_perm("core.override_conflict"):
                raise PermissionDenied(_("Only the owner can override a timetable conflict."))
        if slot is None:
            slot = ScheduleSlot(group=group)
            before = {}
        else:
            slot = ScheduleSlot.objects.select_for_update().get(pk=slot.pk)
            before = snapshot(slot, SLOT_FIELDS)
        slot.weekday, slot.start_time, slot.duration_minutes = weekday, start_time, duration_minutes
        slot.room, slot.is_active = room, is_active
        slot.override_reason = override_reason if problems else ""
        slot.full_clean(validate_unique=False)
        after = snapshot(slot, SLOT_FIELDS)
        diff = changes_between(before, after)
        if not diff:
            return slot
        slot.save()
        action = (
            AuditLog.Action.OVERRIDE if problems else (AuditLog.Action.UPDATE if before else AuditLog.Action.CREATE)
        )
        audit_record(
            actor=actor,
            action=action,
            instance=slot,
            changes=diff,
            reason="; ".join([override_reason, *problems]) if problems else "",
        )
        sessions_for_slot_refresh(slot)
    return slot
