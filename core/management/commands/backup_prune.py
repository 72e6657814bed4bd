from django.conf import settings
from django.core.management.base import BaseCommand

from core.services.backups import backup_prune


class Command(BaseCommand):
    help = "Delete automatic backups beyond the retention (BACKUP_KEEP_DAILY daily, BACKUP_KEEP_MONTHLY monthly)."

    def add_arguments(self, parser):
        parser.add_argument("--keep-daily", type=int, default=settings.BACKUP_KEEP_DAILY)
        parser.add_argument("--keep-monthly", type=int, default=settings.BACKUP_KEEP_MONTHLY)

    def handle(self, *args, **options):
        deleted = backup_prune(keep_daily=options["keep_daily"], keep_monthly=options["keep_monthly"])
        for name in deleted:
            self.stdout.write(f"deleted: {name}")
        self.stdout.write(f"{len(deleted)} backup(s) deleted")
