"""Notes and books for sale (issue 18): items, stock per branch, stock movements and sales.

An item belongs to a teacher (his notes, المذكرات; he gets ``teacher_share_percent`` of what is
collected for it) or to the center (no teacher, no share). Stock is counted per branch in one row
per item and branch (``ItemStock``), changed only under a row lock by core/services/stock.py, and
every change leaves a ``StockMovement`` with the quantity after it.

A sale (``ItemSale``) is a small document of its own with lines that keep the price, cost and
teacher share of the moment. It is either paid on a receipt (``receipt``, ``paid_on``: the same
receipt as fees, or one of its own; ``Receipt.total`` then includes the sale's total) or taken now
and paid later: an unpaid sale is the student's debt for the items until a receipt pays it. It is
kept apart from the enrollments' ledger on purpose: a payment there counts as the group's
collected tuition in settlements (R9), and an unpaid book must not refuse a student at the door.

Figures other modules read (the cash book, profit and loss, settlements):
- sales in = ``ItemSale.total`` of sales paid (``paid_on``) in a period and not void;
- sales margin = Σ lines (amount − quantity × unit_cost − teacher_share);
- the teacher's item share = Σ lines ``teacher_share`` of his items' paid sales (see
  core/selectors/catalog.py, which computes all three).
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class Item(models.Model):
    """A title the center sells: a teacher's notes or a book."""

    title = models.CharField(_("title"), max_length=150)
    teacher = models.ForeignKey(
        "core.Teacher",
        verbose_name=_("teacher"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="items",
        help_text=_("Empty for the center's own items."),
    )
    group = models.ForeignKey(
        "core.Group",
        verbose_name=_("group"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="items",
        help_text=_("The group these notes are for, if one; shows who took them."),
    )
    price = models.DecimalField(_("price (EGP)"), max_digits=12, decimal_places=2)
    cost = models.DecimalField(_("cost (EGP)"), max_digits=12, decimal_places=2, default=Decimal("0.00"))
    teacher_share_percent = models.DecimalField(
        _("teacher share (%)"), max_digits=5, decimal_places=2, default=Decimal("0.00")
    )
    low_stock_at = models.PositiveIntegerField(
        _("low stock at"), default=5, help_text=_("Warn when a branch has this many or fewer.")
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("item for sale")
        verbose_name_plural = _("items for sale")
        ordering = ["title", "id"]
        permissions = [
            ("sell_items", _("Can sell notes and books")),
            ("void_item_sale", _("Can void item sales")),
            ("adjust_stock", _("Can receive and adjust stock")),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(price__gt=0), name="item_price_positive"),
            models.CheckConstraint(condition=Q(cost__gte=0), name="item_cost_not_negative"),
            models.CheckConstraint(
                condition=Q(teacher_share_percent__gte=0, teacher_share_percent__lte=100),
                name="item_share_percent_valid",
            ),
            # A center item has nobody to share with.
            models.CheckConstraint(
                condition=Q(teacher__isnull=False) | Q(teacher_share_percent=0), name="item_share_needs_teacher"
            ),
        ]

    def __str__(self) -> str:
        return self.title


class ItemStock(models.Model):
    """How many copies of an item a branch holds. Locked (select_for_update) by every change."""

    item = models.ForeignKey(Item, verbose_name=_("item"), on_delete=models.PROTECT, related_name="stocks")
    branch = models.ForeignKey(
        "core.Branch", verbose_name=_("branch"), on_delete=models.PROTECT, related_name="item_stocks"
    )
    quantity = models.IntegerField(_("in stock"), default=0)

    class Meta:
        verbose_name = _("stock")
        verbose_name_plural = _("stock")
        ordering = ["item__title", "branch_id"]
        constraints = [
            models.UniqueConstraint(fields=["item", "branch"], name="one_stock_row_per_item_and_branch"),
            models.CheckConstraint(condition=Q(quantity__gte=0), name="stock_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.item} · {self.branch}: {self.quantity}"

    @property
    def is_low(self) -> bool:
        return self.quantity <= self.item.low_stock_at


class StockMovement(models.Model):
    """One change of a branch's stock: signed quantity and the count after it. Never edited."""

    class Kind(models.TextChoices):
        RECEIVED = "received", _("Received")
        SOLD = "sold", _("Sold")
        RETURNED = "returned", _("Returned")
        ADJUSTED = "adjusted", _("Adjusted")

    item = models.ForeignKey(Item, verbose_name=_("item"), on_delete=models.PROTECT, related_name="movements")
    branch = models.ForeignKey("core.Branch", verbose_name=_("branch"), on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    quantity = models.IntegerField(_("quantity"))
    balance_after = models.IntegerField(_("in stock after"))
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    sale = models.ForeignKey(
        "ItemSale",
        verbose_name=_("sale"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="movements",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("time"), auto_now_add=True)

    class Meta:
        verbose_name = _("stock movement")
        verbose_name_plural = _("stock movements")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(quantity=0), name="stock_movement_not_zero"),
            models.CheckConstraint(condition=Q(balance_after__gte=0), name="stock_movement_balance_not_negative"),
            models.CheckConstraint(
                condition=~Q(kind__in=["received", "returned"]) | Q(quantity__gt=0), name="stock_in_is_positive"
            ),
            models.CheckConstraint(condition=~Q(kind="sold") | Q(quantity__lt=0), name="stock_sold_is_negative"),
            models.CheckConstraint(condition=~Q(kind="adjusted") | ~Q(reason=""), name="stock_adjustment_has_reason"),
        ]
        indexes = [models.Index(fields=["item", "branch", "created_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.quantity:+d} {self.item}"


class ItemSale(models.Model):
    """Items sold to a student at the desk: paid on a receipt, or owed until one pays it."""

    branch = models.ForeignKey(
        "core.Branch", verbose_name=_("branch"), on_delete=models.PROTECT, related_name="item_sales"
    )
    student = models.ForeignKey(
        "core.Student", verbose_name=_("student"), on_delete=models.PROTECT, related_name="item_sales"
    )
    date = models.DateField(_("date"), help_text=_("Cairo local date."))
    total = models.DecimalField(_("total (EGP)"), max_digits=12, decimal_places=2)
    receipt = models.ForeignKey(
        "core.Receipt",
        verbose_name=_("receipt"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="item_sales",
    )
    paid_on = models.DateField(_("paid on"), null=True, blank=True)
    sold_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("sold by"), on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(_("note"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("time"), auto_now_add=True)
    idempotency_key = models.CharField(max_length=64, null=True, blank=True, unique=True, editable=False)
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
        verbose_name = _("item sale")
        verbose_name_plural = _("item sales")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(total__gt=0), name="item_sale_total_positive"),
            models.CheckConstraint(
                condition=Q(receipt__isnull=True, paid_on__isnull=True)
                | Q(receipt__isnull=False, paid_on__isnull=False),
                name="item_sale_paid_has_receipt",
            ),
            models.CheckConstraint(
                condition=Q(voided_at__isnull=True) | ~Q(void_reason=""), name="voided_item_sale_has_reason"
            ),
        ]
        indexes = [
            models.Index(fields=["branch", "paid_on"]),
            models.Index(fields=["student", "paid_on"]),
        ]

    def __str__(self) -> str:
        return _("Sale %(id)s") % {"id": self.pk}

    @property
    def is_void(self) -> bool:
        return self.voided_at is not None

    @property
    def is_paid(self) -> bool:
        return self.paid_on is not None


class ItemSaleReceiptVoid(models.Model):
    """A paid sale its receipt's void left owed again (core/services/sales.py ``sales_unpaid_by_void``).

    The sale forgets that receipt so another can pay it; this row remembers the day it had been
    paid on and when that payment was undone, so a teacher's share of a month already approved
    goes back on his next draft (core/services/settlement_items.py), as for a sale voided."""

    sale = models.ForeignKey(ItemSale, verbose_name=_("sale"), on_delete=models.PROTECT, related_name="receipt_voids")
    receipt = models.ForeignKey("core.Receipt", verbose_name=_("receipt"), on_delete=models.PROTECT, related_name="+")
    paid_on = models.DateField(_("paid on"))
    voided_at = models.DateTimeField(_("voided at"))

    class Meta:
        verbose_name = _("sale left owed by a voided receipt")
        verbose_name_plural = _("sales left owed by voided receipts")
        ordering = ["voided_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["sale", "receipt"], name="one_receipt_void_per_sale_and_receipt"),
        ]
        indexes = [models.Index(fields=["paid_on", "voided_at"])]

    def __str__(self) -> str:
        return f"{self.sale} · {self.receipt}"


class ItemSaleLine(models.Model):
    """One item of a sale, with the price, cost and teacher share of the moment it was sold."""

    sale = models.ForeignKey(ItemSale, verbose_name=_("sale"), on_delete=models.PROTECT, related_name="lines")
    item = models.ForeignKey(Item, verbose_name=_("item"), on_delete=models.PROTECT, related_name="sale_lines")
    # Kept from the item at the sale, so settlements and the "who took the notes" list do not move
    # when the item is edited later.
    teacher = models.ForeignKey(
        "core.Teacher", verbose_name=_("teacher"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    group = models.ForeignKey(
        "core.Group", verbose_name=_("group"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_price = models.DecimalField(_("unit price (EGP)"), max_digits=12, decimal_places=2)
    unit_cost = models.DecimalField(_("unit cost (EGP)"), max_digits=12, decimal_places=2)
    teacher_share_percent = models.DecimalField(_("teacher share (%)"), max_digits=5, decimal_places=2)
    amount = models.DecimalField(_("amount (EGP)"), max_digits=12, decimal_places=2)
    teacher_share = models.DecimalField(_("teacher's share (EGP)"), max_digits=12, decimal_places=2)

    class Meta:
        verbose_name = _("item sale line")
        verbose_name_plural = _("item sale lines")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="item_sale_line_quantity_positive"),
            models.CheckConstraint(
                condition=Q(amount=F("unit_price") * F("quantity")), name="item_sale_line_amount_consistent"
            ),
            models.CheckConstraint(
                condition=Q(teacher_share__gte=0, teacher_share__lte=F("amount")), name="item_sale_line_share_valid"
            ),
        ]
        indexes = [models.Index(fields=["teacher", "sale"]), models.Index(fields=["group", "item"])]

    def __str__(self) -> str:
        return f"{self.item} × {self.quantity}"

    @property
    def margin(self) -> Decimal:
        """What the center keeps: the amount less the cost and the teacher's share."""
        return self.amount - self.unit_cost * self.quantity - self.teacher_share
