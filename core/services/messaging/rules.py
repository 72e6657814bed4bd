"""The rules a message obeys, applied when it is queued and again when it is claimed for sending.

- messaging disabled → ``held`` (nothing is sent; the messages go out once it is enabled);
- optional kinds respect the guardian's opt-outs (nothing is queued); mandatory ones do not;
- quiet hours hold optional messages until the quiet hours end (Cairo time);
- the hourly limit per guardian holds a message until the hour frees a slot, never drops it.
  It counts every kind (mandatory ones too) so a fault can never flood a parent; 0 means no limit.

Quiet hours are Cairo wall-clock times (they may cross midnight, summer time included).
"""

import datetime
from collections import defaultdict

from django.utils import timezone

from core.models import CenterSettings, Message

RATE_WINDOW = datetime.timedelta(hours=1)


def _cairo(moment: datetime.datetime) -> datetime.datetime:
    return timezone.localtime(moment, timezone.get_default_timezone())


def quiet_hours_active(moment: datetime.datetime, center: CenterSettings) -> bool:
    """Whether a Cairo wall-clock moment falls in the quiet hours (which may cross midnight)."""
    start, end = center.quiet_hours_start, center.quiet_hours_end
    if start == end:
        return False
    now = _cairo(moment).time()
    return start <= now < end if start < end else (now >= start or now < end)


def quiet_hours_end(moment: datetime.datetime, center: CenterSettings) -> datetime.datetime:
    """The next time the quiet hours end after ``moment`` (Cairo wall clock, summer time aware)."""
    local = _cairo(moment)
    day = local.date() if local.time() < center.quiet_hours_end else local.date() + datetime.timedelta(days=1)
    return timezone.make_aware(datetime.datetime.combine(day, center.quiet_hours_end), timezone.get_default_timezone())


def _initial_state(*, mandatory: bool, center: CenterSettings, now: datetime.datetime) -> dict:
    if not center.messaging_enabled:
        return {"status": Message.Status.HELD, "hold_reason": Message.HoldReason.DISABLED, "next_attempt_at": now}
    if not mandatory and quiet_hours_active(now, center):
        return {
            "status": Message.Status.HELD,
            "hold_reason": Message.HoldReason.QUIET_HOURS,
            "next_attempt_at": quiet_hours_end(now, center),
        }
    return {"status": Message.Status.PENDING, "hold_reason": "", "next_attempt_at": now}


def _rate_limit_split(
    candidates: list[Message], *, now: datetime.datetime, limit: int
) -> tuple[list[Message], dict[datetime.datetime, list[int]]]:
    """Split candidates into those within each guardian's hourly limit and those to hold (until when)."""
    if limit <= 0:
        return candidates, {}
    guardian_ids = {message.guardian_id for message in candidates if message.guardian_id}
    recent: dict[int, list[datetime.datetime]] = defaultdict(list)
    if guardian_ids:
        rows = (
            Message.objects.filter(
                guardian_id__in=guardian_ids,
                status__in=(Message.Status.SENDING, Message.Status.SENT, Message.Status.UNKNOWN),
                claimed_at__gt=now - RATE_WINDOW,
            )
            .order_by("claimed_at")
            .values_list("guardian_id", "claimed_at")
        )
        for guardian_id, claimed_at in rows:
            recent[guardian_id].append(claimed_at)
    allowed, held = [], defaultdict(list)
    for message in candidates:
        if message.guardian_id is None:
            allowed.append(message)
            continue
        times = recent[message.guardian_id]
        if len(times) < limit:
            times.append(now)
            allowed.append(message)
        else:
            # The slot frees when the oldest send that keeps the guardian at the limit ages out.
            held[times[len(times) - limit] + RATE_WINDOW].append(message.pk)
    return allowed, held
