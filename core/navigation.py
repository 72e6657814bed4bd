"""The sidebar, grouped by concern. Each link shows only to users holding its permission."""

from collections.abc import Callable

from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _


def can(permission: str) -> Callable:
    return lambda request: request.user.has_perm(permission)


def link(title, icon: str, url_name: str, permission: str) -> dict:
    return {"title": title, "icon": icon, "link": reverse_lazy(url_name), "permission": can(permission)}


def sidebar(request) -> list[dict]:
    return [
        {
            "items": [
                {"title": _("Dashboard"), "icon": "dashboard", "link": reverse_lazy("admin:index")},
            ],
        },
        {
            "title": _("Center"),
            "collapsible": True,
            "items": [
                link(_("Branches"), "apartment", "admin:core_branch_changelist", "core.view_branch"),
            ],
        },
        {
            "title": _("Staff and access"),
            "collapsible": True,
            "items": [
                link(_("Staff"), "badge", "admin:core_user_changelist", "core.view_user"),
                link(_("Roles"), "group", "admin:auth_group_changelist", "auth.view_group"),
                link(_("Login lockouts"), "lock", "admin:axes_accessattempt_changelist", "axes.view_accessattempt"),
            ],
        },
        {
            "title": _("System"),
            "collapsible": True,
            "items": [
                link(_("Scheduled jobs"), "schedule", "admin:django_q_schedule_changelist", "django_q.view_schedule"),
                link(_("Failed jobs"), "error", "admin:django_q_failure_changelist", "django_q.view_failure"),
            ],
        },
    ]
