"""Importing students (with guardians and enrollments), teachers and groups from spreadsheets.

One engine for the admin, the background task and ``manage.py import_students``:

1. read the file (``core/services/spreadsheets.py``) and find the header row (Arabic or English);
2. normalize every cell with ``core/normalize.py`` (the rules the forms use);
3. check every row and report each problem with its row number, column and a translated message;
4. plan each row as new / update / unchanged / duplicate / error, with look-ups made once per
   file (groups by code, guardians by phone, students by folded name + guardian phone and by
   code); a row repeating an earlier row of the file is a duplicate, skipped (R12);
5. apply: all rows or none, in one transaction, with bulk writes and one locked advance of
   the student code counter for the whole file.
"""

import datetime
import io
import json
import logging
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connections, models, router, transaction
from django.db.models import Count
from django.db.models.functions import Upper
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext

from core.access.scoping import branch_ids_visible
from core.models import (
    AuditLog,
    Branch,
    Counter,
    Enrollment,
    FeePeriod,
    FeePlan,
    Gender,
    Grade,
    Group,
    Guardian,
    ImportJob,
    PayScheme,
    Room,
    Student,
    StudentGuardian,
    Teacher,
    Weekday,
)
from core.normalize import digits_ascii, name_clean, phone_e164, search_key
from core.ops.storage import uploads_written_first
from core.services.enrollments import fee_plan_clean
from core.services.records import record_save
from core.services.schedule import slot_save
from core.services.spreadsheets import (
    HEADER_SEARCH_ROWS,
    ExcelDate,
    Formula,
    ImportFileError,
    Sheet,
    Worksheet,
    header_key,
    merge_ref,
    merged_header_ranges,
    row_count_estimate,
    sheet_read,
)
from core.services.students import (
    STUDENT_CODE_COUNTER,
    STUDENT_CODE_START,
    student_code_clean,
    student_registrations_lock,
)

logger = logging.getLogger(__name__)

BACKGROUND_ROWS = 2000  # bigger files are checked and applied by a django-q2 task
BATCH_SIZE = 1000
PROGRESS_EVERY = 500

NEW, UPDATE, UNCHANGED, DUPLICATE, ERROR = "new", "update", "unchanged", "duplicate", "error"
ACTIONS = (NEW, UPDATE, UNCHANGED, DUPLICATE, ERROR)


@dataclass(frozen=True)
class Column:
    """A column of an import sheet: its key, its label, the Arabic header the template uses
    and the other spellings accepted in files (data, not interface text)."""

    key: str
    label: object  # lazy translated label (English source)
    arabic: str
    aliases: tuple[str, ...] = ()
    required: bool = False
    example: str = ""


STUDENT_COLUMNS: tuple[Column, ...] = (
    Column("code", gettext_lazy("Code"), "الكود", ("كود", "كود الطالب", "code", "student code", "id"), example=""),
    Column(
        "full_name",
        gettext_lazy("Full name"),
        "اسم الطالب",
        (
            "الاسم",
            "الاسم بالكامل",
            "الاسم الكامل",
            "اسم الطالب بالكامل",
            "الطالب",
            "name",
            "full name",
            "student name",
            "student",
        ),
        required=True,
        example="أحمد محمد علي",
    ),
    Column(
        "phone",
        gettext_lazy("Student phone"),
        "هاتف الطالب",
        ("موبايل الطالب", "تليفون الطالب", "رقم هاتف الطالب", "student phone", "student mobile", "phone"),
        example="01112345678",
    ),
    Column(
        "guardian_name",
        gettext_lazy("Guardian name"),
        "اسم ولي الأمر",
        ("ولي الأمر", "guardian", "guardian name", "parent", "parent name"),
        example="محمد علي",
    ),
    Column(
        "guardian_phone",
        gettext_lazy("Guardian phone"),
        "هاتف ولي الأمر",
        (
            "موبايل ولي الأمر",
            "رقم ولي الأمر",
            "تليفون ولي الأمر",
            "واتساب ولي الأمر",
            "رقم هاتف ولي الأمر",
            "guardian phone",
            "guardian mobile",
            "parent phone",
            "whatsapp",
        ),
        required=True,
        example="01001234567",
    ),
    Column(
        "guardian2_name",
        gettext_lazy("Second guardian name"),
        "اسم ولي الأمر الثاني",
        ("second guardian name", "guardian 2 name"),
    ),
    Column(
        "guardian2_phone",
        gettext_lazy("Second guardian phone"),
        "هاتف ولي الأمر الثاني",
        (
            "موبايل ولي الأمر الثاني",
            "رقم ولي الأمر الثاني",
            "هاتف الأم",
            "موبايل الأم",
            "second guardian phone",
            "guardian 2 phone",
        ),
    ),
    Column(
        "grade", gettext_lazy("Grade"), "الصف", ("الصف الدراسي", "السنة الدراسية", "المرحلة", "grade", "class", "year")
    ),
    Column("gender", gettext_lazy("Gender"), "النوع", ("الجنس", "ذكر/أنثى", "gender", "sex"), example="ذكر"),
    Column("school", gettext_lazy("School"), "المدرسة", ("school",)),
    Column(
        "groups",
        gettext_lazy("Group codes"),
        "أكواد المجموعات",
        ("المجموعات", "المجموعة", "كود المجموعة", "كود المجموعات", "groups", "group", "group code", "group codes"),
    ),
    Column("fee_plan", gettext_lazy("Fee plan"), "نظام الرسوم", ("خطة الرسوم", "نوع الرسوم", "fee plan", "plan")),
    Column(
        "custom_fee",
        gettext_lazy("Custom fee"),
        "الرسوم المخفضة",
        ("رسوم خاصة", "الرسوم الخاصة", "رسوم مخفضة", "custom fee", "reduced fee"),
    ),
    Column(
        "fee_reason",
        gettext_lazy("Fee plan reason"),
        "سبب التخفيض أو الإعفاء",
        ("سبب الرسوم", "سبب التخفيض", "سبب الإعفاء", "fee reason", "fee plan reason", "reason"),
    ),
    Column("notes", gettext_lazy("Notes"), "ملاحظات", ("الملاحظات", "notes", "note", "remarks")),
)

# Columns our own error report adds: accepted on re-upload and ignored without a warning.
IGNORED_HEADERS = ("الأخطاء", "errors", "error", "خطأ", "#", "م", "مسلسل", "no")

# What people write in a gender column (folded by header_key), in Arabic and English.
GENDER_ALIASES = {
    header_key(text): value
    for value, texts in (
        (Gender.MALE, ("ذكر", "ولد", "ابن", "طالب", "male", "m", "boy")),
        (Gender.FEMALE, ("أنثى", "انثى", "بنت", "ابنة", "طالبة", "female", "f", "girl")),
    )
    for text in texts
}

# Spellings of grades people type besides the labels (in any language) and the codes.
GRADE_ALIASES = {
    "p4": ("4 ابتدائي", "رابعة ابتدائي", "رابع ابتدائي"),
    "p5": ("5 ابتدائي", "خامسة ابتدائي", "خامس ابتدائي"),
    "p6": ("6 ابتدائي", "سادسة ابتدائي", "سادس ابتدائي"),
    "m1": ("1 اعدادي", "اولى اعدادي", "أولى إعدادي", "الصف الأول الإعدادي"),
    "m2": ("2 اعدادي", "تانية اعدادي", "ثانية إعدادي", "الصف الثاني الإعدادي"),
    "m3": ("3 اعدادي", "تالتة اعدادي", "ثالثة إعدادي", "الصف الثالث الإعدادي"),
    "s1": ("1 ثانوي", "اولى ثانوي", "أولى ثانوي", "الصف الأول الثانوي", "1ث"),
    "s2": ("2 ثانوي", "تانية ثانوي", "ثانية ثانوي", "الصف الثاني الثانوي", "2ث"),
    "s3": ("3 ثانوي", "تالتة ثانوي", "ثالثة ثانوي", "الصف الثالث الثانوي", "3ث"),
}
FEE_PLAN_ALIASES = {
    "normal": ("عادى", "كامل", "full"),
    "reduced": ("مخفض", "تخفيض", "خصم", "discount"),
    "exempt": ("معفي", "معفى", "اعفاء", "إعفاء", "مجاني", "free"),
}


def column_title(column: Column) -> str:
    """The header to show for a column: the template's Arabic one in Arabic, else the label."""
    return column.arabic if (translation.get_language() or "").startswith("ar") else str(column.label)


