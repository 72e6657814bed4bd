"""Messages to guardians (SPEC.md R10): queueing, the rules, sending, retries, broadcasts.

Queueing
--------
``message_queue(event=, guardian=, template=, context=)`` is called by the door, money and
session services inside their own transaction. The idempotency key is sha256(event, guardian),
unique in the database, and the insert runs in a savepoint: the same event queued twice (also by
two processes at once) leaves exactly one row. After the caller commits, the message is handed to
the worker at once (``transaction.on_commit`` → django-q2); the every-minute schedule sends
whatever that missed.

The rules, applied when queued and again when claimed for sending
-----------------------------------------------------------------
- messaging disabled → ``held`` (nothing is sent; the messages go out once it is enabled);
- optional kinds respect the guardian's opt-outs (nothing is queued); mandatory ones do not;
- quiet hours hold optional messages until the quiet hours end (Cairo time);
- the hourly limit per guardian holds a message until the hour frees a slot, never drops it.
  It counts every kind (mandatory ones too) so a fault can never flood a parent; 0 means no limit.

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
import hashlib
import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from functools import partial

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django_q.tasks import async_task

from core.db import rows_insert
from core.models import (
    AuditLog,
    Broadcast,
    CenterSettings,
    Enrollment,
    Gender,
    Guardian,
    Message,
    MessageTemplate,
    Student,
    StudentGuardian,
    TemplateKey,
)
from core.models.messaging import placeholders_allowed, template_text_check, template_text_render
from core.normalize import phone_e164
from core.providers.whatsapp import (
    LookupState,
    ProviderError,
    ProviderLookupError,
    SendResult,
    WhatsAppProvider,
    provider_get,
)
from core.services.audit import audit_record

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
RATE_WINDOW = datetime.timedelta(hours=1)
CLEANUP_AFTER_DAYS = 180
CLEANUP_CHUNK = 1000

_DUE_STATES = (Message.Status.PENDING, Message.Status.HELD)


class MessageContextError(ValueError):
    """A caller left out a placeholder its template kind declares: a bug in the caller."""


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


@dataclasses.dataclass(frozen=True)
class _Source:
    """What a message is rendered from: a stored template or a broadcast's free text."""

    key: str
    text_ar: str
    text_en: str
    is_mandatory: bool
    opt_out_kind: str

    @classmethod
    def of(cls, template: MessageTemplate) -> "_Source":
        return cls(template.key, template.text_ar, template.text_en, template.is_mandatory, template.opt_out_kind)

    def text_for(self, language: str) -> str:
        return self.text_en if language == "en" and self.text_en.strip() else self.text_ar


# --- Time rules -----------------------------------------------------------------------------


def _cairo(moment: datetime.datetime) -> datetime.datetime:
    return timezone.localtime(moment, timezone.get_default_timezone())


def quiet_hours_active(moment: datetime.datetime, center: CenterSettings) -> bool:
    """Whether a Cairo wall-clock moment falls in the quiet hours (which may cross midnight)."""
    start, end = center.quiet_hours_start, center.quiet_hours_end
    if start == end:
        return False
    now = _cairo(moment).time()
    return start <= now < end if start < end else (now >= start or now < end)


def quiet_hours_end(moment: datetime.datetime, center: CenterSettings) -> datetime.datetime:
    """The next time the quiet hours end after ``moment`` (Cairo wall clock, summer time aware)."""
    local = _cairo(moment)
    day = local.date() if local.time() < center.quiet_hours_end else local.date() + datetime.timedelta(days=1)
    return timezone.make_aware(datetime.datetime.combine(day, center.quiet_hours_end), timezone.get_default_timezone())


# --- Queueing --------------------------------------------------------------------------------


def idempotency_key(event: str, guardian_id: int | None) -> str:
    return hashlib.sha256(f"{event}\x00{guardian_id}".encode()).hexdigest()


