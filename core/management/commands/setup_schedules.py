from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from django_q.models import Schedule

from core.ops.task_schedules import SCHEDULES


class Command(BaseCommand):
    help = "Create or update the django-q2 schedules declared in core/ops/task_schedules.py (idempotent)."

    def handle(self, *args, **options):
        declared = {entry.name for entry in SCHEDULES}
        now = timezone.now()
        with transaction.atomic():
            for entry in SCHEDULES:
                defaults = {
                    "func": entry.func,
                    "schedule_type": entry.schedule_type,
                    "minutes": entry.minutes,
                    "cron": entry.cron,
                    "repeats": -1,
                }
                existing = Schedule.objects.filter(name=entry.name).first()
                # The next run is set only when the declared time changed: a release at 01:30:10
                # must not skip the 01:30 run the worker has not picked up yet.
                if existing is None or not entry.runs_at_declared_time(existing.next_run):
                    defaults["next_run"] = entry.first_run(now) or now
                schedule, created = Schedule.objects.update_or_create(name=entry.name, defaults=defaults)
                self.stdout.write(f"{'created' if created else 'updated'}: {schedule.name}")
            # Schedules of ours that the declaration no longer names are removed.
            stale = Schedule.objects.filter(func__startswith="core.tasks.").exclude(name__in=declared)
            for name in stale.values_list("name", flat=True):
                self.stdout.write(f"removed: {name}")
            stale.delete()
