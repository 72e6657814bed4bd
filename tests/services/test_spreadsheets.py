"""Real spreadsheets as staff send them: several worksheets, merged cells, .ods, an old .xls
renamed .xlsx, UTF-16 text without a byte-order mark, an .xlsx without a dimension record,
codes Excel turned into dates. Each gives the right rows or a clear message, and nothing partial.
"""

import datetime
import io
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation
from openpyxl import Workbook, load_workbook

from core.imports.cells import date_shown
from core.imports.engine import import_run
from core.imports.jobs import row_estimate
from core.imports.reader import sheet_read
from core.models import Enrollment, Student
from tests.factories import make_group
from tests.import_sheets import csv_bytes, ods_bytes, without_dimension, xlsx_bytes, xlsx_sheets

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
HEADER = ["اسم الطالب", "هاتف ولي الأمر", "أكواد المجموعات"]


@pytest.fixture
def center(main_branch, receptionist):
    make_group(main_branch, code="M1")
    make_group(main_branch, code="P2")
    return {"branch": main_branch, "actor": receptionist}


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def run(center, data: bytes, *, apply: bool, name: str = "students.xlsx"):
    return import_run(data=data, file_name=name, branch=center["branch"], actor=center["actor"], apply=apply)


def table_counts() -> dict[str, int]:
    return {model._meta.label: model.objects.count() for model in apps.get_models()}


def refused(center, data: bytes, name: str) -> str:
    before = table_counts()
    result = run(center, data, apply=True, name=name)
    assert not result.applied and result.file_error and not result.rows
    assert table_counts() == before
    return result.file_error


def students(count: int, *, start: int = 0, group: str = "") -> list[list]:
    return [[f"طالب {n}", f"0100200{n:04d}", group] for n in range(start, start + count)]


def groups_of(name: str) -> list[str]:
    return sorted(Enrollment.objects.filter(student__full_name=name).values_list("group__code", flat=True))


# --- several worksheets ----------------------------------------------------------------------------


def test_a_second_worksheet_with_the_same_columns_is_imported_too(center):
    reordered = [HEADER[2], HEADER[0], HEADER[1]]
    data = xlsx_sheets(
        {
            "الأولى": [HEADER, *students(2, group="M1")],
            "الثانية": [reordered, *[[row[2], row[0], row[1]] for row in students(3, start=10, group="P2")]],
        }
    )
    result = run(center, data, apply=True)
    assert result.applied and result.counts["new"] == 5
    assert [(row.sheet, row.number) for row in result.rows] == [
        ("الأولى", 2),
        ("الأولى", 3),
        ("الثانية", 2),
        ("الثانية", 3),
        ("الثانية", 4),
    ]
    assert groups_of("طالب 11") == ["P2"]
    assert any("الثانية" in note for note in result.notes)


def test_a_worksheet_with_other_columns_is_named_with_the_rows_not_read(center):
    data = xlsx_sheets(
        {
            "Sheet1": [HEADER, *students(2)],
            "Sheet2": [["اسم الطالب", "الصف"], ["عمر", "1 ثانوي"], ["سعد", "1 ثانوي"], ["هند", "2 ثانوي"]],
            "empty": [],
        }
    )
    result = run(center, data, apply=False)
    assert result.counts["new"] == 2
    assert result.notes == [
        "The sheet “Sheet2” has 3 rows that were not read: Required column missing: “هاتف ولي الأمر” "
        "(or “Guardian phone”)"
    ]


def test_a_worksheet_with_a_different_set_of_known_columns_is_named(center):
    data = xlsx_sheets(
        {"Sheet1": [HEADER, *students(2)], "Sheet2": [[*HEADER, "الصف"], ["عمر", "01001230000", "", ""]]}
    )
    result = run(center, data, apply=False)
    assert result.counts["new"] == 2
    assert result.notes == [
        "The sheet “Sheet2” has 1 row that was not read: its columns are not the same as on the sheet “Sheet1”"
    ]


def test_a_worksheet_without_a_header_before_the_data_is_named_and_the_data_sheet_read(center):
    data = xlsx_sheets({"تعليمات": [["اكتب كل طالب في صف"]], "الطلاب": [HEADER, *students(1)]})
    result = run(center, data, apply=False)
    assert result.counts["new"] == 1
    assert len(result.notes) == 1 and "“تعليمات” has 1 row that was not read: No header row found" in result.notes[0]


def test_the_templates_hidden_lists_are_not_reported(center):
    from core.imports.writers import template_workbook

    result = run(center, template_workbook(), apply=False)
    assert result.notes == [] and [row.action for row in result.rows] == ["new"]


