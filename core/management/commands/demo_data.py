from django.core.management.base import BaseCommand
from django.db import transaction

from core.models import Branch


class Command(BaseCommand):
    help = "Load a demo center (safe to run again: existing demo rows are kept)."

    def handle(self, *args, **options):
        with transaction.atomic():
            Branch.objects.get_or_create(
                name_ar="فرع مدينة نصر", defaults={"name_en": "Nasr City branch", "phone": "+20222615000"}
            )
        self.stdout.write("demo data ready")
