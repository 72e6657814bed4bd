"""What staff do from the outbox (retry, mark sent, send again knowing it may double, cancel), the
owner's test message, template saves, and the cleanup of old sent messages. Every change is
audited.
"""

import datetime
import logging
import uuid

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from core.models import AuditLog, CenterSettings, Message, MessageTemplate, TemplateKey
from core.normalize import phone_e164
from core.providers.whatsapp import WhatsAppProvider, provider_get
from core.services.audit import audit_record
from core.services.messaging.queueing import _send_soon
from core.services.messaging.rendering import idempotency_key
from core.services.messaging.sending import _deliver

logger = logging.getLogger(__name__)

CLEANUP_AFTER_DAYS = 180
CLEANUP_CHUNK = 1000


def messages_retry(*, actor, messages: QuerySet) -> int:
    """Queue failed messages again with a fresh retry schedule; returns how many.

    Only messages that certainly never reached the parent: not "sent, unconfirmed" ones (see
    ``messages_send_again``), nor old rows interrupted mid-send, nor WhatsApp messages whose SMS
    fallback was queued (the parent has the event by SMS: a retry would send it twice)."""
    with transaction.atomic():
        ids = list(messages.values_list("pk", flat=True))
        failed = list(
            Message.objects.select_for_update()
            .filter(pk__in=ids, status=Message.Status.FAILED)
            .exclude(failure=Message.Failure.INTERRUPTED)
            # A subquery, not a join: PostgreSQL locks no row of an outer join's nullable side.
            .exclude(pk__in=Message.objects.filter(fallback_for__in=ids).values("fallback_for"))
        )
        now = timezone.now()
        for message in failed:
            audit_record(
                actor=actor,
                action=AuditLog.Action.UPDATE,
                instance=message,
                changes={"status": [message.status, Message.Status.PENDING], "failure": [message.failure, ""]},
                reason=_("retry"),
            )
        Message.objects.filter(pk__in=[message.pk for message in failed]).update(
            status=Message.Status.PENDING,
            failure="",
            hold_reason="",
            attempts=0,
            next_attempt_at=now,
            claim_token=None,
            attempt_started_at=None,
        )
        if failed:
            transaction.on_commit(_send_soon, robust=True)
    return len(failed)


def _unconfirmed_locked(messages: QuerySet) -> list[Message]:
    """The unconfirmed messages among ``messages`` (old interrupted rows too), locked."""
    ids = list(messages.values_list("pk", flat=True))
    unconfirmed = Q(status=Message.Status.UNKNOWN) | Q(
        status=Message.Status.FAILED, failure=Message.Failure.INTERRUPTED
    )
    return list(Message.objects.select_for_update().filter(unconfirmed, pk__in=ids))


def messages_mark_sent(*, actor, messages: QuerySet, reason: str) -> int:
    """Staff confirmed (provider's dashboard, the parent) that unconfirmed messages arrived."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say how you know the message arrived.")})
    with transaction.atomic():
        rows = _unconfirmed_locked(messages)
        now = timezone.now()
        cost = CenterSettings.load().cost_per_message
        for message in rows:
            audit_record(
                actor=actor,
                action=AuditLog.Action.UPDATE,
                instance=message,
                changes={"status": [message.status, Message.Status.SENT]},
                reason=_("marked sent by hand: %(reason)s") % {"reason": reason},
            )
        Message.objects.filter(pk__in=[message.pk for message in rows]).update(
            status=Message.Status.SENT, failure="", sent_at=now, cost=cost, last_error="", claim_token=None
        )
    return len(rows)


def messages_send_again(*, actor, messages: QuerySet, may_double: bool) -> int:
    """Send unconfirmed messages again, knowing the parent may get them twice (staff's call).

    ``may_double`` is the confirmation the admin asks for; without it nothing happens."""
    if not may_double:
        raise ValidationError(_("Confirm that the parent may receive the message twice."))
    with transaction.atomic():
        rows = _unconfirmed_locked(messages)
        now = timezone.now()
        for message in rows:
            audit_record(
                actor=actor,
                action=AuditLog.Action.UPDATE,
                instance=message,
                changes={"status": [message.status, Message.Status.PENDING]},
                reason=_("sent again by hand; it may arrive twice"),
            )
        Message.objects.filter(pk__in=[message.pk for message in rows]).update(
            status=Message.Status.PENDING,
            failure="",
            hold_reason="",
            attempts=0,
            checks=0,
            next_attempt_at=now,
            claim_token=None,
            attempt_started_at=None,
        )
        if rows:
            transaction.on_commit(_send_soon, robust=True)
    return len(rows)


def messages_cancel(*, actor, messages: QuerySet) -> int:
    """Cancel messages that have not gone out (pending, held or failed); returns how many."""
    cancellable = (Message.Status.PENDING, Message.Status.HELD, Message.Status.FAILED)
    with transaction.atomic():
        ids = list(messages.values_list("pk", flat=True))
        rows = list(Message.objects.select_for_update().filter(pk__in=ids, status__in=cancellable))
        for message in rows:
            audit_record(
                actor=actor,
                action=AuditLog.Action.CANCEL,
                instance=message,
                changes={"status": [message.status, Message.Status.CANCELLED]},
            )
        Message.objects.filter(pk__in=[message.pk for message in rows], status__in=cancellable).update(
            status=Message.Status.CANCELLED, claim_token=None
        )
    return len(rows)


def message_test_send(*, actor, phone: str, text: str, provider: WhatsAppProvider | None = None) -> Message:
    """Send one message straight through the provider (owner's check of the configuration).

    It bypasses the messaging switch, quiet hours and limits, is never retried, and is kept in
    the outbox (with its cost) like any other message.
    """
    phone = phone_e164(phone)
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": _("Write the message text.")})
    event = f"test:{uuid.uuid4().hex}"
    token = uuid.uuid4()
    now = timezone.now()
    with transaction.atomic():
        center = CenterSettings.load()
        message = Message.objects.create(
            phone=phone,
            template_key=TemplateKey.TEST,
            language="ar",
            body=text,
            is_mandatory=True,
            event=event,
            idempotency_key=idempotency_key(event, None),
            status=Message.Status.SENDING,
            claim_token=token,
            claimed_at=now,
            next_attempt_at=now,
        )
        audit_record(actor=actor, action=AuditLog.Action.CREATE, instance=message, reason=_("test message"))
    _deliver(message, token=token, provider=provider or provider_get(), cost=center.cost_per_message, retries=False)
    message.refresh_from_db()
    return message


def messages_cleanup(*, older_than_days: int = CLEANUP_AFTER_DAYS) -> int:
    """Delete sent messages older than the retention period, in small chunks; returns how many."""
    cutoff = timezone.now() - datetime.timedelta(days=older_than_days)
    removed = 0
    while True:
        ids = list(
            Message.objects.filter(status=Message.Status.SENT, sent_at__lt=cutoff).values_list("pk", flat=True)[
                :CLEANUP_CHUNK
            ]
        )
        if not ids:
            break
        removed += Message.objects.filter(pk__in=ids).delete()[0]
    if removed:
        logger.info("messages cleanup: %s sent messages older than %s days removed", removed, older_than_days)
    return removed


def message_template_save(*, actor, template: MessageTemplate) -> MessageTemplate:
    """Validate (placeholders included) and save a template with an audit row."""
    from core.services.records import record_save

    return record_save(actor=actor, instance=template)
