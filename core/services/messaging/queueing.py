"""Queueing messages (SPEC.md R10), and handing them to the worker after the caller commits.

``message_queue(event=, guardian=, template=, context=)`` is called by the door, money and
session services inside their own transaction. The idempotency key is sha256(event, guardian),
unique in the database, and the insert runs in a savepoint: the same event queued twice (also by
two processes at once) leaves exactly one row. After the caller commits, the message is handed to
the worker at once (``transaction.on_commit`` → django-q2); the every-minute schedule sends
whatever that missed.
"""

import dataclasses
import logging
import time
from collections.abc import Iterable
from functools import partial

from django.conf import settings
from django.db import transaction
from django_q.tasks import async_task

from core.db import rows_insert
from core.models import CenterSettings, Guardian, Message, MessageTemplate, Student
from core.services.messaging.rendering import _message_build, _message_create, _Source

logger = logging.getLogger(__name__)


def messages_queue_to_guardians(
    *,
    event: str,
    guardians: Iterable[Guardian],
    source: _Source | None,
    context: dict,
    center: CenterSettings,
    student: Student | None = None,
) -> int:
    """Queue one event to several guardians in one INSERT; how many were rendered.

    For hot paths (the door): the caller already holds the guardians, the template
    (``message_sources``) and the center settings. A repeat of the event inserts nothing (the
    unique key; no savepoint needed). After the caller commits, the worker is told to send
    what is due.
    """
    if source is None:
        return 0
    messages = [
        message
        for guardian in guardians
        if (
            message := _message_build(
                event=event, guardian=guardian, source=source, context=context, center=center, student=student
            )
        )
        is not None
    ]
    if not messages:
        return 0
    rows_insert(messages, ignore_conflicts=True)
    if any(message.status == Message.Status.PENDING for message in messages):
        transaction.on_commit(_send_due_soon, robust=True)
    return len(messages)


# A door at rush hour queues a message every second or two. One "send what is due" hand-off per
# process in this many seconds is enough: the task sends everything due when it runs (and loops
# until nothing is), and without Redis each hand-off is a row and a commit of its own. A message
# committed just after a task's last look waits for the next hand-off or the every-minute job.
HANDOFF_EVERY_SECONDS = 2.0


@dataclasses.dataclass
class _Handoff:
    last: float = float("-inf")


_handoff = _Handoff()


def _send_due_soon() -> None:
    now = time.monotonic()
    if now - _handoff.last < HANDOFF_EVERY_SECONDS and not settings.Q_CLUSTER.get("sync"):
        return
    _handoff.last = now
    _send_soon()


def message_queue(
    *,
    event: str,
    guardian: Guardian,
    template: str,
    context: dict,
    student: Student | None = None,
    center: CenterSettings | None = None,
) -> Message | None:
    """Queue one message for an event; a repeat of the event returns the first message unchanged.

    ``event`` is a stable string naming what happened (``f"arrived:{attendance.pk}"``); the same
    event to two guardians makes two messages. ``context`` holds the template kind's placeholders
    (``TEMPLATE_PLACEHOLDERS``; center and guardian names are added here). Returns None when the
    template is inactive or missing, or the guardian opted out of this optional kind. Call it
    inside your transaction: the message leaves only after you commit. Pass ``center`` when you
    hold the CenterSettings row already (saves a query).
    """
    stored = MessageTemplate.objects.filter(key=template).first()
    if stored is None:
        logger.error("message template %s does not exist; nothing queued for %s", template, event)
        return None
    if not stored.is_active:
        return None
    message, created = _message_create(
        event=event,
        guardian=guardian,
        source=_Source.of(stored),
        context=context,
        center=center or CenterSettings.load(),
        student=student,
    )
    if created and message.status == Message.Status.PENDING:
        transaction.on_commit(partial(_send_soon, message.pk), robust=True)
    return message


def _send_soon(message_id: int | None = None) -> None:
    """Hand work to the django-q2 worker (inline in tests); the minute schedule is the fallback."""
    if message_id is None:
        async_task("core.tasks.messages_send_due", group="messages")
    else:
        async_task("core.tasks.message_send", message_id, group="messages")
