import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.services.backup_archive import BackupError
from core.services.backups import backup_archive_fetch, backup_restore, backup_storage


class Command(BaseCommand):
    help = (
        "Restore a backup archive (a local file, or a file name in the backups storage) into this "
        "deployment's database and upload storage. Meant for an EMPTY deployment: it refuses a database "
        "that holds a center, or a storage with files, unless --force (which replaces them)."
    )

    def add_arguments(self, parser):
        parser.add_argument("archive", help="path of a .zip backup, or its name in the backups storage")
        parser.add_argument("--force", action="store_true", help="replace the center this deployment holds")

    def handle(self, *args, **options):
        archive = options["archive"]
        with tempfile.TemporaryDirectory(prefix="syseducore-restore-") as directory:
            path = Path(archive)
            if not path.is_file():
                if not backup_storage().exists(archive):
                    raise CommandError(f"{archive}: no such file here or in the backups storage.")
                self.stdout.write(f"fetching {archive} from the backups storage")
                path = backup_archive_fetch(archive, Path(directory) / "archive.zip")
            try:
                manifest = backup_restore(archive=path, force=options["force"])
            except BackupError as error:
                raise CommandError(str(error)) from error
        self.stdout.write(
            f"restored: app version {manifest.app_version}, taken {manifest.created_at}, "
            f"{sum(manifest.tables.values())} rows in {len(manifest.tables)} tables, {len(manifest.files)} files"
        )
