"""Callbacks unfold calls for the site's logo and the environment badge."""

from django.conf import settings
from django.templatetags.static import static
from django.utils.translation import gettext as _


def site_logo(request) -> str:
    return static("core/logo.svg")


def environment_badge(request) -> list[str] | None:
    if settings.APP_ENV == "development":
        return [_("Development"), "warning"]
    return None
