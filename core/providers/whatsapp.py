"""WhatsApp providers behind one small interface: ``send(to=, body=, reference=) -> SendResult``.

- ``UltraMsgProvider`` posts ``{token, to, body, referenceId}`` as UTF-8 JSON to
  ``{base}/{instance}/messages/chat`` and succeeds only when the reply says ``"sent": "true"``.
- ``ConsoleProvider`` logs the message instead: the default in development and tests, so nothing
  reaches a network unless ``WHATSAPP_PROVIDER=ultramsg`` is configured.

Errors are typed. ``ProviderError.temporary`` tells the outbox whether a later attempt may work
(timeouts, 5xx, 429, garbled replies) or not (a recipient the provider refuses, other 4xx).
"""

import json
import logging
import uuid
from dataclasses import dataclass
from typing import Protocol

import requests
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

    def __init__(self, message: str, *, response: str = ""):
        super().__init__(message)
        self.response = response[:RESPONSE_KEEP_CHARS]


class ProviderUnavailable(ProviderError):
    """No connection could be made: the message certainly did not leave."""


class ProviderTimeout(ProviderError):
    """No reply within the timeout."""


class ProviderHTTPError(ProviderError):
    def __init__(self, message: str, *, status_code: int, response: str = ""):
        super().__init__(message, response=response)
        self.status_code = status_code
        # Server trouble and throttling pass; other client errors repeat on every attempt.
        self.temporary = status_code >= 500 or status_code in {408, 429}


class ProviderBadReply(ProviderError):
    """A reply that is not the JSON the provider documents."""


class ProviderRejected(ProviderError):
    """The provider refused this message for good (e.g. the number is not on WhatsApp)."""

    temporary = False


class WhatsAppProvider(Protocol):
    name: str

    def send(self, *, to: str, body: str, reference: str) -> SendResult: ...


class ConsoleProvider:
    """Development stand-in: writes the message to the log and reports success."""

    name = "console"

    def send(self, *, to: str, body: str, reference: str) -> SendResult:
        logger.info("whatsapp (console) to=%s reference=%s body=%s", to, reference, body)
        return SendResult(provider_id=f"console-{uuid.uuid4().hex[:12]}", response="logged to console")


# Words in an UltraMsg error that point at the recipient: sending again will not help.
_RECIPIENT_ERRORS = ("invalid", "not exist", "not registered", "wrong number", "phone number")


class UltraMsgProvider:
    name = "ultramsg"

    def __init__(self, *, base_url: str, instance_id: str, token: str, timeout: float):
        self.url = f"{base_url.rstrip('/')}/{instance_id}/messages/chat"
        self.token = token
        self.timeout = timeout
        # One connection reused across a run of sends (keep-alive).
        self.session = requests.Session()

    def send(self, *, to: str, body: str, reference: str) -> SendResult:
        payload = {"token": self.token, "to": to, "body": body, "referenceId": reference}
        try:
            reply = self.session.post(
                self.url,
                data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
                headers={"Content-Type": "application/json; charset=utf-8", "Accept": "application/json"},
                timeout=self.timeout,
            )
        except requests.ConnectTimeout as exc:
            raise ProviderUnavailable(f"connect timeout after {self.timeout}s") from exc
        except requests.Timeout as exc:
            raise ProviderTimeout(f"no reply within {self.timeout}s") from exc
        except requests.ConnectionError as exc:
            raise ProviderUnavailable(f"connection failed: {type(exc).__name__}") from exc
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
                raise ProviderRejected(f"rejected: {detail}", response=text)
            raise ProviderError(f"provider error: {detail}", response=text)
        raise ProviderBadReply("reply does not say sent", response=text)


def provider_get() -> WhatsAppProvider:
    """The provider the settings name (WHATSAPP_PROVIDER)."""
    if settings.WHATSAPP_PROVIDER == "ultramsg":
        return UltraMsgProvider(
            base_url=settings.ULTRAMSG_BASE_URL,
            instance_id=settings.ULTRAMSG_INSTANCE_ID,
            token=settings.ULTRAMSG_TOKEN,
            timeout=settings.WHATSAPP_TIMEOUT_SECONDS,
        )
    return ConsoleProvider()
