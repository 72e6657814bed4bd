"""The door in the admin: attendance and the scan log, read-only lists scoped by branch.

Attendance changes go through ``attendance_set`` (a reason, an audit row); the scan log is the
door's audit trail and never changes.
"""

from django.contrib import admin, messages
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from unfold.admin import ModelAdmin
from unfold.contrib.filters.admin import (
    AutocompleteSelectFilter,
    ChoicesDropdownFilter,
    DropdownFilter,
    RangeDateFilter,
    TextFilter,
)
from unfold.decorators import action

from core.access.scoping import branch_ids_visible, scope_by_branch
from core.admin.base import CenterModelAdmin, ReadOnlyMixin
from core.admin.exports import CenterExportMixin
from core.admin.people import ltr
from core.cards import teacher_card_masked
from core.imports.resources import resource_for
from core.models import Attendance, Branch, DoorFollowUp, Kiosk, ScanEvent, User
from core.normalize import digits_ascii, search_key
from core.services.door import door_follow_up_resolve


@admin.register(Attendance)
class AttendanceAdmin(ReadOnlyMixin, CenterModelAdmin):
    branch_path = "session__group__branch"
    teacher_group_path = "session__group"
    list_display = ["student", "session", "status", "minutes_late", "source", "at", "recorded_by", "reason"]
    list_filter = [
        ("status", ChoicesDropdownFilter),
        ("source", ChoicesDropdownFilter),
        ("session__date", RangeDateFilter),
    ]
    search_fields = ["student__code", "student__full_name", "session__group__code"]
    # No date drill-down (MIN/MAX and distinct months over attendance × sessions): the range filter stays.

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("student", "session__group", "recorded_by")


class ScanStudentFilter(TextFilter):
    """A student by code (any digits) or by name, spelled any common way (أحمد = احمد)."""

    title = gettext_lazy("student")
    parameter_name = "student"

    def queryset(self, request, queryset):
        term = (self.value() or "").strip()
        if not term:
            return queryset
        code = digits_ascii(term).replace(" ", "")
        return queryset.filter(Q(student__code__iexact=code) | Q(student__search_key__contains=search_key(term)))


class ScanBranchFilter(DropdownFilter):
    """Where the scan happened: the kiosk's branch, else (desk scans) the session's."""

    title = gettext_lazy("branch")
    parameter_name = "branch"

    def lookups(self, request, model_admin):
        branches = scope_by_branch(Branch.objects.filter(is_active=True), request.user, "id")
        return [(str(branch.pk), str(branch)) for branch in branches]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        return queryset.filter(
            Q(kiosk__branch_id=self.value()) | Q(kiosk__isnull=True, session__group__branch_id=self.value())
        )


DESK = "desk"


class ScanKioskFilter(DropdownFilter):
    title = gettext_lazy("kiosk")
    parameter_name = "kiosk"

    def lookups(self, request, model_admin):
        kiosks = scope_by_branch(Kiosk.objects.select_related("branch"), request.user, "branch").order_by("name")
        return [(DESK, _("Door desk (no kiosk)")), *((str(kiosk.pk), str(kiosk)) for kiosk in kiosks)]

    def queryset(self, request, queryset):
        if self.value() == DESK:
            return queryset.filter(kiosk__isnull=True)
        return queryset.filter(kiosk_id=self.value()) if self.value() else queryset


class ScanOperatorFilter(DropdownFilter):
    """Staff who scanned at the door desk (kiosk scans have no operator)."""

    title = gettext_lazy("operator")
    parameter_name = "operator"

    def lookups(self, request, model_admin):
        scans = model_admin.get_queryset(request).filter(operator__isnull=False).values("operator_id")
        operators = User.objects.filter(pk__in=scans).order_by("username")
        return [(str(user.pk), user.get_full_name() or user.username) for user in operators]

    def queryset(self, request, queryset):
        return queryset.filter(operator_id=self.value()) if self.value() else queryset


def _masked_export(field_name: str):
    return lambda resource, scan: teacher_card_masked(getattr(scan, field_name))


