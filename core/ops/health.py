"""Health endpoints: /health/ for the PaaS web check, /health/tasks/ for the worker.

A PaaS probe sends a bare GET: no Accept header, no query string, plain HTTP inside the
platform, and often the container's address or an internal name as Host. Each endpoint answers
it with 200 or 500 (HTML); ``Accept: application/json`` or ``?format=json`` gets JSON.
``HealthProbeMiddleware`` serves these two paths before the host check, so a probe's Host
needs no place in ALLOWED_HOSTS; the pages build no absolute URL, so nothing trusts that Host.
"""

import dataclasses
from datetime import datetime

from asgiref.sync import async_to_sync, iscoroutinefunction
from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve, reverse
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


@dataclasses.dataclass
class LastVerifiedBackup(HealthCheck):
    """Reports, never fails on, the age in seconds of the newest verified backup (None: none yet).

    A web check that failed on an old backup would take the site down for a backup problem;
    the age is for the operator's monitor (and /metrics).
    """

    age_seconds: int | None = None

    def run(self) -> None:
        from core.selectors.backups import last_verified_backup_age_seconds

        age = last_verified_backup_age_seconds()
        self.age_seconds = None if age is None else int(age)


@dataclasses.dataclass
class MessageChannels(HealthCheck):
    """Reports, never fails on, each sending channel's circuit breaker (issue 19):
    ``MessageChannels(whatsapp='closed', sms='open, retry in 240 s')`` in the JSON's key.

    A provider that is down must not take the site down with it (the web check would fail and the
    platform restart healthy processes); the state is for the operator's monitor and the dashboard.
    """

    whatsapp: str = ""
    sms: str = ""

    def run(self) -> None:
        from core.selectors.channels import channel_states, seconds_until

        for state in channel_states():
            text = state.state
            if state.retry_at is not None:
                text += f", retry in {seconds_until(state.retry_at)} s"
            setattr(self, state.channel, text)


def heartbeat_record() -> None:
    cache.set(HEARTBEAT_CACHE_KEY, timezone.now().isoformat(), timeout=24 * 3600)


def heartbeat_age_seconds() -> float | None:
    """Seconds since the task cluster's last heartbeat, or None when it never wrote one."""
    beat = cache.get(HEARTBEAT_CACHE_KEY)
    if beat is None:
        return None
    return (timezone.now() - datetime.fromisoformat(beat)).total_seconds()


class ProbeHealthView(HealthCheckView):
    """health-check's view with our own page: its template belongs to an app we do not install.

    Only the formats a probe or an operator uses are offered (HTML, JSON, text); the feed
    formats would build absolute URLs from the Host header, which the probe path does not check.
    """

    template_name = "core/health.html"
    offered_formats = {"json", "text"}

    async def get(self, request, *args, **kwargs):
        if request.GET.get("format") not in self.offered_formats:
            accept = request.headers.get("accept", "")
            # Feed and OpenMetrics types would build absolute URLs: answer those with HTML.
            if "atom" in accept or "rss" in accept or "openmetrics" in accept:
                request.META["HTTP_ACCEPT"] = "text/html"
            request.GET = request.GET.copy()
            request.GET.pop("format", None)
        response = await super().get(request, *args, **kwargs)
        # The page has no script and one inline style; nothing else may load.
        response.setdefault("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
        return response

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["title"] = self.title
        return context


class WebHealthView(ProbeHealthView):
    # Listed explicitly: health-check 4's defaults include DNS and mail checks that fail offline.
    checks = (Database, Cache, Storage, MigrationsApplied, LastVerifiedBackup, MessageChannels)
    title = "web"


class TasksHealthView(ProbeHealthView):
    checks = (TaskHeartbeat,)
    title = "tasks"


class HealthProbeMiddleware:
    """Serves /health/ and /health/tasks/ before CommonMiddleware checks the Host header.

    Placed after SecurityMiddleware (its SSL redirect exempts these paths) and before anything
    that reads the host, sessions or CSRF. A PaaS probe's Host is the container's address or an
    internal name (Railway sends healthcheck.railway.app, Kubernetes-style platforms the pod IP),
    which ALLOWED_HOSTS rightly rejects for every other page.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self._paths: frozenset[str] | None = None

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self._paths is None:
            self._paths = frozenset({reverse("health"), reverse("health-tasks")})
        if request.method in ("GET", "HEAD") and request.path in self._paths:
            try:
                match = resolve(request.path_info)
            except Resolver404:
                return self.get_response(request)
            request.resolver_match = match
            view = match.func
            if iscoroutinefunction(view):
                view = async_to_sync(view)
            response = view(request, *match.args, **match.kwargs)
            # The handler renders template responses only for the views it calls itself.
            return response.render() if hasattr(response, "render") else response
        return self.get_response(request)
