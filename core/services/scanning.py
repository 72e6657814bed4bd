"""The door (SPEC.md R1–R7): a scan decides admission, writes attendance, charges and messages.

``scan_process`` is the one entry point for the kiosk, the desk and manual scans. It runs in one
transaction: one read decides (core/selectors/scan_read.py), then an admission writes the
attendance, the charge, an audit row and the parent message, and every attempt writes a
``ScanEvent`` holding the answer given; a repeated client scan id returns that first answer and
changes nothing. Concurrency, without making a class's scans wait for each other:

- the same student at two kiosks at once: the unique (session, student) attendance key stops the
  second insert; that scan is decided again on what the first committed ("already in"), so one
  attendance and one charge;
- a cancellation (or the absence job) at the same moment: an admission first re-reads the session
  under FOR KEY SHARE, which lets scans share the row but makes the cancellation's FOR UPDATE wait
  for them (it then reverses their charges) or makes them wait for it (and see it cancelled).

Two readings of the spec worth stating:

- R2 picks the session whose door window (start − early window … end) contains now. A scan
  before any window opens is ``too_early`` ("come back at …") when the student's next class today
  opens its door within ``TOO_EARLY_HORIZON``; otherwise it is ``no_session`` naming that class.
- R5 ``last_session_warning``: queued when, after this admitted scan, exactly one more unpaid
  session would still be admitted (unpaid sessions = grace − 1, at least one unpaid).

Offline replays (``offline=True``, with the scan's own time in ``at``): a kiosk that lost the
network let the student in and queued the scan. The rules run at that time (its date, its
session); an admission is recorded with source ``offline``; a refusal the kiosk could not enforce
(owes, door closed) sends no parent message hours later but leaves a ``DoorFollowUp`` for the office.
"""

import dataclasses
import datetime
import math
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.formats import time_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.access.scoping import branch_ids_visible
from core.cards import teacher_card_masked, teacher_from_card
from core.db import row_insert
from core.models import (
    Attendance,
    AuditLog,
    CenterSettings,
    DoorFollowUp,
    Enrollment,
    EntryType,
    FeePeriod,
    FeePlan,
    Kiosk,
    LedgerEntry,
    ScanEvent,
    ScanOutcomeCode,
    Session,
    Student,
    StudentGuardian,
    Teacher,
)
from core.normalize import scan_code_clean
from core.ops.media import media_url_signed
from core.selectors.money import ZERO, DoorMoney, door_money, money_round, unpaid_sessions
from core.selectors.scan_read import DoorRead, Place, door_read
from core.services.audit import audit_record
from core.services.messaging import message_sources, messages_queue_to_guardians

TEACHER_CARD_PREFIX = "T-"
TOO_EARLY_HORIZON = datetime.timedelta(minutes=60)

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


def _local_time(moment: datetime.datetime) -> str:
    return time_format(timezone.localtime(moment), "H:i")


# --- R2: which session ----------------------------------------------------------------------------


def _place_filter(kiosk: Kiosk | None, operator=None) -> Q:
    """Where the scan happens: the kiosk's room or branch, else the operator's branches."""
    if kiosk is None:
        branch_ids = branch_ids_visible(operator) if getattr(operator, "pk", None) else None
        return Q() if branch_ids is None else Q(room__branch_id__in=branch_ids)
    if kiosk.room_id:
        return Q(room_id=kiosk.room_id)
    return Q(room__branch_id=kiosk.branch_id)


def _nearest(sessions: list[Session], now: datetime.datetime) -> Session:
    return min(sessions, key=lambda session: (abs(session.starts_at - now), session.pk))


def _session_pick(
    sessions: list[Session], now: datetime.datetime, early: datetime.timedelta
) -> tuple[Session | None, Session | None]:
    """(the session whose door window holds now, else None; the next session today, else None)."""
    in_window = [s for s in sessions if s.starts_at - early <= now <= s.ends_at]
    open_ones = [s for s in in_window if s.status != Session.Status.CANCELLED]
    chosen = _nearest(open_ones or in_window, now) if in_window else None
    later = sorted(
        (s for s in sessions if s.starts_at - early > now and s.status != Session.Status.CANCELLED),
        key=lambda s: s.starts_at,
    )
    return chosen, (later[0] if later else None)


