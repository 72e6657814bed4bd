"""One parser per file format, each giving ``Worksheet`` rows of text cells (core/imports/cells.py).

- .xlsx: openpyxl's read-only mode streams the rows; merged ranges come from the sheet's XML;
- .ods: content.xml streamed with defusedxml, repeat counts honoured without expanding them;
- .xls: xlrd (a password-protected file is named as such);
- text: .csv or tab-separated, UTF-8 with or without BOM, UTF-16 with or without BOM, or
  Windows-1256, with the separator most used in the first lines.

Which parser a file gets is decided by its bytes, in core/imports/reader.py.
"""

import csv
import datetime
import io
import re
import struct
import zipfile

from django.utils.translation import gettext as _

from core.imports.cells import (
    HEADER_SEARCH_ROWS,
    MAX_COLUMNS,
    MAX_DATA_ROWS,
    ExcelDate,
    Formula,
    ImportFileError,
    Worksheet,
    cell_text,
    corrupt_error,
    not_a_sheet_error,
    too_many_rows_error,
)

_ENCRYPTED_OLE = "EncryptionInfo".encode("utf-16-le")  # a stream name in the OLE directory
_MERGE_REF = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"')
_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
_TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"


# --- .xlsx -------------------------------------------------------------------------------------------


def xlsx_worksheets(data: bytes) -> list[Worksheet]:
    from openpyxl import load_workbook
    from openpyxl.cell.read_only import EMPTY_CELL
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError, TypeError, EOFError) as exc:
        raise corrupt_error() from exc
    try:
        if not workbook.worksheets:
            raise ImportFileError(_("The workbook has no worksheet."), code="empty")
        found: list[Worksheet] = []
        total = 0
        for source in workbook.worksheets:
            if not hasattr(source, "iter_rows"):  # a chart sheet holds no cells
                continue
            rows: list[tuple[int, list[str]]] = []
            try:
                # Read-only mode streams the rows (fast, little memory) but hides merged ranges:
                # those are read from the sheet's XML below.
                for number, cells in enumerate(source.iter_rows(max_col=MAX_COLUMNS), start=1):
                    total += 1
                    if total > MAX_DATA_ROWS + HEADER_SEARCH_ROWS:
                        raise too_many_rows_error()
                    # openpyxl pads every row with EMPTY_CELL up to max_col: only cells up to the
                    # row's last one are read (a row of six columns is not sixty cells)
                    end = len(cells)
                    while end and cells[end - 1] is EMPTY_CELL:
                        end -= 1
                    rows.append((number, [_xlsx_cell(cell) for cell in cells[:end]]))
                merges = _xlsx_merges(workbook._archive.read(source._worksheet_path))
            except (zipfile.BadZipFile, KeyError, ValueError, TypeError, EOFError, OSError) as exc:
                raise corrupt_error() from exc
            found.append(Worksheet(name=source.title, rows=rows, merges=merges, hidden=source.sheet_state != "visible"))
        return found
    finally:
        workbook.close()


def _xlsx_cell(cell):
    value = cell.value
    if isinstance(value, datetime.date | datetime.time):
        return cell_text(value, cell.number_format)
    if isinstance(value, str) and cell.data_type != "f":
        return str(cell_text(value))  # a text cell that starts with "=" is text, not a formula
    return cell_text(value)


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def _xlsx_merges(xml: bytes) -> list[tuple[int, int, int, int]]:
    merges = []
    for first_col, first_row, last_col, last_row in _MERGE_REF.findall(xml):
        if not last_col:
            continue
        merges.append((int(first_row), _column_number(first_col), int(last_row), _column_number(last_col)))
    return merges


# --- .ods ----------------------------------------------------------------------------------------------


