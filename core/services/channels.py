"""Which way each message goes (issue 19): the channel router, the circuit breaker, SMS fallback.

Channels
--------
A message goes by WhatsApp unless its guardian prefers SMS (and an SMS gateway is configured);
the choice is made when it is queued (``message_channel``) and kept on the row. The outbox's
state machine (``core/services/messaging``) is the same for both: the router below only picks the
provider and the form of the request. On the Cloud API a message inside the 24-hour window after
the parent last wrote goes as our own text; outside it, as the approved template mapped to its
template and language (``CloudTemplate``) with its stored parameters; with neither it is refused
for good (and may fall back to SMS).

Circuit breaker
---------------
One ``ChannelBreaker`` row per channel, shared by every worker::

    closed ──N channel faults in a row──► open ──cooling period over, a claim takes the probe──► half-open
      ▲                                    ▲                                                      │
      └──────────── the probe is answered ─┼──────────────────────────────────────────────────────┤
                                           └────────────── the probe fails ───────────────────────┘

While a channel is open its messages are not claimed: they stay pending (no attempt is used, nothing
is dropped). A claim that finds the cooling period over takes the probe (a conditional UPDATE, so
one worker in all) and claims one message of that channel; its outcome closes or reopens the
channel. A channel fault is a failure that says the provider is in trouble (unreachable, 5xx,
throttled, no answer): a refusal of one recipient is an answer, so it counts as the channel working.

Fallback
--------
A WhatsApp message that failed for good (not on WhatsApp, refused, retries used up, or a failed
receipt) is copied once as an SMS: the copy's row points at the original (a unique one-to-one) and
its idempotency key is the event's with ``:sms``, so no retry, replay or second worker can make two.
Mandatory messages fall back always, optional ones when the center says so.
"""

import datetime
import logging
from decimal import Decimal
from functools import partial

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django_q.tasks import async_task

from core.models import CenterSettings, Channel, ChannelBreaker, CloudTemplate, InboundMessage, Message, TemplateKey
from core.providers.sms import sms_configured, sms_provider_get, sms_size
from core.providers.whatsapp import (
    Lookup,
    ProviderError,
    ProviderLookupError,
    ProviderRejected,
    SendResult,
    provider_get,
)
from core.providers.whatsapp_cloud import TemplateCall

logger = logging.getLogger(__name__)

CONVERSATION_WINDOW = datetime.timedelta(hours=24)
# A probe whose worker died: another claim may take the probe again after this long.
PROBE_STALE_AFTER = datetime.timedelta(minutes=10)


def message_channel(guardian) -> str:
    """The channel a new message to this guardian goes by."""
    if getattr(guardian, "message_channel", Channel.WHATSAPP) == Channel.SMS and sms_configured():
        return Channel.SMS
    return Channel.WHATSAPP


def message_cost(message: Message, center: CenterSettings) -> Decimal:
    """What a sent message costs: WhatsApp per message; SMS per billed part."""
    if message.channel == Channel.SMS:
        return center.sms_cost_per_segment * sms_size(message.body).segments
    return center.cost_per_message


# --- Circuit breaker ---------------------------------------------------------------------------


def _breaker_locked(channel: str) -> ChannelBreaker:
    ChannelBreaker.objects.get_or_create(channel=channel)
    return ChannelBreaker.objects.select_for_update().get(channel=channel)


def channel_gate(now: datetime.datetime | None = None) -> tuple[set[str], set[str], set[str]]:
    """For a claim: (channels that may not send, channels whose probe this caller took, channels
    whose row is not clean). One query while every channel works (no row, or closed with no failure)."""
    now = now or timezone.now()
    blocked, probing, dirty = set(), set(), set()
    rows = ChannelBreaker.objects.filter(~Q(state=ChannelBreaker.State.CLOSED) | Q(failures__gt=0))
    for row in rows:
        dirty.add(row.channel)
        if row.state == ChannelBreaker.State.CLOSED:
            continue
        due = (row.state == ChannelBreaker.State.OPEN and row.retry_at is not None and row.retry_at <= now) or (
            row.state == ChannelBreaker.State.HALF_OPEN
            and (row.probe_started_at is None or row.probe_started_at <= now - PROBE_STALE_AFTER)
        )
        # Conditional on what we read: of several workers, one takes the probe.
        taken = due and ChannelBreaker.objects.filter(
            pk=row.pk, state=row.state, retry_at=row.retry_at, probe_started_at=row.probe_started_at
        ).update(state=ChannelBreaker.State.HALF_OPEN, probe_started_at=now)
        if taken:
            logger.info("channel %s: cooling period over, one probe message decides", row.channel)
            probing.add(row.channel)
        else:
            blocked.add(row.channel)
    return blocked, probing, dirty


