"""The kiosk's scan endpoint: a tablet at the door posts scans with its device token.

CSRF, without any exemption
---------------------------
The endpoint goes through Django's CsrfViewMiddleware like every other view. A kiosk first
GETs this URL, which answers ``{"csrf_token": …}`` and sets the CSRF cookie (a cookie of its
own, not a login session), then POSTs JSON with both ``X-CSRFToken`` and ``X-Kiosk-Token``.
The device token is what authenticates; CSRF stays on as a second lock. A request that comes
with a staff login session is refused outright: the endpoint must never act on a person's
ambient cookies, only on the device token it was given.

Offline replays
---------------
A kiosk that lost the network queues scans on the tablet and replays them in order when it is
back, each with its own time in ``at`` (ISO 8601 with offset) and its ``client_scan_id``. Only
kiosks may send ``at``, and only within ``OFFLINE_MAX_AGE`` in the past and ``CLOCK_SKEW`` in
the future: the rules then run at that time (``scan_process(offline=True)``).

Failures answer JSON, never an HTML error page
----------------------------------------------
Every failure these endpoints can meet (the database down, frozen or timing out, or a bug)
answers 503 with ``{"error": <translated text>, "retry": true}``: the tablet shows the text and
keeps the scan in its offline queue, to replay it later with the same client scan id. The door's
database work is bounded by ``KIOSK_DB_DEADLINE_SECONDS`` (core/ops/db_deadline.py), so a frozen
database is answered within that deadline plus at most one ``DB_CONNECT_TIMEOUT``.
"""

import datetime
import functools
import json
import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import Error as DatabaseFailure
from django.http import JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_http_methods

from core.ops.db_deadline import database_deadline
from core.services.door import Place, scan_process
from core.services.door.roster import door_roster
from core.services.kiosks import kiosk_from_token, kiosk_scans_since
from core.web.csp import csp_strict
from core.web.http import client_ip
from core.web.ratelimit import rate_limit_hit

KIOSK_HEADER = "X-Kiosk-Token"
SCANS_PER_MINUTE = 120
SCAN_RATE_WINDOW = datetime.timedelta(minutes=1)
BAD_TOKENS_PER_MINUTE = 20
MAX_BODY = 2048
OFFLINE_MAX_AGE = datetime.timedelta(hours=24)
CLOCK_SKEW = datetime.timedelta(minutes=2)


logger = logging.getLogger(__name__)


def _error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def _unavailable() -> JsonResponse:
    response = JsonResponse(
        {"error": _("The system is busy and could not record this scan right now."), "retry": True}, status=503
    )
    response["Retry-After"] = "15"
    return response


