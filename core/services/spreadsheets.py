"""Reading uploaded spreadsheets into rows of text, with limits and clear errors.

Formats are recognised by their bytes, not by the name they were given: an .xlsx workbook, an
OpenDocument sheet (.ods, read here with the standard library's XML parser behind defusedxml),
an old binary Excel file (.xls, read with xlrd, whatever its name says), and text (.csv or
tab-separated, UTF-8 with or without BOM, UTF-16 with or without BOM, or Windows-1256).
Anything else is refused with a message naming what the file is and what to do.

Every worksheet is read (the importer decides which ones it imports and names the others);
a value merged down several rows is given to every row it covers; a cell that Excel turned
into a date keeps what it showed (``ExcelDate.shown``) so the importer can say so.

Only reading lives here; what the columns mean is the importer's business
(``core/services/imports.py``). Every problem with the file as a whole is an
``ImportFileError`` carrying a translated message; nothing here writes to the database.
"""

import csv
import datetime
import io
import re
import struct
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import PurePath

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from core.normalize import search_key

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_UNPACKED_BYTES = 200 * 1024 * 1024  # an .xlsx is a zip: refuse one that unpacks to a flood
MAX_DATA_ROWS = 20_000
MAX_COLUMNS = 60
HEADER_SEARCH_ROWS = 10

_XLSX_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the old binary .xls (and password-protected Office files)
_ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
_ENCRYPTED_OLE = "EncryptionInfo".encode("utf-16-le")  # a stream name in the OLE directory
_HEADER_NOISE = re.compile(r"[^\w]+")
_MERGE_REF = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"')
_ROW_TAG = re.compile(rb"<(?:\w+:)?row[\s>/]")


class ImportFileError(ValidationError):
    """The file as a whole cannot be imported (not a spreadsheet, damaged, too big, no header)."""


@dataclass
class Worksheet:
    """One worksheet as text: ``rows`` holds (row number, cells) pairs, blank rows included;
    ``merges`` the merged ranges as (first row, first column, last row, last column), 1-based."""

    name: str
    rows: list[tuple[int, list[str]]]
    merges: list[tuple[int, int, int, int]] = field(default_factory=list)
    hidden: bool = False


@dataclass
class Sheet:
    """A whole file: every worksheet in workbook order (a text file has one)."""

    rows: list[tuple[int, list[str]]] = field(default_factory=list)
    is_xlsx: bool = False
    raw: bytes = field(repr=False, default=b"")
    worksheets: list[Worksheet] = field(default_factory=list)
    kind: str = ""  # xlsx, ods, xls or csv

    def __post_init__(self):
        if not self.worksheets:
            self.worksheets = [Worksheet(name="", rows=self.rows)]
        self.rows = self.worksheets[0].rows

    @property
    def merges(self) -> list[tuple[int, int, int, int]]:
        return self.worksheets[0].merges


class Formula(str):
    """A cell that holds a spreadsheet formula (reported by the importer, never evaluated)."""


class ExcelDate(str):
    """A cell the spreadsheet stored as a date or time: the text is its ISO form, ``shown`` what
    the spreadsheet displayed (and most likely what was typed, e.g. "2-Jan" for "1-2")."""

    shown: str

    def __new__(cls, iso: str, shown: str = ""):
        value = super().__new__(cls, iso)
        value.shown = shown or iso
        return value


def header_key(text: str) -> str:
    """How a header compares: Arabic folded, case and punctuation ignored ("Guardian phone *")."""
    return _HEADER_NOISE.sub("", search_key(text)).replace("_", "")