def channel_probe_unused(channel: str) -> None:
    """The probe was taken but no message of the channel was due: let the next claim take it."""
    ChannelBreaker.objects.filter(channel=channel, state=ChannelBreaker.State.HALF_OPEN).update(
        state=ChannelBreaker.State.OPEN, retry_at=timezone.now(), probe_started_at=None
    )


def channel_succeeded(channel: str) -> None:
    """The provider answered: the channel works (closes it, clears the failure count)."""
    updated = (
        ChannelBreaker.objects.filter(channel=channel)
        .filter(~Q(state=ChannelBreaker.State.CLOSED) | Q(failures__gt=0))
        .update(
            state=ChannelBreaker.State.CLOSED,
            failures=0,
            opened_at=None,
            retry_at=None,
            probe_started_at=None,
            last_error="",
        )
    )
    if updated:
        logger.info("channel %s works again", channel)


def channel_failed(channel: str, *, error: str) -> bool:
    """Count a channel fault; returns whether the channel is now open (paused)."""
    now = timezone.now()
    with transaction.atomic():
        row = _breaker_locked(channel)
        row.failures += 1
        row.last_error = error[:255]
        if row.state == ChannelBreaker.State.HALF_OPEN or (
            row.state == ChannelBreaker.State.CLOSED and row.failures >= settings.CHANNEL_BREAKER_FAILURES
        ):
            row.state = ChannelBreaker.State.OPEN
            row.opened_at = now
            row.retry_at = now + datetime.timedelta(seconds=settings.CHANNEL_BREAKER_COOLDOWN_SECONDS)
            row.probe_started_at = None
            logger.warning(
                "channel %s paused until %s after %s failure(s) in a row: %s",
                channel,
                row.retry_at,
                row.failures,
                error,
            )
        row.save()
        return row.state == ChannelBreaker.State.OPEN


# --- Routing -----------------------------------------------------------------------------------


def conversation_open(phone: str, *, now: datetime.datetime | None = None) -> bool:
    """Whether the parent wrote within the last 24 hours (WhatsApp then takes our own text)."""
    since = (now or timezone.now()) - CONVERSATION_WINDOW
    return InboundMessage.objects.filter(phone=phone, received_at__gte=since).exists()


def cloud_template_call(message: Message, *, mappings: dict | None = None) -> TemplateCall | None:
    """The approved template for a message outside the window, or None for our own text.

    ``mappings`` caches the look-up per template and language for one run of the worker (a run
    lasts at most two minutes; an edit in the admin is seen by the next run)."""
    if conversation_open(message.phone):
        return None
    mappings = {} if mappings is None else mappings
    wanted = (message.template_key, message.language)
    if wanted not in mappings:
        mappings[wanted] = (
            CloudTemplate.objects.filter(template__key=wanted[0], language=wanted[1], is_active=True)
            .only("name", "cloud_language", "parameters")
            .first()
        )
    mapping = mappings[wanted]
    if mapping is None:
        raise ProviderRejected(
            _("No approved WhatsApp template for “%(key)s” (%(language)s) and the parent has not written in 24 hours.")
            % {"key": message.template_key, "language": message.language},
            code="no_template",
        )
    params = message.params or {}
    return TemplateCall(
        name=mapping.name,
        language=mapping.cloud_language,
        parameters=tuple(str(params.get(name, "")) for name in mapping.parameter_names),
    )


