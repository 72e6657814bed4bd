"""SMS through a generic HTTP gateway, behind the same interface as the WhatsApp providers.

Egyptian gateways differ only in their URL, their parameter names, how they take credentials and
what their reply says on success, so all of that is configuration (``SMS_*`` settings):
``send`` makes one request (form POST, JSON POST or GET) with the recipient, the text, the sender
name, the credentials, the gateway's fixed extra parameters and, when the gateway takes one, our
reference. A 2xx reply that contains ``SMS_SUCCESS_TEXT`` (any 2xx when it is empty) is a send.

``sms_size(text)`` counts the parts a text is billed as: GSM-7 texts 160 characters in one part,
153 per part when split (the extension characters ``^{}\\[~]|€`` take two); anything else (Arabic)
goes as UCS-2: 70 in one part, 67 per part (UTF-16 units: an emoji takes two).
"""

import logging
import math
import uuid
from dataclasses import dataclass
from urllib.parse import parse_qsl

import requests
from django.conf import settings

from core.providers.whatsapp import (
    RESPONSE_KEEP_CHARS,
    Lookup,
    ProviderError,
    ProviderHTTPError,
    ProviderLookupError,
    SendResult,
    http_send,
)

logger = logging.getLogger(__name__)

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿"
    "abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")


@dataclass(frozen=True)
class SmsSize:
    encoding: str  # "gsm7" or "ucs2"
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int


def sms_size(text: str) -> SmsSize:
    """How many billed parts a text takes (see the module docstring)."""
    if all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text):
        units = sum(2 if char in GSM7_EXTENSION else 1 for char in text)
        single, per_part, encoding = 160, 153, "gsm7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, per_part, encoding = 70, 67, "ucs2"
    segments = 1 if units <= single else math.ceil(units / per_part)
    return SmsSize(encoding=encoding, units=units, segments=segments)


def phone_for_gateway(phone: str, style: str) -> str:
    """``+201001234567`` as the gateway wants it: e164 (as is), digits (201001234567) or local
    (01001234567, for Egyptian numbers)."""
    if style == "digits":
        return phone.lstrip("+")
    if style == "local" and phone.startswith("+20"):
        return "0" + phone[3:]
    return phone


@dataclass(frozen=True)
class SmsGatewayConfig:
    url: str
    method: str = "post"  # post (form), json or get
    to_param: str = "to"
    text_param: str = "text"
    sender_param: str = "sender"
    sender: str = ""
    username_param: str = "username"
    username: str = ""
    password_param: str = "password"  # noqa: S105 (the parameter's name, not a password)
    password: str = ""
    reference_param: str = ""
    extra_params: str = ""  # "environment=1&language=2"
    success_text: str = ""
    id_field: str = ""
    phone_style: str = "e164"
    timeout: float = 10.0


class HttpSmsProvider:
    name = "sms"

    def __init__(self, config: SmsGatewayConfig):
        self.config = config
        self.session = requests.Session()

    def params(self, *, to: str, body: str, reference: str) -> dict[str, str]:
        config = self.config
        params = dict(parse_qsl(config.extra_params, keep_blank_values=True))
        params[config.to_param] = phone_for_gateway(to, config.phone_style)
        params[config.text_param] = body
        for name, value in (
            (config.sender_param, config.sender),
            (config.username_param, config.username),
            (config.password_param, config.password),
            (config.reference_param, reference),
        ):
            if name and value:
                params[name] = value
        return params

    def send(self, *, to: str, body: str, reference: str) -> SendResult:
        config = self.config
        params = self.params(to=to, body=body, reference=reference)
        if config.method == "get":
            request = {"params": params}
        elif config.method == "json":
            request = {"json": params}
        else:
            request = {"data": params}
        reply = http_send(
            self.session, "GET" if config.method == "get" else "POST", config.url, timeout=config.timeout, **request
        )
        text = reply.text[:RESPONSE_KEEP_CHARS]
        if not 200 <= reply.status_code < 300:
            raise ProviderHTTPError(f"HTTP {reply.status_code}", status_code=reply.status_code, response=text)
        if config.success_text and config.success_text not in reply.text:
            # The gateway answered but did not accept it (no balance, a bad sender name, …): an
            # answer is certain, so a later attempt may send it without doubling it.
            raise ProviderError(f"gateway did not accept it: {text[:150]}", response=text)
        return SendResult(provider_id=self._reply_id(reply) or f"sms-{uuid.uuid4().hex[:12]}", response=text)

    def _reply_id(self, reply: requests.Response) -> str:
        if not self.config.id_field:
            return ""
        try:
            data = reply.json()
        except ValueError:
            return ""
        return str(data.get(self.config.id_field, ""))[:100] if isinstance(data, dict) else ""

    def lookup(self, *, reference: str) -> Lookup:
        raise ProviderLookupError("an SMS gateway cannot be asked about a message")


class ConsoleSmsProvider:
    """Development stand-in: logs the text message."""

    name = "console-sms"

    def send(self, *, to: str, body: str, reference: str) -> SendResult:
        logger.info("sms (console) to=%s reference=%s body=%s", to, reference, body)
        return SendResult(provider_id=f"console-sms-{uuid.uuid4().hex[:12]}", response="logged to console")

    def lookup(self, *, reference: str) -> Lookup:
        raise ProviderLookupError("the console provider keeps no list of messages")


def sms_configured() -> bool:
    """Whether text messages can go out at all (a gateway, or the console in development)."""
    return settings.SMS_PROVIDER in {"http", "console"}


def sms_provider_get() -> HttpSmsProvider | ConsoleSmsProvider | None:
    """The SMS provider the settings name (SMS_PROVIDER), or None when SMS is off."""
    if settings.SMS_PROVIDER == "http":
        return HttpSmsProvider(
            SmsGatewayConfig(
                url=settings.SMS_GATEWAY_URL,
                method=settings.SMS_GATEWAY_METHOD,
                to_param=settings.SMS_PARAM_TO,
                text_param=settings.SMS_PARAM_TEXT,
                sender_param=settings.SMS_PARAM_SENDER,
                sender=settings.SMS_SENDER,
                username_param=settings.SMS_PARAM_USERNAME,
                username=settings.SMS_USERNAME,
                password_param=settings.SMS_PARAM_PASSWORD,
                password=settings.SMS_PASSWORD,
                reference_param=settings.SMS_PARAM_REFERENCE,
                extra_params=settings.SMS_EXTRA_PARAMS,
                success_text=settings.SMS_SUCCESS_TEXT,
                id_field=settings.SMS_ID_FIELD,
                phone_style=settings.SMS_PHONE_STYLE,
                timeout=settings.WHATSAPP_TIMEOUT_SECONDS,
            )
        )
    if settings.SMS_PROVIDER == "console":
        return ConsoleSmsProvider()
    return None