def _choice_map(choices, aliases: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """Folded spelling → value: the value itself, its label in English and Arabic, aliases."""
    mapping: dict[str, str] = {}
    for language in ("en", "ar"):
        with translation.override(language):
            for value, label in choices:
                mapping[header_key(str(label))] = value
    for value, _label in choices:
        mapping[header_key(value)] = value
    for value, spellings in aliases.items():
        for spelling in spellings:
            mapping[header_key(spelling)] = value
    return mapping


@dataclass
class RowOutcome:
    number: int
    action: str = NEW
    label: str = ""
    note: str = ""  # which existing student or earlier row this row is (R12)
    changes: list[str] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    sheet: str = ""  # the worksheet, when a file's rows come from several

    def error(self, column: str, message: str) -> None:
        self.errors.append((column, str(message)))
        self.action = ERROR

    @property
    def where(self) -> str:
        """The row as a person finds it: its number, and its worksheet when there are several."""
        return f"{self.number} ({self.sheet})" if self.sheet else str(self.number)

    def as_json(self) -> dict:
        data = {"n": self.number, "a": self.action, "l": self.label}
        if self.sheet:
            data["s"] = self.sheet
        if self.note:
            data["m"] = self.note
        if self.changes:
            data["c"] = self.changes
        if self.errors:
            data["e"] = [list(issue) for issue in self.errors]
        return data


@dataclass
class ImportResult:
    """What a check or an import found: counts, per-row outcomes, and any whole-file error."""

    rows: list[RowOutcome] = field(default_factory=list)
    file_error: str = ""
    ignored_columns: list[str] = field(default_factory=list)
    applied: bool = False
    blank_rows: int = 0
    notes: list[str] = field(default_factory=list)  # what the file holds that is not imported, said once

    def count(self, action: str) -> int:
        return sum(1 for row in self.rows if row.action == action)

    @property
    def counts(self) -> dict[str, int]:
        tally = dict.fromkeys(ACTIONS, 0)
        for row in self.rows:
            tally[row.action] += 1
        return tally

    @property
    def ok(self) -> bool:
        return not self.file_error and not any(row.action == ERROR for row in self.rows)

    def issues(self) -> list[tuple[int, str, str]]:
        return [(row.number, column, message) for row in self.rows for column, message in row.errors]


@dataclass
class HeaderMap:
    columns: dict[str, int]  # column key -> index in the row
    titles: dict[str, str]  # column key -> header as written in the file
    header_row: int
    ignored: list[str]
    last_row: int = 0  # the header's last row (a two-row header, a header merged down): data starts below

    def __post_init__(self):
        self.last_row = max(self.last_row, self.header_row)


def _spellings(columns: tuple[Column, ...]) -> dict[str, str]:
    spellings: dict[str, str] = {}
    for column in columns:
        for spelling in (column.key, column.arabic, str(column.label), *column.aliases):
            spellings.setdefault(header_key(spelling), column.key)
        with translation.override("en"):
            spellings.setdefault(header_key(str(column.label)), column.key)
        with translation.override("ar"):
            spellings.setdefault(header_key(str(column.label)), column.key)
    return spellings


def _compose(parent: str, child: str, spellings: dict[str, str]) -> str:
    """The header of a column under a header merged across several ("Guardian" over "Name" and
    "Phone"; "ولي الأمر" over "الاسم" and "الهاتف"): the spelling the import knows, if any."""
    bare_child = child[2:] if child.startswith("ال") else child
    for candidate in (f"{parent} {child}", f"{bare_child} {parent}", f"{child} {parent}"):
        if header_key(candidate) in spellings:
            return candidate
    return f"{parent} {child}"


def _header_layout(
    worksheet: Worksheet | Sheet, number: int, cells: list[str], spellings: dict[str, str]
) -> tuple[list[str], int, list[tuple[int, int, str]]]:
    """The header cells of row ``number`` as one header per column, the header's last row, and
    the header cells merged across columns with nothing under them: (first column, last column,
    text). A header merged down (or a two-row header) ends where its merged cells end."""
    cells = list(cells)
    last_row = number
    spans = []
    for first_row, first_col, merge_last_row, last_col in worksheet.merges:
        if first_row == number and merge_last_row > number:
            last_row = max(last_row, merge_last_row)
        if first_row == number and last_col > first_col and first_col <= len(cells):
            spans.append((first_col, last_col, merge_last_row))
    if not spans:
        return cells, last_row, []
    rows = dict(worksheet.rows[: HEADER_SEARCH_ROWS + 2])
    below = rows.get(number + 1, [])
    unnamed = []
    for first_col, last_col, merge_last_row in spans:
        parent = cells[first_col - 1]
        children = [below[index - 1] if index <= len(below) else "" for index in range(first_col, last_col + 1)]
        if merge_last_row == number and any(children):
            # a two-row header: each column is named by its own cell under the merged one
            last_row = max(last_row, number + 1)
            cells.extend([""] * (last_col - len(cells)))
            for index, child in zip(range(first_col, last_col + 1), children, strict=True):
                cells[index - 1] = _compose(parent, child, spellings) if child else ""
        elif parent:
            unnamed.append((first_col, last_col, parent))
    return cells, last_row, unnamed


def header_find(sheet: Sheet | Worksheet, columns: tuple[Column, ...]) -> HeaderMap:
    """Find the header row (title rows above it are allowed) and map it to column keys.

    ``sheet`` is a worksheet (or a file, meaning its first worksheet). Merged header cells are
    read: a header merged down several rows ends where they end; one merged across columns with
    a header per column under it names each of them ("ولي الأمر" over "الاسم", "الهاتف"); one
    merged across columns that hold data of their own is refused, naming the range."""
    spellings = _spellings(columns)
    ignored_keys = {header_key(text) for text in IGNORED_HEADERS} | {header_key(str(_("Errors")))}
    for number, raw_cells in sheet.rows[:HEADER_SEARCH_ROWS]:
        if sum(1 for cell in raw_cells if header_key(cell) in spellings) < 2:
            continue
        cells, last_row, unnamed = _header_layout(sheet, number, raw_cells, spellings)
        keys = [header_key(cell) for cell in cells]
        mapped: dict[str, int] = {}
        titles: dict[str, str] = {}
        ignored: list[str] = []
        for index, (cell, key) in enumerate(zip(cells, keys, strict=True)):
            if not key:
                continue
            column_key = spellings.get(key)
            if column_key is None:
                if key not in ignored_keys:
                    ignored.append(cell)
                continue
            if column_key in mapped:
                message = _("The column “%(column)s” appears twice in the header row.") % {"column": cell}
                merged = merged_header_ranges(sheet, number)
                if merged:
                    message += " " + _merged_message(merged)
                raise ImportFileError(message, code="duplicate")
            mapped[column_key] = index
            titles[column_key] = cell
        missing = [column for column in columns if column.required and column.key not in mapped]
        if missing:
            message = _("Required column missing: %(columns)s.") % {
                "columns": _missing_columns_text(
                    missing, file_in_arabic=any(map(ARABIC_LETTER.search, titles.values()))
                )
            }
            merged = merged_header_ranges(sheet, number)
            if merged:
                message += " " + _merged_message(merged)
            error = ImportFileError(message, code="missing_column")
            error.header_row = number  # the rows under it are the sheet's data, counted when it is skipped
            raise error
        _unnamed_columns_check(sheet, last_row, unnamed, number)
        for column in columns:
            titles.setdefault(column.key, column_title(column))
        return HeaderMap(columns=mapped, titles=titles, header_row=number, ignored=ignored, last_row=last_row)
    merged = merged_header_ranges(sheet, HEADER_SEARCH_ROWS)
    message = _(
        "No header row found: the first row must name the columns, e.g. “%(example)s”. Download the template."
    ) % {"example": "، ".join(column.arabic for column in columns if column.required)}
    if merged:
        message += " " + _merged_message(merged)
    raise ImportFileError(message, code="no_header")


def _unnamed_columns_check(sheet, last_row: int, unnamed: list[tuple[int, int, str]], header_row: int) -> None:
    """A header merged across columns names the first; a column it covers that holds data has
    no header of its own, and its data would be lost: refused, naming the range."""
    for first_col, last_col, text in unnamed:
        for number, cells in sheet.rows:
            if number <= last_row:
                continue
            if any(cells[index - 1] for index in range(first_col + 1, min(last_col, len(cells)) + 1)):
                raise ImportFileError(
                    _(
                        "The header “%(header)s” is merged over %(range)s and the columns it covers hold data "
                        "with no header of their own. Unmerge the header cells and give each column its own header."
                    )
                    % {"header": text, "range": merge_ref(header_row, first_col, header_row, last_col)},
                    code="merged_header",
                )


def _has_data(worksheet: Worksheet, after: int = 0) -> int:
    """How many rows below row ``after`` hold anything."""
    return sum(1 for number, cells in worksheet.rows if number > after and any(cells))


def _template_lists(worksheet: Worksheet) -> bool:
    """The hidden sheet of drop-down choices our own template carries."""
    if not worksheet.hidden:
        return False
    names = set()
    for language in ("ar", "en"):
        with translation.override(language):
            names.add(_sheet_title(pgettext("import template sheet", "Lists")))
    return worksheet.name in names


def sheet_parts(sheet: Sheet, columns: tuple[Column, ...]) -> tuple[list[tuple[Worksheet, HeaderMap]], list[str]]:
    """The worksheets to import, each with its header, and a note for every other worksheet
    that holds data: nothing on a sheet is skipped without a word.

    The first worksheet with a header row sets the columns; a later one with the same columns
    (in any order) is imported too; any other worksheet with data is named with its row count
    and the reason it was not read."""
    parts: list[tuple[Worksheet, HeaderMap]] = []
    skipped: list[tuple[Worksheet, int, str]] = []
    first_error: ImportFileError | None = None
    for worksheet in sheet.worksheets:
        if not _has_data(worksheet) or _template_lists(worksheet):
            continue
        try:
            header = header_find(worksheet, columns)
        except ImportFileError as exc:
            first_error = first_error or exc
            skipped.append((worksheet, _has_data(worksheet, getattr(exc, "header_row", 0)), exc.messages[0]))
            continue
        if not parts:
            parts.append((worksheet, header))
        elif set(header.columns) == set(parts[0][1].columns):
            parts.append((worksheet, header))
        else:
            skipped.append(
                (
                    worksheet,
                    _has_data(worksheet, header.last_row),
                    _("its columns are not the same as on the sheet “%(sheet)s”") % {"sheet": parts[0][0].name},
                )
            )
    if not parts:
        raise first_error or ImportFileError(_("The file has no rows."), code="empty")
    notes = []
    for worksheet, count, reason in skipped:
        notes.append(
            ngettext(
                "The sheet “%(sheet)s” has %(count)s row that was not read: %(reason)s",
                "The sheet “%(sheet)s” has %(count)s rows that were not read: %(reason)s",
                count,
            )
            % {"sheet": worksheet.name, "count": count, "reason": reason.rstrip(".")}
        )
    if len(parts) > 1:
        notes.append(
            _("Rows of every sheet with the same columns are imported: %(sheets)s.")
            % {"sheets": "، ".join(f"“{worksheet.name}”" for worksheet, _header in parts)}
        )
    return parts, notes


def _ignored(parts: list[tuple[Worksheet, HeaderMap]]) -> list[str]:
    ignored: list[str] = []
    for _worksheet, header in parts:
        ignored += [title for title in header.ignored if title not in ignored]
    return ignored


def _no_rows() -> ImportFileError:
    return ImportFileError(
        _("The file has the header row but no rows under it: there is nothing to import."), code="no_rows"
    )


def _sheet_data_rows(importer, sheet: Sheet, result: "ImportResult") -> list[tuple]:
    """The rows under the header of every worksheet that has this import's columns, as
    ``(sheet name or "", header, row number, cells)``; notes and ignored columns go on ``result``.
    Refuses a file whose header has no row under it."""
    parts, result.notes = sheet_parts(sheet, importer.columns)
    importer.header = parts[0][1]
    result.ignored_columns = _ignored(parts)
    several = len(parts) > 1
    data_rows = [
        (worksheet.name if several else "", header, number, cells)
        for worksheet, header in parts
        for number, cells in worksheet.rows
        if number > header.last_row
    ]
    if not any(any(cells) for *_where, cells in data_rows):
        raise _no_rows()
    return data_rows


ARABIC_LETTER = re.compile(r"[\u0600-\u06ff]")


def _missing_columns_text(missing: list[Column], *, file_in_arabic: bool) -> str:
    """Each missing column by the header to add, in the language the file's headers are written
    in, and the other accepted header beside it (either is recognised)."""
    with translation.override("en"):
        english = [str(column.label) for column in missing]
    names = []
    for column, english_header in zip(missing, english, strict=True):
        header, other = (column.arabic, english_header) if file_in_arabic else (english_header, column.arabic)
        names.append(_("“%(header)s” (or “%(other)s”)") % {"header": header, "other": other})
    return pgettext("list separator", ", ").join(names)


def _merged_message(ranges: list[str]) -> str:
    return _("The header has merged cells (%(ranges)s): unmerge them so every column has its own header.") % {
        "ranges": ", ".join(ranges[:5])
    }


# Columns holding codes: a date there is what Excel made of a code, never a code.
CODE_KEYS = frozenset({"code", "groups"})


class RowValues:
    """The cells of one data row by column key, with formula cells (and dates where a code
    belongs) reported as errors."""

    def __init__(self, cells: list[str], header: HeaderMap, outcome: RowOutcome):
        self.cells = cells
        self.header = header
        self.outcome = outcome
        self.formulas: set[str] = set()

    def __getitem__(self, key: str) -> str:
        index = self.header.columns.get(key)
        if index is None or index >= len(self.cells):
            return ""
        value = self.cells[index]
        if isinstance(value, ExcelDate) and key in CODE_KEYS:
            # Excel turns "1-2" or "3/4" into a date; the import never guesses the code back.
            if key not in self.formulas:
                self.formulas.add(key)
                self.outcome.error(
                    self.header.titles[key],
                    _(
                        "Excel changed what was typed here into a date (it shows “%(shown)s”). Format the column "
                        "as Text, type the code again and upload the file."
                    )
                    % {"shown": value.shown},
                )
            return ""
        if isinstance(value, Formula):
            if key in self.formulas:
                return ""
            self.formulas.add(key)
            self.outcome.error(
                self.header.titles[key],
                _("This cell holds a formula (%(formula)s): type the value itself.") % {"formula": value[:40]},
            )
            return ""
        return value

    def title(self, key: str) -> str:
        return self.header.titles[key]


def _phone(values: RowValues, key: str, *, required: bool) -> str:
    raw = values[key]
    if not raw:
        if required and key not in values.formulas:
            values.outcome.error(values.title(key), _("Enter a phone number."))
        return ""
    try:
        return phone_e164(raw)
    except ValidationError as exc:
        values.outcome.error(values.title(key), exc.messages[0])
        return ""


def _money(raw: str) -> str:
    """A fee as typed ("150", "150.5", "١٥٠", "150 جنيه") → a plain decimal string, or the raw text."""
    text = digits_ascii(raw).replace("٫", ".").replace(",", "")
    text = "".join(ch for ch in text if ch.isdigit() or ch in ".-")
    try:
        return str(Decimal(text)) if text else ""
    except InvalidOperation:
        return raw


@dataclass
class StudentRow:
    outcome: RowOutcome
    code: str = ""
    full_name: str = ""
    key: str = ""
    phone: str = ""
    guardian_name: str = ""
    guardian_phone: str = ""
    guardian2_name: str = ""
    guardian2_phone: str = ""
    grade: str = ""
    gender: str = ""  # empty: male for a new student, unchanged for an existing one
    school: str = ""
    notes: str = ""
    group_codes: list[str] = field(default_factory=list)
    fee_plan: str = FeePlan.NORMAL
    plan_given: bool = False  # a blank fee plan cell leaves existing enrollments' plans alone
    custom_fee: Decimal | None = None
    fee_reason: str = ""
    student: Student | None = None  # the existing student this row updates
    student_changes: dict = field(default_factory=dict)
    new_links: list[tuple[str, bool]] = field(default_factory=list)  # (guardian phone, primary)
    new_groups: list[Group] = field(default_factory=list)
    plan_changes: list[Enrollment] = field(default_factory=list)


def _split_codes(raw: str) -> list[str]:
    text = digits_ascii(raw).upper()
    for separator in ("،", "؛", ";", "/", "|", "\n", " "):
        text = text.replace(separator, ",")
    codes: list[str] = []
    for part in text.split(","):
        code = part.strip()
        if code and code not in codes:
            codes.append(code)
    return codes


class StudentImporter:
    """Students with their guardians and enrollments (SPEC.md §4)."""

    kind = ImportJob.Kind.STUDENTS
    columns = STUDENT_COLUMNS

    def __init__(self, *, branch: Branch, actor=None, reason: str = ""):
        self.branch = branch
        self.actor = actor if getattr(actor, "pk", None) else None
        self.reason = reason
        self.grades = _choice_map(Grade.choices, GRADE_ALIASES)
        self.fee_plans = _choice_map(FeePlan.choices, FEE_PLAN_ALIASES)

    # --- 1. normalize and check each row on its own -----------------------------------------

    def row_parse(self, values: RowValues) -> StudentRow:
        outcome = values.outcome
        row = StudentRow(outcome=outcome)
        row.full_name = name_clean(values["full_name"])
        row.key = search_key(row.full_name)
        raw_code = values["code"]
        if raw_code:
            try:
                row.code = student_code_clean(raw_code)
            except ValidationError as exc:
                outcome.error(values.title("code"), exc.message_dict["code"][0])
        outcome.label = row.full_name
        if not row.full_name and "full_name" not in values.formulas:
            outcome.error(values.title("full_name"), _("Enter the student's full name."))
        row.phone = _phone(values, "phone", required=False)
        row.guardian_name = name_clean(values["guardian_name"])
        row.guardian_phone = _phone(values, "guardian_phone", required=True)
        row.guardian2_name = name_clean(values["guardian2_name"])
        row.guardian2_phone = _phone(values, "guardian2_phone", required=False)
        if row.guardian2_phone == row.guardian_phone:
            row.guardian2_phone = ""
        raw_grade = values["grade"]
        if raw_grade:
            row.grade = self.grades.get(header_key(raw_grade), "")
            if not row.grade:
                outcome.error(
                    values.title("grade"),
                    _("Unknown grade “%(value)s”. Use one of: %(choices)s.")
                    % {"value": raw_grade, "choices": "، ".join(str(label) for _v, label in Grade.choices)},
                )
        if values["gender"]:
            row.gender = GENDER_ALIASES.get(header_key(values["gender"]), "")
            if not row.gender:
                outcome.error(
                    values.title("gender"),
                    _("Unknown gender “%(value)s”. Write ذكر or أنثى.") % {"value": values["gender"]},
                )
        row.school = name_clean(values["school"])
        row.notes = values["notes"].strip()
        row.group_codes = _split_codes(values["groups"])
        raw_plan = values["fee_plan"]
        row.plan_given = bool(raw_plan)
        plan = self.fee_plans.get(header_key(raw_plan), "") if raw_plan else FeePlan.NORMAL
        if not plan:
            outcome.error(
                values.title("fee_plan"),
                _("Unknown fee plan “%(value)s”. Use one of: %(choices)s.")
                % {"value": raw_plan, "choices": "، ".join(str(label) for _v, label in FeePlan.choices)},
            )
        elif row.group_codes or raw_plan:
            try:
                row.fee_plan, row.custom_fee, row.fee_reason = fee_plan_clean(
                    plan, _money(values["custom_fee"]), values["fee_reason"]
                )
            except ValidationError as exc:
                for name, messages in exc.message_dict.items():
                    column = {"custom_fee": "custom_fee", "fee_reason": "fee_reason"}.get(name, "fee_plan")
                    outcome.error(values.title(column), messages[0])
        return row

    # --- 2. plan the rows against the database, with one look-up per kind of record -------

    def rows_plan(self, rows: list[StudentRow]) -> None:
        live = rows
        phones = {row.guardian_phone for row in live if row.guardian_phone}
        phones |= {row.guardian2_phone for row in live if row.guardian2_phone}
        codes = {row.code for row in live if row.code}
        group_codes = {code for row in live for code in row.group_codes}

        self.guardians = {guardian.phone: guardian for guardian in _in_chunks(Guardian.objects.all(), "phone", phones)}
        # existing students reachable from these guardians: (folded name, guardian phone) → student id
        by_identity: dict[tuple[str, str], int] = {}
        student_phones: dict[int, set[str]] = defaultdict(set)
        links = _in_chunks(
            StudentGuardian.objects.values_list("student_id", "student__search_key", "guardian__phone"),
            "guardian__phone",
            phones,
        )
        for student_id, key, phone in links:
            by_identity.setdefault((key, phone), student_id)
            # only phones of this file matter when a row is compared with its student
            student_phones[student_id].add(phone)
        by_code = dict(_in_chunks(Student.objects.values_list("code", "pk"), "code", codes))
        student_ids = set(by_identity.values()) | set(by_code.values())
        self.students = {student.pk: student for student in _in_chunks(Student.objects.all(), "pk", student_ids)}
        self.has_primary = {
            student_id
            for student_id, is_primary in _in_chunks(
                StudentGuardian.objects.filter(is_primary=True).values_list("student_id", "is_primary"),
                "student_id",
                student_ids,
            )
        }
        enrollments: dict[tuple[int, int], Enrollment] = {
            (enrollment.student_id, enrollment.group_id): enrollment
            for enrollment in _in_chunks(Enrollment.objects.filter(is_active=True), "student_id", student_ids)
        }
        groups_query = Group.objects.annotate(code_upper=Upper("code"))  # codes match whatever their case
        visible = branch_ids_visible(self.actor) if self.actor else None
        if visible is not None:
            groups_query = groups_query.filter(branch__in=visible)
        groups = {group.code_upper: group for group in _in_chunks(groups_query, "code_upper", group_codes)}
        group_load = dict(
            Enrollment.objects.filter(is_active=True, group__in=list(groups.values()))
            .values_list("group_id")
            .annotate(total=Count("id"))
            .values_list("group_id", "total")
        )

        # R12: the first row naming a student (folded name + guardian phone, or code, or the existing
        # student they resolve to) is planned; a later row naming him again is a duplicate, skipped.
        seen_identity: dict[tuple[str, str], int] = {}
        seen_code: dict[str, int] = {}
        seen_student: dict[int, int] = {}
        for row in rows:
            outcome = row.outcome
            identity = (row.key, row.guardian_phone)
            earlier = [
                seen[value] for seen, value in ((seen_identity, identity), (seen_code, row.code)) if value in seen
            ]
            # A row with its own errors stays an error: what is wrong in it is shown, not hidden.
            if earlier and outcome.action != ERROR:
                self._duplicate(outcome, min(earlier))
                continue
            if row.key and row.guardian_phone:
                seen_identity.setdefault(identity, outcome.number)
            if row.code:
                seen_code.setdefault(row.code, outcome.number)
            # which existing student is this? the typed code first (when the guardian matches), else name + phone
            student = None
            if row.code and row.code in by_code:
                holder = self.students[by_code[row.code]]
                if row.guardian_phone in student_phones.get(holder.pk, set()) or holder.search_key == row.key:
                    student = holder
                else:
                    outcome.error(
                        self.title("code"),
                        _("The code %(code)s is already used by another student (%(name)s).")
                        % {"code": row.code, "name": holder.full_name},
                    )
            if student is None and identity in by_identity:
                student = self.students[by_identity[identity]]
                if row.code and student.code != row.code and row.code in by_code:
                    student = None  # the clash is reported above
            if student is not None and outcome.action != ERROR:
                if student.pk in seen_student:  # an earlier row already updates this student
                    self._duplicate(outcome, seen_student[student.pk])
                    continue
                seen_student[student.pk] = outcome.number
            if student is not None and visible is not None and student.branch_id not in visible:
                outcome.error(
                    self.title("full_name"),
                    _("This student belongs to a branch you do not work in (code %(code)s).") % {"code": student.code},
                )
            for code in row.group_codes:
                group = groups.get(code)
                if group is None:
                    outcome.error(self.title("groups"), _("There is no group with the code %(code)s.") % {"code": code})
                elif not group.is_active:
                    outcome.error(self.title("groups"), _("The group %(group)s is not active.") % {"group": code})
            if outcome.action == ERROR:
                continue
            row.student = student
            if student is None:
                outcome.action = NEW
                outcome.label = f"{row.full_name} ({row.code})" if row.code else row.full_name
                row.new_links = [(row.guardian_phone, True)] + (
                    [(row.guardian2_phone, False)] if row.guardian2_phone else []
                )
                row.new_groups = [groups[code] for code in row.group_codes]
            else:
                self._student_diff(row, student, student_phones.get(student.pk, set()), groups, enrollments)
                if row.new_groups and not student.is_active:
                    outcome.error(
                        self.title("groups"),
                        _("%(student)s is not active: activate the student before enrolling.")
                        % {"student": student.full_name},
                    )
                    continue
                outcome.label = f"{student.full_name} ({student.code})"
                outcome.note = _("same student as %(code)s — %(name)s") % {
                    "code": student.code,
                    "name": student.full_name,
                }
            for group in row.new_groups:
                group_load[group.pk] = group_load.get(group.pk, 0) + 1
                if group_load[group.pk] > group.capacity:
                    outcome.error(
                        self.title("groups"),
                        _("The group %(group)s is full (%(capacity)s students).")
                        % {"group": group.code, "capacity": group.capacity},
                    )

    def title(self, key: str) -> str:
        return self.header.titles[key]

    @staticmethod
    def _duplicate(outcome: RowOutcome, earlier_row: int) -> None:
        outcome.action = DUPLICATE
        outcome.note = _("duplicate of row %(row)s") % {"row": earlier_row}

    def _student_diff(self, row: StudentRow, student: Student, phones: set[str], groups, enrollments) -> None:
        changes = {}
        for name in ("phone", "grade", "gender", "school", "notes"):
            value = getattr(row, name)
            if value and value != getattr(student, name):
                changes[name] = value
        if row.key != student.search_key:  # a spelling variant (أيمن / ايمن) keeps the stored spelling
            changes["full_name"] = row.full_name
        if row.code and row.code != student.code:
            changes["code"] = row.code
        row.student_changes = changes
        primary_taken = student.pk in self.has_primary
        for phone in (row.guardian_phone, row.guardian2_phone):
            if phone and phone not in phones:
                row.new_links.append((phone, not primary_taken))
                primary_taken = True
        for code in row.group_codes:
            group = groups[code]
            enrollment = enrollments.get((student.pk, group.pk))
            if enrollment is None:
                row.new_groups.append(group)
            elif row.plan_given and (enrollment.fee_plan, enrollment.custom_fee, enrollment.fee_reason) != (
                row.fee_plan,
                row.custom_fee,
                row.fee_reason,
            ):
                enrollment.fee_plan, enrollment.custom_fee, enrollment.fee_reason = (
                    row.fee_plan,
                    row.custom_fee,
                    row.fee_reason,
                )
                row.plan_changes.append(enrollment)
        described = [str(Student._meta.get_field(name).verbose_name) for name in changes]
        if row.new_links:
            described.append(str(_("guardians")))
        if row.new_groups:
            described.append(str(_("groups")))
        if row.plan_changes:
            described.append(str(_("fee plan")))
        row.outcome.changes = described
        row.outcome.action = UPDATE if described else UNCHANGED

    # --- 3. apply every planned row in bulk ---------------------------------------------------

    def rows_apply(self, rows: list[StudentRow]) -> None:
        new_rows = [row for row in rows if row.outcome.action == NEW]
        update_rows = [row for row in rows if row.outcome.action == UPDATE]
        now = timezone.now()
        today = timezone.localdate()
        self._codes_assign(new_rows)

        # guardians: new phones once (siblings share one), names filled where missing
        new_guardians: dict[str, Guardian] = {}
        named_guardians: dict[str, Guardian] = {}
        for row in new_rows + update_rows:
            for phone, name in ((row.guardian_phone, row.guardian_name), (row.guardian2_phone, row.guardian2_name)):
                if not phone:
                    continue
                guardian = self.guardians.get(phone) or new_guardians.get(phone)
                if guardian is None:
                    new_guardians[phone] = Guardian(phone=phone, full_name=name)
                elif name and not guardian.full_name and guardian.pk:
                    guardian.full_name = name
                    named_guardians[phone] = guardian
        rows_insert(Guardian, list(new_guardians.values()))
        Guardian.objects.bulk_update(named_guardians.values(), ["full_name"], batch_size=BATCH_SIZE)
        guardians = {**self.guardians, **new_guardians}

        students = [
            Student(
                code=row.code,
                full_name=row.full_name,
                search_key=row.key,
                phone=row.phone,
                branch=self.branch,
                grade=row.grade,
                gender=row.gender or Gender.MALE,
                school=row.school,
                notes=row.notes,
            )
            for row in new_rows
        ]
        rows_insert(Student, students)
        for row, student in zip(new_rows, students, strict=True):
            row.student = student

        changed_students, changed_fields = [], set()
        for row in update_rows:
            for name, value in row.student_changes.items():
                setattr(row.student, name, value)
                changed_fields.add(name)
            if "full_name" in row.student_changes:
                row.student.search_key = search_key(row.student.full_name)
                changed_fields.add("search_key")
            if row.student_changes:
                row.student.updated_at = now
                changed_students.append(row.student)
        if changed_students:
            Student.objects.bulk_update(
                changed_students, [*sorted(changed_fields), "updated_at"], batch_size=BATCH_SIZE
            )

        # Links, enrollments and audit rows need no ids back: plain value rows, no model objects.
        values_insert(
            StudentGuardian,
            ["student", "guardian", "is_primary"],
            [
                (row.student.pk, guardians[phone].pk, primary)
                for row in new_rows + update_rows
                for phone, primary in row.new_links
            ],
        )
        values_insert(
            Enrollment,
            ["student", "group", "fee_plan", "custom_fee", "fee_reason", "start_date", "is_active", "created_at"],
            [
                (row.student.pk, group.pk, row.fee_plan, row.custom_fee, row.fee_reason, today, True, now)
                for row in new_rows + update_rows
                for group in row.new_groups
            ],
        )
        plan_changes = [enrollment for row in update_rows for enrollment in row.plan_changes]
        Enrollment.objects.bulk_update(plan_changes, ["fee_plan", "custom_fee", "fee_reason"], batch_size=BATCH_SIZE)
        actor_id = self.actor.pk if self.actor else None
        reason = self.reason[:255]
        values_insert(
            AuditLog,
            ["at", "actor", "action", "model", "object_id", "object_repr", "changes", "reason"],
            [
                (now, actor_id, action, "core.student", str(row.student.pk), str(row.student)[:200], changes, reason)
                for action, group in ((AuditLog.Action.CREATE, new_rows), (AuditLog.Action.UPDATE, update_rows))
                for row in group
                for changes in (self._audit_changes(row, action),)
            ],
        )

    def _audit_changes(self, row: StudentRow, action: str) -> dict:
        student = row.student
        if action == AuditLog.Action.CREATE:
            changes = {
                "code": [None, student.code],
                "full_name": [None, student.full_name],
                "phone": [None, student.phone],
                "branch": [None, student.branch_id],
                "grade": [None, student.grade],
                "gender": [None, student.gender],
                "school": [None, student.school],
                "notes": [None, student.notes],
                "guardians": [None, [phone for phone, _primary in row.new_links]],
            }
        else:
            changes = {name: [None, value] for name, value in row.student_changes.items()}
            if row.new_links:
                changes["guardians"] = [None, [phone for phone, _primary in row.new_links]]
        if row.new_groups:
            changes["groups"] = [None, [group.code for group in row.new_groups]]
        if row.plan_changes:
            changes["fee_plan"] = [None, {e.group.code: e.fee_plan for e in row.plan_changes}]
        return changes

    def _codes_assign(self, new_rows: list[StudentRow]) -> None:
        """Gap-free codes for the rows without one: one locked advance of the counter for
        the whole file, skipping numbers already taken (typed codes, here or in the file)."""
        wanted = [row for row in new_rows if not row.code]
        if not wanted:
            return
        counter = Counter.objects.select_for_update().filter(key=STUDENT_CODE_COUNTER).first()
        if counter is None:
            Counter.objects.get_or_create(key=STUDENT_CODE_COUNTER, defaults={"value": STUDENT_CODE_START})
            counter = Counter.objects.select_for_update().get(key=STUDENT_CODE_COUNTER)
        typed = {row.code for row in new_rows if row.code}
        next_value = counter.value + 1
        assigned = 0
        while assigned < len(wanted):
            window = [str(value) for value in range(next_value, next_value + len(wanted) - assigned + 50)]
            taken = typed | set(Student.objects.filter(code__in=window).values_list("code", flat=True))
            for code in window:
                next_value += 1
                if code in taken:
                    continue
                wanted[assigned].code = code
                assigned += 1
                if assigned == len(wanted):
                    break
        counter.value = next_value - 1
        counter.save(update_fields=["value"])

    # --- the whole run -----------------------------------------------------------------------

    def run(self, sheet: Sheet, *, apply: bool, progress: Callable[[int, int], None] | None = None) -> ImportResult:
        result = ImportResult()
        data_rows = _sheet_data_rows(self, sheet, result)
        if apply:
            student_registrations_lock()  # plan and write with no registration in between (R12)
        parsed: list[StudentRow] = []
        total = len(data_rows)
        for index, (sheet_name, header, number, cells) in enumerate(data_rows, start=1):
            if not any(cells):
                result.blank_rows += 1
                continue
            outcome = RowOutcome(number=number, sheet=sheet_name)
            parsed.append(self.row_parse(RowValues(cells, header, outcome)))
            if progress and index % PROGRESS_EVERY == 0:
                progress(index, total)
        self.rows_plan(parsed)
        result.rows = [row.outcome for row in parsed]
        if apply and result.ok and parsed:
            self.rows_apply(parsed)
            result.applied = True
        return result


def _converter(field, connection):
    """How one field's Python value becomes a query parameter, decided once per field."""
    if isinstance(field, models.DateTimeField):
        return connection.ops.adapt_datetimefield_value
    if isinstance(field, models.DateField):
        return connection.ops.adapt_datefield_value
    if isinstance(field, models.DecimalField):
        return lambda value: connection.ops.adapt_decimalfield_value(value, field.max_digits, field.decimal_places)
    if isinstance(field, models.JSONField):
        return lambda value: json.dumps(value, cls=field.encoder)  # text: jsonb and SQLite both take it
    return None  # text, numbers, booleans and foreign key ids go as they are


def rows_insert(model, objects: list, *, batch_size: int = 500) -> None:
    """INSERT many new rows, setting each object's id: what ``bulk_create`` does, without its
    per-value SQL compilation, which is most of an import's write time. Plain fields only
    (no signals, no expressions); ``auto_now``/``auto_now_add`` fields are filled in."""
    if not objects:
        return
    connection = connections[router.db_for_write(model)]
    fields = [column for column in model._meta.concrete_fields if not column.primary_key]
    stamped = [
        column for column in fields if getattr(column, "auto_now", False) or getattr(column, "auto_now_add", False)
    ]
    converters = [_converter(column, connection) for column in fields]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(column.column) for column in fields)
    placeholders = "(" + ", ".join(["%s"] * len(fields)) + ")"
    returning = connection.features.can_return_rows_from_bulk_insert
    pk_column = quote(model._meta.pk.column)
    attnames = [column.attname for column in fields]
    for obj in objects:
        for column in stamped:
            column.pre_save(obj, add=True)
    with connection.cursor() as cursor:
        for start in range(0, len(objects), batch_size):
            batch = objects[start : start + batch_size]
            params = []
            for obj in batch:
                values = obj.__dict__
                for attname, convert in zip(attnames, converters, strict=True):
                    value = values[attname]
                    params.append(convert(value) if convert is not None and value is not None else value)
            # Only quoted names from the model's metadata are formatted in; every value is a parameter.
            values_sql = ", ".join([placeholders] * len(batch))
            sql = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES {values_sql}"  # noqa: S608
            if returning:
                cursor.execute(f"{sql} RETURNING {pk_column}", params)
                ids = [row[0] for row in cursor.fetchall()]
            else:  # pragma: no cover - every supported database returns ids
                raise NotImplementedError("rows_insert needs INSERT … RETURNING")
            for obj, pk in zip(batch, ids, strict=True):
                obj.pk = pk
                obj._state.adding = False
                obj._state.db = connection.alias


