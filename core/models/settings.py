"""The center's settings: one row, edited by the owner only (SPEC.md §2)."""

import datetime
from decimal import Decimal

from django.core.validators import FileExtensionValidator, MaxValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class CenterSettings(models.Model):
    # The one row's primary key (the check constraint below keeps it the only one). Readers that
    # join the settings in SQL take it from here.
    SINGLETON_PK = 1

    center_name_ar = models.CharField(_("center name (Arabic)"), max_length=150, default="سنتر")
    center_name_en = models.CharField(_("center name (English)"), max_length=150, blank=True, default="Center")
    logo = models.FileField(
        _("logo"),
        upload_to="branding/",
        blank=True,
        validators=[FileExtensionValidator(["png", "jpg", "jpeg", "svg", "webp"])],
    )
    currency = models.CharField(_("currency"), max_length=3, default="EGP", editable=False)
    time_zone = models.CharField(_("time zone"), max_length=40, default="Africa/Cairo", editable=False)
    early_window_minutes = models.PositiveSmallIntegerField(
        _("door opens (minutes before start)"), default=30, validators=[MaxValueValidator(240)]
    )
    late_grace_minutes = models.PositiveSmallIntegerField(
        _("late grace (minutes after start)"), default=10, validators=[MaxValueValidator(120)]
    )
    unpaid_session_grace = models.PositiveSmallIntegerField(
        _("unpaid sessions allowed"), default=2, validators=[MaxValueValidator(20)]
    )
    new_student_grace = models.PositiveSmallIntegerField(
        _("unpaid sessions allowed for a new student"), default=0, validators=[MaxValueValidator(20)]
    )
    auto_cancel_minutes = models.PositiveSmallIntegerField(
        _("auto-cancel when the teacher is absent (minutes after start, 0 = off)"),
        default=15,
        validators=[MaxValueValidator(180)],
    )
    absence_notices = models.BooleanField(_("send absence notices"), default=True)
    messaging_enabled = models.BooleanField(
        _("messaging enabled"), default=False, help_text=_("Off until a WhatsApp provider is configured.")
    )
    quiet_hours_start = models.TimeField(_("quiet hours start"), default=datetime.time(22, 0))
    quiet_hours_end = models.TimeField(_("quiet hours end"), default=datetime.time(8, 0))
    messages_per_guardian_per_hour = models.PositiveSmallIntegerField(_("messages per guardian per hour"), default=10)
    cost_per_message = models.DecimalField(
        _("cost per message (EGP)"), max_digits=12, decimal_places=2, default=Decimal("0.05")
    )
    sms_fallback_optional = models.BooleanField(
        _("optional messages fall back to SMS"),
        default=False,
        help_text=_("When WhatsApp cannot deliver. Mandatory messages always fall back (with an SMS gateway)."),
    )
    sms_cost_per_segment = models.DecimalField(
        _("cost per SMS part (EGP)"), max_digits=12, decimal_places=2, default=Decimal("0.25")
    )
    receipt_footer = models.TextField(_("receipt footer"), blank=True)
    expense_desk_limit = models.DecimalField(
        _("largest expense the front desk may record (EGP)"),
        max_digits=12,
        decimal_places=2,
        default=Decimal("500.00"),
        help_text=_("0: the front desk records no expenses. The accountant and the owner have no limit."),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("center settings")
        verbose_name_plural = _("center settings")
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="center_settings_single_row"),
            models.CheckConstraint(condition=Q(cost_per_message__gte=0), name="message_cost_not_negative"),
            models.CheckConstraint(condition=Q(sms_cost_per_segment__gte=0), name="sms_cost_not_negative"),
            models.CheckConstraint(condition=Q(expense_desk_limit__gte=0), name="expense_desk_limit_not_negative"),
        ]

    def __str__(self) -> str:
        return str(_("Center settings"))

    @classmethod
    def load(cls) -> "CenterSettings":
        settings_row, _created = cls.objects.get_or_create(pk=cls.SINGLETON_PK)
        return settings_row
