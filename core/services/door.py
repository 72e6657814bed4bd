"""The door's timed jobs: auto-cancel when the teacher is missing (R6), absences at the end (R7).

Both are safe to run every minute from several workers: each session is handled in its own
transaction with its row locked, and the state they leave (``cancelled``, ``absences_marked_at``)
makes a second run a no-op.
"""

import datetime
import logging

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core.models import (
    Attendance,
    AuditLog,
    CenterSettings,
    DoorFollowUp,
    Enrollment,
    EntryType,
    LedgerEntry,
    Session,
)
from core.services.audit import audit_record
from core.services.scanning import money_verdict, notify_guardians, post_charge

logger = logging.getLogger(__name__)

# Jobs look back this far, so a worker that was down catches up without scanning all history.
LOOKBACK = datetime.timedelta(days=2)


ADMITTED = (Attendance.Status.PRESENT, Attendance.Status.LATE)


def _charge_undo(charge: LedgerEntry, *, actor, reason: str, source: str, now: datetime.datetime) -> LedgerEntry:
    """A ``reversal`` entry undoing ``charge`` (append-only: the charge is only marked)."""
    charge.reversed_at = now
    charge.save(update_fields=["reversed_at"])
    return LedgerEntry.objects.create(
        enrollment_id=charge.enrollment_id,
        entry_type=EntryType.REVERSAL,
        amount=charge.amount,
        date=timezone.localdate(now),
        session_id=charge.session_id,
        reverses=charge,
        source=source,
        created_by=actor if getattr(actor, "pk", None) else None,
        note=reason[:255],
    )


def _next_admitted_session(charge: LedgerEntry, *, leaving_session_id: int) -> Session | None:
    """The enrollment's earliest other admitted attendance in the month a monthly charge is for,
    at a session that is not cancelled: where that month's charge belongs once it leaves a session."""
    from core.services.settlements import month_after

    month = charge.period_month
    following = month_after(month)
    return (
        Session.objects.filter(
            attendances__enrollment_id=charge.enrollment_id,
            attendances__status__in=ADMITTED,
            date__gte=month,
            date__lt=following,
        )
        .exclude(status=Session.Status.CANCELLED)
        .exclude(pk=leaving_session_id)
        .order_by("date", "starts_at", "pk")
        .first()
    )


def _charge_leave_session(
    charge: LedgerEntry, *, leaving_session_id: int, actor, reason: str, source: str, now: datetime.datetime
) -> str:
    """A charge loses the attendance that caused it (its session cancelled, or the attendance
    taken back). R6: a session charge is reversed; a month charge moves to the student's next
    admitted attendance in that month (reversed here, posted again there, so the ledger stays
    append-only), and is reversed only when he attended nothing else of that group that month.
    Returns ``"reversed"``, ``"moved"`` or ``"kept"`` (a month charge posted at another session)."""
    if charge.period_month is None:
        reversal = _charge_undo(charge, actor=actor, reason=reason, source=source, now=now)
        audit_record(
            actor=actor,
            action=AuditLog.Action.CREATE,
            instance=reversal,
            changes={"reverses": [None, charge.pk], "amount": [None, str(charge.amount)]},
            reason=reason,
        )
        return "reversed"
    if charge.session_id is not None and charge.session_id != leaving_session_id:
        return "kept"
    target = _next_admitted_session(charge, leaving_session_id=leaving_session_id)
    reversal = _charge_undo(charge, actor=actor, reason=reason, source=source, now=now)
    changes = {"reverses": [None, charge.pk], "amount": [None, str(charge.amount)]}
    if target is not None:
        moved = LedgerEntry.objects.create(
            enrollment_id=charge.enrollment_id,
            entry_type=EntryType.CHARGE,
            amount=charge.amount,
            date=target.date,
            period_month=charge.period_month,
            session=target,
            source=LedgerEntry.Source.SYSTEM,
            created_by=actor if getattr(actor, "pk", None) else None,
            note=reason[:255],
        )
        changes["moved_to"] = [None, moved.pk]
    audit_record(actor=actor, action=AuditLog.Action.CREATE, instance=reversal, changes=changes, reason=reason)
    return "moved" if target is not None else "reversed"


def session_charges_reverse(*, session: Session, actor=None, reason: str = "") -> int:
    """Undo what this session's attendances were charged (R6: cancelled means not charged).

    Session charges are reversed. A month charge posted here moves to the student's next
    admitted attendance of the month, if any (R6), and is reversed otherwise. Returns how many
    charges were reversed without moving. Call inside the caller's transaction, with the session
    row locked: a scan admitting to another session of the month holds its month charge FOR KEY
    SHARE (scanning._month_charge_hold), so whichever commits first, the other sees it.
    """
    charges = list(
        LedgerEntry.objects.select_for_update()
        .filter(session=session, entry_type=EntryType.CHARGE, reversed_at__isnull=True)
        .order_by("pk")
    )
    now = timezone.now()
    outcomes = [
        _charge_leave_session(
            charge, leaving_session_id=session.pk, actor=actor, reason=reason, source=LedgerEntry.Source.SYSTEM, now=now
        )
        for charge in charges
    ]
    return outcomes.count("reversed")


