"""What the door answers: ``ScanOutcome`` (code, colour, message, whom and which session) and the
builders of each answer, so the wording of every refusal lives in one place."""

import dataclasses
import datetime
from decimal import Decimal

from django.utils import timezone
from django.utils.formats import time_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.models import Attendance, ScanOutcomeCode, Session, Student, Teacher
from core.ops.media import media_url_signed
from core.selectors.money import ZERO, money_round

from .rules import TOO_EARLY_HORIZON

COLOURS = {
    ScanOutcomeCode.UNKNOWN: "white",
    ScanOutcomeCode.NO_SESSION: "white",
    ScanOutcomeCode.CANCELLED: "white",
    ScanOutcomeCode.ALREADY_IN: "gray",
    ScanOutcomeCode.TOO_EARLY: "white",
    ScanOutcomeCode.DOOR_CLOSED: "red",
    ScanOutcomeCode.PAY_FIRST: "yellow",
    ScanOutcomeCode.PRESENT: "green",
    ScanOutcomeCode.LATE: "green",
    ScanOutcomeCode.TEACHER_IN: "green",
    ScanOutcomeCode.RATE_LIMITED: "white",
}
ADMITTED = frozenset({ScanOutcomeCode.PRESENT, ScanOutcomeCode.LATE})


@dataclasses.dataclass
class ScanOutcome:
    code: str
    message: str
    student: Student | None = None
    session: Session | None = None
    teacher: Teacher | None = None
    minutes_late: int = 0
    amount_owed: Decimal = ZERO
    attendance: Attendance | None = None
    replayed: bool = False

    @property
    def colour(self) -> str:
        return COLOURS[self.code]

    @property
    def admitted(self) -> bool:
        return self.code in ADMITTED

    def as_json(self) -> dict:
        """The door's answer (kiosk and desk). No amount: the door says only "go to the office"
        (SPEC §1); the amount is kept with the scan event for the office (``stored_json``)."""
        starts = timezone.localtime(self.session.starts_at) if self.session else None
        return {
            "code": str(self.code),
            "colour": self.colour,
            "message": self.message,
            "student": (
                {
                    "code": self.student.code,
                    "name": self.student.full_name,
                    # a signed, expiring address: the tablet has no login to fetch uploads with
                    "photo": media_url_signed(self.student.photo.name) if self.student.photo else "",
                }
                if self.student
                else None
            ),
            "teacher": {"name": self.teacher.full_name} if self.teacher else None,
            "session": (
                {"id": self.session.pk, "group": self.session.group.name, "starts_at": starts.strftime("%H:%M")}
                if self.session
                else None
            ),
            "minutes_late": self.minutes_late,
        }

    def stored_json(self) -> dict:
        """What the scan event keeps: the answer given, plus the amount owed (money as a string)."""
        return {**self.as_json(), "amount_owed": str(money_round(self.amount_owed))}


def local_time(moment: datetime.datetime) -> str:
    return time_format(timezone.localtime(moment), "H:i")


def unknown() -> ScanOutcome:
    return ScanOutcome(code=ScanOutcomeCode.UNKNOWN, message=_("Unknown card. Please see the office."))


def not_now(
    student_or_teacher: Student | Teacher,
    next_session: Session | None,
    now: datetime.datetime,
    early: datetime.timedelta,
) -> ScanOutcome:
    """No session's door window holds now: "too early" when the next class today opens its door
    within ``TOO_EARLY_HORIZON``, else "no class now" (naming the next class today, if any)."""
    person = (
        {"student": student_or_teacher} if isinstance(student_or_teacher, Student) else {"teacher": student_or_teacher}
    )
    if next_session is not None and next_session.starts_at - early - now <= TOO_EARLY_HORIZON:
        return ScanOutcome(
            code=ScanOutcomeCode.TOO_EARLY,
            message=_("Too early for %(group)s. Come back at %(time)s.")
            % {"group": next_session.group.name, "time": local_time(next_session.starts_at - early)},
            session=next_session,
            **person,
        )
    if next_session is not None:
        message = _("No class for you now. Your next class today, %(group)s, starts at %(time)s.") % {
            "group": next_session.group.name,
            "time": local_time(next_session.starts_at),
        }
    else:
        message = _("No class for you now.")
    return ScanOutcome(code=ScanOutcomeCode.NO_SESSION, message=message, **person)


def door_closed(student: Student, session: Session) -> ScanOutcome:
    return ScanOutcome(
        code=ScanOutcomeCode.DOOR_CLOSED,
        message=_("The door of %(group)s is closed.") % {"group": session.group.name},
        student=student,
        session=session,
    )


def pay_first(student: Student, session: Session, owed: Decimal) -> ScanOutcome:
    return ScanOutcome(
        code=ScanOutcomeCode.PAY_FIRST,
        message=_("%(name)s has fees to pay. Please go to the office.") % {"name": student.full_name},
        student=student,
        session=session,
        amount_owed=owed,
    )


def cancelled(session: Session, *, student: Student | None = None, teacher: Teacher | None = None) -> ScanOutcome:
    return ScanOutcome(
        code=ScanOutcomeCode.CANCELLED,
        message=_("%(group)s is cancelled today.") % {"group": session.group.name},
        student=student,
        teacher=teacher,
        session=session,
    )


def already_in(student: Student, session: Session) -> ScanOutcome:
    return ScanOutcome(
        code=ScanOutcomeCode.ALREADY_IN,
        message=_("%(name)s is already in %(group)s.") % {"name": student.full_name, "group": session.group.name},
        student=student,
        session=session,
    )


def welcome(student: Student, session: Session, *, minutes_late: int) -> str:
    if minutes_late:
        return ngettext(
            "Welcome, %(name)s. %(minutes)d minute late for %(group)s.",
            "Welcome, %(name)s. %(minutes)d minutes late for %(group)s.",
            minutes_late,
        ) % {"name": student.full_name, "minutes": minutes_late, "group": session.group.name}
    return _("Welcome, %(name)s. %(group)s.") % {"name": student.full_name, "group": session.group.name}