def cell_text(value, number_format: str = ""):
    """A cell as the text a person typed: 1001234567.0 → "1001234567", dates as ISO (an
    ``ExcelDate`` that remembers how it was shown), a leading apostrophe (Excel's "text" mark,
    and what our .csv exports add) removed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return format(Decimal(repr(value)), "f")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime.datetime):
        iso = value.date().isoformat() if value.time() == datetime.time(0) else value.isoformat(sep=" ")
        return ExcelDate(iso, date_shown(value, number_format))
    if isinstance(value, datetime.date | datetime.time):
        return ExcelDate(value.isoformat(), date_shown(value, number_format))
    text = str(value).strip()
    if text.startswith("'"):
        return text[1:].strip()  # marked as text: even "=…" is not a formula
    if text.startswith("=") and len(text) > 1:
        return Formula(text)
    return text


_DATE_TOKENS = re.compile(r"yyyy|yy|mmmm|mmm|mm|m|dddd|ddd|dd|d|hh|h|ss|s|am/pm|a/p", re.IGNORECASE)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def date_shown(value, number_format: str = "") -> str:
    """A date as a spreadsheet displays it with ``number_format`` (the common codes: d, dd, m,
    mm, mmm, yy, yyyy, h, mm, ss); the ISO form when the format says nothing."""
    if isinstance(value, datetime.time):
        value = datetime.datetime.combine(datetime.date(1900, 1, 1), value)
    elif not isinstance(value, datetime.datetime):
        value = datetime.datetime.combine(value, datetime.time(0))
    code = (number_format or "").split(";")[0]
    code = re.sub(r"\[[^\]]*\]", "", code).replace("\\", "").replace('"', "")
    if code.lower() == "mm-dd-yy":  # Excel's built-in short date, displayed as the system's (US) one
        code = "m/d/yyyy"
    if not _DATE_TOKENS.search(code) or code.lower() == "general":
        return value.date().isoformat() if value.time() == datetime.time(0) else value.isoformat(sep=" ")
    tokens = _DATE_TOKENS.findall(code)
    parts = _DATE_TOKENS.split(code)
    shown = [parts[0]]
    for index, token in enumerate(tokens):
        lower = token.lower()
        previous = tokens[index - 1].lower() if index else ""
        following = tokens[index + 1].lower() if index + 1 < len(tokens) else ""
        minutes = lower in {"m", "mm"} and (previous.startswith("h") or following.startswith("s"))
        if lower == "yyyy":
            text = f"{value.year:04d}"
        elif lower == "yy":
            text = f"{value.year % 100:02d}"
        elif lower == "mmmm":
            text = value.strftime("%B")
        elif lower == "mmm":
            text = _MONTHS[value.month - 1]
        elif minutes:
            text = f"{value.minute:02d}" if lower == "mm" else str(value.minute)
        elif lower == "mm":
            text = f"{value.month:02d}"
        elif lower == "m":
            text = str(value.month)
        elif lower == "dddd":
            text = value.strftime("%A")
        elif lower == "ddd":
            text = _DAYS[value.weekday()]
        elif lower == "dd":
            text = f"{value.day:02d}"
        elif lower == "d":
            text = str(value.day)
        elif lower == "hh":
            text = f"{value.hour:02d}"
        elif lower == "h":
            text = str(value.hour)
        elif lower in {"ss", "s"}:
            text = f"{value.second:02d}"
        else:  # AM/PM
            text = "AM" if value.hour < 12 else "PM"
        shown.append(text)
        shown.append(parts[index + 1])
    return "".join(shown).strip()


def _too_many_rows() -> ImportFileError:
    return ImportFileError(
        _("The file has more than %(limit)s rows. Split it into smaller files and import them one by one.")
        % {"limit": f"{MAX_DATA_ROWS:,}"},
        code="too_many_rows",
    )


def _corrupt(format_name: str = ".xlsx") -> ImportFileError:
    return ImportFileError(
        _("The file is not a readable %(format)s workbook (it may be damaged).") % {"format": format_name},
        code="corrupt",
    )


def _not_a_sheet() -> ImportFileError:
    return ImportFileError(_("This file is not a spreadsheet. Upload an .xlsx, .ods or .csv file."), code="not_sheet")


def sheet_read(data: bytes, file_name: str) -> Sheet:
    """Read every worksheet of a file, whatever its name says it is, into text rows."""
    if not data:
        raise ImportFileError(_("The file is empty."), code="empty")
    if len(data) > MAX_FILE_BYTES:
        raise ImportFileError(
            _("The file is larger than %(size)s MB. Remove pictures and extra sheets, or split it.")
            % {"size": MAX_FILE_BYTES // (1024 * 1024)},
            code="too_large",
        )
    suffix = PurePath(file_name or "").suffix.lower()
    if data.startswith(_XLSX_MAGIC):
        kind = _zip_kind(data)
        if kind == "ods":
            sheet = Sheet(worksheets=_ods_worksheets(data), kind="ods")
        else:
            sheet = Sheet(worksheets=_xlsx_worksheets(data), is_xlsx=True, raw=data, kind="xlsx")
    elif data.startswith(_OLE_MAGIC):
        sheet = Sheet(worksheets=_xls_worksheets(data), kind="xls")
    else:
        head = data[:2048].lstrip().lower()
        if head.startswith((b"<!doctype html", b"<html", b"<table", b"<?xml")) or b"<html" in head:
            raise ImportFileError(
                _(
                    "This file is a web page (HTML or XML) saved with a spreadsheet's name, not a workbook. "
                    "Open it in Excel and save it as .xlsx (Excel Workbook), then upload it again."
                ),
                code="html",
            )
        text = _decode(data)
        if text is None or (suffix not in {".csv", ".txt", ".tsv", ".xlsx", ".xls", ""}):
            raise _not_a_sheet()
        sheet = Sheet(worksheets=[Worksheet(name="", rows=_csv_rows(text))], kind="csv")
    for worksheet in sheet.worksheets:
        _merges_apply(worksheet)
    return sheet


def _zip_kind(data: bytes) -> str:
    """Which zip-based document this is: "xlsx", "ods", or a refusal naming what it is."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
            names = {entry.filename for entry in entries}
            unpacked = sum(entry.file_size for entry in entries)
            mimetype = archive.read("mimetype")[:100] if "mimetype" in names else b""
    except (zipfile.BadZipFile, OSError, ValueError, KeyError) as exc:
        raise _corrupt() from exc
    if unpacked > MAX_UNPACKED_BYTES:
        raise ImportFileError(
            _("The workbook unpacks to more than %(size)s MB. Remove pictures and extra sheets, or split it.")
            % {"size": MAX_UNPACKED_BYTES // (1024 * 1024)},
            code="too_large",
        )
    if mimetype.startswith(_ODS_MIMETYPE):
        return "ods"
    if "xl/workbook.bin" in names:
        raise ImportFileError(
            _(
                "This is an Excel binary workbook (.xlsb). Open it in Excel and save it as .xlsx "
                "(Excel Workbook), then upload it again."
            ),
            code="xlsb",
        )
    if "xl/workbook.xml" in names:
        return "xlsx"
    if mimetype.startswith(b"application/vnd.oasis.opendocument") or "word/document.xml" in names:
        raise ImportFileError(
            _("This is a text document, not a spreadsheet. Upload an .xlsx, .ods or .csv file."), code="not_sheet"
        )
    raise _corrupt()


# --- .xlsx -------------------------------------------------------------------------------------------


def _xlsx_worksheets(data: bytes) -> list[Worksheet]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError, TypeError, EOFError) as exc:
        raise _corrupt() from exc
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
                        raise _too_many_rows()
                    rows.append((number, [_xlsx_cell(cell) for cell in cells]))
                merges = _xlsx_merges(workbook._archive.read(source._worksheet_path))
            except (zipfile.BadZipFile, KeyError, ValueError, TypeError, EOFError, OSError) as exc:
                raise _corrupt() from exc
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

