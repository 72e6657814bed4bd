"""Sending: claiming due messages, calling the provider, retries, and asking the provider about
messages that may have left ("sent, unconfirmed").

Sending: the state machine
--------------------------
::

    pending / held(due) ──claim──► sending, reserved ──start──► sending, in flight ──► sent
                                        │                              ├─ certain failure ─► pending (+1, 5, 15, 60 min)
                                        │                              │                     └ 5th failure ─► failed
                                        │                              ├─ permanent error ─► failed (rejected)
                                        │                              └─ may have left ──► unknown ("sent, unconfirmed")
                                        └ worker died (10 min) ─► pending     in flight, worker died (5 min) ─► unknown

    unknown ──ask the provider by our reference (after 1, 5, 15, 60 min)──► sent (it has it)
                                                                          ├► pending (it certainly has not: send)
                                                                          ├► failed (it refused the number)
                                                                          └► unknown (no answer: staff decide)

1. *Claim*: one short transaction locks the settings row (so claims serialize and the hourly
   limit is exact even with several workers), picks due rows with ``select_for_update
   (skip_locked=True)`` on PostgreSQL (SQLite serializes writers anyway), applies the rules, and
   marks the survivors ``sending`` with a fresh ``claim_token``. It commits before any provider call.
2. *Start*: just before calling the provider, a conditional UPDATE sets ``attempt_started_at``
   and counts the attempt, but only while the row still carries our token and has not started.
   It commits on its own, so exactly one process can ever pass this point for a claim.
3. *Call* the provider with no transaction and no lock open, then record the outcome with an
   UPDATE conditioned on our token.

No event is ever sent twice (R10), retries included: a message is sent again automatically only
when it certainly did not leave: the connection could not be made, or the provider answered with
an error. When the request went out and no clear answer came back (no reply within the timeout,
the connection lost while waiting, a reply that cannot be read) the message may have reached the
parent: it becomes ``unknown`` ("sent, unconfirmed"). Every provider call carries our reference
``msg-<id>`` (UltraMsg's ``referenceId``), so the next runs ask the provider for it
(``messages_verify_unknown``), never at once (the provider may still be writing it down): it
has it → ``sent`` with its id; it certainly has not → sent again; no answer → asked again later,
and after the last check the message stays ``unknown`` for staff, who mark it sent or send it
again knowing it may arrive twice (both audited).

A worker killed (or a django-q2 task retried) at any point cannot send twice: a message that was
reserved but never started goes back to ``pending`` after ``RESERVATION_STALE_AFTER`` (nothing
left the building); a message whose call had started is settled as ``unknown`` after
``IN_FLIGHT_STALE_AFTER`` and the provider is asked about it as above. A retried task finds the
row ``sending`` and leaves it alone.
"""

import dataclasses
import datetime
import logging
import time
import uuid
from collections.abc import Iterable
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from core.models import CenterSettings, Channel, Message
from core.providers.whatsapp import (
    LookupState,
    ProviderError,
    ProviderLookupError,
    SendResult,
    WhatsAppProvider,
    provider_get,  # noqa: F401 (tests and scripts reach the provider here)
)
from core.services.channels import ChannelRouter, channel_probe_unused, message_cost, message_fallback
from core.services.messaging.rules import _rate_limit_split, quiet_hours_active, quiet_hours_end

logger = logging.getLogger(__name__)

RETRY_DELAYS = tuple(datetime.timedelta(minutes=minutes) for minutes in (1, 5, 15, 60))
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
# When an unconfirmed message is asked about (after it became unknown, then after each check
# that got no answer). Never at once: the provider may still be writing the message down.
CHECK_DELAYS = RETRY_DELAYS
MAX_CHECKS = len(CHECK_DELAYS)
CLAIM_BATCH = 50
# A run stops starting new sends after this long, well inside django-q2's 240 s task timeout.
RUN_TIME_BUDGET_SECONDS = 120
# Longer than any run (budget + one provider timeout) and than django-q2's retry delay.
RESERVATION_STALE_AFTER = datetime.timedelta(minutes=10)
IN_FLIGHT_STALE_AFTER = datetime.timedelta(minutes=5)

_DUE_STATES = (Message.Status.PENDING, Message.Status.HELD)


@dataclasses.dataclass
class SendReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    skipped: int = 0  # claimed by us but taken over meanwhile (only after a stall)
    unknown: int = 0  # may have left: held as "sent, unconfirmed", never resent by itself

    @property
    def attempted(self) -> int:
        return self.sent + self.retrying + self.failed + self.unknown


