"""The cashier's drawer close (SPEC.md §2 Cash close): the close page and the list of closes
(a cashier sees his own; ``view_all_cash_closes`` sees every cashier's)."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from unfold.contrib.filters.admin import RangeDateFilter, RelatedDropdownFilter
from unfold.decorators import action, display

from core.access.scoping import branch_ids_visible
from core.admin.base import CenterModelAdmin, ReadOnlyMixin
from core.admin.money.common import MoneyPermissionsMixin, form_page
from core.admin.money.forms import CashCloseForm
from core.models import Branch, CashClose
from core.services import payments


class DrawerPagesMixin:
    """The close page of ReceiptAdmin (``admin:core_receipt_cash_close``)."""

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
        return form_page(
            self,
            request,
            form=form,
            title=_("Close my drawer"),
            template="admin/money/cash_close.html",
            apply=lambda data: payments.cash_close(
                cashier=request.user, branch_id=branch_id, counted=data["counted"], note=data["note"]
            ),
            success=lambda close: (
                _("Drawer closed: expected %(expected)s, counted %(counted)s, difference %(difference)s.")
                % {"expected": close.expected, "counted": close.counted, "difference": close.difference}
            ),
            done_url=reverse("admin:core_cashclose_changelist"),
            # Read only when the page is shown (a close redirects): what the drawer should hold now.
            shown_context=lambda: {"summary": payments.drawer_summary(cashier=request.user, branch_id=branch_id)},
        )


@admin.register(CashClose)
class CashCloseAdmin(ReadOnlyMixin, MoneyPermissionsMixin, CenterModelAdmin):
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

    @display(
        description=gettext_lazy("difference (EGP)"), label={"short": "danger", "over": "warning", "ok": "success"}
    )
    def difference_display(self, obj):
        state = "ok" if obj.difference == 0 else ("short" if obj.difference < 0 else "over")
        return state, str(obj.difference)

    @action(description=gettext_lazy("Close my drawer"), icon="savings", permissions=["add_cashclose"])
    def close_drawer(self, request):
        return HttpResponseRedirect(reverse("admin:core_receipt_cash_close"))