def sessions_auto_cancel(*, now: datetime.datetime | None = None) -> int:
    """R6: cancel sessions whose teacher nobody checked in N minutes after the start.

    ``session_cancel`` reverses admitted students' charges and tells every enrolled guardian.
    Returns how many sessions were cancelled.
    """
    from core.services.sessions import session_cancel

    now = now or timezone.now()
    minutes = CenterSettings.load().auto_cancel_minutes
    if not minutes:
        return 0
    due = Session.objects.filter(
        status=Session.Status.SCHEDULED,
        teacher_checked_in_at__isnull=True,
        starts_at__lte=now - datetime.timedelta(minutes=minutes),
        starts_at__gte=now - LOOKBACK,
    ).values_list("pk", flat=True)
    reason = _("The teacher did not check in within %(minutes)d minutes of the start.") % {"minutes": minutes}
    cancelled = 0
    for session_id in list(due):
        with transaction.atomic():
            session = Session.objects.select_for_update().select_related("group").get(pk=session_id)
            if session.status != Session.Status.SCHEDULED or session.teacher_checked_in_at is not None:
                continue  # checked in or cancelled meanwhile
            try:
                session_cancel(actor=None, session=session, reason=reason)
            except ValidationError:
                logger.warning("auto-cancel skipped session %s", session_id)
                continue
            cancelled += 1  # session_cancel reversed the admitted students' charges
    return cancelled


def _enrolled_on(day: datetime.date) -> Q:
    return Q(is_active=True, student__is_active=True, start_date__lte=day) & (
        Q(end_date__isnull=True) | Q(end_date__gte=day)
    )


def sessions_mark_absent(*, now: datetime.datetime | None = None) -> int:
    """R7: when a session has ended, mark each enrollee without attendance absent, once.

    A session the teacher checked in to becomes ``held``. Guardians get ``absent`` when the
    center sends absence notices; excused students already have a row and get nothing.
    Returns how many absences were written.
    """
    now = now or timezone.now()
    center = CenterSettings.load()
    due = Session.objects.filter(
        ends_at__lte=now, ends_at__gte=now - LOOKBACK, absences_marked_at__isnull=True
    ).exclude(status=Session.Status.CANCELLED)
    marked = 0
    for session_id in list(due.values_list("pk", flat=True)):
        with transaction.atomic():
            session = Session.objects.select_for_update().select_related("group").get(pk=session_id)
            if session.absences_marked_at is not None or session.status == Session.Status.CANCELLED:
                continue
            marked += _session_mark_absent(session, now=now, notify=center.absence_notices)
    return marked


def _session_mark_absent(session: Session, *, now: datetime.datetime, notify: bool) -> int:
    present = Attendance.objects.filter(session=session).values("student_id")
    missing = (
        Enrollment.objects.filter(_enrolled_on(session.date), group_id=session.group_id)
        .exclude(student_id__in=present)
        .select_related("student")
    )
    absences = Attendance.objects.bulk_create(
        [
            Attendance(
                session=session,
                student=enrollment.student,
                enrollment=enrollment,
                status=Attendance.Status.ABSENT,
                at=session.ends_at,
                source=Attendance.Source.MANUAL,
                reason=_("Marked absent when the session ended."),
            )
            for enrollment in missing
        ]
    )
    update_fields = ["absences_marked_at"]
    session.absences_marked_at = now
    if session.teacher_checked_in_at is not None and session.status == Session.Status.SCHEDULED:
        session.status = Session.Status.HELD
        update_fields.append("status")
    session.save(update_fields=update_fields)
    audit_record(
        actor=None,
        action=AuditLog.Action.UPDATE,
        instance=session,
        changes={"absent": [0, len(absences)], "status": [Session.Status.SCHEDULED, session.status]},
    )
    if notify:
        starts = timezone.localtime(session.starts_at)
        for attendance in Attendance.objects.filter(session=session, status=Attendance.Status.ABSENT).select_related(
            "student"
        ):
            notify_guardians(
                student=attendance.student,
                event=f"absent:{attendance.pk}",
                template="absent",
                context={"group_name": session.group.name, "date": starts.date(), "time": starts.time()},
            )
    return len(absences)


# --- manual attendance (door supervisor, manager) ------------------------------------------------


