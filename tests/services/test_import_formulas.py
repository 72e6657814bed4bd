"""No file the project writes runs a formula (core/imports/formulas.py): the admin exports, the
import error report and the import template all keep "=…", "+…", "-…", "@…" as text."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook, load_workbook

from core.imports.formulas import FORMULA_PREFIXES, csv_neutral, sheet_name, xlsx_text_cell
from core.imports.jobs import import_job_check, import_job_create
from core.imports.writers import error_report, template_workbook
from core.models import ImportJob
from tests.factories import make_group
from tests.import_sheets import csv_bytes


def _saved(workbook) -> object:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return load_workbook(io.BytesIO(buffer.getvalue()))


@pytest.mark.parametrize("prefix", FORMULA_PREFIXES)
def test_a_formula_looking_cell_is_neutralized_in_csv_and_kept_as_text_in_xlsx(prefix):
    text = f'{prefix}HYPERLINK("http://x")'
    assert csv_neutral(text) == "'" + text
    workbook = Workbook(write_only=True)
    worksheet = workbook.create_sheet("s")
    worksheet.append([xlsx_text_cell(worksheet, text), xlsx_text_cell(worksheet, "نص عادي")])
    [[marked, plain]] = _saved(workbook)["s"].iter_rows()
    assert marked.data_type == "s" and marked.quotePrefix and marked.value.strip() == text.strip()
    assert plain.data_type == "s" and not plain.quotePrefix and plain.value == "نص عادي"


def test_plain_values_and_sheet_names_are_left_alone_or_made_valid():
    assert csv_neutral("أحمد") == "أحمد" and csv_neutral(5) == 5 and csv_neutral(None) is None
    assert sheet_name("الأخطاء: [ورقة/1]?") == "الأخطاء   ورقة 1" and sheet_name("") == "Sheet"
    assert len(sheet_name("x" * 40)) == 31


def test_the_template_writes_group_codes_and_names_that_look_like_formulas_as_text(main_branch):
    group = make_group(main_branch, code="=A1")
    group.name = '=HYPERLINK("http://evil")'
    group.save(update_fields=["name"])
    workbook = load_workbook(io.BytesIO(template_workbook()))
    lists = workbook.worksheets[1]
    cells = [
        cell for row in lists.iter_rows() for cell in row if isinstance(cell.value, str) and cell.value.startswith("=")
    ]
    assert {cell.value for cell in cells} == {"=A1", '=HYPERLINK("http://evil")'}
    assert all(cell.data_type == "s" for cell in cells)


def test_the_error_report_keeps_what_the_upload_held_as_text(main_branch, receptionist):
    rows = [
        ["اسم الطالب", "هاتف ولي الأمر", "المدرسة"],
        ["أحمد علي", "0100", "=1+2"],  # a bad phone: the row is in the report
        ["منى سعيد", "01001234567", "-مدرسة"],
    ]
    upload = SimpleUploadedFile("s.csv", csv_bytes(rows), content_type="text/csv")
    job = import_job_create(actor=receptionist, kind=ImportJob.Kind.STUDENTS, branch=main_branch, upload=upload)
    job = import_job_check(job_id=job.pk)
    assert job.error_count == 1
    sheet = load_workbook(io.BytesIO(error_report(job))).worksheets[0]
    by_text = {cell.value: cell for row in sheet.iter_rows() for cell in row if cell.value}
    assert by_text["=1+2"].data_type == "s" and by_text["=1+2"].quotePrefix
    assert by_text["-مدرسة"].data_type == "s" and by_text["-مدرسة"].quotePrefix
    assert not by_text["أحمد علي"].quotePrefix
