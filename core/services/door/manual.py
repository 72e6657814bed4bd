"""Attendance by hand (the door supervisor, a manager) and the office's door follow-ups."""

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core.models import Attendance, AuditLog, CenterSettings, DoorFollowUp, Enrollment, EntryType, LedgerEntry, Session
from core.services.audit import audit_record

from .charges import charge_leave_session, post_charge
from .rules import enrolled_on, money_verdict


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
            .filter(enrolled_on(session.date), student=student, group_id=session.group_id)
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
        charge_leave_session(
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
