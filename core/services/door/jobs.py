"""The door's timed jobs: auto-cancel when the teacher is missing (R6), absences at the end (R7).

Both are safe to run every minute from several workers: each session is handled in its own
transaction with its row locked, and the state they leave (``cancelled``, ``absences_marked_at``)
makes a second run a no-op.
"""

import datetime
import logging

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.models import Attendance, AuditLog, CenterSettings, Enrollment, Session
from core.services.audit import audit_record

from .notify import notify_guardians
from .rules import enrolled_on

logger = logging.getLogger(__name__)

# Jobs look back this far, so a worker that was down catches up without scanning all history.
LOOKBACK = datetime.timedelta(days=2)


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
            marked += _session_mark_absent(session, now=now, center=center)
    return marked


def _session_mark_absent(session: Session, *, now: datetime.datetime, center: CenterSettings) -> int:
    present = Attendance.objects.filter(session=session).values("student_id")
    missing = (
        Enrollment.objects.filter(enrolled_on(session.date), group_id=session.group_id)
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
    if center.absence_notices:
        starts = timezone.localtime(session.starts_at)
        for attendance in Attendance.objects.filter(session=session, status=Attendance.Status.ABSENT).select_related(
            "student"
        ):
            notify_guardians(
                student=attendance.student,
                event=f"absent:{attendance.pk}",
                template="absent",
                context={"group_name": session.group.name, "date": starts.date(), "time": starts.time()},
                center=center,
            )
    return len(absences)
