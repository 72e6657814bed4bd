"""Rooms, groups, the weekly timetable, enrollments and dated sessions."""

import datetime
from decimal import Decimal

from django.db import models
from django.db.models import F, Q
from django.utils.formats import date_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.models.org import Branch
from core.models.people import Grade, PayScheme, Student, Teacher


class Weekday(models.IntegerChoices):
    """The center's week starts on Saturday."""

    SATURDAY = 0, _("Saturday")
    SUNDAY = 1, _("Sunday")
    MONDAY = 2, _("Monday")
    TUESDAY = 3, _("Tuesday")
    WEDNESDAY = 4, _("Wednesday")
    THURSDAY = 5, _("Thursday")
    FRIDAY = 6, _("Friday")

    @classmethod
    def of(cls, day) -> "Weekday":
        """The center weekday of a date (Python's Monday=0 becomes Monday=2)."""
        return cls((day.weekday() + 2) % 7)


class FeePeriod(models.TextChoices):
    MONTH = "month", _("Per month")
    SESSION = "session", _("Per session")


class FeePlan(models.TextChoices):
    NORMAL = "normal", _("Normal")
    REDUCED = "reduced", _("Reduced")
    EXEMPT = "exempt", _("Exempt")


class Room(models.Model):
    branch = models.ForeignKey(Branch, verbose_name=_("branch"), on_delete=models.PROTECT, related_name="rooms")
    name = models.CharField(_("name"), max_length=80)
    capacity = models.PositiveIntegerField(_("capacity"), default=30)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("room")
        verbose_name_plural = _("rooms")
        ordering = ["branch_id", "name"]
        constraints = [models.UniqueConstraint(fields=["branch", "name"], name="room_name_unique_in_branch")]

    def __str__(self) -> str:
        # Two branches may each have a "Room 1": where the branch is loaded with the room (the
        # room pickers load it), name it too; elsewhere the name alone, without a query.
        if Room.branch.is_cached(self):
            return f"{self.name} · {self.branch}"
        return self.name


