"""Printable QR cards: A4 sheets of ten credit-card sized cards (SPEC.md §4 Print).

Student cards hold the student code; teacher cards hold the signed ``T-…`` value from
core.cards. The pages are plain HTML print layouts under our strict CSP (core/web/csp.py).
They are routed under /admin/ through ``admin.site.admin_view`` (login and staff status);
the print permission and the staff member's branches are checked here.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlencode

import segno
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from core.access.scoping import branch_ids_visible, scope_by_branch
from core.cards import teacher_card_value
from core.models import CenterSettings, Enrollment, Group, Student, Teacher
from core.web.csp import csp_strict

CARDS_PER_SHEET = 10  # 2 columns × 5 rows on A4
MAX_CARDS = 2000  # one request prints at most this many cards (200 sheets)
MAX_GROUP_LINES = 3


@dataclass
class Card:
    name: str
    qr_svg: SafeString
    code: str = ""
    subtitle: str = ""
    lines: list[tuple[str, str]] = field(default_factory=list)  # (group code, group name)


def ids_compact(ids: Iterable[int]) -> str:
    """Ids as comma-separated numbers and ranges ("3,7-9,12"): a whole selection stays a short URL
    (gunicorn refuses request lines over 4 KB)."""
    parts, run_start, previous = [], None, None
    for pk in sorted({int(pk) for pk in ids}):
        if previous is not None and pk == previous + 1:
            previous = pk
            continue
        if run_start is not None:
            parts.append(str(run_start) if run_start == previous else f"{run_start}-{previous}")
        run_start = previous = pk
    if run_start is not None:
        parts.append(str(run_start) if run_start == previous else f"{run_start}-{previous}")
    return ",".join(parts)


def student_cards_url(*, ids: Iterable[int] | None = None, group: int | Group | None = None) -> str:
    """The sheet of the given students, or of every active student enrolled in a group."""
    params = {}
    if ids is not None:
        params["ids"] = ids_compact(ids)
    if group is not None:
        params["group"] = str(getattr(group, "pk", group))
    return f"{reverse('print-student-cards')}?{urlencode(params, safe=',')}"


def teacher_cards_url(*, ids: Iterable[int]) -> str:
    return f"{reverse('print-teacher-cards')}?{urlencode({'ids': ids_compact(ids)}, safe=',')}"


def qr_svg(value: str) -> SafeString:
    """The QR code of ``value`` as inline SVG, sized by CSS (class ``qr``)."""
    svg = segno.make(value, error="m", micro=False).svg_inline(border=2, omitsize=True, svgclass="qr", lineclass=None)
    # segno writes only the path of the modules; the value never reaches the markup as text.
    return mark_safe(svg)  # noqa: S308


MAX_ID = 2**63 - 1  # the largest primary key the databases store


def _as_id(raw: str) -> int | None:
    raw = raw.strip()
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 19):
        return None
    value = int(raw)
    return value if 0 < value <= MAX_ID else None


def ids_param(request: HttpRequest) -> list[int]:
    """``?ids=3,7-9,12`` as a sorted list of ids (at most MAX_CARDS); anything else is ignored."""
    ids: set[int] = set()
    for part in request.GET.get("ids", "").split(","):
        first, dash, last = part.partition("-")
        low, high = _as_id(first), _as_id(last) if dash else _as_id(first)
        if low is None or high is None or high < low:
            continue
        ids.update(range(low, min(high, low + MAX_CARDS - 1) + 1))
        if len(ids) >= MAX_CARDS:
            break
    return sorted(ids)[:MAX_CARDS]


def _group_param(request: HttpRequest) -> int | None:
    raw = request.GET.get("group", "").strip()
    if not raw:
        return None
    group_id = _as_id(raw)
    if group_id is None:
        raise Http404
    return group_id


def _center_context() -> dict:
    center = CenterSettings.load()
    name = center.center_name_en if get_language() == "en" and center.center_name_en else center.center_name_ar
    logo_url = center.logo.url if center.logo else static("core/logo.svg")
    return {"center_name": name, "logo_url": logo_url}


def _sheets(cards: list[Card]) -> list[list[Card]]:
    return [cards[start : start + CARDS_PER_SHEET] for start in range(0, len(cards), CARDS_PER_SHEET)]


def _group_lines(groups: list[Group]) -> list[tuple[str, str]]:
    lines = [(group.code, group.name) for group in groups[:MAX_GROUP_LINES]]
    if len(groups) > MAX_GROUP_LINES:
        more = len(groups) - MAX_GROUP_LINES
        lines.append(("", ngettext("and %(count)s more group", "and %(count)s more groups", more) % {"count": more}))
    return lines


def students_for_cards(*, user, ids: list[int] | None = None, group: Group | None = None):
    """Active students to print, with their active groups prefetched (``active_enrollments``).

    By ids: only students of the staff member's branches. By group: the caller has checked
    that the group is visible, and every active student enrolled in it is printed."""
    students = Student.objects.filter(is_active=True)
    if group is not None:
        # Whoever may see the group may print all of its students.
        students = students.filter(enrollments__group=group, enrollments__is_active=True)
    else:
        students = scope_by_branch(students.filter(pk__in=ids or []), user)
    active_enrollments = (
        Enrollment.objects.filter(is_active=True, group__is_active=True).select_related("group").order_by("group__code")
    )
    return (
        students.distinct()
        .order_by("full_name", "code")
        .prefetch_related(Prefetch("enrollments", queryset=active_enrollments, to_attr="active_enrollments"))[
            :MAX_CARDS
        ]
    )


def teachers_for_cards(*, user, ids: list[int]):
    """Active teachers to print. Staff limited to branches see the teachers of their
    branches' groups, and teachers who have no group yet (they belong to no branch)."""
    teachers = Teacher.objects.filter(is_active=True, pk__in=ids)
    branch_ids = branch_ids_visible(user)
    if branch_ids is not None:
        teachers = teachers.filter(Q(groups__branch_id__in=branch_ids) | Q(groups__isnull=True))
    active_groups = Group.objects.filter(is_active=True).order_by("code")
    return (
        teachers.distinct()
        .order_by("full_name")
        .prefetch_related(Prefetch("groups", queryset=active_groups, to_attr="active_groups"))[:MAX_CARDS]
    )