def test_the_preview_names_a_worksheet_that_was_not_read(center, client_as, receptionist, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    from core.models import ImportJob

    settings.MEDIA_ROOT = tmp_path
    data = xlsx_sheets({"Sheet1": [HEADER, *students(1)], "Sheet2": [["ملاحظات"], ["أ"], ["ب"], ["ج"]]})
    client = client_as(receptionist)
    with translation.override("ar"):
        client.post(
            reverse("admin:core_importjob_upload", args=["students"]),
            {"file": SimpleUploadedFile("two.xlsx", data)},
            HTTP_ACCEPT_LANGUAGE="ar",
        )
    job = ImportJob.objects.get()
    assert len(job.notes) == 1
    page = client.get(reverse("admin:core_importjob_job", args=[job.pk])).content.decode()
    assert "Sheet2" in page and job.notes[0] in page


# --- merged cells ----------------------------------------------------------------------------------


def test_a_group_code_merged_down_four_rows_enrolls_all_four(center):
    rows = [HEADER, *students(4, group=""), *students(1, start=9, group="P2")]
    rows[1][2] = "M1"
    result = run(center, xlsx_bytes(rows, merge="C2:C5"), apply=True)
    assert result.applied and result.counts["new"] == 5
    assert [groups_of(f"طالب {n}") for n in range(4)] == [["M1"]] * 4
    assert groups_of("طالب 9") == ["P2"]


def test_a_two_row_header_merged_down_and_across_is_read(center):
    rows = [
        ["اسم الطالب", "ولي الأمر", "", "أكواد المجموعات"],
        ["", "الاسم", "الهاتف", ""],
        ["عمر خالد", "خالد سعيد", "01001239999", "M1"],
    ]
    data = xlsx_sheets({"Sheet": rows}, merges={"Sheet": ["A1:A2", "B1:C1", "D1:D2"]})
    result = run(center, data, apply=True)
    assert result.applied and [row.number for row in result.rows] == [3]
    assert groups_of("عمر خالد") == ["M1"]
    assert Student.objects.get(full_name="عمر خالد").guardian_links.get().guardian.phone == "+201001239999"


def test_a_header_merged_over_a_column_with_data_is_refused_naming_the_range(center):
    rows = [["اسم الطالب", "هاتف ولي الأمر", ""], ["عمر", "01001230000", "01001230001"]]
    message = refused(center, xlsx_bytes(rows, merge="B1:C1"), "merged.xlsx")
    assert "B1:C1" in message and "own header" in message


# --- formats named as what they are -------------------------------------------------------------


def test_an_ods_sheet_is_read_with_its_merged_cells(center):
    rows = [HEADER, ["منى", "01001231111", "M1"], ["هبة", 1001231112, ""], ["ريم", "01001231113", ""]]
    data = ods_bytes(rows, merges=[(1, 2, 3, 1)])
    assert sheet_read(data, "students.ods").kind == "ods"
    result = run(center, data, apply=True, name="students.ods")
    assert result.applied and result.counts["new"] == 3
    assert [groups_of(name) for name in ("منى", "هبة", "ريم")] == [["M1"]] * 3


def test_an_ods_named_xlsx_is_still_read_as_ods(center):
    result = run(center, ods_bytes([HEADER, ["منى", "01001231111", "M1"]]), apply=False, name="students.xlsx")
    assert result.file_error == "" and result.counts["new"] == 1


def test_an_old_xls_renamed_xlsx_is_read_with_its_merged_group_code(center):
    data = (FIXTURES / "students-old-excel.xls").read_bytes()
    assert data.startswith(b"\xd0\xcf\x11\xe0")
    result = run(center, data, apply=True, name="students.xlsx")
    assert result.applied and result.counts["new"] == 3
    for name in ("سارة عادل", "منى عادل", "زياد عادل"):
        assert groups_of(name) == ["M1"]
    assert Student.objects.get(full_name="سارة عادل").guardian_links.get().guardian.phone == "+201001230001"


def test_a_damaged_xls_is_refused_naming_the_format(center):
    message = refused(center, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "old.xls")
    assert ".xls" in message and ".xlsx" in message


def test_a_password_protected_workbook_is_refused_saying_so(center):
    data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100 + "EncryptionInfo".encode("utf-16-le") + b"\x00" * 100
    assert "password" in refused(center, data, "locked.xlsx")


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("delimiter", [",", "\t"])
def test_utf16_text_without_a_byte_order_mark_is_read(center, encoding, delimiter):
    rows = [HEADER, ["أحمد سامي", "01001234567", "M1"], ["سما سامي", "01001234567", "P2"]]
    text = "\r\n".join(delimiter.join(row) for row in rows) + "\r\n"
    data = text.encode(encoding)
    assert not data.startswith((b"\xff\xfe", b"\xfe\xff"))
    result = run(center, data, apply=True, name="students.txt")
    assert result.applied and result.counts["new"] == 2
    assert groups_of("سما سامي") == ["P2"]


def test_binary_data_is_not_taken_for_utf16(center):
    refused(center, bytes(range(256)) * 20, "data.csv")


def test_a_web_page_saved_as_xls_is_named(center):
    message = refused(center, b"<html><body><table><tr><td>x</td></tr></table></body></html>", "export.xls")
    assert "HTML" in message


def test_a_file_with_headers_and_no_rows_says_so(center):
    for data, name in ((xlsx_bytes([HEADER, [], []]), "empty.xlsx"), (csv_bytes([HEADER]), "empty.csv")):
        assert "no rows" in refused(center, data, name)


def test_import_students_exits_non_zero_for_headers_without_rows(center, tmp_path):
    path = tmp_path / "empty.xlsx"
    path.write_bytes(xlsx_bytes([HEADER]))
    with pytest.raises(CommandError, match="no rows"):
        call_command("import_students", str(path), "--dry-run")


def test_import_students_prints_the_worksheets_it_did_not_read(center, tmp_path, capsys):
    path = tmp_path / "two.xlsx"
    path.write_bytes(xlsx_sheets({"Sheet1": [HEADER, *students(1)], "Sheet2": [["ملاحظات"], ["أ"]]}))
    call_command("import_students", str(path), "--dry-run")
    assert "“Sheet2” has 2 rows that were not read" in capsys.readouterr().err


# --- Excel turned a code into a date -----------------------------------------------------------


def test_a_code_excel_turned_into_a_date_is_a_row_error_showing_what_it_shows(center):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["الكود", *HEADER])
    sheet.append(["", "نادر", "01001235555", datetime.datetime(2026, 1, 2)])
    sheet.append([datetime.datetime(2026, 3, 4), "نادية", "01001235556", "M1"])
    sheet.append(["", "نبيل", "01001235557", "M1"])
    sheet["D2"].number_format = "d-mmm"
    sheet["A3"].number_format = "mm-dd-yy"
    buffer = io.BytesIO()
    workbook.save(buffer)
    before = table_counts()
    result = run(center, buffer.getvalue(), apply=True)
    assert not result.applied and table_counts() == before
    outcomes = {row.number: row for row in result.rows}
    assert outcomes[2].action == "error" and outcomes[2].errors[0][0] == "أكواد المجموعات"
    assert "“2-Jan”" in outcomes[2].errors[0][1] and "date" in outcomes[2].errors[0][1]
    assert outcomes[3].action == "error" and outcomes[3].errors[0][0] == "الكود"
    assert "“3/4/2026”" in outcomes[3].errors[0][1]
    assert outcomes[4].action == "new"


