"""Money in the admin: receipts and the cashier screen, voids and refunds, drawer closes,
settlements, and the money reports (SPEC.md R8, R9, §4).

Nothing here edits money: every button calls a service in core/services/payments.py or
settlements.py, which checks the permission again on the server.
"""

import datetime
import uuid
from urllib.parse import quote

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Exists, F, OuterRef, Subquery, Sum
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext, pgettext_lazy
from django.views.decorators.http import require_POST
from unfold.admin import TabularInline
from unfold.contrib.filters.admin import (
    AutocompleteSelectFilter,
    ChoicesDropdownFilter,
    RangeDateFilter,
    RelatedDropdownFilter,
)
from unfold.decorators import action, display
from unfold.widgets import UnfoldAdminSelectWidget, UnfoldAdminTextareaWidget, UnfoldAdminTextInputWidget

from core.access.scoping import branch_ids_visible, is_teacher_only, scope_by_branch
from core.admin.base import CenterModelAdmin, ReadOnlyMixin, validation_messages
from core.admin.cards import _center_context
from core.admin.exports import CenterExportMixin, export_response
from core.models import (
    Branch,
    CashClose,
    CenterSettings,
    Enrollment,
    EntryType,
    Group,
    LedgerEntry,
    PaymentMethod,
    Receipt,
    Settlement,
    SettlementItem,
    SettlementLine,
    SettlementRun,
    Student,
    StudentGuardian,
)
from core.normalize import digits_ascii, search_key
from core.selectors.money import (
    defaulters_owed,
    enrollments_payable,
    enrollments_with_balance,
    money_round,
    students_with_balance,
    unpaid_sessions,
)
from core.services import payments, settlements
from core.services.scanning import money_verdict
from core.services.settlements import month_after, month_first
from core.web.csp import csp_strict

DEFAULTERS_PER_PAGE = 100
DEFAULTERS_EXPORT_LIMIT = 20_000  # an export holds every defaulter up to the size an import takes


def ltr(value) -> str:
    return format_html('<bdi dir="ltr">{}</bdi>', value) if value not in (None, "") else "—"


def _page(admin_obj, request, template: str, title: str, **context):
    return TemplateResponse(
        request,
        template,
        {**admin_obj.admin_site.each_context(request), "opts": admin_obj.model._meta, "title": title, **context},
    )


def _repeated_receipt(error: ValidationError, student) -> Receipt | None:
    """The earlier receipt a refused payment may repeat (code possible_duplicate), to show the cashier."""
    for item in getattr(error, "error_list", []):
        if item.code == "possible_duplicate":
            return (
                Receipt.objects.select_related("cashier").filter(pk=item.params["receipt_id"], student=student).first()
            )
    return None


def _form_errors(form, error: ValidationError) -> None:
    for message in validation_messages(error):
        form.add_error(None, message)


class MoneyField(forms.CharField):
    """An amount typed at the desk: checked by the one parser (exact, two places, > 0)."""

    def __init__(self, *args, allow_zero: bool = False, **kwargs):
        self.allow_zero = allow_zero
        kwargs.setdefault("max_length", 20)
        kwargs.setdefault("widget", UnfoldAdminTextInputWidget)
        super().__init__(*args, **kwargs)
        self.widget.attrs.update({"inputmode": "decimal", "dir": "ltr", "autocomplete": "off"})

    def clean(self, value):
        value = super().clean(value)
        if value in (None, ""):
            return None
        return payments.money_parse(digits_ascii(value), allow_zero=self.allow_zero)


class MoneyPermissionsMixin:
    """``has_<name>_permission`` for the unfold actions below: the user's Django permission."""

    def has_add_cashclose_permission(self, request, object_id=None) -> bool:
        return request.user.has_perm("core.add_cashclose")

    def has_approve_settlement_permission(self, request, object_id=None) -> bool:
        return request.user.has_perm("core.approve_settlement")

    def has_record_payment_permission(self, request, object_id=None) -> bool:
        return request.user.has_perm("core.record_payment")

    def has_run_settlement_permission(self, request, object_id=None) -> bool:
        return request.user.has_perm("core.run_settlement")

    def has_view_money_reports_permission(self, request, object_id=None) -> bool:
        return request.user.has_perm("core.view_money_reports")

    def has_void_receipt_permission(self, request, object_id=None) -> bool:
        return request.user.has_perm("core.void_receipt")


