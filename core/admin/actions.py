"""Intermediate pages for admin actions that need input (a reason, a date, a target group)."""

from django.contrib import messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.template.response import TemplateResponse

from core.admin.base import validation_messages


def action_with_form(modeladmin, request, queryset, *, form_class, title: str, apply, initial=None):
    """Show ``form_class`` for the selected rows; on a valid post call apply(obj, cleaned_data) per row.

    Each row is applied on its own (its service runs its own transaction); refusals are
    reported per row with the service's translated message.
    """
    if "apply" in request.POST:
        form = form_class(request.POST)
        if form.is_valid():
            done = 0
            for obj in queryset:
                try:
                    apply(obj, form.cleaned_data)
                    done += 1
                except (ValidationError, PermissionDenied) as error:
                    reasons = validation_messages(error) if isinstance(error, ValidationError) else [str(error)]
                    messages.error(request, f"{obj}: {' '.join(reasons)}")
            if done:
                messages.success(request, modeladmin.action_done_message(done))
            return None
    else:
        form = form_class(initial=initial)
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "form": form,
        "objects": list(queryset[:50]),
        "count": queryset.count(),
        "action": request.POST.get("action"),
        "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
        "opts": modeladmin.model._meta,
        "select_across": request.POST.get("select_across", "0"),
    }
    return TemplateResponse(request, "admin/core/action_form.html", context)