class Group(models.Model):
    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=120)
    teacher = models.ForeignKey(Teacher, verbose_name=_("teacher"), on_delete=models.PROTECT, related_name="groups")
    subject = models.CharField(_("subject"), max_length=80, blank=True)
    grade = models.CharField(_("grade"), max_length=8, choices=Grade.choices, blank=True)
    branch = models.ForeignKey(Branch, verbose_name=_("branch"), on_delete=models.PROTECT, related_name="groups")
    default_room = models.ForeignKey(
        Room, verbose_name=_("default room"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    fee = models.DecimalField(_("fee (EGP)"), max_digits=12, decimal_places=2)
    fee_period = models.CharField(_("fee period"), max_length=8, choices=FeePeriod.choices, default=FeePeriod.MONTH)
    sessions_per_month = models.PositiveSmallIntegerField(_("sessions per month"), default=4)
    pay_scheme = models.CharField(
        _("teacher pay scheme"), max_length=16, choices=PayScheme.choices, default=PayScheme.PERCENT
    )
    pay_rate = models.DecimalField(
        _("teacher pay rate"),
        max_digits=12,
        decimal_places=2,
        default=70,
        help_text=_("Percent for 'percent of collected', otherwise an amount in EGP."),
    )
    capacity = models.PositiveIntegerField(_("capacity"), default=30)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("group")
        verbose_name_plural = _("groups")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(fee__gte=0), name="group_fee_not_negative"),
            models.CheckConstraint(condition=Q(pay_rate__gte=0), name="group_pay_rate_not_negative"),
            models.CheckConstraint(
                condition=~Q(pay_scheme=PayScheme.PERCENT) | Q(pay_rate__lte=100), name="group_percent_at_most_100"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"


class ScheduleSlot(models.Model):
    group = models.ForeignKey(Group, verbose_name=_("group"), on_delete=models.CASCADE, related_name="slots")
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    start_time = models.TimeField(_("start time"))
    duration_minutes = models.PositiveSmallIntegerField(_("duration (minutes)"), default=120)
    room = models.ForeignKey(Room, verbose_name=_("room"), on_delete=models.PROTECT, related_name="slots")
    is_active = models.BooleanField(_("active"), default=True)
    override_reason = models.CharField(_("conflict override reason"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("schedule slot")
        verbose_name_plural = _("schedule slots")
        ordering = ["weekday", "start_time"]
        permissions = [("override_conflict", _("Can override a timetable conflict"))]
        constraints = [
            models.CheckConstraint(condition=Q(weekday__lte=6), name="slot_weekday_valid"),
            models.CheckConstraint(
                condition=Q(duration_minutes__gt=0, duration_minutes__lte=720), name="slot_duration_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start_time:%H:%M}"


class Enrollment(models.Model):
    student = models.ForeignKey(
        Student, verbose_name=_("student"), on_delete=models.PROTECT, related_name="enrollments"
    )
    group = models.ForeignKey(Group, verbose_name=_("group"), on_delete=models.PROTECT, related_name="enrollments")
    fee_plan = models.CharField(_("fee plan"), max_length=8, choices=FeePlan.choices, default=FeePlan.NORMAL)
    custom_fee = models.DecimalField(_("custom fee (EGP)"), max_digits=12, decimal_places=2, null=True, blank=True)
    fee_reason = models.CharField(_("fee plan reason"), max_length=255, blank=True)
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    # R12: a transfer inside a month carries that month. The new enrollment remembers which month
    # and how much the earlier group already charged for it, so it charges only a higher fee's
    # difference for that month instead of a second month.
    transferred_from = models.OneToOneField(
        "self",
        verbose_name=_("transferred from"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="transferred_to",
        editable=False,
    )
    carried_month = models.DateField(
        _("carried month"), null=True, blank=True, editable=False, help_text=_("First day of the month carried.")
    )
    carried_amount = models.DecimalField(
        _("carried amount (EGP)"), max_digits=12, decimal_places=2, default=Decimal("0.00"), editable=False
    )
    # Credits − debits of this enrollment's ledger entries, kept by a database trigger on every
    # ledger write (core/services/ledger_balance.py): screens read it instead of summing the ledger.
    ledger_balance = models.DecimalField(
        _("balance (EGP)"), max_digits=12, decimal_places=2, default=Decimal("0.00"), editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("enrollment")
        verbose_name_plural = _("enrollments")
        ordering = ["-start_date", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["student", "group"], condition=Q(is_active=True), name="one_active_enrollment"
            ),
            models.CheckConstraint(
                condition=~Q(fee_plan=FeePlan.REDUCED) | Q(custom_fee__isnull=False, custom_fee__gte=0),
                name="reduced_plan_has_fee",
            ),
            models.CheckConstraint(
                condition=Q(fee_plan=FeePlan.NORMAL) | ~Q(fee_reason=""), name="special_plan_has_reason"
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=F("start_date")), name="enrollment_dates_ordered"
            ),
            models.CheckConstraint(
                condition=Q(carried_amount__gte=0) & (Q(carried_month__isnull=False) | Q(carried_amount=0)),
                name="enrollment_carry_consistent",
            ),
        ]
        indexes = [
            models.Index(fields=["group", "is_active"]),
            models.Index(fields=["start_date", "id"], name="enrollment_start_id"),  # the list's default order
        ]

    def __str__(self) -> str:
        return f"{self.student} → {self.group.code}"

    @property
    def price(self):
        """What one unit (session or month) costs this student: R4."""
        if self.fee_plan == FeePlan.EXEMPT:
            return Decimal("0.00")
        if self.fee_plan == FeePlan.REDUCED:
            return self.custom_fee
        return self.group.fee

    @property
    def carry_note(self) -> str:
        """The month a transfer carried here, in words for the enrollment and the receipt."""
        if self.carried_month is None:
            return ""
        source = self.transferred_from.group.code if self.transferred_from_id else "—"
        return gettext("%(month)s carried from %(group)s (%(amount)s already charged there)") % {
            "month": date_format(self.carried_month, "YEAR_MONTH_FORMAT"),
            "group": source,
            "amount": self.carried_amount,
        }

    def month_price(self, month: datetime.date) -> Decimal:
        """What this enrollment's month charge for ``month`` is (R4, R12): the price, less what an
        earlier group already charged for a month carried here by a transfer."""
        price = self.price or Decimal("0.00")
        if self.carried_month == month:
            return max(price - self.carried_amount, Decimal("0.00"))
        return price


class Session(models.Model):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        HELD = "held", _("Held")
        CANCELLED = "cancelled", _("Cancelled")

    group = models.ForeignKey(Group, verbose_name=_("group"), on_delete=models.CASCADE, related_name="sessions")
    slot = models.ForeignKey(
        ScheduleSlot, verbose_name=_("slot"), null=True, blank=True, on_delete=models.SET_NULL, related_name="sessions"
    )
    date = models.DateField(_("date"), help_text=_("Cairo local date."))
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    room = models.ForeignKey(Room, verbose_name=_("room"), on_delete=models.PROTECT, related_name="sessions")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    cancel_reason = models.CharField(_("cancellation reason"), max_length=255, blank=True)
    is_extra = models.BooleanField(_("extra or make-up"), default=False)
    teacher_checked_in_at = models.DateTimeField(_("teacher checked in at"), null=True, blank=True)
    absences_marked_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("session")
        verbose_name_plural = _("sessions")
        ordering = ["starts_at"]
        permissions = [("cancel_session", _("Can cancel a session"))]
        constraints = [
            # Generation is idempotent: one session per slot and date.
            models.UniqueConstraint(
                fields=["slot", "date"], condition=Q(slot__isnull=False), name="one_session_per_slot_and_date"
            ),
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="session_ends_after_start"),
            models.CheckConstraint(
                condition=~Q(status="cancelled") | ~Q(cancel_reason=""), name="cancelled_session_has_reason"
            ),
        ]
        indexes = [
            models.Index(fields=["date", "status"]),
            models.Index(fields=["group", "date"]),
            models.Index(fields=["starts_at"], name="session_starts_at"),  # the list's default order
        ]

    def __str__(self) -> str:
        return f"{self.group.code} · {self.date:%Y-%m-%d}"
