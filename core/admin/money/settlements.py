"""Teachers' settlements (SPEC.md R9): the statements (read only; a teacher sees his own), a
month's run, recompute, deductions and advances, approval and payout, the printed statement and
the month's report. Every button calls a service in core/services/settlements.py."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, OuterRef
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from unfold.admin import TabularInline
from unfold.contrib.filters.admin import AutocompleteSelectFilter, ChoicesDropdownFilter
from unfold.decorators import action, display

from core.access.scoping import branch_ids_visible, is_teacher_only
from core.admin.base import CenterModelAdmin, ReadOnlyMixin, validation_messages
from core.admin.cards import _center_context
from core.admin.money.common import MoneyPermissionsMixin, admin_page, form_page, ltr
from core.admin.money.forms import MonthForm, PayoutForm, SettlementItemForm
from core.models import Group, Settlement, SettlementItem, SettlementLine, SettlementRun
from core.selectors.money_reports import settlement_report_rows
from core.services import settlements
from core.services.settlements import month_after
from core.web.csp import csp_strict


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
class SettlementAdmin(ReadOnlyMixin, MoneyPermissionsMixin, CenterModelAdmin):
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

    def _confirm_then(self, request, settlement, *, title, ask, apply, done):
        """A button that changes a settlement. A GET (a link, a prefetch, a crawler) only asks:
        ``ask()`` gives the question and why it cannot be done yet (no button then). The POST
        calls ``apply()`` (a service, which checks again); a refusal shows as a message."""
        if request.method != "POST":
            return admin_page(
                self,
                request,
                "admin/money/confirm.html",
                title,
                subject=settlement,
                back_url=reverse("admin:core_settlement_change", args=[settlement.pk]),
                **ask(),
            )
        try:
            apply()
        except ValidationError as error:
            for message in validation_messages(error):
                messages.error(request, message)
        else:
            messages.success(request, done)
        return self._back(settlement)

    @action(description=gettext_lazy("Recompute"), icon="refresh", permissions=["run_settlement"])
    def recompute(self, request, object_id):
        settlement = self._settlement(request, object_id)
        return self._confirm_then(
            request,
            settlement,
            title=_("Recompute settlement"),
            ask=lambda: {
                "question": _("Recompute %(settlement)s from this month's payments and sessions?")
                % {"settlement": settlement},
                "blocked": _("This settlement is approved and locked.") if settlement.is_locked else "",
            },
            apply=lambda: settlements.settlement_run(
                teacher=settlement.teacher, month=settlement.month, actor=request.user
            ),
            done=_("Recomputed."),
        )

    @action(description=gettext_lazy("Add a deduction or advance"), icon="remove", permissions=["run_settlement"])
    def add_item(self, request, object_id):
        return HttpResponseRedirect(reverse("admin:core_settlement_item", args=[object_id]))

    @action(description=gettext_lazy("Approve"), icon="verified", permissions=["approve_settlement"])
    def approve(self, request, object_id):
        settlement = self._settlement(request, object_id)
        return self._confirm_then(
            request,
            settlement,
            title=_("Approve settlement"),
            ask=lambda: {
                "question": _("Approve %(settlement)s for %(total)s EGP? It is locked afterwards.")
                % {"settlement": settlement, "total": settlement.total},
                # Why it cannot be approved yet (the month has not ended, ...): no button then.
                "blocked": settlements.settlement_approval_blocker(settlement),
            },
            apply=lambda: settlements.settlement_approve(settlement=settlement, actor=request.user),
            done=_("Approved."),
        )

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
        return admin_page(
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
        return admin_page(self, request, "admin/money/run.html", _("Settlement run"), run=run, changelist=changelist)

    def _settlement_form_view(self, request, object_id, *, form_class, title, apply, initial=None):
        if not request.user.has_perm("core.run_settlement"):
            raise PermissionDenied
        settlement = self._settlement(request, object_id)
        return form_page(
            self,
            request,
            form=form_class(request.POST or None, initial=initial),
            title=title,
            apply=lambda data: apply(settlement, data),
            done_url=reverse("admin:core_settlement_change", args=[settlement.pk]),
            subject=settlement,
        )

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
        rows, totals = settlement_report_rows(self.get_queryset(request), month=month)
        return admin_page(
            self,
            request,
            "admin/money/settlement_report.html",
            _("Settlements report"),
            form=form,
            month=month,
            rows=rows,
            totals=totals,
        )
