"""/metrics in the Prometheus text format, for an operator's Prometheus (or Grafana Agent).

Two kinds of figures:

- **Requests** (count and latency by view, database queries by view) are counted in each
  process by ``MetricsMiddleware``. gunicorn runs several worker processes and a scrape reaches
  one of them, so ``gunicorn.conf.py`` turns on prometheus-client's multiprocess mode: every
  worker writes its counters to files in ``PROMETHEUS_MULTIPROC_DIR`` (a fresh temporary folder
  per gunicorn start unless set) and a scrape adds them all up. Without that variable
  (runserver, tests) the counters live in the process.
- **The center's own figures** (door scans, payments, messages, queue, worker, backups) are read
  from the database at scrape time by ``CenterCollector``, so every process answers the same.

Prometheus samples are floats by definition: money is summed as Decimal and converted only here.
The endpoint is off (404) unless ``METRICS_TOKEN`` is set; the scraper sends it as
``Authorization: Bearer <token>`` (or ``?token=`` for scrapers that cannot set headers).
"""

import hmac
import os
import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import datetime
from datetime import time as day_time
from decimal import Decimal

from django.apps import apps
from django.conf import settings
from django.db import connections
from django.db.models import Count, Sum
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, HttpResponseNotFound
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django_q.brokers import get_broker
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from core.models import Message, Receipt, ScanEvent, ScanOutcomeCode
from core.ops.health import heartbeat_age_seconds

