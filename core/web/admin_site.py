"""The admin site: unfold's, with two costs every admin page paid taken out.

unfold decides whether to show each sidebar link with ``lazy(callback)(request) == True``:
``lazy`` builds a new proxy class on every call, and the sidebar has about 55 links, so every
admin page paid ~10 ms for classes it threw away (bench/pages.py; a tenth of a small list's
time). This site calls the callback directly, with the same result.

Django's ``each_context`` also builds the list of every app and model (four permission checks and
two URL reversals per model) for every page, for a sidebar that unfold only draws from it when
``show_all_applications`` is on, which it is not here (the sidebar is core/web/navigation.py).
The list is now built when something reads it (the admin index, an app's index).

``SiteConfig`` replaces ``"unfold"`` in INSTALLED_APPS: it installs this site where unfold's own
app config would install ``UnfoldAdminSite`` (before the admin modules register their models).
"""

from collections.abc import Callable

from django.contrib import admin
from django.contrib.admin import sites
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject
from django.utils.module_loading import import_string
from unfold.apps import DefaultAppConfig
from unfold.sites import UnfoldAdminSite


class CenterAdminSite(UnfoldAdminSite):
    def get_app_list(self, request: HttpRequest, app_label: str | None = None):
        return SimpleLazyObject(lambda: super(CenterAdminSite, self).get_app_list(request, app_label))

    def _call_permission_callback(self, callback: str | Callable | None, request: HttpRequest) -> bool:
        if callback is None:
            return True
        if isinstance(callback, str):
            try:
                check = import_string(callback)
            except ImportError:
                return False  # as unfold: a path that does not import hides the link
        else:
            check = callback
        return check(request) == True  # noqa: E712  (unfold's test: only a true result shows the link)


class SiteConfig(DefaultAppConfig):
    def ready(self) -> None:
        site = CenterAdminSite()
        admin.site = site
        sites.site = site