def ods_worksheets(data: bytes) -> list[Worksheet]:
    """Stream content.xml: rows and cells with their repeat counts (an empty row repeated a
    million times at the end of a sheet is not expanded), merged ranges from the spans."""
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import iterparse

    found: list[Worksheet] = []
    total = 0
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive, archive.open("content.xml") as content:
            rows: list[tuple[int, list[str]]] = []
            merges: list[tuple[int, int, int, int]] = []
            cells: list[str] = []
            number = 0
            for event, element in iterparse(content, events=("start", "end")):
                tag = element.tag
                if event == "start":
                    if tag == f"{_TABLE}table":
                        rows, merges, number = [], [], 0
                    elif tag == f"{_TABLE}table-row":
                        cells = []
                    continue
                if tag in (f"{_TABLE}table-cell", f"{_TABLE}covered-table-cell"):
                    repeat = min(int(element.get(f"{_TABLE}number-columns-repeated", "1")), MAX_COLUMNS)
                    value = _ods_cell(element) if tag == f"{_TABLE}table-cell" else ""
                    rows_spanned = int(element.get(f"{_TABLE}number-rows-spanned", "1"))
                    cols_spanned = int(element.get(f"{_TABLE}number-columns-spanned", "1"))
                    if rows_spanned > 1 or cols_spanned > 1:
                        column = len(cells) + 1
                        merges.append((number + 1, column, number + rows_spanned, column + cols_spanned - 1))
                    if len(cells) < MAX_COLUMNS:
                        cells.extend([value] * min(repeat, MAX_COLUMNS - len(cells)))
                    element.clear()
                elif tag == f"{_TABLE}table-row":
                    repeat = int(element.get(f"{_TABLE}number-rows-repeated", "1"))
                    while cells and not cells[-1]:
                        cells.pop()
                    if not cells:  # blank rows: kept as numbers only, trailing ones dropped below
                        number += repeat
                    else:
                        for _copy in range(min(repeat, MAX_DATA_ROWS + HEADER_SEARCH_ROWS)):
                            number += 1
                            total += 1
                            if total > MAX_DATA_ROWS + HEADER_SEARCH_ROWS:
                                raise too_many_rows_error()
                            rows.append((number, list(cells)))
                    element.clear()
                elif tag == f"{_TABLE}table":
                    found.append(
                        Worksheet(name=element.get(f"{_TABLE}name", ""), rows=_blank_rows_filled(rows), merges=merges)
                    )
                    element.clear()
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, SyntaxError, DefusedXmlException) as exc:
        raise corrupt_error(".ods") from exc
    if not found:
        raise ImportFileError(_("The workbook has no worksheet."), code="empty")
    return found


def _blank_rows_filled(rows: list[tuple[int, list[str]]]) -> list[tuple[int, list[str]]]:
    """Blank rows between rows with data come back as empty rows (counted as blank, like .xlsx)."""
    filled: list[tuple[int, list[str]]] = []
    expected = 1
    for number, cells in rows:
        for blank in range(expected, min(number, expected + MAX_DATA_ROWS)):
            filled.append((blank, []))
        filled.append((number, cells))
        expected = number + 1
    return filled


def _ods_text(element) -> str:
    """The text of a cell's paragraphs, with ODF's space, tab and line-break elements."""
    paragraphs = []
    for paragraph in element.iter(f"{_TEXT}p"):
        paragraphs.append(_ods_inline(paragraph))
    return "\n".join(paragraphs)


