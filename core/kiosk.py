"""The kiosk's scan endpoint: a tablet at the door posts scans with its device token.

CSRF, without any exemption
---------------------------
The endpoint goes through Django's CsrfViewMiddleware like every other view. A kiosk first
GETs this URL, which answers ``{"csrf_token": …}`` and sets the CSRF cookie (a cookie of its
own, not a login session), then POSTs JSON with both ``X-CSRFToken`` and ``X-Kiosk-Token``.
The device token is what authenticates; CSRF stays on as a second lock. A request that comes
with a staff login session is refused outright: the endpoint must never act on a person's
ambient cookies, only on the device token it was given.
"""

import json

from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_http_methods

from core.csp import csp_strict
from core.ratelimit import rate_limit_hit
from core.services.kiosks import kiosk_from_token
from core.services.scanning import scan_process

KIOSK_HEADER = "X-Kiosk-Token"
SCANS_PER_MINUTE = 120
BAD_TOKENS_PER_MINUTE = 20
MAX_BODY = 2048


def _error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def _client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "")


def _payload(request) -> dict | JsonResponse:
    """The scan in the JSON body, or the error answer."""
    if len(request.body) > MAX_BODY:
        return _error(_("The request is too large."), 413)
    try:
        payload = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return _error(_("Send the scan as JSON."), 400)
    if not isinstance(payload, dict) or not isinstance(payload.get("code"), str):
        return _error(_("Send the scanned code."), 400)
    client_scan_id = payload.get("client_scan_id") or ""
    if not isinstance(client_scan_id, str):
        return _error(_("The scan id must be text."), 400)
    return {"code": payload["code"], "client_scan_id": client_scan_id}


@never_cache
@ensure_csrf_cookie
@require_http_methods(["GET", "POST"])
def kiosk_scan(request):
    if request.user.is_authenticated:
        return _error(_("Kiosks use their device token, not a staff login."), 403)
    if request.method == "GET":
        return JsonResponse({"csrf_token": get_token(request)})
    kiosk = kiosk_from_token(request.headers.get(KIOSK_HEADER, ""))
    if kiosk is None:
        # Guessing tokens is slowed per address; a real kiosk never gets here.
        if rate_limit_hit("kiosk-bad-token", _client_ip(request), limit=BAD_TOKENS_PER_MINUTE, window_seconds=60):
            return _error(_("Too many requests. Wait a minute."), 429)
        return _error(_("This kiosk is not registered or was revoked."), 401)
    if rate_limit_hit("kiosk-scan", str(kiosk.pk), limit=SCANS_PER_MINUTE, window_seconds=60):
        return _error(_("Too many scans. Wait a minute."), 429)
    payload = _payload(request)
    if isinstance(payload, JsonResponse):
        return payload
    outcome = scan_process(payload["code"], kiosk=kiosk, client_scan_id=payload["client_scan_id"])
    return JsonResponse(outcome.as_json())


@never_cache
@csp_strict
@ensure_csrf_cookie
@require_http_methods(["GET"])
def kiosk_page(request):
    """The tablet's page: the token is typed once and kept in the tablet's local storage."""
    return render(
        request, "core/kiosk.html", {"title": _("Door kiosk"), "scan_url": reverse("kiosk-scan"), "mode": "kiosk"}
    )


# --- the door supervisor's scanning page (staff login, inside the admin) -------------------------


def _may_scan(user) -> bool:
    return user.has_perm("core.add_attendance")


@never_cache
@csp_strict
@require_http_methods(["GET"])
def door_page(request):
    """The supervisor's scanning page; wrapped in admin_view (login) by the URLconf."""
    if not _may_scan(request.user):
        raise PermissionDenied
    return render(
        request, "core/kiosk.html", {"title": _("Door scanning"), "scan_url": reverse("door-scan"), "mode": "staff"}
    )


@never_cache
@require_http_methods(["POST"])
def door_scan(request):
    """A scan by the logged-in supervisor (CSRF-checked like any staff post); he is the operator."""
    if not _may_scan(request.user):
        return _error(_("You may not scan at the door."), 403)
    if rate_limit_hit("door-scan", str(request.user.pk), limit=SCANS_PER_MINUTE, window_seconds=60):
        return _error(_("Too many scans. Wait a minute."), 429)
    payload = _payload(request)
    if isinstance(payload, JsonResponse):
        return payload
    outcome = scan_process(payload["code"], operator=request.user, client_scan_id=payload["client_scan_id"])
    return JsonResponse(outcome.as_json())
