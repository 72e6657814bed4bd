"""Kiosk devices in the admin: created through the service, token shown once, revocable.

The token page follows redirect-after-POST: the add view keeps the new token in the session
and redirects to ``<id>/token/``, which takes it out on first display (with a QR code that
pairs the tablet); a reload finds nothing and says so. The token itself is never stored
anywhere else (only its hash, by ``kiosk_create``).
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from unfold.decorators import action, display
from unfold.enums import ActionVariant

from core.admin.actions import action_with_form
from core.admin.base import CenterModelAdmin, ServiceErrorsMixin, validation_messages
from core.admin.cards import qr_svg
from core.admin.forms import ReasonForm
from core.models import Kiosk
from core.services.kiosk_admin import kiosk_update
from core.services.kiosks import kiosk_create, kiosk_revoke

# session key: {kiosk id: token} for tokens made in this session and not yet shown
SESSION_TOKENS = "kiosk_tokens_to_show"


def pairing_url(request, token: str) -> str:
    """The address the tablet opens to pair itself (kiosk.js reads and clears the #pair= part)."""
    return f"{request.build_absolute_uri(reverse('kiosk'))}#pair={token}"


class KioskForm(forms.ModelForm):
    """Name and room checked on the form, so a mistake is a field error, not a refused save."""

    class Meta:
        model = Kiosk
        fields = ["name", "branch", "room"]

    def clean(self):
        cleaned = super().clean()
        branch = cleaned.get("branch") or (self.instance.branch if self.instance.pk else None)
        room, name = cleaned.get("room"), (cleaned.get("name") or "").strip()
        if branch is not None and room is not None and room.branch_id != branch.pk:
            self.add_error("room", _("The room must belong to the kiosk's branch."))
        if branch is not None and name:
            others = Kiosk.objects.filter(branch=branch, name=name).exclude(pk=self.instance.pk)
            if others.exists():
                self.add_error("name", _("This branch already has a kiosk with this name."))
        return cleaned


@admin.register(Kiosk)
class KioskAdmin(ServiceErrorsMixin, CenterModelAdmin):
    form = KioskForm
    list_display = ["name", "branch", "room", "token_prefix", "is_active", "last_seen_at"]
    list_filter = ["branch", "is_active"]
    search_fields = ["name"]
    readonly_fields = ["token_prefix", "is_active", "revoked_at", "last_seen_at"]
    actions = ["revoke"]
    actions_detail = ["revoke_detail"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name", "branch", "room"]
        # a revoked kiosk is read-only: its room without the "leave empty" help of the input
        room = "room_shown" if obj.revoked_at is not None else "room"
        return ["name", "branch", room, "token_prefix", "is_active", "revoked_at", "last_seen_at"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        # The branch decides which students the token may admit: another branch is a new kiosk.
        return ["branch", "room_shown", *self.readonly_fields]

    @display(description=gettext_lazy("room"))
    def room_shown(self, kiosk):
        return kiosk.room or _("Any room of the branch")

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is not None and "room" in form.base_fields:
            rooms = form.base_fields["room"]
            rooms.queryset = rooms.queryset.filter(branch_id=obj.branch_id)
        return form

    def has_change_permission(self, request, obj=None):
        # A revoked kiosk is history: shown, no longer changed (no save buttons).
        # (unfold's detail actions pass the object id here, not the object)
        if isinstance(obj, Kiosk) and obj.revoked_at is not None:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False  # scans point at it; revoke instead

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("branch", "room")

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            kiosk_update(actor=request.user, kiosk=obj, name=data["name"], room=data.get("room"))
            return
        kiosk, token = kiosk_create(actor=request.user, name=data["name"], branch=data["branch"], room=data.get("room"))
        obj.pk, obj.token_hash, obj.token_prefix = kiosk.pk, kiosk.token_hash, kiosk.token_prefix
        obj._state.adding = False
        request._kiosk_token = token  # kept in the session for one display, never stored in clear

    def response_add(self, request, obj, post_url_continue=None):
        token = getattr(request, "_kiosk_token", None)
        if token is None:
            return super().response_add(request, obj, post_url_continue)
        tokens = request.session.get(SESSION_TOKENS, {})
        tokens[str(obj.pk)] = token
        request.session[SESSION_TOKENS] = tokens
        return HttpResponseRedirect(reverse("admin:core_kiosk_token", args=[obj.pk]))

    # --- the token page, shown once ------------------------------------------------------------

    def get_urls(self):
        own = [path("<path:object_id>/token/", self.admin_site.admin_view(self.token_view), name="core_kiosk_token")]
        return own + super().get_urls()

    def token_view(self, request, object_id):
        if not self.has_add_permission(request):
            raise PermissionDenied
        kiosk = get_object_or_404(self.get_queryset(request), pk=object_id)
        tokens = request.session.get(SESSION_TOKENS, {})
        token = tokens.pop(str(kiosk.pk), None)
        if token is not None:
            request.session[SESSION_TOKENS] = tokens
        url = pairing_url(request, token) if token else ""
        context = {
            **self.admin_site.each_context(request),
            "title": _("Kiosk token"),
            "kiosk": kiosk,
            "token": token,
            "pair_url": url,
            "pair_qr": qr_svg(url) if url else "",
            "opts": self.model._meta,
        }
        response = TemplateResponse(request, "admin/core/kiosk/token.html", context)
        response["Cache-Control"] = "no-store"
        return response

    # --- revoking --------------------------------------------------------------------------------

    def get_actions_detail(self, request, object_id):
        actions = super().get_actions_detail(request, object_id)
        active = self.get_queryset(request).filter(pk=object_id, revoked_at__isnull=True).exists()
        return actions if active else []

    @action(
        description=gettext_lazy("Revoke"),
        url_path="revoke",
        permissions=["change"],
        variant=ActionVariant.DANGER,
        icon="block",
    )
    def revoke_detail(self, request, object_id):
        """One kiosk, with a confirmation page and a reason (the audit row keeps it)."""
        kiosk = self.get_queryset(request).filter(pk=object_id).first()
        if kiosk is None:
            raise Http404
        change_url = reverse("admin:core_kiosk_change", args=[kiosk.pk])
        if kiosk.revoked_at is not None:
            return HttpResponseRedirect(change_url)
        form = ReasonForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                kiosk_revoke(actor=request.user, kiosk=kiosk, reason=form.cleaned_data["reason"].strip())
            except ValidationError as error:
                for message in validation_messages(error):
                    messages.error(request, message)
            else:
                messages.success(request, _("Kiosk “%(name)s” was revoked.") % {"name": kiosk.name})
            return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Revoke the kiosk “%(name)s”") % {"name": kiosk.name},
            "kiosk": kiosk,
            "form": form,
            "change_url": change_url,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/core/kiosk/revoke.html", context)

    def action_done_message(self, count):
        return _("Revoked %(count)d kiosks.") % {"count": count}

    @action(description=gettext_lazy("Revoke the selected kiosks"), permissions=["change"])
    def revoke(self, request, queryset):
        """A confirmation with a reason first, as on the kiosk's own page: a revoked tablet stops at once."""
        return action_with_form(
            self,
            request,
            queryset.filter(revoked_at__isnull=True),
            form_class=ReasonForm,
            title=_("Revoke the kiosk"),
            apply=lambda kiosk, data: kiosk_revoke(actor=request.user, kiosk=kiosk, reason=data["reason"].strip()),
        )
