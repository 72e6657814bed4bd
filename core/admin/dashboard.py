"""The admin's front page (issue 17): the owner's and manager's dashboard per branch, the other
roles' cards by permission, the teacher's own page; its charts, their downloads, and the
one-click message to the guardians of the students at risk.

The figures come from the selectors (core/selectors/dashboard_*.py, cached for a minute); this
module only turns them into what the template draws: unfold's chart components read their data
from attributes (no inline script, so the admin's CSP holds), each chart with a table beside it.
"""

import dataclasses
import datetime
import json
from decimal import Decimal

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext as _

from core.admin.exports import export_response
from core.admin.messaging_forms import BroadcastTextForm, broadcast_queued_text
from core.models import Enrollment
from core.selectors.dashboard import auto_cancel_countdowns
from core.selectors.dashboard_attention import AT_RISK_RATES, DEFAULT_AT_RISK_RATE, at_risk_enrollments
from core.selectors.dashboard_page import DashboardData, Part, dashboard_data, dashboard_parts, dashboard_scope
from core.selectors.money import money_text
from core.services import messaging as messaging_service

PRIMARY = "var(--color-primary-600)"
SECONDARY = "#f59e0b"
THIRD = "#10b981"
MUTED = "#94a3b8"
EXPENSES = "#ef4444"
PROFIT = "#6366f1"
TEACHERS_SHOWN = 12


def grouped(value) -> str:
    """A count with its thousands grouped in the active language (12,345 / ١٢٬٣٤٥ style)."""
    return number_format(value or 0, force_grouping=True)


def chosen_rate(raw) -> int:
    try:
        rate = int(raw)
    except (TypeError, ValueError):
        return DEFAULT_AT_RISK_RATE
    return rate if rate in AT_RISK_RATES else DEFAULT_AT_RISK_RATE


# --- Charts ----------------------------------------------------------------------------------


@dataclasses.dataclass
class Chart:
    """One chart: what unfold's component reads, and the same figures as a table."""

    name: str
    title: str
    kind: str  # "bar" or "line": unfold's templates unfold/components/chart/<kind>.html
    data: str  # JSON for the canvas' data-value
    options: str  # JSON for its data-options
    headers: list[str]
    rows: list[list]  # raw values (numbers stay numbers in the downloads)
    note: str = ""

    @property
    def text_rows(self) -> list[list[str]]:
        return [[_cell_text(value) for value in row] for row in self.rows]


