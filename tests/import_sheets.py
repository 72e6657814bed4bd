"""Spreadsheets for the import tests: the messy sample (also written to fixtures/) and builders.

The Arabic names below are test DATA. ``MESSY_EXPECTED`` says what the import must make of
each row of ``messy_rows()``: (action, column of the error or "").
"""

import csv
import io
from pathlib import Path

from openpyxl import Workbook

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "students-messy.xlsx"

HEADER = [
    "الكود",
    "اسم الطالب",
    "هاتف ولي الأمر",
    "اسم ولي الأمر",
    "الصف",
    "المدرسة",
    "أكواد المجموعات",
    "نظام الرسوم",
    "الرسوم المخفضة",
    "سبب التخفيض أو الإعفاء",
    "العنوان",  # a column the import does not know: ignored
]


def messy_rows() -> list[list]:
    """Header, then one row per case. Phones come in eleven forms."""
    return [
        HEADER,
        [
            "",
            "  أحمد   محمد  ",
            "010 0123 4567",
            "محمد علي",
            "الأول الثانوي",
            "مدرسة النور",
            "M1",
            "",
            "",
            "",
            "شارع 1",
        ],
        ["", "إسراء سعيد", "+20 100 123 4568", "", "1 ثانوي", "", "m1، P2", "عادي", "", "", ""],
        # a sibling of row 2: same guardian, phone typed in Arabic-Indic digits
        ["", "مريم محمد", "٠١٠٠١٢٣٤٥٦٧", "", "الثاني الثانوي", "", "P2", "", "", "", ""],
        ["", "", "", "", "", "", "", "", "", "", ""],  # blank row
        # the existing student فاطمة حسن, spelled with ه and an extra space, new group M1
        ["", "فاطمه  حسن", "00201001112222", "", "", "", "M1", "", "", "", ""],
        # the existing student يوسف أيمن written without hamza: nothing new
        ["", "يوسف ايمن", "201001113333", "", "", "", "", "", "", "", ""],
        ["", "سلمى عادل", "0100123", "", "", "", "", "", "", "", ""],  # invalid phone
        ["5005", "كريم سمير", "01001234570", "", "", "", "", "", "", "", ""],  # the code belongs to يوسف
        ["", "ليلى حسام", "010-0123-4571", "", "", "", "Z99", "", "", "", ""],  # unknown group
        ["", '=HYPERLINK("http://x.example","click")', "01001234579", "", "", "", "", "", "", "", ""],  # formula
        ["", "علاء مصطفى", "۰۱۰۰۱۲۳۴۵۷۲", "", "", "", "P2", "مخفض", "150", "أخوان", ""],
        ["", "هدى إبراهيم", 1001234573, "", "", "", "P2", "معفى", "", "ابنة موظف", ""],
        ["", "آية رضا", "+201001234574", "", "", "", "", "", "", "", ""],
        ["", "مصطفى أسامة", "(010) 0123-4575", "", "", "", "", "", "", "", ""],
        ["", "نور الهدى", "0020 100 123 4576", "", "", "", "", "", "", "", ""],
    ]


# row number -> (action, header of the column in error)
MESSY_EXPECTED = {
    2: ("new", ""),
    3: ("new", ""),
    4: ("new", ""),
    6: ("update", ""),
    7: ("unchanged", ""),
    8: ("error", "هاتف ولي الأمر"),
    9: ("error", "الكود"),
    10: ("error", "أكواد المجموعات"),
    11: ("error", "اسم الطالب"),
    12: ("new", ""),
    13: ("new", ""),
    14: ("new", ""),
    15: ("new", ""),
    16: ("new", ""),
}


def clean_rows() -> list[list]:
    """The messy sheet without its error rows: imports in full."""
    bad = {number for number, (action, _column) in MESSY_EXPECTED.items() if action == "error"}
    return [row for number, row in enumerate(messy_rows(), start=1) if number not in bad]


def xlsx_bytes(rows: list[list], *, merge: str = "") -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    if merge:
        sheet.merge_cells(merge)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows: list[list], *, encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode(encoding)


def fixture_write() -> Path:
    """Write fixtures/students-messy.xlsx (the sample sheet shipped for operators and demos)."""
    FIXTURE.parent.mkdir(exist_ok=True)
    FIXTURE.write_bytes(xlsx_bytes(messy_rows()))
    return FIXTURE


def xlsx_sheets(sheets: dict[str, list[list]], *, merges: dict[str, list[str]] | None = None) -> bytes:
    """A workbook with one worksheet per entry (in order), with merged ranges per worksheet."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
        for merge in (merges or {}).get(title, []):
            sheet.merge_cells(merge)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def without_dimension(data: bytes) -> bytes:
    """The same .xlsx with the <dimension> record removed from every worksheet, as some
    programs write them (openpyxl's read-only mode then cannot tell the size)."""
    import re
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            content = source.read(entry.filename)
            if entry.filename.startswith("xl/worksheets/sheet"):
                content, removed = re.subn(rb"<dimension [^>]*/>", b"", content)
                assert removed == 1
            target.writestr(entry, content)
    return buffer.getvalue()


def ods_bytes(rows: list[list], *, merges: list[tuple[int, int, int, int]] = (), name: str = "الطلاب") -> bytes:
    """An OpenDocument spreadsheet written by odfpy (not by our reader's code). ``merges`` are
    (first row, first column, rows, columns), 0-based; a date cell is a ``datetime.date``."""
    import datetime

    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import CoveredTableCell, Table, TableCell, TableRow
    from odf.text import P

    document = OpenDocumentSpreadsheet()
    table = Table(name=name)
    spans = {(row, column): (height, width) for row, column, height, width in merges}
    covered = {
        (row + down, column + across)
        for row, column, height, width in merges
        for down in range(height)
        for across in range(width)
        if down or across
    }
    for row_index, row in enumerate(rows):
        table_row = TableRow()
        for column_index, value in enumerate(row):
            if (row_index, column_index) in covered:
                table_row.addElement(CoveredTableCell())
                continue
            attributes = {}
            if (row_index, column_index) in spans:
                height, width = spans[(row_index, column_index)]
                attributes = {"numberrowsspanned": height, "numbercolumnsspanned": width}
            if isinstance(value, datetime.date):
                cell = TableCell(valuetype="date", datevalue=value.isoformat(), **attributes)
                shown = f"{value.day}-{value:%b}"
            elif isinstance(value, int | float):
                cell = TableCell(valuetype="float", value=value, **attributes)
                shown = str(value)
            else:
                cell = TableCell(valuetype="string", **attributes)
                shown = str(value)
            if shown:
                cell.addElement(P(text=shown))
            table_row.addElement(cell)
        table.addElement(table_row)
    document.spreadsheet.addElement(table)
    buffer = io.BytesIO()
    document.write(buffer)
    return buffer.getvalue()