def _render_sheet(request: HttpRequest, *, title: str, cards: list[Card], kind: str) -> HttpResponse:
    context = {
        "title": title,
        "sheets": _sheets(cards),
        "card_count": len(cards),
        "card_kind": kind,
        **_center_context(),
    }
    return render(request, "core/print/cards.html", context)


@csp_strict
def student_cards(request: HttpRequest) -> HttpResponse:
    """``?ids=1,2,3`` or ``?group=<id>``: a sheet of student QR cards."""
    if not request.user.has_perm("core.print_cards"):
        raise PermissionDenied
    group_id = _group_param(request)
    group = None
    if group_id is not None:
        group = scope_by_branch(Group.objects.filter(pk=group_id), request.user).first()
        if group is None:
            raise Http404
    students = students_for_cards(user=request.user, ids=ids_param(request), group=group)
    cards = [
        Card(
            name=student.full_name,
            code=student.code,
            lines=_group_lines([enrollment.group for enrollment in student.active_enrollments]),
            qr_svg=qr_svg(student.code),
        )
        for student in students
    ]
    title = _("Student cards: %(group)s") % {"group": group} if group else _("Student cards")
    return _render_sheet(request, title=title, cards=cards, kind=_("Student card"))


@csp_strict
def teacher_cards(request: HttpRequest) -> HttpResponse:
    """``?ids=1,2,3``: a sheet of teacher QR cards (the QR holds the signed card value)."""
    if not request.user.has_perm("core.print_teacher_cards"):
        raise PermissionDenied
    teachers = teachers_for_cards(user=request.user, ids=ids_param(request))
    cards = [
        Card(
            name=teacher.full_name,
            subtitle=teacher.subject,
            lines=_group_lines(teacher.active_groups),
            qr_svg=qr_svg(teacher_card_value(teacher)),
        )
        for teacher in teachers
    ]
    return _render_sheet(request, title=_("Teacher cards"), cards=cards, kind=_("Teacher card"))
