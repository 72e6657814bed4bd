"""``manage.py import_students FILE [--dry-run] [--branch ...]``: the admin's import, for operators.

Same engine as the admin (``core.imports.engine.import_run``): every row is checked, then
all rows are imported in one transaction or none. Prints what the file holds that is not read
(other worksheets), a summary, each error with its row and column, and each duplicate row
(skipped) with the row it repeats; exits with status 1 when the file or any row fails, and for
a file with a header and no rows.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q
from django.utils.translation import gettext as _

from core.imports.engine import import_run
from core.imports.results import DUPLICATE
from core.models import Branch, ImportJob


class Command(BaseCommand):
    help = "Import students (with guardians and enrollments) from an .xlsx, .ods, .xls or .csv file."

    def add_arguments(self, parser):
        parser.add_argument("file", help="the .xlsx, .ods, .xls or .csv file")
        parser.add_argument("--dry-run", action="store_true", help="check every row, write nothing")
        parser.add_argument("--branch", default="", help="branch id or name (default: the first branch)")
        parser.add_argument(
            "--kind",
            default=ImportJob.Kind.STUDENTS,
            choices=[kind.value for kind in ImportJob.Kind],
            help="what the file holds",
        )

    def handle(self, *args, **options):
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(_("No such file: %(path)s") % {"path": path})
        branch = self._branch(options["branch"])
        result = import_run(
            kind=options["kind"],
            data=path.read_bytes(),
            file_name=path.name,
            branch=branch,
            actor=None,
            apply=not options["dry_run"],
            reason=_("Import of %(file)s from the command line") % {"file": path.name},
        )
        if result.file_error:
            raise CommandError(result.file_error)
        for note in result.notes:
            self.stderr.write(note)
        for row in result.rows:
            for column, message in row.errors:
                self.stderr.write(
                    _("Row %(row)s, %(column)s: %(message)s") % {"row": row.where, "column": column, "message": message}
                )
        for row in result.rows:
            if row.action == DUPLICATE:
                self.stdout.write(
                    _("Row %(row)s (%(name)s): %(message)s, skipped.")
                    % {"row": row.where, "name": row.label, "message": row.note}
                )
        counts = result.counts
        self.stdout.write(
            _(
                "%(rows)s rows: %(new)s new, %(update)s to update, %(unchanged)s unchanged, "
                "%(duplicate)s duplicates (skipped), %(error)s with errors."
            )
            % {"rows": len(result.rows), **counts}
        )
        if result.ignored_columns:
            self.stdout.write(_("Ignored columns: %(columns)s") % {"columns": ", ".join(result.ignored_columns)})
        if not result.ok:
            raise CommandError(_("Nothing was imported: fix the rows above and run again."))
        if options["dry_run"]:
            self.stdout.write(_("Dry run: nothing was written."))
        else:
            self.stdout.write(self.style.SUCCESS(_("Imported.")))

    def _branch(self, value: str) -> Branch:
        branches = Branch.objects.all()
        if not value:
            branch = branches.order_by("id").first()
        else:
            query = Q(name_ar=value) | Q(name_en__iexact=value)
            if value.isdigit():
                query |= Q(pk=int(value))
            branch = branches.filter(query).first()
        if branch is None:
            raise CommandError(_("No such branch: %(branch)s") % {"branch": value})
        return branch
