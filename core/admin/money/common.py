"""What every money screen shares: the page renderer, the one action → form page helper, the
``has_<name>_permission`` hooks of the unfold buttons, and left-to-right display of numbers."""

from collections.abc import Callable

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils.html import format_html
from django.utils.translation import gettext as _

from core.admin.base import validation_messages


def ltr(value) -> str:
    return format_html('<bdi dir="ltr">{}</bdi>', value) if value not in (None, "") else "—"


def admin_page(admin_obj, request, template: str, title: str, **context):
    """A page of this admin: the site's context (sidebar, branding), its model's opts and a title."""
    return TemplateResponse(
        request,
        template,
        {**admin_obj.admin_site.each_context(request), "opts": admin_obj.model._meta, "title": title, **context},
    )


def form_errors(form, error: ValidationError) -> None:
    """A service's refusal shown on the form (its messages, translated, above the fields)."""
    for message in validation_messages(error):
        form.add_error(None, message)


def form_page(
    admin_obj,
    request,
    *,
    form,
    title: str,
    apply: Callable,
    done_url: str | Callable,
    success: str | Callable | None = None,
    template: str = "admin/money/form.html",
    shown_context: Callable[[], dict] | None = None,
    **context,
):
    """The page behind an action button: a form whose valid POST calls one service.

    ``apply(cleaned_data)`` calls the service (which checks the permission again); its
    ValidationError is shown on the form. On success: ``success`` (a text, or a function of what
    ``apply`` returned; "Done." by default) as a message, and a redirect to ``done_url`` (a URL or
    a function of the result). Otherwise the form page, with ``context`` (e.g. ``subject``) and
    what ``shown_context()`` returns (figures worth reading only when the page is shown)."""
    if request.method == "POST" and form.is_valid():
        try:
            result = apply(form.cleaned_data)
        except ValidationError as error:
            form_errors(form, error)
        else:
            messages.success(request, success(result) if callable(success) else (success or _("Done.")))
            return HttpResponseRedirect(done_url(result) if callable(done_url) else done_url)
    if shown_context is not None:
        context.update(shown_context())
    return admin_page(admin_obj, request, template, title, form=form, **context)


class MoneyPermissionsMixin:
    """``has_<name>_permission`` for the unfold actions of the money screens: the user's Django permission."""

    def has_add_cashclose_permission(self, request, object_id=None) -> bool:
        return request.user.has_perm("core.add_cashclose")

    def has_approve_settlement_permission(self, request, object_id=None) -> bool:
        return request.user.has_perm("core.approve_settlement")

    def has_record_payment_permission(self, request, object_id=None) -> bool:
        return request.user.has_perm("core.record_payment")

    def has_run_settlement_permission(self, request, object_id=None) -> bool:
        return request.user.has_perm("core.run_settlement")

    def has_view_money_reports_permission(self, request, object_id=None) -> bool:
        return request.user.has_perm("core.view_money_reports")

    def has_void_receipt_permission(self, request, object_id=None) -> bool:
        return request.user.has_perm("core.void_receipt")