def _place(kiosk: Kiosk | None, operator=None) -> Place:
    """``_place_filter`` for the door's read (core/selectors/scan_read.py)."""
    if kiosk is None:
        branch_ids = branch_ids_visible(operator) if getattr(operator, "pk", None) else None
        return Place(branch_ids=None if branch_ids is None else tuple(sorted(branch_ids)))
    if kiosk.room_id:
        return Place(room_id=kiosk.room_id)
    return Place(branch_ids=(kiosk.branch_id,))


# --- outcomes ---------------------------------------------------------------------------------------


def _unknown() -> ScanOutcome:
    return ScanOutcome(code=ScanOutcomeCode.UNKNOWN, message=_("Unknown card. Please see the office."))


def _not_now(student_or_teacher, next_session: Session | None, now, early) -> ScanOutcome:
    person = (
        {"student": student_or_teacher} if isinstance(student_or_teacher, Student) else {"teacher": student_or_teacher}
    )
    if next_session is not None and next_session.starts_at - early - now <= TOO_EARLY_HORIZON:
        return ScanOutcome(
            code=ScanOutcomeCode.TOO_EARLY,
            message=_("Too early for %(group)s. Come back at %(time)s.")
            % {"group": next_session.group.name, "time": _local_time(next_session.starts_at - early)},
            session=next_session,
            **person,
        )
    if next_session is not None:
        message = _("No class for you now. Your next class today, %(group)s, starts at %(time)s.") % {
            "group": next_session.group.name,
            "time": _local_time(next_session.starts_at),
        }
    else:
        message = _("No class for you now.")
    return ScanOutcome(code=ScanOutcomeCode.NO_SESSION, message=message, **person)


def _guardian_links(student: Student):
    return StudentGuardian.objects.filter(student=student).select_related("guardian")


def notify_guardians(
    *, student: Student, event: str, template: str, context: dict, center: CenterSettings | None = None
) -> None:
    """Queue one template to each of the student's guardians (idempotent per event); pass the
    center settings when you hold them (saves a query per message)."""
    from core.services.messaging import message_queue

    context = {"student_name": student.full_name, **context}
    for link in _guardian_links(student):
        message_queue(
            event=event, guardian=link.guardian, template=template, context=context, student=student, center=center
        )


# --- R4 / R5: money -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class MoneyVerdict:
    admitted: bool
    owed: Decimal  # after this scan's charge
    charge: Decimal  # what admitting posts (0 for none)
    warn_last_session: bool


def _month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def _attended_this_month(enrollment: Enrollment, month_start: datetime.date, today: datetime.date) -> int:
    """Admitted attendances of this month so far; one at a session later cancelled does not count (R5)."""
    return (
        Attendance.objects.filter(
            enrollment=enrollment,
            status__in=[Attendance.Status.PRESENT, Attendance.Status.LATE],
            session__date__gte=month_start,
            session__date__lte=today,
        )
        .exclude(session__status=Session.Status.CANCELLED)
        .count()
    )


