"""The dashboard's "now": each of today's sessions with who is expected, in, late, refused and
absent, whether the teacher is in, and when auto-cancel (R6) takes the class if he is not.

Four queries whatever the number of sessions or students: the sessions, then the door's
``session_counts`` (enrolled, attendance by status, refusals, each grouped in the database).
"""

import dataclasses
import datetime

from django.utils import timezone

from core.models import Session
from core.selectors.door import SessionCounts, session_counts  # the door's counts: who is expected, in, refused


@dataclasses.dataclass(kw_only=True)
class SessionNow(SessionCounts):
    """One of today's sessions as the dashboard shows it, with the door's counts (plain values: it
    is cached)."""

    pk: int
    group_id: int
    group_code: str
    group_name: str
    teacher_name: str
    room_name: str
    starts_at: datetime.datetime
    ends_at: datetime.datetime
    status: str
    teacher_in_at: datetime.datetime | None

    @property
    def is_cancelled(self) -> bool:
        return self.status == Session.Status.CANCELLED

    def teacher_missing(self, now: datetime.datetime) -> bool:
        """Started, not cancelled, and nobody checked the teacher in."""
        return (
            self.status == Session.Status.SCHEDULED
            and self.teacher_in_at is None
            and self.starts_at <= now < self.ends_at
        )

    def cancel_at(self, auto_cancel_minutes: int) -> datetime.datetime | None:
        """When R6 cancels this class if the teacher stays missing (None when it cannot)."""
        if not auto_cancel_minutes or self.status != Session.Status.SCHEDULED or self.teacher_in_at is not None:
            return None
        return self.starts_at + datetime.timedelta(minutes=auto_cancel_minutes)


def sessions_today(
    *, day: datetime.date | None = None, branch_ids=None, teacher_id: int | None = None
) -> list[SessionNow]:
    """Today's sessions (cancelled ones included) in these branches (None: all), or of one
    teacher's groups, by start time."""
    day = day or timezone.localdate()
    sessions = Session.objects.filter(date=day)
    if branch_ids is not None:
        sessions = sessions.filter(group__branch_id__in=branch_ids)
    if teacher_id is not None:
        sessions = sessions.filter(group__teacher_id=teacher_id)
    rows = [
        SessionNow(
            pk=row["pk"],
            group_id=row["group_id"],
            group_code=row["group__code"],
            group_name=row["group__name"],
            teacher_name=row["group__teacher__full_name"],
            room_name=row["room__name"],
            starts_at=row["starts_at"],
            ends_at=row["ends_at"],
            status=row["status"],
            teacher_in_at=row["teacher_checked_in_at"],
        )
        for row in sessions.order_by("starts_at", "pk").values(
            "pk",
            "group_id",
            "group__code",
            "group__name",
            "group__teacher__full_name",
            "room__name",
            "starts_at",
            "ends_at",
            "status",
            "teacher_checked_in_at",
        )
    ]
    if not rows:
        return []
    counts = session_counts({row.pk: row.group_id for row in rows}, day)
    for row in rows:
        counted = counts[row.pk]
        for field in dataclasses.fields(SessionCounts):
            setattr(row, field.name, getattr(counted, field.name))
    return rows
