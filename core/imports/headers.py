"""Finding the header row of each worksheet and mapping its cells to column keys.

Title rows above the header are allowed; headers are compared folded (Arabic letters, case and
punctuation ignored) against every spelling in core/imports/columns.py. Merged header cells are
read (a header merged down ends where it ends; one merged over a header per column names each);
a header merged over columns that hold data, a missing required column, a column named twice are
refused with a message naming the cells. ``sheet_parts`` picks the worksheets to import and says a
word about every other worksheet with data.
"""

import re
from dataclasses import dataclass

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from core.imports.cells import HEADER_SEARCH_ROWS, ImportFileError, Sheet, Worksheet, header_key
from core.imports.columns import IGNORED_HEADERS, Column, column_title
from core.imports.formulas import sheet_name
from core.imports.reader import merge_ref, merged_header_ranges
from core.imports.results import ImportResult

ARABIC_LETTER = re.compile(r"[\u0600-\u06ff]")


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
            names.add(sheet_name(pgettext("import template sheet", "Lists")))
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


def sheet_data_rows(importer, sheet: Sheet, result: ImportResult) -> list[tuple]:
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
