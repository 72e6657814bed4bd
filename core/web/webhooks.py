"""Webhooks the messaging providers call (issue 19): delivery receipts and parents' replies.

- ``/webhooks/whatsapp/``: Meta's WhatsApp Cloud API. GET is the subscription handshake
  (``hub.mode=subscribe``, our verify token, echo ``hub.challenge``); every POST must carry
  ``X-Hub-Signature-256: sha256=<HMAC-SHA256 of the raw body with the app secret>``, compared in
  constant time. Anything else is refused with 403 and changes nothing.
- ``/webhooks/ultramsg/<secret>/`` (or ``/webhooks/ultramsg/`` with the secret in an
  ``X-Webhook-Secret`` header): UltraMsg's ``message_ack`` and ``message_received`` events.

These are the only views exempt from CSRF: CSRF protection stops a browser that carries a staff
member's session cookie from being made to post; these endpoints use no cookie or session at all
and authenticate every request by the provider's signature or shared secret instead, which a
forged cross-site request cannot produce. As the kiosk does, a request that comes with a staff
session cookie is refused outright: a provider never has one, and these views must never be
reachable as a side effect of somebody's logged-in browser.
"""

import datetime
import hashlib
import hmac
import json
import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseForbidden
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from core.models import Channel
from core.services.receipts import Receipt, inbound_receive, receipt_apply

logger = logging.getLogger(__name__)


def _carries_a_session(request: HttpRequest) -> bool:
    return settings.SESSION_COOKIE_NAME in request.COOKIES


# Cloud API message statuses; "deleted" and others are ignored.
CLOUD_STATUSES = {"sent": "sent", "delivered": "delivered", "read": "read", "failed": "failed"}
# UltraMsg acks: server = it left, device = on the parent's phone, read/played = opened.
ULTRAMSG_ACKS = {"server": "sent", "device": "delivered", "read": "read", "played": "read", "failed": "failed"}


def _moment(value) -> datetime.datetime:
    try:
        return datetime.datetime.fromtimestamp(int(value), tz=datetime.UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return timezone.now()


def _secret_matches(given: str, expected: str) -> bool:
    # Empty configured secret: nothing can match, every call is refused.
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def cloud_signature_valid(raw_body: bytes, header: str) -> bool:
    secret = settings.WHATSAPP_CLOUD_APP_SECRET
    if not secret:
        return False
    expected = "sha256=" + hmac.new(secret.encode(), raw_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest((header or "").encode(), expected.encode())


def _cloud_text(message: dict) -> str:
    kind = message.get("type", "")
    if kind == "text":
        return str((message.get("text") or {}).get("body", ""))
    if kind == "button":
        return str((message.get("button") or {}).get("text", ""))
    if kind == "interactive":
        reply = message.get("interactive") or {}
        chosen = reply.get("button_reply") or reply.get("list_reply") or {}
        return str(chosen.get("title", ""))
    return f"[{kind}]"


def cloud_events_apply(payload: dict) -> tuple[int, int]:
    """Apply a Cloud API webhook body: (receipts that changed something, replies kept)."""
    receipts = replies = 0
    for entry in payload.get("entry") or []:
        for change in entry.get("changes") or []:
            value = change.get("value") or {}
            for status in value.get("statuses") or []:
                state = CLOUD_STATUSES.get(status.get("status"))
                if state is None:
                    continue
                errors = status.get("errors") or [{}]
                code = errors[0].get("code")
                receipt = Receipt(
                    status=state,
                    at=_moment(status.get("timestamp")),
                    reference=str(status.get("biz_opaque_callback_data") or ""),
                    provider_id=str(status.get("id") or ""),
                    error=f"{code}: {errors[0].get('title', '')}" if code else "",
                    not_on_channel=code == 131026,
                )
                receipts += receipt_apply(channel=Channel.WHATSAPP, receipt=receipt)
            for message in value.get("messages") or []:
                kept = inbound_receive(
                    channel=Channel.WHATSAPP,
                    provider_id=str(message.get("id") or ""),
                    phone=str(message.get("from") or ""),
                    text=_cloud_text(message),
                    at=_moment(message.get("timestamp")),
                )
                replies += kept is not None
    return receipts, replies


@csrf_exempt  # authenticated by the app secret's signature, not a cookie (see the module docstring)
@require_http_methods(["GET", "POST"])
def whatsapp_cloud_webhook(request: HttpRequest) -> HttpResponse:
    if _carries_a_session(request):
        return HttpResponseForbidden("a provider's webhook takes no session")
    if request.method == "GET":
        if request.GET.get("hub.mode") == "subscribe" and _secret_matches(
            request.GET.get("hub.verify_token", ""), settings.WHATSAPP_CLOUD_VERIFY_TOKEN
        ):
            return HttpResponse(request.GET.get("hub.challenge", ""), content_type="text/plain")
        return HttpResponseForbidden("verify token mismatch")
    if not cloud_signature_valid(request.body, request.headers.get("X-Hub-Signature-256", "")):
        logger.warning("whatsapp webhook: bad or missing signature, refused")
        return HttpResponseForbidden("bad signature")
    try:
        payload = json.loads(request.body)
    except ValueError:
        return HttpResponseBadRequest("not JSON")
    if not isinstance(payload, dict):
        return HttpResponseBadRequest("not a JSON object")
    cloud_events_apply(payload)
    return HttpResponse("ok", content_type="text/plain")


def ultramsg_event_apply(payload: dict) -> bool:
    """Apply one UltraMsg webhook event; whether it changed or kept anything."""
    data = payload.get("data") or {}
    event = payload.get("event_type", "")
    if event == "message_ack" or (event == "message_create" and data.get("fromMe")):
        state = ULTRAMSG_ACKS.get(str(data.get("ack", "")).lower())
        if state is None:
            return False
        receipt = Receipt(
            status=state,
            at=_moment(data.get("time")),
            reference=str(data.get("referenceId") or payload.get("referenceId") or ""),
            provider_id=str(data.get("id") or ""),
        )
        return receipt_apply(channel=Channel.WHATSAPP, receipt=receipt)
    if event == "message_received" and not data.get("fromMe"):
        kept = inbound_receive(
            channel=Channel.WHATSAPP,
            provider_id=str(data.get("id") or ""),
            phone=str(data.get("from") or ""),
            text=str(data.get("body") or ""),
            at=_moment(data.get("time")),
        )
        return kept is not None
    return False


@csrf_exempt  # authenticated by the shared secret, not a cookie (see the module docstring)
@require_POST
def ultramsg_webhook(request: HttpRequest, secret: str = "") -> HttpResponse:
    if _carries_a_session(request):
        return HttpResponseForbidden("a provider's webhook takes no session")
    given = secret or request.headers.get("X-Webhook-Secret", "")
    if not _secret_matches(given, settings.ULTRAMSG_WEBHOOK_SECRET):
        logger.warning("ultramsg webhook: wrong secret, refused")
        return HttpResponseForbidden("wrong secret")
    try:
        payload = json.loads(request.body)
    except ValueError:
        return HttpResponseBadRequest("not JSON")
    if not isinstance(payload, dict):
        return HttpResponseBadRequest("not a JSON object")
    ultramsg_event_apply(payload)
    return HttpResponse("ok", content_type="text/plain")
