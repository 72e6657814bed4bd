"""Meta's WhatsApp Cloud API (the official one) behind the same interface as UltraMsg.

``send(to=, body=, reference=, template=None)`` posts to ``{base}/{version}/{phone_number_id}/
messages`` with the bearer token. With a ``TemplateCall`` it sends the approved template (name,
language, the body's parameters in order); without one it sends ``body`` as free text, which
WhatsApp accepts only inside the 24-hour window after the parent last wrote (the router in
``core/services/channels.py`` decides which). Our reference travels as ``biz_opaque_callback_data``
and comes back in every status webhook, so a receipt finds its message even when the send's own
answer was lost.

Errors keep the outbox's meaning (see ``core/providers/whatsapp.py``): Cloud API error codes
decide whether a later attempt may work. The Cloud API cannot be asked about a message by our
reference, so ``lookup`` always says it does not know (a receipt settles such messages instead).
"""

import json
from dataclasses import dataclass

import requests
from django.conf import settings

from core.providers.whatsapp import (
    RESPONSE_KEEP_CHARS,
    Lookup,
    ProviderBadReply,
    ProviderError,
    ProviderHTTPError,
    ProviderLookupError,
    ProviderRejected,
    SendResult,
    http_send,
)

# https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes
NOT_ON_WHATSAPP = {131026}  # message undeliverable: not a WhatsApp number (or an old app)
# The channel's own throttles: a later attempt works, and pausing the channel helps.
CHANNEL_RATE_LIMITS = {4, 80007, 130429, 131048}
# Too many messages to this one parent: later works, but the channel is fine.
PAIR_RATE_LIMITS = {131056}
# The account or the service: messages must wait, and the breaker should count them.
CHANNEL_TROUBLE = {1, 2, 190, 368, 131000, 131016, 131031, 131049, 133004}
# This message will never go as it is: a template problem, outside the 24-hour window, bad data.
TEMPLATE_ERRORS = {132000, 132001, 132005, 132007, 132012, 132015, 132016, 132068, 132069}
MESSAGE_ERRORS = {100, 131008, 131009, 131021, 131047, 131051, 131052, 131053}


@dataclass(frozen=True)
class TemplateCall:
    """An approved template: its name, its language code and the body's parameters in order."""

    name: str
    language: str
    parameters: tuple[str, ...] = ()


class CloudAPIError(ProviderHTTPError):
    """An error answer from the Cloud API; ``code`` is its error code (0 when none was given)."""

    def __init__(self, message: str, *, status_code: int, code: int, response: str = "", temporary: bool):
        super().__init__(message, status_code=status_code, response=response)
        self.code = code
        self.temporary = temporary

    @property
    def channel_fault(self) -> bool:
        return self.temporary and self.code not in PAIR_RATE_LIMITS


def cloud_error(status_code: int, text: str) -> ProviderError:
    """The typed error for a Cloud API error answer."""
    try:
        error = json.loads(text).get("error") or {}
    except (ValueError, AttributeError):
        error = {}
    code = error.get("code") if isinstance(error, dict) else None
    code = code if isinstance(code, int) else 0
    detail = (error.get("error_data") or {}).get("details") if isinstance(error, dict) else None
    said = (detail or error.get("message", "")) if error else text[:100]
    message = f"HTTP {status_code}, code {code}: {said}"
    if code in NOT_ON_WHATSAPP:
        return ProviderRejected(message, response=text, not_on_channel=True, code=str(code))
    if code in TEMPLATE_ERRORS or code in MESSAGE_ERRORS:
        return ProviderRejected(message, response=text, code=str(code))
    if code in CHANNEL_RATE_LIMITS or code in PAIR_RATE_LIMITS or code in CHANNEL_TROUBLE:
        return CloudAPIError(message, status_code=status_code, code=code, response=text, temporary=True)
    # An unknown code: server trouble and throttling pass, other client errors repeat.
    return CloudAPIError(
        message,
        status_code=status_code,
        code=code,
        response=text,
        temporary=status_code >= 500 or status_code in {401, 403, 408, 429},
    )


class CloudAPIProvider:
    name = "cloud"
    uses_templates = True

    def __init__(self, *, base_url: str, version: str, phone_number_id: str, token: str, timeout: float):
        self.url = f"{base_url.rstrip('/')}/{version}/{phone_number_id}/messages"
        self.token = token
        self.timeout = timeout
        self.session = requests.Session()

    def payload(self, *, to: str, body: str, reference: str, template: TemplateCall | None) -> dict:
        payload = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to.lstrip("+"),
            "biz_opaque_callback_data": reference,
        }
        if template is None:
            payload.update(type="text", text={"preview_url": False, "body": body})
            return payload
        components = []
        if template.parameters:
            parameters = [{"type": "text", "text": value} for value in template.parameters]
            components.append({"type": "body", "parameters": parameters})
        payload.update(
            type="template",
            template={"name": template.name, "language": {"code": template.language}, "components": components},
        )
        return payload

    def send(self, *, to: str, body: str, reference: str, template: TemplateCall | None = None) -> SendResult:
        payload = self.payload(to=to, body=body, reference=reference, template=template)
        reply = http_send(
            self.session,
            "POST",
            self.url,
            timeout=self.timeout,
            data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
            headers={
                "Authorization": f"Bearer {self.token}",
                "Content-Type": "application/json; charset=utf-8",
                "Accept": "application/json",
            },
        )
        text = reply.text[:RESPONSE_KEEP_CHARS]
        if reply.status_code != 200:
            raise cloud_error(reply.status_code, text)
        try:
            data = reply.json()
        except ValueError as exc:
            raise ProviderBadReply("reply is not JSON", response=text) from exc
        messages = data.get("messages") if isinstance(data, dict) else None
        if not (isinstance(messages, list) and messages and isinstance(messages[0], dict) and messages[0].get("id")):
            raise ProviderBadReply("reply names no message id", response=text)
        return SendResult(provider_id=str(messages[0]["id"])[:100], response=text)

    def lookup(self, *, reference: str) -> Lookup:
        raise ProviderLookupError("the Cloud API cannot be asked about a message; its receipt will tell")


def cloud_provider_get() -> CloudAPIProvider:
    return CloudAPIProvider(
        base_url=settings.WHATSAPP_CLOUD_BASE_URL,
        version=settings.WHATSAPP_CLOUD_API_VERSION,
        phone_number_id=settings.WHATSAPP_CLOUD_PHONE_NUMBER_ID,
        token=settings.WHATSAPP_CLOUD_TOKEN,
        timeout=settings.WHATSAPP_TIMEOUT_SECONDS,
    )
