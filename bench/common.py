"""What every benchmark script sets up the same way: the project on sys.path, Django with its
settings (development, quiet logs), one report line at a time on standard output, the
throwaway database a run fills and drops, and timing with the process's peak memory.

Import it first thing in a script (``from common import ...``: the script's own folder is on
sys.path when it is run as ``python bench/NAME.py``). Importing it changes nothing else: Django
is set up by ``django_setup()`` after the arguments are parsed, so ``--help`` stays instant and a
script's child processes get the environment it gives them, not these defaults.
"""

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

T = TypeVar("T")


def emit(line: str = "") -> None:
    """One line of the report on standard output, flushed (a long run shows its progress)."""
    sys.stdout.write(f"{line}\n")
    sys.stdout.flush()


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def django_setup(database_url: str = "") -> None:
    """Django with the project's settings: development unless the environment says otherwise,
    quiet logs, and database_url when given (else DATABASE_URL as it is)."""
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    os.environ.setdefault("APP_ENV", "development")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()


@contextlib.contextmanager
def throwaway_database(label: str = "benchmark database") -> Iterator[str]:
    """A fresh, migrated database beside the configured one (Django's test database), dropped
    at the end whatever happens; its name is printed."""
    from django.db import connection

    name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        emit(f"{label}: {name} ({connection.vendor})")
        yield name
    finally:
        connection.close()
        connection.creation.destroy_test_db(name, verbosity=0)


def memory_kb(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    raise RuntimeError(field)


def peak_reset() -> None:
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")  # resets VmHWM to the current resident size


def timed(label: str, step: Callable[[], T]) -> T:
    """Run step, print its wall time and the process's peak resident memory while it ran."""
    peak_reset()
    before = memory_kb("VmRSS")
    started = time.perf_counter()
    result = step()
    seconds = time.perf_counter() - started
    peak = memory_kb("VmHWM")
    emit(f"  {label}: {seconds:.1f} s, peak RSS {peak / 1024:.0f} MB (+{(peak - before) / 1024:.0f} MB over the start)")
    return result
