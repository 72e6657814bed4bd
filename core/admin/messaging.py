"""The messages admin: the outbox, the monthly cost report, broadcasts and the owner's test send
(their forms: messaging_forms.py; templates and the broadcasts list: message_templates.py).
Every view checks its permission on the server."""

from decimal import Decimal

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from unfold.admin import ModelAdmin
from unfold.contrib.filters.admin import ChoicesDropdownFilter, RangeDateTimeFilter
from unfold.decorators import action, display

from core.access.roles import is_owner
from core.access.scoping import branch_ids_visible
from core.admin.base import ReadOnlyMixin
from core.admin.messaging_forms import BroadcastForm, TestSendForm, broadcast_queued_text
from core.admin.perf import FastCountMixin
from core.models import Branch, Message, MessageTemplate, TemplateKey
from core.models.messaging import (
    STATUS_LABELS,
    UNKNOWN_EXPLANATION,
    placeholders_allowed,
    template_title,
)
from core.selectors.messaging import message_costs_by_month, message_counts_by_status, messages_in_branches
from core.services import messaging as messaging_service


def ltr(value) -> str:
    """Phones keep their left-to-right order inside Arabic text."""
    return format_html('<bdi dir="ltr">{}</bdi>', value) if value else "—"


def messages_visible(queryset, user):
    """Staff see messages of their branches' students; the owner sees all (test sends too)."""
    return messages_in_branches(queryset, branch_ids_visible(user))


# --- Outbox ----------------------------------------------------------------------------------

# Messages that may have reached the parent without our knowing (old interrupted rows too).
UNCONFIRMED = Q(status=Message.Status.UNKNOWN) | Q(status=Message.Status.FAILED, failure=Message.Failure.INTERRUPTED)


def _unconfirmed(message: Message) -> bool:
    return message.status == Message.Status.UNKNOWN or (
        message.status == Message.Status.FAILED and message.failure == Message.Failure.INTERRUPTED
    )


class TemplateFilter(admin.SimpleListFilter):
    """Message kinds by their names, not their keys."""

    title = gettext_lazy("template")
    parameter_name = "template_key"

    def lookups(self, request, model_admin):
        custom = MessageTemplate.objects.exclude(key__in=TemplateKey.values).values_list("key", flat=True)
        return [(key, template_title(key)) for key in [*TemplateKey.values, *custom]]

    def queryset(self, request, queryset):
        return queryset.filter(template_key=self.value()) if self.value() else queryset


class BranchFilter(admin.SimpleListFilter):
    """The messages about one branch's students (the dashboard links its failed and held counts
    here with the branch it shows). Only the user's own branches are offered, and a branch outside
    them shows nothing: the filter narrows what ``messages_visible`` allows, never widens it."""

    title = gettext_lazy("branch")
    parameter_name = "branch"

    def lookups(self, request, model_admin):
        branches = Branch.objects.order_by("id")
        visible = branch_ids_visible(request.user)
        if visible is not None:
            branches = branches.filter(pk__in=visible)
        return [(str(branch.pk), str(branch)) for branch in branches]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        visible = branch_ids_visible(request.user)
        if not value.isdigit() or (visible is not None and int(value) not in visible):
            return queryset.none()
        return messages_in_branches(queryset, [int(value)])


