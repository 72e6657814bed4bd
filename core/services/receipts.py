"""What the providers tell us after a send (issue 19): delivery receipts, and parents' replies.

Receipts
--------
``receipt_apply`` moves a message along sent → delivered → read, or to failed, with the time the
provider gives. Every move is one conditional UPDATE on what the row must still be, so a status
never moves backwards (a late "delivered" after "read" changes nothing), a replayed receipt
changes nothing, and two webhook deliveries at once cannot both act. A receipt for a message we
could not confirm ("sent, unconfirmed") settles it as sent. A "failed" receipt (WhatsApp could not
deliver what it had accepted) marks the message failed and queues its SMS fallback (once).

Replies
-------
``inbound_receive`` keeps every message a parent writes (unique per channel and provider id: a
replayed webhook adds nothing). STOP and its Arabic and English variants opt the guardian out of
every optional message, with an audit row, and answer with a confirmation; anything else waits in
the office's inbox. Either one opens the 24-hour window in which WhatsApp takes our own text.
"""

import dataclasses
import datetime
import logging
import re
import unicodedata
from functools import partial

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core.models import AuditLog, CenterSettings, Guardian, InboundMessage, Message, TemplateKey
from core.models.messaging import opt_out_choices
from core.services.audit import audit_record
from core.services.channels import message_cost, message_fallback, message_send_soon

logger = logging.getLogger(__name__)

OPT_OUT_CONFIRMATION_KEY = TemplateKey.OPT_OUT_CONFIRMED

# Compared after _stop_key(): lower case, no spaces, punctuation, tatweel or diacritics, alef
# forms made one, taa marbuta as haa.
STOP_WORDS = frozenset(
    {
        "stop",
        "stopall",
        "unsubscribe",
        "cancel",
        "end",
        "quit",
        "optout",
        "ايقاف",
        "ايقافالرسائل",
        "توقف",
        "توقيف",
        "وقف",
        "الغاء",
        "الغاءالاشتراك",
        "الغاءالرسائل",
        "لاارغب",
    }
)
_ALEF = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ة": "ه", "ى": "ي"})


def _stop_key(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "").casefold().translate(_ALEF)
    # Drop marks (Arabic diacritics), tatweel, punctuation, symbols and spaces.
    return "".join(char for char in text if unicodedata.category(char)[0] in "LN" and char != "ـ")


def is_stop_request(text: str) -> bool:
    return _stop_key(text) in STOP_WORDS


def phone_from_provider(value: str) -> str:
    """``201001234567`` or ``201001234567@c.us`` → ``+201001234567``."""
    digits = re.sub(r"\D", "", (value or "").split("@", 1)[0])
    return f"+{digits}" if digits else ""


# --- Receipts ----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Receipt:
    status: str  # sent, delivered, read or failed
    at: datetime.datetime
    reference: str = ""  # our msg-<id>, echoed by the provider
    provider_id: str = ""
    error: str = ""
    not_on_channel: bool = False


def _message_of(channel: str, receipt: Receipt) -> Message | None:
    messages = Message.objects.filter(channel=channel).only("pk", "status", "channel", "provider_id", "body")
    if receipt.reference.startswith("msg-") and receipt.reference[4:].isdigit():
        return messages.filter(pk=int(receipt.reference[4:])).first()
    if receipt.provider_id:
        return messages.filter(provider_id=receipt.provider_id).first()
    return None


def receipt_apply(*, channel: str, receipt: Receipt) -> bool:
    """Apply one delivery receipt; whether it changed anything (see the module docstring)."""
    message = _message_of(channel, receipt)
    if message is None:
        logger.info("receipt %s for an unknown message (%s %s)", receipt.status, receipt.reference, receipt.provider_id)
        return False
    rows = Message.objects.filter(pk=message.pk)
    at = receipt.at
    changed = 0
    with transaction.atomic():
        if receipt.status in ("sent", "delivered", "read") and message.status == Message.Status.UNKNOWN:
            # "Sent, unconfirmed" confirmed by the provider itself.
            center = CenterSettings.load()
            fields = {"status": Message.Status.SENT, "sent_at": at, "failure": "", "last_error": ""}
            fields["cost"] = message_cost(message, center)
            if receipt.provider_id:
                fields["provider_id"] = receipt.provider_id[:100]
            changed += rows.filter(status=Message.Status.UNKNOWN).update(**fields)
        alive = rows.filter(status=Message.Status.SENT)
        if receipt.status == "delivered":
            changed += alive.filter(delivered_at__isnull=True, read_at__isnull=True).update(delivered_at=at)
        elif receipt.status == "read":
            changed += alive.filter(read_at__isnull=True).update(read_at=at, delivered_at=Coalesce("delivered_at", at))
        elif receipt.status == "failed":
            # Only a message not yet delivered can fail; a late "failed" after "read" changes nothing.
            changed += (
                rows.filter(Q(status=Message.Status.SENT) | Q(status=Message.Status.UNKNOWN))
                .filter(delivered_at__isnull=True, read_at__isnull=True)
                .update(
                    status=Message.Status.FAILED,
                    failure=Message.Failure.NOT_ON_WHATSAPP if receipt.not_on_channel else Message.Failure.REJECTED,
                    failed_at=at,
                    last_error=receipt.error[:255],
                )
            )
    if changed and receipt.status == "failed":
        message_fallback(message_id=message.pk)
    if changed:
        logger.info("message %s: receipt %s", message.pk, receipt.status)
    return bool(changed)


