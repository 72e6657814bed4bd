"""The door's admin pages: today's sessions board, a session's attendance (manual changes with a
reason) and the monthly attendance sheet of a group.

Admin pages (unfold layout, admin CSP), wrapped in ``admin_view`` by the URLconf. Reads come from
``core.selectors.door`` with a fixed number of queries; writes go through the services
(``teacher_check_in``, ``attendance_set``), which check permissions again and write the audit row.
"""

import calendar
import datetime

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from core.access.scoping import scope_by_branch
from core.admin.pickers import GroupPicker
from core.admin.timetable import branch_chosen
from core.models import (
    Attendance,
    CenterSettings,
    Enrollment,
    Group,
    ScanEvent,
    ScanOutcomeCode,
    Session,
    Student,
)
from core.selectors.dashboard import auto_cancel_countdowns
from core.selectors.door import sessions_board
from core.services.door import attendance_set
from core.services.scanning import teacher_check_in, teacher_window

BOARD_PERMISSION = "core.view_attendance"
TEACHER_PERMISSION = "core.add_attendance"  # who may scan at the door may mark the teacher in
EDIT_PERMISSION = "core.change_attendance"


def _require(request: HttpRequest, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied


def _session_visible(request: HttpRequest, pk: int) -> Session:
    sessions = scope_by_branch(Session.objects.select_related("group__teacher", "room"), request.user, "room__branch")
    return get_object_or_404(sessions, pk=pk)


# --- today's sessions board -----------------------------------------------------------------------


def _hhmm(moment: datetime.datetime) -> str:
    return timezone.localtime(moment).strftime("%H:%M")


def _pk_url(name: str):
    """``pk -> reverse(name, args=[pk])`` with one reverse for the page: a big branch's board has
    170 rows and two links each, and Django's reverse costs tens of microseconds a call."""
    marker = "2147483647"
    pattern = reverse(name, args=[int(marker)])
    return lambda pk: pattern.replace(marker, str(pk))


def _board_rows(rows, *, now: datetime.datetime) -> None:
    """Give each row what the board prints, computed once here rather than per cell in the template
    (the date filters and block translations were most of the page's time on a big branch)."""
    early = _early_window()
    attendance_url, arrived_url = _pk_url("door-session-attendance"), _pk_url("door-teacher-arrived")
    for row in rows:
        session = row.session
        session.teacher_window = teacher_window(session, now=now, early=early)
        row.hours = f"{_hhmm(session.starts_at)}–{_hhmm(session.ends_at)}"
        row.is_now = session.starts_at <= now <= session.ends_at
        row.attendance_url, row.arrived_url = attendance_url(session.pk), arrived_url(session.pk)
        if session.teacher_checked_in_at:
            row.teacher_in = _("in at %(time)s") % {"time": _hhmm(session.teacher_checked_in_at)}
        row.mark_from = _("can be marked from %(time)s") % {"time": _hhmm(session.starts_at - early)}


def sessions_today(request: HttpRequest) -> HttpResponse:
    _require(request, BOARD_PERMISSION)
    branches, branch = branch_chosen(request)
    today = timezone.localdate()
    rosters = sessions_board([branch.pk], day=today) if branch else []
    now = timezone.now()
    _board_rows(rosters, now=now)
    context = {
        **admin.site.each_context(request),
        "title": _("Today's sessions"),
        "branches": branches,
        "branch": branch,
        "today": today,
        "rosters": rosters,
        "now": now,
        "may_mark_teacher": request.user.has_perm(TEACHER_PERMISSION),
        "may_edit": request.user.has_perm(EDIT_PERMISSION),
        "board_url": reverse("door-today"),
        # R6: classes under way without their teacher, with the time left before the auto-cancel.
        "countdowns": auto_cancel_countdowns(request.user, now=now, branch_ids=[branch.pk]) if branch else [],
        "countdowns_now": now,
    }
    return render(request, "core/door_today.html", context)


@require_POST
def teacher_arrived(request: HttpRequest, pk: int) -> HttpResponse:
    """The supervisor marks the teacher arrived (R6), from the door window to the session end."""
    _require(request, TEACHER_PERMISSION)
    session = _session_visible(request, pk)
    try:
        outcome = teacher_check_in(session=session, actor=request.user, now=timezone.now())
    except ValidationError as refusal:
        messages.error(request, " ".join(refusal.messages))
    else:
        level = messages.SUCCESS if outcome.code == ScanOutcomeCode.TEACHER_IN else messages.INFO
        messages.add_message(request, level, outcome.message)
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=False):
        return HttpResponseRedirect(back)  # the dashboard's countdown, say
    return HttpResponseRedirect(f"{reverse('door-today')}?branch={session.room.branch_id}")