def test_an_xls_group_code_turned_into_a_date_is_a_row_error(center):
    result = run(center, (FIXTURES / "students-dates.xls").read_bytes(), apply=False, name="dates.xls")
    [row] = result.rows
    assert row.action == "error" and "“2-Jan”" in row.errors[0][1]


def test_an_ods_group_code_turned_into_a_date_is_a_row_error(center):
    data = ods_bytes([HEADER, ["هالة", "01001230004", datetime.date(2026, 1, 2)]])
    [row] = run(center, data, apply=False, name="dates.ods").rows
    assert row.action == "error" and "“2-Jan”" in row.errors[0][1]


def test_a_date_in_a_notes_column_stays_a_date(center):
    data = xlsx_bytes([[*HEADER, "ملاحظات"], ["هالة", "01001230004", "M1", datetime.datetime(2026, 1, 2)]])
    result = run(center, data, apply=True)
    assert result.applied and Student.objects.get(full_name="هالة").notes == "2026-01-02"


@pytest.mark.parametrize(
    ("number_format", "shown"),
    [
        ("d-mmm", "2-Jan"),
        ("mm-dd-yy", "1/2/2026"),
        ("dd/mm/yyyy", "02/01/2026"),
        ("yyyy-mm-dd h:mm", "2026-01-02 7:05"),
        ("General", "2026-01-02 07:05:00"),
        ('[$-409]d"."m', "2.1"),
    ],
)
def test_a_date_is_shown_as_its_format_shows_it(number_format, shown):
    assert date_shown(datetime.datetime(2026, 1, 2, 7, 5), number_format) == shown


# --- large files -------------------------------------------------------------------------------------


def big_xlsx_without_dimension(count: int) -> bytes:
    workbook = Workbook()  # writes a dimension record (write-only mode writes none), removed below
    sheet = workbook.active
    sheet.append(HEADER)
    for n in range(count):
        sheet.append([f"طالب {n}", f"0102{n:07d}", "M1"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return without_dimension(buffer.getvalue())


def test_an_xlsx_without_a_dimension_record_is_counted_row_by_row():
    data = big_xlsx_without_dimension(19_000)
    reader = load_workbook(io.BytesIO(data), read_only=True)
    assert reader.worksheets[0].max_row is None  # what openpyxl alone would have counted on
    reader.close()
    assert row_estimate(data) == 19_001
    with_dimension = xlsx_sheets({"a": [HEADER, *students(30)], "b": [HEADER, *students(20, start=50)]})
    assert row_estimate(without_dimension(with_dimension)) == 52
