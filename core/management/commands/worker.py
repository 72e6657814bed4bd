"""manage.py worker: django-q2's qcluster with a bounded stop, for the Procfile.

On SIGTERM qcluster lets each worker finish its task before exiting, and a task may run up to
Q_CLUSTER["timeout"] (240 s). A PaaS kills the process after its grace period (Heroku: 30 s), so
a long settlement run or import would be cut off by SIGKILL at a random point, and a cluster
that hangs while stopping holds up the deploy. Here the stop is asked for politely and, after
WORKER_STOP_SECONDS (default 20), the cluster's processes are killed and the command exits. A
task cut off this way has rolled back (services write in one transaction) and is offered again
by the broker after Q_CLUSTER["retry"].
"""

import contextlib
import logging
import os
import signal
import threading
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django_q.cluster import Cluster

logger = logging.getLogger("core.worker")


def process_descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Linux /proc), deepest last; empty where /proc is missing."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # the process ended while we looked
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, pending = [], [pid]
    while pending:
        below = children.get(pending.pop(), [])
        found += below
        pending += below
    return found


def process_alive(pid: int) -> bool:
    """True while the process runs (a zombie waiting to be reaped has finished)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return False
    return state not in {"Z", "X"}


class Command(BaseCommand):
    help = "Run the task worker (django-q2 cluster); on SIGTERM stop within WORKER_STOP_SECONDS."

    def handle(self, *args, **options):
        settings.SECRET_KEY  # noqa: B018 (q2 signs task payloads: refuse to start without one)
        stop_requested = threading.Event()
        cluster = Cluster()  # installs q2's own handlers; ours below replace them
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda _signum, _frame: stop_requested.set())
        cluster.start()
        # Noted while running: when the whole process group gets SIGTERM (Heroku signals every
        # process of the dyno) the sentinel dies at once and its workers stop being our
        # descendants, though they may still be running a task.
        cluster_processes: set[int] = set()
        while not stop_requested.wait(1):
            if not cluster.sentinel.is_alive():
                logger.error("task cluster stopped on its own (exit code %s)", cluster.sentinel.exitcode)
                raise SystemExit(1)
            cluster_processes = set(process_descendants(os.getpid()))
        grace = settings.WORKER_STOP_SECONDS
        logger.info("stopping the task cluster (at most %s seconds)", grace)
        cluster_processes |= set(process_descendants(os.getpid()))
        # In a thread: a sentinel killed while holding the stop event's lock blocks set() for
        # ever, which is how q2's own stop hangs.
        threading.Thread(target=cluster.stop_event.set, daemon=True).start()
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(process_alive(pid) for pid in cluster_processes):
            time.sleep(0.2)
        leftovers = [pid for pid in cluster_processes if process_alive(pid)]
        if leftovers:
            logger.warning(
                "task cluster still busy after %s seconds: killing %s processes; "
                "an interrupted task is offered again after the retry delay",
                grace,
                len(leftovers),
            )
            for pid in leftovers:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        cluster.sentinel.join(timeout=5)
        logger.info("task cluster stopped")
