"""The ledger, read only (SPEC.md §2 Ledger): entries are written by the services alone."""

from django.contrib import admin
from django.db.models import Prefetch
from django.utils.translation import gettext_lazy
from unfold.contrib.filters.admin import ChoicesDropdownFilter, RangeDateFilter
from unfold.decorators import display

from core.admin.base import CenterModelAdmin, ReadOnlyMixin
from core.admin.exports import CenterExportMixin
from core.models import DiscountApplication, LedgerEntry
from core.selectors.money import money_text


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyMixin, CenterExportMixin, CenterModelAdmin):
    branch_path = "enrollment__student__branch"
    list_display = [
        "date",
        "entry_type",
        "amount",
        "rule_discounts",
        "enrollment",
        "receipt",
        "source",
        "created_by",
        "note",
    ]
    list_filter = [("entry_type", ChoicesDropdownFilter), ("date", RangeDateFilter), "source"]
    search_fields = ["enrollment__student__code", "enrollment__student__full_name", "receipt__number", "note"]
    list_select_related = ["enrollment__student", "enrollment__group", "receipt", "created_by"]

    def get_queryset(self, request):
        # A charge shows the discounts the owner's rules gave it (issue 18): one query for the page.
        given = DiscountApplication.objects.filter(undone_at__isnull=True).select_related("rule")
        return (
            super()
            .get_queryset(request)
            .prefetch_related(Prefetch("discount_applications", queryset=given, to_attr="rule_discounts_given"))
        )

    @display(description=gettext_lazy("discounts"))
    def rule_discounts(self, obj):
        given = getattr(obj, "rule_discounts_given", [])
        return " · ".join(f"{application.rule.name} −{money_text(application.amount)}" for application in given) or ""