def _lock_due(queryset: QuerySet) -> QuerySet:
    if connection.features.has_select_for_update_skip_locked:
        return queryset.select_for_update(skip_locked=True)
    return queryset.select_for_update()


def _center_locked() -> CenterSettings:
    center = CenterSettings.objects.select_for_update().filter(pk=1).first()
    if center is None:
        CenterSettings.load()
        center = CenterSettings.objects.select_for_update().get(pk=1)
    return center


def _claim(
    *, limit: int, message_id: int | None = None, router: ChannelRouter | None = None
) -> tuple[uuid.UUID, list[Message], CenterSettings]:
    """Step 1: reserve due messages for this worker, applying the rules. Commits before returning.

    A channel whose circuit breaker is open is left alone (its messages wait, no attempt used);
    one whose cooling period is over gets one probe message (core/services/channels.py)."""
    token = uuid.uuid4()
    router = router or ChannelRouter()
    with transaction.atomic():
        center = _center_locked()
        now = timezone.now()
        due = Message.objects.filter(status__in=_DUE_STATES, next_attempt_at__lte=now)
        if message_id is not None:
            due = due.filter(pk=message_id)
        if not center.messaging_enabled:
            due.exclude(hold_reason=Message.HoldReason.DISABLED).update(
                status=Message.Status.HELD, hold_reason=Message.HoldReason.DISABLED
            )
            return token, [], center
        if quiet_hours_active(now, center):
            due.filter(is_mandatory=False).update(
                status=Message.Status.HELD,
                hold_reason=Message.HoldReason.QUIET_HOURS,
                next_attempt_at=quiet_hours_end(now, center),
            )
            due = due.filter(is_mandatory=True)
        blocked, probing = router.gate(now)
        order = ("-is_mandatory", "next_attempt_at", "id")
        open_channels = due.exclude(channel__in=blocked | probing) if blocked or probing else due
        candidates = list(_lock_due(open_channels.order_by(*order))[:limit])
        for channel in probing:
            probe = list(_lock_due(due.filter(channel=channel).order_by(*order))[:1])
            candidates += probe
            if not probe:
                channel_probe_unused(channel)
        allowed, held = _rate_limit_split(candidates, now=now, limit=center.messages_per_guardian_per_hour)
        for until, ids in held.items():
            Message.objects.filter(pk__in=ids).update(
                status=Message.Status.HELD, hold_reason=Message.HoldReason.RATE_LIMIT, next_attempt_at=until
            )
        if allowed:
            Message.objects.filter(pk__in=[message.pk for message in allowed]).update(
                status=Message.Status.SENDING,
                hold_reason="",
                claim_token=token,
                claimed_at=now,
                attempt_started_at=None,
            )
    return token, allowed, center


def _release(messages: Iterable[Message], token: uuid.UUID) -> None:
    """Give back reservations this run will not start (they never reached the provider)."""
    Message.objects.filter(
        pk__in=[message.pk for message in messages], claim_token=token, attempt_started_at__isnull=True
    ).update(status=Message.Status.PENDING, claim_token=None)


def _start(message: Message, token: uuid.UUID) -> bool:
    """Step 2: mark the attempt started, only while the claim is still ours and unstarted."""
    started = Message.objects.filter(
        pk=message.pk, claim_token=token, status=Message.Status.SENDING, attempt_started_at__isnull=True
    ).update(attempt_started_at=timezone.now(), attempts=F("attempts") + 1)
    if not started:
        logger.warning("message %s was taken over before sending; not sending it", message.pk)
    return bool(started)


@dataclasses.dataclass(frozen=True)
class _Outcome:
    label: str  # sent, retrying or failed
    fields: dict


def _attempt(message: Message, *, provider: WhatsAppProvider, cost: Decimal, retries: bool = True) -> _Outcome:
    """Step 3: call the provider (no transaction open) and work out what to record.

    The router sends by the message's channel and counts channel faults for its breaker."""
    attempts = message.attempts + 1
    try:
        result: SendResult = ChannelRouter.of(provider).send_message(message)
    except ProviderError as exc:
        error = f"{type(exc).__name__}: {exc}"[:255]
        if exc.may_have_left:
            logger.warning("message %s attempt %s: %s; it may have left, held as unknown", message.pk, attempts, error)
            fields = _unknown_fields(error=error, response=exc.response, check_at=timezone.now() + CHECK_DELAYS[0])
            return _Outcome("unknown", fields)
        if exc.temporary and retries and attempts < MAX_ATTEMPTS:
            logger.info("message %s attempt %s failed (%s); retrying", message.pk, attempts, error)
            return _Outcome(
                "retrying",
                {
                    "status": Message.Status.PENDING,
                    "next_attempt_at": timezone.now() + RETRY_DELAYS[attempts - 1],
                    "claim_token": None,
                    "attempt_started_at": None,
                    "last_error": error,
                    "provider_response": exc.response,
                },
            )
        logger.warning("message %s failed for good after %s attempt(s): %s", message.pk, attempts, error)
        failure = Message.Failure.RETRIES_EXHAUSTED if exc.temporary else Message.Failure.REJECTED
        if exc.not_on_channel and message.channel == Channel.WHATSAPP:
            failure = Message.Failure.NOT_ON_WHATSAPP
        return _Outcome(
            "failed",
            {
                "status": Message.Status.FAILED,
                "failure": failure,
                "last_error": error,
                "provider_response": exc.response,
            },
        )
    return _Outcome(
        "sent",
        {
            "status": Message.Status.SENT,
            "sent_at": timezone.now(),
            "provider_id": result.provider_id,
            "provider_response": result.response,
            "cost": cost,
            "failure": "",
            "last_error": "",
        },
    )