def values_insert(model, field_names: list[str], rows: list[tuple], *, batch_size: int = 500) -> None:
    """INSERT rows given as tuples of ``field_names`` values (foreign keys as ids); no ids back.

    Columns not named that have a model default get it, as ``save()`` would: a column added to
    the model later (with its default) does not break the import."""
    if not rows:
        return
    connection = connections[router.db_for_write(model)]
    fields = [model._meta.get_field(name) for name in field_names]
    named = {column.attname for column in fields}
    defaulted = [
        column
        for column in model._meta.concrete_fields
        if not column.primary_key and column.attname not in named and column.has_default()
    ]
    if defaulted:
        fields += defaulted
        defaults = tuple(column.get_default() for column in defaulted)
        rows = [(*row, *defaults) for row in rows]
    converters = [_converter(column, connection) for column in fields]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(column.column) for column in fields)
    placeholders = "(" + ", ".join(["%s"] * len(fields)) + ")"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), batch_size):
            batch = rows[start : start + batch_size]
            params = [
                convert(value) if convert is not None and value is not None else value
                for row in batch
                for value, convert in zip(row, converters, strict=True)
            ]
            # Only quoted names from the model's metadata are formatted in; every value is a parameter.
            values_sql = ", ".join([placeholders] * len(batch))
            cursor.execute(f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES {values_sql}", params)  # noqa: S608


def _in_chunks(queryset, field_name: str, values, size: int = 5000):
    """``queryset.filter(field__in=values)`` in chunks (SQLite's limit on query parameters)."""
    values = list(values)
    for start in range(0, len(values), size):
        yield from queryset.filter(**{f"{field_name}__in": values[start : start + size]})


# --- teachers and groups (with their weekly slots): small files, checked by applying them -----
# inside a transaction that is rolled back, so every rule of the services (timetable conflicts
# between rows of the same file included) is reported on its row.

TEACHER_COLUMNS: tuple[Column, ...] = (
    Column(
        "full_name",
        gettext_lazy("Full name"),
        "اسم المدرس",
        ("الاسم", "اسم المعلم", "المدرس", "المعلم", "name", "full name", "teacher", "teacher name"),
        required=True,
        example="أ. محمود سالم",
    ),
    Column(
        "phone",
        gettext_lazy("Phone"),
        "الهاتف",
        ("هاتف المدرس", "موبايل", "رقم الهاتف", "phone", "mobile"),
        example="01001234567",
    ),
    Column("subject", gettext_lazy("Subject"), "المادة", ("subject",), example="رياضيات"),
    Column(
        "pay_scheme",
        gettext_lazy("Pay scheme"),
        "نظام المحاسبة",
        ("نظام الأجر", "pay scheme", "default pay scheme"),
    ),
    Column(
        "pay_rate", gettext_lazy("Pay rate"), "النسبة أو المبلغ", ("الأجر", "النسبة", "pay rate", "rate"), example="70"
    ),
)

GROUP_COLUMNS: tuple[Column, ...] = (
    Column(
        "code",
        gettext_lazy("Code"),
        "كود المجموعة",
        ("الكود", "كود", "code", "group code"),
        required=True,
        example="MATH-S1-A",
    ),
    Column(
        "name",
        gettext_lazy("Name"),
        "اسم المجموعة",
        ("المجموعة", "الاسم", "name", "group name", "group"),
        required=True,
        example="رياضيات أولى ثانوي",
    ),
    Column(
        "teacher",
        gettext_lazy("Teacher"),
        "المدرس",
        ("اسم المدرس", "المعلم", "هاتف المدرس", "teacher", "teacher name", "teacher phone"),
        required=True,
        example="أ. محمود سالم",
    ),
    Column("subject", gettext_lazy("Subject"), "المادة", ("subject",), example="رياضيات"),
    Column("grade", gettext_lazy("Grade"), "الصف", ("الصف الدراسي", "grade"), example="الأول الثانوي"),
    Column(
        "fee", gettext_lazy("Fee (EGP)"), "الرسوم", ("السعر", "المصاريف", "fee", "price"), required=True, example="200"
    ),
    Column("fee_period", gettext_lazy("Fee period"), "نظام الدفع", ("الدفع", "fee period", "period"), example="شهري"),
    Column(
        "sessions_per_month",
        gettext_lazy("Sessions per month"),
        "عدد الحصص في الشهر",
        ("sessions per month",),
        example="4",
    ),
    Column("pay_scheme", gettext_lazy("Teacher pay scheme"), "نظام المحاسبة", ("نظام الأجر", "pay scheme")),
    Column("pay_rate", gettext_lazy("Teacher pay rate"), "النسبة أو المبلغ", ("الأجر", "النسبة", "pay rate")),
    Column("capacity", gettext_lazy("Capacity"), "السعة", ("العدد الأقصى", "capacity"), example="30"),
    Column(
        "room", gettext_lazy("Default room"), "القاعة", ("القاعة الافتراضية", "room", "default room"), example="قاعة 1"
    ),
    Column(
        "slots",
        gettext_lazy("Weekly slots"),
        "المواعيد",
        ("المواعيد الأسبوعية", "الجدول", "slots", "schedule", "timetable"),
        example="السبت 16:00 120؛ الثلاثاء 16:00 120",
    ),
)

PAY_SCHEME_ALIASES = {
    "percent": ("نسبة", "نسبه", "%", "percentage"),
    "per_session": ("بالحصة", "مبلغ للحصة", "حصة", "per session"),
    "per_student": ("بالطالب", "للطالب", "طالب", "per student"),
}
FEE_PERIOD_ALIASES = {"month": ("شهري", "شهريا", "بالشهر", "monthly"), "session": ("بالحصة", "حصة", "per session")}
WEEKDAY_ALIASES = {
    0: ("السبت", "سبت", "sat", "saturday"),
    1: ("الأحد", "الاحد", "احد", "sun", "sunday"),
    2: ("الاثنين", "الإثنين", "اثنين", "الاتنين", "mon", "monday"),
    3: ("الثلاثاء", "الثلاثا", "التلات", "tue", "tuesday"),
    4: ("الأربعاء", "الاربعاء", "الاربع", "wed", "wednesday"),
    5: ("الخميس", "خميس", "thu", "thursday"),
    6: ("الجمعة", "الجمعه", "جمعة", "fri", "friday"),
}
_TIME = re.compile(r"^(\d{1,2})[:.](\d{2})$")


def _decimal(raw: str, *, default: str | None = None) -> Decimal | None:
    text = _money(raw) if raw else (default or "")
    try:
        return Decimal(text).quantize(Decimal("0.01")) if text else None
    except InvalidOperation:
        return None


def _whole(raw: str, *, default: int) -> int | None:
    text = digits_ascii(raw).strip()
    if not text:
        return default
    return int(text) if text.isdigit() else None


class RowwiseImporter:
    """Rows applied one by one through the services, each in a savepoint."""

    kind = ""
    columns: tuple[Column, ...] = ()

    def __init__(self, *, branch: Branch, actor=None, reason: str = ""):
        self.branch = branch
        self.actor = actor if getattr(actor, "pk", None) else None
        self.reason = reason
        self.pay_schemes = _choice_map(PayScheme.choices, PAY_SCHEME_ALIASES)

    def row_apply(self, values: RowValues) -> str:
        raise NotImplementedError

    def title(self, key: str) -> str:
        return self.header.titles[key]

    def run(self, sheet: Sheet, *, apply: bool, progress: Callable[[int, int], None] | None = None) -> ImportResult:
        result = ImportResult()
        data_rows = _sheet_data_rows(self, sheet, result)
        with transaction.atomic():
            for sheet_name, header, number, cells in data_rows:
                if not any(cells):
                    result.blank_rows += 1
                    continue
                outcome = RowOutcome(number=number, sheet=sheet_name)
                values = RowValues(cells, header, outcome)
                try:
                    with transaction.atomic():
                        action = self.row_apply(values)
                        if outcome.errors:
                            raise ValidationError("row has errors")
                except (ValidationError, PermissionDenied) as exc:
                    if not outcome.errors:
                        for column, message in self._messages(exc):
                            outcome.error(column, message)
                    outcome.action = ERROR
                else:
                    outcome.action = action
                result.rows.append(outcome)
            result.applied = apply and result.ok and bool(result.rows)
            if not result.applied:
                transaction.set_rollback(True)
        return result

    def _messages(self, exc) -> list[tuple[str, str]]:
        if isinstance(exc, PermissionDenied):
            return [("", str(exc))]
        found = []
        for name, messages in getattr(exc, "message_dict", {"": exc.messages}).items():
            column = self.column_for.get(name, "")
            for message in messages:
                found.append((self.title(column) if column else "", message))
        return found

    column_for: dict[str, str] = {}

    def _pay(self, values: RowValues, default_scheme: str, default_rate) -> tuple[str, Decimal | None]:
        raw = values["pay_scheme"]
        scheme = self.pay_schemes.get(header_key(raw), "") if raw else default_scheme
        if not scheme:
            values.outcome.error(
                self.title("pay_scheme"),
                _("Unknown pay scheme “%(value)s”. Use one of: %(choices)s.")
                % {"value": raw, "choices": "، ".join(str(label) for _v, label in PayScheme.choices)},
            )
        rate = _decimal(values["pay_rate"], default=str(default_rate))
        if rate is None or rate < 0 or (scheme == PayScheme.PERCENT and rate > 100):
            values.outcome.error(self.title("pay_rate"), _("Enter a percent from 0 to 100 or an amount in EGP."))
        return scheme, rate


def _audited_update(actor, instance, changes: dict) -> str:
    """Apply changes through record_save (validation + audit row); the action of the row."""
    if not changes:
        return UNCHANGED
    for name, value in changes.items():
        setattr(instance, name, value)
    record_save(actor=actor, instance=instance)
    return UPDATE


class TeacherImporter(RowwiseImporter):
    kind = ImportJob.Kind.TEACHERS
    columns = TEACHER_COLUMNS
    column_for = {"full_name": "full_name", "phone": "phone", "subject": "subject", "default_pay_rate": "pay_rate"}

    def row_apply(self, values: RowValues) -> str:
        outcome = values.outcome
        full_name = name_clean(values["full_name"])
        outcome.label = full_name
        if not full_name:
            outcome.error(self.title("full_name"), _("Enter the teacher's full name."))
        phone = _phone(values, "phone", required=False)
        subject = name_clean(values["subject"])
        teacher = Teacher.objects.filter(phone=phone).first() if phone else None
        if teacher is None and full_name:
            same_name = list(Teacher.objects.filter(search_key=search_key(full_name))[:2])
            if len(same_name) == 1 and (not phone or not same_name[0].phone):
                teacher = same_name[0]
        scheme, rate = self._pay(
            values,
            teacher.default_pay_scheme if teacher else PayScheme.PERCENT,
            teacher.default_pay_rate if teacher else Decimal("70"),
        )
        if outcome.errors:
            return ERROR
        if teacher is None:
            record_save(
                actor=self.actor,
                instance=Teacher(
                    full_name=full_name, phone=phone, subject=subject, default_pay_scheme=scheme, default_pay_rate=rate
                ),
            )
            return NEW
        changes = {}
        if full_name and search_key(full_name) != teacher.search_key:
            changes["full_name"] = full_name
        for name, value in (("phone", phone), ("subject", subject)):
            if value and value != getattr(teacher, name):
                changes[name] = value
        if values["pay_scheme"] and scheme != teacher.default_pay_scheme:
            changes["default_pay_scheme"] = scheme
        if values["pay_rate"] and rate != teacher.default_pay_rate:
            changes["default_pay_rate"] = rate
        outcome.changes = [str(Teacher._meta.get_field(name).verbose_name) for name in changes]
        return _audited_update(self.actor, teacher, changes)


class GroupImporter(RowwiseImporter):
    kind = ImportJob.Kind.GROUPS
    columns = GROUP_COLUMNS
    column_for = {
        "code": "code",
        "name": "name",
        "fee": "fee",
        "pay_rate": "pay_rate",
        "capacity": "capacity",
        "start_time": "slots",
        "room": "slots",
        "duration_minutes": "slots",
        "weekday": "slots",
        "__all__": "code",
    }

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.grades = _choice_map(Grade.choices, GRADE_ALIASES)
        self.fee_periods = _choice_map(FeePeriod.choices, FEE_PERIOD_ALIASES)
        self.weekdays = {
            header_key(spelling): day for day, spellings in WEEKDAY_ALIASES.items() for spelling in spellings
        }
        with translation.override("en"):
            self.weekdays.update({header_key(str(day.label)): day.value for day in Weekday})
        with translation.override("ar"):
            self.weekdays.update({header_key(str(day.label)): day.value for day in Weekday})

    def _teacher(self, values: RowValues) -> Teacher | None:
        raw = values["teacher"]
        if not raw:
            values.outcome.error(self.title("teacher"), _("Name the teacher (his name or phone)."))
            return None
        digits = digits_ascii(raw).replace(" ", "").replace("-", "").lstrip("+")
        if digits.isdigit():
            try:
                teacher = Teacher.objects.filter(phone=phone_e164(raw)).first()
            except ValidationError:
                teacher = None
        else:
            found = list(Teacher.objects.filter(search_key=search_key(raw))[:2])
            if len(found) > 1:
                values.outcome.error(
                    self.title("teacher"),
                    _("Two teachers are called “%(name)s”: write his phone instead.") % {"name": raw},
                )
                return None
            teacher = found[0] if found else None
        if teacher is None:
            values.outcome.error(
                self.title("teacher"),
                _("There is no teacher “%(teacher)s”: import the teachers first.") % {"teacher": raw},
            )
        return teacher

    def _room(self, values: RowValues, name: str, column: str) -> Room | None:
        room = Room.objects.filter(branch=self.branch, name__iexact=name_clean(name)).first()
        if room is None:
            values.outcome.error(
                self.title(column),
                _("There is no room “%(room)s” in %(branch)s.") % {"room": name, "branch": self.branch},
            )
        return room

    def _slots(self, values: RowValues, default_room: Room | None) -> list[tuple[int, datetime.time, int, Room]]:
        raw = values["slots"]
        slots = []
        for part in re.split(r"[؛;\n]+", raw):
            tokens = digits_ascii(part).split()
            if not tokens:
                continue
            day = self.weekdays.get(header_key(tokens[0]))
            match = _TIME.match(tokens[1]) if len(tokens) > 1 else None
            if day is None or match is None or int(match[1]) > 23 or int(match[2]) > 59:
                values.outcome.error(
                    self.title("slots"),
                    _(
                        "Cannot read the slot “%(slot)s”: write the day, the start time and the minutes, e.g. “%(example)s”."
                    )
                    % {"slot": part.strip(), "example": "السبت 16:00 120"},
                )
                continue
            rest = tokens[2:]
            duration = 120
            if rest and rest[0].isdigit():
                duration = int(rest[0])
                rest = rest[1:]
            room = self._room(values, " ".join(rest), "slots") if rest else default_room
            if room is None:
                if not rest:
                    values.outcome.error(self.title("slots"), _("Name the room of each slot, or a default room."))
                continue
            slots.append((day, datetime.time(int(match[1]), int(match[2])), duration, room))
        return slots

    def row_apply(self, values: RowValues) -> str:
        outcome = values.outcome
        code = name_clean(values["code"]).replace(" ", "").upper()
        code = digits_ascii(code)
        name = name_clean(values["name"])
        outcome.label = f"{code} · {name}"
        if not code:
            outcome.error(self.title("code"), _("Enter the group code."))
        if not name:
            outcome.error(self.title("name"), _("Enter the group name."))
        group = Group.objects.filter(code__iexact=code).first() if code else None
        if group is not None and group.branch_id != self.branch.pk:
            outcome.error(
                self.title("code"),
                _("The code %(code)s belongs to a group of another branch.") % {"code": code},
            )
            return ERROR
        teacher = self._teacher(values)
        grade = ""
        if values["grade"]:
            grade = self.grades.get(header_key(values["grade"]), "")
            if not grade:
                outcome.error(self.title("grade"), _("Unknown grade “%(value)s”.") % {"value": values["grade"]})
        fee = _decimal(values["fee"])
        if fee is None or fee < 0:
            outcome.error(self.title("fee"), _("Enter the fee in EGP."))
        period = self.fee_periods.get(header_key(values["fee_period"]), "") if values["fee_period"] else FeePeriod.MONTH
        if not period:
            outcome.error(self.title("fee_period"), _("Write “month” or “session”."))
        per_month = _whole(values["sessions_per_month"], default=group.sessions_per_month if group else 4)
        capacity = _whole(values["capacity"], default=group.capacity if group else 30)
        if per_month is None:
            outcome.error(self.title("sessions_per_month"), _("Enter a whole number."))
        if capacity is None:
            outcome.error(self.title("capacity"), _("Enter a whole number."))
        scheme, rate = self._pay(
            values,
            group.pay_scheme if group else (teacher.default_pay_scheme if teacher else PayScheme.PERCENT),
            group.pay_rate if group else (teacher.default_pay_rate if teacher else Decimal("70")),
        )
        room = self._room(values, values["room"], "room") if values["room"] else (group.default_room if group else None)
        slots = self._slots(values, room)
        if outcome.errors:
            return ERROR
        fields = {
            "name": name,
            "teacher": teacher,
            "subject": name_clean(values["subject"]) or (group.subject if group else teacher.subject),
            "grade": grade or (group.grade if group else ""),
            "fee": fee,
            "fee_period": period,
            "sessions_per_month": per_month,
            "pay_scheme": scheme,
            "pay_rate": rate,
            "capacity": capacity,
            "default_room": room,
        }
        if group is None:
            group = record_save(actor=self.actor, instance=Group(code=code, branch=self.branch, **fields))
            action = NEW
        else:
            changes = {key: value for key, value in fields.items() if getattr(group, key) != value}
            outcome.changes = [str(Group._meta.get_field(key).verbose_name) for key in changes]
            action = _audited_update(self.actor, group, changes)
        existing = {
            (slot.weekday, slot.start_time, slot.duration_minutes, slot.room_id)
            for slot in group.slots.filter(is_active=True)
        }
        for weekday, start, duration, slot_room in slots:
            if (weekday, start, duration, slot_room.pk) in existing:
                continue
            slot_save(
                actor=self.actor,
                group=group,
                weekday=weekday,
                start_time=start,
                duration_minutes=duration,
                room=slot_room,
            )
            if action != NEW and str(_("weekly slots")) not in outcome.changes:
                outcome.changes.append(str(_("weekly slots")))
                action = UPDATE
        return action


IMPORTERS = {
    ImportJob.Kind.STUDENTS: StudentImporter,
    ImportJob.Kind.TEACHERS: TeacherImporter,
    ImportJob.Kind.GROUPS: GroupImporter,
}


def import_run(
    *,
    kind: str = ImportJob.Kind.STUDENTS,
    data: bytes,
    file_name: str,
    branch: Branch,
    actor=None,
    apply: bool,
    reason: str = "",
    progress: Callable[[int, int], None] | None = None,
) -> ImportResult:
    """Check a file and, when ``apply`` and every row is valid, import it: all rows or none."""
    importer = IMPORTERS[kind](branch=branch, actor=actor, reason=reason)
    try:
        sheet = sheet_read(data, file_name)
        if not apply:
            return importer.run(sheet, apply=False, progress=progress)
        with transaction.atomic():
            result = importer.run(sheet, apply=True, progress=progress)
            if not result.applied:
                transaction.set_rollback(True)
            return result
    except ImportFileError as exc:
        return ImportResult(file_error=exc.messages[0])
    except IntegrityError as exc:
        logger.warning("import of %s refused by the database: %s", file_name, exc)
        return ImportResult(
            file_error=_(
                "The import was stopped because another change touched the same records. Check the file again."
            )
        )


# --- jobs: the admin's uploads, checked and applied inline or by a django-q2 task -------------


def import_job_create(*, actor, kind: str, branch: Branch, upload) -> ImportJob:
    """Keep the upload and its job. A storage that refuses the file (full or read-only disk)
    raises UploadFailed (core/ops/storage.py) with nothing kept: no partial file, no job."""
    job = ImportJob(kind=kind, branch=branch, created_by=actor, file_name=upload.name[:255])
    job.file = upload
    with uploads_written_first(job):
        job.save()
    return job


def row_estimate(data: bytes) -> int:
    """The rows of a file, counted cheaply, to decide whether it is checked in the background."""
    return row_count_estimate(data)


def _job_data(job: ImportJob) -> bytes:
    with job.file.open("rb") as handle:
        return handle.read()


def _job_progress(job_id: int):
    last = {"value": -1}

    def report(done: int, total: int) -> None:
        value = min(99, int(done * 100 / total)) if total else 0
        if value != last["value"]:
            last["value"] = value
            ImportJob.objects.filter(pk=job_id).update(progress=value)

    return report


def _job_store(job: ImportJob, result: ImportResult, *, status: str) -> None:
    counts = result.counts
    job.total_rows = len(result.rows)
    job.new_count, job.update_count = counts[NEW], counts[UPDATE]
    job.unchanged_count, job.error_count = counts[UNCHANGED], counts[ERROR]
    job.duplicate_count = counts[DUPLICATE]
    job.rows = [row.as_json() for row in result.rows]
    job.ignored_columns = result.ignored_columns
    job.notes = result.notes
    job.message = result.file_error
    job.progress = 100
    job.status = status


def import_job_check(*, job_id: int) -> ImportJob:
    """Check (preview) an uploaded file: every row's outcome, nothing written but the job."""
    job = ImportJob.objects.select_related("created_by", "branch").get(pk=job_id)
    job.status = ImportJob.Status.CHECKING
    job.save(update_fields=["status"])
    with translation.override(getattr(job.created_by, "language", None) or translation.get_language()):
        result = import_run(
            kind=job.kind,
            data=_job_data(job),
            file_name=job.file_name,
            branch=job.branch,
            actor=job.created_by,
            apply=False,
            progress=_job_progress(job.pk),
        )
    _job_store(job, result, status=ImportJob.Status.INVALID if result.file_error else ImportJob.Status.READY)
    job.save()
    return job


def import_job_apply(*, job_id: int, actor) -> ImportJob:
    """Apply a checked file: checked again inside the transaction, then all rows or none."""
    job = ImportJob.objects.select_related("created_by", "branch").get(pk=job_id)
    with translation.override(getattr(actor, "language", None) or translation.get_language()):
        result = import_run(
            kind=job.kind,
            data=_job_data(job),
            file_name=job.file_name,
            branch=job.branch,
            actor=actor,
            apply=True,
            reason=_("Import of %(file)s (#%(id)s)") % {"file": job.file_name, "id": job.pk},
        )
        if result.applied:
            _job_store(job, result, status=ImportJob.Status.DONE)
            job.finished_at = timezone.now()
        elif result.file_error:
            _job_store(job, result, status=ImportJob.Status.FAILED)
        else:
            _job_store(job, result, status=ImportJob.Status.READY)
            job.message = _(
                "Nothing was imported: the file changed or the data did since the check. See the errors below."
            )
    job.save()
    return job


def import_job_start_apply(*, job: ImportJob, actor) -> ImportJob:
    """Mark a job as importing and queue it (big files) or run it now."""
    if not job.can_apply:
        raise ValidationError(_("This file cannot be imported: fix the errors and upload it again."))
    updated = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.READY).update(
        status=ImportJob.Status.APPLYING, progress=0
    )
    if not updated:
        raise ValidationError(_("This import is already running or finished."))
    if job.total_rows > BACKGROUND_ROWS:
        from django_q.tasks import async_task

        transaction.on_commit(lambda: async_task("core.tasks.import_job_apply", job.pk, actor.pk, hook=TASK_HOOK))
        job.refresh_from_db()
        return job
    return import_job_apply(job_id=job.pk, actor=actor)


