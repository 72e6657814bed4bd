"""The weekly timetable of a branch: days (Saturday first) × rooms, each cell its classes.

An admin page (unfold layout, admin CSP). Needs ``core.view_scheduleslot``; staff see the
branches they work in, the owner all; a teacher sees only his own groups' classes.
"""

import datetime
import re
from dataclasses import dataclass

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from core.access.scoping import branch_ids_visible, is_teacher_only
from core.models import Branch, Room, ScheduleSlot, Weekday

HUES = 8  # colour classes tt-hue-0 … tt-hue-7, one per teacher


@dataclass
class Entry:
    group_code: str
    group_name: str
    teacher_name: str
    start: datetime.time
    end: datetime.time
    hue: int


@dataclass
class DayRow:
    label: str
    cells: list[list[Entry]]

    @property
    def is_empty(self) -> bool:
        return not any(self.cells)


def _natural_key(text: str) -> list:
    """ "Room 2" before "Room 10"."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def _end_time(start: datetime.time, minutes: int) -> datetime.time:
    return (datetime.datetime.combine(datetime.date(2000, 1, 1), start) + datetime.timedelta(minutes=minutes)).time()


def timetable_branches(user) -> list[Branch]:
    branches = Branch.objects.filter(is_active=True)
    branch_ids = branch_ids_visible(user)
    if is_teacher_only(user):
        # The branches he works in, and wherever his groups meet.
        branches = branches.filter(
            Q(pk__in=branch_ids or []) | Q(rooms__slots__group__teacher__user=user, rooms__slots__is_active=True)
        )
    elif branch_ids is not None:
        branches = branches.filter(pk__in=branch_ids)
    return list(branches.distinct().order_by("pk"))


def branch_chosen(request: HttpRequest) -> tuple[list[Branch], Branch | None]:
    """The user's branches and the one asked for in ``?branch=`` (404 if not his), else his first."""
    branches = timetable_branches(request.user)
    requested = request.GET.get("branch", "").strip()
    if not requested:
        return branches, branches[0] if branches else None
    branch = next((candidate for candidate in branches if str(candidate.pk) == requested), None)
    if branch is None:
        raise Http404
    return branches, branch


# A branch with more classes a week than this is shown a day at a time (tabs, ``?day=``, today
# first): a big center's week (1,000 classes in 100 rooms) would be a 650 KB page.
WEEK_AT_ONCE_MAX = 250


def timetable_rows(*, user, branch: Branch, day: int | None = None) -> tuple[list[Room], list[DayRow], int, int | None]:
    """(rooms as columns, one row per weekday, number of classes a week, the day shown or None for
    the whole week) of a branch. A busy branch shows ``day`` only (today when it is None)."""
    slots = (
        ScheduleSlot.objects.filter(room__branch=branch, is_active=True, group__is_active=True)
        .select_related("group__teacher")
        .order_by("weekday", "start_time", "group__code")
    )
    if is_teacher_only(user):
        slots = slots.filter(group__teacher__user=user)
    slots = list(slots)
    used_room_ids = {slot.room_id for slot in slots}
    rooms = sorted(
        (room for room in Room.objects.filter(branch=branch) if room.is_active or room.pk in used_room_ids),
        key=lambda room: _natural_key(room.name),
    )
    column = {room.pk: index for index, room in enumerate(rooms)}
    rows = [DayRow(label=weekday.label, cells=[[] for _room in rooms]) for weekday in Weekday]
    week_total = len(slots)
    if week_total > WEEK_AT_ONCE_MAX:
        day = day if day is not None else Weekday.of(timezone.localdate()).value
        slots = [slot for slot in slots if slot.weekday == day]
    else:
        day = None
    for slot in slots:
        rows[slot.weekday].cells[column[slot.room_id]].append(
            Entry(
                group_code=slot.group.code,
                group_name=slot.group.name,
                teacher_name=slot.group.teacher.full_name,
                start=slot.start_time,
                end=_end_time(slot.start_time, slot.duration_minutes),
                hue=slot.group.teacher_id % HUES,
            )
        )
    return rooms, rows if day is None else [rows[day]], week_total, day


def timetable(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("core.view_scheduleslot"):
        raise PermissionDenied
    branches, branch = branch_chosen(request)
    requested_day = request.GET.get("day", "")
    day = int(requested_day) if requested_day.isdigit() and int(requested_day) in Weekday.values else None
    rooms, rows, slot_count, day = (
        timetable_rows(user=request.user, branch=branch, day=day) if branch else ([], [], 0, None)
    )
    context = {
        **admin.site.each_context(request),
        "title": _("Timetable"),
        "branches": branches,
        "branch": branch,
        "rooms": rooms,
        "rows": rows,
        "slot_count": slot_count,
        "only_own_groups": is_teacher_only(request.user),
        "timetable_url": reverse("timetable"),
        "day": day,
        "days": Weekday.choices if day is not None else [],
    }
    return render(request, "core/timetable.html", context)