def _center_name(center: CenterSettings, language: str) -> str:
    if language == "en" and center.center_name_en:
        return center.center_name_en
    return center.center_name_ar


def _initial_state(*, mandatory: bool, center: CenterSettings, now: datetime.datetime) -> dict:
    if not center.messaging_enabled:
        return {"status": Message.Status.HELD, "hold_reason": Message.HoldReason.DISABLED, "next_attempt_at": now}
    if not mandatory and quiet_hours_active(now, center):
        return {
            "status": Message.Status.HELD,
            "hold_reason": Message.HoldReason.QUIET_HOURS,
            "next_attempt_at": quiet_hours_end(now, center),
        }
    return {"status": Message.Status.PENDING, "hold_reason": "", "next_attempt_at": now}


def gender_words(gender: str, language: str) -> dict[str, str]:
    """The words of a message that agree with the student's gender, in the guardian's language."""
    with translation.override(language):
        if gender == Gender.FEMALE:
            return {"child": pgettext("message", "your daughter"), "attended": pgettext("message, she", "attended")}
        return {"child": pgettext("message", "your son"), "attended": pgettext("message, he", "attended")}


def _message_build(
    *,
    event: str,
    guardian: Guardian,
    source: _Source,
    context: dict,
    center: CenterSettings,
    student: Student | None = None,
    broadcast: Broadcast | None = None,
) -> Message | None:
    """Render one message, unsaved; None when the guardian opted out or the stored text is broken."""
    if not source.is_mandatory and source.opt_out_kind in (guardian.message_opt_outs or []):
        return None
    language = guardian.language or "ar"
    values = {"center_name": _center_name(center, language), "guardian_name": guardian.full_name or ""}
    if student is not None:
        values["student_name"] = student.full_name
    values.update(gender_words(getattr(student, "gender", Gender.MALE), language))
    values.update(context)
    missing = sorted(set(placeholders_allowed(source.key)) - values.keys())
    if missing:
        raise MessageContextError(f"message {source.key!r} needs context {missing}")
    try:
        body = template_text_render(source.text_for(language), values)
    except ValidationError:
        # Saved texts are checked; this only happens when a text was changed behind the admin.
        logger.error("message template %s has a broken text; nothing queued for %s", source.key, event)
        return None
    return Message(
        guardian=guardian,
        student=student,
        broadcast=broadcast,
        phone=guardian.phone,
        template_key=source.key,
        language=language,
        body=body,
        is_mandatory=source.is_mandatory,
        event=event[:200],
        idempotency_key=idempotency_key(event, guardian.pk),
        **_initial_state(mandatory=source.is_mandatory, center=center, now=timezone.now()),
    )


def _message_create(**build) -> tuple[Message | None, bool]:
    """Render (``_message_build``'s arguments) and insert one message: (message, created).
    (None, False) when the guardian opted out or the stored text is broken. A repeat of the event
    finds the first row through the unique key (no read before the insert: one INSERT)."""
    message = _message_build(**build)
    if message is None:
        return None, False
    try:
        # A savepoint, so a repeat (or two processes queueing one event at once) leaves the
        # caller's transaction usable.
        with transaction.atomic():
            message.save(force_insert=True)
            return message, True
    except IntegrityError:
        return Message.objects.get(idempotency_key=message.idempotency_key), False


@dataclasses.dataclass(frozen=True)
class _SourceCache:
    stamp: tuple | None = None
    sources: dict[str, "_Source"] = dataclasses.field(default_factory=dict)
    known: frozenset[str] = frozenset()


class _Templates:
    # This process's copy of the templates, for the door (see message_sources); replaced whole,
    # so a thread of the same worker never sees one stamp with another's texts.
    cached = _SourceCache()