def json_on_failure(view):
    """Answer 503 JSON for any failure of a door endpoint, within the database deadline."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            with database_deadline(settings.KIOSK_DB_DEADLINE_SECONDS):
                return view(request, *args, **kwargs)
        except DatabaseFailure:
            logger.warning("door endpoint %s: database unavailable", request.path, exc_info=True)
            return _unavailable()
        except Exception:
            # The one catch-all: the tablet needs JSON it can show, whatever broke. Logged with its
            # traceback (and reported to Sentry through logging), never swallowed.
            logger.exception("door endpoint %s failed", request.path)
            return _unavailable()

    return wrapped


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
    at = payload.get("at")
    if at is None:
        return {"code": payload["code"], "client_scan_id": client_scan_id, "at": None}
    try:
        parsed = parse_datetime(at) if isinstance(at, str) else None
    except ValueError:  # well formed but no such moment, e.g. 30 February
        parsed = None
    if parsed is None or timezone.is_naive(parsed):
        return _error(_("The scan time must be ISO 8601 with its offset."), 400)
    now = timezone.now()
    if parsed > now + CLOCK_SKEW or parsed < now - OFFLINE_MAX_AGE:
        return _error(_("The scan time is too far from now; the kiosk's clock may be wrong."), 400)
    if not client_scan_id:
        return _error(_("An offline scan needs its scan id."), 400)
    return {"code": payload["code"], "client_scan_id": client_scan_id, "at": parsed}


@never_cache
@ensure_csrf_cookie
@require_http_methods(["GET", "POST"])
@json_on_failure
def kiosk_scan(request):
    if request.user.is_authenticated:
        return _error(_("Kiosks use their device token, not a staff login."), 403)
    if request.method == "GET":
        return JsonResponse({"csrf_token": get_token(request)})
    kiosk = kiosk_from_token(request.headers.get(KIOSK_HEADER, ""))
    if kiosk is None:
        # Guessing tokens is slowed per address; a real kiosk never gets here.
        if rate_limit_hit("kiosk-bad-token", client_ip(request), limit=BAD_TOKENS_PER_MINUTE, window_seconds=60):
            return _error(_("Too many requests. Wait a minute."), 429)
        return _error(_("This kiosk is not registered or was revoked."), 401)
    # The rate limit counts the scans this kiosk sent in the last minute (their scan events): no
    # counter to keep in a cache, nothing written for a refused request.
    if kiosk_scans_since(kiosk, timezone.now() - SCAN_RATE_WINDOW) >= SCANS_PER_MINUTE:
        return _error(_("Too many scans. Wait a minute."), 429)
    payload = _payload(request)
    if isinstance(payload, JsonResponse):
        return payload
    outcome = scan_process(
        payload["code"],
        kiosk=kiosk,
        client_scan_id=payload["client_scan_id"],
        at=payload["at"],
        offline=payload["at"] is not None,
    )
    return JsonResponse(outcome.as_json())


def kiosk_strings() -> dict[str, str]:
    """What the script says, translated here (JS gets them as JSON data, never as code)."""
    return {
        "ready": _("Ready. Scan a card."),
        "noConnection": _("No connection. Scan again."),
        "refused": _("This kiosk is not registered or was revoked."),
        "savedOffline": _("No connection: come in. The scan is saved and will be checked later."),
        "busySaved": _("Come in: the scan is saved on this tablet and will be sent again shortly."),
        "offline": _("Offline: scans are saved on this tablet"),
        "offlineWaiting": _("Offline: %(count)s scans waiting to be sent"),
        "rosterOffline": _("The list of classes needs the connection."),
        "sending": _("Connection back: sending %(count)s saved scans…"),
        "dropped": _("%(count)s saved scans were too old or invalid and were not sent."),
        "cameraDenied": _("The camera is not available. Use the scanner or the keypad."),
        "cameraOn": _("Camera"),
        "cameraOff": _("Stop the camera"),
        "noClass": _("No class at this door now."),
        "expected": _("Expected"),
        "in": _("In"),
        "late": _("Late"),
        "refusedCount": _("Refused"),
        "waiting": _("Not yet"),
        "teacherIn": _("Teacher in"),
        "teacherNotIn": _("Teacher not in yet"),
        "cancelled": _("Cancelled"),
        "confirmForget": _("Forget this tablet's kiosk token?"),
        "holdToForget": _("Hold for 2 seconds to forget this tablet's token."),
        "checking": _("Checking the token…"),
        "pairOffline": _("No connection: the token could not be checked. Connect the tablet and try again."),
        "pairLinkBad": _("This pairing link is not complete. Type the token instead."),
    }


def _roster_json(rosters) -> JsonResponse:
    return JsonResponse({"sessions": [roster.as_json() for roster in rosters]})


@never_cache
@require_http_methods(["GET"])
@json_on_failure
def kiosk_roster(request):
    """The sessions whose door is open at this kiosk's room (or branch), with who came."""
    if request.user.is_authenticated:
        return _error(_("Kiosks use their device token, not a staff login."), 403)
    kiosk = kiosk_from_token(request.headers.get(KIOSK_HEADER, ""))
    if kiosk is None:
        if rate_limit_hit("kiosk-bad-token", client_ip(request), limit=BAD_TOKENS_PER_MINUTE, window_seconds=60):
            return _error(_("Too many requests. Wait a minute."), 429)
        return _error(_("This kiosk is not registered or was revoked."), 401)
    return _roster_json(door_roster(Place.of(kiosk)))


@never_cache
@csp_strict
@ensure_csrf_cookie
@require_http_methods(["GET"])
def kiosk_page(request):
    """The tablet's page: the token is typed once and kept in the tablet's local storage."""
    return render(
        request,
        "core/kiosk.html",
        {
            "title": _("Door kiosk"),
            "scan_url": reverse("kiosk-scan"),
            "roster_url": reverse("kiosk-roster"),
            "mode": "kiosk",
            "kiosk_strings": kiosk_strings(),
        },
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
        request,
        "core/kiosk.html",
        {
            "title": _("Door scanning"),
            "scan_url": reverse("door-scan"),
            "roster_url": reverse("door-roster"),
            "mode": "staff",
            "kiosk_strings": kiosk_strings(),
        },
    )


@never_cache
@require_http_methods(["POST"])
@json_on_failure
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


@never_cache
@require_http_methods(["GET"])
@json_on_failure
def door_roster_view(request):
    """The supervisor's roster: open doors in his branches (admin_view wraps it with the login)."""
    if not _may_scan(request.user):
        return _error(_("You may not scan at the door."), 403)
    return _roster_json(door_roster(Place.of(None, request.user)))