# --- forms ------------------------------------------------------------------------------------------


class PaymentForm(forms.Form):
    amount = MoneyField(
        label=gettext_lazy("Amount (EGP)"),
        required=False,
        help_text=gettext_lazy(
            "Filled in with what lets him in at the door: all he owes, ended enrollments included, "
            "plus his next class wherever the door would refuse him without it. Paid to the oldest "
            "debt first. Or fill in the amount per group below."
        ),
    )
    method = forms.ChoiceField(
        label=gettext_lazy("Method"),
        choices=PaymentMethod.choices,
        initial=PaymentMethod.CASH,
        widget=UnfoldAdminSelectWidget,
    )
    reference = forms.CharField(
        label=gettext_lazy("Reference"),
        required=False,
        max_length=80,
        help_text=gettext_lazy("Wallet or InstaPay transaction number."),
        widget=UnfoldAdminTextInputWidget(attrs={"dir": "ltr"}),
    )
    note = forms.CharField(
        label=gettext_lazy("Note"), required=False, max_length=255, widget=UnfoldAdminTextInputWidget
    )
    layout = forms.ChoiceField(
        label=gettext_lazy("Print on"),
        choices=[("thermal", gettext_lazy("80 mm receipt printer")), ("a5", gettext_lazy("A5 paper"))],
        initial="thermal",
        widget=UnfoldAdminSelectWidget,
    )
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)
    # Shown only once the service found the same amount paid for him minutes ago (possible_duplicate).
    confirm_repeat = forms.BooleanField(label=gettext_lazy("Yes, record a second payment"), required=False)

    def __init__(self, *args, enrollments=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.enrollment_rows = list(enrollments)
        for enrollment in self.enrollment_rows:
            label = f"{enrollment.group.code} · {enrollment.group.name}"
            if not enrollment.is_active:
                label = _("%(group)s (ended)") % {"group": label}
            self.fields[f"line_{enrollment.pk}"] = MoneyField(label=label, required=False)

    def clean(self):
        cleaned = super().clean()
        lines = [
            (enrollment, cleaned.get(f"line_{enrollment.pk}"))
            for enrollment in self.enrollment_rows
            if cleaned.get(f"line_{enrollment.pk}")
        ]
        if not lines and not cleaned.get("amount") and not self.errors:
            raise ValidationError(_("Enter the amount."))
        cleaned["lines"] = lines
        return cleaned


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason"), max_length=255, widget=UnfoldAdminTextareaWidget(attrs={"rows": 2})
    )

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise ValidationError(_("A reason is required."))
        return reason


class RefundForm(ReasonForm):
    amount = MoneyField(label=gettext_lazy("Amount to give back (EGP)"))
    field_order = ["amount", "reason"]


class DiscountForm(ReasonForm):
    amount = MoneyField(label=gettext_lazy("Discount (EGP)"))
    field_order = ["amount", "reason"]


class CashCloseForm(forms.Form):
    counted = MoneyField(label=gettext_lazy("Counted cash (EGP)"), allow_zero=True)
    note = forms.CharField(
        label=gettext_lazy("Note"), required=False, max_length=255, widget=UnfoldAdminTextInputWidget
    )


class MonthForm(forms.Form):
    month = forms.CharField(
        label=gettext_lazy("Month"),
        max_length=7,
        widget=UnfoldAdminTextInputWidget(attrs={"type": "month", "dir": "ltr"}),
        help_text=gettext_lazy("YYYY-MM"),
    )

    def clean_month(self):
        return month_first(digits_ascii(self.cleaned_data["month"]))


class SettlementItemForm(ReasonForm):
    kind = forms.ChoiceField(
        label=gettext_lazy("Kind"), choices=SettlementItem.Kind.choices, widget=UnfoldAdminSelectWidget
    )
    amount = MoneyField(label=gettext_lazy("Amount (EGP)"))
    field_order = ["kind", "amount", "reason"]


