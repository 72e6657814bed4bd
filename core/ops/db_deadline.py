"""A deadline on one request's database work, for the door (issue 15).

A database that is slow or locked is bounded on the server: web processes run with a statement
and a lock timeout (project/settings.py). A database that is *frozen* (the server stopped, a
network that swallows packets, a host paused by its hypervisor) enforces nothing: the socket
stays open, the kernel acknowledges what we send, and the request waits as long as the freeze
lasts. ``database_deadline`` bounds that from our side: when the block runs longer than the
deadline, a timer shuts the connection's socket down. The waiting call then fails at once with
``django.db.OperationalError`` (the caller answers 503), the connection is dropped, and the next
request opens a fresh one (bounded by ``connect_timeout``).

Shutting down a socket is safe for the data: PostgreSQL rolls back whatever the transaction had
not committed. If the COMMIT had already been sent it may still be applied when the server
wakes up: the kiosk's replay of the same client scan id then returns that first answer, so
nothing is counted twice.
"""

import contextlib
import logging
import os
import socket
import threading
from collections.abc import Iterator

from django.db import connections

logger = logging.getLogger(__name__)


def _socket_shutdown(raw_connection) -> bool:
    """Shut down the socket under a DB-API connection (psycopg2's ``fileno()``); False if none."""
    fileno = getattr(raw_connection, "fileno", None)
    if fileno is None:
        return False  # SQLite: a file, nothing to cut
    try:
        duplicate = os.dup(fileno())
    except (OSError, ValueError) as exc:  # already closed
        logger.debug("database deadline: no socket to cut (%s)", exc)
        return False
    sock = socket.socket(fileno=duplicate)
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError as exc:
        logger.debug("database deadline: socket already gone (%s)", exc)
        return False
    finally:
        sock.close()  # closes our duplicate only; libpq's descriptor stays its own
    return True


@contextlib.contextmanager
def database_deadline(seconds: float, alias: str = "default") -> Iterator[threading.Event]:
    """Cut this thread's database connection if the block lasts longer than ``seconds``.

    Yields an event that is set when the deadline fired. It is set *before* the socket is cut, so
    the interrupted call, which fails the instant the socket goes, always sees it. 0 or less: no
    deadline."""
    fired = threading.Event()
    if seconds <= 0:
        yield fired
        return
    wrapper = connections[alias]  # this thread's connection, captured for the timer thread

    def cut() -> None:
        fired.set()
        raw = wrapper.connection
        if raw is not None and _socket_shutdown(raw):
            logger.warning("database deadline: no answer within %ss; connection cut", seconds)
        else:
            logger.warning("database deadline: no answer within %ss; no socket to cut", seconds)

    timer = threading.Timer(seconds, cut)
    timer.daemon = True
    timer.start()
    try:
        yield fired
    finally:
        timer.cancel()
