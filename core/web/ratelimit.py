"""Fixed-window rate limits in the shared cache (Redis or the database cache).

The counters live in the cache every process shares, so a limit holds across gunicorn
workers and machines.
"""

import time

from django.core.cache import cache


def rate_limit_hit(scope: str, key: str, *, limit: int, window_seconds: int) -> bool:
    """Count one hit; return True when the caller is over the limit for this window."""
    window = int(time.time() // window_seconds)
    cache_key = f"ratelimit:{scope}:{key}:{window}"
    # add() is atomic: the first hit of a window creates the counter.
    if cache.add(cache_key, 1, timeout=window_seconds + 1):
        count = 1
    else:
        try:
            count = cache.incr(cache_key)
        except ValueError:  # expired between add() and incr()
            cache.add(cache_key, 1, timeout=window_seconds + 1)
            count = 1
    return count > limit
