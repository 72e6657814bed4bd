"""Spreadsheet imports: one row per uploaded file, its check (preview) and its outcome."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.models.org import Branch


class ImportJob(models.Model):
    """Who imported which file, what the check found, and whether it was applied.

    ``rows`` keeps the per-row outcome of the last check (row number, action, label and
    errors) so the preview can be paged and the error report rebuilt without re-checking.
    """

    class Kind(models.TextChoices):
        STUDENTS = "students", _("Students")
        TEACHERS = "teachers", _("Teachers")
        GROUPS = "groups", _("Groups and timetable")
        EXPENSES = "expenses", _("Expenses")
        ITEMS = "items", _("Notes and books")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting to be checked")
        CHECKING = "checking", _("Checking")
        READY = "ready", _("Checked")
        INVALID = "invalid", _("Cannot be imported")
        APPLYING = "applying", _("Importing")
        DONE = "done", _("Imported")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.STUDENTS)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.QUEUED)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(_("imported at"), null=True, blank=True)
    branch = models.ForeignKey(Branch, verbose_name=_("branch"), on_delete=models.PROTECT, related_name="+")
    file = models.FileField(_("file"), upload_to="imports/%Y/%m/")
    file_name = models.CharField(_("file name"), max_length=255)
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    new_count = models.PositiveIntegerField(_("new"), default=0)
    update_count = models.PositiveIntegerField(_("updated"), default=0)
    unchanged_count = models.PositiveIntegerField(_("unchanged"), default=0)
    duplicate_count = models.PositiveIntegerField(_("duplicates"), default=0)
    error_count = models.PositiveIntegerField(_("errors"), default=0)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    message = models.TextField(_("message"), blank=True)
    ignored_columns = models.JSONField(_("ignored columns"), default=list, blank=True)
    # What the file holds that is not imported (other worksheets and why), shown with the preview.
    notes = models.JSONField(_("notes"), default=list, blank=True)
    rows = models.JSONField(default=list, blank=True, editable=False)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("import history")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.file_name}"

    @property
    def is_running(self) -> bool:
        return self.status in {self.Status.QUEUED, self.Status.CHECKING, self.Status.APPLYING}

    @property
    def can_apply(self) -> bool:
        return self.status == self.Status.READY and self.error_count == 0 and self.total_rows > 0