class PayoutForm(forms.Form):
    paid_on = forms.DateField(
        label=gettext_lazy("Paid on"),
        widget=UnfoldAdminTextInputWidget(attrs={"type": "date", "dir": "ltr"}),
        initial=timezone.localdate,
    )
    method = forms.ChoiceField(
        label=gettext_lazy("Method"), choices=PaymentMethod.choices, widget=UnfoldAdminSelectWidget
    )
    reference = forms.CharField(
        label=gettext_lazy("Reference"), required=False, max_length=80, widget=UnfoldAdminTextInputWidget
    )


# --- receipts and the cashier screen ----------------------------------------------------------------


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
class ReceiptAdmin(MoneyPermissionsMixin, CenterExportMixin, CenterModelAdmin):
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

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

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

    def _students(self, request):
        return scope_by_branch(Student.objects.filter(is_active=True), request.user)

    def cashier_view(self, request):
        if not request.user.has_perm("core.record_payment"):
            raise PermissionDenied
        term = request.GET.get("q", "").strip()
        found = []
        if term:
            ascii_term = digits_ascii(term).replace(" ", "")
            students = self._students(request)
            exact = students.filter(code__iexact=ascii_term).first()
            if exact is not None:
                return HttpResponseRedirect(reverse("admin:core_receipt_record", args=[exact.pk]))
            found = list(
                students_with_balance(students.filter(search_key__contains=search_key(term))).order_by("full_name")[:30]
            )
            for row in found:
                row.owed = money_round(row.owed)
        return _page(self, request, "admin/money/cashier.html", _("Cashier"), term=term, found=found)

    def record_view(self, request, student_id):
        """The student's money: owed per group; the cashier takes a payment here, the accountant
        (no cashier rights) sees the same page read-only with the discount links."""
        can_take = request.user.has_perm("core.record_payment")
        if not (can_take or request.user.has_perm("core.grant_discount")):
            raise PermissionDenied
        if request.method == "POST" and not can_take:
            raise PermissionDenied
        student = get_object_or_404(self._students(request), pk=student_id)
        # Every active enrollment and every ended one that still owes (R8), with the door's figures.
        enrollments = enrollments_payable(student)
        center, today = CenterSettings.load(), timezone.localdate()
        for row in enrollments:
            row.balance, row.owed = money_round(row.balance), money_round(row.owed)
            row.with_next_class, row.to_pay = None, row.owed
            if row.is_active:
                # What the door will ask at his next class (R4 + R5): the office sees the same number,
                # and takes it where the door would refuse him without it.
                verdict = money_verdict(row, today=today, center=center)
                row.with_next_class = verdict.owed
                if not verdict.admitted:
                    row.to_pay = max(row.owed, verdict.owed)
        to_pay = sum((row.to_pay for row in enrollments), money_round(0))
        initial = {"idempotency_key": uuid.uuid4().hex, "amount": to_pay if to_pay > 0 else None}
        form = PaymentForm(request.POST or None, enrollments=enrollments, initial=initial)
        repeat_receipt = None
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                receipt = payments.payment_record(
                    student=student,
                    cashier=request.user,
                    amount=None if data["lines"] else data["amount"],
                    lines=data["lines"] or None,
                    method=data["method"],
                    reference=data["reference"],
                    note=data["note"],
                    idempotency_key=data["idempotency_key"],
                    confirm_repeat=data["confirm_repeat"],
                )
            except ValidationError as error:
                repeat_receipt = _repeated_receipt(error, student)
                _form_errors(form, error)
            else:
                messages.success(
                    request,
                    _("Payment of %(amount)s recorded: receipt %(number)s.")
                    % {"amount": receipt.total, "number": receipt.number},
                )
                url = reverse("admin:core_receipt_print", args=[receipt.pk])
                return HttpResponseRedirect(f"{url}?layout={data['layout']}")
        owed_total = sum((row.owed for row in enrollments), money_round(0))
        recent = Receipt.objects.filter(student=student).select_related("cashier")[:5]
        return _page(
            self,
            request,
            "admin/money/record.html",
            _("Record a payment: %(student)s") % {"student": student},
            student=student,
            form=form,
            enrollments=enrollments,
            owed_total=owed_total,
            to_pay=to_pay,
            balance=payments.student_balance(student),
            recent=recent,
            rows=[(row, form[f"line_{row.pk}"]) for row in enrollments],
            can_discount=request.user.has_perm("core.grant_discount"),
            can_take=can_take,
            repeat_receipt=repeat_receipt,
        )

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
        form = form_class(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                apply(receipt, form.cleaned_data)
            except ValidationError as error:
                _form_errors(form, error)
            else:
                messages.success(request, _("Done."))
                return HttpResponseRedirect(reverse("admin:core_receipt_change", args=[receipt.pk]))
        return _page(self, request, "admin/money/form.html", title, form=form, subject=receipt)

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

    def discount_view(self, request, enrollment_id):
        if not request.user.has_perm("core.grant_discount"):
            raise PermissionDenied
        enrollment = get_object_or_404(
            scope_by_branch(Enrollment.objects.select_related("student", "group"), request.user, "student__branch"),
            pk=enrollment_id,
        )
        form = DiscountForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                payments.discount_grant(
                    enrollment=enrollment,
                    actor=request.user,
                    amount=form.cleaned_data["amount"],
                    reason=form.cleaned_data["reason"],
                )
            except ValidationError as error:
                _form_errors(form, error)
            else:
                messages.success(request, _("Done."))
                return HttpResponseRedirect(reverse("admin:core_receipt_record", args=[enrollment.student_id]))
        return _page(self, request, "admin/money/form.html", _("Discount"), form=form, subject=enrollment)

    def _drawer_branch(self, request) -> int:
        branch_ids = branch_ids_visible(request.user)
        wanted = request.GET.get("branch", "")
        if wanted.isdigit() and (branch_ids is None or int(wanted) in branch_ids):
            return int(wanted)
        if branch_ids:
            return branch_ids[0]
        first = Branch.objects.order_by("id").first()
        if first is None:
            raise Http404
        return first.pk

    def cash_close_view(self, request):
        if not request.user.has_perm("core.add_cashclose"):
            raise PermissionDenied
        branch_id = self._drawer_branch(request)
        form = CashCloseForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                close = payments.cash_close(
                    cashier=request.user,
                    branch_id=branch_id,
                    counted=form.cleaned_data["counted"],
                    note=form.cleaned_data["note"],
                )
            except ValidationError as error:
                _form_errors(form, error)
            else:
                messages.success(
                    request,
                    _("Drawer closed: expected %(expected)s, counted %(counted)s, difference %(difference)s.")
                    % {"expected": close.expected, "counted": close.counted, "difference": close.difference},
                )
                return HttpResponseRedirect(reverse("admin:core_cashclose_changelist"))
        summary = payments.drawer_summary(cashier=request.user, branch_id=branch_id)
        return _page(self, request, "admin/money/cash_close.html", _("Close my drawer"), form=form, summary=summary)

    # --- reports -----------------------------------------------------------------------------------

    def defaulters_view(self, request):
        """Students who owe, most first: owed, unpaid sessions, guardian phone (WhatsApp link)."""
        if not request.user.has_perm("core.view_money_reports"):
            raise PermissionDenied
        primary_phone = StudentGuardian.objects.filter(student=OuterRef("pk"), is_primary=True).values(
            "guardian__phone"
        )[:1]
        group_id = request.GET.get("group", "")
        owing = defaulters_owed(self._students(request), group_id=int(group_id) if group_id.isdigit() else None)
        export = request.GET.get("export", "")
        if export in {"xlsx", "csv"}:  # every defaulter, not one page (SPEC §4: reports export too)
            owed_rows = list(owing[:DEFAULTERS_EXPORT_LIMIT])
            page = None
        else:
            # No total count: a page and whether there is a next one.
            raw_page = request.GET.get("page", "1")
            number = int(raw_page) if raw_page.isdigit() and 0 < int(raw_page) < 10_000 else 1
            start = (number - 1) * DEFAULTERS_PER_PAGE
            owed_rows = list(owing[start : start + DEFAULTERS_PER_PAGE + 1])
            page = {
                "number": number,
                "previous": number - 1 if number > 1 else None,
                "next": number + 1 if len(owed_rows) > DEFAULTERS_PER_PAGE else None,
            }
            owed_rows = owed_rows[:DEFAULTERS_PER_PAGE]
        by_id = (
            Student.objects.annotate(guardian_phone=Subquery(primary_phone))
            .select_related("branch")
            .in_bulk([row["student_id"] for row in owed_rows])
        )
        rows = []
        for row in owed_rows:
            student = by_id[row["student_id"]]
            student.owed = row["owed"]
            rows.append(student)
        # Unpaid sessions per student: the owing session-group enrollments of this page, one query.
        session_rows = (
            enrollments_with_balance(
                Enrollment.objects.filter(student__in=rows, is_active=True, group__fee_period="session")
            )
            .filter(owed__gt=0)
            .select_related("group")
        )
        unpaid: dict[int, int] = {}
        for enrollment in session_rows:
            unpaid[enrollment.student_id] = unpaid.get(enrollment.student_id, 0) + unpaid_sessions(
                money_round(enrollment.owed), money_round(enrollment.price or 0)
            )
        for student in rows:
            student.owed = money_round(student.owed)
            student.unpaid_sessions = unpaid.get(student.pk, 0)
            phone = (student.guardian_phone or "").lstrip("+")
            student.whatsapp_url = f"https://wa.me/{quote(phone)}" if phone else ""
        if page is None:
            return export_response(
                headers=[
                    _("code"),
                    _("student"),
                    _("branch"),
                    _("owed"),
                    _("unpaid sessions"),
                    _("guardian phone"),
                    _("WhatsApp"),
                ],
                rows=(
                    [
                        student.code,
                        student.full_name,
                        str(student.branch),
                        student.owed,
                        student.unpaid_sessions,
                        student.guardian_phone or "",
                        student.whatsapp_url,
                    ]
                    for student in rows
                ),
                title=_("Defaulters"),
                file_stem="defaulters",
                file_format=export,
            )
        groups = scope_by_branch(Group.objects.filter(is_active=True), request.user).order_by("code")
        return _page(
            self,
            request,
            "admin/money/defaulters.html",
            _("Defaulters"),
            page=page,
            rows=rows,
            groups=groups,
            group_id=group_id,
        )

    def collections_view(self, request):
        """Collections per day by method and cashier (voided receipts excluded, refunds shown)."""
        if not request.user.has_perm("core.view_money_reports"):
            raise PermissionDenied
        today = timezone.localdate()
        try:
            start = datetime.date.fromisoformat(request.GET.get("from", "")) if request.GET.get("from") else None
            end = datetime.date.fromisoformat(request.GET.get("to", "")) if request.GET.get("to") else None
        except ValueError:
            start = end = None
        start = start or today.replace(day=1)
        end = end or today
        receipts = self.get_queryset(request).filter(date__gte=start, date__lte=end, voided_at__isnull=True)
        rows = list(
            receipts.values("date", "method", "cashier__username", "cashier__first_name", "cashier__last_name")
            .annotate(total=Sum("total"), count=Count("id"))
            .order_by("-date", "method", "cashier__username")
        )
        refunds = (
            LedgerEntry.objects.filter(
                entry_type=EntryType.REFUND,
                date__gte=start,
                date__lte=end,
                receipt__in=self.get_queryset(request),
            ).aggregate(total=Sum("amount"))["total"]
            or 0
        )
        methods = dict(PaymentMethod.choices)
        by_method: dict[str, object] = {}
        for row in rows:
            row["total"] = money_round(row["total"])
            row["method_label"] = methods.get(row["method"], row["method"])
            full = f"{row['cashier__first_name']} {row['cashier__last_name']}".strip()
            row["cashier"] = full or row["cashier__username"]
            by_method[row["method_label"]] = by_method.get(row["method_label"], 0) + row["total"]
        total = money_round(sum((row["total"] for row in rows), 0))
        refunds = money_round(refunds)
        return _page(
            self,
            request,
            "admin/money/collections.html",
            _("Collections"),
            rows=rows,
            start=start,
            end=end,
            by_method=sorted(by_method.items()),
            total=total,
            refunds=refunds,
            net=total - refunds,
        )


# --- the ledger (read only) ------------------------------------------------------------------------


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyMixin, CenterExportMixin, CenterModelAdmin):
    branch_path = "enrollment__student__branch"
    list_display = ["date", "entry_type", "amount", "enrollment", "receipt", "source", "created_by", "note"]
    list_filter = [("entry_type", ChoicesDropdownFilter), ("date", RangeDateFilter), "source"]
    search_fields = ["enrollment__student__code", "enrollment__student__full_name", "receipt__number", "note"]
    list_select_related = ["enrollment__student", "enrollment__group", "receipt", "created_by"]


