"""Kiosk devices in the admin: created through the service, token shown once, revocable."""

from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from unfold.decorators import action

from core.admin.base import CenterModelAdmin
from core.models import Kiosk
from core.services.kiosks import kiosk_create, kiosk_revoke


@admin.register(Kiosk)
class KioskAdmin(CenterModelAdmin):
    list_display = ["name", "branch", "room", "token_prefix", "is_active", "last_seen_at"]
    list_filter = ["branch", "is_active"]
    search_fields = ["name"]
    readonly_fields = ["token_prefix", "is_active", "revoked_at", "last_seen_at"]
    actions = ["revoke"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name", "branch", "room"]
        return ["name", "branch", "room", "token_prefix", "is_active", "revoked_at", "last_seen_at"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        # A kiosk's place is part of what its token may do: make a new kiosk to move one.
        return ["name", "branch", "room", *self.readonly_fields]

    def has_delete_permission(self, request, obj=None):
        return False  # scans point at it; revoke instead

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("branch", "room")

    def save_model(self, request, obj, form, change):
        if change:
            return
        kiosk, token = kiosk_create(
            actor=request.user, name=obj.name, branch=obj.branch, room=form.cleaned_data.get("room")
        )
        obj.pk, obj.token_hash, obj.token_prefix = kiosk.pk, kiosk.token_hash, kiosk.token_prefix
        request._kiosk_token = token  # shown once by response_add, never stored in clear

    def response_add(self, request, obj, post_url_continue=None):
        token = getattr(request, "_kiosk_token", None)
        if token is None:
            return super().response_add(request, obj, post_url_continue)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Kiosk token"),
            "kiosk": obj,
            "token": token,
            "opts": self.model._meta,
        }
        response = TemplateResponse(request, "admin/core/kiosk/token.html", context)
        response["Cache-Control"] = "no-store"
        return response

    @action(description=gettext_lazy("Revoke the selected kiosks"), permissions=["change"])
    def revoke(self, request, queryset):
        for kiosk in queryset:
            kiosk_revoke(actor=request.user, kiosk=kiosk)
        messages.success(request, _("Revoked %(count)d kiosks.") % {"count": queryset.count()})