def _early_window() -> datetime.timedelta:
    return datetime.timedelta(minutes=CenterSettings.load().early_window_minutes)


# --- one session's attendance, changed by hand with a reason ------------------------------------------


class AttendanceChangeForm(forms.Form):
    student = forms.IntegerField(widget=forms.HiddenInput)
    status = forms.ChoiceField(label=gettext_lazy("status"), choices=Attendance.Status.choices)
    reason = forms.CharField(label=gettext_lazy("reason"), max_length=255)


# Door answers that kept a student out: shown beside the row so nobody marks him present by mistake.
REFUSALS = (ScanOutcomeCode.PAY_FIRST, ScanOutcomeCode.DOOR_CLOSED, ScanOutcomeCode.CANCELLED)


def last_door_answers(session: Session) -> dict[int, dict]:
    """The last scan of each student for this session, in one query: {student id: {outcome, label, at}}.

    Only the outcome is shown, never the scan's message (it may name an amount owed).
    """
    answers = {}
    scans = (
        ScanEvent.objects.filter(session=session, student__isnull=False)
        .order_by("at", "pk")
        .values_list("student_id", "outcome", "at")
    )
    for student_id, outcome, at in scans:
        answers[student_id] = {"outcome": outcome, "label": ScanOutcomeCode(outcome).label, "at": at}
    return answers


@require_http_methods(["GET", "POST"])
def session_attendance(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, BOARD_PERMISSION)
    session = _session_visible(request, pk)
    enrollments = list(
        Enrollment.objects.filter(group_id=session.group_id, start_date__lte=session.date)
        .exclude(end_date__lt=session.date)
        .select_related("student")
        .order_by("student__full_name")
    )
    form = AttendanceChangeForm()
    if request.method == "POST":
        _require(request, EDIT_PERMISSION)
        form = AttendanceChangeForm(request.POST)
        if form.is_valid():
            student = next((e.student for e in enrollments if e.student_id == form.cleaned_data["student"]), None)
            if student is None:
                raise Http404
            try:
                attendance_set(
                    actor=request.user,
                    session=session,
                    student=student,
                    status=form.cleaned_data["status"],
                    reason=form.cleaned_data["reason"],
                )
            except ValidationError as error:
                for message in error.messages:
                    messages.error(request, message)
            else:
                messages.success(
                    request,
                    _("Attendance of %(student)s set to %(status)s.")
                    % {
                        "student": student.full_name,
                        "status": Attendance.Status(form.cleaned_data["status"]).label,
                    },
                )
                return HttpResponseRedirect(request.path)
        else:
            messages.error(request, _("Choose a status and give the reason for the change."))
    attendances = {a.student_id: a for a in Attendance.objects.filter(session=session).select_related("recorded_by")}
    last_scans = last_door_answers(session)
    rows = [
        (enrollment.student, attendances.get(enrollment.student_id), last_scans.get(enrollment.student_id))
        for enrollment in enrollments
    ]
    context = {
        **admin.site.each_context(request),
        "title": _("Attendance · %(group)s · %(date)s") % {"group": session.group.name, "date": session.date},
        "session": session,
        "rows": rows,
        "statuses": Attendance.Status.choices,
        "refusals": REFUSALS,
        "may_edit": request.user.has_perm(EDIT_PERMISSION),
        "form": form,
        "board_url": f"{reverse('door-today')}?branch={session.room.branch_id}",
    }
    return render(request, "core/door_session_attendance.html", context)