def _unknown_fields(*, error: str, response: str, check_at: datetime.datetime) -> dict:
    """A message that may have left: no new send; the provider is asked about it at ``check_at``."""
    return {
        "status": Message.Status.UNKNOWN,
        "failure": "",
        "checks": 0,
        "next_attempt_at": check_at,
        "claim_token": None,
        "last_error": error[:255],
        "provider_response": response,
    }


def _record(message: Message, outcome: _Outcome, *, token: uuid.UUID) -> None:
    """Write an attempt's outcome, conditioned on our claim; a WhatsApp message that failed for
    good gets its SMS fallback (at most one, see core/services/channels.py)."""
    if not Message.objects.filter(pk=message.pk, claim_token=token).update(**outcome.fields):
        logger.error("message %s: claim taken over meanwhile; outcome %s not recorded", message.pk, outcome.label)
    elif outcome.label == "failed" and message.channel == Channel.WHATSAPP:
        message_fallback(message_id=message.pk)


def _deliver(
    message: Message, *, token: uuid.UUID, provider: WhatsAppProvider, cost: Decimal, retries: bool = True
) -> str:
    """Steps 2 and 3 for one reserved message. Returns sent, retrying, failed or skipped."""
    if not _start(message, token):
        return "skipped"
    outcome = _attempt(message, provider=provider, cost=cost, retries=retries)
    _record(message, outcome, token=token)
    return outcome.label


def messages_recover_stale() -> tuple[int, int]:
    """Settle rows left ``sending`` by a worker that died: (returned to pending, held as unknown).

    A reserved row whose call never started goes back to pending: nothing left. A row whose call
    had started may have reached the provider (the worker may have died after its answer, before
    writing it): it becomes unknown and the provider is asked about it at the next run."""
    now = timezone.now()
    released = Message.objects.filter(
        status=Message.Status.SENDING, attempt_started_at__isnull=True, claimed_at__lt=now - RESERVATION_STALE_AFTER
    ).update(status=Message.Status.PENDING, claim_token=None)
    interrupted = Message.objects.filter(
        status=Message.Status.SENDING, attempt_started_at__lt=now - IN_FLIGHT_STALE_AFTER
    ).update(
        # Asked at once: the call started minutes ago, long enough for the provider to know it.
        **_unknown_fields(
            error=_("The worker stopped during the send; it may have been delivered."), response="", check_at=now
        ),
    )
    if released or interrupted:
        logger.warning("stale messages: %s returned to pending, %s held as unknown", released, interrupted)
    return released, interrupted


@dataclasses.dataclass
class CheckReport:
    delivered: int = 0
    resend: int = 0
    rejected: int = 0
    still_unknown: int = 0


def _check_fields(message: Message, state: LookupState, *, provider_id: str, response: str, cost: Decimal) -> dict:
    now = timezone.now()
    if state is LookupState.DELIVERED:
        return {
            "status": Message.Status.SENT,
            "sent_at": now,
            "provider_id": provider_id or message.provider_id,
            "provider_response": response,
            "cost": cost,
            "failure": "",
            "last_error": "",
        }
    if state is LookupState.REJECTED:
        return {
            "status": Message.Status.FAILED,
            "failure": Message.Failure.REJECTED,
            "provider_id": provider_id,
            "provider_response": response,
        }
    # Certainly not at the provider: an ordinary retry (the same reference), or failed if the
    # attempts are used up; failed here means "never left", so a staff retry cannot double it.
    if message.attempts >= MAX_ATTEMPTS:
        return {"status": Message.Status.FAILED, "failure": Message.Failure.RETRIES_EXHAUSTED}
    return {"status": Message.Status.PENDING, "next_attempt_at": now, "attempt_started_at": None, "claim_token": None}


