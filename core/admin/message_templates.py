"""Message templates (with a live preview of the text a parent reads) and the broadcasts list."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from unfold.admin import ModelAdmin
from unfold.decorators import display
from unfold.widgets import (
    UnfoldAdminTextareaWidget,
)

from core.access.scoping import branch_ids_visible
from core.admin.messaging import messages_visible
from core.models import Broadcast, Message, MessageTemplate
from core.models.messaging import (
    PLACEHOLDER_SAMPLES,
    placeholder_value,
    placeholders_allowed,
    template_text_render,
)
from core.services import messaging as messaging_service


class MessageTemplateForm(forms.ModelForm):
    class Meta:
        model = MessageTemplate
        fields = ["key", "name", "text_ar", "text_en", "is_mandatory", "is_active"]
        widgets = {
            "text_ar": UnfoldAdminTextareaWidget(attrs={"rows": 6, "dir": "rtl", "lang": "ar"}),
            "text_en": UnfoldAdminTextareaWidget(attrs={"rows": 6, "dir": "ltr", "lang": "en"}),
        }


@admin.register(MessageTemplate)
class MessageTemplateAdmin(ModelAdmin):
    form = MessageTemplateForm
    # The title names each template in the user's language; the key is the code's name for it.
    list_display = ["title_display", "is_mandatory", "is_active", "updated_at"]
    list_filter = ["is_mandatory", "is_active"]
    search_fields = ["key", "name", "text_ar", "text_en"]
    change_form_after_template = "admin/messaging/template_preview.html"

    @display(description=gettext_lazy("template"), ordering="key")
    def title_display(self, template):
        return template.title

    def get_fields(self, request, obj=None):
        if obj is not None and obj.is_system:
            return ["text_ar", "text_en", "is_mandatory", "is_active"]  # titled by its kind, not its key
        return ["key", "name", "text_ar", "text_en", "is_mandatory", "is_active"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        # A system template's key is what the code sends; whether it is mandatory is the rule (R3, R6).
        return ["is_mandatory"] if obj.is_system else ["key"]

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_system:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        messaging_service.message_template_save(actor=request.user, template=obj)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        key = obj.key if obj is not None else ""
        allowed = placeholders_allowed(key)
        samples = {name: placeholder_value(PLACEHOLDER_SAMPLES[name]) for name in allowed}
        previews = {}
        for field in ("text_ar", "text_en"):
            text = getattr(obj, field, "") if obj is not None else ""
            try:
                previews[field] = template_text_render(text, samples)
            except (ValidationError, KeyError):
                previews[field] = text
        context.update(
            {
                "previews": previews,
                "placeholders": allowed,
                "preview_samples_data": samples,
            }
        )
        return super().render_change_form(request, context, add, change, form_url, obj)


@admin.register(Broadcast)
class BroadcastAdmin(ModelAdmin):
    list_display = ["created_at", "audience", "template", "recipients", "created_by", "messages_link"]
    list_select_related = ["template", "created_by"]
    search_fields = ["audience", "text"]
    readonly_fields = ["created_at", "created_by", "audience", "template", "text", "recipients"]
    fields = readonly_fields

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        branch_ids = branch_ids_visible(request.user)
        if branch_ids is None:
            return queryset
        reached = messages_visible(Message.objects.filter(broadcast__isnull=False), request.user).values("broadcast_id")
        return queryset.filter(Q(created_by=request.user) | Q(pk__in=reached))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @display(description=gettext_lazy("messages"))
    def messages_link(self, broadcast):
        url = reverse("admin:core_message_changelist") + f"?broadcast__id__exact={broadcast.pk}"
        return format_html('<a class="text-primary-600" href="{}">{}</a>', url, _("Show"))