_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
_TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"


def _ods_worksheets(data: bytes) -> list[Worksheet]:
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
                                raise _too_many_rows()
                            rows.append((number, list(cells)))
                    element.clear()
                elif tag == f"{_TABLE}table":
                    found.append(
                        Worksheet(name=element.get(f"{_TABLE}name", ""), rows=_blank_rows_filled(rows), merges=merges)
                    )
                    element.clear()
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, SyntaxError, DefusedXmlException) as exc:
        raise _corrupt(".ods") from exc
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


def _xls_worksheets(data: bytes) -> list[Worksheet]:
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
                raise _too_many_rows()
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


def _decode(data: bytes) -> str | None:
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


def _csv_rows(text: str) -> list[tuple[int, list[str]]]:
    if "\x00" in text:
        raise _not_a_sheet()
    # The separator most used in the first lines (a title line above the header has none).
    head = "\n".join(text.split("\n", 10)[:10])
    delimiter = max([",", ";", "\t", "؛"], key=head.count)
    if not head.count(delimiter):
        delimiter = ","
    rows: list[tuple[int, list[str]]] = []
    try:
        for number, values in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), start=1):
            if len(rows) > MAX_DATA_ROWS + HEADER_SEARCH_ROWS:
                raise _too_many_rows()
            rows.append((number, [cell_text(value) for value in values[:MAX_COLUMNS]]))
    except csv.Error as exc:
        raise ImportFileError(_("The CSV file could not be read: %(error)s") % {"error": exc}, code="corrupt") from exc
    return rows


