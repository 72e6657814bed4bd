"""The one entry of every import (the admin, the django-q2 task, ``manage.py import_students``):
read the file, run the importer of its kind, and when applying do it in one transaction, all rows
or none. A whole-file problem, or a write the database refused, comes back as ``file_error``."""

import logging
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from core.imports.cells import ImportFileError
from core.imports.expenses import ExpenseImporter
from core.imports.items import ItemImporter
from core.imports.reader import sheet_read
from core.imports.results import ImportResult
from core.imports.students import StudentImporter
from core.imports.teachers_groups import GroupImporter, TeacherImporter
from core.models import Branch, ImportJob

logger = logging.getLogger(__name__)

IMPORTERS = {
    ImportJob.Kind.STUDENTS: StudentImporter,
    ImportJob.Kind.TEACHERS: TeacherImporter,
    ImportJob.Kind.GROUPS: GroupImporter,
    ImportJob.Kind.EXPENSES: ExpenseImporter,
    ImportJob.Kind.ITEMS: ItemImporter,
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
