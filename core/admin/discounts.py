"""Discount rules in the admin (issue 18): the owner sets them, the office reads them and the
discounts they gave, month by month.

Saves go through core/services/discount_rules.discount_rule_save (validation in words, audit row).
"""

import datetime

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from unfold.contrib.filters.admin import ChoicesDropdownFilter
from unfold.decorators import action, display

from core.access.scoping import branch_ids_visible
from core.admin.base import CenterModelAdmin, ReadOnlyMixin, ServiceErrorsMixin
from core.admin.money.common import admin_page
from core.models import DiscountApplication, DiscountKind, DiscountRule
from core.selectors.catalog import discounts_month
from core.selectors.money import ZERO
from core.services.discount_rules import RULE_FIELDS, discount_rule_save


@admin.register(DiscountRule)
class DiscountRuleAdmin(ServiceErrorsMixin, CenterModelAdmin):
    branch_path = None
    list_display = ["name", "kind", "off", "group", "student", "starts_on", "ends_on", "is_active"]
    list_filter = [("kind", ChoicesDropdownFilter), "is_active"]
    search_fields = ["name", "student__full_name", "student__code", "reason"]
    list_select_related = ["group", "student"]
    autocomplete_fields = ["group", "student"]
    fields = [
        "name",
        "kind",
        "percent",
        "fixed_amount",
        "group",
        "student",
        "reason",
        "starts_on",
        "ends_on",
        "is_active",
    ]
    actions_list = ["month_report"]

    def has_delete_permission(self, request, obj=None):
        return False  # discounts given point at it: end it or mark it inactive

    def has_view_discountrule_permission(self, request, object_id=None) -> bool:
        return request.user.has_perm("core.view_discountrule")

    @display(description=gettext_lazy("off"))
    def off(self, obj):
        return f"{obj.percent}%" if obj.percent is not None else f"{obj.fixed_amount}"

    def get_changeform_initial_data(self, request):
        return {"starts_on": timezone.localdate(), "kind": DiscountKind.SIBLING}

    def save_model(self, request, obj, form, change):
        fields = {name: form.cleaned_data[name] for name in RULE_FIELDS if name in form.cleaned_data}
        saved = discount_rule_save(actor=request.user, rule=obj if change else None, **fields)
        obj.pk = saved.pk

    @action(description=gettext_lazy("Discounts per month"), icon="percent", permissions=["view_discountrule"])
    def month_report(self, request):
        return HttpResponseRedirect(reverse("admin:core_discountrule_report"))

    def get_urls(self):
        view = self.admin_site.admin_view
        own = [path("report/", view(self.report_view), name="core_discountrule_report")]
        return own + super().get_urls()

    def report_view(self, request):
        if not request.user.has_perm("core.view_discountrule"):
            raise PermissionDenied
        try:
            month = datetime.date.fromisoformat(f"{request.GET.get('month', '')[:7]}-01")
        except ValueError:
            month = timezone.localdate().replace(day=1)
        rows = discounts_month(month=month, branch_ids=branch_ids_visible(request.user))
        kinds = dict(DiscountKind.choices)
        shown = [
            {
                "name": row.name or _("Granted by hand at the desk"),
                "kind": kinds.get(row.kind, _("By hand")),
                "charges": row.charges,
                "total": row.total,
            }
            for row in rows
        ]
        return admin_page(
            self,
            request,
            "admin/catalog/discounts_report.html",
            _("Discounts per month"),
            month=month,
            rows=shown,
            total=sum((row.total for row in rows), ZERO),
        )


@admin.register(DiscountApplication)
class DiscountApplicationAdmin(ReadOnlyMixin, CenterModelAdmin):
    branch_path = "charge__enrollment__group__branch"
    list_display = ["entry_date", "rule", "student", "group", "charge_amount", "amount", "undone_at"]
    list_filter = [("rule__kind", ChoicesDropdownFilter)]
    search_fields = ["rule__name", "charge__enrollment__student__full_name", "charge__enrollment__student__code"]
    list_select_related = ["rule", "charge__enrollment__student", "charge__enrollment__group", "entry"]

    @display(description=gettext_lazy("date"), ordering="entry__date")
    def entry_date(self, obj):
        return obj.entry.date

    @display(description=gettext_lazy("student"))
    def student(self, obj):
        return obj.charge.enrollment.student

    @display(description=gettext_lazy("group"))
    def group(self, obj):
        return obj.charge.enrollment.group.code

    @display(description=gettext_lazy("charge (EGP)"))
    def charge_amount(self, obj):
        return obj.charge.amount
