"""WhatsApp messages to guardians: the outbox, the editable templates and broadcasts (SPEC.md R10).

The sending state machine lives in ``core/services/messaging/sending.py``; this module holds the fields,
the constraints, and the two small pure helpers every template goes through: the placeholder
check (run when a template is saved) and the renderer (run when a message is queued).
"""

import datetime
import string
from decimal import Decimal

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.models.channels import Channel


class TemplateKey(models.TextChoices):
    """The messages the product sends on its own, plus the two kinds staff send by hand."""

    ARRIVED = "arrived", _("Arrived")
    ARRIVED_LATE = "arrived_late", _("Arrived late")
    LATE_REFUSED = "late_refused", _("Refused: came after the door closed")
    PAYMENT_BLOCK = "payment_block", _("Refused: fees due")
    LAST_SESSION_WARNING = "last_session_warning", _("Last session before payment is required")
    ABSENT = "absent", _("Absent")
    SESSION_CANCELLED = "session_cancelled", _("Session cancelled")
    PAYMENT_RECEIVED = "payment_received", _("Payment received")
    PAYMENT_REMINDER = "payment_reminder", _("Payment reminder")
    BROADCAST = "broadcast", _("Broadcast")
    TEST = "test", _("Test message")
    # The answer to a parent's STOP (issue 19): a fixed, translated text, not an editable template.
    OPT_OUT_CONFIRMED = "opt_out_confirmed", _("Opt-out confirmation")


# Mandatory messages ignore the guardian's opt-outs and quiet hours (R3, R6). Every other
# product message is optional. `absent` is optional: the center can switch absence notices
# off as a whole (CenterSettings.absence_notices) and a guardian can opt out of them.
MANDATORY_KEYS = frozenset({TemplateKey.LATE_REFUSED, TemplateKey.PAYMENT_BLOCK, TemplateKey.SESSION_CANCELLED})

# The templates a center always has (from the data migration); their keys cannot change.
SYSTEM_KEYS = (
    TemplateKey.ARRIVED,
    TemplateKey.ARRIVED_LATE,
    TemplateKey.LATE_REFUSED,
    TemplateKey.PAYMENT_BLOCK,
    TemplateKey.LAST_SESSION_WARNING,
    TemplateKey.ABSENT,
    TemplateKey.SESSION_CANCELLED,
    TemplateKey.PAYMENT_RECEIVED,
    TemplateKey.PAYMENT_REMINDER,
)
# Keys that name message kinds, not templates: a staff-made template may not take them.
RESERVED_KEYS = frozenset({*SYSTEM_KEYS, TemplateKey.BROADCAST, TemplateKey.TEST, TemplateKey.OPT_OUT_CONFIRMED})

# Filled in by message_queue for every message; callers never pass them.
AUTOMATIC_PLACEHOLDERS = ("center_name", "guardian_name")
# What each template may use. A caller of message_queue must supply every non-automatic name.
BROADCAST_PLACEHOLDERS = ("student_name", "group_name", *AUTOMATIC_PLACEHOLDERS)
# Words that agree with the student's gender in Arabic (ابنكم / ابنتكم, حضر / حضرت), filled in
# by message_queue from Student.gender in the guardian's language (GENDER_WORDS in the service).
GENDER_PLACEHOLDERS = ("child", "attended")
TEMPLATE_PLACEHOLDERS: dict[str, tuple[str, ...]] = {
    TemplateKey.ARRIVED: ("student_name", "group_name", "time", *GENDER_PLACEHOLDERS, *AUTOMATIC_PLACEHOLDERS),
    TemplateKey.ARRIVED_LATE: (
        "student_name",
        "group_name",
        "time",
        "minutes_late",
        *GENDER_PLACEHOLDERS,
        *AUTOMATIC_PLACEHOLDERS,
    ),
    TemplateKey.LATE_REFUSED: ("student_name", "group_name", "time", *GENDER_PLACEHOLDERS, *AUTOMATIC_PLACEHOLDERS),
    TemplateKey.PAYMENT_BLOCK: ("student_name", "group_name", "amount", *GENDER_PLACEHOLDERS, *AUTOMATIC_PLACEHOLDERS),
    TemplateKey.LAST_SESSION_WARNING: (
        "student_name",
        "group_name",
        "amount",
        *GENDER_PLACEHOLDERS,
        *AUTOMATIC_PLACEHOLDERS,
    ),
    TemplateKey.ABSENT: ("student_name", "group_name", "date", "time", *GENDER_PLACEHOLDERS, *AUTOMATIC_PLACEHOLDERS),
    TemplateKey.SESSION_CANCELLED: ("student_name", "group_name", "date", "time", "reason", *AUTOMATIC_PLACEHOLDERS),
    TemplateKey.PAYMENT_RECEIVED: ("student_name", "amount", "receipt_number", "balance", *AUTOMATIC_PLACEHOLDERS),
    TemplateKey.PAYMENT_REMINDER: ("student_name", "amount", "details", *AUTOMATIC_PLACEHOLDERS),
    TemplateKey.BROADCAST: BROADCAST_PLACEHOLDERS,
    TemplateKey.TEST: (),
    TemplateKey.OPT_OUT_CONFIRMED: (),
}

