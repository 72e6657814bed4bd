"""Export of any admin list to .xlsx or .csv: the filtered, branch-scoped rows the user can see.

django-import-export's ExportMixin with unfold's form; who may view a list may export it
(``has_export_permission``); CSV is written with a BOM so Excel reads Arabic correctly;
formula cells are neutralized by the resources (core/resources.py).
"""

from import_export.admin import ExportMixin
from import_export.formats import base_formats
from unfold.contrib.import_export.forms import ExportForm

from core.resources import resource_for


class CenterExportForm(ExportForm):
    """unfold's export form with .xlsx chosen already (the first of our formats)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["format"].initial = "0"


class CenterExportMixin(ExportMixin):
    export_form_class = CenterExportForm
    formats = [base_formats.XLSX, base_formats.CSV]
    to_encoding = "utf-8-sig"  # the BOM: Excel opens Arabic CSV as UTF-8
    export_resource_class = None
    import_kind: str = ""  # shows an "Import" button beside "Export" when the user may import
    import_export_change_list_template = "admin/imports/change_list.html"

    def get_export_resource_classes(self, request):
        return [self.export_resource_class or resource_for(self.model)]

    def has_export_permission(self, request):
        return self.has_view_permission(request)

    def changelist_view(self, request, extra_context=None):
        from django.urls import reverse

        from core.admin.imports import can_import

        extra_context = extra_context or {}
        if self.import_kind and can_import(request.user, self.import_kind):
            extra_context["import_url"] = reverse("admin:core_importjob_upload", args=[self.import_kind])
        return super().changelist_view(request, extra_context)

    def get_export_filename(self, request, queryset, file_format):
        from django.utils import timezone

        return f"{self.model._meta.model_name}-{timezone.localdate():%Y-%m-%d}.{file_format.get_extension()}"
