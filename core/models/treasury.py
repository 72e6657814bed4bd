"""The treasury (الخزينة): expenses, money moved between the drawer and the bank, and the closed days
of the cash book (issue 18).

Nothing here is deleted or edited once written: an expense is voided with a reason (the
correction lands on the day the void is made), and a closed day keeps the figures it was closed
with. Everything else in the cash book (receipts, teacher payouts, drawer closes) is read from its
own table, never copied here until the day is closed.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import FileExtensionValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from core.models.money import PaymentMethod

ZERO = Decimal("0.00")


class ExpenseCategory(models.Model):
    """Rent, salaries, utilities, … (seeded by a migration; the owner may add or rename them)."""

    name_ar = models.CharField(_("name (Arabic)"), max_length=80, unique=True)
    name_en = models.CharField(_("name (English)"), max_length=80, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("expense category")
        verbose_name_plural = _("expense categories")
        ordering = ["id"]

    def __str__(self) -> str:
        if get_language() == "en" and self.name_en:
            return self.name_en
        return self.name_ar


def bill_upload_to(instance: "Expense", filename: str) -> str:
    return f"expenses/{instance.branch_id}/{instance.year}/{filename}"


class Expense(models.Model):
    """Money the center paid out, with a gap-free voucher number per branch and year."""

    branch = models.ForeignKey(
        "core.Branch", verbose_name=_("branch"), on_delete=models.PROTECT, related_name="expenses"
    )
    year = models.PositiveSmallIntegerField(_("year"))
    sequence = models.PositiveIntegerField(_("sequence"))
    number = models.CharField(_("voucher number"), max_length=20)
    category = models.ForeignKey(
        ExpenseCategory, verbose_name=_("category"), on_delete=models.PROTECT, related_name="expenses"
    )
    amount = models.DecimalField(_("amount (EGP)"), max_digits=12, decimal_places=2)
    date = models.DateField(_("date"), help_text=_("Cairo local date."))
    method = models.CharField(_("method"), max_length=10, choices=PaymentMethod.choices, default=PaymentMethod.CASH)
    payee = models.CharField(_("paid to"), max_length=120, blank=True)
    note = models.CharField(_("note"), max_length=255, blank=True)
    bill = models.FileField(
        _("photo of the bill"),
        upload_to=bill_upload_to,
        blank=True,
        max_length=200,
        validators=[FileExtensionValidator(["jpg", "jpeg", "png", "webp", "pdf"])],
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
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
    # The cash-book day the void is counted on (the day it was made): a closed day never changes.
    void_date = models.DateField(_("voided on"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("expense")
        verbose_name_plural = _("expenses")
        ordering = ["-date", "-id"]
        permissions = [
            ("void_expense", _("Can void expenses")),
            ("record_any_expense", _("Can record expenses above the front desk's limit")),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="expense_amount_positive"),
            models.UniqueConstraint(fields=["branch", "year", "sequence"], name="expense_voucher_unique"),
            models.CheckConstraint(
                condition=Q(voided_at__isnull=True) | (~Q(void_reason="") & Q(void_date__isnull=False)),
                name="voided_expense_has_reason_and_day",
            ),
        ]
        indexes = [models.Index(fields=["branch", "date"], name="expense_branch_date")]

    def __str__(self) -> str:
        return self.number

    @property
    def is_void(self) -> bool:
        return self.voided_at is not None


class BankTransfer(models.Model):
    """Cash taken from the drawer to the bank (deposit) or brought from the bank (withdrawal)."""

    class Kind(models.TextChoices):
        DEPOSIT = "deposit", _("Deposit to the bank")
        WITHDRAWAL = "withdrawal", _("Withdrawal from the bank")

    branch = models.ForeignKey(
        "core.Branch", verbose_name=_("branch"), on_delete=models.PROTECT, related_name="bank_transfers"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    amount = models.DecimalField(_("amount (EGP)"), max_digits=12, decimal_places=2)
    date = models.DateField(_("date"), help_text=_("Cairo local date."))
    reference = models.CharField(_("reference"), max_length=80, blank=True)
    note = models.CharField(_("note"), max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("bank deposit or withdrawal")
        verbose_name_plural = _("bank deposits and withdrawals")
        ordering = ["-date", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="bank_transfer_amount_positive"),
            models.CheckConstraint(condition=Q(kind__in=["deposit", "withdrawal"]), name="bank_transfer_kind_known"),
        ]
        indexes = [models.Index(fields=["branch", "date"], name="bank_transfer_branch_date")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount}"

    @property
    def signed_amount(self) -> Decimal:
        """What it does to the cash in the drawer."""
        return self.amount if self.kind == self.Kind.WITHDRAWAL else -self.amount


class CashBookDay(models.Model):
    """A closed day of a branch's cash book: the figures it was closed with, kept as they were.

    ``expected`` = opening + cash in − cash out; ``difference`` = counted − expected. The next
    day opens with this day's counted cash."""

    branch = models.ForeignKey(
        "core.Branch", verbose_name=_("branch"), on_delete=models.PROTECT, related_name="cash_book_days"
    )
    date = models.DateField(_("date"))
    opening = models.DecimalField(_("opening balance (EGP)"), max_digits=12, decimal_places=2)
    receipts_cash = models.DecimalField(_("cash receipts (EGP)"), max_digits=12, decimal_places=2, default=ZERO)
    receipts_other = models.DecimalField(
        _("receipts by other methods (EGP)"), max_digits=12, decimal_places=2, default=ZERO
    )
    sales_cash = models.DecimalField(_("cash sales (EGP)"), max_digits=12, decimal_places=2, default=ZERO)
    expenses_cash = models.DecimalField(_("cash expenses (EGP)"), max_digits=12, decimal_places=2, default=ZERO)
    payouts_cash = models.DecimalField(_("cash teacher payouts (EGP)"), max_digits=12, decimal_places=2, default=ZERO)
    deposits = models.DecimalField(_("deposits to the bank (EGP)"), max_digits=12, decimal_places=2, default=ZERO)
    withdrawals = models.DecimalField(
        _("withdrawals from the bank (EGP)"), max_digits=12, decimal_places=2, default=ZERO
    )
    expected = models.DecimalField(_("expected closing balance (EGP)"), max_digits=12, decimal_places=2)
    counted = models.DecimalField(_("counted cash (EGP)"), max_digits=12, decimal_places=2)
    difference = models.DecimalField(_("difference (EGP)"), max_digits=12, decimal_places=2)
    note = models.CharField(_("note"), max_length=255, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("closed by"), on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(_("closed at"), auto_now_add=True)

    class Meta:
        verbose_name = _("closed cash-book day")
        verbose_name_plural = _("closed cash-book days")
        ordering = ["-date", "-id"]
        permissions = [
            ("view_treasury", _("Can see the cash book and the profit and loss")),
            ("close_cash_book_day", _("Can close a day of the cash book")),
        ]
        constraints = [
            models.UniqueConstraint(fields=["branch", "date"], name="one_cash_book_close_per_branch_and_day"),
            models.CheckConstraint(condition=Q(counted__gte=0), name="cash_book_counted_not_negative"),
            models.CheckConstraint(
                condition=Q(difference=F("counted") - F("expected")), name="cash_book_difference_consistent"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.branch} · {self.date:%Y-%m-%d}"
