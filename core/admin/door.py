"""The door in the admin: attendance and the scan log, read-only lists scoped by branch.

Attendance changes go through ``attendance_set`` (a reason, an audit row); the scan log is the
door's audit trail and never changes.
"""

from django.contrib import admin, messages
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from unfold.admin import ModelAdmin
from unfold.contrib.filters.admin import ChoicesDropdownFilter, RangeDateFilter
from unfold.decorators import action

from core.admin.base import CenterModelAdmin
from core.models import Attendance, DoorFollowUp, ScanEvent
from core.scoping import branch_ids_visible
from core.services.door import door_follow_up_resolve


class ReadOnlyMixin:
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


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
    date_hierarchy = "session__date"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("student", "session__group", "recorded_by")


@admin.register(ScanEvent)
class ScanEventAdmin(ReadOnlyMixin, CenterModelAdmin):
    branch_path = None
    list_display = ["at", "code", "outcome", "message", "student", "session", "kiosk", "operator"]
    list_filter = [
        ("outcome", ChoicesDropdownFilter),
        ("at", RangeDateFilter),
        ("kiosk", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["code", "student__full_name", "student__code", "client_scan_id"]
    date_hierarchy = "at"

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
