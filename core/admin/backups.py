"""Backups (owner only): the list with each backup's verification, download, and "back up now"."""

import logging

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from unfold.admin import ModelAdmin
from unfold.decorators import action, display

from core.access.roles import is_owner
from core.admin.base import ReadOnlyMixin
from core.models import Backup
from core.services.backups import backup_request, backup_storage

logger = logging.getLogger(__name__)


@admin.register(Backup)
class BackupAdmin(ReadOnlyMixin, ModelAdmin):
    list_display = ["created_at", "kind", "size_shown", "rows_shown", "file_count", "verification_shown", "download"]
    list_filter = ["kind", "verification"]
    list_select_related = ["created_by"]
    date_hierarchy = "created_at"
    actions_list = ["back_up_now"]
    fields = [
        "name",
        "kind",
        "created_at",
        "created_by",
        "size",
        "sha256",
        "app_version",
        "file_count",
        "verification",
        "verified_at",
        "verification_detail",
        "row_counts",
        "migrations",
    ]
    readonly_fields = fields

    # Owner only: a backup is every record and every upload of the center.
    def has_module_permission(self, request):
        return is_owner(request.user)

    def has_view_permission(self, request, obj=None):
        return is_owner(request.user)

    def has_back_up_permission(self, request):
        return is_owner(request.user)

    @display(description=gettext_lazy("size"), ordering="size")
    def size_shown(self, obj: Backup) -> str:
        return filesizeformat(obj.size)

    @display(description=gettext_lazy("rows"))
    def rows_shown(self, obj: Backup) -> int:
        return obj.total_rows

    @display(
        description=gettext_lazy("verification"),
        label={
            Backup.Verification.PASSED: "success",
            Backup.Verification.FAILED: "danger",
            Backup.Verification.PENDING: "info",
        },
    )
    def verification_shown(self, obj: Backup):
        return obj.verification, obj.get_verification_display()

    @display(description=gettext_lazy("download"))
    def download(self, obj: Backup) -> str:
        return format_html(
            '<a href="{}" class="text-primary-600">{}</a>',
            reverse("admin:core_backup_download", args=[obj.pk]),
            _("Download"),
        )

    @action(description=gettext_lazy("Back up now"), icon="backup", permissions=["back_up"])
    def back_up_now(self, request):
        return HttpResponseRedirect(reverse("admin:core_backup_now"))

    def get_urls(self):
        view = self.admin_site.admin_view
        own = [
            path("now/", view(self.back_up_now_view), name="core_backup_now"),
            path("<int:pk>/download/", view(self.download_view), name="core_backup_download"),
        ]
        return own + super().get_urls()

    def back_up_now_view(self, request):
        """Asks on GET; on POST queues a backup (the worker writes, verifies and audits it)."""
        if not is_owner(request.user):
            raise PermissionDenied
        back_url = reverse("admin:core_backup_changelist")
        if request.method != "POST":
            return TemplateResponse(
                request,
                "admin/money/confirm.html",
                {
                    **self.admin_site.each_context(request),
                    "opts": self.model._meta,
                    "title": _("Back up now"),
                    "question": _(
                        "Back up the whole center now (every record and every uploaded file)? "
                        "The backup appears in this list when it is written and verified."
                    ),
                    "back_url": back_url,
                },
            )
        backup_request(actor=request.user)
        messages.success(request, _("The backup has started. It appears here when it is written and verified."))
        return HttpResponseRedirect(back_url)

    def download_view(self, request, pk: int):
        if not is_owner(request.user):
            raise PermissionDenied
        backup = get_object_or_404(Backup, pk=pk)
        try:
            archive = backup_storage().open(backup.name, "rb")
        except FileNotFoundError:
            raise Http404 from None
        logger.info("backup downloaded: %s by user %s", backup.name, request.user.pk)
        return FileResponse(archive, as_attachment=True, filename=backup.name, content_type="application/zip")
