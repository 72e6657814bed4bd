"""Dated sessions: generated from the weekly slots, plus extra ones and cancellations.

All dates and weekdays are Cairo local time (settings.TIME_ZONE), summer time included.
"""

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core.models import AuditLog, Group, Room, ScheduleSlot, Session, StudentGuardian, Weekday
from core.services.audit import audit_record

GENERATE_DAYS = 14
TURNOVER_BUFFER = datetime.timedelta(minutes=15)


def local_datetime(day: datetime.date, at: datetime.time) -> datetime.datetime:
    """The aware instant of a Cairo wall-clock time on a date."""
    return timezone.make_aware(datetime.datetime.combine(day, at), timezone.get_current_timezone())


def session_times(
    day: datetime.date, start: datetime.time, duration_minutes: int
) -> tuple[datetime.datetime, datetime.datetime]:
    starts_at = local_datetime(day, start)
    # Wall-clock end: a class 16:00-18:00 ends at 18:00 even on a summer-time change day.
    naive_end = datetime.datetime.combine(day, start) + datetime.timedelta(minutes=duration_minutes)
    ends_at = timezone.make_aware(naive_end, timezone.get_current_timezone())
    return starts_at, ends_at


def sessions_generate(*, days: int = GENERATE_DAYS, today: datetime.date | None = None, groups=None) -> int:
    """Create the sessions of the next ``days`` days from the active slots. Idempotent.

    Returns how many sessions were created. Existing ones (also cancelled ones) are kept:
    the unique (slot, date) constraint makes a re-run a no-op, even when two runs race.
    """
    first_day = today or timezone.localdate()
    slots = ScheduleSlot.objects.filter(is_active=True, group__is_active=True).select_related("group")
    if groups is not None:
        slots = slots.filter(group__in=groups)
    slots_by_weekday: dict[int, list[ScheduleSlot]] = {}
    for slot in slots:
        slots_by_weekday.setdefault(slot.weekday, []).append(slot)
    if not slots_by_weekday:
        return 0
    last_day = first_day + datetime.timedelta(days=days - 1)
    existing = set(
        Session.objects.filter(
            slot__in=[slot for day_slots in slots_by_weekday.values() for slot in day_slots],
            date__range=(first_day, last_day),
        ).values_list("slot_id", "date")
    )
    now = timezone.now()
    new_sessions = []
    for offset in range(days):
        day = first_day + datetime.timedelta(days=offset)
        for slot in slots_by_weekday.get(Weekday.of(day), []):
            if (slot.pk, day) in existing:
                continue
            starts_at, ends_at = session_times(day, slot.start_time, slot.duration_minutes)
            if ends_at <= now:
                continue  # never create sessions that are already over
            new_sessions.append(
                Session(
                    group=slot.group, slot=slot, date=day, starts_at=starts_at, ends_at=ends_at, room_id=slot.room_id
                )
            )
    Session.objects.bulk_create(new_sessions, ignore_conflicts=True, batch_size=500)
    return len(new_sessions)


def sessions_for_slot_refresh(slot: ScheduleSlot) -> int:
    """After a slot changed: drop its future sessions that have not started, then regenerate.

    Started or past sessions, cancelled ones and ones the teacher checked in to stay as they were.
    """
    removable = Session.objects.filter(
        slot=slot, status=Session.Status.SCHEDULED, starts_at__gt=timezone.now(), teacher_checked_in_at__isnull=True
    )
    removable.filter(session_removable_q()).delete()
    return sessions_generate(groups=[slot.group_id])


def session_removable_q() -> Q:
    """Sessions that hold no records of their own: no attendance, scans or ledger entries."""
    return Q(attendances__isnull=True, scans__isnull=True, ledger_entries__isnull=True)


def room_busy(
    *, room: Room, starts_at: datetime.datetime, ends_at: datetime.datetime, exclude_pk=None
) -> Session | None:
    """A non-cancelled session in this room overlapping the interval (with the turnover buffer)."""
    return (
        Session.objects.filter(
            room=room, starts_at__lt=ends_at + TURNOVER_BUFFER, ends_at__gt=starts_at - TURNOVER_BUFFER
        )
        .exclude(status=Session.Status.CANCELLED)
        .exclude(pk=exclude_pk)
        .select_related("group")
        .first()
    )