class ChannelRouter:
    """The outbox's provider: sends each message by its channel, and remembers which channels
    this run paused (the rest of its batch on that channel is given back, not sent)."""

    def __init__(self, *, whatsapp=None, sms=None):
        self.whatsapp = whatsapp or provider_get()
        self._sms = sms
        self.paused: set[str] = set()
        self.dirty: set[str] = {Channel.WHATSAPP, Channel.SMS}  # until a claim's gate says otherwise
        self.mappings: dict = {}  # approved templates looked up in this run

    @classmethod
    def of(cls, provider) -> "ChannelRouter":
        """Wrap a WhatsApp provider (tests pass their own), or take a router as it is."""
        return provider if isinstance(provider, ChannelRouter) else cls(whatsapp=provider)

    @property
    def sms(self):
        if self._sms is None:
            self._sms = sms_provider_get()
        return self._sms

    def provider_for(self, channel: str):
        if channel == Channel.SMS:
            if self.sms is None:
                raise ProviderRejected(_("No SMS gateway is configured."), code="no_sms")
            return self.sms
        return self.whatsapp

    def allows(self, channel: str) -> bool:
        return channel not in self.paused

    def gate(self, now: datetime.datetime) -> tuple[set[str], set[str]]:
        blocked, probing, dirty = channel_gate(now)
        self.dirty = dirty | probing
        self.paused -= {Channel.WHATSAPP, Channel.SMS} - blocked
        return blocked, probing

    def send_message(self, message: Message) -> SendResult:
        channel = message.channel or Channel.WHATSAPP
        reference = f"msg-{message.pk}"
        provider = self.provider_for(channel)
        try:
            if getattr(provider, "uses_templates", False):
                template = cloud_template_call(message, mappings=self.mappings)
                result = provider.send(to=message.phone, body=message.body, reference=reference, template=template)
            else:
                result = provider.send(to=message.phone, body=message.body, reference=reference)
        except ProviderError as exc:
            if exc.channel_fault and channel_failed(channel, error=f"{type(exc).__name__}: {exc}"):
                self.paused.add(channel)
            elif not exc.channel_fault and channel in self.dirty:
                channel_succeeded(channel)  # it answered: the channel works
                self.dirty.discard(channel)
            raise
        if channel in self.dirty:
            channel_succeeded(channel)
            self.dirty.discard(channel)
        return result

    def send(self, *, to: str, body: str, reference: str) -> SendResult:
        """A bare send (the owner's test message): WhatsApp, as text."""
        return self.whatsapp.send(to=to, body=body, reference=reference)

    def lookup_message(self, message: Message) -> Lookup:
        provider = self.provider_for(message.channel or Channel.WHATSAPP)
        try:
            return provider.lookup(reference=f"msg-{message.pk}")
        except ProviderRejected as exc:
            raise ProviderLookupError(str(exc)) from exc

    def lookup(self, *, reference: str) -> Lookup:
        return self.whatsapp.lookup(reference=reference)


def message_send_soon(message_id: int) -> None:
    """Hand one message to the worker (inline in tests), as the outbox does after a queue."""
    async_task("core.tasks.message_send", message_id, group="messages")


# --- Fallback ----------------------------------------------------------------------------------


def fallback_wanted(message: Message, center: CenterSettings) -> bool:
    if message.channel != Channel.WHATSAPP or message.template_key == TemplateKey.TEST:
        return False
    if message.failure == Message.Failure.INTERRUPTED:  # it may have arrived
        return False
    return sms_configured() and (message.is_mandatory or center.sms_fallback_optional)


def message_fallback(*, message_id: int) -> Message | None:
    """Queue the SMS copy of a WhatsApp message that failed for good (at most one, ever).

    Returns the copy, or None when none is wanted. Call it after the failure is recorded."""
    from core.services.messaging import idempotency_key

    with transaction.atomic():
        message = Message.objects.select_for_update().filter(pk=message_id, status=Message.Status.FAILED).first()
        if message is None:
            return None
        center = CenterSettings.load()
        if not fallback_wanted(message, center):
            return None
        event = f"{message.event}:sms"[:200]
        copy = Message(
            guardian_id=message.guardian_id,
            student_id=message.student_id,
            broadcast_id=message.broadcast_id,
            phone=message.phone,
            template_key=message.template_key,
            language=message.language,
            body=message.body,
            params=message.params,
            is_mandatory=message.is_mandatory,
            event=event,
            idempotency_key=idempotency_key(event, message.guardian_id),
            channel=Channel.SMS,
            fallback_for=message,
            status=Message.Status.PENDING,
            next_attempt_at=timezone.now(),
        )
        try:
            with transaction.atomic():
                copy.save(force_insert=True)
        except IntegrityError:
            return Message.objects.filter(fallback_for=message).first()
        logger.info("message %s: WhatsApp failed for good (%s); queued as SMS %s", message.pk, message.failure, copy.pk)
        transaction.on_commit(partial(message_send_soon, copy.pk), robust=True)
    return copy
