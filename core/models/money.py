"""The ledger: what each enrollment owes and paid (SPEC.md §2 Ledger, R4).

Append-only. Amounts are always positive; the entry type says which way they count:
credits (payment, discount, reversal) raise the balance, debits (charge, refund, void,
adjustment) lower it. Balance = credits − debits; negative means the student owes.

Undoing an entry never deletes or edits its amount: a new entry of the opposite sign is added
(``reversal`` undoes a charge, ``void`` undoes a payment) pointing at the original through
``reverses``, and the original gets ``reversed_at``. That one flag is what lets the unique
constraints below ignore undone charges, so a month whose charge was reversed (R6) can be
charged again, while a live charge can never be duplicated.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.models.schedule import Enrollment, Session


class EntryType(models.TextChoices):
    CHARGE = "charge", _("Charge")
    PAYMENT = "payment", _("Payment")
    DISCOUNT = "discount", _("Discount")
    REFUND = "refund", _("Refund")
    VOID = "void", _("Void of a payment")
    ADJUSTMENT = "adjustment", _("Adjustment (due)")
    REVERSAL = "reversal", _("Reversal of a charge")


CREDIT_TYPES = frozenset({EntryType.PAYMENT, EntryType.DISCOUNT, EntryType.REVERSAL})
DEBIT_TYPES = frozenset({EntryType.CHARGE, EntryType.REFUND, EntryType.VOID, EntryType.ADJUSTMENT})


class LedgerEntry(models.Model):
    class Source(models.TextChoices):
        DOOR = "door", _("Door")
        DESK = "desk", _("Front desk")
        SYSTEM = "system", _("System")
        MANUAL = "manual", _("Manual")

    enrollment = models.ForeignKey(
        Enrollment, verbose_name=_("enrollment"), on_delete=models.PROTECT, related_name="ledger_entries"
    )
    entry_type = models.CharField(_("type"), max_length=12, choices=EntryType.choices)
    amount = models.DecimalField(_("amount (EGP)"), max_digits=12, decimal_places=2)
    date = models.DateField(_("date"), help_text=_("Cairo local date."))
    period_month = models.DateField(
        _("month"), null=True, blank=True, help_text=_("First day of the month a monthly charge is for.")
    )
    session = models.ForeignKey(
        Session,
        verbose_name=_("session"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ledger_entries",
    )
    reverses = models.OneToOneField(
        "self",
        verbose_name=_("reverses"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reversed_by",
    )
    reversed_at = models.DateTimeField(_("reversed at"), null=True, blank=True, editable=False)
    source = models.CharField(_("source"), max_length=8, choices=Source.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    note = models.CharField(_("note"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        ordering = ["date", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="ledger_amount_positive"),
            models.UniqueConstraint(
                fields=["enrollment", "period_month"],
                condition=Q(entry_type="charge", period_month__isnull=False, reversed_at__isnull=True),
                name="one_monthly_charge_per_enrollment",
            ),
            models.UniqueConstraint(
                fields=["enrollment", "session"],
                condition=Q(
                    entry_type="charge", period_month__isnull=True, session__isnull=False, reversed_at__isnull=True
                ),
                name="one_session_charge_per_enrollment",
            ),
        ]
        indexes = [models.Index(fields=["enrollment", "date"])]

    def __str__(self) -> str:
        return f"{self.get_entry_type_display()} {self.amount}"

    @property
    def is_credit(self) -> bool:
        return self.entry_type in CREDIT_TYPES

    @property
    def signed_amount(self) -> Decimal:
        return self.amount if self.is_credit else -self.amount
