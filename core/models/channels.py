"""How messages reach guardians (issue 19): the channels, their circuit breakers, the Cloud API's
approved templates, and what parents write back.

The sending rules that use these live in ``core/services/channels.py`` (routing, breaker,
fallback) and ``core/services/receipts.py`` (delivery receipts, replies, STOP).
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    WHATSAPP = "whatsapp", _("WhatsApp")
    SMS = "sms", _("SMS")


class ChannelBreaker(models.Model):
    """One row per channel, shared by every worker: closed (sending), open (cooling down: nothing
    is sent, messages wait) or half-open (one probe message is out; its outcome decides)."""

    class State(models.TextChoices):
        CLOSED = "closed", _("Working")
        OPEN = "open", _("Paused after failures")
        HALF_OPEN = "half_open", _("Trying one message")

    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, unique=True)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.CLOSED)
    failures = models.PositiveIntegerField(_("consecutive failures"), default=0)
    opened_at = models.DateTimeField(_("paused at"), null=True, blank=True)
    retry_at = models.DateTimeField(_("next try"), null=True, blank=True)
    probe_started_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.CharField(_("last error"), max_length=255, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("channel state")
        verbose_name_plural = _("channel states")
        ordering = ["channel"]

    def __str__(self) -> str:
        return f"{self.get_channel_display()}: {self.get_state_display()}"


def cloud_parameter_names(text: str) -> list[str]:
    """``"student_name, group_name"`` → ``["student_name", "group_name"]`` (order kept)."""
    return [name.strip() for name in (text or "").split(",") if name.strip()]


class CloudTemplate(models.Model):
    """Which approved WhatsApp Cloud API template carries one of our templates in one language.

    Business-initiated messages on the Cloud API must be approved templates; the approved text
    has numbered slots {{1}}, {{2}}, … that are filled, in order, from ``parameters``.
    """

    template = models.ForeignKey(
        "core.MessageTemplate", verbose_name=_("our template"), on_delete=models.CASCADE, related_name="cloud_templates"
    )
    language = models.CharField(_("our language"), max_length=5, choices=settings.LANGUAGES, default="ar")
    name = models.CharField(
        _("approved template name"), max_length=512, help_text=_("Exactly as approved in WhatsApp Manager.")
    )
    cloud_language = models.CharField(
        _("approved template language"),
        max_length=15,
        default="ar",
        help_text=_("Its language code, e.g. ar or en_US."),
    )
    parameters = models.CharField(
        _("parameters in order"),
        max_length=500,
        blank=True,
        help_text=_(
            "Our placeholders that fill {{1}}, {{2}}, … in order, separated by commas, e.g. student_name, time."
        ),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("approved WhatsApp template")
        verbose_name_plural = _("approved WhatsApp templates")
        ordering = ["template_id", "language"]
        constraints = [
            models.UniqueConstraint(fields=["template", "language"], name="cloud_template_one_per_language"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.cloud_language})"

    @property
    def parameter_names(self) -> list[str]:
        return cloud_parameter_names(self.parameters)

    def clean(self) -> None:
        from core.models.messaging import placeholders_allowed, placeholders_used

        if self.template_id is None:
            return
        names = self.parameter_names
        allowed = placeholders_allowed(self.template.key)
        errors = []
        unknown = [name for name in names if name not in allowed]
        if unknown:
            errors.append(
                _("Not a placeholder of this template: %(names)s. Allowed: %(allowed)s.")
                % {"names": ", ".join(unknown), "allowed": ", ".join(allowed) or "—"}
            )
        # The parent must learn what our own text tells: every placeholder it uses goes along.
        try:
            used = placeholders_used(self.template.text_for(self.language))
        except ValidationError:
            used = []
        missing = sorted(set(used) - set(names))
        if missing:
            errors.append(
                _("Our text uses %(names)s; list them too, in the order of the approved template.")
                % {"names": ", ".join(missing)}
            )
        if errors:
            raise ValidationError({"parameters": errors})


class InboundMessage(models.Model):
    """A message a parent wrote to the center's number: a STOP request or a reply for the office."""

    class Kind(models.TextChoices):
        REPLY = "reply", _("Reply")
        STOP = "stop", _("Stop request")

    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, default=Channel.WHATSAPP)
    # The provider's id for it: a replayed webhook finds this row and changes nothing.
    provider_id = models.CharField(_("provider id"), max_length=200)
    phone = models.CharField(_("phone"), max_length=20)
    guardian = models.ForeignKey(
        "core.Guardian",
        verbose_name=_("guardian"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="inbound_messages",
    )
    text = models.TextField(_("text"), blank=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.REPLY)
    received_at = models.DateTimeField(_("received at"))
    handled_at = models.DateTimeField(_("handled at"), null=True, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("handled by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("reply from a parent")
        verbose_name_plural = _("replies from parents")
        ordering = ["-received_at", "-id"]
        permissions = [("handle_inboundmessage", _("Can mark parents' replies handled"))]
        constraints = [
            models.UniqueConstraint(fields=["channel", "provider_id"], name="inbound_message_once"),
        ]
        indexes = [
            # The 24-hour window: a phone's latest message.
            models.Index(fields=["phone", "received_at"], name="inbound_phone_recent"),
            models.Index(fields=["handled_at"], name="inbound_unhandled", condition=Q(handled_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"{self.phone}: {self.text[:40]}"
