"""The door: attendance, every scan attempt, and the kiosk devices that submit scans."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models.org import Branch
from core.models.people import Student, Teacher
from core.models.schedule import Enrollment, Room, Session


class Attendance(models.Model):
    class Status(models.TextChoices):
        PRESENT = "present", _("Present")
        LATE = "late", _("Late")
        ABSENT = "absent", _("Absent")
        EXCUSED = "excused", _("Excused")

    class Source(models.TextChoices):
        KIOSK = "kiosk", _("Kiosk")
        DESK = "desk", _("Door desk")  # the supervisor's scanning page in the admin
        MANUAL = "manual", _("Manual")
        OFFLINE = "offline", _("Offline")

    # Indexed by the unique (session, student) key.
    session = models.ForeignKey(
        Session,
        verbose_name=_("session"),
        on_delete=models.PROTECT,
        related_name="attendances",
        db_index=False,
    )
    # Indexed by (student, status).
    student = models.ForeignKey(
        Student,
        verbose_name=_("student"),
        on_delete=models.PROTECT,
        related_name="attendances",
        db_index=False,
    )
    enrollment = models.ForeignKey(
        Enrollment, verbose_name=_("enrollment"), on_delete=models.PROTECT, related_name="attendances"
    )
    status = models.CharField(_("status"), max_length=8, choices=Status.choices)
    at = models.DateTimeField(_("time"))
    minutes_late = models.PositiveSmallIntegerField(_("minutes late"), default=0)
    source = models.CharField(_("source"), max_length=8, choices=Source.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("attendance")
        verbose_name_plural = _("attendance")
        ordering = ["session_id", "at"]
        constraints = [
            models.UniqueConstraint(fields=["session", "student"], name="one_attendance_per_session_and_student"),
        ]
        indexes = [
            models.Index(fields=["student", "status"]),
            models.Index(fields=["session", "at"], name="attendance_session_at"),  # the list's default order
        ]

    def __str__(self) -> str:
        return f"{self.student} · {self.session} · {self.get_status_display()}"

    @property
    def is_admitted(self) -> bool:
        return self.status in (self.Status.PRESENT, self.Status.LATE)


class Kiosk(models.Model):
    """A tablet at the door. It authenticates with a device token, stored only as a hash."""

    name = models.CharField(_("name"), max_length=80)
    branch = models.ForeignKey(Branch, verbose_name=_("branch"), on_delete=models.PROTECT, related_name="kiosks")
    room = models.ForeignKey(
        Room,
        verbose_name=_("room"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="kiosks",
        help_text=_("Leave empty to admit students to any room of the branch."),
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    token_prefix = models.CharField(_("token starts with"), max_length=12, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)
    last_seen_at = models.DateTimeField(_("last seen"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("kiosk")
        verbose_name_plural = _("kiosks")
        ordering = ["branch_id", "name"]
        constraints = [models.UniqueConstraint(fields=["branch", "name"], name="kiosk_name_unique_in_branch")]

    def __str__(self) -> str:
        return self.name


class ScanOutcomeCode(models.TextChoices):
    """R3, in the order the rules are checked, plus the teacher's check-in (R6)."""

    UNKNOWN = "unknown", _("Unknown card")
    NO_SESSION = "no_session", _("No class now")
    CANCELLED = "cancelled", _("Class cancelled")
    ALREADY_IN = "already_in", _("Already in")
    TOO_EARLY = "too_early", _("Too early")
    DOOR_CLOSED = "door_closed", _("Door closed")
    PAY_FIRST = "pay_first", _("Pay first")
    PRESENT = "present", _("Present")
    LATE = "late", _("Late")
    TEACHER_IN = "teacher_in", _("Teacher checked in")
    RATE_LIMITED = "rate_limited", _("Too many scans")


class ScanEvent(models.Model):
    """Every scan attempt, admitted or refused: the door's audit trail (append-only)."""

    at = models.DateTimeField(_("time"), db_index=True)
    raw_code = models.CharField(_("scanned text"), max_length=255)
    code = models.CharField(_("code"), max_length=255)
    outcome = models.CharField(_("outcome"), max_length=16, choices=ScanOutcomeCode.choices)
    message = models.CharField(_("message"), max_length=255)
    student = models.ForeignKey(
        Student, verbose_name=_("student"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    teacher = models.ForeignKey(
        Teacher, verbose_name=_("teacher"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Indexed by (session, outcome).
    session = models.ForeignKey(
        Session,
        verbose_name=_("session"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="scans",
        db_index=False,
    )
    # Indexed by (kiosk, received_at).
    kiosk = models.ForeignKey(
        Kiosk,
        verbose_name=_("kiosk"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="scans",
        db_index=False,
    )
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("operator"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    client_scan_id = models.CharField(_("client scan id"), max_length=64, blank=True)
    # When the server got it (``at`` is the scan's own time, hours earlier for an offline
    # replay): the kiosk endpoint's per-kiosk rate limit counts these.
    received_at = models.DateTimeField(_("received at"), default=timezone.now, editable=False)
    # The answer given, so a repeated client_scan_id gets exactly the first answer back.
    response = models.JSONField(default=dict, editable=False)

    class Meta:
        verbose_name = _("scan event")
        verbose_name_plural = _("scan events")
        ordering = ["-at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kiosk", "client_scan_id"],
                condition=~Q(client_scan_id="") & Q(kiosk__isnull=False),
                name="scan_id_once_per_kiosk",
            ),
            models.UniqueConstraint(
                fields=["operator", "client_scan_id"],
                condition=~Q(client_scan_id="") & Q(kiosk__isnull=True),
                name="scan_id_once_per_operator",
            ),
        ]
        indexes = [
            models.Index(fields=["session", "outcome"]),
            models.Index(fields=["kiosk", "received_at"], name="scan_kiosk_received"),
            models.Index(fields=["at", "id"], name="scan_at_id"),  # the log's default order
        ]

    def __str__(self) -> str:
        from core.cards import teacher_card_masked

        return f"{teacher_card_masked(self.code)} · {self.get_outcome_display()}"


class DoorFollowUp(models.Model):
    """A refusal the door could not enforce: the kiosk was offline and let the student in.

    The replayed scan applies the rules at its own time; when they say "refuse" the student was
    already inside, so the office follows up (collects the money, talks to the parents).
    """

    class Reason(models.TextChoices):
        OWES = "owes", _("Owes, was admitted offline")
        LATE = "late", _("Came after the door closed, was admitted offline")

    scan = models.OneToOneField(ScanEvent, verbose_name=_("scan"), on_delete=models.PROTECT, related_name="follow_up")
    student = models.ForeignKey(
        Student, verbose_name=_("student"), on_delete=models.PROTECT, related_name="door_follow_ups"
    )
    session = models.ForeignKey(
        Session, verbose_name=_("session"), on_delete=models.PROTECT, related_name="door_follow_ups"
    )
    reason = models.CharField(_("reason"), max_length=8, choices=Reason.choices)
    amount_owed = models.DecimalField(_("amount owed"), max_digits=12, decimal_places=2, default=0)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("resolved by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("door follow-up")
        verbose_name_plural = _("door follow-ups")
        ordering = ["resolved_at", "-created_at"]
        constraints = [models.CheckConstraint(condition=Q(amount_owed__gte=0), name="follow_up_owed_not_negative")]

    def __str__(self) -> str:
        return f"{self.student} · {self.get_reason_display()}"