# The scan log's export: a teacher card's signature is never written out.
ScanEventResource = type(
    "ScanEventResource",
    (resource_for(ScanEvent),),
    {"dehydrate_code": _masked_export("code"), "dehydrate_raw_code": _masked_export("raw_code")},
)


@admin.register(ScanEvent)
class ScanEventAdmin(ReadOnlyMixin, CenterExportMixin, CenterModelAdmin):
    branch_path = None
    list_display = ["at", "code_shown", "outcome", "message", "student", "session", "kiosk_shown", "operator"]
    list_filter = [
        ("outcome", ChoicesDropdownFilter),
        ("at", RangeDateFilter),
        ScanStudentFilter,
        # Looked up as typed: a dropdown of every group was most of a big center's page.
        ("session__group", AutocompleteSelectFilter),
        ScanBranchFilter,
        ScanKioskFilter,
        ScanOperatorFilter,
    ]
    # One box for a student (code or name, folded), a group code or a kiosk's scan id.
    search_fields = ["code"]
    search_help_text = gettext_lazy("Student code or name, group code, or a scan id.")
    # No date drill-down (MIN/MAX and distinct months of every scan): the range filter stays.
    fields = [
        "at",
        "received_at",
        "code_shown",
        "raw_code_shown",
        "outcome",
        "message",
        "student",
        "teacher",
        "session",
        "kiosk_shown",
        "operator",
        "client_scan_id",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        queryset = ModelAdmin.get_queryset(self, request).select_related(
            "student", "session__group", "kiosk", "operator"
        )
        branch_ids = branch_ids_visible(request.user)
        if branch_ids is None:
            return queryset
        # Scans of unknown cards have no session: the kiosk tells where they happened.
        return queryset.filter(kiosk__branch_id__in=branch_ids) | queryset.filter(
            session__group__branch_id__in=branch_ids
        )

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        code = digits_ascii(term).replace(" ", "")
        return queryset.filter(
            Q(student__code__iexact=code)
            | Q(student__search_key__contains=search_key(term))
            | Q(session__group__code__iexact=term)
            | Q(client_scan_id=term)
        ), False

    export_resource_class = ScanEventResource

    @admin.display(description=gettext_lazy("code"), ordering="code")
    def code_shown(self, scan):
        return ltr(teacher_card_masked(scan.code))

    @admin.display(description=gettext_lazy("scanned text"))
    def raw_code_shown(self, scan):
        return ltr(teacher_card_masked(scan.raw_code))

    @admin.display(description=gettext_lazy("kiosk"), ordering="kiosk__name")
    def kiosk_shown(self, scan):
        return scan.kiosk if scan.kiosk_id else _("Door desk")


class ResolvedFilter(admin.SimpleListFilter):
    title = gettext_lazy("state")
    parameter_name = "resolved"

    def lookups(self, request, model_admin):
        return [("no", _("To follow up")), ("yes", _("Resolved"))]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(resolved_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(resolved_at__isnull=False)
        return queryset


@admin.register(DoorFollowUp)
class DoorFollowUpAdmin(ReadOnlyMixin, CenterModelAdmin):
    """Refusals an offline kiosk could not enforce ("owes, was admitted offline") for the office."""

    branch_path = "session__group__branch"
    list_display = ["student", "reason", "amount_owed", "session", "scanned_at", "resolved_at", "resolved_by"]
    list_filter = [ResolvedFilter, ("reason", ChoicesDropdownFilter)]
    search_fields = ["student__code", "student__full_name"]
    actions = ["resolve"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("student", "session__group", "scan", "resolved_by")

    @admin.display(description=gettext_lazy("scanned at"), ordering="scan__at")
    def scanned_at(self, obj):
        return obj.scan.at

    def has_resolve_permission(self, request):
        return request.user.has_perm("core.change_doorfollowup")

    @action(description=gettext_lazy("Mark the selected follow-ups resolved"), permissions=["resolve"])
    def resolve(self, request, queryset):
        count = 0
        for follow_up in queryset.filter(resolved_at__isnull=True):
            door_follow_up_resolve(actor=request.user, follow_up=follow_up)
            count += 1
        messages.success(request, _("Resolved %(count)d follow-ups.") % {"count": count})
