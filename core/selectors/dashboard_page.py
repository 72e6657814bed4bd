"""Everything the admin's front page shows, chosen by the user's permissions and branch, each
part cached for a minute (the owner opens this page all day; a minute old is fresh enough).

Cache keys name the part, the branches shown (or the teacher, or the cashier, when the part is
his own), the day and the options, never the user alone: two owners looking at the same branch
share one computation. The values are plain data (dates, numbers, names): labels are translated
when the page is drawn, so one cached value serves both languages.
"""

import dataclasses
import datetime

from django.core.cache import cache
from django.utils import timezone

from core.access.roles import is_owner, may_see_pay_terms
from core.access.scoping import is_teacher_only
from core.models import Branch, Teacher
from core.selectors import dashboard_attention, dashboard_charts, dashboard_money, dashboard_teacher, dashboard_today
from core.selectors.channels import channel_states
from core.selectors.dashboard import Dashboard, dashboard_figures

CACHE_SECONDS = 60
CACHE_VERSION = 2  # 2: the channels' breakers, the debts' written reminders
SUMMARY_PERMISSIONS = (
    "core.view_session",
    "core.view_student",
    "core.view_money_reports",
    "core.record_payment",
    "core.view_message",
)


class Part:
    """The parts of the page; who sees each is decided in ``dashboard_parts``."""

    SUMMARY = "summary"
    NOW = "now"
    MONEY = "money"
    MESSAGES = "messages"
    CHANNELS = "channels"  # each sending channel's circuit breaker (issue 19)
    AT_RISK = "at_risk"
    ENDING = "ending"
    SETTLEMENTS = "settlements"
    CHART_ATTENDANCE = "chart_attendance"
    CHART_MONEY = "chart_money"
    CHART_WEEKDAY = "chart_weekday"
    CHART_STUDENTS = "chart_students"
    TEACHER = "teacher"


def dashboard_parts(user) -> frozenset[str]:
    """The parts this user may see: by permission, the teacher's own page for a teacher."""
    if is_teacher_only(user):
        return frozenset({Part.TEACHER})
    parts = {Part.SUMMARY}
    has = user.has_perm
    # Today's sessions are for who works the floor (the door, the desk, the manager): the
    # accountant reads sessions for his reports but his page is money and settlements.
    if has("core.view_session") and (has("core.add_attendance") or has("core.add_student")):
        parts.add(Part.NOW)
    if has("core.view_money_reports"):
        parts |= {Part.MONEY, Part.CHART_WEEKDAY}
        if may_see_pay_terms(user):
            parts.add(Part.CHART_MONEY)  # teachers' shares are their pay terms
    if has("core.view_message"):
        # Who sees the failed and held counts sees why they may be waiting: a paused channel.
        parts |= {Part.MESSAGES, Part.CHANNELS}
    if has("core.view_attendance") and has("core.view_enrollment"):
        parts |= {Part.AT_RISK, Part.CHART_ATTENDANCE}
    if has("core.view_enrollment"):
        parts.add(Part.ENDING)
    if has("core.view_student") and has("core.view_enrollment"):
        parts.add(Part.CHART_STUDENTS)
    if has("core.view_settlement") and (has("core.run_settlement") or has("core.approve_settlement")):
        parts.add(Part.SETTLEMENTS)
    return frozenset(parts)


@dataclasses.dataclass
class DashboardScope:
    """Which branches the page shows, and the choices of the branch picker."""

    branch_ids: list[int] | None  # None: every branch (an owner's "all branches")
    branch: Branch | None  # the one chosen, when one is
    choices: list[Branch]  # the picker; empty for a user of one branch (no picker then)
    teacher: Teacher | None = None

    @property
    def key(self) -> str:
        if self.teacher is not None:
            return f"t{self.teacher.pk}"
        return "all" if self.branch_ids is None else "b" + "-".join(str(pk) for pk in sorted(self.branch_ids))