REQUEST_REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Counter(
    "syseducore_http_requests",
    "HTTP requests by view, method and status.",
    ["view", "method", "status"],
    registry=REQUEST_REGISTRY,
)
REQUEST_SECONDS = Histogram(
    "syseducore_http_request_duration_seconds",
    "Time to answer a request, by view.",
    ["view", "method"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=REQUEST_REGISTRY,
)
DB_QUERIES = Counter(
    "syseducore_db_queries",
    "Database queries run while answering requests, by view.",
    ["view"],
    registry=REQUEST_REGISTRY,
)
UNRESOLVED_VIEW = "<unresolved>"


def multiprocess_mode() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


class MetricsMiddleware:
    """Counts each request, its latency and its database queries under the view's URL name.

    The label is the URL pattern's name (``admin:core_student_changelist``), never the path, so
    the number of series stays bounded whatever clients request.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        queries = 0

        def count_query(execute, sql, params, many, context):
            nonlocal queries
            queries += 1
            return execute(sql, params, many, context)

        started = time.perf_counter()
        with ExitStack() as stack:
            for alias in connections:
                stack.enter_context(connections[alias].execute_wrapper(count_query))
            response = self.get_response(request)
        elapsed = time.perf_counter() - started
        match = getattr(request, "resolver_match", None)
        view = (match.view_name or UNRESOLVED_VIEW) if match is not None else UNRESOLVED_VIEW
        REQUESTS.labels(view=view, method=request.method, status=str(response.status_code)).inc()
        REQUEST_SECONDS.labels(view=view, method=request.method).observe(elapsed)
        if queries:
            DB_QUERIES.labels(view=view).inc(queries)
        return response


def last_verified_backup_at() -> datetime | None:
    """When the newest backup that passed its restore check was taken, or None.

    The backups code owns the answer; until it offers a selector, read its model directly.
    """
    try:
        from core.selectors.backups import last_verified_backup_at as selector
    except ImportError:
        selector = None
    if selector is not None:
        return selector()
    try:
        backup_model = apps.get_model("core", "Backup")
    except LookupError:
        return None
    verified = getattr(getattr(backup_model, "Verification", None), "PASSED", "passed")
    latest = backup_model.objects.filter(verification=verified).order_by("-created_at").first()
    return latest.created_at if latest is not None else None


def _today_start() -> datetime:
    """Midnight of today in the center's time zone (Africa/Cairo), as an aware datetime."""
    return timezone.make_aware(datetime.combine(timezone.localdate(), day_time.min))


def _money(value: Decimal | None) -> float:
    return float(value or Decimal("0.00"))


class CenterCollector(Collector):
    """The center's figures, read from the database at each scrape (a handful of indexed counts)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        scans = GaugeMetricFamily(
            "syseducore_door_scans_today", "Door scans since midnight (Cairo time), by outcome.", labels=["outcome"]
        )
        counted = dict(
            ScanEvent.objects.filter(at__gte=_today_start())
            .values_list("outcome")
            .annotate(n=Count("id"))
            .values_list("outcome", "n")
        )
        for outcome in ScanOutcomeCode.values:
            scans.add_metric([outcome], counted.get(outcome, 0))
        yield scans

        today = timezone.localdate()
        payments = GaugeMetricFamily(
            "syseducore_payments", "Receipts not voided, today and this month (Cairo dates).", labels=["period"]
        )
        amounts = GaugeMetricFamily(
            "syseducore_payments_amount_egp",
            "Total of the receipts not voided, today and this month, in EGP.",
            labels=["period"],
        )
        live = Receipt.objects.filter(voided_at__isnull=True)
        for period, receipts in (
            ("today", live.filter(date=today)),
            ("month", live.filter(date__gte=today.replace(day=1), date__lte=today)),
        ):
            totals = receipts.aggregate(n=Count("id"), amount=Sum("total"))
            payments.add_metric([period], totals["n"])
            amounts.add_metric([period], _money(totals["amount"]))
        yield payments
        yield amounts

        messages = GaugeMetricFamily("syseducore_messages", "WhatsApp outbox messages by status.", labels=["status"])
        by_status = dict(Message.objects.order_by().values_list("status").annotate(n=Count("id")))
        for status in Message.Status.values:
            messages.add_metric([status], by_status.get(status, 0))
        yield messages

        # Issue 19: 1 while a channel's circuit breaker holds its messages (open or probing).
        from core.selectors.channels import channel_states

        paused = GaugeMetricFamily(
            "syseducore_channel_paused",
            "1 while a sending channel is paused by its circuit breaker.",
            labels=["channel"],
        )
        for state in channel_states():
            paused.add_metric([state.channel], 0 if state.working else 1)
        yield paused

        yield GaugeMetricFamily(
            "syseducore_task_queue_depth",
            "Tasks waiting for the worker (django-q2 broker).",
            value=get_broker().queue_size(),
        )

        age = heartbeat_age_seconds()
        yield GaugeMetricFamily(
            "syseducore_worker_heartbeat_age_seconds",
            "Seconds since the task worker's last heartbeat (+Inf: never seen).",
            value=float("inf") if age is None else age,
        )

        backup_at = last_verified_backup_at()
        yield GaugeMetricFamily(
            "syseducore_backup_last_verified_age_seconds",
            "Seconds since the newest backup that passed its restore check was taken (+Inf: none).",
            value=float("inf") if backup_at is None else (timezone.now() - backup_at).total_seconds(),
        )


def metrics_render() -> bytes:
    if multiprocess_mode():
        requests_registry = CollectorRegistry()
        MultiProcessCollector(requests_registry)
    else:
        requests_registry = REQUEST_REGISTRY
    center_registry = CollectorRegistry(auto_describe=False)
    center_registry.register(CenterCollector())
    return generate_latest(requests_registry) + generate_latest(center_registry)


def _token_supplied(request: HttpRequest) -> str:
    scheme, _space, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return request.GET.get("token", "")


@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    # Bare answers for a machine, not the center's HTML error pages.
    expected = settings.METRICS_TOKEN
    if not expected:
        return HttpResponseNotFound()
    if not hmac.compare_digest(_token_supplied(request).encode(), expected.encode()):
        return HttpResponseForbidden()
    # The classic text format every Prometheus reads; our metric names need no UTF-8 escaping.
    return HttpResponse(metrics_render(), content_type=CONTENT_TYPE_PLAIN_0_0_4)
