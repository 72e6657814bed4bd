"""Health endpoints: /health/ for the PaaS web check, /health/tasks/ for the worker."""

import dataclasses
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from health_check.base import HealthCheck
from health_check.checks import Cache, Database, Storage
from health_check.exceptions import ServiceUnavailable
from health_check.views import HealthCheckView

HEARTBEAT_CACHE_KEY = "tasks:heartbeat"


@dataclasses.dataclass
class MigrationsApplied(HealthCheck):
    """Fails while the database lacks a migration the code expects (a release step failed)."""

    alias: str = DEFAULT_DB_ALIAS
    # Once everything is applied it stays so until the next deploy restarts the process.
    _all_applied_seen = False

    def run(self) -> None:
        if MigrationsApplied._all_applied_seen:
            return
        executor = MigrationExecutor(connections[self.alias])
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if pending:
            raise ServiceUnavailable(f"{len(pending)} migration(s) not applied")
        MigrationsApplied._all_applied_seen = True


@dataclasses.dataclass
class TaskHeartbeat(HealthCheck):
    """The django-q2 cluster writes a heartbeat every minute; an old one means no worker runs."""

    def run(self) -> None:
        beat = cache.get(HEARTBEAT_CACHE_KEY)
        if beat is None:
            raise ServiceUnavailable("no heartbeat from the task cluster")
        age = (timezone.now() - datetime.fromisoformat(beat)).total_seconds()
        if age > settings.TASK_HEARTBEAT_MAX_AGE_SECONDS:
            raise ServiceUnavailable(f"last heartbeat {int(age)} seconds ago")


def heartbeat_record() -> None:
    cache.set(HEARTBEAT_CACHE_KEY, timezone.now().isoformat(), timeout=24 * 3600)


class WebHealthView(HealthCheckView):
    # Listed explicitly: health-check 4's defaults include DNS and mail checks that fail offline.
    checks = (Database, Cache, Storage, MigrationsApplied)


class TasksHealthView(HealthCheckView):
    checks = (TaskHeartbeat,)
