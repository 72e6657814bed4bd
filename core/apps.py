from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = _("Center")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib import admin

        from core.access import roles
        from core.ops import checks  # noqa: F401

        # unfold's login page plus a language switch. unfold comes before core in INSTALLED_APPS,
        # so a template named admin/login.html here would never be found; name ours instead.
        admin.site.login_template = "core/login.html"
        admin.site.index_template = "core/dashboard.html"
        admin.site.index_title = _("Dashboard")  # not Django's "Site administration"

        # Runs after Django's own create_permissions (auth is ready first), so every
        # permission a role names already exists.
        post_migrate.connect(roles.sync_after_migrate, sender=self, dispatch_uid="core.access.roles.sync")
