"""Gap-free counters (student codes, receipt numbers).

The counter row is locked with select_for_update and advanced inside the caller's
transaction: if the caller rolls back, so does the number, so there are no gaps and no
duplicates however many requests race.
"""

from django.db import IntegrityError, transaction

from core.models import Counter


def counter_next(key: str, *, start: int = 0) -> int:
    """Advance the counter ``key`` by one and return the new value (first value: start + 1)."""
    counter = Counter.objects.select_for_update().filter(key=key).first()
    if counter is None:
        try:
            with transaction.atomic():
                Counter.objects.create(key=key, value=start)
        except IntegrityError:
            pass  # another transaction created it first; lock theirs below
        counter = Counter.objects.select_for_update().get(key=key)
    counter.value += 1
    counter.save(update_fields=["value"])
    return counter.value
