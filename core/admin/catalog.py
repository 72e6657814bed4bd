"""Notes and books in the admin (issue 18): the catalogue, stock per branch with its low-stock
warning, stock movements, sales (sold on credit here, on a receipt at the cashier) with their
void, and "who took the notes" per group.

Nothing here writes stock or money: every form calls core/services/stock.py or sales.py, which
check the permission again. Teachers see their own items, their stock and their sales only.
"""

import uuid

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q, Sum
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from unfold.contrib.filters.admin import ChoicesDropdownFilter, RangeDateFilter, RelatedDropdownFilter
from unfold.decorators import action, display
from unfold.widgets import UnfoldAdminSelectWidget, UnfoldAdminTextInputWidget

from core.access.scoping import branch_ids_visible, is_teacher_only, scope_by_branch
from core.admin.base import AuditedModelAdmin, CenterModelAdmin, ReadOnlyMixin, ReadOnlyTabInline
from core.admin.exports import CenterExportMixin
from core.admin.money.common import admin_page, form_page
from core.admin.money.forms import ReasonForm
from core.models import Branch, Group, Item, ItemSale, ItemSaleLine, ItemStock, PaymentMethod, StockMovement, Student
from core.selectors.catalog import group_item_takers, stock_low
from core.selectors.money import money_text
from core.services.sales import sale_record, sale_void
from core.services.stock import stock_adjust, stock_receive


def _branches(user):
    return scope_by_branch(Branch.objects.filter(is_active=True), user, "id").order_by("id")


class _BranchChoice(forms.Form):
    branch = forms.ModelChoiceField(
        label=gettext_lazy("Branch"), queryset=Branch.objects.none(), widget=UnfoldAdminSelectWidget
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["branch"].queryset = _branches(user)
        if self.fields["branch"].queryset.count() == 1:
            self.fields["branch"].initial = self.fields["branch"].queryset.first()


class StockReceiveForm(_BranchChoice):
    quantity = forms.IntegerField(label=gettext_lazy("Copies received"), min_value=1)
    reason = forms.CharField(
        label=gettext_lazy("Note"), required=False, max_length=255, widget=UnfoldAdminTextInputWidget
    )


class StockAdjustForm(_BranchChoice):
    change = forms.IntegerField(
        label=gettext_lazy("Change in copies"),
        help_text=gettext_lazy("Negative takes copies out (lost, damaged); positive adds copies found."),
    )
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=255, widget=UnfoldAdminTextInputWidget)


class SaleOnCreditForm(forms.Form):
    student_code = forms.CharField(
        label=gettext_lazy("Student code"), max_length=20, widget=UnfoldAdminTextInputWidget(attrs={"dir": "ltr"})
    )
    item = forms.ModelChoiceField(
        label=gettext_lazy("Item"), queryset=Item.objects.filter(is_active=True), widget=UnfoldAdminSelectWidget
    )
    quantity = forms.IntegerField(label=gettext_lazy("Copies"), min_value=1, initial=1)
    pay_now = forms.BooleanField(label=gettext_lazy("Paid now (prints a receipt)"), required=False)
    method = forms.ChoiceField(
        label=gettext_lazy("Method"), choices=PaymentMethod.choices, widget=UnfoldAdminSelectWidget
    )
    key = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        if not self.is_bound:
            self.fields["key"].initial = uuid.uuid4().hex

    def clean_student_code(self):
        code = self.cleaned_data["student_code"].strip()
        student = scope_by_branch(Student.objects.filter(is_active=True), self.user).filter(code=code).first()
        if student is None:
            raise forms.ValidationError(_("No active student has the code %(code)s.") % {"code": code})
        self.student = student
        return code


# --- the catalogue ----------------------------------------------------------------------------------