def dashboard_scope(user, requested: str | None = None) -> DashboardScope:
    """The branches shown: the requested one when the user may see it, otherwise all of his."""
    if is_teacher_only(user):
        teacher = Teacher.objects.filter(user=user).first()
        return DashboardScope(branch_ids=None, branch=None, choices=[], teacher=teacher)
    branches = Branch.objects.filter(is_active=True).order_by("id")
    if not is_owner(user):
        branches = branches.filter(staff=user)
    choices = list(branches)
    chosen = next((branch for branch in choices if str(branch.pk) == (requested or "").strip()), None)
    if chosen is not None:
        return DashboardScope(branch_ids=[chosen.pk], branch=chosen, choices=choices if len(choices) > 1 else [])
    all_ids = None if is_owner(user) else [branch.pk for branch in choices]
    return DashboardScope(branch_ids=all_ids, branch=None, choices=choices if len(choices) > 1 else [])


@dataclasses.dataclass
class DashboardData:
    parts: frozenset[str]
    scope: DashboardScope
    today: datetime.date
    figures: Dashboard | None = None
    sessions: list | None = None
    money: dashboard_money.MoneyOverview | None = None
    at_risk: dashboard_attention.AtRiskList | None = None
    ending: dashboard_attention.EndingEnrollments | None = None
    settlements: dashboard_attention.SettlementsWaiting | None = None
    attendance_weeks: list | None = None
    money_months: list | None = None
    money_teachers: list | None = None
    weekdays: list | None = None
    students_months: list | None = None
    channels: list | None = None
    teacher: dashboard_teacher.TeacherDashboard | None = None


def _key(part: str, scope_key: str, today: datetime.date, *extra) -> str:
    return ":".join(str(bit) for bit in ("dashboard", CACHE_VERSION, part, scope_key, today.isoformat(), *extra))


def _shared_parts(branch_ids, scope_key: str, today: datetime.date, rate: int) -> dict[str, tuple[str, str, object]]:
    """{part: (DashboardData field, cache key, computation)} for the parts that depend only on
    the branches shown (not on who looks): the ones the worker can keep warm."""
    return {
        Part.NOW: (
            "sessions",
            _key(Part.NOW, scope_key, today),
            lambda: dashboard_today.sessions_today(branch_ids=branch_ids),
        ),
        Part.MONEY: ("money", _key(Part.MONEY, scope_key, today), lambda: dashboard_money.money_overview(branch_ids)),
        Part.AT_RISK: (
            "at_risk",
            _key(Part.AT_RISK, scope_key, today, rate),
            lambda: dashboard_attention.at_risk(branch_ids=branch_ids, rate=rate),
        ),
        Part.ENDING: (
            "ending",
            _key(Part.ENDING, scope_key, today),
            lambda: dashboard_attention.enrollments_ending(branch_ids=branch_ids),
        ),
        Part.SETTLEMENTS: (
            "settlements",
            _key(Part.SETTLEMENTS, scope_key, today),
            lambda: dashboard_attention.settlements_waiting(branch_ids=branch_ids),
        ),
        Part.CHART_ATTENDANCE: (
            "attendance_weeks",
            _key(Part.CHART_ATTENDANCE, scope_key, today),
            lambda: dashboard_charts.attendance_by_week(branch_ids=branch_ids),
        ),
        Part.CHART_MONEY: (
            "money_charts",
            _key(Part.CHART_MONEY, scope_key, today),
            lambda: dashboard_charts.money_by_month(branch_ids=branch_ids),
        ),
        Part.CHART_WEEKDAY: (
            "weekdays",
            _key(Part.CHART_WEEKDAY, scope_key, today),
            lambda: dashboard_charts.collections_by_weekday(branch_ids=branch_ids),
        ),
        Part.CHART_STUDENTS: (
            "students_months",
            _key(Part.CHART_STUDENTS, scope_key, today),
            lambda: dashboard_charts.students_by_month(branch_ids=branch_ids),
        ),
        # The breakers are the center's, not a branch's: one key for every scope (one query).
        Part.CHANNELS: ("channels", _key(Part.CHANNELS, "all", today), channel_states),
    }


