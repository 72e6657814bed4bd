"""Students, guardians and teachers."""

from django.conf import settings
from django.core.validators import FileExtensionValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.models.channels import Channel
from core.models.messaging import MessageOptOutsField
from core.models.org import Branch


class Grade(models.TextChoices):
    PRIMARY_4 = "p4", _("Primary 4")
    PRIMARY_5 = "p5", _("Primary 5")
    PRIMARY_6 = "p6", _("Primary 6")
    PREP_1 = "m1", _("Preparatory 1")
    PREP_2 = "m2", _("Preparatory 2")
    PREP_3 = "m3", _("Preparatory 3")
    SECONDARY_1 = "s1", _("Secondary 1")
    SECONDARY_2 = "s2", _("Secondary 2")
    SECONDARY_3 = "s3", _("Secondary 3")
    OTHER = "other", _("Other")


class Gender(models.TextChoices):
    # Arabic messages agree with it (وصل / وصلت). Male is the default: Arabic's generic
    # masculine is what every existing message text and student already reads.
    MALE = "male", _("Male")
    FEMALE = "female", _("Female")


class PayScheme(models.TextChoices):
    PERCENT = "percent", _("Percent of collected")
    PER_SESSION = "per_session", _("Fixed amount per held session")
    PER_STUDENT = "per_student", _("Amount per attending student per session")


class Counter(models.Model):
    """A named gap-free counter (student codes, receipt numbers), advanced under a row lock."""

    key = models.CharField(max_length=64, unique=True)
    value = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("counter")
        verbose_name_plural = _("counters")

    def __str__(self) -> str:
        return f"{self.key}={self.value}"


class Teacher(models.Model):
    full_name = models.CharField(_("full name"), max_length=120)
    search_key = models.CharField(max_length=120, db_index=True, editable=False)
    phone = models.CharField(
        _("phone"), max_length=16, blank=True, help_text=_("Stored in international form, e.g. +201001234567.")
    )
    subject = models.CharField(_("subject"), max_length=80, blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("login account"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="teacher",
    )
    default_pay_scheme = models.CharField(
        _("default pay scheme"), max_length=16, choices=PayScheme.choices, default=PayScheme.PERCENT
    )
    default_pay_rate = models.DecimalField(_("default pay rate"), max_digits=12, decimal_places=2, default=70)
    # Bumped to revoke every printed card of this teacher (the version is inside the signed token).
    card_version = models.PositiveIntegerField(default=1, editable=False)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("teacher")
        verbose_name_plural = _("teachers")
        ordering = ["full_name"]
        permissions = [("print_teacher_cards", _("Can print teacher cards"))]
        constraints = [
            models.CheckConstraint(condition=Q(default_pay_rate__gte=0), name="teacher_pay_rate_not_negative")
        ]

    def __str__(self) -> str:
        return self.full_name


class Student(models.Model):
    code = models.CharField(_("code"), max_length=20, unique=True)
    full_name = models.CharField(_("full name"), max_length=150)
    search_key = models.CharField(max_length=150, db_index=True, editable=False)
    phone = models.CharField(_("student phone"), max_length=16, blank=True)
    gender = models.CharField(_("gender"), max_length=8, choices=Gender.choices, default=Gender.MALE)
    branch = models.ForeignKey(Branch, verbose_name=_("branch"), on_delete=models.PROTECT, related_name="students")
    grade = models.CharField(_("grade"), max_length=8, choices=Grade.choices, blank=True)
    school = models.CharField(_("school"), max_length=150, blank=True)
    photo = models.FileField(
        _("photo"),
        upload_to="students/",
        blank=True,
        validators=[FileExtensionValidator(["jpg", "jpeg", "png", "webp"])],
        help_text=_("Shown at the door. JPEG, PNG or WebP."),
    )
    notes = models.TextField(_("notes"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    guardians = models.ManyToManyField(
        "Guardian", through="StudentGuardian", related_name="students", verbose_name=_("guardians")
    )
    created_at = models.DateTimeField(_("registered at"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("student")
        verbose_name_plural = _("students")
        ordering = ["-id"]
        permissions = [("print_cards", _("Can print student cards"))]
        indexes = [models.Index(fields=["branch", "is_active"])]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.code})"


class Guardian(models.Model):
    class Relation(models.TextChoices):
        FATHER = "father", _("Father")
        MOTHER = "mother", _("Mother")
        BROTHER = "brother", _("Brother")
        SISTER = "sister", _("Sister")
        GRANDPARENT = "grandparent", _("Grandparent")
        UNCLE = "uncle", _("Uncle")
        AUNT = "aunt", _("Aunt")
        OTHER = "other", _("Other")

    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    relation = models.CharField(_("relation"), max_length=16, choices=Relation.choices, default=Relation.FATHER)
    # One guardian per phone: siblings' records point at the same guardian.
    phone = models.CharField(_("phone"), max_length=16, unique=True, help_text=_("WhatsApp number, e.g. 01001234567."))
    language = models.CharField(_("message language"), max_length=5, choices=settings.LANGUAGES, default="ar")
    created_at = models.DateTimeField(auto_now_add=True)
    message_opt_outs = MessageOptOutsField(
        _("WhatsApp opt-outs"), help_text=_("Optional messages this guardian does not want. Mandatory ones still go.")
    )
    message_channel = models.CharField(
        _("messages by"),
        max_length=10,
        choices=Channel.choices,
        default=Channel.WHATSAPP,
        help_text=_("SMS: messages go as text messages (when an SMS gateway is configured)."),
    )

    class Meta:
        verbose_name = _("guardian")
        verbose_name_plural = _("guardians")
        ordering = ["full_name"]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.phone})" if self.full_name else self.phone


class StudentGuardian(models.Model):
    student = models.ForeignKey(
        Student, on_delete=models.CASCADE, related_name="guardian_links", verbose_name=_("student")
    )
    guardian = models.ForeignKey(
        Guardian, on_delete=models.PROTECT, related_name="student_links", verbose_name=_("guardian")
    )
    is_primary = models.BooleanField(_("primary"), default=False)

    class Meta:
        verbose_name = _("guardian of student")
        verbose_name_plural = _("guardians of student")
        constraints = [
            models.UniqueConstraint(fields=["student", "guardian"], name="guardian_linked_once"),
            models.UniqueConstraint(fields=["student"], condition=Q(is_primary=True), name="one_primary_guardian"),
        ]

    def __str__(self) -> str:
        return f"{self.guardian} → {self.student}"