def money_verdict(
    enrollment: Enrollment,
    *,
    today: datetime.date,
    center: CenterSettings,
    money: DoorMoney | None = None,
    attended_this_month: int | None = None,
) -> MoneyVerdict:
    """R5 for one more admitted session of this enrollment (R4 says what that would charge).

    The door passes ``money`` and ``attended_this_month`` from its one read; other callers
    leave them out and they are queried here."""
    price = money_round(enrollment.price or ZERO)
    if enrollment.fee_plan == FeePlan.EXEMPT:
        return MoneyVerdict(admitted=True, owed=ZERO, charge=ZERO, warn_last_session=False)
    month_start = _month_start(today)
    if money is None:
        money = door_money(enrollment, month_start=month_start)
    is_month_group = enrollment.group.fee_period == FeePeriod.MONTH
    if price <= 0:
        charge = ZERO
    elif is_month_group:
        charge = ZERO if money.month_charged else money_round(enrollment.month_price(month_start))
    else:
        charge = price
    owed = max(charge - money.balance, ZERO)  # a credit in hand pays this scan's charge
    grace = center.unpaid_session_grace if money.student_has_paid else center.new_student_grace
    if owed <= 0:
        unpaid = 0
    elif is_month_group:
        if money.arrears_before_month > 0:
            return MoneyVerdict(admitted=False, owed=owed, charge=charge, warn_last_session=False)
        if attended_this_month is None:
            attended_this_month = _attended_this_month(enrollment, month_start, today)
        unpaid = attended_this_month + 1
    else:
        unpaid = unpaid_sessions(owed, price)
    admitted = unpaid <= grace
    return MoneyVerdict(
        admitted=admitted, owed=owed, charge=charge, warn_last_session=admitted and unpaid >= 1 and grace - unpaid == 1
    )


def post_charge(
    *,
    enrollment: Enrollment,
    session: Session,
    amount: Decimal,
    today: datetime.date,
    operator,
    source: str = LedgerEntry.Source.DOOR,
) -> LedgerEntry | None:
    if amount <= 0:
        return None
    is_month_group = enrollment.group.fee_period == FeePeriod.MONTH
    return row_insert(
        LedgerEntry(
            enrollment=enrollment,
            entry_type=EntryType.CHARGE,
            amount=amount,
            date=today,
            period_month=_month_start(today) if is_month_group else None,
            session=session,
            source=source,
            created_by=operator if getattr(operator, "pk", None) else None,
        )
    )


# --- the student's scan -----------------------------------------------------------------------------


def _guardians_notify(read: DoorRead, *, center: CenterSettings, event: str, template: str, context: dict) -> None:
    """Queue a door message to the student's guardians from what the door's read holds."""
    if not read.guardians:
        return
    messages_queue_to_guardians(
        event=event,
        guardians=read.guardians,
        source=message_sources([template], stamp=read.template_stamp).get(template),
        context={"student_name": read.student.full_name, **context},
        center=center,
        student=read.student,
    )


def _door_closed(student: Student, session: Session) -> ScanOutcome:
    return ScanOutcome(
        code=ScanOutcomeCode.DOOR_CLOSED,
        message=_("The door of %(group)s is closed.") % {"group": session.group.name},
        student=student,
        session=session,
    )


def _pay_first(student: Student, session: Session, owed: Decimal) -> ScanOutcome:
    return ScanOutcome(
        code=ScanOutcomeCode.PAY_FIRST,
        message=_("%(name)s has fees to pay. Please go to the office.") % {"name": student.full_name},
        student=student,
        session=session,
        amount_owed=owed,
    )


def _cancelled(student: Student, session: Session) -> ScanOutcome:
    return ScanOutcome(
        code=ScanOutcomeCode.CANCELLED,
        message=_("%(group)s is cancelled today.") % {"group": session.group.name},
        student=student,
        session=session,
    )


def _already_in(student: Student, session: Session) -> ScanOutcome:
    return ScanOutcome(
        code=ScanOutcomeCode.ALREADY_IN,
        message=_("%(name)s is already in %(group)s.") % {"name": student.full_name, "group": session.group.name},
        student=student,
        session=session,
    )