# --- Replies -----------------------------------------------------------------------------------


def _opt_out_everything(guardian: Guardian, inbound: InboundMessage) -> None:
    every_optional = [key for key, _label in opt_out_choices()]
    before = list(guardian.message_opt_outs or [])
    after = sorted(set(before) | set(every_optional))
    Guardian.objects.filter(pk=guardian.pk).update(message_opt_outs=after)
    audit_record(
        actor=None,
        action=AuditLog.Action.UPDATE,
        instance=guardian,
        changes={"message_opt_outs": [before, after]},
        reason=_("the parent replied “%(text)s” (message %(id)s)") % {"text": inbound.text[:60], "id": inbound.pk},
    )


def _confirmation_queue(guardian: Guardian, inbound: InboundMessage) -> Message:
    from core.services.messaging import idempotency_key

    center = CenterSettings.load()
    language = guardian.language or "ar"
    with translation.override(language):
        name = center.center_name_en if language == "en" and center.center_name_en else center.center_name_ar
        body = _(
            "You will no longer receive optional messages from %(center)s. Important notices (a refusal "
            "at the door, a cancelled session) still come."
        ) % {"center": name}
    event = f"opt_out:{inbound.pk}"
    message = Message.objects.create(
        guardian=guardian,
        phone=guardian.phone,
        template_key=OPT_OUT_CONFIRMATION_KEY,
        language=language,
        body=body,
        # Not held by the opt-out it confirms, nor by quiet hours: the parent just wrote.
        is_mandatory=True,
        event=event,
        idempotency_key=idempotency_key(event, guardian.pk),
        channel=inbound.channel,
        status=Message.Status.PENDING,
        next_attempt_at=timezone.now(),
    )
    transaction.on_commit(partial(message_send_soon, message.pk), robust=True)
    return message


def inbound_receive(
    *, channel: str, provider_id: str, phone: str, text: str, at: datetime.datetime
) -> InboundMessage | None:
    """Keep one message a parent wrote; None when it was already kept (a replayed webhook)."""
    phone = phone_from_provider(phone)
    if not phone or not provider_id:
        return None
    guardian = Guardian.objects.filter(phone=phone).first()
    stop = is_stop_request(text)
    with transaction.atomic():
        inbound = InboundMessage(
            channel=channel,
            provider_id=provider_id[:200],
            phone=phone,
            guardian=guardian,
            text=text or "",
            kind=InboundMessage.Kind.STOP if stop else InboundMessage.Kind.REPLY,
            received_at=at,
        )
        try:
            with transaction.atomic():
                inbound.save(force_insert=True)
        except IntegrityError:
            return None
        if stop and guardian is not None:
            _opt_out_everything(guardian, inbound)
            _confirmation_queue(guardian, inbound)
            inbound.handled_at = timezone.now()
            inbound.save(update_fields=["handled_at"])
    logger.info("inbound %s from %s (%s)", inbound.kind, phone, "guardian" if guardian else "unknown number")
    return inbound


def inbound_mark_handled(*, actor, messages) -> int:
    """The office has dealt with these replies; returns how many were open."""
    with transaction.atomic():
        rows = list(InboundMessage.objects.select_for_update().filter(pk__in=messages.values("pk"), handled_at=None))
        now = timezone.now()
        for row in rows:
            audit_record(
                actor=actor, action=AuditLog.Action.UPDATE, instance=row, changes={"handled_at": [None, str(now)]}
            )
        InboundMessage.objects.filter(pk__in=[row.pk for row in rows]).update(handled_at=now, handled_by=actor)
    return len(rows)