# Read only: the outbox is history; it changes only through the actions below, and old sent
# messages are removed by the weekly cleanup.
@admin.register(Message)
class MessageAdmin(ReadOnlyMixin, FastCountMixin, ModelAdmin):
    list_display = [
        "created_at",
        "recipient",
        "template_display",
        "status_display",
        "channel",
        "attempts",
        "next_attempt_at",
        "cost",
        "sent_at",
    ]
    list_filter = [
        ("status", ChoicesDropdownFilter),
        BranchFilter,
        ("channel", ChoicesDropdownFilter),
        TemplateFilter,
        ("hold_reason", ChoicesDropdownFilter),
        ("failure", ChoicesDropdownFilter),
        "is_mandatory",
        ("created_at", RangeDateTimeFilter),
    ]
    list_filter_submit = True
    search_fields = ["phone", "guardian__full_name", "body", "event"]
    list_select_related = ["guardian"]
    list_per_page = 25  # unfold's rows are ~7 KB each: 25 keep the page under ~300 KB
    list_before_template = "admin/messaging/outbox_header.html"
    actions = ["retry_messages", "mark_sent_messages", "send_again_messages", "cancel_messages"]
    fieldsets = [
        (gettext_lazy("Recipient"), {"fields": ["guardian", "student", "phone_display", "language"]}),
        (gettext_lazy("Message"), {"fields": ["template_key", "body", "is_mandatory", "broadcast"]}),
        (
            gettext_lazy("Delivery"),
            {
                "fields": [
                    "status",
                    "channel",
                    "delivered_at",
                    "read_at",
                    "failed_at",
                    "fallback_for",
                    "delivery_note",
                    "hold_reason",
                    "failure",
                    "attempts",
                    "checks",
                    "next_attempt_at",
                    "sent_at",
                    "cost",
                    "provider_id",
                    "last_error",
                    "provider_response",
                ]
            },
        ),
        (gettext_lazy("Identity"), {"classes": ["collapse"], "fields": ["event", "idempotency_key", "created_at"]}),
    ]

    def get_queryset(self, request):
        return messages_visible(super().get_queryset(request), request.user)

    def has_retry_permission(self, request):
        return request.user.has_perm("core.retry_message")

    def get_readonly_fields(self, request, obj=None):
        return [field for fieldset in self.fieldsets for field in fieldset[1]["fields"]]

    @display(description=gettext_lazy("what this means"))
    def delivery_note(self, message):
        if _unconfirmed(message):
            return UNKNOWN_EXPLANATION % {"id": message.pk}
        return "—"

    @display(description=gettext_lazy("phone"))
    def phone_display(self, message):
        return ltr(message.phone)

    @display(description=gettext_lazy("recipient"), ordering="phone")
    def recipient(self, message):
        name = message.guardian.full_name if message.guardian else ""
        return format_html("{} {}", name, ltr(message.phone)) if name else ltr(message.phone)

    @display(description=gettext_lazy("template"), ordering="template_key")
    def template_display(self, message):
        return template_title(message.template_key)

    @display(description=gettext_lazy("status"), ordering="status", label=STATUS_LABELS)
    def status_display(self, message):
        text = message.get_status_display()
        if message.status == Message.Status.HELD and message.hold_reason:
            text = f"{text} · {message.get_hold_reason_display()}"
        elif message.status == Message.Status.FAILED and message.failure:
            text = f"{text} · {message.get_failure_display()}"
        elif message.read_at or message.delivered_at:  # the provider's receipts (issue 19)
            text = f"{text} · {_('Read') if message.read_at else _('Delivered')}"
        return message.status, text

    def changelist_view(self, request, extra_context=None):
        counts = message_counts_by_status(self.get_queryset(request))
        changelist_url = reverse("admin:core_message_changelist")
        unknown = counts.get(Message.Status.UNKNOWN, 0)
        extra_context = {
            **(extra_context or {}),
            "status_counts": [
                {
                    "status": status,
                    "text": f"{Message.Status(status).label} · {count}",
                    "count": count,
                    "url": f"{changelist_url}?status__exact={status}",
                    "variant": STATUS_LABELS[status],
                }
                for status, count in counts.items()
            ],
            "can_broadcast": request.user.has_perm("core.broadcast_message"),
            "can_test_send": request.user.has_perm("core.send_test_message"),
            "unknown_warning": ngettext(
                "%(count)d message was sent but not confirmed: the parent may already have it, so it "
                "is not sent again by itself. Open it to see what to do.",
                "%(count)d messages were sent but not confirmed: the parents may already have them, so "
                "they are not sent again by themselves. Open one to see what to do.",
                unknown,
            )
            % {"count": unknown}
            if unknown
            else "",
            "unknown_url": f"{changelist_url}?status__exact={Message.Status.UNKNOWN}",
        }
        return super().changelist_view(request, extra_context)

    def _confirm(self, request, queryset, *, title: str, question: str, warning: str = "", **form):
        return TemplateResponse(
            request,
            "admin/messaging/confirm_action.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": title,
                "question": question,
                "warning": warning,
                "objects": list(queryset[:20]),
                "count": queryset.count(),
                "action": request.POST.get("action"),
                "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
                "select_across": request.POST.get("select_across", "0"),
                **form,
            },
        )

    @action(description=gettext_lazy("Retry the selected failed messages"), permissions=["retry"])
    def retry_messages(self, request, queryset):
        # Failed here means it certainly never left; unconfirmed ones have their own actions.
        failed = queryset.filter(status=Message.Status.FAILED).exclude(failure=Message.Failure.INTERRUPTED)
        if "confirm" not in request.POST:
            return self._confirm(
                request,
                failed,
                title=_("Retry messages"),
                question=_("Send these failed messages again? None of them reached the provider."),
            )
        done = messaging_service.messages_retry(actor=request.user, messages=failed)
        self.message_user(
            request,
            ngettext("%(count)d message queued again.", "%(count)d messages queued again.", done) % {"count": done},
            messages.SUCCESS,
        )
        return None

    @action(description=gettext_lazy("Mark the selected unconfirmed messages as sent"), permissions=["retry"])
    def mark_sent_messages(self, request, queryset):
        unconfirmed = queryset.filter(UNCONFIRMED)
        reason = (request.POST.get("reason") or "").strip()
        if "confirm" not in request.POST or not reason:
            return self._confirm(
                request,
                unconfirmed,
                title=_("Mark as sent"),
                question=_("You checked that these messages arrived (the provider's dashboard, or the parent)?"),
                reason_label=_("How do you know they arrived?"),
                error=_("Say how you know the message arrived.") if "confirm" in request.POST else "",
            )
        done = messaging_service.messages_mark_sent(actor=request.user, messages=unconfirmed, reason=reason)
        self.message_user(
            request,
            ngettext("%(count)d message marked as sent.", "%(count)d messages marked as sent.", done) % {"count": done},
            messages.SUCCESS,
        )
        return None

    @action(description=gettext_lazy("Send the selected unconfirmed messages again"), permissions=["retry"])
    def send_again_messages(self, request, queryset):
        unconfirmed = queryset.filter(UNCONFIRMED)
        may_double = request.POST.get("may_double") == "1"
        if "confirm" not in request.POST or not may_double:
            return self._confirm(
                request,
                unconfirmed,
                title=_("Send again"),
                question=_("Send these unconfirmed messages again?"),
                warning=_(
                    "The provider may already have delivered them: the parent may receive each message "
                    "twice. Check the provider's dashboard first if you can."
                ),
                double_label=_("I understand the parent may receive it twice."),
                error=_("Confirm that the parent may receive the message twice.") if "confirm" in request.POST else "",
            )
        done = messaging_service.messages_send_again(actor=request.user, messages=unconfirmed, may_double=True)
        self.message_user(
            request,
            ngettext("%(count)d message queued again.", "%(count)d messages queued again.", done) % {"count": done},
            messages.SUCCESS,
        )
        return None

    @action(description=gettext_lazy("Cancel the selected messages"), permissions=["retry"])
    def cancel_messages(self, request, queryset):
        cancellable = queryset.filter(status__in=[Message.Status.PENDING, Message.Status.HELD, Message.Status.FAILED])
        if "confirm" not in request.POST:
            return self._confirm(
                request,
                cancellable,
                title=_("Cancel messages"),
                question=_("Cancel these messages? They will not be sent."),
            )
        done = messaging_service.messages_cancel(actor=request.user, messages=cancellable)
        self.message_user(
            request,
            ngettext("%(count)d message cancelled.", "%(count)d messages cancelled.", done) % {"count": done},
            messages.SUCCESS,
        )
        return None

    # --- Views of their own: broadcast, monthly report, test send --------------------------

    def get_urls(self):
        own = [
            path("broadcast/", self.admin_site.admin_view(self.broadcast_view), name="core_message_broadcast"),
            path("report/", self.admin_site.admin_view(self.report_view), name="core_message_report"),
            path("test-send/", self.admin_site.admin_view(self.test_send_view), name="core_message_test_send"),
        ]
        return own + super().get_urls()

    def _page(self, request, template: str, title: str, **context):
        return TemplateResponse(
            request,
            template,
            {**self.admin_site.each_context(request), "opts": self.model._meta, "title": title, **context},
        )

    def broadcast_view(self, request):
        if not request.user.has_perm("core.broadcast_message"):
            raise PermissionDenied
        form = BroadcastForm(request.POST or None, user=request.user)
        preview = None
        if request.method == "POST" and form.is_valid():
            audience = form.audience()
            try:
                if "confirm" in request.POST:
                    broadcast = messaging_service.broadcast_send(
                        actor=request.user,
                        audience=audience,
                        template=form.cleaned_data["template"],
                        text=form.cleaned_data["text"],
                    )
                    self.message_user(
                        request,
                        broadcast_queued_text(broadcast),
                        messages.SUCCESS,
                    )
                    return HttpResponseRedirect(
                        reverse("admin:core_message_changelist") + f"?broadcast__id__exact={broadcast.pk}"
                    )
                preview = messaging_service.broadcast_preview(
                    audience=audience, template=form.cleaned_data["template"], text=form.cleaned_data["text"]
                )
            except ValidationError as error:
                for message in error.messages:
                    form.add_error(None, message)
        return self._page(
            request,
            "admin/messaging/broadcast.html",
            _("Send a broadcast"),
            form=form,
            preview=preview,
            placeholders=placeholders_allowed(TemplateKey.BROADCAST),
        )

    def report_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        rows = message_costs_by_month()
        statuses = [(status, Message.Status(status).label) for status in Message.Status.values]
        return self._page(
            request,
            "admin/messaging/report.html",
            _("Messages and their cost per month"),
            rows=[{**row, "status_counts": [row["statuses"][status] for status, _label in statuses]} for row in rows],
            statuses=statuses,
            total_cost=sum((row["cost"] for row in rows), start=Decimal("0.00")),
            total_messages=sum(row["total"] for row in rows),
        )

    def test_send_view(self, request):
        if not (request.user.has_perm("core.send_test_message") and is_owner(request.user)):
            raise PermissionDenied
        form = TestSendForm(request.POST or None)
        result = None
        if request.method == "POST" and form.is_valid():
            result = messaging_service.message_test_send(
                actor=request.user, phone=form.cleaned_data["phone"], text=form.cleaned_data["text"]
            )
            if result.status == Message.Status.SENT:
                self.message_user(request, _("The test message was sent."), messages.SUCCESS)
            else:
                self.message_user(
                    request, _("The test message failed: %(error)s") % {"error": result.last_error}, messages.ERROR
                )
        return self._page(request, "admin/messaging/test_send.html", _("Send a test message"), form=form, result=result)