def _student_scan(
    read: DoorRead,
    *,
    kiosk: Kiosk | None,
    operator,
    now: datetime.datetime,
    center: CenterSettings,
    offline: bool = False,
) -> ScanOutcome:
    student = read.student
    today = timezone.localdate(now)
    early = datetime.timedelta(minutes=center.early_window_minutes)
    candidates = {candidate.session.pk: candidate for candidate in read.candidates}
    session, next_session = _session_pick([candidate.session for candidate in read.candidates], now, early)
    if session is None:
        return _not_now(student, next_session, now, early)
    candidate = candidates[session.pk]
    group = session.group
    if session.status == Session.Status.CANCELLED:
        return _cancelled(student, session)
    if candidate.attendance_status in (Attendance.Status.PRESENT, Attendance.Status.LATE):
        return _already_in(student, session)
    late_by = now - session.starts_at
    verdict = money_verdict(
        candidate.enrollment,
        today=today,
        center=center,
        money=candidate.money,
        attended_this_month=candidate.attended_this_month,
    )
    common = {"kiosk": kiosk, "operator": operator, "now": now, "today": today, "center": center}
    if late_by > datetime.timedelta(minutes=center.late_grace_minutes):
        if offline:
            return _let_in_offline(read, candidate, verdict, refusal=_door_closed(student, session), **common)
        if not candidate.refused_late_before:  # once per session
            _guardians_notify(
                read,
                center=center,
                event=f"late_refused:{session.pk}:{student.pk}",
                template="late_refused",
                context={"group_name": group.name, "time": timezone.localtime(now).time()},
            )
        return _door_closed(student, session)
    if not verdict.admitted:
        if offline:
            refusal = _pay_first(student, session, verdict.owed)
            return _let_in_offline(read, candidate, verdict, refusal=refusal, **common)
        if not candidate.refused_pay_before:  # once per session
            _guardians_notify(
                read,
                center=center,
                event=f"payment_block:{session.pk}:{student.pk}",
                template="payment_block",
                context={"group_name": group.name, "amount": verdict.owed},
            )
        return _pay_first(student, session, verdict.owed)
    return _admit(read=read, candidate=candidate, verdict=verdict, offline=offline, **common)


def _let_in_offline(read: DoorRead, candidate, verdict, *, refusal: ScanOutcome, **common) -> ScanOutcome:
    """An offline kiosk let the student in though the rules refuse (late, or owes).

    He sat in the class: record his attendance (source ``offline``) and the session's charge as
    for any admission, so he is never marked absent nor the class left unpaid; the answer keeps
    the rule's refusal, which leaves the office a follow-up (``_follow_up_record``). No message to
    the parents: neither a refusal nor an arrival, hours after the fact.
    """
    admitted = _admit(read=read, candidate=candidate, verdict=verdict, offline=True, notify=False, **common)
    if not admitted.admitted:  # cancelled meanwhile, or admitted by a simultaneous scan
        return admitted
    refusal.attendance, refusal.minutes_late = admitted.attendance, admitted.minutes_late
    return refusal


def _session_still_open(session: Session) -> bool:
    """Re-read the session's status under a share lock (PostgreSQL) before admitting.

    FOR KEY SHARE lets every scan of a class run side by side, but waits for (and then sees) a
    cancellation or the absence job, which take the row FOR UPDATE; and while we hold it they
    wait for our commit, so they see our attendance and reverse our charge. SQLite needs no lock:
    its transactions take the write lock at BEGIN (settings: ``transaction_mode``)."""
    if not connection.features.has_select_for_update:
        return True
    with connection.cursor() as cursor:
        table = connection.ops.quote_name(Session._meta.db_table)
        cursor.execute(f"SELECT status FROM {table} WHERE id = %s FOR KEY SHARE", [session.pk])  # noqa: S608
        row = cursor.fetchone()
    return row is not None and row[0] != Session.Status.CANCELLED


def _month_charge_hold(enrollment: Enrollment, today: datetime.date) -> bool:
    """Hold the month's live charge, posted at another session, FOR KEY SHARE (PostgreSQL).

    A manager cancelling that other session takes the charge FOR UPDATE and moves it to the
    student's next admitted attendance of the month (R6). Whichever commits first, the other
    sees it: the cancellation waits for our attendance and moves the charge onto it, or we wait
    for the cancellation and find the charge gone. False when the charge is gone."""
    if not connection.features.has_select_for_update:
        return True  # SQLite: the write lock taken at BEGIN serializes us with the cancellation
    table = connection.ops.quote_name(LedgerEntry._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {table} WHERE enrollment_id = %s AND entry_type = %s AND period_month = %s"  # noqa: S608
            " AND reversed_at IS NULL FOR KEY SHARE",
            [enrollment.pk, EntryType.CHARGE.value, _month_start(today)],
        )
        return cursor.fetchone() is not None


