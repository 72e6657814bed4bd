"""The two spreadsheets the import writes: the error report (the uploaded sheet with an "Errors"
column, to fix and upload again) and the template of each kind (Arabic headers, an example row,
drop-down lists). Every cell goes through core/imports/formulas.py: nothing written here runs as a
formula when the file is opened."""

import datetime
import io
from collections import defaultdict

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from core.access.scoping import branch_ids_visible
from core.imports.cells import ExcelDate, ImportFileError
from core.imports.engine import IMPORTERS
from core.imports.formulas import sheet_name, text_cell_mark, xlsx_text_cell
from core.imports.headers import sheet_parts
from core.imports.jobs import job_data
from core.imports.reader import sheet_read
from core.models import FeePlan, Grade, Group, ImportJob


def error_report(job: ImportJob) -> bytes:
    """The uploaded sheet with an “Errors” column, as .xlsx, so staff fix it and upload again
    (one worksheet per imported worksheet of the upload)."""
    from openpyxl import Workbook

    sheet = sheet_read(job_data(job), job.file_name)
    columns = IMPORTERS[job.kind].columns
    by_row: dict[tuple[str, int], list[str]] = defaultdict(list)
    for row in job.rows:
        for column, message in row.get("e", []):
            by_row[(row.get("s", ""), row["n"])].append(f"{column}: {message}")
    try:
        parts, _notes = sheet_parts(sheet, columns)
    except ImportFileError:
        parts = [(sheet.worksheets[0], None)]
    several = len(parts) > 1
    workbook = Workbook(write_only=True)
    for worksheet, header in parts:
        title = sheet_name(f"{_('Errors')} {worksheet.name}" if several else _("Errors"))
        out = workbook.create_sheet(title=title)
        out.sheet_view.rightToLeft = (translation.get_language() or "").startswith("ar")
        first_row = header.header_row if header else (worksheet.rows[0][0] if worksheet.rows else 0)
        last_row = header.last_row if header else first_row
        width = max((len(cells) for _n, cells in worksheet.rows), default=0)
        name = worksheet.name if several else ""
        for number, cells in worksheet.rows:
            if number < first_row:
                continue
            padded = [_text_cell(out, cell) for cell in cells] + [""] * (width - len(cells))
            if number <= last_row:
                out.append([_text_cell(out, str(_("Errors"))), *padded])
            elif any(cells):
                out.append([_text_cell(out, "\n".join(by_row.get((name, number), []))), *padded])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _text_cell(worksheet, value):
    """A cell of the error report: text as text, even "=…" (never run as a formula); a date the
    upload held as it was read."""
    if isinstance(value, str):
        return xlsx_text_cell(worksheet, str(value) if isinstance(value, ExcelDate) else value)
    return value


def template_workbook(kind: str = ImportJob.Kind.STUDENTS, *, user=None) -> bytes:
    """The import template: Arabic headers, an example row, lists for grade and fee plan."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import quote_sheetname
    from openpyxl.worksheet.datavalidation import DataValidation

    columns = IMPORTERS[kind].columns
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = sheet_name(ImportJob.Kind(kind).label)
    sheet.sheet_view.rightToLeft = True
    sheet.append([column.arabic for column in columns])
    sheet.append([column.example for column in columns])
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="FFF2CC")
    for index, column in enumerate(columns, start=1):
        cell = sheet.cell(row=1, column=index)
        cell.font = bold
        if column.required:
            cell.fill = fill
        letter = cell.column_letter
        sheet.column_dimensions[letter].width = max(14, len(column.arabic) + 6)
        if "phone" in column.key or column.key == "code":
            for row in range(2, 2001):
                sheet.cell(row=row, column=index).number_format = "@"
    sheet.freeze_panes = "A2"
    lists = workbook.create_sheet(sheet_name(pgettext("import template sheet", "Lists")))
    lists.sheet_state = "hidden"  # the choices behind the drop-down lists
    with translation.override("ar"):
        grade_labels = [str(label) for _value, label in Grade.choices]
        plan_labels = [str(label) for _value, label in FeePlan.choices]
    groups = Group.objects.filter(is_active=True)
    visible = branch_ids_visible(user) if user is not None else None
    if visible is not None:
        groups = groups.filter(branch__in=visible)
    group_codes = list(groups.order_by("code").values_list("code", "name"))
    for row, label in enumerate(grade_labels, start=1):
        text_cell_mark(lists.cell(row=row, column=1, value=label))
    for row, label in enumerate(plan_labels, start=1):
        text_cell_mark(lists.cell(row=row, column=2, value=label))
    for row, (code, name) in enumerate(group_codes, start=1):
        # codes and names are typed by staff: "=…" there is text, not a formula
        text_cell_mark(lists.cell(row=row, column=3, value=code))
        text_cell_mark(lists.cell(row=row, column=4, value=name))
    keys = [column.key for column in columns]
    if kind == ImportJob.Kind.STUDENTS:
        sheet.cell(row=2, column=keys.index("grade") + 1, value=grade_labels[6])
        sheet.cell(row=2, column=keys.index("fee_plan") + 1, value=plan_labels[0])
        if group_codes:
            text_cell_mark(sheet.cell(row=2, column=keys.index("groups") + 1, value=group_codes[0][0]))
        for key, source in (
            ("grade", f"{quote_sheetname(lists.title)}!$A$1:$A${len(grade_labels)}"),
            ("fee_plan", f"{quote_sheetname(lists.title)}!$B$1:$B${len(plan_labels)}"),
        ):
            validation = DataValidation(type="list", formula1=f"={source}", allow_blank=True)
            validation.error = str(_("Choose a value from the list."))
            validation.showErrorMessage = True
            letter = sheet.cell(row=1, column=keys.index(key) + 1).column_letter
            validation.add(f"{letter}2:{letter}5000")
            sheet.add_data_validation(validation)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def template_file_name(kind: str) -> str:
    return f"{kind}-import-template-{datetime.date.today():%Y%m%d}.xlsx"
