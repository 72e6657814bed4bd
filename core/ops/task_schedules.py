"""Every periodic job of the product, declared once; ``manage.py setup_schedules`` applies it.

Times are Cairo local time (settings.TIME_ZONE). Later features add their entries here.
"""

import datetime
from dataclasses import dataclass

from django.utils import timezone
from django_q.models import Schedule


@dataclass(frozen=True)
class ScheduleEntry:
    name: str
    func: str
    schedule_type: str
    minutes: int | None = None
    cron: str | None = None
    # DAILY and WEEKLY entries run at this Cairo wall-clock time (WEEKLY: on this weekday,
    # Monday = 0 as in Python). django-q2 keeps the wall-clock time across summer-time changes.
    at: datetime.time | None = None
    weekday: int | None = None

    def first_run(self, now: datetime.datetime) -> datetime.datetime | None:
        """The first run after ``now`` at the declared local time, or None when none is declared."""
        if self.at is None:
            return None
        local_now = timezone.localtime(now, timezone.get_default_timezone())
        day = local_now.date()
        while True:
            candidate = timezone.make_aware(datetime.datetime.combine(day, self.at), timezone.get_default_timezone())
            if candidate > now and (self.weekday is None or day.weekday() == self.weekday):
                return candidate
            day += datetime.timedelta(days=1)

    def runs_at_declared_time(self, next_run: datetime.datetime | None) -> bool:
        """Whether a stored next run matches the declared local time (and weekday)."""
        if self.at is None:
            return True
        if next_run is None:
            return False
        local = timezone.localtime(next_run, timezone.get_default_timezone())
        return local.time() == self.at and (self.weekday is None or local.weekday() == self.weekday)


FRIDAY = 4

SCHEDULES: tuple[ScheduleEntry, ...] = (
    ScheduleEntry(name="tasks heartbeat", func="core.tasks.heartbeat", schedule_type=Schedule.MINUTES, minutes=1),
    # The dashboards people are looking at, recomputed so the page never waits for its sums.
    ScheduleEntry(
        name="refresh watched dashboards",
        func="core.tasks.dashboard_refresh",
        schedule_type=Schedule.MINUTES,
        minutes=1,
    ),
    ScheduleEntry(
        name="generate sessions",
        func="core.tasks.sessions_generate_daily",
        schedule_type=Schedule.DAILY,
        at=datetime.time(1, 30),
    ),
    # Each message is also handed to the worker as soon as it is queued; this sends what that
    # missed, retries and held messages whose time has come.
    ScheduleEntry(
        name="send due messages", func="core.tasks.messages_send_due", schedule_type=Schedule.MINUTES, minutes=1
    ),
    ScheduleEntry(
        name="clean up old messages",
        func="core.tasks.messages_cleanup",
        schedule_type=Schedule.WEEKLY,
        at=datetime.time(4, 0),
        weekday=FRIDAY,
    ),
    ScheduleEntry(
        name="delete old import uploads",
        func="core.tasks.import_files_clean_up",
        schedule_type=Schedule.DAILY,
        at=datetime.time(3, 30),
    ),
    # R6 and R7: each session is handled once, so running every minute is safe.
    ScheduleEntry(
        name="auto-cancel sessions without a teacher",
        func="core.tasks.door_auto_cancel",
        schedule_type=Schedule.MINUTES,
        minutes=1,
    ),
    ScheduleEntry(
        name="mark absences of ended sessions",
        func="core.tasks.door_absences_mark",
        schedule_type=Schedule.MINUTES,
        minutes=1,
    ),
    # SPEC §5: a verified backup of the whole center every night, then the retention.
    ScheduleEntry(
        name="daily backup",
        func="core.tasks.backups_daily",
        schedule_type=Schedule.DAILY,
        at=datetime.time(2, 30),
    ),
    # R11: one reminder per guardian and day (the message's event carries the date).
    ScheduleEntry(
        name="payment reminders",
        func="core.tasks.payment_reminders_send",
        schedule_type=Schedule.DAILY,
        at=datetime.time(18, 0),
    ),
)