def _month_charge_post_late(*, enrollment: Enrollment, session: Session, today, operator) -> LedgerEntry | None:
    """Post the month's charge after a racing cancellation reversed it; if that cancellation moved
    it to another attendance of the month instead, the unique constraint keeps that one."""
    amount = money_round(enrollment.month_price(_month_start(today)))
    try:
        with transaction.atomic():
            return post_charge(enrollment=enrollment, session=session, amount=amount, today=today, operator=operator)
    except IntegrityError:
        return None


def _admit(
    *, read: DoorRead, candidate, verdict, kiosk, operator, now, today, offline=False, center, notify=True
) -> ScanOutcome:
    student, session, enrollment = read.student, candidate.session, candidate.enrollment
    group = session.group
    if not _session_still_open(session):
        session.status = Session.Status.CANCELLED
        return _cancelled(student, session)
    late_seconds = (now - session.starts_at).total_seconds()
    minutes_late = math.ceil(late_seconds / 60) if late_seconds > 0 else 0
    status = Attendance.Status.LATE if minutes_late else Attendance.Status.PRESENT
    if offline:
        source = Attendance.Source.OFFLINE
    else:
        source = Attendance.Source.KIOSK if kiosk is not None else Attendance.Source.DESK
    recorded_by = operator if getattr(operator, "pk", None) else None
    fields = {"status": status, "at": now, "minutes_late": minutes_late, "source": source, "recorded_by": recorded_by}
    if candidate.attendance_id is None:
        # Two scans of one student at once both get here; the unique (session, student) key
        # stops the second, and scan_process answers it again from the committed state.
        attendance = row_insert(Attendance(session=session, student=student, enrollment=enrollment, **fields))
        before = None
    else:  # marked absent or excused, then came after all
        updated = Attendance.objects.filter(
            pk=candidate.attendance_id, status__in=(Attendance.Status.ABSENT, Attendance.Status.EXCUSED)
        ).update(**fields)
        if not updated:  # admitted by a simultaneous scan
            return _already_in(student, session)
        attendance = Attendance(pk=candidate.attendance_id, session=session, student=student, enrollment=enrollment)
        attendance.__dict__.update(fields)
        before = candidate.attendance_status
    if verdict.charge <= 0 and candidate.money.month_charged and not _month_charge_hold(enrollment, today):
        # A cancellation of the session that carried the month's charge reversed it while we
        # were deciding, before our attendance was there to take it over (R6): it is ours now.
        charge = _month_charge_post_late(enrollment=enrollment, session=session, today=today, operator=operator)
    else:
        charge = post_charge(
            enrollment=enrollment, session=session, amount=verdict.charge, today=today, operator=operator
        )
    changes = {"status": [before, status]}
    if charge is not None:
        changes["charge"] = [None, str(charge.amount)]
    audit_record(
        actor=operator,
        action=AuditLog.Action.CREATE if before is None else AuditLog.Action.UPDATE,
        instance=attendance,
        changes=changes,
    )
    local_now = timezone.localtime(now).time()
    arrival = "arrived_late" if minutes_late else "arrived"
    if notify and read.guardians:
        wanted = [arrival, "last_session_warning"] if verdict.warn_last_session else [arrival]
        sources = message_sources(wanted, stamp=read.template_stamp)
        context = {"student_name": student.full_name, "group_name": group.name, "time": local_now}
        if minutes_late:
            context["minutes_late"] = minutes_late
        messages_queue_to_guardians(
            event=f"arrived:{attendance.pk}",
            guardians=read.guardians,
            source=sources.get(arrival),
            context=context,
            center=center,
            student=student,
        )
        if verdict.warn_last_session:
            messages_queue_to_guardians(
                event=f"last_session_warning:{attendance.pk}",
                guardians=read.guardians,
                source=sources.get("last_session_warning"),
                context={"student_name": student.full_name, "group_name": group.name, "amount": verdict.owed},
                center=center,
                student=student,
            )
    if minutes_late:
        message = ngettext(
            "Welcome, %(name)s. %(minutes)d minute late for %(group)s.",
            "Welcome, %(name)s. %(minutes)d minutes late for %(group)s.",
            minutes_late,
        ) % {"name": student.full_name, "minutes": minutes_late, "group": group.name}
    else:
        message = _("Welcome, %(name)s. %(group)s.") % {"name": student.full_name, "group": group.name}
    return ScanOutcome(
        code=ScanOutcomeCode.LATE if minutes_late else ScanOutcomeCode.PRESENT,
        message=message,
        student=student,
        session=session,
        minutes_late=minutes_late,
        amount_owed=verdict.owed,
        attendance=attendance,
    )


