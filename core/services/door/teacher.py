"""The teacher's arrival (R6): his card at the door, or the door supervisor marking him in."""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.models import AuditLog, CenterSettings, ScanOutcomeCode, Session, Teacher
from core.services.audit import audit_record

from . import outcomes
from .outcomes import ScanOutcome
from .rules import Place, session_pick, teacher_window


def teacher_scan(
    teacher: Teacher, *, place: Place, operator, now: datetime.datetime, center: CenterSettings
) -> ScanOutcome:
    """A teacher's card at this place: check him in to the session whose door window holds now."""
    today = timezone.localdate(now)
    early = datetime.timedelta(minutes=center.early_window_minutes)
    sessions = list(
        Session.objects.filter(date=today, group__teacher=teacher)
        .filter(place.sessions_filter())
        .select_related("group")
    )
    session, next_session = session_pick(sessions, now, early)
    if session is None:
        return outcomes.not_now(teacher, next_session, now, early)
    if session.status == Session.Status.CANCELLED:
        return outcomes.cancelled(session, teacher=teacher)
    return teacher_check_in(session=session, teacher=teacher, actor=operator, now=now, by_card=True)


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