def _cell_text(value) -> str:
    if isinstance(value, Decimal):
        return money_text(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return grouped(value)
    if value is None:
        return "—"
    return str(value)


def _options(
    *, horizontal: bool = False, stacked: bool = False, percent: bool = False, legend: bool = True, bars: int = 0
) -> str:
    """Chart.js options: right to left in Arabic (axis reversed, legend and tooltips RTL)."""
    rtl = translation.get_language_bidi()
    category, value = ("y", "x") if horizontal else ("x", "y")
    scales = {
        category: {
            "reverse": rtl and not horizontal,
            "stacked": stacked,
            "grid": {"display": False},
            "ticks": {"color": "#64748b", "autoSkip": False if horizontal else True},
            "position": ("right" if rtl else "left") if horizontal else "bottom",
        },
        value: {
            "beginAtZero": True,
            "stacked": stacked,
            "reverse": rtl and horizontal,
            "ticks": {"color": "#64748b"},
            "grid": {"color": "#e2e8f0"},
            "position": ("right" if rtl else "left") if not horizontal else "bottom",
        },
    }
    if percent:
        scales[value]["max"] = 100
    return json.dumps(
        {
            "responsive": True,
            # A horizontal chart grows with its bars: short for two teachers, taller for twelve.
            "aspectRatio": max(1.0, min(3.0, 12 / max(bars, 1))) if horizontal else 2,
            "indexAxis": category,
            "locale": translation.get_language() or "ar",
            "animation": {"duration": 300},
            "plugins": {
                "legend": {
                    "display": legend,
                    "rtl": rtl,
                    "align": "start",
                    "labels": {"boxWidth": 10, "boxHeight": 10, "color": "#64748b"},
                },
                "tooltip": {"enabled": True, "rtl": rtl},
            },
            "scales": scales,
        }
    )


def _dataset(label, values, color, *, kind: str = "bar") -> dict:
    dataset = {"label": str(label), "data": [str(value) if value is not None else None for value in values]}
    if kind == "line":
        dataset.update({"borderColor": color, "backgroundColor": color, "borderWidth": 2, "tension": 0.3})
    else:
        dataset.update({"backgroundColor": color, "borderRadius": 4, "maxBarThickness": 36})
    return dataset


def _month_label(month) -> str:
    return date_format(month, "YEAR_MONTH_FORMAT")


def _month_short(month) -> str:
    """A month on a chart's axis: its name (the table beside the chart gives the year)."""
    return date_format(month, "F")


def charts_for(data: DashboardData, *, every: bool = False, treasury: bool = False) -> list[Chart]:
    """The charts this data allows; ``every``: downloads list all rows, not only those plotted;
    ``treasury``: the viewer may see the treasury (the money chart adds expenses and profit)."""
    charts = []
    if data.attendance_weeks is not None:
        labels = [date_format(row.week, "j F") for row in data.attendance_weeks]
        charts.append(
            Chart(
                name="attendance",
                title=_("Attendance rate per week"),
                kind="line",
                data=json.dumps(
                    {
                        "labels": labels,
                        "datasets": [
                            _dataset(
                                _("Attendance %"), [row.rate for row in data.attendance_weeks], PRIMARY, kind="line"
                            )
                        ],
                    }
                ),
                options=_options(percent=True, legend=False),
                headers=[_("Week from"), _("Attended"), _("Marked"), _("Rate %")],
                rows=[
                    [label, row.admitted, row.counted, row.rate]
                    for label, row in zip(labels, data.attendance_weeks, strict=True)
                ],
                note=_("Present or late, out of everyone marked (excused absences left out). Weeks start on Saturday."),
            )
        )
    if data.money_months is not None:
        # The profit and loss figures (core/selectors/profit.py), the same as the P&L page.
        money = data.money_months
        labels = [_month_label(row.month) for row in money]
        datasets = [
            _dataset(_("Collected"), [row.collected for row in money], PRIMARY),
            _dataset(_("Teachers' share"), [row.teacher_share for row in money], SECONDARY),
            _dataset(_("Center margin"), [row.margin for row in money], THIRD),
        ]
        headers = [
            _("Month"),
            _("Collected (EGP)"),
            _("Teachers' share (EGP)"),
            _("Sales margin (EGP)"),
            _("Center margin (EGP)"),
        ]
        rows = [
            [label, row.collected, row.teacher_share, row.sales_margin, row.margin]
            for label, row in zip(labels, money, strict=True)
        ]
        note = _(
            "The profit and loss figures: tuition collected on the month's receipts, less voids and refunds; "
            "the teachers' share of the month's settlements, estimated by each group's pay terms for a teacher "
            "not settled yet; the center margin adds the notes and books' margin."
        )
        if treasury:
            datasets += [
                _dataset(_("Expenses"), [row.expenses for row in money], EXPENSES),
                _dataset(_("Profit"), [row.profit for row in money], PROFIT),
            ]
            headers += [_("Expenses (EGP)"), _("Profit (EGP)")]
            for row, month in zip(rows, money, strict=True):
                row += [month.expenses, month.profit]
            note = _(
                "The profit and loss figures, as on their page: tuition collected on the month's receipts, less "
                "voids and refunds; the teachers' share of the month's settlements, estimated by each group's pay "
                "terms for a teacher not settled yet; the center margin adds the notes and books' margin; the "
                "profit is the margin less the expenses."
            )
        charts.append(
            Chart(
                name="revenue",
                title=_("Profit and loss per month")
                if treasury
                else _("Revenue, teachers' share and center margin per month"),
                kind="bar",
                data=json.dumps({"labels": [_month_short(row.month) for row in money], "datasets": datasets}),
                options=_options(),
                headers=headers,
                rows=rows,
                note=note,
            )
        )
    if data.weekdays is not None:
        labels = [str(row.label) for row in data.weekdays]
        charts.append(
            Chart(
                name="weekdays",
                title=_("Collections by weekday (last 8 weeks)"),
                kind="bar",
                data=json.dumps(
                    {
                        "labels": labels,
                        "datasets": [_dataset(_("Collected"), [row.total for row in data.weekdays], PRIMARY)],
                    }
                ),
                options=_options(legend=False),
                headers=[_("Weekday"), _("Collected (EGP)"), _("Receipts")],
                rows=[[label, row.total, row.receipts] for label, row in zip(labels, data.weekdays, strict=True)],
            )
        )
    if data.students_months is not None:
        labels = [_month_label(row.month) for row in data.students_months]
        axis = [_month_short(row.month) for row in data.students_months]
        charts.append(
            Chart(
                name="students",
                title=_("New and leaving students per month"),
                kind="bar",
                data=json.dumps(
                    {
                        "labels": axis,
                        "datasets": [
                            _dataset(_("New"), [row.new for row in data.students_months], PRIMARY),
                            _dataset(_("Leaving"), [row.leaving for row in data.students_months], MUTED),
                        ],
                    }
                ),
                options=_options(),
                headers=[_("Month"), _("New"), _("Leaving")],
                rows=[[label, row.new, row.leaving] for label, row in zip(labels, data.students_months, strict=True)],
                note=_("New: registered that month. Leaving: no active enrollment now, the last one ended that month."),
            )
        )
    if data.money_teachers is not None:
        shown = data.money_teachers[:TEACHERS_SHOWN]
        # The page's table is the chart's twelve; its download (every teacher) asks for ``every``.
        rows_of_teachers = data.money_teachers if every else shown
        charts.append(
            Chart(
                name="teachers",
                title=_("Margin per teacher this month"),
                kind="bar",
                data=json.dumps(
                    {
                        "labels": [row.name for row in shown],
                        "datasets": [
                            _dataset(_("Teacher's share"), [row.teacher_share for row in shown], SECONDARY),
                            _dataset(_("Center margin"), [row.margin for row in shown], THIRD),
                        ],
                    }
                ),
                options=_options(horizontal=True, stacked=True, bars=len(shown)),
                headers=[_("Teacher"), _("Collected (EGP)"), _("Teacher's share (EGP)"), _("Center margin (EGP)")],
                rows=[[row.name, row.collected, row.teacher_share, row.margin] for row in rows_of_teachers],
                note=_("The twelve teachers whose groups collected most this month; the download lists them all."),
            )
        )
    return charts


# --- The page --------------------------------------------------------------------------------


# The "now" table lists the classes in progress and those starting soon; a big center has
# hundreds a day, and the whole day is one click away (and on the door's board).
SOON = datetime.timedelta(hours=2)
NOW_ROWS = 25


def _session_rows(data: DashboardData, now, cancel_at: dict, *, every: bool) -> list[dict]:
    """The rows of the "now" table; ``cancel_at``: session → when auto-cancel takes it (the
    countdowns above the page, the same classes)."""
    rows = []
    for session in data.sessions or []:
        running = session.starts_at <= now < session.ends_at
        missing = session.teacher_missing(now)
        if not (every or running or missing or now <= session.starts_at < now + SOON):
            continue
        cancels = cancel_at.get(session.pk) if missing else None
        rows.append(
            {
                "session": session,
                "running": running,
                "over": session.ends_at <= now,
                "teacher_missing": missing,
                "cancel_at": cancels if cancels and cancels > now else None,
                "minutes_left": int((cancels - now).total_seconds() // 60) if cancels and cancels > now else None,
            }
        )
    if every or len(rows) <= NOW_ROWS:
        return rows
    # Too many for a glance: the classes without their teacher first, then the running ones,
    # then the next to start; shown in time order.
    kept = sorted(rows, key=lambda row: (not row["teacher_missing"], not row["running"], row["session"].starts_at))
    return sorted(kept[:NOW_ROWS], key=lambda row: (row["session"].starts_at, row["session"].pk))


def _day_totals(data: DashboardData) -> dict:
    sessions = [session for session in data.sessions or [] if not session.is_cancelled]
    return {
        "sessions": len(data.sessions or []),
        "expected": sum(session.expected for session in sessions),
        "admitted": sum(session.admitted for session in sessions),
        "late": sum(session.late for session in sessions),
        "refused": sum(session.refused for session in sessions),
        "absent": sum(session.absent for session in sessions),
    }


def dashboard_callback(request, context: dict) -> dict:
    """unfold's DASHBOARD_CALLBACK: the data for core/templates/core/dashboard.html."""
    user = request.user
    scope = dashboard_scope(user, request.GET.get("branch"))
    rate = chosen_rate(request.GET.get("rate"))
    data = dashboard_data(user, scope, rate=rate)
    now = timezone.now()
    countdowns = auto_cancel_countdowns(user, now=now, branch_ids=scope.branch_ids)
    every = request.GET.get("sessions") == "all"
    session_rows = _session_rows(
        data, now, {countdown.session.pk: countdown.cancel_at for countdown in countdowns}, every=every
    )
    context.update(
        {
            "dash": data,
            "dashboard": data.figures,
            "scope": scope,
            "parts": data.parts,
            "at_risk_rate": rate,
            "at_risk_rates": AT_RISK_RATES,
            "session_rows": session_rows,
            "sessions_every": every,
            "day_totals": _day_totals(data),
            "no_teacher": [row for row in session_rows if row["teacher_missing"]],
            "charts": charts_for(data, treasury=user.has_perm("core.view_treasury")),
            "countdowns": countdowns,
            "countdowns_now": now,
            "may_mark_teacher": user.has_perm("core.add_attendance"),
            "may_message": user.has_perm("core.broadcast_message"),
            "branch_query": f"branch={scope.branch.pk}&" if scope.branch else "",
        }
    )
    return context


# --- Downloads of a chart's table ------------------------------------------------------------


def chart_export(request, name: str):
    """A chart's table as .xlsx or .csv, for the branch shown."""
    scope = dashboard_scope(request.user, request.GET.get("branch"))
    data = dashboard_data(request.user, scope)
    charts = charts_for(data, every=True, treasury=request.user.has_perm("core.view_treasury"))
    chart = next((chart for chart in charts if chart.name == name), None)
    if chart is None:
        raise Http404
    file_format = "csv" if request.GET.get("format") == "csv" else "xlsx"
    return export_response(
        headers=chart.headers,
        rows=chart.rows,
        title=chart.title,
        file_stem=f"dashboard-{name}",
        file_format=file_format,
    )


# --- One click to the guardians of the students at risk --------------------------------------


class AtRiskMessageForm(BroadcastTextForm):
    """The at-risk students' guardians are the audience: only the words are chosen."""


def at_risk_message(request):
    """The guardians of the students at risk (as the dashboard lists them, for its branch and
    rate) get one broadcast: preview first, then send. The list is worked out again here, on
    the server, never taken from the browser."""
    if not request.user.has_perm("core.broadcast_message") or Part.AT_RISK not in dashboard_parts(request.user):
        raise PermissionDenied
    params = request.POST if request.method == "POST" else request.GET
    scope = dashboard_scope(request.user, params.get("branch"))
    rate = chosen_rate(params.get("rate"))
    absent_twice, below = at_risk_enrollments(branch_ids=scope.branch_ids, rate=rate)
    enrollment_ids = sorted(set(absent_twice) | set(below))
    audience = messaging_service.Audience(
        label=_("Students at risk (%(branch)s)") % {"branch": scope.branch or _("all branches")},
        enrollments=Enrollment.objects.filter(pk__in=enrollment_ids),
    )
    form = AtRiskMessageForm(request.POST if request.method == "POST" and "text" in request.POST else None)
    preview = None
    if form.is_bound and form.is_valid():
        try:
            if "confirm" in request.POST:
                broadcast = messaging_service.broadcast_send(
                    actor=request.user,
                    audience=audience,
                    template=form.cleaned_data["template"],
                    text=form.cleaned_data["text"],
                )
                messages.success(request, broadcast_queued_text(broadcast))
                return HttpResponseRedirect(
                    reverse("admin:core_message_changelist") + f"?broadcast__id__exact={broadcast.pk}"
                )
            preview = messaging_service.broadcast_preview(
                audience=audience, template=form.cleaned_data["template"], text=form.cleaned_data["text"]
            )
        except ValidationError as error:
            for message in error.messages:
                form.add_error(None, message)
    return TemplateResponse(
        request,
        "core/dashboard_at_risk_message.html",
        {
            **admin.site.each_context(request),
            "title": _("Message the guardians of students at risk"),
            "form": form,
            "preview": preview,
            "scope": scope,
            "rate": rate,
            "students": len(set(absent_twice.values()) | {student for student, _rate in below.values()}),
        },
    )
