"""Import jobs: the admin's uploads (``ImportJob``), checked and applied inline, or by a django-q2
task for files over ``BACKGROUND_ROWS`` rows (core/tasks.py calls in here), with their progress,
their stored outcome, and the failure of a task that crashed."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core.imports.engine import import_run
from core.imports.reader import row_count_estimate
from core.imports.results import DUPLICATE, ERROR, NEW, UNCHANGED, UPDATE, ImportResult
from core.models import Branch, ImportJob
from core.ops.storage import uploads_written_first

BACKGROUND_ROWS = 2000  # bigger files are checked and applied by a django-q2 task
TASK_HOOK = "core.tasks.import_job_finished"
RUNNING_STATUSES = (ImportJob.Status.QUEUED, ImportJob.Status.CHECKING, ImportJob.Status.APPLYING)


def import_job_create(*, actor, kind: str, branch: Branch, upload) -> ImportJob:
    """Keep the upload and its job. A storage that refuses the file (full or read-only disk)
    raises UploadFailed (core/ops/storage.py) with nothing kept: no partial file, no job."""
    job = ImportJob(kind=kind, branch=branch, created_by=actor, file_name=upload.name[:255])
    job.file = upload
    with uploads_written_first(job):
        job.save()
    return job


def row_estimate(data: bytes) -> int:
    """The rows of a file, counted cheaply, to decide whether it is checked in the background."""
    return row_count_estimate(data)


def job_data(job: ImportJob) -> bytes:
    with job.file.open("rb") as handle:
        return handle.read()


def _job_progress(job_id: int):
    last = {"value": -1}

    def report(done: int, total: int) -> None:
        value = min(99, int(done * 100 / total)) if total else 0
        if value != last["value"]:
            last["value"] = value
            ImportJob.objects.filter(pk=job_id).update(progress=value)

    return report


def _job_store(job: ImportJob, result: ImportResult, *, status: str) -> None:
    counts = result.counts
    job.total_rows = len(result.rows)
    job.new_count, job.update_count = counts[NEW], counts[UPDATE]
    job.unchanged_count, job.error_count = counts[UNCHANGED], counts[ERROR]
    job.duplicate_count = counts[DUPLICATE]
    job.rows = [row.as_json() for row in result.rows]
    job.ignored_columns = result.ignored_columns
    job.notes = result.notes
    job.message = result.file_error
    job.progress = 100
    job.status = status


def import_job_check(*, job_id: int) -> ImportJob:
    """Check (preview) an uploaded file: every row's outcome, nothing written but the job."""
    job = ImportJob.objects.select_related("created_by", "branch").get(pk=job_id)
    job.status = ImportJob.Status.CHECKING
    job.save(update_fields=["status"])
    with translation.override(getattr(job.created_by, "language", None) or translation.get_language()):
        result = import_run(
            kind=job.kind,
            data=job_data(job),
            file_name=job.file_name,
            branch=job.branch,
            actor=job.created_by,
            apply=False,
            progress=_job_progress(job.pk),
        )
    _job_store(job, result, status=ImportJob.Status.INVALID if result.file_error else ImportJob.Status.READY)
    job.save()
    return job


def import_job_apply(*, job_id: int, actor) -> ImportJob:
    """Apply a checked file: checked again inside the transaction, then all rows or none."""
    job = ImportJob.objects.select_related("created_by", "branch").get(pk=job_id)
    with translation.override(getattr(actor, "language", None) or translation.get_language()):
        result = import_run(
            kind=job.kind,
            data=job_data(job),
            file_name=job.file_name,
            branch=job.branch,
            actor=actor,
            apply=True,
            reason=_("Import of %(file)s (#%(id)s)") % {"file": job.file_name, "id": job.pk},
        )
        if result.applied:
            _job_store(job, result, status=ImportJob.Status.DONE)
            job.finished_at = timezone.now()
        elif result.file_error:
            _job_store(job, result, status=ImportJob.Status.FAILED)
        else:
            _job_store(job, result, status=ImportJob.Status.READY)
            job.message = _(
                "Nothing was imported: the file changed or the data did since the check. See the errors below."
            )
    job.save()
    return job


def import_job_start_apply(*, job: ImportJob, actor) -> ImportJob:
    """Mark a job as importing and queue it (big files) or run it now."""
    if not job.can_apply:
        raise ValidationError(_("This file cannot be imported: fix the errors and upload it again."))
    updated = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.READY).update(
        status=ImportJob.Status.APPLYING, progress=0
    )
    if not updated:
        raise ValidationError(_("This import is already running or finished."))
    if job.total_rows > BACKGROUND_ROWS:
        from django_q.tasks import async_task

        transaction.on_commit(lambda: async_task("core.tasks.import_job_apply", job.pk, actor.pk, hook=TASK_HOOK))
        job.refresh_from_db()
        return job
    return import_job_apply(job_id=job.pk, actor=actor)


def import_job_fail(*, job_id: int) -> None:
    """A background check or import that crashed: the job says so (the transaction rolled back)."""
    ImportJob.objects.filter(pk=job_id, status__in=[s.value for s in RUNNING_STATUSES]).update(
        status=ImportJob.Status.FAILED,
        progress=100,
        message=_("The import stopped because of an internal error; nothing was imported. Upload the file again."),
    )


def import_job_start_check(*, job: ImportJob) -> ImportJob:
    if row_estimate(job_data(job)) > BACKGROUND_ROWS:
        from django_q.tasks import async_task

        transaction.on_commit(lambda: async_task("core.tasks.import_job_check", job.pk, hook=TASK_HOOK))
        return job
    return import_job_check(job_id=job.pk)
