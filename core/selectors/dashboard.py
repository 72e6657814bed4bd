"""The figures on the admin's front page, each scoped to what the user may see."""

import dataclasses
import datetime
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.utils import timezone

from core.access.scoping import branch_ids_visible, scope_by_branch, scope_by_teacher
from core.models import CenterSettings, Session, Student
from core.models.messaging import Message
from core.models.money import Receipt
from core.selectors.messaging import messages_in_branches


@dataclasses.dataclass
class Dashboard:
    sessions_today: int | None = None
    sessions_cancelled_today: int | None = None
    sessions_teacher_missing: int | None = None
    active_students: int | None = None
    collected_today: Decimal | None = None
    receipts_today: int | None = None
    messages_failed: int | None = None
    messages_held: int | None = None


def _narrow(user, branch_ids):
    """The branches shown: the chosen ones, never beyond what the user may see."""
    visible = branch_ids_visible(user)
    if branch_ids is None:
        return visible
    return list(branch_ids) if visible is None else [pk for pk in branch_ids if pk in visible]


def dashboard_figures(user, *, branch_ids=None) -> Dashboard:
    """One query per card the user is allowed to see, in his branches (or the chosen ones)."""
    figures = Dashboard()
    branches = _narrow(user, branch_ids)
    today, now = timezone.localdate(), timezone.now()
    if user.has_perm("core.view_session"):
        sessions = scope_by_teacher(Session.objects.filter(date=today), user, "group")
        if branches is not None:
            sessions = sessions.filter(group__branch__in=branches)
        counts = sessions.aggregate(
            total=Count("id", filter=~Q(status=Session.Status.CANCELLED)),
            cancelled=Count("id", filter=Q(status=Session.Status.CANCELLED)),
            missing=Count(
                "id",
                filter=Q(
                    status=Session.Status.SCHEDULED,
                    starts_at__lte=now,
                    ends_at__gt=now,
                    teacher_checked_in_at__isnull=True,
                ),
            ),
        )
        figures.sessions_today = counts["total"]
        figures.sessions_cancelled_today = counts["cancelled"]
        figures.sessions_teacher_missing = counts["missing"]
    if user.has_perm("core.view_student"):
        students = Student.objects.filter(is_active=True)
        figures.active_students = (students if branches is None else students.filter(branch__in=branches)).count()
    if user.has_perm("core.view_money_reports") or user.has_perm("core.record_payment"):
        receipts = Receipt.objects.filter(date=today, voided_at__isnull=True)
        if branches is not None:
            receipts = receipts.filter(branch__in=branches)
        if not user.has_perm("core.view_money_reports"):
            receipts = receipts.filter(cashier=user)  # a cashier sees his own drawer
        totals = receipts.aggregate(total=Sum("total"), count=Count("id"))
        figures.collected_today = totals["total"] or Decimal("0.00")
        figures.receipts_today = totals["count"]
    if user.has_perm("core.view_message"):
        counts = messages_in_branches(Message.objects.all(), branches).aggregate(
            failed=Count("id", filter=Q(status=Message.Status.FAILED)),
            held=Count("id", filter=Q(status=Message.Status.HELD)),
        )
        figures.messages_failed, figures.messages_held = counts["failed"], counts["held"]
    return figures


@dataclasses.dataclass
class AutoCancelCountdown:
    """A class under way whose teacher nobody checked in: R6 cancels it at ``cancel_at``."""

    session: Session
    cancel_at: datetime.datetime
    seconds_left: int

    @property
    def clock(self) -> str:
        """What the page shows before its script ticks: minutes:seconds left."""
        minutes, seconds = divmod(self.seconds_left, 60)
        return f"{minutes}:{seconds:02d}"


def auto_cancel_countdowns(user, *, now: datetime.datetime | None = None, branch_ids=None) -> list[AutoCancelCountdown]:
    """Today's started, still scheduled sessions without the teacher checked in, in the user's
    branches (and a teacher's own groups), soonest cancel first; empty when auto-cancel is off.
    ``branch_ids`` narrows to some branches (the door board shows one). One query, plus settings."""
    minutes = CenterSettings.load().auto_cancel_minutes
    if not minutes or not user.has_perm("core.view_session"):
        return []
    now = now or timezone.now()
    sessions = Session.objects.filter(
        date=timezone.localdate(now),
        status=Session.Status.SCHEDULED,
        teacher_checked_in_at__isnull=True,
        starts_at__lte=now,
        ends_at__gt=now,
    ).select_related("group__teacher", "room__branch")
    sessions = scope_by_teacher(scope_by_branch(sessions, user, "room__branch"), user, "group")
    if branch_ids is not None:
        sessions = sessions.filter(room__branch_id__in=branch_ids)
    delay = datetime.timedelta(minutes=minutes)
    countdowns = [
        AutoCancelCountdown(
            session=session,
            cancel_at=session.starts_at + delay,
            seconds_left=max(0, int((session.starts_at + delay - now).total_seconds())),
        )
        for session in sessions.order_by("starts_at", "pk")
    ]
    return countdowns


def dashboard_callback(request, context: dict) -> dict:
    """unfold's DASHBOARD_CALLBACK (kept here so the setting and operators' scripts keep working):
    the page itself is built in core/admin/dashboard.py."""
    from core.admin.dashboard import dashboard_callback as build

    return build(request, context)
