"""Center settings (owner only, one row) and the read-only audit log."""

from django.contrib import admin
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.contrib.filters.admin import ChoicesDropdownFilter, RangeDateTimeFilter

from core.access.roles import is_owner
from core.admin.base import AuditedModelAdmin, ReadOnlyMixin, UploadErrorsMixin
from core.admin.exports import CenterExportMixin
from core.admin.perf import AuditModelFilter, FastCountMixin
from core.models import AuditLog, CenterSettings


@admin.register(CenterSettings)
class CenterSettingsAdmin(UploadErrorsMixin, AuditedModelAdmin):
    branch_path = None
    fieldsets = [
        (_("Center"), {"classes": ["tab"], "fields": ["center_name_ar", "center_name_en", "logo", "receipt_footer"]}),
        (
            _("Door"),
            {
                "classes": ["tab"],
                "fields": [
                    "early_window_minutes",
                    "late_grace_minutes",
                    "unpaid_session_grace",
                    "new_student_grace",
                    "auto_cancel_minutes",
                ],
            },
        ),
        (
            _("Messages"),
            {
                "classes": ["tab"],
                "fields": [
                    "messaging_enabled",
                    "absence_notices",
                    "quiet_hours_start",
                    "quiet_hours_end",
                    "messages_per_guardian_per_hour",
                    "cost_per_message",
                    "sms_fallback_optional",
                    "sms_cost_per_segment",
                ],
            },
        ),
        (_("Treasury"), {"classes": ["tab"], "fields": ["expense_desk_limit"]}),
    ]

    def has_module_permission(self, request):
        return is_owner(request.user)

    def has_view_permission(self, request, obj=None):
        return is_owner(request.user)

    def has_change_permission(self, request, obj=None):
        return is_owner(request.user)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        settings_row = CenterSettings.load()
        return HttpResponseRedirect(reverse("admin:core_centersettings_change", args=[settings_row.pk]))


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyMixin, FastCountMixin, CenterExportMixin, ModelAdmin):
    list_display = ["at", "actor", "action", "model", "object_repr", "reason"]
    list_filter = [("at", RangeDateTimeFilter), ("action", ChoicesDropdownFilter), AuditModelFilter, "actor"]
    search_fields = ["object_repr", "reason", "object_id"]
    list_select_related = ["actor"]
    # No date drill-down: it reads MIN/MAX and the distinct months of every row; the range filter stays.
    readonly_fields = ["at", "actor", "action", "model", "object_id", "object_repr", "changes", "reason"]
    list_per_page = 25

    def has_export_permission(self, request):
        # The whole history of changes leaves the building only with the owner.
        return is_owner(request.user)
