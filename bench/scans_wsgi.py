"""The project's WSGI application plus one trivial authenticated view, for bench/scans.py only.

``GET /bench/ping/`` authenticates the kiosk token exactly as the scan endpoint does and answers
``{"ok": true}``: the same server, middleware and authentication, without the door's work. The
ratio of scan throughput to this view's is the figure bench/scans.py reports.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

from django.core.wsgi import get_wsgi_application

application = get_wsgi_application()

from django.http import JsonResponse  # noqa: E402
from django.urls import clear_url_caches, path  # noqa: E402
from django.views.decorators.cache import never_cache  # noqa: E402

from core.services.kiosks import kiosk_from_token  # noqa: E402
from core.web.kiosk_api import KIOSK_HEADER  # noqa: E402
from project import urls  # noqa: E402


@never_cache
def ping(request):
    if kiosk_from_token(request.headers.get(KIOSK_HEADER, "")) is None:
        return JsonResponse({"error": "unknown kiosk"}, status=401)
    return JsonResponse({"ok": True})


urls.urlpatterns.insert(0, path("bench/ping/", ping))

if os.environ.get("BENCH_DOOR_READ") == "orm":  # bench/scans.py --read orm
    from core.services.door import scan
    from core.services.door.read_orm import door_read_orm

    scan.door_read = door_read_orm
clear_url_caches()
