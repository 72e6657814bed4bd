"""Receipts (SPEC.md §2 Receipt, R8): the list and detail (read only), the print in two layouts,
void and refund. The same admin carries the cashier's pages (``cashier``), the drawer close
(``drawer``) and the money reports (``reports``) under its URLs, each in its own module."""

import datetime

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import F
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext, pgettext_lazy
from django.views.decorators.http import require_POST
from unfold.admin import TabularInline
from unfold.contrib.filters.admin import ChoicesDropdownFilter, RangeDateFilter, RelatedDropdownFilter
from unfold.decorators import action, display

from core.admin.base import CenterModelAdmin, ReadOnlyMixin
from core.admin.cards import _center_context
from core.admin.exports import CenterExportMixin
from core.admin.money.cashier import CashierPagesMixin
from core.admin.money.common import MoneyPermissionsMixin, form_page, ltr
from core.admin.money.drawer import DrawerPagesMixin
from core.admin.money.forms import ReasonForm, RefundForm
from core.admin.money.reports import MoneyReportsMixin
from core.models import CenterSettings, EntryType, LedgerEntry, Receipt
from core.selectors.catalog import receipt_discounts, receipt_sale_lines
from core.services import payments
from core.web.csp import csp_strict


class ReceiptLineInline(TabularInline):
    model = LedgerEntry
    fk_name = "receipt"
    extra = 0
    max_num = 0
    can_delete = False
    verbose_name = gettext_lazy("line")
    verbose_name_plural = gettext_lazy("Lines, voids and refunds")
    fields = ["entry_type", "enrollment", "amount", "date", "created_by", "note"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("enrollment__group", "enrollment__student", "created_by")


def receipt_lines(receipt: Receipt) -> list[LedgerEntry]:
    """The receipt's payment lines; a line paying a group that carried a month from a transfer
    (R12) says so, while that month is the receipt's or the one before it."""
    lines = list(
        receipt.entries.filter(entry_type=EntryType.PAYMENT)
        .select_related("enrollment__group", "enrollment__transferred_from__group")
        .order_by("id")
    )
    this_month = receipt.date.replace(day=1)
    last_month = (this_month - datetime.timedelta(days=1)).replace(day=1)
    for line in lines:
        carried = line.enrollment.carried_month
        line.carry_note = line.enrollment.carry_note if carried in (this_month, last_month) else ""
    return lines


@admin.register(Receipt)
class ReceiptAdmin(
    ReadOnlyMixin,
    CashierPagesMixin,
    DrawerPagesMixin,
    MoneyReportsMixin,
    MoneyPermissionsMixin,
    CenterExportMixin,
    CenterModelAdmin,
):
    list_display = ["number_display", "date", "student", "total", "method", "cashier", "state"]
    list_filter = [
        ("date", RangeDateFilter),
        ("method", ChoicesDropdownFilter),
        ("cashier", RelatedDropdownFilter),
        ("branch", RelatedDropdownFilter),
    ]
    search_fields = ["number", "student__code", "student__full_name", "reference"]
    list_select_related = ["student", "cashier"]
    readonly_fields = [
        "number",
        "branch",
        "student",
        "date",
        "created_at",
        "method",
        "reference",
        "total",
        "cashier",
        "note",
        "print_count",
        "voided_at",
        "voided_by",
        "void_reason",
    ]
    fields = readonly_fields
    inlines = [ReceiptLineInline]
    actions_list = ["cashier_screen", "close_drawer"]
    actions_detail = ["print_a5", "print_thermal", "void_receipt", "refund_receipt"]
    date_hierarchy = None

    @display(description=gettext_lazy("number"), ordering="number")
    def number_display(self, obj):
        return ltr(obj.number)

    @display(description=gettext_lazy("state"), label={"void": "danger", "ok": "success"})
    def state(self, obj):
        return ("void", pgettext("receipt state", "Void")) if obj.is_void else ("ok", _("Valid"))

    # --- buttons -------------------------------------------------------------------------------------

    @action(description=gettext_lazy("Cashier"), icon="point_of_sale", permissions=["record_payment"])
    def cashier_screen(self, request):
        return HttpResponseRedirect(reverse("admin:core_receipt_cashier"))

    @action(description=gettext_lazy("Close my drawer"), icon="savings", permissions=["add_cashclose"])
    def close_drawer(self, request):
        return HttpResponseRedirect(reverse("admin:core_receipt_cash_close"))

    @action(description=gettext_lazy("Print A5"), icon="print")
    def print_a5(self, request, object_id):
        return HttpResponseRedirect(reverse("admin:core_receipt_print", args=[object_id]) + "?layout=a5")

    @action(description=gettext_lazy("Print 80 mm"), icon="receipt")
    def print_thermal(self, request, object_id):
        return HttpResponseRedirect(reverse("admin:core_receipt_print", args=[object_id]) + "?layout=thermal")

    @action(description=pgettext_lazy("receipt action", "Void"), icon="block", permissions=["void_receipt"])
    def void_receipt(self, request, object_id):
        return HttpResponseRedirect(reverse("admin:core_receipt_void", args=[object_id]))

    @action(description=gettext_lazy("Refund"), icon="undo", permissions=["void_receipt"])
    def refund_receipt(self, request, object_id):
        return HttpResponseRedirect(reverse("admin:core_receipt_refund", args=[object_id]))

    # --- pages ---------------------------------------------------------------------------------------

    def get_urls(self):
        view = self.admin_site.admin_view
        own = [
            path("cashier/", view(self.cashier_view), name="core_receipt_cashier"),
            path("cashier/<int:student_id>/", view(self.record_view), name="core_receipt_record"),
            path("cash-close/", view(self.cash_close_view), name="core_receipt_cash_close"),
            path("<int:object_id>/print/", view(self.print_view), name="core_receipt_print"),
            path("<int:object_id>/printed/", view(self.printed_view), name="core_receipt_printed"),
            path("<int:object_id>/void/", view(self.void_view), name="core_receipt_void"),
            path("<int:object_id>/refund/", view(self.refund_view), name="core_receipt_refund"),
            path("discount/<int:enrollment_id>/", view(self.discount_view), name="core_receipt_discount"),
            path("reports/defaulters/", view(self.defaulters_view), name="core_receipt_defaulters"),
            path("reports/collections/", view(self.collections_view), name="core_receipt_collections"),
        ]
        return own + super().get_urls()

    @csp_strict
    def print_view(self, request, object_id):
        if not self.has_view_permission(request):
            raise PermissionDenied
        receipt = get_object_or_404(
            self.get_queryset(request).select_related("student", "cashier", "branch", "voided_by"), pk=object_id
        )
        # Printed before (counted by receipt_printed when the browser prints): this one is a copy.
        is_copy = receipt.print_count > 0
        layout = "a5" if request.GET.get("layout") == "a5" else "thermal"
        center = _center_context()
        context = {
            "title": _("Receipt %(number)s") % {"number": receipt.number},
            "receipt": receipt,
            "lines": receipt_lines(receipt),
            "sale_lines": receipt_sale_lines(receipt),
            "balance": payments.receipt_balance_after(receipt),
            "printed_url": reverse("admin:core_receipt_printed", args=[receipt.pk]),
            "refunded": payments.receipt_refunded(receipt),
            "is_copy": is_copy,
            "layout": layout,
            "footer": CenterSettings.load().receipt_footer,
            "back_url": reverse("admin:core_receipt_cashier")
            if request.user.has_perm("core.record_payment")
            else reverse("admin:core_receipt_change", args=[receipt.pk]),
            **center,
        }
        context["discounts"] = receipt_discounts(receipt, [line.enrollment_id for line in context["lines"]])
        return render(request, "core/print/receipt.html", context)

    @method_decorator(require_POST)
    def printed_view(self, request, object_id):
        """The browser is printing this receipt (its print event): count it, so the next print
        says COPY. Opening or switching the layout counts nothing."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        receipt = get_object_or_404(self.get_queryset(request), pk=object_id)
        Receipt.objects.filter(pk=receipt.pk).update(print_count=F("print_count") + 1)
        return HttpResponse(status=204)

    def _receipt_form_view(self, request, object_id, *, form_class, title, apply):
        if not request.user.has_perm("core.void_receipt"):
            raise PermissionDenied
        receipt = get_object_or_404(self.get_queryset(request), pk=object_id)
        return form_page(
            self,
            request,
            form=form_class(request.POST or None),
            title=title,
            apply=lambda data: apply(receipt, data),
            done_url=reverse("admin:core_receipt_change", args=[receipt.pk]),
            subject=receipt,
        )

    def void_view(self, request, object_id):
        return self._receipt_form_view(
            request,
            object_id,
            form_class=ReasonForm,
            title=_("Void a receipt"),
            apply=lambda receipt, data: payments.payment_void(
                receipt=receipt, actor=request.user, reason=data["reason"]
            ),
        )

    def refund_view(self, request, object_id):
        return self._receipt_form_view(
            request,
            object_id,
            form_class=RefundForm,
            title=_("Refund"),
            apply=lambda receipt, data: payments.payment_refund(
                receipt=receipt, actor=request.user, amount=data["amount"], reason=data["reason"]
            ),
        )
