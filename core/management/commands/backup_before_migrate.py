from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections

from core.models import Backup
from core.services.backup_archive import BackupError, migrations_applied
from core.services.backups import backup_create


class Command(BaseCommand):
    help = "The release step's backup, taken before migrate; skipped while the database has no tables yet."

    def add_arguments(self, parser):
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args, **options):
        if not migrations_applied(options["database"]):
            self.stdout.write("Backup before migrate skipped: the database has no tables yet (first deploy).")
            return
        if options["database"] != DEFAULT_DB_ALIAS:
            raise CommandError("The release backup is of the default database.")
        if Backup._meta.db_table not in connections[DEFAULT_DB_ALIAS].introspection.table_names():
            # The release that brings backups: the list has no table until this migrate.
            self.stdout.write("Backup before migrate skipped: this release adds backups (no list to record it in yet).")
            return
        try:
            backup = backup_create(kind=Backup.Kind.RELEASE)
        except BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"Backup before migrate: {backup.name} ({backup.verification})")
        if backup.verification == Backup.Verification.FAILED:
            # A release must not migrate over data it could not save.
            raise CommandError(f"the backup did not verify, not migrating: {backup.verification_detail}")
