"""What an uploaded spreadsheet becomes: worksheets of text cells, and the rules every reader
shares (limits, how a cell reads as text, how a header compares, the file-level error).

A cell that holds a formula is a ``Formula`` (reported by the importer, never evaluated); a cell the
spreadsheet stored as a date is an ``ExcelDate`` that remembers what it showed, so the importer can
say "Excel changed what was typed here into a date". Nothing here writes to the database.
"""

import datetime
import re
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from core.normalize import search_key

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_UNPACKED_BYTES = 200 * 1024 * 1024  # an .xlsx is a zip: refuse one that unpacks to a flood
MAX_DATA_ROWS = 20_000
MAX_COLUMNS = 60
HEADER_SEARCH_ROWS = 10

_HEADER_NOISE = re.compile(r"[^\w]+")
_DATE_TOKENS = re.compile(r"yyyy|yy|mmmm|mmm|mm|m|dddd|ddd|dd|d|hh|h|ss|s|am/pm|a/p", re.IGNORECASE)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


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


def too_many_rows_error() -> ImportFileError:
    return ImportFileError(
        _("The file has more than %(limit)s rows. Split it into smaller files and import them one by one.")
        % {"limit": f"{MAX_DATA_ROWS:,}"},
        code="too_many_rows",
    )


def corrupt_error(format_name: str = ".xlsx") -> ImportFileError:
    return ImportFileError(
        _("The file is not a readable %(format)s workbook (it may be damaged).") % {"format": format_name},
        code="corrupt",
    )


def not_a_sheet_error() -> ImportFileError:
    return ImportFileError(_("This file is not a spreadsheet. Upload an .xlsx, .ods or .csv file."), code="not_sheet")
