"""Backups of the whole center: one archive per backup (database rows and uploaded files).

The archive itself lives in the "backups" storage (local disk or S3-compatible object storage);
this row says what is in it and whether it was restored into a scratch database and matched.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Backup(models.Model):
    class Kind(models.TextChoices):
        MANUAL = "manual", _("Manual")
        DAILY = "daily", _("Daily")
        RELEASE = "release", _("Before a release")

    class Verification(models.TextChoices):
        PENDING = "pending", _("Not verified yet")
        PASSED = "passed", _("Verified")
        FAILED = "failed", _("Verification failed")

    name = models.CharField(_("file name"), max_length=255, unique=True)
    size = models.BigIntegerField(_("size (bytes)"), default=0)
    sha256 = models.CharField(_("checksum (SHA-256)"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.MANUAL)
    app_version = models.CharField(_("app version"), max_length=32, blank=True)
    migrations = models.JSONField(_("migrations"), default=list, blank=True)
    row_counts = models.JSONField(_("rows per table"), default=dict, blank=True)
    file_count = models.PositiveIntegerField(_("uploaded files"), default=0)
    verification = models.CharField(
        _("verification"), max_length=16, choices=Verification.choices, default=Verification.PENDING
    )
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    verification_detail = models.TextField(_("verification result"), blank=True)

    class Meta:
        verbose_name = _("backup")
        verbose_name_plural = _("backups")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name

    @property
    def total_rows(self) -> int:
        return sum(self.row_counts.values())
