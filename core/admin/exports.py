"""Export of any admin list (and of the reports) to .xlsx or .csv: the filtered, branch-scoped rows
the user can see.

django-import-export's ExportMixin with unfold's form; who may view a list may export it
(``has_export_permission``). The resources (core/imports/resources.py) give plain Python values;
the two writers here decide how each is written, with the formula escaping of every file the
project writes (core/imports/formulas.py):

- .xlsx: text as text cells (a phone reads ``+2010…`` with no apostrophe; a cell starting with
  ``=``, ``+``, ``-``, ``@``, tab or carriage return is a marked string, so no spreadsheet runs it), numbers as number cells (money with two
  decimals and thousands separators), dates as dates, yes/no in the user's language, the sheet
  right to left and named in the user's language when it is Arabic;
- .csv: with a BOM so Excel reads Arabic; a cell starting with ``=``, ``+``, ``-``, ``@``, tab or
  carriage return gets an apostrophe (the student import strips it again).
"""

import csv
import datetime
import io
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.utils import timezone, translation
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from import_export.admin import ExportMixin
from import_export.formats import base_formats
from unfold.contrib.import_export.forms import ExportForm

from core.imports.formulas import csv_neutral, sheet_name, xlsx_text_cell
from core.imports.resources import resource_for

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MONEY_FORMAT = "#,##0.00"


def export_value(value):
    """A value as a person reads it, before it is written: yes/no in the user's language, times
    in the center's time zone."""
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, datetime.datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.replace(tzinfo=None, microsecond=0)
    return value


def _csv_text(value) -> str:
    value = export_value(value)
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return csv_neutral(str(value))


def rows_csv(headers: list[str], rows) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([csv_neutral(str(header)) for header in headers])
    for row in rows:
        writer.writerow([_csv_text(value) for value in row])
    return buffer.getvalue()


def is_rtl() -> bool:
    return translation.get_language_bidi()


def _xlsx_cell(worksheet, value):
    from openpyxl.cell import WriteOnlyCell

    value = export_value(value)
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        cell = WriteOnlyCell(worksheet, value=value)
        cell.number_format = MONEY_FORMAT
        return cell
    if isinstance(value, int | float):
        return WriteOnlyCell(worksheet, value=value)
    if isinstance(value, datetime.datetime):
        cell = WriteOnlyCell(worksheet, value=value)
        cell.number_format = "yyyy-mm-dd hh:mm"
        return cell
    if isinstance(value, datetime.date):
        cell = WriteOnlyCell(worksheet, value=value)
        cell.number_format = "yyyy-mm-dd"
        return cell
    return xlsx_text_cell(worksheet, str(value))


def rows_xlsx(headers: list[str], rows, *, title) -> bytes:
    """One worksheet: bold header, frozen, right to left in Arabic, typed cells (see above)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    worksheet = workbook.create_sheet(title=sheet_name(title))
    worksheet.sheet_view.rightToLeft = is_rtl()
    worksheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header_cells = []
    for header in headers:
        cell = xlsx_text_cell(worksheet, str(header))
        cell.font = bold
        header_cells.append(cell)
    worksheet.append(header_cells)
    for row in rows:
        worksheet.append([_xlsx_cell(worksheet, value) for value in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def export_response(*, headers: list[str], rows, title, file_stem: str, file_format: str) -> HttpResponse:
    """A report's rows as an .xlsx or .csv download (the reports use this; lists go through
    the mixin below, with the same writers)."""
    stamp = f"{timezone.localdate():%Y-%m-%d}"
    if file_format == "csv":
        response = HttpResponse(rows_csv(headers, rows).encode("utf-8-sig"), content_type="text/csv; charset=utf-8")
        extension = "csv"
    else:
        response = HttpResponse(rows_xlsx(headers, rows, title=title), content_type=XLSX_TYPE)
        extension = "xlsx"
    response["Content-Disposition"] = f'attachment; filename="{file_stem}-{stamp}.{extension}"'
    return response


class TypedXLSX(base_formats.XLSX):
    """.xlsx written by ``rows_xlsx``: typed cells, right to left in Arabic, named sheet."""

    def export_data(self, dataset, **kwargs):
        return rows_xlsx(dataset.headers, dataset, title=dataset.title or "")


class NeutralCSV(base_formats.CSV):
    """.csv written by ``rows_csv``: formula cells neutralized, yes/no translated."""

    def export_data(self, dataset, **kwargs):
        return rows_csv(dataset.headers, dataset)


class CenterExportForm(ExportForm):
    """unfold's export form with .xlsx chosen already (the first of our formats)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["format"].initial = "0"


class CenterExportMixin(ExportMixin):
    export_form_class = CenterExportForm
    formats = [TypedXLSX, NeutralCSV]
    to_encoding = "utf-8-sig"  # the BOM: Excel opens Arabic CSV as UTF-8
    export_resource_class = None
    import_kind: str = ""  # shows an "Import" button beside "Export" when the user may import
    import_export_change_list_template = "admin/imports/change_list.html"

    def get_export_resource_classes(self, request):
        resource = self.export_resource_class or resource_for(self.model)
        hides_pay_terms = getattr(self, "_hides_pay_terms", None)  # CenterModelAdmin's rule
        if hides_pay_terms is not None and hides_pay_terms(request):
            # The same columns the page hides (teachers' pay terms) stay out of the file too.
            shown = [name for name in resource._meta.fields if name not in self.pay_term_fields]
            meta = type("Meta", (resource.Meta,), {"fields": shown, "export_order": shown})
            resource = type(resource.__name__, (resource,), {"Meta": meta, "__module__": resource.__module__})
        return [resource]

    def has_export_permission(self, request):
        return self.has_view_permission(request)

    def get_export_data(self, file_format, request, queryset, **kwargs):
        """As django-import-export's, with plain Python values for both formats (each writer
        renders them) and the list's name, in the user's language, as the sheet name."""
        if not self.has_export_permission(request):
            raise PermissionDenied
        kwargs["force_native_type"] = True
        data = self.get_data_for_export(request, queryset, **kwargs)
        data.title = capfirst(str(self.model._meta.verbose_name_plural))
        export_data = file_format.export_data(data)
        encoding = kwargs.get("encoding")
        if not file_format.is_binary() and encoding:
            export_data = export_data.encode(encoding)
        return export_data

    def changelist_view(self, request, extra_context=None):
        from django.urls import reverse

        from core.admin.imports import can_import

        extra_context = extra_context or {}
        if self.import_kind and can_import(request.user, self.import_kind):
            extra_context["import_url"] = reverse("admin:core_importjob_upload", args=[self.import_kind])
        return super().changelist_view(request, extra_context)

    def get_export_filename(self, request, queryset, file_format):
        return f"{self.model._meta.model_name}-{timezone.localdate():%Y-%m-%d}.{file_format.get_extension()}"
