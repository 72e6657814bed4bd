"""WhatsApp providers behind one small interface: ``send(to=, body=, reference=) -> SendResult``
and ``lookup(reference=) -> Lookup`` (did a message with our reference reach the provider?).

- ``UltraMsgProvider`` posts ``{token, to, body, referenceId}`` as UTF-8 JSON to
  ``{base}/{instance}/messages/chat`` and succeeds only when the reply says ``"sent": "true"``.
  ``lookup`` asks its messages list, ``GET {base}/{instance}/messages?token=…&referenceId=…``
  (each entry carries the ``referenceId`` it was sent with, and its status: ``sent``, ``queue``,
  ``unsent``, ``invalid``, ``expired``).
- ``ConsoleProvider`` logs the message instead: the default in development and tests, so nothing
  reaches a network unless ``WHATSAPP_PROVIDER=ultramsg`` is configured. It cannot be asked.

Errors are typed. ``ProviderError.temporary`` tells the outbox whether a later attempt may work
(timeouts, 5xx, 429, garbled replies) or not (a recipient the provider refuses, other 4xx).
``ProviderError.may_have_left`` tells it whether the message may have gone out all the same: the
request was sent and no clear answer came back (no reply within the timeout, the connection cut
while waiting for the reply, a 200 whose body cannot be read). Those are never simply resent.
A connection that could not be made (refused, DNS) and an error answer are certain: not sent.
"""

import enum
import json
import logging
import uuid
from dataclasses import dataclass
from typing import Protocol

import requests
import urllib3
from django.conf import settings

logger = logging.getLogger(__name__)

RESPONSE_KEEP_CHARS = 2000


@dataclass(frozen=True)
class SendResult:
    provider_id: str
    response: str


class ProviderError(Exception):
    """A send that did not succeed. ``response`` keeps what the provider said, for the outbox."""

    temporary = True
    may_have_left = False
    # The recipient cannot be reached on this channel at all (not on WhatsApp): another channel may.
    not_on_channel = False

    def __init__(self, message: str, *, response: str = ""):
        super().__init__(message)
        self.response = response[:RESPONSE_KEEP_CHARS]

    @property
    def channel_fault(self) -> bool:
        """Whether this failure says the channel itself is in trouble (the circuit breaker counts
        it): a provider that cannot be reached or keeps failing, not one that refused a recipient."""
        return self.temporary


class ProviderUnavailable(ProviderError):
    """No connection could be made: the message certainly did not leave."""


class ProviderTimeout(ProviderError):
    """No reply within the timeout, after the request was sent: the message may have left."""

    may_have_left = True


class ProviderCutOff(ProviderError):
    """The connection broke after the request was sent, before the reply: it may have left."""

    may_have_left = True


class ProviderHTTPError(ProviderError):
    def __init__(self, message: str, *, status_code: int, response: str = ""):
        super().__init__(message, response=response)
        self.status_code = status_code
        # Server trouble and throttling pass; other client errors repeat on every attempt.
        self.temporary = status_code >= 500 or status_code in {408, 429}


class ProviderBadReply(ProviderError):
    """A 200 reply that is not the JSON the provider documents: it may have taken the message."""

    may_have_left = True


class ProviderRejected(ProviderError):
    """The provider refused this message for good (e.g. the number is not on WhatsApp)."""

    temporary = False

    def __init__(self, message: str, *, response: str = "", not_on_channel: bool = False, code: str = ""):
        super().__init__(message, response=response)
        self.not_on_channel = not_on_channel
        self.code = code


class ProviderLookupError(Exception):
    """The provider could not be asked (or gave no usable answer): we still do not know."""


class LookupState(enum.Enum):
    DELIVERED = "delivered"  # it has the message and sent it, or will (its queue)
    NOT_SENT = "not_sent"  # no message with our reference, or one it gave up on: safe to send again
    REJECTED = "rejected"  # it has it and refuses the number for good


@dataclass(frozen=True)
class Lookup:
    state: LookupState
    provider_id: str = ""
    response: str = ""


class WhatsAppProvider(Protocol):
    name: str

    def send(self, *, to: str, body: str, reference: str) -> SendResult: ...

    def lookup(self, *, reference: str) -> Lookup: ...


class ConsoleProvider:
    """Development stand-in: writes the message to the log and reports success."""

    name = "console"

    def send(self, *, to: str, body: str, reference: str) -> SendResult:
        logger.info("whatsapp (console) to=%s reference=%s body=%s", to, reference, body)
        return SendResult(provider_id=f"console-{uuid.uuid4().hex[:12]}", response="logged to console")

    def lookup(self, *, reference: str) -> Lookup:
        raise ProviderLookupError("the console provider keeps no list of messages")


# Words in an UltraMsg error that point at the recipient: sending again will not help.
_RECIPIENT_ERRORS = ("invalid", "not exist", "not registered", "wrong number", "phone number")
# UltraMsg's message states (its dashboard and messages list): what each means for a resend.
_LOOKUP_STATES = {
    "sent": LookupState.DELIVERED,
    "queue": LookupState.DELIVERED,
    "invalid": LookupState.REJECTED,
    "unsent": LookupState.NOT_SENT,
    "expired": LookupState.NOT_SENT,
}
LOOKUP_PAGE = 100


def _connection_never_made(exc: requests.ConnectionError) -> bool:
    """Whether the connection failed before anything was sent (refused, DNS, unreachable)."""
    cause = exc.args[0] if exc.args else None
    reason = getattr(cause, "reason", cause)
    return isinstance(reason, urllib3.exceptions.NewConnectionError)