# --- the teacher's card (R6) ----------------------------------------------------------------------


def _teacher_scan(
    teacher: Teacher, *, kiosk: Kiosk | None, operator, now: datetime.datetime, center: CenterSettings
) -> ScanOutcome:
    today = timezone.localdate(now)
    early = datetime.timedelta(minutes=center.early_window_minutes)
    sessions = list(
        Session.objects.filter(date=today, group__teacher=teacher)
        .filter(_place_filter(kiosk, operator))
        .select_related("group")
    )
    session, next_session = _session_pick(sessions, now, early)
    if session is None:
        return _not_now(teacher, next_session, now, early)
    if session.status == Session.Status.CANCELLED:
        return ScanOutcome(
            code=ScanOutcomeCode.CANCELLED,
            message=_("%(group)s is cancelled today.") % {"group": session.group.name},
            teacher=teacher,
            session=session,
        )
    return teacher_check_in(session=session, teacher=teacher, actor=operator, now=now, by_card=True)


def teacher_window(session: Session, *, now: datetime.datetime, early: datetime.timedelta) -> str:
    """Where now stands against the window the teacher may be checked in (R6): from the door
    opening (start − early window) to the end of the session: "before", "open" or "over"."""
    if now < session.starts_at - early:
        return "before"
    return "open" if now <= session.ends_at else "over"


def teacher_check_in(
    *, session: Session, teacher: Teacher | None = None, actor=None, now=None, by_card: bool = False
) -> ScanOutcome:
    """Mark the teacher arrived (his card, or the door supervisor); once per session, from the
    door opening to the session end (R6). Raises ValidationError outside that or when cancelled."""
    now = now or timezone.now()
    teacher = teacher or session.group.teacher
    early = datetime.timedelta(minutes=CenterSettings.load().early_window_minutes)
    with transaction.atomic():
        locked = Session.objects.select_for_update().select_related("group").get(pk=session.pk)
        if locked.status == Session.Status.CANCELLED:
            raise ValidationError(_("%(group)s is cancelled today.") % {"group": locked.group.name}, code="cancelled")
        if teacher_window(locked, now=now, early=early) != "open":
            raise ValidationError(
                _("The teacher can be marked in only from the door opening to the end of the class."), code="window"
            )
        if locked.teacher_checked_in_at is not None:
            return ScanOutcome(
                code=ScanOutcomeCode.ALREADY_IN,
                message=_("%(name)s is already checked in to %(group)s.")
                % {"name": teacher.full_name, "group": locked.group.name},
                teacher=teacher,
                session=locked,
            )
        locked.teacher_checked_in_at = now
        locked.save(update_fields=["teacher_checked_in_at"])
        audit_record(
            actor=actor,
            action=AuditLog.Action.UPDATE,
            instance=locked,
            changes={"teacher_checked_in_at": [None, now.isoformat()]},
        )
    if by_card:
        message = _("Welcome, %(name)s. Checked in to %(group)s.")
    else:  # the door supervisor marked him: say so to the supervisor
        message = _("%(name)s is checked in to %(group)s.")
    return ScanOutcome(
        code=ScanOutcomeCode.TEACHER_IN,
        message=message % {"name": teacher.full_name, "group": locked.group.name},
        teacher=teacher,
        session=locked,
    )


# --- the entry point --------------------------------------------------------------------------------