# --- cash closes -----------------------------------------------------------------------------------


@admin.register(CashClose)
class CashCloseAdmin(MoneyPermissionsMixin, CenterModelAdmin):
    list_display = ["period_end", "cashier", "branch", "receipts_count", "expected", "counted", "difference_display"]
    list_filter = [
        ("cashier", RelatedDropdownFilter),
        ("branch", RelatedDropdownFilter),
        ("period_end", RangeDateFilter),
    ]
    list_select_related = ["cashier", "branch"]
    readonly_fields = [
        "cashier",
        "branch",
        "period_start",
        "period_end",
        "receipts_count",
        "expected",
        "counted",
        "difference",
        "note",
        "created_at",
    ]
    fields = readonly_fields
    actions_list = ["close_drawer"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if not request.user.has_perm("core.view_all_cash_closes"):
            queryset = queryset.filter(cashier=request.user)
        return queryset

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @display(
        description=gettext_lazy("difference (EGP)"), label={"short": "danger", "over": "warning", "ok": "success"}
    )
    def difference_display(self, obj):
        state = "ok" if obj.difference == 0 else ("short" if obj.difference < 0 else "over")
        return state, str(obj.difference)

    @action(description=gettext_lazy("Close my drawer"), icon="savings", permissions=["add_cashclose"])
    def close_drawer(self, request):
        return HttpResponseRedirect(reverse("admin:core_receipt_cash_close"))


# --- settlements -----------------------------------------------------------------------------------


class SettlementLineInline(TabularInline):
    model = SettlementLine
    extra = 0
    max_num = 0
    can_delete = False
    fields = ["group", "kind", "collected", "quantity", "rate", "amount", "source_month", "note"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("group")


class SettlementItemInline(TabularInline):
    model = SettlementItem
    extra = 0
    max_num = 0
    can_delete = False
    fields = ["kind", "amount", "reason", "created_by", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


def settlements_visible(user, queryset=None):
    """Teachers see only their own statements; office staff see the teachers of their branches."""
    queryset = Settlement.objects.all() if queryset is None else queryset
    if is_teacher_only(user):
        return queryset.filter(teacher__user=user)
    branch_ids = branch_ids_visible(user)
    if branch_ids is None:
        return queryset
    return queryset.filter(Exists(Group.objects.filter(teacher=OuterRef("teacher"), branch_id__in=branch_ids)))


@admin.register(Settlement)
class SettlementAdmin(MoneyPermissionsMixin, CenterModelAdmin):
    branch_path = None
    list_display = ["teacher", "month_display", "status_display", "total", "approved_at", "paid_on"]
    list_filter = [("status", ChoicesDropdownFilter), ("teacher", AutocompleteSelectFilter), "month"]
    search_fields = ["teacher__full_name"]
    list_select_related = ["teacher"]
    readonly_fields = [
        "teacher",
        "month",
        "status",
        "total",
        "computed_at",
        "approved_at",
        "approved_by",
        "paid_on",
        "payout_method",
        "payout_reference",
        "approval_note",
    ]
    fields = readonly_fields
    inlines = [SettlementLineInline, SettlementItemInline]

    @display(description=gettext_lazy("approval"))
    def approval_note(self, obj):
        if obj.status != Settlement.Status.DRAFT:
            return "—"
        return settlements.settlement_approval_blocker(obj) or _("Ready to approve.")

    actions_list = ["open_run_month", "open_report"]
    actions_detail = ["print_statement", "recompute", "add_item", "approve", "mark_paid"]

    def get_queryset(self, request):
        return settlements_visible(request.user, super().get_queryset(request))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @display(description=gettext_lazy("month"), ordering="month")
    def month_display(self, obj):
        return ltr(f"{obj.month:%Y-%m}")

    @display(
        description=gettext_lazy("status"),
        label={
            Settlement.Status.DRAFT: "info",
            Settlement.Status.APPROVED: "warning",
            Settlement.Status.PAID: "success",
        },
    )
    def status_display(self, obj):
        return obj.status, obj.get_status_display()

    def _settlement(self, request, object_id) -> Settlement:
        return get_object_or_404(self.get_queryset(request).select_related("teacher"), pk=object_id)

    def _back(self, settlement):
        return HttpResponseRedirect(reverse("admin:core_settlement_change", args=[settlement.pk]))

    @action(description=gettext_lazy("Run a whole month"), icon="calculate", permissions=["run_settlement"])
    def open_run_month(self, request):
        return HttpResponseRedirect(reverse("admin:core_settlement_run_month"))

    @action(description=gettext_lazy("Settlements report"), icon="analytics", permissions=["view_money_reports"])
    def open_report(self, request):
        return HttpResponseRedirect(reverse("admin:core_settlement_report"))

    @action(description=gettext_lazy("Print statement"), icon="print")
    def print_statement(self, request, object_id):
        return HttpResponseRedirect(reverse("admin:core_settlement_print", args=[object_id]))

    @action(description=gettext_lazy("Recompute"), icon="refresh", permissions=["run_settlement"])
    def recompute(self, request, object_id):
        settlement = self._settlement(request, object_id)
        # A GET (a link, a prefetch, a crawler) only asks: the draft changes on the POST.
        if request.method != "POST":
            return _page(
                self,
                request,
                "admin/money/confirm.html",
                _("Recompute settlement"),
                subject=settlement,
                question=_("Recompute %(settlement)s from this month's payments and sessions?")
                % {"settlement": settlement},
                blocked=_("This settlement is approved and locked.") if settlement.is_locked else "",
                back_url=reverse("admin:core_settlement_change", args=[settlement.pk]),
            )
        try:
            settlements.settlement_run(teacher=settlement.teacher, month=settlement.month, actor=request.user)
        except ValidationError as error:
            for message in validation_messages(error):
                messages.error(request, message)
        else:
            messages.success(request, _("Recomputed."))
        return self._back(settlement)

    @action(description=gettext_lazy("Add a deduction or advance"), icon="remove", permissions=["run_settlement"])
    def add_item(self, request, object_id):
        return HttpResponseRedirect(reverse("admin:core_settlement_item", args=[object_id]))

    @action(description=gettext_lazy("Approve"), icon="verified", permissions=["approve_settlement"])
    def approve(self, request, object_id):
        settlement = self._settlement(request, object_id)
        if request.method != "POST":
            return _page(
                self,
                request,
                "admin/money/confirm.html",
                _("Approve settlement"),
                subject=settlement,
                question=_("Approve %(settlement)s for %(total)s EGP? It is locked afterwards.")
                % {"settlement": settlement, "total": settlement.total},
                # Why it cannot be approved yet (the month has not ended, ...): no button then.
                blocked=settlements.settlement_approval_blocker(settlement),
                back_url=reverse("admin:core_settlement_change", args=[settlement.pk]),
            )
        try:
            settlements.settlement_approve(settlement=settlement, actor=request.user)
        except ValidationError as error:
            for message in validation_messages(error):
                messages.error(request, message)
        else:
            messages.success(request, _("Approved."))
        return self._back(settlement)

    @action(description=gettext_lazy("Mark paid"), icon="payments", permissions=["run_settlement"])
    def mark_paid(self, request, object_id):
        return HttpResponseRedirect(reverse("admin:core_settlement_pay", args=[object_id]))

    def get_urls(self):
        view = self.admin_site.admin_view
        own = [
            path("run-month/", view(self.run_month_view), name="core_settlement_run_month"),
            path("runs/<int:run_id>/", view(self.run_progress_view), name="core_settlement_run"),
            path("report/", view(self.report_view), name="core_settlement_report"),
            path("<int:object_id>/print/", view(self.print_view), name="core_settlement_print"),
            path("<int:object_id>/item/", view(self.item_view), name="core_settlement_item"),
            path("<int:object_id>/pay/", view(self.pay_view), name="core_settlement_pay"),
        ]
        return own + super().get_urls()

    def run_month_view(self, request):
        if not request.user.has_perm("core.run_settlement"):
            raise PermissionDenied
        last_month = month_after(timezone.localdate().replace(day=1), -1)
        form = MonthForm(request.POST or None, initial={"month": f"{last_month:%Y-%m}"})
        if request.method == "POST" and form.is_valid():
            run = settlements.settlement_run_start(month=form.cleaned_data["month"], actor=request.user)
            return HttpResponseRedirect(reverse("admin:core_settlement_run", args=[run.pk]))
        return _page(
            self,
            request,
            "admin/money/form.html",
            _("Run settlements for a month"),
            form=form,
            submit_label=_("Run the settlements of this month"),
        )

    def run_progress_view(self, request, run_id):
        if not request.user.has_perm("core.run_settlement"):
            raise PermissionDenied
        run = get_object_or_404(SettlementRun, pk=run_id)
        changelist = reverse("admin:core_settlement_changelist") + f"?month={run.month:%Y-%m-%d}"
        return _page(self, request, "admin/money/run.html", _("Settlement run"), run=run, changelist=changelist)

    def _settlement_form_view(self, request, object_id, *, form_class, title, apply, initial=None):
        if not request.user.has_perm("core.run_settlement"):
            raise PermissionDenied
        settlement = self._settlement(request, object_id)
        form = form_class(request.POST or None, initial=initial)
        if request.method == "POST" and form.is_valid():
            try:
                apply(settlement, form.cleaned_data)
            except ValidationError as error:
                _form_errors(form, error)
            else:
                messages.success(request, _("Done."))
                return self._back(settlement)
        return _page(self, request, "admin/money/form.html", title, form=form, subject=settlement)

    def item_view(self, request, object_id):
        return self._settlement_form_view(
            request,
            object_id,
            form_class=SettlementItemForm,
            title=_("Add a deduction or advance"),
            apply=lambda settlement, data: settlements.settlement_item_add(
                settlement=settlement,
                actor=request.user,
                kind=data["kind"],
                amount=data["amount"],
                reason=data["reason"],
            ),
        )

    def pay_view(self, request, object_id):
        return self._settlement_form_view(
            request,
            object_id,
            form_class=PayoutForm,
            title=_("Mark paid"),
            apply=lambda settlement, data: settlements.settlement_pay(
                settlement=settlement,
                actor=request.user,
                paid_on=data["paid_on"],
                method=data["method"],
                reference=data["reference"],
            ),
        )

    @csp_strict
    def print_view(self, request, object_id):
        if not self.has_view_permission(request):
            raise PermissionDenied
        settlement = self._settlement(request, object_id)
        context = {
            "title": _("Statement %(settlement)s") % {"settlement": settlement},
            "settlement": settlement,
            "lines": settlement.lines.select_related("group").order_by("kind", "group__code"),
            "items": settlement.items.all(),
            **_center_context(),
        }
        return render(request, "core/print/statement.html", context)

    def report_view(self, request):
        """Per month: per teacher and group, collected, the teacher's share and the center's margin."""
        if not request.user.has_perm("core.view_money_reports"):
            raise PermissionDenied
        form = MonthForm(request.GET or None)
        month = form.cleaned_data["month"] if form.is_valid() else month_after(timezone.localdate().replace(day=1), -1)
        lines = (
            SettlementLine.objects.filter(settlement__in=self.get_queryset(request).filter(month=month))
            .values("settlement__teacher__full_name", "settlement__status", "group__code", "group__name", "kind")
            .annotate(collected=Sum("collected"), amount=Sum("amount"), quantity=Sum("quantity"))
            .order_by("settlement__teacher__full_name", "group__code")
        )
        # For per-session and per-student groups, the center's income is what the group's
        # students paid in the month (the same "collected" as the percent scheme).
        rows = []
        for line in lines:
            is_adjustment = line["kind"] == SettlementLine.Kind.ADJUSTMENT
            line["collected"], line["amount"] = money_round(line["collected"]), money_round(line["amount"])
            line["margin"] = None if is_adjustment else line["collected"] - line["amount"]
            line["kind"] = SettlementLine.Kind(line["kind"]).label
            rows.append(line)
        totals = {
            "amount": money_round(sum((row["amount"] for row in rows), 0)),
        }
        return _page(
            self,
            request,
            "admin/money/settlement_report.html",
            _("Settlements report"),
            form=form,
            month=month,
            rows=rows,
            totals=totals,
        )
