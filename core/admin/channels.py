"""The channels admin (issue 19): parents' replies (the office's inbox), the approved WhatsApp
Cloud API templates, and each channel's circuit breaker (read only)."""

from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from unfold.admin import ModelAdmin
from unfold.contrib.filters.admin import ChoicesDropdownFilter, RangeDateTimeFilter
from unfold.decorators import action, display

from core.access.scoping import branch_ids_visible
from core.admin.base import AuditedModelAdmin, ReadOnlyMixin
from core.models import ChannelBreaker, CloudTemplate, InboundMessage, StudentGuardian
from core.services.receipts import inbound_mark_handled


def ltr(value) -> str:
    return format_html('<bdi dir="ltr">{}</bdi>', value) if value else "—"


class HandledFilter(admin.SimpleListFilter):
    title = _("handled")
    parameter_name = "handled"

    def lookups(self, request, model_admin):
        return [("no", _("Waiting")), ("yes", _("Handled"))]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(handled_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(handled_at__isnull=False)
        return queryset


@admin.register(InboundMessage)
class InboundMessageAdmin(ReadOnlyMixin, ModelAdmin):
    """What parents wrote back: STOP requests (already applied) and replies for the office."""

    list_display = ["received_at", "sender", "text_display", "kind", "channel", "handled_display"]
    list_filter = [HandledFilter, ("kind", ChoicesDropdownFilter), ("received_at", RangeDateTimeFilter)]
    list_filter_submit = True
    search_fields = ["phone", "guardian__full_name", "text"]
    list_select_related = ["guardian", "handled_by"]
    list_per_page = 50
    actions = ["mark_handled"]
    fields = ["received_at", "channel", "phone", "guardian", "kind", "text", "handled_at", "handled_by", "provider_id"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        branch_ids = branch_ids_visible(request.user)
        if branch_ids is None:
            return queryset
        # Staff of a branch see their students' guardians' replies and those from unknown numbers.
        guardians = StudentGuardian.objects.filter(student__branch__in=branch_ids).values("guardian_id")
        return queryset.filter(guardian_id__in=guardians) | queryset.filter(guardian__isnull=True)

    def has_handle_permission(self, request):
        return request.user.has_perm("core.handle_inboundmessage")

    @display(description=_("from"), ordering="phone")
    def sender(self, row):
        name = row.guardian.full_name if row.guardian else ""
        return format_html("{} {}", name, ltr(row.phone)) if name else ltr(row.phone)

    @display(description=_("text"))
    def text_display(self, row):
        return format_html('<span dir="auto">{}</span>', row.text[:200])

    @display(description=_("handled"), label={"yes": "success", "no": "warning"})
    def handled_display(self, row):
        return ("yes", _("Handled")) if row.handled_at else ("no", _("Waiting"))

    @action(description=_("Mark the selected replies handled"), permissions=["handle"])
    def mark_handled(self, request, queryset):
        done = inbound_mark_handled(actor=request.user, messages=queryset)
        self.message_user(
            request,
            ngettext("%(count)d reply marked handled.", "%(count)d replies marked handled.", done) % {"count": done},
            messages.SUCCESS,
        )


@admin.register(CloudTemplate)
class CloudTemplateAdmin(AuditedModelAdmin):
    """Which approved WhatsApp template carries each of our templates (checked on save)."""

    branch_path = None
    list_display = ["template", "language", "name", "cloud_language", "parameters", "is_active"]
    list_filter = ["language", "is_active"]
    list_select_related = ["template"]
    fields = ["template", "language", "name", "cloud_language", "parameters", "is_active"]


@admin.register(ChannelBreaker)
class ChannelBreakerAdmin(ReadOnlyMixin, ModelAdmin):
    """Each channel's circuit breaker: working, paused after failures, or trying one message."""

    list_display = ["channel", "state", "failures", "opened_at", "retry_at", "last_error"]
    fields = list_display