def dashboard_data(user, scope: DashboardScope, *, rate: int = dashboard_attention.DEFAULT_AT_RISK_RATE):
    """The page's data for this user and scope, each part from the cache when a minute fresh:
    one cache read for all the parts (and the list of watched branches), then each missing part
    computed and stored. The worker keeps watched branches warm (``dashboard_refresh``)."""
    today = timezone.localdate()
    parts = dashboard_parts(user)
    data = DashboardData(parts=parts, scope=scope, today=today)
    branch_ids = scope.branch_ids

    # (the DashboardData field, its cache key, how to compute it), for the parts this user sees.
    wanted: list[tuple[str, str, object]] = []
    if Part.TEACHER in parts:
        if scope.teacher is not None:
            wanted.append(
                (
                    "teacher",
                    _key(Part.TEACHER, scope.key, today),
                    lambda: dashboard_teacher.teacher_dashboard(scope.teacher),
                )
            )
    else:
        # The summary's cards depend on the user's permissions, and its money card is the
        # cashier's own drawer when he may not see the money reports: both are in its key.
        allowed = "".join("1" if user.has_perm(perm) else "0" for perm in SUMMARY_PERMISSIONS)
        own = "" if user.has_perm("core.view_money_reports") else f"u{user.pk}"
        wanted.append(
            (
                "figures",
                _key(Part.SUMMARY, scope.key, today, allowed, own),
                lambda: dashboard_figures(user, branch_ids=branch_ids),
            )
        )
        for part, entry in _shared_parts(branch_ids, scope.key, today, rate).items():
            if part in parts:
                wanted.append(entry)
    watch = scope.teacher is None and rate == dashboard_attention.DEFAULT_AT_RISK_RATE
    keys = [cache_key for _field, cache_key, _compute in wanted] + ([WATCHED_KEY] if watch else [])
    found = cache.get_many(keys) if keys else {}
    fresh = {}
    for field, cache_key, compute in wanted:
        value = found.get(cache_key)
        if value is None:
            value = fresh[cache_key] = compute()
        if field == "money_charts":
            data.money_months, data.money_teachers = value
        else:
            setattr(data, field, value)
    if fresh:
        cache.set_many(fresh, CACHE_SECONDS)
    watched = _watched_update(found.get(WATCHED_KEY) or {}, scope) if watch else None
    if watched is not None:
        cache.set(WATCHED_KEY, watched, WATCH_SECONDS)
    return data


# --- Kept warm by the worker -------------------------------------------------------------------
# Every minute the task cluster recomputes the shared parts of the branches someone has looked
# at in the last quarter of an hour, so the owner who keeps the page open never waits for the
# big sums (several seconds on a year of a 20,000-student center); the page computes a part
# itself only when the worker has not (just started, or nobody looked for a while).

WATCHED_KEY = f"dashboard:{CACHE_VERSION}:watched"
WATCH_SECONDS = 15 * 60
REFRESH_SECONDS = 150  # outlives the next run by a margin, so a slow run leaves no gap


def _watched_update(watched: dict, scope: DashboardScope) -> dict | None:
    """The watched scopes with this one's lease renewed, or None when it needs no renewal yet
    (renewed at most every five minutes, so a busy page writes nothing)."""
    now = timezone.now().timestamp()
    lease = watched.get(scope.key)
    if lease is not None and lease["until"] - now > WATCH_SECONDS - 300:
        return None
    alive = {key: value for key, value in watched.items() if value["until"] > now}
    alive[scope.key] = {"branch_ids": scope.branch_ids, "until": now + WATCH_SECONDS}
    return alive


def dashboard_refresh() -> int:
    """Recompute the shared parts of every watched scope (the worker runs it every minute);
    returns how many scopes it refreshed."""
    watched = cache.get(WATCHED_KEY) or {}
    now = timezone.now().timestamp()
    today = timezone.localdate()
    refreshed = 0
    for scope_key, lease in watched.items():
        if lease["until"] <= now:
            continue
        entries = _shared_parts(lease["branch_ids"], scope_key, today, dashboard_attention.DEFAULT_AT_RISK_RATE)
        cache.set_many({cache_key: compute() for _field, cache_key, compute in entries.values()}, REFRESH_SECONDS)
        refreshed += 1
    return refreshed