def message_sources(keys: Iterable[str], *, stamp: tuple | None = None) -> dict[str, _Source]:
    """The active templates among ``keys`` (for ``messages_queue_to_guardians``).

    ``stamp`` is the templates' (latest ``updated_at``, count) that the caller read in its own
    query (the door's read does): while it is unchanged the templates come from this process's
    memory, with no query; any edit or deletion in the admin changes it. Without a stamp: one query.
    """
    keys = set(keys)
    cached = _Templates.cached
    if stamp is not None and stamp == cached.stamp:
        sources, known = cached.sources, cached.known
    else:
        templates = MessageTemplate.objects.all() if stamp is not None else MessageTemplate.objects.filter(key__in=keys)
        templates = list(templates)
        sources = {template.key: _Source.of(template) for template in templates if template.is_active}
        known = frozenset(template.key for template in templates)
        if stamp is not None:
            _Templates.cached = _SourceCache(stamp=stamp, sources=sources, known=known)
    for key in sorted(keys - known):
        logger.error("message template %s does not exist; nothing is queued with it", key)
    return {key: sources[key] for key in keys if key in sources}


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


# --- Sending ---------------------------------------------------------------------------------


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


def _rate_limit_split(
    candidates: list[Message], *, now: datetime.datetime, limit: int
) -> tuple[list[Message], dict[datetime.datetime, list[int]]]:
    """Split candidates into those within each guardian's hourly limit and those to hold (until when)."""
    if limit <= 0:
        return candidates, {}
    guardian_ids = {message.guardian_id for message in candidates if message.guardian_id}
    recent: dict[int, list[datetime.datetime]] = defaultdict(list)
    if guardian_ids:
        rows = (
            Message.objects.filter(
                guardian_id__in=guardian_ids,
                status__in=(Message.Status.SENDING, Message.Status.SENT, Message.Status.UNKNOWN),
                claimed_at__gt=now - RATE_WINDOW,
            )
            .order_by("claimed_at")
            .values_list("guardian_id", "claimed_at")
        )
        for guardian_id, claimed_at in rows:
            recent[guardian_id].append(claimed_at)
    allowed, held = [], defaultdict(list)
    for message in candidates:
        if message.guardian_id is None:
            allowed.append(message)
            continue
        times = recent[message.guardian_id]
        if len(times) < limit:
            times.append(now)
            allowed.append(message)
        else:
            # The slot frees when the oldest send that keeps the guardian at the limit ages out.
            held[times[len(times) - limit] + RATE_WINDOW].append(message.pk)
    return allowed, held


def _claim(*, limit: int, message_id: int | None = None) -> tuple[uuid.UUID, list[Message], CenterSettings]:
    """Step 1: reserve due messages for this worker, applying the rules. Commits before returning."""
    token = uuid.uuid4()
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
        candidates = list(_lock_due(due.order_by("-is_mandatory", "next_attempt_at", "id"))[:limit])
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
    """Step 3: call the provider (no transaction open) and work out what to record."""
    attempts = message.attempts + 1
    try:
        result: SendResult = provider.send(to=message.phone, body=message.body, reference=f"msg-{message.pk}")
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
    """Write an attempt's outcome, conditioned on our claim."""
    if not Message.objects.filter(pk=message.pk, claim_token=token).update(**outcome.fields):
        logger.error("message %s: claim taken over meanwhile; outcome %s not recorded", message.pk, outcome.label)


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
    provider = provider or provider_get()
    report = CheckReport()
    now = timezone.now()
    due = list(
        Message.objects.filter(status=Message.Status.UNKNOWN, checks__lt=MAX_CHECKS, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "id")
        .only("pk", "checks", "attempts", "provider_id")[:limit]
    )
    if not due:
        return report
    cost = CenterSettings.load().cost_per_message
    for message in due:
        checks = message.checks + 1
        later = now + CHECK_DELAYS[checks] if checks < MAX_CHECKS else now
        taken = Message.objects.filter(pk=message.pk, status=Message.Status.UNKNOWN, checks=message.checks).update(
            checks=checks, next_attempt_at=later
        )
        if not taken:
            continue
        try:
            found = provider.lookup(reference=f"msg-{message.pk}")
        except ProviderLookupError as exc:
            report.still_unknown += 1
            error = _("The provider could not say whether it has the message (%(error)s).") % {"error": exc}
            Message.objects.filter(pk=message.pk, status=Message.Status.UNKNOWN, checks=checks).update(
                last_error=error[:255]
            )
            logger.warning("message %s: check %s got no answer: %s", message.pk, checks, exc)
            continue
        fields = _check_fields(message, found.state, provider_id=found.provider_id, response=found.response, cost=cost)
        Message.objects.filter(pk=message.pk, status=Message.Status.UNKNOWN, checks=checks).update(**fields)
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
    provider = provider or provider_get()
    report = SendReport()
    messages_recover_stale()
    messages_verify_unknown(provider=provider)
    deadline = time.monotonic() + time_budget_seconds
    while time.monotonic() < deadline:
        token, batch, center = _claim(limit=batch_size)
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
            with transaction.atomic():
                if unrecorded is not None:
                    _record(*unrecorded, token=token)
                    unrecorded = None
                started = _start(message, token)
            if not started:
                report.skipped += 1
                continue
            outcome = _attempt(message, provider=provider, cost=center.cost_per_message)
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
    token, batch, center = _claim(limit=1, message_id=message_id)
    if not batch:
        return None
    return _deliver(batch[0], token=token, provider=provider or provider_get(), cost=center.cost_per_message)