def session_add_extra(
    *,
    actor,
    group: Group,
    date: datetime.date,
    start_time: datetime.time,
    duration_minutes: int,
    room: Room | None = None,
) -> Session:
    """Add a one-off extra or make-up session, refused when its room is busy."""
    room = room or group.default_room
    if room is None:
        raise ValidationError({"room": _("Choose a room.")})
    if room.branch_id != group.branch_id:
        raise ValidationError({"room": _("The room must be in the group's branch.")})
    if not 0 < duration_minutes <= 720:
        raise ValidationError({"duration_minutes": _("Enter a duration between 1 and 720 minutes.")})
    starts_at, ends_at = session_times(date, start_time, duration_minutes)
    if ends_at <= timezone.now():
        raise ValidationError({"date": _("The session would already be over.")})
    with transaction.atomic():
        Room.objects.select_for_update().filter(pk=room.pk).first()  # serialize bookings of this room
        clash = room_busy(room=room, starts_at=starts_at, ends_at=ends_at)
        if clash:
            raise ValidationError(
                {
                    "start_time": _(
                        "%(room)s is used by group %(group)s from %(start)s to %(end)s (15 minutes turnover included)."
                    )
                    % {
                        "room": room.name,
                        "group": clash.group.code,
                        "start": timezone.localtime(clash.starts_at).strftime("%H:%M"),
                        "end": timezone.localtime(clash.ends_at).strftime("%H:%M"),
                    }
                }
            )
        session = Session.objects.create(
            group=group, date=date, starts_at=starts_at, ends_at=ends_at, room=room, is_extra=True
        )
        audit_record(
            actor=actor,
            action=AuditLog.Action.CREATE,
            instance=session,
            changes={"starts_at": [None, starts_at.isoformat()], "room": [None, room.pk]},
        )
    return session


def session_cancel(*, actor, session: Session, reason: str) -> Session:
    """Cancel a session with a reason (managers, or the auto-cancel job when actor is None)."""
    reason = (reason or "").strip()
    if actor is not None and not actor.has_perm("core.cancel_session"):
        raise PermissionDenied(_("You may not cancel sessions."))
    if not reason:
        raise ValidationError({"reason": _("Give the reason for cancelling.")})
    with transaction.atomic():
        locked = Session.objects.select_for_update().get(pk=session.pk)
        if locked.status == Session.Status.CANCELLED:
            raise ValidationError(_("This session is already cancelled."))
        if locked.status == Session.Status.HELD:
            raise ValidationError(_("This session was held and cannot be cancelled."))
        locked.status, locked.cancel_reason = Session.Status.CANCELLED, reason[:255]
        locked.save(update_fields=["status", "cancel_reason"])
        audit_record(
            actor=actor,
            action=AuditLog.Action.CANCEL,
            instance=locked,
            changes={"status": [Session.Status.SCHEDULED, Session.Status.CANCELLED]},
            reason=reason,
        )
        session_cancelled_notify(locked)
        # R6: students already admitted to a cancelled session are not charged.
        from core.services.door import session_charges_reverse

        session_charges_reverse(session=locked, actor=actor, reason=reason)
    return locked


def session_cancelled_notify(session: Session) -> int:
    """Queue ``session_cancelled`` to every guardian of every student enrolled in the group."""
    from core.services.messaging import message_queue

    links = StudentGuardian.objects.filter(
        student__enrollments__group_id=session.group_id, student__enrollments__is_active=True, student__is_active=True
    ).select_related("student", "guardian")
    starts = timezone.localtime(session.starts_at)
    queued = 0
    for link in links:
        message = message_queue(
            event=f"session_cancelled:{session.pk}:{link.student_id}",
            guardian=link.guardian,
            template="session_cancelled",
            context={
                "student_name": link.student.full_name,
                "group_name": session.group.name,
                "date": starts.date(),
                "time": starts.time(),
                "reason": session.cancel_reason,
            },
            student=link.student,
        )
        queued += message is not None
    return queued
