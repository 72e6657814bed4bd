from django.conf import settings
from django.contrib import admin
from django.templatetags.static import static
from django.urls import path
from django.utils.functional import lazy
from django.views.generic import RedirectView

from core.admin import cards as print_cards
from core.admin import dashboard, door_boards
from core.admin import timetable as timetable_views
from core.ops import media
from core.ops.health import TasksHealthView, WebHealthView
from core.ops.metrics import metrics_view
from core.web import kiosk_api as kiosk
from core.web import kiosk_worker as kiosk_sw
from core.web import views, webhooks

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    # Browsers ask for /favicon.ico on every page that names no icon (unfold's pages name none):
    # without this, every page logs a 404 in the console.
    path("favicon.ico", RedirectView.as_view(url=lazy(static, str)("core/logo.svg"), permanent=False)),
    path("health/", WebHealthView.as_view(), name="health"),
    path("health/tasks/", TasksHealthView.as_view(), name="health-tasks"),
    # Prometheus scrapes; off unless METRICS_TOKEN is set (core/ops/metrics.py).
    path("metrics", metrics_view, name="metrics"),
    # unfold's language menu posts to the view named "set_language"; ours also remembers the
    # choice on the staff member's account.
    path("i18n/setlang/", views.language_set, name="set_language"),
    # Our own admin pages, before admin.site.urls so its catch-all does not take them.
    path("admin/print/student-cards/", admin.site.admin_view(print_cards.student_cards), name="print-student-cards"),
    path("admin/print/teacher-cards/", admin.site.admin_view(print_cards.teacher_cards), name="print-teacher-cards"),
    path("admin/timetable/", admin.site.admin_view(timetable_views.timetable), name="timetable"),
    path(
        "admin/dashboard/at-risk/message/",
        admin.site.admin_view(dashboard.at_risk_message),
        name="dashboard-at-risk-message",
    ),
    path(
        "admin/dashboard/chart/<slug:name>/",
        admin.site.admin_view(dashboard.chart_export),
        name="dashboard-chart-export",
    ),
    # The door's tablets: device token, no staff login (core/web/kiosk_api.py).
    path("kiosk/", kiosk.kiosk_page, name="kiosk"),
    path("kiosk/scan/", kiosk.kiosk_scan, name="kiosk-scan"),
    path("kiosk/roster/", kiosk.kiosk_roster, name="kiosk-roster"),
    path("kiosk/sw.js", kiosk_sw.kiosk_service_worker, name="kiosk-sw"),
    path("admin/door/", admin.site.admin_view(kiosk.door_page), name="door"),
    path("admin/door/scan/", admin.site.admin_view(kiosk.door_scan), name="door-scan"),
    path("admin/door/roster/", admin.site.admin_view(kiosk.door_roster_view), name="door-roster"),
    path("admin/door/today/", admin.site.admin_view(door_boards.sessions_today), name="door-today"),
    path(
        "admin/door/today/<int:pk>/teacher/",
        admin.site.admin_view(door_boards.teacher_arrived),
        name="door-teacher-arrived",
    ),
    path(
        "admin/door/session/<int:pk>/",
        admin.site.admin_view(door_boards.session_attendance),
        name="door-session-attendance",
    ),
    path("admin/door/sheet/", admin.site.admin_view(door_boards.attendance_sheet), name="door-sheet"),
    # Providers' delivery receipts and parents' replies: signed or secret, no login (core/web/webhooks.py).
    path("webhooks/whatsapp/", webhooks.whatsapp_cloud_webhook, name="webhook-whatsapp-cloud"),
    path("webhooks/ultramsg/", webhooks.ultramsg_webhook, name="webhook-ultramsg"),
    path("webhooks/ultramsg/<str:secret>/", webhooks.ultramsg_webhook, name="webhook-ultramsg-secret"),
    path("admin/", admin.site.urls),
    # Uploads, in every mode: staff or a signed kiosk URL, never public (core/ops/media.py).
    path(f"{settings.MEDIA_URL.strip('/')}/<path:name>", media.media_serve, name="media"),
]
