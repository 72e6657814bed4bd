"""Old uploads are deleted once no import needs them (core/imports/uploads.py)."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone, translation

from core.imports.jobs import import_job_create
from core.imports.uploads import import_files_clean_up
from core.models import ImportJob


@pytest.fixture
def upload_dir(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def uploaded(branch, status, days_ago):
    job = import_job_create(
        actor=None, kind="students", branch=branch, upload=SimpleUploadedFile("طلاب.csv", "الاسم\nأحمد\n".encode())
    )
    ImportJob.objects.filter(pk=job.pk).update(
        status=status, created_at=timezone.now() - datetime.timedelta(days=days_ago)
    )
    job.refresh_from_db()
    return job


def test_finished_uploads_go_after_a_week_and_the_history_stays(main_branch, upload_dir):
    old_done = uploaded(main_branch, ImportJob.Status.DONE, 8)
    old_invalid = uploaded(main_branch, ImportJob.Status.INVALID, 8)
    recent_done = uploaded(main_branch, ImportJob.Status.DONE, 2)
    paths = {job.pk: upload_dir / job.file.name for job in (old_done, old_invalid, recent_done)}
    assert all(path.exists() for path in paths.values())

    assert import_files_clean_up() == 2
    assert not paths[old_done.pk].exists() and not paths[old_invalid.pk].exists()
    assert paths[recent_done.pk].exists()
    old_done.refresh_from_db()
    assert old_done.file.name == "" and old_done.file_name == "طلاب.csv" and old_done.status == ImportJob.Status.DONE
    assert import_files_clean_up() == 0  # nothing left to do


def test_an_upload_never_applied_expires_after_a_month(main_branch, upload_dir):
    forgotten = uploaded(main_branch, ImportJob.Status.READY, 31)
    forgotten_path = upload_dir / forgotten.file.name
    waiting = uploaded(main_branch, ImportJob.Status.READY, 10)
    running = uploaded(main_branch, ImportJob.Status.APPLYING, 40)

    with translation.override("en"):
        import_files_clean_up()
    forgotten.refresh_from_db()
    assert forgotten.status == ImportJob.Status.FAILED and "Upload the file again" in forgotten.message
    waiting.refresh_from_db()
    running.refresh_from_db()
    assert waiting.status == ImportJob.Status.READY and waiting.file.name
    assert running.status == ImportJob.Status.APPLYING and running.file.name  # never touched while running
    # expired, it is a finished job older than a week: its file goes in the same run
    assert forgotten.file.name == "" and not forgotten_path.exists()
