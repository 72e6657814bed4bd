"""The spreadsheet reader's public names, kept so callers and operators' scripts keep working.

The reader lives in core/imports/: ``cells`` (limits, cell types, ``ImportFileError``), ``formats``
(one parser per format) and ``reader`` (``sheet_read``, merged cells, ``row_count_estimate``).
"""

from core.imports.cells import (
    HEADER_SEARCH_ROWS,
    MAX_COLUMNS,
    MAX_DATA_ROWS,
    MAX_FILE_BYTES,
    MAX_UNPACKED_BYTES,
    ExcelDate,
    Formula,
    ImportFileError,
    Sheet,
    Worksheet,
    cell_text,
    date_shown,
    header_key,
)
from core.imports.reader import merge_ref, merged_header_ranges, row_count_estimate, sheet_read

__all__ = [
    "HEADER_SEARCH_ROWS",
    "MAX_COLUMNS",
    "MAX_DATA_ROWS",
    "MAX_FILE_BYTES",
    "MAX_UNPACKED_BYTES",
    "ExcelDate",
    "Formula",
    "ImportFileError",
    "Sheet",
    "Worksheet",
    "cell_text",
    "date_shown",
    "header_key",
    "merge_ref",
    "merged_header_ranges",
    "row_count_estimate",
    "sheet_read",
]