TASK_HOOK = "core.tasks.import_job_finished"


def import_job_fail(*, job_id: int) -> None:
    """A background check or import that crashed: the job says so (the transaction rolled back)."""
    ImportJob.objects.filter(pk=job_id, status__in=[s.value for s in RUNNING_STATUSES]).update(
        status=ImportJob.Status.FAILED,
        progress=100,
        message=_("The import stopped because of an internal error; nothing was imported. Upload the file again."),
    )


RUNNING_STATUSES = (ImportJob.Status.QUEUED, ImportJob.Status.CHECKING, ImportJob.Status.APPLYING)


def import_job_start_check(*, job: ImportJob) -> ImportJob:
    if row_estimate(_job_data(job)) > BACKGROUND_ROWS:
        from django_q.tasks import async_task

        transaction.on_commit(lambda: async_task("core.tasks.import_job_check", job.pk, hook=TASK_HOOK))
        return job
    return import_job_check(job_id=job.pk)


def error_report(job: ImportJob) -> bytes:
    """The uploaded sheet with an “Errors” column, as .xlsx, so staff fix it and upload again
    (one worksheet per imported worksheet of the upload)."""
    from openpyxl import Workbook

    sheet = sheet_read(_job_data(job), job.file_name)
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
        title = _sheet_title(f"{_('Errors')} {worksheet.name}" if several else _("Errors"))
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
                out.append([str(_("Errors")), *padded])
            elif any(cells):
                out.append(["\n".join(by_row.get((name, number), [])), *padded])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _text_cell(worksheet, value):
    """A cell of the error report: text as text, even "=…" (never run as a formula)."""
    from openpyxl.cell import WriteOnlyCell

    if isinstance(value, str) and value.startswith("="):
        cell = WriteOnlyCell(worksheet, value=value)
        cell.data_type = "s"
        return cell
    return str(value) if isinstance(value, ExcelDate) else value


