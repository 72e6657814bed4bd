"""The door in the admin: attendance and the scan log, read-only lists scoped by branch.

Attendance changes go through ``attendance_set`` (a reason, an audit row); the scan log is the
door's audit trail and never changes.
"""

from django.contrib import admin
from unfold.admin import ModelAdmin
from unfold.contrib.filters.admin import ChoicesDropdownFilter, RangeDateFilter

from core.admin.base import CenterModelAdmin
from core.models import Attendance, ScanEvent
from core.scoping import branch_ids_visible


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
    list_filter = [("outcome", ChoicesDropdownFilter), ("at", RangeDateFilter)]
    search_fields = ["code", "student__full_name"]
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