def http_send(session: requests.Session, method: str, url: str, *, timeout: float, **kwargs) -> requests.Response:
    """One request to a provider, its transport failures turned into the typed errors above:
    certain (nothing left) when no connection was made, uncertain once the request was sent."""
    try:
        return getattr(session, method.lower())(url, timeout=timeout, **kwargs)
    except requests.ConnectTimeout as exc:
        raise ProviderUnavailable(f"connect timeout after {timeout}s") from exc
    except requests.Timeout as exc:
        raise ProviderTimeout(f"no reply within {timeout}s") from exc
    except requests.ConnectionError as exc:
        if _connection_never_made(exc):
            raise ProviderUnavailable(f"connection failed: {type(exc).__name__}") from exc
        raise ProviderCutOff(f"connection lost before the reply: {type(exc).__name__}") from exc
    except requests.RequestException as exc:  # e.g. the reply cut off mid-body
        raise ProviderCutOff(f"reply lost: {type(exc).__name__}") from exc


class UltraMsgProvider:
    name = "ultramsg"

    def __init__(self, *, base_url: str, instance_id: str, token: str, timeout: float):
        self.url = f"{base_url.rstrip('/')}/{instance_id}/messages/chat"
        self.list_url = f"{base_url.rstrip('/')}/{instance_id}/messages"
        self.token = token
        self.timeout = timeout
        # One connection reused across a run of sends (keep-alive).
        self.session = requests.Session()

    def send(self, *, to: str, body: str, reference: str) -> SendResult:
        payload = {"token": self.token, "to": to, "body": body, "referenceId": reference}
        reply = http_send(
            self.session,
            "POST",
            self.url,
            timeout=self.timeout,
            data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
            headers={"Content-Type": "application/json; charset=utf-8", "Accept": "application/json"},
        )
        text = reply.text[:RESPONSE_KEEP_CHARS]
        if reply.status_code != 200:
            raise ProviderHTTPError(f"HTTP {reply.status_code}", status_code=reply.status_code, response=text)
        try:
            data = reply.json()
        except ValueError as exc:
            raise ProviderBadReply("reply is not JSON", response=text) from exc
        if not isinstance(data, dict):
            raise ProviderBadReply("reply is not a JSON object", response=text)
        if str(data.get("sent", "")).lower() == "true":
            return SendResult(provider_id=str(data.get("id", ""))[:100], response=text)
        error = data.get("error")
        if error:
            detail = json.dumps(error, ensure_ascii=False)[:200]
            if any(word in detail.lower() for word in _RECIPIENT_ERRORS):
                raise ProviderRejected(f"rejected: {detail}", response=text, not_on_channel=True)
            raise ProviderError(f"provider error: {detail}", response=text)
        raise ProviderBadReply("reply does not say sent", response=text)

    def lookup(self, *, reference: str) -> Lookup:
        """Ask the messages list for our reference. Any doubt raises ProviderLookupError."""
        try:
            reply = self.session.get(
                self.list_url,
                params={
                    "token": self.token,
                    "referenceId": reference,
                    "status": "all",
                    "sort": "desc",
                    "page": 1,
                    "limit": LOOKUP_PAGE,
                },
                headers={"Accept": "application/json"},
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise ProviderLookupError(f"messages list unreachable: {type(exc).__name__}") from exc
        text = reply.text[:RESPONSE_KEEP_CHARS]
        if reply.status_code != 200:
            raise ProviderLookupError(f"messages list: HTTP {reply.status_code}")
        try:
            data = reply.json()
        except ValueError as exc:
            raise ProviderLookupError("messages list: reply is not JSON") from exc
        entries = data.get("messages") if isinstance(data, dict) else data
        if not isinstance(entries, list):
            raise ProviderLookupError("messages list: no list of messages in the reply")
        ours = [entry for entry in entries if isinstance(entry, dict) and entry.get("referenceId") == reference]
        if not ours:
            # Filtered by our reference, the list holds it if the provider has it. An unfiltered
            # page that is full may have pushed it out: then we cannot say.
            total = data.get("total", len(entries)) if isinstance(data, dict) else len(entries)
            if len(entries) >= LOOKUP_PAGE or str(total) != str(len(entries)):
                raise ProviderLookupError("messages list: a partial page without our reference")
            return Lookup(LookupState.NOT_SENT, response=text)
        states = [_LOOKUP_STATES.get(str(entry.get("status", "")).lower()) for entry in ours]
        for wanted in (LookupState.DELIVERED, LookupState.REJECTED):
            if wanted in states:
                entry = ours[states.index(wanted)]
                return Lookup(wanted, provider_id=str(entry.get("id", ""))[:100], response=text)
        if all(state is LookupState.NOT_SENT for state in states):
            return Lookup(LookupState.NOT_SENT, response=text)
        raise ProviderLookupError(f"messages list: unknown status {[entry.get('status') for entry in ours]}")


def provider_get() -> WhatsAppProvider:
    """The provider the settings name (WHATSAPP_PROVIDER)."""
    if settings.WHATSAPP_PROVIDER == "cloud":
        from core.providers.whatsapp_cloud import cloud_provider_get

        return cloud_provider_get()
    if settings.WHATSAPP_PROVIDER == "ultramsg":
        return UltraMsgProvider(
            base_url=settings.ULTRAMSG_BASE_URL,
            instance_id=settings.ULTRAMSG_INSTANCE_ID,
            token=settings.ULTRAMSG_TOKEN,
            timeout=settings.WHATSAPP_TIMEOUT_SECONDS,
        )
    return ConsoleProvider()
