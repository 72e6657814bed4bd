"""Uploaded spreadsheets are kept only while an import may still need them.

A file is read to check it and again to apply it. Once the import is done, failed or could not be
imported, the history keeps everything it shows (counts, per-row outcome, the error sheet is
rebuilt from ``rows``), so the upload itself goes after ``KEEP_FINISHED``; it holds names and
phone numbers the center need not keep. An upload that was checked but never applied expires
after ``KEEP_UNAPPLIED``: the job is marked failed with a message saying to upload it again.
"""

import datetime
import logging

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.models import ImportJob

logger = logging.getLogger(__name__)

KEEP_FINISHED = datetime.timedelta(days=7)
KEEP_UNAPPLIED = datetime.timedelta(days=30)
FINISHED = (ImportJob.Status.DONE, ImportJob.Status.FAILED, ImportJob.Status.INVALID)
UNAPPLIED = (ImportJob.Status.QUEUED, ImportJob.Status.READY)


def import_files_clean_up(*, now: datetime.datetime | None = None) -> int:
    """Delete the uploads no import needs any more; returns how many were deleted."""
    now = now or timezone.now()
    expired = ImportJob.objects.filter(status__in=UNAPPLIED, created_at__lt=now - KEEP_UNAPPLIED).exclude(file="")
    for job_id in expired.values_list("pk", flat=True):
        with transaction.atomic():
            job = ImportJob.objects.select_for_update().get(pk=job_id)
            if job.status in UNAPPLIED:  # not started meanwhile
                job.status = ImportJob.Status.FAILED
                job.message = _("This upload was never imported and has expired. Upload the file again.")
                job.save(update_fields=["status", "message"])
    deleted = 0
    finished = ImportJob.objects.filter(status__in=FINISHED, created_at__lt=now - KEEP_FINISHED).exclude(file="")
    for job in finished.only("pk", "file"):
        name = job.file.name
        try:
            job.file.storage.delete(name)
        except OSError:
            logger.warning("import upload %s could not be deleted; will try again", name)
            continue
        ImportJob.objects.filter(pk=job.pk).update(file="")
        deleted += 1
    return deleted
