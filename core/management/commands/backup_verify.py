from django.core.management.base import BaseCommand, CommandError

from core.models import Backup
from core.services.backups import backup_verify


class Command(BaseCommand):
    help = "Restore a listed backup (default: the newest) into a scratch database and compare its row counts."

    def add_arguments(self, parser):
        parser.add_argument("name", nargs="?", help="the backup's file name (default: the newest backup)")

    def handle(self, *args, **options):
        backups = Backup.objects.order_by("-created_at", "-id")
        backup = backups.filter(name=options["name"]).first() if options["name"] else backups.first()
        if backup is None:
            raise CommandError("No such backup.")
        backup = backup_verify(backup_id=backup.pk)
        self.stdout.write(f"{backup.name}: {backup.verification}: {backup.verification_detail}")
        if backup.verification != Backup.Verification.PASSED:
            raise CommandError("verification failed")