# --- merged cells ---------------------------------------------------------------------------------


def _merges_apply(worksheet: Worksheet) -> None:
    """A value merged down several rows applies to each of them: the first column of every
    merged range gets the value of its top cell on every row it covers. (Columns to the right
    of a merged range stay blank: what is merged across is one cell, not a value per column.)"""
    if not worksheet.merges:
        return
    by_number = {number: index for index, (number, _cells) in enumerate(worksheet.rows)}
    for first_row, first_col, last_row, _last_col in worksheet.merges:
        if last_row <= first_row or first_row not in by_number:
            continue
        top = worksheet.rows[by_number[first_row]][1]
        value = top[first_col - 1] if first_col - 1 < len(top) else ""
        if not value or first_col > MAX_COLUMNS:
            continue
        for number in range(first_row + 1, last_row + 1):
            index = by_number.get(number)
            if index is None:
                continue
            cells = worksheet.rows[index][1]
            if len(cells) < first_col:
                cells.extend([""] * (first_col - len(cells)))
            cells[first_col - 1] = value


def merge_ref(first_row: int, first_col: int, last_row: int, last_col: int) -> str:
    from openpyxl.utils import get_column_letter

    return f"{get_column_letter(first_col)}{first_row}:{get_column_letter(last_col)}{last_row}"


def merged_header_ranges(sheet: "Sheet | Worksheet", header_row: int) -> list[str]:
    """Merged cell ranges touching the header area (named in header errors)."""
    return [merge_ref(*merge) for merge in sheet.merges if merge[0] <= header_row + 1]


# --- size without reading -----------------------------------------------------------------------------


def row_count_estimate(data: bytes) -> int:
    """The rows of a file, counted without reading its cells, to decide whether it is checked in
    the background. An .xlsx is counted by its row elements (its dimension record is optional
    and often missing or wrong), every worksheet included."""
    if data.startswith(_XLSX_MAGIC):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = archive.namelist()
                if "content.xml" in names and "xl/workbook.xml" not in names:
                    return _count_in(archive, "content.xml", re.compile(rb"<table:table-row[\s>/]"))
                return sum(
                    _count_in(archive, name, _ROW_TAG)
                    for name in names
                    if name.startswith("xl/worksheets/") and name.endswith(".xml")
                )
        except (zipfile.BadZipFile, KeyError, OSError, ValueError):
            return 0  # a damaged file is reported by the check itself
    if data.startswith(_OLE_MAGIC):
        return len(data) // 64  # a .xls row takes well over 64 bytes: an upper bound
    return data.count(b"\n") + 1


def _count_in(archive: zipfile.ZipFile, name: str, pattern: re.Pattern) -> int:
    """Matches of ``pattern`` in one zip member, streamed in blocks (a tag cut between two
    blocks is counted once: in the block where it ends)."""
    count = 0
    carry = b""
    with archive.open(name) as stream:
        while chunk := stream.read(1024 * 1024):
            block = carry + chunk
            count += sum(1 for match in pattern.finditer(block) if match.end() > len(carry))
            carry = block[-64:]
    return count
