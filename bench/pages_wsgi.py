"""The project's WSGI application, reporting each request's server time and queries, for bench/pages.py.

Two response headers are added: ``X-Bench-Ms`` (time inside the application, from the request to
the finished response), ``X-Bench-Queries`` (database statements run meanwhile) and ``X-Bench-Db-Ms``
(the time spent in them). The project's
own code is unchanged: this wrapper exists only in the benchmark's gunicorn.
"""

import os
import sys
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

from django.core.wsgi import get_wsgi_application
from django.db import connections

django_application = get_wsgi_application()


def application(environ, start_response):
    queries = 0
    database_seconds = 0.0

    def count_query(execute, sql, params, many, context):
        nonlocal queries, database_seconds
        queries += 1
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            database_seconds += time.perf_counter() - started

    captured = {}

    def capture(status, headers, exc_info=None):
        captured["status"], captured["headers"], captured["exc_info"] = status, headers, exc_info

    started = time.perf_counter()
    with ExitStack() as stack:
        for alias in connections:
            stack.enter_context(connections[alias].execute_wrapper(count_query))
        body = django_application(environ, capture)
        # Rendered responses are complete here; a streamed one is read now, inside the count.
        chunks = list(body)
        if hasattr(body, "close"):
            body.close()
    elapsed_ms = (time.perf_counter() - started) * 1000
    headers = [
        *captured["headers"],
        ("X-Bench-Ms", f"{elapsed_ms:.1f}"),
        ("X-Bench-Queries", str(queries)),
        ("X-Bench-Db-Ms", f"{database_seconds * 1000:.1f}"),
    ]
    start_response(captured["status"], headers, captured["exc_info"])
    return chunks
