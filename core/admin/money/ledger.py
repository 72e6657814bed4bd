"""The ledger, read only (SPEC.md §2 Ledger): entries are written by the services alone."""

from django.contrib import admin
from unfold.contrib.filters.admin import ChoicesDropdownFilter, RangeDateFilter

from core.admin.base import CenterModelAdmin, ReadOnlyMixin
from core.admin.exports import CenterExportMixin
from core.models import LedgerEntry


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyMixin, CenterExportMixin, CenterModelAdmin):
    branch_path = "enrollment__student__branch"
    list_display = ["date", "entry_type", "amount", "enrollment", "receipt", "source", "created_by", "note"]
    list_filter = [("entry_type", ChoicesDropdownFilter), ("date", RangeDateFilter), "source"]
    search_fields = ["enrollment__student__code", "enrollment__student__full_name", "receipt__number", "note"]
    list_select_related = ["enrollment__student", "enrollment__group", "receipt", "created_by"]
