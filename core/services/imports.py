"""The spreadsheet imports' public names, kept so callers and operators' scripts keep working.

The code lives in the package core/imports/ (one module per job; its ``__init__`` says what is
where). The two bulk INSERT helpers that were here are gone: core/db.py ``rows_insert`` is the one.
"""

from core.imports.cells import ImportFileError
from core.imports.columns import (
    FEE_PERIOD_ALIASES,
    FEE_PLAN_ALIASES,
    GENDER_ALIASES,
    GRADE_ALIASES,
    GROUP_COLUMNS,
    IGNORED_HEADERS,
    PAY_SCHEME_ALIASES,
    STUDENT_COLUMNS,
    TEACHER_COLUMNS,
    WEEKDAY_ALIASES,
    Column,
    column_title,
)
from core.imports.engine import IMPORTERS, import_run
from core.imports.headers import ARABIC_LETTER, HeaderMap, header_find, sheet_parts
from core.imports.jobs import (
    BACKGROUND_ROWS,
    RUNNING_STATUSES,
    TASK_HOOK,
    import_job_apply,
    import_job_check,
    import_job_create,
    import_job_fail,
    import_job_start_apply,
    import_job_start_check,
    row_estimate,
)
from core.imports.parsing import CODE_KEYS, RowValues, StudentRow
from core.imports.reader import sheet_read
from core.imports.results import ACTIONS, DUPLICATE, ERROR, NEW, UNCHANGED, UPDATE, ImportResult, RowOutcome
from core.imports.students import PROGRESS_EVERY, StudentImporter
from core.imports.teachers_groups import GroupImporter, RowwiseImporter, TeacherImporter
from core.imports.writers import error_report, template_file_name, template_workbook
from core.imports.writing import BATCH_SIZE

__all__ = [
    "ACTIONS",
    "ARABIC_LETTER",
    "BACKGROUND_ROWS",
    "BATCH_SIZE",
    "CODE_KEYS",
    "DUPLICATE",
    "ERROR",
    "FEE_PERIOD_ALIASES",
    "FEE_PLAN_ALIASES",
    "GENDER_ALIASES",
    "GRADE_ALIASES",
    "GROUP_COLUMNS",
    "IGNORED_HEADERS",
    "IMPORTERS",
    "NEW",
    "PAY_SCHEME_ALIASES",
    "PROGRESS_EVERY",
    "RUNNING_STATUSES",
    "STUDENT_COLUMNS",
    "TASK_HOOK",
    "TEACHER_COLUMNS",
    "UNCHANGED",
    "UPDATE",
    "WEEKDAY_ALIASES",
    "Column",
    "GroupImporter",
    "HeaderMap",
    "ImportFileError",
    "ImportResult",
    "RowOutcome",
    "RowValues",
    "RowwiseImporter",
    "StudentImporter",
    "StudentRow",
    "TeacherImporter",
    "column_title",
    "error_report",
    "header_find",
    "import_job_apply",
    "import_job_check",
    "import_job_create",
    "import_job_fail",
    "import_job_start_apply",
    "import_job_start_check",
    "import_run",
    "row_estimate",
    "sheet_parts",
    "sheet_read",
    "template_file_name",
    "template_workbook",
]