# Example values for the live preview in the admin (data, like the default texts).
PLACEHOLDER_SAMPLES = {
    "student_name": "أحمد محمود",
    "group_name": "رياضيات ٣ ث - السبت",
    "time": datetime.time(16, 30),
    "minutes_late": 7,
    "date": datetime.date(2026, 3, 14),
    "amount": Decimal("350.00"),
    "balance": "عليه 150.00 جنيه",  # balance_words(): the balance in words, with its currency
    "receipt_number": "2026-000123",
    "reason": "ظرف طارئ للمدرس",
    "details": "رياضيات: 200 جنيه\nفيزياء: 150 جنيه",
    "center_name": "سنتر النور",
    "guardian_name": "محمود أحمد",
    "child": "ابنكم",
    "attended": "حضر",
}


def placeholders_allowed(key: str) -> tuple[str, ...]:
    """The names a template with this key may use (staff-made templates are broadcasts)."""
    return TEMPLATE_PLACEHOLDERS.get(key, BROADCAST_PLACEHOLDERS)


def placeholders_used(text: str) -> list[str]:
    """The named placeholders in a template text; ValidationError for anything but ``{name}``.

    Only bare names are allowed: attribute or index access (``{name.attr}``, ``{name[0]}``),
    conversions and format specs would let a template reach into Python objects.
    """
    names = []
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise ValidationError(
            _("The braces do not match. Write {{ and }} for a literal brace."), code="braces"
        ) from exc
    for _literal, field, spec, conversion in parsed:
        if field is None:
            continue
        if not field.isidentifier() or spec or conversion:
            raise ValidationError(
                _("“{%(field)s}” is not a placeholder: use a plain name such as {student_name}."),
                code="placeholder_syntax",
                params={"field": field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")},
            )
        names.append(field)
    return names


def template_text_check(text: str, key: str) -> None:
    """Raise ValidationError naming every placeholder the template may not use."""
    allowed = placeholders_allowed(key)
    unknown = sorted({name for name in placeholders_used(text) if name not in allowed})
    if unknown:
        raise ValidationError(
            _("Unknown placeholder(s): %(unknown)s. Allowed: %(allowed)s."),
            code="unknown_placeholder",
            params={
                "unknown": ", ".join(f"{{{name}}}" for name in unknown),
                "allowed": ", ".join(f"{{{name}}}" for name in allowed) or "—",
            },
        )


def placeholder_value(value) -> str:
    """How a context value reads in a message: money without trailing zeros, Cairo times."""
    if isinstance(value, Decimal):
        return f"{value:.0f}" if value == value.to_integral_value() else f"{value:.2f}"
    if isinstance(value, datetime.datetime):
        return f"{timezone.localtime(value):%H:%M}" if timezone.is_aware(value) else f"{value:%H:%M}"
    if isinstance(value, datetime.date):
        return f"{value:%d/%m/%Y}"
    if isinstance(value, datetime.time):
        return f"{value:%H:%M}"
    return str(value)


def template_text_render(text: str, context: dict) -> str:
    """Fill the placeholders of a checked template text; every name used must be in context."""
    values = {name: placeholder_value(context[name]) for name in placeholders_used(text)}
    return text.format_map(values)


class MessageOptOutsField(models.JSONField):
    """A guardian's opt-outs: a JSON list of optional message kinds, edited as checkboxes."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("default", list)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs.pop("default", None)
        kwargs.pop("blank", None)
        return name, path, args, kwargs

    def formfield(self, **kwargs):
        from unfold.widgets import UnfoldAdminCheckboxSelectMultipleWidget

        return forms.TypedMultipleChoiceField(
            label=kwargs.get("label") or capfirst(self.verbose_name),
            help_text=self.help_text,
            required=False,
            choices=opt_out_choices(),
            widget=UnfoldAdminCheckboxSelectMultipleWidget,
        )


def opt_out_choices() -> list[tuple[str, str]]:
    """The message kinds a guardian may refuse: every optional product message and broadcasts."""
    optional = [key for key in SYSTEM_KEYS if key not in MANDATORY_KEYS]
    return [(key.value, key.label) for key in [*optional, TemplateKey.BROADCAST]]


class MessageTemplate(models.Model):
    key = models.SlugField(
        _("key"), max_length=50, unique=True, help_text=_("Letters, digits and underscores; fixed once created.")
    )
    name = models.CharField(_("name"), max_length=120, blank=True)
    text_ar = models.TextField(_("Arabic text"))
    text_en = models.TextField(_("English text"), blank=True, help_text=_("Empty: English guardians get the Arabic."))
    is_mandatory = models.BooleanField(
        _("mandatory"), default=False, help_text=_("Mandatory messages ignore opt-outs and quiet hours.")
    )
    is_active = models.BooleanField(_("active"), default=True, help_text=_("Inactive templates send nothing."))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.title

    @property
    def is_system(self) -> bool:
        return self.key in SYSTEM_KEYS

    @property
    def title(self) -> str:
        if self.is_system:
            return str(TemplateKey(self.key).label)
        return self.name or self.key

    @property
    def opt_out_kind(self) -> str:
        """The opt-out a guardian uses to refuse this template (staff-made ones are broadcasts)."""
        return self.key if self.is_system else TemplateKey.BROADCAST.value

    def text_for(self, language: str) -> str:
        return self.text_en if language == "en" and self.text_en.strip() else self.text_ar

    def clean(self) -> None:
        errors = {}
        if self.pk is None and self.key in RESERVED_KEYS:
            errors["key"] = _("“%(key)s” is reserved for the center's own messages.") % {"key": self.key}
        for field in ("text_ar", "text_en"):
            try:
                template_text_check(getattr(self, field), self.key or "")
            except ValidationError as exc:
                errors[field] = exc
        if errors:
            raise ValidationError(errors)


class Broadcast(models.Model):
    """One message sent by hand to the guardians of a chosen set of students."""

    created_at = models.DateTimeField(_("sent at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    audience = models.CharField(_("audience"), max_length=200)
    template = models.ForeignKey(
        MessageTemplate, verbose_name=_("template"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField(_("text"))
    recipients = models.PositiveIntegerField(_("recipients"), default=0)

    class Meta:
        verbose_name = _("broadcast")
        verbose_name_plural = _("broadcasts")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.audience} · {timezone.localtime(self.created_at):%Y-%m-%d %H:%M}"


class Message(models.Model):
    """One WhatsApp message to one phone: the outbox row and its delivery history."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        HELD = "held", pgettext_lazy("message status", "Held")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")
        # The provider got the request but no clear answer came back (a timeout, the worker died
        # mid-send): it may have reached the parent. Never resent automatically (R10).
        UNKNOWN = "unknown", _("Sent, unconfirmed")

    class HoldReason(models.TextChoices):
        DISABLED = "disabled", _("Messaging disabled")
        QUIET_HOURS = "quiet_hours", _("Quiet hours")
        RATE_LIMIT = "rate_limit", _("Hourly limit reached")

    class Failure(models.TextChoices):
        RETRIES_EXHAUSTED = "retries", _("Provider kept failing")
        REJECTED = "rejected", _("Rejected by the provider")
        NOT_ON_WHATSAPP = "no_whatsapp", _("Not on WhatsApp")
        # Older rows only: a send cut off by a dead worker is now "sent, unconfirmed".
        INTERRUPTED = "interrupted", _("Interrupted: may have been delivered")

    # Indexed by (guardian, claimed_at).
    guardian = models.ForeignKey(
        "core.Guardian",
        verbose_name=_("guardian"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="messages",
        db_index=False,
    )
    student = models.ForeignKey(
        "core.Student",
        verbose_name=_("student"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="messages",
    )
    broadcast = models.ForeignKey(
        Broadcast,
        verbose_name=_("broadcast"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="messages",
    )
    phone = models.CharField(_("phone"), max_length=20)
    template_key = models.CharField(_("template"), max_length=50, db_index=True)
    language = models.CharField(_("language"), max_length=5, choices=settings.LANGUAGES, default="ar")
    body = models.TextField(_("text"))
    is_mandatory = models.BooleanField(_("mandatory"), default=False)
    event = models.CharField(_("event"), max_length=200)
    # sha256 of event + guardian: the same event never makes a second message for a guardian.
    idempotency_key = models.CharField(_("idempotency key"), max_length=64, unique=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    hold_reason = models.CharField(_("held because"), max_length=12, choices=HoldReason.choices, blank=True)
    failure = models.CharField(_("failure"), max_length=12, choices=Failure.choices, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # Times the provider was asked whether an unconfirmed message reached it.
    checks = models.PositiveSmallIntegerField(_("provider checks"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    # Delivery bookkeeping (see the state machine in core/services/messaging/sending.py).
    claim_token = models.UUIDField(null=True, blank=True, editable=False)
    claimed_at = models.DateTimeField(null=True, blank=True, editable=False)
    attempt_started_at = models.DateTimeField(null=True, blank=True, editable=False)
    provider_id = models.CharField(_("provider id"), max_length=100, blank=True)
    provider_response = models.TextField(_("provider response"), blank=True)
    last_error = models.CharField(_("last error"), max_length=255, blank=True)
    cost = models.DecimalField(_("cost (EGP)"), max_digits=12, decimal_places=2, default=Decimal("0.00"))
    created_at = models.DateTimeField(_("queued at"), auto_now_add=True, db_index=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    # Issue 19: the channel chosen for this message and what the provider's receipts said.
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, default=Channel.WHATSAPP)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    failed_at = models.DateTimeField(_("failed at"), null=True, blank=True)
    # The placeholder values as they read in the text: an approved Cloud API template is sent
    # with these as its parameters.
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    # An SMS sent because this WhatsApp message could not be delivered: one at most (unique).
    fallback_for = models.OneToOneField(
        "self",
        verbose_name=_("fallback for"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="fallback",
    )

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["-created_at", "-id"]
        permissions = [
            ("retry_message", _("Can retry or cancel messages")),
            ("broadcast_message", _("Can send broadcasts to guardians")),
            ("send_test_message", _("Can send a test WhatsApp message")),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="message_due"),
            models.Index(fields=["guardian", "claimed_at"], name="message_guardian_recent"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(cost__gte=0), name="message_cost_not_negative_row"),
            models.CheckConstraint(
                condition=~Q(status="sending") | Q(claim_token__isnull=False), name="sending_message_is_claimed"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.template_key} → {self.phone}"


# How each status shows in the admin (unfold label variants).
STATUS_LABELS = {
    Message.Status.PENDING: "info",
    Message.Status.HELD: "warning",
    Message.Status.SENDING: "info",
    Message.Status.SENT: "success",
    Message.Status.FAILED: "danger",
    Message.Status.CANCELLED: "",
    Message.Status.UNKNOWN: "warning",
}

# What staff read about a message whose delivery is not known (the outbox and its detail page).
UNKNOWN_EXPLANATION = _(
    "The provider received this message but its answer never came back (it timed out, or the worker "
    "stopped mid-send). The parent may already have it, so it is not sent again by itself. The "
    "system asks the provider a few times; if it still cannot tell, check the provider's dashboard "
    "(reference msg-%(id)s) or ask the parent, then mark it sent, or send it again knowing it may "
    "arrive twice."
)


def template_title(key: str) -> str:
    """A message kind's human name: the label of a product key, else the key itself."""
    return str(TemplateKey(key).label) if key in TemplateKey.values else key
