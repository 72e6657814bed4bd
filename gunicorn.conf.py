"""gunicorn on the PaaS: it sets PORT and WEB_CONCURRENCY; logs go to stdout."""

import os
import tempfile
from pathlib import Path

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
# Requests are logged once, as structured lines, by core.web.middleware.RequestLogMiddleware.
accesslog = None
errorlog = "-"
# Addresses whose X-Forwarded-Proto gunicorn believes: only a proxy on this machine unless set.
# A PaaS router reaches the dyno from changing addresses and is its only way in: set "*" there
# (app.json, render.yaml and fly.toml do). The client address is core/web/http.py's business.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
max_requests = 2000
max_requests_jitter = 200


# /metrics (core/ops/metrics.py): each worker process counts its own requests; prometheus-client's
# multiprocess mode keeps the counts in files in this folder so one scrape sees every worker.
# Set before the workers start (they inherit it); a fresh temporary folder unless configured.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="syseducore-metrics-"))


def on_starting(server):
    # A configured folder may hold the counts of an earlier run: they would add up with these.
    folder = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def post_worker_init(worker):
    """Load every view module now and take the loaded objects out of the garbage collector's sight.

    A worker holds a few hundred thousand long-lived objects (Django, the admin, unfold, the
    compiled templates); each full collection walked all of them, which put 100-150 ms pauses
    into one request in ten on a big admin page (bench/pages.py: p95 twice the median).
    ``gc.freeze`` moves them to the permanent generation, so collections see only the request's
    own garbage (the pattern CPython's gc documentation gives for forking servers)."""
    import gc

    from django.urls import get_resolver

    _patterns = get_resolver().url_patterns  # reading them imports the admin and every view module
    gc.collect()
    gc.freeze()
