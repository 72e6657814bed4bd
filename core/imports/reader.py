"""Reading an uploaded file into worksheets of text rows, whatever its name says it is.

Formats are recognised by their bytes: an .xlsx workbook, an OpenDocument sheet (.ods), an old
binary Excel file (.xls), or text (.csv or tab-separated). Anything else is refused with a message
naming what the file is and what to do. Every worksheet is read (the importer decides which ones it
imports and names the others); a value merged down several rows is given to every row it covers.

Only reading lives here; what the columns mean is the importer's business (core/imports/headers.py
and the importers). Every problem with the file as a whole is an ``ImportFileError`` carrying a
translated message.
"""

import io
import re
import zipfile
from pathlib import PurePath

from django.utils.translation import gettext as _

from core.imports.cells import (
    MAX_COLUMNS,
    MAX_FILE_BYTES,
    MAX_UNPACKED_BYTES,
    ImportFileError,
    Sheet,
    Worksheet,
    corrupt_error,
    not_a_sheet_error,
)
from core.imports.formats import csv_rows, ods_worksheets, text_decode, xls_worksheets, xlsx_worksheets

_XLSX_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the old binary .xls (and password-protected Office files)
_ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
_ROW_TAG = re.compile(rb"<(?:\w+:)?row[\s>/]")


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
            sheet = Sheet(worksheets=ods_worksheets(data), kind="ods")
        else:
            sheet = Sheet(worksheets=xlsx_worksheets(data), is_xlsx=True, raw=data, kind="xlsx")
    elif data.startswith(_OLE_MAGIC):
        sheet = Sheet(worksheets=xls_worksheets(data), kind="xls")
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
        text = text_decode(data)
        if text is None or (suffix not in {".csv", ".txt", ".tsv", ".xlsx", ".xls", ""}):
            raise not_a_sheet_error()
        sheet = Sheet(worksheets=[Worksheet(name="", rows=csv_rows(text))], kind="csv")
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
        raise corrupt_error() from exc
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
    raise corrupt_error()


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
