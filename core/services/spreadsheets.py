"""Reading uploaded spreadsheets (.xlsx, .csv) into rows of text, with limits and clear errors.

Only reading lives here; what the columns mean is the importer's business
(``core/services/imports.py``). Every problem with the file as a whole is an
``ImportFileError`` carrying a translated message; nothing here writes to the database.
"""

import csv
import datetime
import io
import re
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
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the old binary .xls
_HEADER_NOISE = re.compile(r"[^\w]+")
_MERGE_REF = re.compile(rb'<(?:\w+:)?mergeCell ref="([A-Z]+)(\d+):([A-Z]+)(\d+)"')


class ImportFileError(ValidationError):
    """The file as a whole cannot be imported (not a spreadsheet, damaged, too big, no header)."""


@dataclass
class Sheet:
    """The cells of the first worksheet as text: ``rows`` holds (row number, cells) pairs."""

    rows: list[tuple[int, list[str]]]
    is_xlsx: bool
    raw: bytes = field(repr=False, default=b"")


def header_key(text: str) -> str:
    """How a header compares: Arabic folded, case and punctuation ignored ("Guardian phone *")."""
    return _HEADER_NOISE.sub("", search_key(text)).replace("_", "")


def cell_text(value) -> str:
    """A cell as the text a person typed: 1001234567.0 → "1001234567", dates as ISO, a
    leading apostrophe (Excel's "text" mark, and what our exports add) removed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return format(Decimal(repr(value)), "f")
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time(0) else value.isoformat(sep=" ")
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    text = str(value).strip()
    if text.startswith("'"):
        return text[1:].strip()  # marked as text: even "=…" is not a formula
    if text.startswith("=") and len(text) > 1:
        return Formula(text)
    return text


class Formula(str):
    """A cell that holds a spreadsheet formula (reported by the importer, never evaluated)."""


def _too_many_rows() -> ImportFileError:
    return ImportFileError(
        _("The file has more than %(limit)s rows. Split it into smaller files and import them one by one.")
        % {"limit": f"{MAX_DATA_ROWS:,}"},
        code="too_many_rows",
    )


def sheet_read(data: bytes, file_name: str) -> Sheet:
    """Read the first worksheet of an .xlsx file or a .csv file (UTF-8 with or without BOM,
    UTF-16, or Windows-1256) into text rows, blank rows included."""
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
        _unpacked_size_check(data)
        return Sheet(rows=_xlsx_rows(data), is_xlsx=True, raw=data)
    if suffix in {".xlsx", ".xlsm"}:
        raise ImportFileError(_("The file is not a readable .xlsx workbook (it may be damaged)."), code="corrupt")
    if data.startswith(_OLE_MAGIC) or suffix == ".xls":
        raise ImportFileError(
            _("This is an old Excel (.xls) file. Open it in Excel and save it as .xlsx, then upload it again."),
            code="xls",
        )
    if suffix not in {".csv", ".txt", ""} or (
        b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff"))
    ):
        raise ImportFileError(_("This file is not a spreadsheet. Upload an .xlsx or .csv file."), code="not_sheet")
    return Sheet(rows=_csv_rows(data), is_xlsx=False, raw=data)


def _unpacked_size_check(data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(entry.file_size for entry in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ImportFileError(
            _("The file is not a readable .xlsx workbook (it may be damaged)."), code="corrupt"
        ) from exc
    if unpacked > MAX_UNPACKED_BYTES:
        raise ImportFileError(
            _("The workbook unpacks to more than %(size)s MB. Remove pictures and extra sheets, or split it.")
            % {"size": MAX_UNPACKED_BYTES // (1024 * 1024)},
            code="too_large",
        )


def _xlsx_rows(data: bytes) -> list[tuple[int, list[str]]]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError, TypeError, EOFError) as exc:
        raise ImportFileError(
            _("The file is not a readable .xlsx workbook (it may be damaged)."), code="corrupt"
        ) from exc
    try:
        if not workbook.worksheets:
            raise ImportFileError(_("The workbook has no worksheet."), code="empty")
        sheet = workbook.worksheets[0]
        rows: list[tuple[int, list[str]]] = []
        try:
            for number, values in enumerate(sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS), start=1):
                if len(rows) > MAX_DATA_ROWS + HEADER_SEARCH_ROWS:
                    raise _too_many_rows()
                rows.append((number, [cell_text(value) for value in values]))
        except (zipfile.BadZipFile, KeyError, ValueError, TypeError, EOFError, OSError) as exc:
            raise ImportFileError(
                _("The file is not a readable .xlsx workbook (it may be damaged)."), code="corrupt"
            ) from exc
        return rows
    finally:
        workbook.close()


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1256", errors="replace")


def _csv_rows(data: bytes) -> list[tuple[int, list[str]]]:
    text = _decode(data)
    if "\x00" in text:
        raise ImportFileError(_("This file is not a spreadsheet. Upload an .xlsx or .csv file."), code="not_sheet")
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


def merged_header_ranges(sheet: Sheet, header_row: int) -> list[str]:
    """Merged cell ranges touching the header area of an .xlsx sheet (read only on errors)."""
    if not sheet.is_xlsx:
        return []
    try:
        with zipfile.ZipFile(io.BytesIO(sheet.raw)) as archive:
            names = sorted(name for name in archive.namelist() if re.match(r"xl/worksheets/sheet\d+\.xml$", name))
            if not names:
                return []
            names.sort(key=lambda name: int(re.findall(r"\d+", name)[-1]))
            xml = archive.read(names[0])
    except (zipfile.BadZipFile, KeyError, OSError):
        return []
    found = []
    for first_col, first_row, last_col, last_row in _MERGE_REF.findall(xml):
        if int(first_row) <= header_row + 1:
            found.append(f"{first_col.decode()}{first_row.decode()}:{last_col.decode()}{last_row.decode()}")
    return found