def template_workbook(kind: str = ImportJob.Kind.STUDENTS, *, user=None) -> bytes:
    """The import template: Arabic headers, an example row, lists for grade and fee plan."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import quote_sheetname
    from openpyxl.worksheet.datavalidation import DataValidation

    columns = IMPORTERS[kind].columns
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _sheet_title(ImportJob.Kind(kind).label)
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
    lists = workbook.create_sheet(_sheet_title(pgettext("import template sheet", "Lists")))
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
        lists.cell(row=row, column=1, value=label)
    for row, label in enumerate(plan_labels, start=1):
        lists.cell(row=row, column=2, value=label)
    for row, (code, name) in enumerate(group_codes, start=1):
        lists.cell(row=row, column=3, value=code)
        lists.cell(row=row, column=4, value=name)
    keys = [column.key for column in columns]
    if kind == ImportJob.Kind.STUDENTS:
        sheet.cell(row=2, column=keys.index("grade") + 1, value=grade_labels[6])
        sheet.cell(row=2, column=keys.index("fee_plan") + 1, value=plan_labels[0])
        if group_codes:
            sheet.cell(row=2, column=keys.index("groups") + 1, value=group_codes[0][0])
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


def _sheet_title(label) -> str:
    """A translated label as a worksheet name: at most 31 characters, none of : \\ / ? * [ ]."""
    return re.sub(r"[:\\/?*\[\]]", " ", str(label)).strip()[:31]


def template_file_name(kind: str) -> str:
    return f"{kind}-import-template-{datetime.date.today():%Y%m%d}.xlsx"


__all__ = [
    "BACKGROUND_ROWS",
    "ImportResult",
    "StudentImporter",
    "error_report",
    "import_job_apply",
    "import_job_check",
    "import_job_create",
    "import_run",
    "template_workbook",
]
