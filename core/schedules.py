"""Every periodic job of the product, declared once; ``manage.py setup_schedules`` applies it.

Times are Cairo local time (settings.TIME_ZONE). Later features add their entries here.
"""

from dataclasses import dataclass

from django_q.models import Schedule


@dataclass(frozen=True)
class ScheduleEntry:
    name: str
    func: str
    schedule_type: str
    minutes: int | None = None
    cron: str | None = None


SCHEDULES: tuple[ScheduleEntry, ...] = (
    ScheduleEntry(name="tasks heartbeat", func="core.tasks.heartbeat", schedule_type=Schedule.MINUTES, minutes=1),
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
)
