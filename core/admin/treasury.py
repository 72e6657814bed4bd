"""The treasury in the admin (issue 18): expenses and their categories, bank deposits and
withdrawals, the cash book per branch and day (with its close and its print), and the profit and
loss report with its export.

Nothing here writes money: every form calls a service in core/services/expenses.py or
cashbook.py, which checks the permission and the closed days again on the server.
"""

import datetime

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from unfold.contrib.filters.admin import ChoicesDropdownFilter, RangeDateFilter, RelatedDropdownFilter
from unfold.decorators import action, display
from unfold.widgets import UnfoldAdminSelectWidget, UnfoldAdminTextInputWidget

from core.access.scoping import branch_ids_visible, scope_by_branch
from core.admin.base import AuditedModelAdmin, CenterModelAdmin, ReadOnlyMixin, validation_messages
from core.admin.cards import _center_context
from core.admin.exports import CenterExportMixin, export_response
from core.admin.money import MoneyField, MonthForm, ReasonForm, admin_page, form_errors, ltr
from core.models import BankTransfer, Branch, CashBookDay, Expense, ExpenseCategory, PaymentMethod
from core.ops.media import media_url_signed
from core.ops.storage import UploadFailed
from core.selectors.money import money_text
from core.selectors.profit import profit_month
from core.services.cashbook import bank_transfer_record, cashbook_close, cashbook_day
from core.services.expenses import expense_record, expense_void
from core.services.settlements import month_after
from core.web.csp import csp_strict

DATE_WIDGET = UnfoldAdminTextInputWidget(attrs={"type": "date", "dir": "ltr"})


def _branches(user):
    return scope_by_branch(Branch.objects.filter(is_active=True), user, "id").order_by("id")


def _branch_for(request) -> Branch:
    """The branch the page is about: ``?branch=`` when the user works there, else his first."""
    visible = _branches(request.user)
    wanted = request.GET.get("branch", "")
    if wanted.isdigit():
        branch = visible.filter(pk=int(wanted)).first()
        if branch is not None:
            return branch
    branch = visible.first()
    if branch is None:
        raise Http404
    return branch


def _date_from(request, name: str = "date") -> datetime.date:
    try:
        return datetime.date.fromisoformat(request.GET.get(name, ""))
    except ValueError:
        return timezone.localdate()


# --- forms ------------------------------------------------------------------------------------------


