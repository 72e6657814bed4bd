"""Discount rules the owner sets (issue 18), and each discount a rule gave on a charge.

A rule gives its discount when a charge is posted (core/services/discount_rules.py): a
``discount`` ledger entry (a credit, like a discount granted by hand at the desk) right after the
charge, and a ``DiscountApplication`` row saying which rule gave it on which charge. Discounts
lower what is owed; they are never collected money, so settlements (R9, percent of collected)
pay the teacher on what was actually paid.

Kinds:
- ``sibling``: the second and later children of the same guardian (by registration order) get
  the percent or the fixed amount off each charge; in one group (the siblings in that group
  count) or everywhere (siblings with any active enrollment count).
- ``scholarship``, ``orphan``, ``staff_child``: one student, a percent, a reason, an end date
  (the last day it applies), in one group or all his groups.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class DiscountKind(models.TextChoices):
    SIBLING = "sibling", _("Siblings")
    SCHOLARSHIP = "scholarship", _("Scholarship")
    ORPHAN = "orphan", _("Orphan")
    STAFF_CHILD = "staff_child", _("Staff child")


STUDENT_KINDS = (DiscountKind.SCHOLARSHIP, DiscountKind.ORPHAN, DiscountKind.STAFF_CHILD)


class DiscountRule(models.Model):
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=12, choices=DiscountKind.choices)
    percent = models.DecimalField(_("percent off"), max_digits=5, decimal_places=2, null=True, blank=True)
    fixed_amount = models.DecimalField(
        _("amount off (EGP)"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Off each charge; siblings only."),
    )
    group = models.ForeignKey(
        "core.Group",
        verbose_name=_("group"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="discount_rules",
        help_text=_("Empty: every group."),
    )
    student = models.ForeignKey(
        "core.Student",
        verbose_name=_("student"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="discount_rules",
    )
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"), null=True, blank=True, help_text=_("The last day it applies."))
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("discount rule")
        verbose_name_plural = _("discount rules")
        ordering = ["kind", "name", "id"]
        constraints = [
            # Exactly one of a percent or a fixed amount, and it is a real discount.
            models.CheckConstraint(
                condition=(Q(percent__isnull=False) & Q(fixed_amount__isnull=True))
                | (Q(percent__isnull=True) & Q(fixed_amount__isnull=False)),
                name="discount_rule_percent_or_amount",
            ),
            models.CheckConstraint(
                condition=Q(percent__isnull=True) | Q(percent__gt=0, percent__lte=100), name="discount_percent_valid"
            ),
            models.CheckConstraint(
                condition=Q(fixed_amount__isnull=True) | Q(fixed_amount__gt=0, kind="sibling"),
                name="discount_amount_siblings_only",
            ),
            models.CheckConstraint(
                condition=Q(kind="sibling", student__isnull=True)
                | (~Q(kind="sibling") & Q(student__isnull=False, ends_on__isnull=False) & ~Q(reason="")),
                name="discount_student_kind_complete",
            ),
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")),
                name="discount_rule_dates_ordered",
            ),
        ]
        indexes = [models.Index(fields=["is_active", "kind"]), models.Index(fields=["student", "is_active"])]

    def __str__(self) -> str:
        return self.name


class DiscountApplication(models.Model):
    """One rule's discount on one charge: the ``discount`` ledger entry it posted."""

    rule = models.ForeignKey(
        DiscountRule, verbose_name=_("rule"), on_delete=models.PROTECT, related_name="applications"
    )
    charge = models.ForeignKey(
        "core.LedgerEntry", verbose_name=_("charge"), on_delete=models.PROTECT, related_name="discount_applications"
    )
    entry = models.OneToOneField(
        "core.LedgerEntry", verbose_name=_("discount entry"), on_delete=models.PROTECT, related_name="+"
    )
    amount = models.DecimalField(_("discount (EGP)"), max_digits=12, decimal_places=2)
    # The charge was reversed (a cancelled session) and this discount taken back with it.
    undone_at = models.DateTimeField(_("undone at"), null=True, blank=True)

    class Meta:
        verbose_name = _("discount applied")
        verbose_name_plural = _("discounts applied")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="discount_application_positive"),
            models.UniqueConstraint(fields=["rule", "charge"], name="one_discount_per_rule_and_charge"),
        ]

    def __str__(self) -> str:
        return f"{self.rule} −{self.amount}"