def _ods_inline(node) -> str:
    parts = [node.text or ""]
    for child in node:
        if child.tag == f"{_TEXT}s":
            parts.append(" " * int(child.get(f"{_TEXT}c", "1")))
        elif child.tag == f"{_TEXT}tab":
            parts.append("\t")
        elif child.tag == f"{_TEXT}line-break":
            parts.append("\n")
        else:
            parts.append(_ods_inline(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _ods_cell(element):
    formula = element.get(f"{_TABLE}formula")
    if formula:
        return Formula("=" + re.sub(r"^\w+:=?", "", formula).lstrip("="))
    kind = element.get(f"{_OFFICE}value-type", "")
    shown = _ods_text(element)
    if kind in {"float", "percentage", "currency"}:
        raw = element.get(f"{_OFFICE}value", "")
        try:
            return cell_text(float(raw))
        except ValueError:
            return cell_text(shown)
    if kind == "date":
        raw = element.get(f"{_OFFICE}date-value", "")
        iso = raw[:10] if raw.endswith("T00:00:00") or len(raw) == 10 else raw.replace("T", " ")
        return ExcelDate(iso, shown.strip() or iso)
    if kind == "time":
        return ExcelDate(shown.strip(), shown.strip())
    if kind == "boolean":
        return "1" if element.get(f"{_OFFICE}boolean-value") == "true" else "0"
    return cell_text(shown)


# --- .xls ---------------------------------------------------------------------------------------------


def xls_worksheets(data: bytes) -> list[Worksheet]:
    if _ENCRYPTED_OLE in data[:65536] or _ENCRYPTED_OLE in data[-65536:]:
        raise ImportFileError(
            _(
                "The workbook is protected with a password. Open it in Excel, remove the password "
                "(File → Info → Protect Workbook) and save it, then upload it again."
            ),
            code="encrypted",
        )
    import xlrd

    try:
        book = xlrd.open_workbook(file_contents=data, formatting_info=True, on_demand=True)
    except (
        xlrd.XLRDError,
        xlrd.compdoc.CompDocError,
        AssertionError,
        IndexError,
        KeyError,
        ValueError,
        struct.error,
    ) as exc:
        raise ImportFileError(
            _(
                "This old Excel (.xls) file could not be read (it may be damaged). Open it in Excel and "
                "save it as .xlsx (Excel Workbook), then upload it again."
            ),
            code="xls",
        ) from exc
    try:
        found: list[Worksheet] = []
        total = 0
        for index in range(book.nsheets):
            source = book.sheet_by_index(index)
            total += source.nrows
            if total > MAX_DATA_ROWS + HEADER_SEARCH_ROWS:
                raise too_many_rows_error()
            rows = []
            for row in range(source.nrows):
                rows.append((row + 1, [_xls_cell(book, cell) for cell in source.row(row)[:MAX_COLUMNS]]))
            merges = [(rlo + 1, clo + 1, rhi, chi) for rlo, rhi, clo, chi in source.merged_cells]
            found.append(Worksheet(name=source.name, rows=rows, merges=merges, hidden=source.visibility != 0))
            book.unload_sheet(index)
        return found
    finally:
        book.release_resources()


def _xls_cell(book, cell):
    import xlrd

    if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK, xlrd.XL_CELL_ERROR):
        return ""
    if cell.ctype == xlrd.XL_CELL_BOOLEAN:
        return "1" if cell.value else "0"
    if cell.ctype == xlrd.XL_CELL_DATE:
        try:
            value = xlrd.xldate_as_datetime(cell.value, book.datemode)
        except (xlrd.xldate.XLDateError, ValueError, OverflowError):
            return cell_text(cell.value)
        number_format = ""
        xf = book.xf_list[cell.xf_index] if cell.xf_index is not None and cell.xf_index < len(book.xf_list) else None
        if xf is not None and xf.format_key in book.format_map:
            number_format = book.format_map[xf.format_key].format_str
        return cell_text(value, number_format)
    return cell_text(cell.value)


# --- text ---------------------------------------------------------------------------------------------


def _utf16_without_bom(data: bytes) -> str | None:
    """Text saved as UTF-16 with no byte-order mark ("Unicode text" from some exports): ASCII
    characters (digits, commas, line ends) leave a NUL in every other byte."""
    sample = data[:4096]
    if len(sample) < 4 or b"\x00" not in sample:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    if max(even, odd) < len(sample) // 20:
        return None  # a stray NUL or two: not the pattern of UTF-16 text
    encoding = "utf-16-le" if odd > even else "utf-16-be"
    if min(even, odd) > max(even, odd) // 20:
        return None  # NULs on both sides: binary data, not text
    try:
        text = data[: len(data) - len(data) % 2].decode(encoding)
    except UnicodeDecodeError:
        return None
    printable = sum(1 for char in text[:2000] if char.isprintable() or char in "\r\n\t")
    return text if "\x00" not in text and printable >= 0.95 * min(len(text), 2000) else None


def text_decode(data: bytes) -> str | None:
    """The text of a text file, or None when it is binary."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    if b"\x00" in data[:4096]:
        return _utf16_without_bom(data)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1256", errors="replace")


def csv_rows(text: str) -> list[tuple[int, list[str]]]:
    if "\x00" in text:
        raise not_a_sheet_error()
    # The separator most used in the first lines (a title line above the header has none).
    head = "\n".join(text.split("\n", 10)[:10])
    delimiter = max([",", ";", "\t", "؛"], key=head.count)
    if not head.count(delimiter):
        delimiter = ","
    rows: list[tuple[int, list[str]]] = []
    try:
        for number, values in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), start=1):
            if len(rows) > MAX_DATA_ROWS + HEADER_SEARCH_ROWS:
                raise too_many_rows_error()
            rows.append((number, [cell_text(value) for value in values[:MAX_COLUMNS]]))
    except csv.Error as exc:
        raise ImportFileError(_("The CSV file could not be read: %(error)s") % {"error": exc}, code="corrupt") from exc
    return rows
