"""A group picked by typing, for the pages outside the changelists (the defaulters report, the
attendance sheet).

A big center has more than a thousand groups: listed in a drop-down they were 1,360 options and
most of a 330 KB page. This is the admin's own autocomplete (select2 over ``/admin/autocomplete/``,
answered by ``GroupAdmin``'s search and scope), as the changelists' group filters use it: the page
carries only the chosen group, and a user finds only the groups of his branches.
"""

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from core.models import Enrollment


class GroupPicker(forms.Form):
    def __init__(self, data, *, groups: QuerySet, required: bool = False, element_id: str = "id_group") -> None:
        super().__init__(data)
        widget = AutocompleteSelect(
            Enrollment._meta.get_field("group"),
            admin.site,
            attrs={"class": "unfold-filter-autocomplete", "id": element_id},
        )
        self.fields["group"] = forms.ModelChoiceField(
            label=_("Group"), queryset=groups, required=required, widget=widget
        )

    @property
    def chosen(self):
        """The chosen group (one of ``groups``), or None when nothing or something else was sent."""
        return self.cleaned_data.get("group") if self.is_valid() else None

    class Media:
        # As unfold's autocomplete filters (unfold.contrib.filters.forms.AutocompleteDropdownForm).
        js = (
            f"admin/js/vendor/jquery/jquery{'' if settings.DEBUG else '.min'}.js",
            "admin/js/vendor/select2/select2.full.js",
            "admin/js/jquery.init.js",
            "unfold/js/select2.init.js",
        )