# --- Staff actions ---------------------------------------------------------------------------


def messages_retry(*, actor, messages: QuerySet) -> int:
    """Queue failed messages again with a fresh retry schedule; returns how many.

    Only messages that certainly never reached the parent: not "sent, unconfirmed" ones (see
    ``messages_send_again``), nor old rows interrupted mid-send."""
    with transaction.atomic():
        ids = list(messages.values_list("pk", flat=True))
        failed = list(
            Message.objects.select_for_update()
            .filter(pk__in=ids, status=Message.Status.FAILED)
            .exclude(failure=Message.Failure.INTERRUPTED)
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


# --- Broadcasts ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Audience:
    """Who a broadcast reaches: the guardians of the students of these active enrollments.

    The money issue adds debtors by building an Audience from the enrollments that owe.
    """

    label: str
    enrollments: QuerySet

    @classmethod
    def of(cls, *, group=None, teacher=None) -> "Audience":
        enrollments = Enrollment.objects.filter(is_active=True, student__is_active=True, group__is_active=True)
        if group is not None:
            return cls(label=_("Group %(group)s") % {"group": group}, enrollments=enrollments.filter(group=group))
        if teacher is not None:
            return cls(
                label=_("Groups of %(teacher)s") % {"teacher": teacher},
                enrollments=enrollments.filter(group__teacher=teacher),
            )
        raise ValidationError(_("Choose a group or a teacher."))

    @classmethod
    def debtors(cls, *, branch_ids: list[int] | None = None) -> "Audience":
        """Students who owe on an active enrollment (R10 "debtors"), in these branches (None: all)."""
        from core.selectors.money import enrollments_with_balance

        active = Enrollment.objects.filter(is_active=True, student__is_active=True, group__is_active=True)
        if branch_ids is not None:
            active = active.filter(group__branch__in=branch_ids)
        owing = enrollments_with_balance(active).filter(owed__gt=0).values("pk")
        return cls(label=_("Guardians of students who owe"), enrollments=Enrollment.objects.filter(pk__in=owing))


@dataclasses.dataclass
class Recipient:
    guardian: Guardian
    students: list[Student]
    group_names: list[str]

    def context(self) -> dict:
        separator = ", " if self.guardian.language == "en" else "، "
        return {
            "student_name": separator.join(student.full_name for student in self.students),
            "group_name": separator.join(self.group_names),
        }


def broadcast_recipients(audience: Audience) -> list[Recipient]:
    """One entry per guardian (siblings share one message), in a stable order."""
    rows = audience.enrollments.order_by("student_id", "group__name").values_list("student_id", "group__name")
    groups_of: dict[int, list[str]] = defaultdict(list)
    for student_id, group_name in rows:
        if group_name not in groups_of[student_id]:
            groups_of[student_id].append(group_name)
    links = (
        StudentGuardian.objects.filter(student_id__in=list(groups_of))
        .select_related("guardian", "student")
        .order_by("guardian_id", "student_id")
    )
    recipients: dict[int, Recipient] = {}
    for link in links:
        recipient = recipients.setdefault(link.guardian_id, Recipient(link.guardian, [], []))
        recipient.students.append(link.student)
        for name in groups_of[link.student_id]:
            if name not in recipient.group_names:
                recipient.group_names.append(name)
    return list(recipients.values())


def _broadcast_source(template: MessageTemplate | None, text: str) -> _Source:
    if template is not None:
        if not template.is_active:
            raise ValidationError(_("This template is not active."))
        if set(placeholders_allowed(template.key)) - set(placeholders_allowed(TemplateKey.BROADCAST)):
            raise ValidationError(_("This template needs details a broadcast does not have; choose another."))
        return _Source.of(template)
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": _("Choose a template or write the text.")})
    try:
        template_text_check(text, TemplateKey.BROADCAST)
    except ValidationError as exc:
        raise ValidationError({"text": exc.messages}) from exc
    return _Source(TemplateKey.BROADCAST, text, text, False, TemplateKey.BROADCAST)


@dataclasses.dataclass(frozen=True)
class BroadcastPreview:
    recipients: int
    first_phone: str
    first_body: str


def broadcast_preview(
    *, audience: Audience, template: MessageTemplate | None = None, text: str = ""
) -> BroadcastPreview:
    """How many guardians a broadcast reaches and the first message exactly as it will read."""
    source = _broadcast_source(template, text)
    recipients = broadcast_recipients(audience)
    if not recipients:
        return BroadcastPreview(0, "", "")
    first = recipients[0]
    language = first.guardian.language or "ar"
    center = CenterSettings.load()
    values = {
        "center_name": _center_name(center, language),
        "guardian_name": first.guardian.full_name or "",
        **first.context(),
    }
    return BroadcastPreview(
        len(recipients), first.guardian.phone, template_text_render(source.text_for(language), values)
    )


def broadcast_send(*, actor, audience: Audience, template: MessageTemplate | None = None, text: str = "") -> Broadcast:
    """Queue one message per guardian of the audience (event ``broadcast:<id>``), in one transaction."""
    if actor is not None and not actor.has_perm("core.broadcast_message"):
        raise PermissionDenied(_("You may not send broadcasts."))
    source = _broadcast_source(template, text)
    recipients = broadcast_recipients(audience)
    if not recipients:
        raise ValidationError(_("Nobody to send to: the chosen students have no guardians."))
    with transaction.atomic():
        center = CenterSettings.load()
        broadcast = Broadcast.objects.create(
            created_by=actor if getattr(actor, "pk", None) else None,
            audience=str(audience.label)[:200],
            template=template,
            text=source.text_ar,
        )
        queued = 0
        for recipient in recipients:
            _message, created = _message_create(
                event=f"broadcast:{broadcast.pk}",
                guardian=recipient.guardian,
                source=source,
                context=recipient.context(),
                center=center,
                student=recipient.students[0] if len(recipient.students) == 1 else None,
                broadcast=broadcast,
            )
            queued += created
        broadcast.recipients = queued
        broadcast.save(update_fields=["recipients"])
        audit_record(
            actor=actor,
            action=AuditLog.Action.CREATE,
            instance=broadcast,
            changes={"recipients": [None, queued], "audience": [None, broadcast.audience]},
        )
        transaction.on_commit(_send_soon, robust=True)
    return broadcast