@admin.register(Item)
class ItemAdmin(CenterExportMixin, AuditedModelAdmin):
    branch_path = None
    list_display = ["title", "teacher", "group", "price", "cost", "teacher_share_percent", "in_stock", "is_active"]
    list_filter = [("teacher", RelatedDropdownFilter), "is_active"]
    search_fields = ["title", "teacher__full_name"]
    list_select_related = ["teacher", "group"]
    autocomplete_fields = ["teacher", "group"]
    fields = ["title", "teacher", "group", "price", "cost", "teacher_share_percent", "low_stock_at", "is_active"]
    actions_detail = ["receive_copies", "adjust_stock", "who_took"]
    actions_list = ["low_stock"]
    import_kind = "items"  # an "Import" button for who may import them (core/admin/imports.py)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if is_teacher_only(request.user):
            queryset = queryset.filter(teacher__user=request.user)
        branches = branch_ids_visible(request.user)
        stock = ItemStock.objects.all() if branches is None else ItemStock.objects.filter(branch_id__in=branches)
        in_branches = None if branches is None else Q(stocks__branch_id__in=branches)
        return queryset.annotate(stock_total=Sum("stocks__quantity", filter=in_branches)).annotate(
            has_low=Exists(stock.filter(item=OuterRef("pk"), quantity__lte=OuterRef("low_stock_at")))
        )

    def has_delete_permission(self, request, obj=None):
        return False  # sales point at it: mark it inactive instead

    def has_adjust_stock_permission(self, request, object_id=None) -> bool:
        return request.user.has_perm("core.adjust_stock")

    def has_view_item_permission(self, request, object_id=None) -> bool:
        return request.user.has_perm("core.view_item")

    @display(description=gettext_lazy("in stock"), label={"low": "danger", "ok": "success"})
    def in_stock(self, obj):
        total = obj.stock_total or 0
        return ("low", _("%(count)d (low)") % {"count": total}) if obj.has_low else ("ok", str(total))

    @action(description=gettext_lazy("Receive copies"), icon="add_box", permissions=["adjust_stock"])
    def receive_copies(self, request, object_id):
        return HttpResponseRedirect(reverse("admin:core_item_receive", args=[object_id]))

    @action(description=gettext_lazy("Adjust stock"), icon="tune", permissions=["adjust_stock"])
    def adjust_stock(self, request, object_id):
        return HttpResponseRedirect(reverse("admin:core_item_adjust", args=[object_id]))

    @action(description=gettext_lazy("Who took them"), icon="group", permissions=["view_item"])
    def who_took(self, request, object_id):
        return HttpResponseRedirect(reverse("admin:core_item_takers", args=[object_id]))

    @action(description=gettext_lazy("Low stock"), icon="warning", permissions=["view_item"])
    def low_stock(self, request):
        return HttpResponseRedirect(reverse("admin:core_itemstock_changelist") + "?low=1")

    def get_urls(self):
        view = self.admin_site.admin_view
        own = [
            path("<int:object_id>/receive/", view(self.receive_view), name="core_item_receive"),
            path("<int:object_id>/adjust/", view(self.adjust_view), name="core_item_adjust"),
            path("<int:object_id>/takers/", view(self.takers_view), name="core_item_takers"),
        ]
        return own + super().get_urls()

    def _stock_page(self, request, object_id, form_class, title, apply):
        if not request.user.has_perm("core.adjust_stock"):
            raise PermissionDenied
        item = get_object_or_404(self.get_queryset(request), pk=object_id)
        form = form_class(request.POST or None, user=request.user)
        return form_page(
            self,
            request,
            form=form,
            title=title % {"title": item.title},
            apply=lambda data: apply(item, data),
            done_url=reverse("admin:core_itemstock_changelist") + f"?item__id__exact={item.pk}",
            success=lambda movement: (
                _("“%(title)s”: %(count)d in stock now.") % {"title": item.title, "count": movement.balance_after}
            ),
            subject=item.title,
        )

    def receive_view(self, request, object_id):
        return self._stock_page(
            request,
            object_id,
            StockReceiveForm,
            _("Receive copies of “%(title)s”"),
            lambda item, data: stock_receive(
                item=item, branch=data["branch"], quantity=data["quantity"], actor=request.user, reason=data["reason"]
            ),
        )

    def adjust_view(self, request, object_id):
        return self._stock_page(
            request,
            object_id,
            StockAdjustForm,
            _("Adjust the stock of “%(title)s”"),
            lambda item, data: stock_adjust(
                item=item, branch=data["branch"], change=data["change"], actor=request.user, reason=data["reason"]
            ),
        )

    def takers_view(self, request, object_id):
        item = get_object_or_404(self.get_queryset(request), pk=object_id)
        groups = Group.objects.filter(is_active=True)
        if item.group_id:
            groups = groups.filter(pk=item.group_id)
        elif item.teacher_id:
            groups = groups.filter(teacher_id=item.teacher_id)
        groups = scope_by_branch(groups, request.user).order_by("code")
        if is_teacher_only(request.user):
            groups = groups.filter(teacher__user=request.user)
        wanted = request.GET.get("group", "")
        group = groups.filter(pk=int(wanted)).first() if wanted.isdigit() else groups.first()
        rows = group_item_takers(group_id=group.pk, item_id=item.pk) if group is not None else []
        return admin_page(
            self,
            request,
            "admin/catalog/takers.html",
            _("Who took “%(title)s”") % {"title": item.title},
            item=item,
            groups=groups,
            group=group,
            rows=rows,
            took=sum(1 for row in rows if row.quantity),
        )


# --- stock and its movements -----------------------------------------------------------------------


class LowStockFilter(admin.SimpleListFilter):
    title = gettext_lazy("stock")
    parameter_name = "low"

    def lookups(self, request, model_admin):
        return [("1", _("Low stock only"))]

    def queryset(self, request, queryset):
        if self.value() == "1":
            return stock_low().filter(pk__in=queryset.values("pk"))
        return queryset


