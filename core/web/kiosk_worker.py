"""The door kiosk's service worker (core/static/core/kiosk-sw.js), served under /kiosk/.

A service worker controls only the pages under the folder of its own URL: from /static/ it could
not take /kiosk/, so this view serves the file at /kiosk/sw.js. It is read from the app's source
folder, not through the static storage: in production that storage hashes file names, and the
worker's URL must stay the same for the browser to find its updates. ``no-cache`` makes the
browser ask again on each check, so a deploy reaches the tablets on their next load.
"""

from pathlib import Path

from django.http import HttpResponse
from django.views.decorators.http import require_http_methods

from core.web.csp import csp_strict

SERVICE_WORKER = Path(__file__).resolve().parent.parent / "static" / "core" / "kiosk-sw.js"


@csp_strict
@require_http_methods(["GET"])
def kiosk_service_worker(request):
    response = HttpResponse(SERVICE_WORKER.read_bytes(), content_type="application/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    return response