# --- the monthly attendance sheet of a group ------------------------------------------------------------

# What a cell shows: symbols for the two common answers, short words for the others (no Latin
# letters in an Arabic sheet).
MARKS = {
    Attendance.Status.PRESENT: "✓",
    Attendance.Status.LATE: pgettext_lazy("attendance sheet mark", "late"),
    Attendance.Status.ABSENT: "✗",
    Attendance.Status.EXCUSED: pgettext_lazy("attendance sheet mark", "excused"),
}
CANCELLED_MARK = "—"


def _month(text: str) -> datetime.date:
    try:
        return datetime.datetime.strptime(text, "%Y-%m").date()
    except ValueError:
        return timezone.localdate().replace(day=1)


def attendance_sheet_rows(group: Group, month: datetime.date) -> tuple[list[Session], list[dict]]:
    """Sessions of the month as columns, one row per student enrolled that month (three queries).

    A cancelled session was neither held nor missed: its cells show no mark and it counts in no
    total, even for students admitted before the cancel. A session whose door has not opened yet
    is not counted either. Each session gets ``counted`` (held or under way) for the template.
    """
    last_day = month.replace(day=calendar.monthrange(month.year, month.month)[1])
    door_opened_by = timezone.now() + _early_window()
    sessions = list(Session.objects.filter(group=group, date__gte=month, date__lte=last_day).order_by("starts_at"))
    for session in sessions:
        session.is_cancelled = session.status == Session.Status.CANCELLED
        session.counted = not session.is_cancelled and session.starts_at <= door_opened_by
    students = list(
        Student.objects.filter(enrollments__group=group, enrollments__start_date__lte=last_day)
        .exclude(enrollments__end_date__lt=month)
        .distinct()
        .order_by("full_name")
    )
    marks = {
        (student_id, session_id): status
        for student_id, session_id, status in Attendance.objects.filter(session__in=sessions).values_list(
            "student_id", "session_id", "status"
        )
    }
    held = sum(session.counted for session in sessions)
    rows = []
    for student in students:
        cells = []
        attended = 0
        for session in sessions:
            if session.is_cancelled:
                cells.append({"status": "cancelled", "mark": CANCELLED_MARK})
                continue
            status = marks.get((student.pk, session.pk), "")
            if session.counted:
                attended += status in (Attendance.Status.PRESENT, Attendance.Status.LATE)
            cells.append({"status": status, "mark": MARKS.get(status, "")})
        rows.append({"student": student, "cells": cells, "attended": attended, "held": held})
    return sessions, rows


def attendance_sheet(request: HttpRequest) -> HttpResponse:
    _require(request, BOARD_PERMISSION)
    groups = scope_by_branch(Group.objects.filter(is_active=True), request.user, "branch")
    month = _month(request.GET.get("month", ""))
    picker = GroupPicker(request.GET, groups=groups, required=True)
    group = None
    if request.GET.get("group", "").isdigit():
        group = get_object_or_404(groups.select_related("teacher"), pk=int(request.GET["group"]))
    sessions, rows = attendance_sheet_rows(group, month) if group else ([], [])
    context = {
        **admin.site.each_context(request),
        "title": _("Attendance sheet"),
        "picker": picker,
        "group": group,
        "month": month,
        "sessions": sessions,
        "rows": rows,
        "held": sum(session.counted for session in sessions),
        "marks": [(status, MARKS[status], label) for status, label in Attendance.Status.choices],
        "cancelled_mark": CANCELLED_MARK,
        "sheet_url": reverse("door-sheet"),
    }
    return render(request, "core/door_sheet.html", context)