@admin.register(ItemStock)
class ItemStockAdmin(ReadOnlyMixin, CenterModelAdmin):
    list_display = ["item", "branch", "quantity", "level"]
    list_filter = [LowStockFilter, ("branch", RelatedDropdownFilter)]
    search_fields = ["item__title"]
    list_select_related = ["item", "item__teacher", "branch"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if is_teacher_only(request.user):
            queryset = queryset.filter(item__teacher__user=request.user)
        return queryset

    @display(description=gettext_lazy("level"), label={"low": "danger", "ok": "success"})
    def level(self, obj):
        return ("low", _("Low")) if obj.is_low else ("ok", _("Enough"))


@admin.register(StockMovement)
class StockMovementAdmin(ReadOnlyMixin, CenterModelAdmin):
    list_display = ["created_at", "item", "branch", "kind", "quantity", "balance_after", "reason", "sale", "created_by"]
    list_filter = [("kind", ChoicesDropdownFilter), ("branch", RelatedDropdownFilter)]
    search_fields = ["item__title", "reason"]
    list_select_related = ["item", "branch", "sale", "created_by"]


# --- sales ------------------------------------------------------------------------------------------


class SaleLineInline(ReadOnlyTabInline):
    model = ItemSaleLine
    fields = ["item", "group", "quantity", "unit_price", "amount", "teacher_share"]
    tab = False
    show_change_link = False


@admin.register(ItemSale)
class ItemSaleAdmin(CenterModelAdmin):
    list_display = ["sale_number", "date", "student", "branch", "total", "state", "receipt", "sold_by"]
    list_filter = [("date", RangeDateFilter), ("branch", RelatedDropdownFilter)]
    search_fields = ["student__full_name", "student__code", "receipt__number"]
    list_select_related = ["student", "branch", "receipt", "sold_by"]
    readonly_fields = [
        "branch",
        "student",
        "date",
        "total",
        "receipt",
        "paid_on",
        "sold_by",
        "note",
        "created_at",
        "voided_at",
        "voided_by",
        "void_reason",
    ]
    fields = readonly_fields
    inlines = [SaleLineInline]
    actions_detail = ["void_sale"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if is_teacher_only(request.user):
            mine = ItemSaleLine.objects.filter(sale=OuterRef("pk"), teacher__user=request.user)
            queryset = queryset.filter(Exists(mine))
        return queryset

    def has_add_permission(self, request):
        return request.user.has_perm("core.sell_items")

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # never deleted: voided with a reason

    def has_void_item_sale_permission(self, request, object_id=None) -> bool:
        return request.user.has_perm("core.void_item_sale")

    @display(description=gettext_lazy("sale"), ordering="pk")
    def sale_number(self, obj):
        return str(obj.pk)

    @display(description=gettext_lazy("state"), label={"void": "danger", "owed": "warning", "paid": "success"})
    def state(self, obj):
        if obj.is_void:
            return "void", _("Void")
        return ("paid", _("Paid")) if obj.is_paid else ("owed", _("Owed"))

    @action(description=gettext_lazy("Void the sale"), icon="block", permissions=["void_item_sale"])
    def void_sale(self, request, object_id):
        return HttpResponseRedirect(reverse("admin:core_itemsale_void", args=[object_id]))

    def get_urls(self):
        view = self.admin_site.admin_view
        own = [path("<int:object_id>/void/", view(self.void_view), name="core_itemsale_void")]
        return own + super().get_urls()

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = SaleOnCreditForm(request.POST or None, user=request.user)

        def apply(data):
            return sale_record(
                student=form.student,
                seller=request.user,
                items=[(data["item"], data["quantity"])],
                pay_now=data["pay_now"],
                method=data["method"],
                idempotency_key=data["key"],
            )

        def done(sale):
            if sale.receipt_id:
                return reverse("admin:core_receipt_change", args=[sale.receipt_id])
            return reverse("admin:core_itemsale_change", args=[sale.pk])

        def said(sale):
            low = stock_low(branch_ids=[sale.branch_id]).filter(item__in=sale.lines.values("item"))
            text = _("Sold to %(student)s: %(total)s EGP (%(state)s).") % {
                "student": sale.student.full_name,
                "total": money_text(sale.total),
                "state": _("paid") if sale.is_paid else _("owed"),
            }
            for stock in low:
                messages.warning(
                    request,
                    _("Low stock: %(count)d of “%(title)s” left.") % {"count": stock.quantity, "title": stock.item},
                )
            return text

        return form_page(
            self,
            request,
            form=form,
            title=_("Sell notes or books"),
            apply=apply,
            done_url=done,
            success=said,
            submit_label=_("Sell"),
        )

    def void_view(self, request, object_id):
        if not request.user.has_perm("core.void_item_sale"):
            raise PermissionDenied
        sale = get_object_or_404(self.get_queryset(request).select_related("student"), pk=object_id)
        return form_page(
            self,
            request,
            form=ReasonForm(request.POST or None),
            title=_("Void sale %(id)s") % {"id": sale.pk},
            apply=lambda data: sale_void(sale=sale, actor=request.user, reason=data["reason"]),
            done_url=reverse("admin:core_itemsale_change", args=[sale.pk]),
            success=_("Sale voided; its copies are back in stock."),
            subject=f"{sale.student.full_name} · {money_text(sale.total)}",
            submit_label=_("Void the sale"),
        )
