"""django-q2 entry points: thin functions that load ids and call services."""

from core.health import heartbeat_record


def heartbeat() -> None:
    heartbeat_record()
