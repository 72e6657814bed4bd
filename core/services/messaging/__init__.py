"""Messages to guardians (SPEC.md R10): queueing, the rules, sending, retries, broadcasts.

What lives where:

- ``rules``: quiet hours, the messaging switch and the hourly limit per guardian;
- ``rendering``: templates to text (language, gender, placeholders) and the idempotency key;
- ``queueing``: ``message_queue`` and the door's batch insert, handed to the worker on commit;
- ``sending``: the state machine (claim, start, call, record), retries, and asking the provider
  about messages that may have left; ``messages_send_due`` is the every-minute job;
- ``staff``: the outbox actions (retry, mark sent, send again, cancel), test message, cleanup;
- ``broadcasts``: audiences, recipients, preview and send.

Every public name is re-exported here, so ``from core.services import messaging;
messaging.message_queue(...)`` and ``from core.services.messaging import X`` keep working for
callers, tasks and operators' scripts. Patch a name in the module that uses it (e.g.
``core.services.messaging.queueing._send_soon``), not here.
"""

from core.services.messaging.broadcasts import (
    Audience,
    BroadcastPreview,
    Recipient,
    broadcast_preview,
    broadcast_recipients,
    broadcast_send,
)
from core.services.messaging.queueing import (
    HANDOFF_EVERY_SECONDS,
    message_queue,
    messages_queue_to_guardians,
)
from core.services.messaging.rendering import (
    MessageContextError,
    gender_words,
    idempotency_key,
    message_sources,
)
from core.services.messaging.rules import (
    RATE_WINDOW,
    quiet_hours_active,
    quiet_hours_end,
)
from core.services.messaging.sending import (
    CHECK_DELAYS,
    CLAIM_BATCH,
    IN_FLIGHT_STALE_AFTER,
    MAX_ATTEMPTS,
    MAX_CHECKS,
    RESERVATION_STALE_AFTER,
    RETRY_DELAYS,
    RUN_TIME_BUDGET_SECONDS,
    CheckReport,
    SendReport,
    message_send,
    messages_recover_stale,
    messages_send_due,
    messages_verify_unknown,
)
from core.services.messaging.staff import (
    CLEANUP_AFTER_DAYS,
    CLEANUP_CHUNK,
    message_template_save,
    message_test_send,
    messages_cancel,
    messages_cleanup,
    messages_mark_sent,
    messages_retry,
    messages_send_again,
)

__all__ = [
    "CHECK_DELAYS",
    "CLAIM_BATCH",
    "CLEANUP_AFTER_DAYS",
    "CLEANUP_CHUNK",
    "HANDOFF_EVERY_SECONDS",
    "IN_FLIGHT_STALE_AFTER",
    "MAX_ATTEMPTS",
    "MAX_CHECKS",
    "RATE_WINDOW",
    "RESERVATION_STALE_AFTER",
    "RETRY_DELAYS",
    "RUN_TIME_BUDGET_SECONDS",
    "Audience",
    "BroadcastPreview",
    "CheckReport",
    "MessageContextError",
    "Recipient",
    "SendReport",
    "broadcast_preview",
    "broadcast_recipients",
    "broadcast_send",
    "gender_words",
    "idempotency_key",
    "message_queue",
    "message_send",
    "message_sources",
    "message_template_save",
    "message_test_send",
    "messages_cancel",
    "messages_cleanup",
    "messages_mark_sent",
    "messages_queue_to_guardians",
    "messages_recover_stale",
    "messages_retry",
    "messages_send_again",
    "messages_send_due",
    "messages_verify_unknown",
    "quiet_hours_active",
    "quiet_hours_end",
]
