from django.core.management.base import BaseCommand, CommandError

from core.models import Backup
from core.services.backup_archive import BackupError
from core.services.backups import backup_create


class Command(BaseCommand):
    help = "Back up the whole center (database and uploaded files) to the backups storage, then verify it."

    def add_arguments(self, parser):
        parser.add_argument("--kind", choices=Backup.Kind.values, default=Backup.Kind.MANUAL)
        parser.add_argument("--no-verify", action="store_true", help="skip the restore into a scratch database")

    def handle(self, *args, **options):
        try:
            backup = backup_create(kind=options["kind"], verify=not options["no_verify"])
        except BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"{backup.name}: {backup.size} bytes, {backup.total_rows} rows, {backup.file_count} files")
        self.stdout.write(f"verification: {backup.verification} {backup.verification_detail}")
        if backup.verification == Backup.Verification.FAILED:
            raise CommandError(f"the backup did not verify: {backup.verification_detail}")
