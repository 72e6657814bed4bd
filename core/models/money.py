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
from django.db.models import F, Q
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

    # Indexed by (enrollment, date).
    enrollment = models.ForeignKey(
        Enrollment,
        verbose_name=_("enrollment"),
        on_delete=models.PROTECT,
        related_name="ledger_entries",
        db_index=False,
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
    # Payment lines, and the voids and refunds of them, point at their receipt.
    receipt = models.ForeignKey(
        "core.Receipt",
        verbose_name=_("receipt"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="entries",
    )
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
            # The sign comes from the type, so the type must be one whose sign is known.
            models.CheckConstraint(condition=Q(entry_type__in=[t.value for t in EntryType]), name="ledger_type_known"),
            # Undoing entries say what they undo.
            models.CheckConstraint(
                condition=~Q(entry_type__in=["void", "reversal"]) | Q(reverses__isnull=False),
                name="ledger_undo_names_original",
            ),
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
        indexes = [
            models.Index(fields=["enrollment", "date"]),
            models.Index(fields=["entry_type", "date"]),
            models.Index(fields=["date", "id"], name="ledger_date_id"),  # the list's default order
        ]

    def __str__(self) -> str:
        return f"{self.get_entry_type_display()} {self.amount}"

    @property
    def is_credit(self) -> bool:
        return self.entry_type in CREDIT_TYPES

    @property
    def signed_amount(self) -> Decimal:
        return self.amount if self.is_credit else -self.amount


# --- Receipts, cash closes, settlements (SPEC.md §2, R8, R9) ------------------------------------


class PaymentMethod(models.TextChoices):
    CASH = "cash", _("Cash")
    WALLET = "wallet", _("Mobile wallet (e.g. Vodafone Cash)")
    INSTAPAY = "instapay", _("InstaPay")
    CARD = "card", _("Card")
    BANK = "bank", _("Bank transfer")


class Receipt(models.Model):
    """One payment at the desk. Its lines are the ``payment`` ledger entries pointing at it.

    Never deleted: a void marks it and adds ``void`` entries; a refund adds ``refund`` entries.
    """

    branch = models.ForeignKey(
        "core.Branch", verbose_name=_("branch"), on_delete=models.PROTECT, related_name="receipts"
    )
    year = models.PositiveSmallIntegerField(_("year"))
    sequence = models.PositiveIntegerField(_("sequence"))
    number = models.CharField(_("receipt number"), max_length=20)
    student = models.ForeignKey(
        "core.Student", verbose_name=_("student"), on_delete=models.PROTECT, related_name="receipts"
    )
    date = models.DateField(_("date"), help_text=_("Cairo local date."))
    method = models.CharField(_("method"), max_length=10, choices=PaymentMethod.choices, default=PaymentMethod.CASH)
    reference = models.CharField(_("reference"), max_length=80, blank=True)
    total = models.DecimalField(_("total (EGP)"), max_digits=12, decimal_places=2)
    note = models.CharField(_("note"), max_length=255, blank=True)
    cashier = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("cashier"), on_delete=models.PROTECT, related_name="receipts"
    )
    created_at = models.DateTimeField(_("time"), auto_now_add=True)
    idempotency_key = models.CharField(max_length=64, null=True, blank=True, unique=True, editable=False)
    print_count = models.PositiveIntegerField(_("times printed"), default=0, editable=False)
    voided_at = models.DateTimeField(_("voided at"), null=True, blank=True, editable=False)
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("voided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    void_reason = models.CharField(_("void reason"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("receipt")
        verbose_name_plural = _("receipts")
        ordering = ["-created_at", "-id"]
        permissions = [
            ("void_receipt", _("Can void and refund receipts")),
            ("record_payment", _("Can record payments and print receipts")),
            ("view_money_reports", _("Can see the money reports")),
            ("grant_discount", _("Can grant discounts")),
            ("view_all_cash_closes", _("Can see every cashier's drawer closes")),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(total__gt=0), name="receipt_total_positive"),
            models.UniqueConstraint(
                fields=["branch", "year", "sequence"], name="receipt_number_unique_per_branch_year"
            ),
            models.CheckConstraint(
                condition=Q(voided_at__isnull=True) | ~Q(void_reason=""), name="voided_receipt_has_reason"
            ),
        ]
        indexes = [
            models.Index(fields=["date", "branch"]),
            models.Index(fields=["cashier", "created_at"]),
            models.Index(fields=["created_at", "id"], name="receipt_created_id"),  # the list's default order
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_void(self) -> bool:
        return self.voided_at is not None


class CashClose(models.Model):
    """A cashier closes his drawer: expected cash (his cash receipts minus cash refunds of them in
    the period), the counted cash, and the difference (counted − expected)."""

    cashier = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("cashier"), on_delete=models.PROTECT, related_name="cash_closes"
    )
    branch = models.ForeignKey(
        "core.Branch", verbose_name=_("branch"), on_delete=models.PROTECT, related_name="cash_closes"
    )
    period_start = models.DateTimeField(_("from"))
    period_end = models.DateTimeField(_("to"))
    receipts_count = models.PositiveIntegerField(_("receipts"), default=0)
    expected = models.DecimalField(_("expected cash (EGP)"), max_digits=12, decimal_places=2)
    counted = models.DecimalField(_("counted cash (EGP)"), max_digits=12, decimal_places=2)
    difference = models.DecimalField(_("difference (EGP)"), max_digits=12, decimal_places=2)
    note = models.CharField(_("note"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("closed at"), auto_now_add=True)

    class Meta:
        verbose_name = _("cash close")
        verbose_name_plural = _("cash closes")
        ordering = ["-period_end", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(counted__gte=0), name="cash_close_counted_not_negative"),
            models.CheckConstraint(condition=Q(period_end__gt=F("period_start")), name="cash_close_period_ordered"),
            models.CheckConstraint(
                condition=Q(difference=F("counted") - F("expected")), name="cash_close_difference_consistent"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.cashier} · {self.period_end:%Y-%m-%d %H:%M}"


class Settlement(models.Model):
    """What a teacher earns for a calendar month (R9): computed lines, manual items, a total."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        APPROVED = "approved", _("Approved")
        PAID = "paid", _("Paid")

    teacher = models.ForeignKey(
        "core.Teacher", verbose_name=_("teacher"), on_delete=models.PROTECT, related_name="settlements"
    )
    month = models.DateField(_("month"), help_text=_("First day of the month."))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    total = models.DecimalField(_("total (EGP)"), max_digits=12, decimal_places=2, default=Decimal("0.00"))
    computed_at = models.DateTimeField(_("computed at"), null=True, blank=True)
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    paid_on = models.DateField(_("paid on"), null=True, blank=True)
    payout_method = models.CharField(_("payout method"), max_length=10, choices=PaymentMethod.choices, blank=True)
    payout_reference = models.CharField(_("payout reference"), max_length=80, blank=True)

    class Meta:
        verbose_name = _("settlement")
        verbose_name_plural = _("settlements")
        ordering = ["-month", "teacher__full_name"]
        permissions = [
            ("run_settlement", _("Can run settlements")),
            ("approve_settlement", _("Can approve settlements")),
        ]
        constraints = [
            models.UniqueConstraint(fields=["teacher", "month"], name="one_settlement_per_teacher_and_month"),
            models.CheckConstraint(
                condition=~Q(status="paid") | Q(paid_on__isnull=False), name="paid_settlement_has_date"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.teacher} · {self.month:%Y-%m}"

    @property
    def is_locked(self) -> bool:
        return self.status != self.Status.DRAFT


class SettlementLine(models.Model):
    """A computed line of a settlement; recomputing a draft replaces them all."""

    class Kind(models.TextChoices):
        PERCENT = "percent", _("Percent of collected")
        PER_SESSION = "per_session", _("Per held session")
        PER_STUDENT = "per_student", _("Per attending student")
        ADJUSTMENT = "adjustment", _("Adjustment for an earlier month")
        ITEM_SHARE = "item_share", _("Share of notes and books sold")

    settlement = models.ForeignKey(
        Settlement, verbose_name=_("settlement"), on_delete=models.CASCADE, related_name="lines"
    )
    # Empty only on the item share line: his items' sales, whichever group bought them.
    group = models.ForeignKey(
        "core.Group",
        verbose_name=_("group"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="settlement_lines",
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    collected = models.DecimalField(_("collected (EGP)"), max_digits=12, decimal_places=2, default=Decimal("0.00"))
    quantity = models.PositiveIntegerField(_("quantity"), default=0)
    rate = models.DecimalField(_("rate"), max_digits=12, decimal_places=2)
    amount = models.DecimalField(_("teacher's share (EGP)"), max_digits=12, decimal_places=2)
    source_month = models.DateField(_("for month"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("settlement line")
        verbose_name_plural = _("settlement lines")
        ordering = ["kind", "group__code", "id"]

    def __str__(self) -> str:
        return f"{self.group.code if self.group_id else self.get_kind_display()} {self.amount}"


class SettlementItem(models.Model):
    """A manual deduction or advance (lowers the payout) or bonus (raises it), with a reason."""

    class Kind(models.TextChoices):
        DEDUCTION = "deduction", _("Deduction")
        ADVANCE = "advance", _("Advance already paid")
        BONUS = "bonus", _("Bonus")

    settlement = models.ForeignKey(
        Settlement, verbose_name=_("settlement"), on_delete=models.PROTECT, related_name="items"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    amount = models.DecimalField(_("amount (EGP)"), max_digits=12, decimal_places=2)
    reason = models.CharField(_("reason"), max_length=255)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("deduction or advance")
        verbose_name_plural = _("deductions and advances")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="settlement_item_amount_positive"),
            models.CheckConstraint(condition=~Q(reason=""), name="settlement_item_has_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount}"

    @property
    def signed_amount(self) -> Decimal:
        return self.amount if self.kind == self.Kind.BONUS else -self.amount


class SettlementRun(models.Model):
    """A background run of every teacher's settlement for a month, with its progress."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    month = models.DateField(_("month"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    teachers_total = models.PositiveIntegerField(_("teachers"), default=0)
    teachers_done = models.PositiveIntegerField(_("done"), default=0)
    skipped_locked = models.PositiveIntegerField(_("already approved"), default=0)
    error = models.CharField(_("error"), max_length=255, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("started at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("settlement run")
        verbose_name_plural = _("settlement runs")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} · {self.get_status_display()}"

    @property
    def percent_done(self) -> int:
        if not self.teachers_total:
            return 100 if self.status == self.Status.DONE else 0
        return int(self.teachers_done * 100 / self.teachers_total)