def _replay(kiosk: Kiosk | None, operator, client_scan_id: str) -> ScanOutcome | None:
    if not client_scan_id:
        return None
    events = ScanEvent.objects.filter(client_scan_id=client_scan_id).select_related("student", "session__group")
    if kiosk is not None:
        events = events.filter(kiosk=kiosk)
    else:
        events = events.filter(kiosk__isnull=True, operator_id=getattr(operator, "pk", None))
    event = events.first()
    if event is None:
        return None
    stored = event.response or {}
    return ScanOutcome(
        code=event.outcome,
        message=stored.get("message", event.message),
        student=event.student,
        session=event.session,
        teacher=event.teacher,
        minutes_late=stored.get("minutes_late", 0),
        amount_owed=Decimal(stored.get("amount_owed", "0.00")),
        replayed=True,
    )


def scan_process(
    code: str,
    *,
    kiosk: Kiosk | None = None,
    operator=None,
    client_scan_id: str = "",
    at: datetime.datetime | None = None,
    offline: bool = False,
) -> ScanOutcome:
    """Process one scan (R1–R6) and record it; see the module docstring.

    ``offline``: a kiosk's queued scan replayed with its own time ``at`` (bounds are the
    caller's job, see ``core.web.kiosk_api``).
    """
    now = at or timezone.now()
    raw = str(code or "")[:255]
    cleaned = scan_code_clean(raw)[:255]
    client_scan_id = (client_scan_id or "").strip()[:64]
    # A repeated client scan id is found when its scan event is written: the unique constraint
    # fails, everything this attempt did is rolled back, and the first answer is returned. The
    # same student scanned at two kiosks at once fails the same way on his attendance (unique per
    # session): the loser decides once more, on what the winner committed ("already in").
    for attempt in range(2):
        try:
            with transaction.atomic():
                outcome = _decide(cleaned, kiosk=kiosk, operator=operator, now=now, offline=offline)
                event = ScanEvent(
                    at=now,
                    raw_code=teacher_card_masked(raw),
                    code=teacher_card_masked(cleaned),
                    outcome=outcome.code,
                    message=outcome.message[:255],
                    student=outcome.student,
                    teacher=outcome.teacher,
                    session=outcome.session,
                    kiosk=kiosk,
                    operator=operator if getattr(operator, "pk", None) else None,
                    client_scan_id=client_scan_id,
                    response=outcome.stored_json(),
                )
                row_insert(event)
                if offline:
                    _follow_up_record(event, outcome)
            return outcome
        except IntegrityError:
            replayed = _replay(kiosk, operator, client_scan_id)
            if replayed is not None:
                return replayed
            if attempt:
                raise
    raise AssertionError("unreachable")


_FOLLOW_UP_REASONS = {
    ScanOutcomeCode.PAY_FIRST: DoorFollowUp.Reason.OWES,
    ScanOutcomeCode.DOOR_CLOSED: DoorFollowUp.Reason.LATE,
}


def _follow_up_record(event: ScanEvent, outcome: ScanOutcome) -> DoorFollowUp | None:
    """An offline kiosk let the student in though the rules refuse: leave it to the office."""
    reason = _FOLLOW_UP_REASONS.get(outcome.code)
    if reason is None or outcome.student is None or outcome.session is None:
        return None
    return DoorFollowUp.objects.create(
        scan=event,
        student=outcome.student,
        session=outcome.session,
        reason=reason,
        amount_owed=money_round(outcome.amount_owed),
    )


def _decide(
    cleaned: str, *, kiosk: Kiosk | None, operator, now: datetime.datetime, offline: bool = False
) -> ScanOutcome:
    if not cleaned:
        return _unknown()
    if cleaned.upper().startswith(TEACHER_CARD_PREFIX):
        teacher = teacher_from_card(cleaned)
        if teacher is None:
            return _unknown()
        return _teacher_scan(teacher, kiosk=kiosk, operator=operator, now=now, center=CenterSettings.load())
    read = door_read(cleaned, today=timezone.localdate(now), place=_place(kiosk, operator))
    if read is None:
        return _unknown()
    center = read.center or CenterSettings.load()
    return _student_scan(read, kiosk=kiosk, operator=operator, now=now, center=center, offline=offline)