def attendance_set(
    *, actor, session: Session, student, status: str, reason: str, at: datetime.datetime | None = None
) -> Attendance:
    """Set a student's attendance by hand, with a reason; the audit row keeps the previous value.

    Marking someone present or late posts the charge the door would have posted (R4); taking an
    admitted attendance back to absent or excused reverses the charge this session posted.
    The money rules of R5 do not apply: staff decide, and the debt stays on the ledger.
    """
    reason = (reason or "").strip()
    if actor is not None and not actor.has_perm("core.change_attendance"):
        raise PermissionDenied(_("You may not change attendance."))
    if not reason:
        raise ValidationError({"reason": _("Give the reason for the change.")})
    if status not in Attendance.Status.values:
        raise ValidationError({"status": _("Choose a valid attendance status.")})
    now = at or timezone.now()
    admitted = {Attendance.Status.PRESENT, Attendance.Status.LATE}
    with transaction.atomic():
        session = Session.objects.select_for_update().select_related("group").get(pk=session.pk)
        if session.status == Session.Status.CANCELLED:
            raise ValidationError(_("This session is cancelled."))
        enrollment = (
            Enrollment.objects.select_for_update()
            .select_related("group")
            .filter(_enrolled_on(session.date), student=student, group_id=session.group_id)
            .first()
        )
        if enrollment is None:
            raise ValidationError(_("%(student)s is not enrolled in this group.") % {"student": student.full_name})
        attendance = Attendance.objects.filter(session=session, student=student).first()
        before = attendance.status if attendance else None
        if before == status:
            return attendance
        minutes_late = 0
        if status == Attendance.Status.LATE:
            minutes_late = max(0, int((now - session.starts_at).total_seconds() // 60))
        if attendance is None:
            attendance = Attendance(session=session, student=student, enrollment=enrollment)
        attendance.status, attendance.at, attendance.minutes_late = status, now, minutes_late
        attendance.source, attendance.reason = Attendance.Source.MANUAL, reason[:255]
        attendance.recorded_by = actor if getattr(actor, "pk", None) else None
        attendance.save()
        changes = {"status": [before, status]}
        if status in admitted and before not in admitted:
            verdict = money_verdict(enrollment, today=session.date, center=CenterSettings.load())
            charge = post_charge(
                enrollment=enrollment,
                session=session,
                amount=verdict.charge,
                today=session.date,
                operator=actor,
                source=LedgerEntry.Source.MANUAL,
            )
            if charge is not None:
                changes["charge"] = [None, str(charge.amount)]
        elif before in admitted and status not in admitted:
            reversed_count = _attendance_charge_reverse(attendance, actor=actor, reason=reason)
            if reversed_count:
                changes["charge_reversed"] = [None, reversed_count]
        audit_record(
            actor=actor,
            action=AuditLog.Action.CREATE if before is None else AuditLog.Action.UPDATE,
            instance=attendance,
            changes=changes,
            reason=reason,
        )
    return attendance


def _attendance_charge_reverse(attendance: Attendance, *, actor, reason: str) -> int:
    """Undo what this attendance was charged (taken back to absent or excused): its session's
    charge, and the month's charge if it was posted here (moved to the next admitted attendance
    of the month, or reversed when there is none). Returns how many charges were reversed."""
    month_start = attendance.session.date.replace(day=1)
    charges = LedgerEntry.objects.select_for_update().filter(
        Q(session_id=attendance.session_id, period_month__isnull=True)
        | Q(session_id=attendance.session_id, period_month=month_start),
        enrollment_id=attendance.enrollment_id,
        entry_type=EntryType.CHARGE,
        reversed_at__isnull=True,
    )
    now = timezone.now()
    outcomes = [
        _charge_leave_session(
            charge,
            leaving_session_id=attendance.session_id,
            actor=actor,
            reason=reason,
            source=LedgerEntry.Source.MANUAL,
            now=now,
        )
        for charge in charges.order_by("pk")
    ]
    return outcomes.count("reversed") + outcomes.count("moved")


def door_follow_up_resolve(*, actor, follow_up: DoorFollowUp) -> DoorFollowUp:
    """The office dealt with a refusal an offline kiosk could not enforce; once, audited."""
    if actor is not None and not actor.has_perm("core.change_doorfollowup"):
        raise PermissionDenied(_("You may not resolve door follow-ups."))
    with transaction.atomic():
        locked = DoorFollowUp.objects.select_for_update().get(pk=follow_up.pk)
        if locked.resolved_at is None:
            locked.resolved_at = timezone.now()
            locked.resolved_by = actor if getattr(actor, "pk", None) else None
            locked.save(update_fields=["resolved_at", "resolved_by"])
            audit_record(
                actor=actor,
                action=AuditLog.Action.UPDATE,
                instance=locked,
                changes={"resolved_at": [None, locked.resolved_at.isoformat()]},
            )
    return locked
