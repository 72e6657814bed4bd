"""What goes into a spreadsheet we write: no cell runs as a formula, no character an .xlsx cannot
hold, worksheet names a workbook accepts. Every writer uses it: the admin's list and report exports
(core/admin/exports.py), the import error report and the import template (core/imports/writers.py).

A text starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return is what a spreadsheet may run
as a formula (CSV injection). In an .xlsx it is written as a text cell with Excel's "text" mark
(``quotePrefix``), the value itself unchanged; in a .csv it gets a leading apostrophe, which the
student import strips again (core/imports/cells.py ``cell_text``).
"""

import re

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_ILLEGAL = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")  # control characters an .xlsx cannot hold
_SHEET_NAME_REFUSED = re.compile(r"[:\\/?*\[\]]")


def formula_like(value) -> bool:
    """A text a spreadsheet would take for a formula."""
    return isinstance(value, str) and value.startswith(FORMULA_PREFIXES)


def csv_neutral(value):
    """A .csv cell that a spreadsheet would run as a formula gets a leading apostrophe."""
    if formula_like(value):
        return "'" + value
    return value


def xlsx_text(text: str) -> str:
    """Text without the control characters an .xlsx cannot hold."""
    return _ILLEGAL.sub("", text)


def xlsx_text_cell(worksheet, text: str):
    """A write-only text cell: written as a string, never as a formula (openpyxl takes a string
    starting with "=" for one), with Excel's text mark when it looks like a formula so it stays
    text when someone edits it."""
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(worksheet, value=xlsx_text(text))
    text_cell_mark(cell)
    return cell


def text_cell_mark(cell) -> None:
    """Make a cell (write-only or not) that holds text a text cell."""
    cell.data_type = "s"
    if formula_like(cell.value):
        cell.quotePrefix = True


def sheet_name(title) -> str:
    """A worksheet name: at most 31 characters, none of : \\ / ? * [ ]."""
    return _SHEET_NAME_REFUSED.sub(" ", str(title)).strip()[:31] or "Sheet"
