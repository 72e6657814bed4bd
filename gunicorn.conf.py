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
