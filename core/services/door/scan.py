"""The door (SPEC.md R1–R7): a scan decides admission, writes attendance, charges and messages.

``scan_process`` is the one entry point for the kiosk, the desk and manual scans. It runs in one
transaction: one read decides (``read.door_read``), then an admission writes the attendance, the
charge, an audit row and the parent message, and every attempt writes a ``ScanEvent`` holding the
answer given; a repeated client scan id returns that first answer and changes nothing.
Concurrency, without making a class's scans wait for each other:

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

import datetime
import math
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from core.db import row_insert
from core.models import (
    Attendance,
    AuditLog,
    CenterSettings,
    DoorFollowUp,
    Kiosk,
    ScanEvent,
    ScanOutcomeCode,
    Session,
)
from core.normalize import scan_code_clean
from core.selectors.money import money_round
from core.services.audit import audit_record
from core.services.discount_rules import rules_none_for

from . import outcomes
from .cards import TEACHER_CARD_PREFIX, teacher_card_masked, teacher_from_card
from .charges import month_charge_hold, month_charge_post_late, post_charge
from .notify import notify_guardians
from .outcomes import ScanOutcome
from .read import DoorCandidate, DoorRead, door_read
from .rules import ADMITTED_STATUSES, MoneyVerdict, Place, money_verdict, session_pick
from .teacher import teacher_scan


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
    session, next_session = session_pick([candidate.session for candidate in read.candidates], now, early)
    if session is None:
        return outcomes.not_now(student, next_session, now, early)
    candidate = candidates[session.pk]
    group = session.group
    if session.status == Session.Status.CANCELLED:
        return outcomes.cancelled(session, student=student)
    if candidate.attendance_status in ADMITTED_STATUSES:
        return outcomes.already_in(student, session)
    late_by = now - session.starts_at
    if not candidate.discount_rules_possible:
        rules_none_for(candidate.enrollment, today)
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
            refusal = outcomes.door_closed(student, session)
            return _let_in_offline(read, candidate, verdict, refusal=refusal, **common)
        if not candidate.refused_late_before:  # once per session
            _notify(
                read,
                center=center,
                event=f"late_refused:{session.pk}:{student.pk}",
                template="late_refused",
                context={"group_name": group.name, "time": timezone.localtime(now).time()},
            )
        return outcomes.door_closed(student, session)
    if not verdict.admitted:
        if offline:
            refusal = outcomes.pay_first(student, session, verdict.owed)
            return _let_in_offline(read, candidate, verdict, refusal=refusal, **common)
        if not candidate.refused_pay_before:  # once per session
            _notify(
                read,
                center=center,
                event=f"payment_block:{session.pk}:{student.pk}",
                template="payment_block",
                context={"group_name": group.name, "amount": verdict.owed},
            )
        return outcomes.pay_first(student, session, verdict.owed)
    return _admit(read=read, candidate=candidate, verdict=verdict, offline=offline, **common)


def _notify(read: DoorRead, *, center: CenterSettings, event: str, template: str, context: dict) -> None:
    """A door message to the student's guardians from what the door's read holds (no read)."""
    notify_guardians(
        student=read.student,
        event=event,
        template=template,
        context=context,
        center=center,
        guardians=read.guardians,
        template_stamp=read.template_stamp,
    )


def _let_in_offline(
    read: DoorRead, candidate: DoorCandidate, verdict: MoneyVerdict, *, refusal: ScanOutcome, **common
) -> ScanOutcome:
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


def _admit(
    *,
    read: DoorRead,
    candidate: DoorCandidate,
    verdict: MoneyVerdict,
    kiosk,
    operator,
    now,
    today,
    offline=False,
    center,
    notify=True,
) -> ScanOutcome:
    student, session, enrollment = read.student, candidate.session, candidate.enrollment
    group = session.group
    if not _session_still_open(session):
        session.status = Session.Status.CANCELLED
        return outcomes.cancelled(session, student=student)
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
            return outcomes.already_in(student, session)
        attendance = Attendance(pk=candidate.attendance_id, session=session, student=student, enrollment=enrollment)
        attendance.__dict__.update(fields)
        before = candidate.attendance_status
    if verdict.charge <= 0 and candidate.money.month_charged and not month_charge_hold(enrollment, today):
        # A cancellation of the session that carried the month's charge reversed it while we
        # were deciding, before our attendance was there to take it over (R6): it is ours now.
        charge = month_charge_post_late(enrollment=enrollment, session=session, today=today, operator=operator)
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
    if notify:
        context = {"group_name": group.name, "time": timezone.localtime(now).time()}
        if minutes_late:
            context["minutes_late"] = minutes_late
        arrival = "arrived_late" if minutes_late else "arrived"
        _notify(read, center=center, event=f"arrived:{attendance.pk}", template=arrival, context=context)
        if verdict.warn_last_session:
            _notify(
                read,
                center=center,
                event=f"last_session_warning:{attendance.pk}",
                template="last_session_warning",
                context={"group_name": group.name, "amount": verdict.owed},
            )
    return ScanOutcome(
        code=ScanOutcomeCode.LATE if minutes_late else ScanOutcomeCode.PRESENT,
        message=outcomes.welcome(student, session, minutes_late=minutes_late),
        student=student,
        session=session,
        minutes_late=minutes_late,
        amount_owed=verdict.owed,
        attendance=attendance,
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
        return outcomes.unknown()
    if cleaned.upper().startswith(TEACHER_CARD_PREFIX):
        teacher = teacher_from_card(cleaned)
        if teacher is None:
            return outcomes.unknown()
        return teacher_scan(
            teacher, place=Place.of(kiosk, operator), operator=operator, now=now, center=CenterSettings.load()
        )
    read = door_read(cleaned, today=timezone.localdate(now), place=Place.of(kiosk, operator))
    if read is None:
        return outcomes.unknown()
    center = read.center or CenterSettings.load()
    return _student_scan(read, kiosk=kiosk, operator=operator, now=now, center=center, offline=offline)
