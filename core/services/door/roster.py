"""Read queries of the door: the kiosk's roster and today's sessions board.

Both run a fixed number of queries whatever the number of sessions or students (tests assert it):
the sessions, then their enrollments, attendances and refusals in one query each. The kiosk's
roster names the students; the board only counts them, so its three queries are grouped counts
(a big branch has 170 classes a day and thousands of names the board never shows).
"""

import dataclasses
import datetime

from django.db.models import Count, Exists, OuterRef
from django.utils import timezone

from core.models import Attendance, CenterSettings, Enrollment, ScanEvent, ScanOutcomeCode, Session

from .rules import ADMITTED_STATUSES, Place, enrolled_on

REFUSALS = (ScanOutcomeCode.DOOR_CLOSED, ScanOutcomeCode.PAY_FIRST)


@dataclasses.dataclass
class SessionRoster:
    session: Session
    expected: list[str] = dataclasses.field(default_factory=list)  # everyone enrolled that day
    present: list[str] = dataclasses.field(default_factory=list)
    late: list[str] = dataclasses.field(default_factory=list)
    refused: list[str] = dataclasses.field(default_factory=list)  # refused and not admitted since

    @property
    def waiting(self) -> list[str]:
        arrived = set(self.present) | set(self.late) | set(self.refused)
        return [name for name in self.expected if name not in arrived]

    @property
    def counts(self) -> dict[str, int]:
        return {
            "expected": len(self.expected),
            "in": len(self.present) + len(self.late),
            "late": len(self.late),
            "refused": len(self.refused),
        }

    def as_json(self) -> dict:
        session = self.session
        return {
            "id": session.pk,
            "group": session.group.name,
            "room": session.room.name,
            "starts_at": timezone.localtime(session.starts_at).strftime("%H:%M"),
            "status": session.status,
            "teacher_in": session.teacher_checked_in_at is not None,
            "counts": self.counts,
            "present": self.present,
            "late": self.late,
            "refused": self.refused,
            "waiting": self.waiting,
        }


def rosters_for(sessions: list[Session], day: datetime.date) -> list[SessionRoster]:
    """Who is expected, in, late and refused for each session (three queries in all)."""
    rosters = {session.pk: SessionRoster(session=session) for session in sessions}
    if not rosters:
        return []
    by_group: dict[int, list[SessionRoster]] = {}
    for roster in rosters.values():
        by_group.setdefault(roster.session.group_id, []).append(roster)
    enrolled = (
        Enrollment.objects.filter(enrolled_on(day), group_id__in=by_group)
        .order_by("student__full_name")
        .values_list("group_id", "student__full_name")
    )
    for group_id, name in enrolled:
        for roster in by_group[group_id]:
            roster.expected.append(name)
    admitted: set[tuple[int, str]] = set()
    attendances = (
        Attendance.objects.filter(
            session_id__in=rosters, status__in=[Attendance.Status.PRESENT, Attendance.Status.LATE]
        )
        .order_by("at")
        .values_list("session_id", "status", "student__full_name")
    )
    for session_id, status, name in attendances:
        roster = rosters[session_id]
        (roster.late if status == Attendance.Status.LATE else roster.present).append(name)
        admitted.add((session_id, name))
    refusals = (
        ScanEvent.objects.filter(session_id__in=rosters, outcome__in=REFUSALS, student__isnull=False)
        .order_by("at")
        .values_list("session_id", "student__full_name")
    )
    for session_id, name in refusals:
        roster = rosters[session_id]
        if (session_id, name) not in admitted and name not in roster.refused:
            roster.refused.append(name)
    return list(rosters.values())


def door_sessions_now(place: Place, *, now: datetime.datetime | None = None) -> list[Session]:
    """Today's sessions at this place whose door window holds now (start − early window … end)."""
    now = now or timezone.now()
    early = datetime.timedelta(minutes=CenterSettings.load().early_window_minutes)
    return list(
        Session.objects.filter(
            place.sessions_filter(), date=timezone.localdate(now), starts_at__lte=now + early, ends_at__gte=now
        )
        .select_related("group", "room")
        .order_by("starts_at", "pk")
    )


def door_roster(place: Place, *, now: datetime.datetime | None = None) -> list[SessionRoster]:
    now = now or timezone.now()
    return rosters_for(door_sessions_now(place, now=now), timezone.localdate(now))


@dataclasses.dataclass
class SessionCounts:
    """How many are expected at a session and how the door and the staff marked them.

    ``refused``: students the door refused for the session who were not let in for it afterwards
    (paid at the office and came back, or admitted by hand): who is still outside."""

    expected: int = 0
    present: int = 0
    late: int = 0
    absent: int = 0
    excused: int = 0
    refused: int = 0

    @property
    def admitted(self) -> int:
        return self.present + self.late

    def board(self) -> dict[str, int]:
        """The counts of the board and the kiosk's roster (``SessionRoster.counts``)."""
        return {"expected": self.expected, "in": self.admitted, "late": self.late, "refused": self.refused}


def session_counts(group_of: dict[int, int], day: datetime.date) -> dict[int, SessionCounts]:
    """``{session id: SessionCounts}`` for the sessions given as ``{session id: group id}``,
    three grouped queries whatever the number of sessions or students (the board, the dashboard)."""
    counts = {session_id: SessionCounts() for session_id in group_of}
    if not counts:
        return {}
    sessions_of: dict[int, list[int]] = {}
    for session_id, group_id in group_of.items():
        sessions_of.setdefault(group_id, []).append(session_id)
    expected = (
        Enrollment.objects.filter(enrolled_on(day), group_id__in=sessions_of)
        .order_by()
        .values_list("group_id")
        .annotate(n=Count("id"))
    )
    for group_id, n in expected:
        for session_id in sessions_of[group_id]:
            counts[session_id].expected = n
    marked = (
        Attendance.objects.filter(session_id__in=counts)
        .order_by()
        .values_list("session_id", "status")
        .annotate(n=Count("id"))
    )
    for session_id, status, n in marked:
        setattr(counts[session_id], status, n)  # each status of Attendance.Status is a field
    let_in = Attendance.objects.filter(
        session_id=OuterRef("session_id"), student_id=OuterRef("student_id"), status__in=ADMITTED_STATUSES
    )
    refused = (
        ScanEvent.objects.filter(session_id__in=counts, outcome__in=REFUSALS, student__isnull=False)
        .exclude(Exists(let_in))
        .order_by()
        .values_list("session_id")
        .annotate(n=Count("student_id", distinct=True))
    )
    for session_id, n in refused:
        counts[session_id].refused = n
    return counts


@dataclasses.dataclass
class BoardRow:
    """One line of today's sessions board: the session and its counts."""

    session: Session
    counts: dict[str, int]  # SessionCounts.board()


def sessions_board(branch_ids, *, day: datetime.date) -> list[BoardRow]:
    """Today's sessions board: every session of the day in these branches (None: all), with its
    counts (four queries whatever the number of sessions)."""
    queryset = (
        Session.objects.filter(date=day)
        .select_related("group__teacher", "room__branch")
        .order_by("room__branch_id", "starts_at", "room__name")
    )
    if branch_ids is not None:
        queryset = queryset.filter(room__branch_id__in=branch_ids)
    sessions = list(queryset)
    counts = session_counts({session.pk: session.group_id for session in sessions}, day)
    return [BoardRow(session=session, counts=counts[session.pk].board()) for session in sessions]