class ExpenseForm(forms.Form):
    branch = forms.ModelChoiceField(
        label=gettext_lazy("Branch"), queryset=Branch.objects.none(), widget=UnfoldAdminSelectWidget
    )
    category = forms.ModelChoiceField(
        label=gettext_lazy("Category"),
        queryset=ExpenseCategory.objects.filter(is_active=True),
        widget=UnfoldAdminSelectWidget,
    )
    amount = MoneyField(label=gettext_lazy("Amount (EGP)"))
    date = forms.DateField(label=gettext_lazy("Date"), widget=DATE_WIDGET, initial=timezone.localdate)
    method = forms.ChoiceField(
        label=gettext_lazy("Method"), choices=PaymentMethod.choices, widget=UnfoldAdminSelectWidget
    )
    payee = forms.CharField(
        label=gettext_lazy("Paid to"), required=False, max_length=120, widget=UnfoldAdminTextInputWidget
    )
    note = forms.CharField(
        label=gettext_lazy("Note"), required=False, max_length=255, widget=UnfoldAdminTextInputWidget
    )
    bill = forms.FileField(
        label=gettext_lazy("Photo of the bill"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/*,application/pdf"}),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["branch"].queryset = _branches(user)
        if self.fields["branch"].queryset.count() == 1:
            self.fields["branch"].initial = self.fields["branch"].queryset.first()


class BankTransferForm(forms.Form):
    branch = forms.ModelChoiceField(
        label=gettext_lazy("Branch"), queryset=Branch.objects.none(), widget=UnfoldAdminSelectWidget
    )
    kind = forms.ChoiceField(
        label=gettext_lazy("Kind"), choices=BankTransfer.Kind.choices, widget=UnfoldAdminSelectWidget
    )
    amount = MoneyField(label=gettext_lazy("Amount (EGP)"))
    date = forms.DateField(label=gettext_lazy("Date"), widget=DATE_WIDGET, initial=timezone.localdate)
    reference = forms.CharField(
        label=gettext_lazy("Reference"), required=False, max_length=80, widget=UnfoldAdminTextInputWidget
    )
    note = forms.CharField(
        label=gettext_lazy("Note"), required=False, max_length=255, widget=UnfoldAdminTextInputWidget
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["branch"].queryset = _branches(user)
        if self.fields["branch"].queryset.count() == 1:
            self.fields["branch"].initial = self.fields["branch"].queryset.first()


class CloseDayForm(forms.Form):
    counted = MoneyField(label=gettext_lazy("Counted cash (EGP)"), allow_zero=True)
    note = forms.CharField(
        label=gettext_lazy("Note"), required=False, max_length=255, widget=UnfoldAdminTextInputWidget
    )


# --- categories ---------------------------------------------------------------------------------------


@admin.register(ExpenseCategory)
class ExpenseCategoryAdmin(AuditedModelAdmin):
    branch_path = None
    list_display = ["name_ar", "name_en", "is_active"]
    search_fields = ["name_ar", "name_en"]
    fields = ["name_ar", "name_en", "is_active"]

    def has_delete_permission(self, request, obj=None):
        return False  # an expense keeps its category: mark it inactive instead


# --- expenses -------------------------------------------------------------------------------------------


@admin.register(Expense)
class ExpenseAdmin(CenterExportMixin, CenterModelAdmin):
    list_display = ["number_display", "date", "branch", "category", "amount", "method", "payee", "state", "created_by"]
    list_filter = [
        ("date", RangeDateFilter),
        ("category", RelatedDropdownFilter),
        ("branch", RelatedDropdownFilter),
        ("method", ChoicesDropdownFilter),
    ]
    search_fields = ["number", "payee", "note"]
    list_select_related = ["branch", "category", "created_by"]
    readonly_fields = [
        "number",
        "branch",
        "category",
        "amount",
        "date",
        "method",
        "payee",
        "note",
        "bill_link",
        "created_by",
        "created_at",
        "voided_at",
        "voided_by",
        "void_reason",
        "void_date",
    ]
    fields = readonly_fields
    actions_list = ["open_cash_book"]
    actions_detail = ["void_expense"]
    import_kind = "expenses"  # an "Import" button beside "Export" for who may import them

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # never deleted: voided with a reason

    def has_void_expense_permission(self, request, object_id=None) -> bool:
        return request.user.has_perm("core.void_expense")

    def has_view_treasury_permission(self, request, object_id=None) -> bool:
        return request.user.has_perm("core.view_treasury")

    @display(description=gettext_lazy("voucher number"), ordering="number")
    def number_display(self, obj):
        return ltr(obj.number)

    @display(description=gettext_lazy("state"), label={"void": "danger", "ok": "success"})
    def state(self, obj):
        return ("void", _("Void")) if obj.is_void else ("ok", _("Valid"))

    @display(description=gettext_lazy("photo of the bill"))
    def bill_link(self, obj):
        if not obj.bill:
            return "—"
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">{}</a>', media_url_signed(obj.bill.name), _("Open")
        )

    @action(description=gettext_lazy("Cash book"), icon="account_balance_wallet", permissions=["view_treasury"])
    def open_cash_book(self, request):
        return HttpResponseRedirect(reverse("admin:core_cashbookday_book"))

    @action(description=gettext_lazy("Void the expense"), icon="block", permissions=["void_expense"])
    def void_expense(self, request, object_id):
        return HttpResponseRedirect(reverse("admin:core_expense_void", args=[object_id]))

    def get_urls(self):
        view = self.admin_site.admin_view
        own = [path("<int:object_id>/void/", view(self.void_view), name="core_expense_void")]
        return own + super().get_urls()

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = ExpenseForm(request.POST or None, request.FILES or None, user=request.user)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                expense = expense_record(
                    branch=data["branch"],
                    category=data["category"],
                    amount=data["amount"],
                    actor=request.user,
                    date=data["date"],
                    method=data["method"],
                    payee=data["payee"],
                    note=data["note"],
                    bill=data["bill"],
                )
            except UploadFailed as failure:
                for field, errors in failure.error_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            except ValidationError as error:
                form_errors(form, error)
            else:
                messages.success(
                    request,
                    _("Expense %(number)s recorded: %(amount)s EGP.")
                    % {"number": expense.number, "amount": money_text(expense.amount)},
                )
                return HttpResponseRedirect(reverse("admin:core_expense_changelist"))
        return admin_page(
            self,
            request,
            "core/treasury/form.html",
            _("Record an expense"),
            form=form,
            submit_label=_("Record the expense"),
            multipart=True,
        )

    def void_view(self, request, object_id):
        if not request.user.has_perm("core.void_expense"):
            raise PermissionDenied
        expense = get_object_or_404(self.get_queryset(request), pk=object_id)
        form = ReasonForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                expense_void(expense=expense, actor=request.user, reason=form.cleaned_data["reason"])
            except ValidationError as error:
                form_errors(form, error)
            else:
                messages.success(request, _("Expense %(number)s voided.") % {"number": expense.number})
                return HttpResponseRedirect(reverse("admin:core_expense_change", args=[expense.pk]))
        return admin_page(
            self,
            request,
            "core/treasury/form.html",
            _("Void expense %(number)s") % {"number": expense.number},
            form=form,
            subject=f"{expense.number} · {expense.category} · {money_text(expense.amount)}",
            submit_label=_("Void the expense"),
        )


# --- bank deposits and withdrawals ---------------------------------------------------------------------


@admin.register(BankTransfer)
class BankTransferAdmin(CenterExportMixin, CenterModelAdmin):
    list_display = ["date", "branch", "kind", "amount", "reference", "note", "created_by"]
    list_filter = [("date", RangeDateFilter), ("kind", ChoicesDropdownFilter), ("branch", RelatedDropdownFilter)]
    list_select_related = ["branch", "created_by"]
    readonly_fields = ["branch", "kind", "amount", "date", "reference", "note", "created_by", "created_at"]
    fields = readonly_fields

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = BankTransferForm(request.POST or None, user=request.user)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                bank_transfer_record(
                    branch=data["branch"],
                    kind=data["kind"],
                    amount=data["amount"],
                    actor=request.user,
                    date=data["date"],
                    reference=data["reference"],
                    note=data["note"],
                )
            except ValidationError as error:
                form_errors(form, error)
            else:
                messages.success(request, _("Recorded."))
                return HttpResponseRedirect(reverse("admin:core_banktransfer_changelist"))
        return admin_page(self, request, "core/treasury/form.html", _("Bank deposit or withdrawal"), form=form)


# --- the cash book and the profit and loss --------------------------------------------------------------


@admin.register(CashBookDay)
class CashBookDayAdmin(ReadOnlyMixin, CenterModelAdmin):
    list_display = ["date", "branch", "opening", "expected", "counted", "difference_display", "closed_by", "closed_at"]
    list_filter = [("date", RangeDateFilter), ("branch", RelatedDropdownFilter)]
    list_select_related = ["branch", "closed_by"]
    actions_list = ["open_book", "open_profit"]

    def has_view_treasury_permission(self, request, object_id=None) -> bool:
        return request.user.has_perm("core.view_treasury")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        day = get_object_or_404(self.get_queryset(request), pk=object_id)
        return HttpResponseRedirect(
            reverse("admin:core_cashbookday_book") + f"?branch={day.branch_id}&date={day.date:%Y-%m-%d}"
        )

    @display(
        description=gettext_lazy("difference (EGP)"), label={"short": "danger", "over": "warning", "ok": "success"}
    )
    def difference_display(self, obj):
        state = "ok" if obj.difference == 0 else ("short" if obj.difference < 0 else "over")
        return state, money_text(obj.difference)

    @action(description=gettext_lazy("Cash book"), icon="account_balance_wallet", permissions=["view_treasury"])
    def open_book(self, request):
        return HttpResponseRedirect(reverse("admin:core_cashbookday_book"))

    @action(description=gettext_lazy("Profit and loss"), icon="monitoring", permissions=["view_treasury"])
    def open_profit(self, request):
        return HttpResponseRedirect(reverse("admin:core_cashbookday_profit"))

    def get_urls(self):
        view = self.admin_site.admin_view
        own = [
            path("book/", view(self.book_view), name="core_cashbookday_book"),
            path("book/print/", view(self.print_view), name="core_cashbookday_print"),
            path("profit/", view(self.profit_view), name="core_cashbookday_profit"),
        ]
        return own + super().get_urls()

    def _book(self, request):
        if not request.user.has_perm("core.view_treasury"):
            raise PermissionDenied
        return cashbook_day(branch=_branch_for(request), date=_date_from(request))

    def book_view(self, request):
        book = self._book(request)
        may_close = request.user.has_perm("core.close_cash_book_day") and book.closed is None
        form = CloseDayForm(request.POST or None) if may_close else None
        if request.method == "POST":
            if form is None:
                raise PermissionDenied
            if form.is_valid():
                try:
                    day = cashbook_close(
                        branch=book.branch,
                        date=book.date,
                        counted=form.cleaned_data["counted"],
                        note=form.cleaned_data["note"],
                        actor=request.user,
                    )
                except ValidationError as error:
                    for message in validation_messages(error):
                        form.add_error(None, message)
                else:
                    messages.success(
                        request,
                        _("Day closed: expected %(expected)s, counted %(counted)s, difference %(difference)s.")
                        % {
                            "expected": money_text(day.expected),
                            "counted": money_text(day.counted),
                            "difference": money_text(day.difference),
                        },
                    )
                    return HttpResponseRedirect(request.get_full_path())
        return admin_page(
            self,
            request,
            "core/treasury/cashbook.html",
            _("Cash book"),
            book=book,
            form=form,
            branches=_branches(request.user),
            previous_day=book.date - datetime.timedelta(days=1),
            next_day=book.date + datetime.timedelta(days=1),
            print_url=reverse("admin:core_cashbookday_print") + f"?branch={book.branch.pk}&date={book.date:%Y-%m-%d}",
        )

    @csp_strict
    def print_view(self, request):
        book = self._book(request)
        context = {"title": _("Cash book"), "book": book, **_center_context()}
        return render(request, "core/treasury/cashbook_print.html", context)

    def profit_view(self, request):
        if not request.user.has_perm("core.view_treasury"):
            raise PermissionDenied
        form = MonthForm(request.GET or None)
        month = form.cleaned_data["month"] if form.is_valid() else month_after(timezone.localdate().replace(day=1), -1)
        rows = profit_month(month=month, branch_ids=branch_ids_visible(request.user))
        categories = {category.pk: str(category) for category in ExpenseCategory.objects.all()}
        if request.GET.get("export") in {"xlsx", "csv"}:
            return export_response(
                headers=[
                    _("branch"),
                    _("month"),
                    _("tuition collected"),
                    _("teacher shares"),
                    _("sales margin"),
                    _("expenses"),
                    _("profit"),
                    _("of the teacher shares, estimated"),
                ],
                rows=(
                    [
                        str(row.branch) if row.branch else _("All branches"),
                        f"{month:%Y-%m}",
                        row.tuition,
                        row.teacher_shares,
                        row.sales_margin,
                        row.expenses,
                        row.profit,
                        row.estimated_shares,
                    ]
                    for row in rows
                ),
                title=_("Profit and loss"),
                file_stem=f"profit-{month:%Y-%m}",
                file_format=request.GET["export"],
            )
        for row in rows:
            row.category_rows = [
                (str(categories.get(pk, pk)), amount) for pk, amount in row.expenses_by_category.items()
            ]
        return admin_page(
            self,
            request,
            "core/treasury/profit.html",
            _("Profit and loss"),
            form=form,
            month=month,
            rows=rows,
        )