def messages_verify_unknown(*, provider: WhatsAppProvider | None = None, limit: int = CLAIM_BATCH) -> CheckReport:
    """Ask the provider about unconfirmed messages that are due for a check (see the module doc).

    Each check is taken with a conditional UPDATE (the status and the check count it read), so
    two workers never ask about the same message twice nor overwrite each other's answer."""
    router = ChannelRouter.of(provider) if provider else ChannelRouter()
    report = CheckReport()
    now = timezone.now()
    due = list(
        Message.objects.filter(status=Message.Status.UNKNOWN, checks__lt=MAX_CHECKS, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "id")
        .only("pk", "checks", "attempts", "provider_id", "channel", "body")[:limit]
    )
    if not due:
        return report
    center = CenterSettings.load()
    for message in due:
        checks = message.checks + 1
        later = now + CHECK_DELAYS[checks] if checks < MAX_CHECKS else now
        taken = Message.objects.filter(pk=message.pk, status=Message.Status.UNKNOWN, checks=message.checks).update(
            checks=checks, next_attempt_at=later
        )
        if not taken:
            continue
        try:
            found = router.lookup_message(message)
        except ProviderLookupError as exc:
            report.still_unknown += 1
            error = _("The provider could not say whether it has the message (%(error)s).") % {"error": exc}
            Message.objects.filter(pk=message.pk, status=Message.Status.UNKNOWN, checks=checks).update(
                last_error=error[:255]
            )
            logger.warning("message %s: check %s got no answer: %s", message.pk, checks, exc)
            continue
        cost = message_cost(message, center)
        fields = _check_fields(message, found.state, provider_id=found.provider_id, response=found.response, cost=cost)
        updated = Message.objects.filter(pk=message.pk, status=Message.Status.UNKNOWN, checks=checks).update(**fields)
        if updated and fields["status"] == Message.Status.FAILED and message.channel == Channel.WHATSAPP:
            message_fallback(message_id=message.pk)
        if found.state is LookupState.DELIVERED:
            report.delivered += 1
        elif found.state is LookupState.REJECTED:
            report.rejected += 1
        else:
            report.resend += 1
        logger.info("message %s: the provider says %s", message.pk, found.state.value)
    return report


def messages_send_due(
    *,
    provider: WhatsAppProvider | None = None,
    batch_size: int = CLAIM_BATCH,
    time_budget_seconds: float = RUN_TIME_BUDGET_SECONDS,
) -> SendReport:
    """Send every due message (the every-minute job), within a time budget. Returns the counts."""
    router = ChannelRouter.of(provider) if provider else ChannelRouter()
    report = SendReport()
    messages_recover_stale()
    messages_verify_unknown(provider=router)
    deadline = time.monotonic() + time_budget_seconds
    while time.monotonic() < deadline:
        token, batch, center = _claim(limit=batch_size, router=router)
        if not batch:
            break
        # Each outcome is written in the same commit as the next message's start: one commit
        # per message instead of two. A crash in between leaves the previous message in flight
        # (settled as interrupted) and the next one unstarted (returned to pending).
        unrecorded: tuple[Message, _Outcome] | None = None
        for index, message in enumerate(batch):
            if time.monotonic() >= deadline:
                _release(batch[index:], token)
                break
            if not router.allows(message.channel):
                # Its channel was paused by a failure earlier in this batch: it waits, unattempted.
                _release([message], token)
                report.skipped += 1
                continue
            with transaction.atomic():
                if unrecorded is not None:
                    _record(*unrecorded, token=token)
                    unrecorded = None
                started = _start(message, token)
            if not started:
                report.skipped += 1
                continue
            outcome = _attempt(message, provider=router, cost=message_cost(message, center))
            unrecorded = (message, outcome)
            setattr(report, outcome.label, getattr(report, outcome.label) + 1)
        if unrecorded is not None:
            _record(*unrecorded, token=token)
    if report.attempted:
        logger.info(
            "messages: %s sent, %s retrying, %s failed, %s unconfirmed",
            report.sent,
            report.retrying,
            report.failed,
            report.unknown,
        )
    return report


def message_send(*, message_id: int, provider: WhatsAppProvider | None = None) -> str | None:
    """Send one message now if it is due and the rules allow (the on-commit task)."""
    router = ChannelRouter.of(provider) if provider else ChannelRouter()
    token, batch, center = _claim(limit=1, message_id=message_id, router=router)
    if not batch:
        return None
    return _deliver(batch[0], token=token, provider=router, cost=message_cost(batch[0], center))
