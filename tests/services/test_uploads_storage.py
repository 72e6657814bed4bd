"""Uploads on a broken disk (issue 15, item 5): a storage that refuses a write keeps nothing.

The services write a new file before its row (core/ops/storage.py ``uploads_written_first``): a refused
write deletes the part that was written, logs the storage and path for the operator and raises
UploadFailed (a ValidationError on the file's field) inside the service's transaction, so no
student, guardian, job or audit row is left either.
"""

import logging

import boto3
import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from moto.server import ThreadedMotoServer

from core.imports.jobs import import_job_create
from core.models import AuditLog, CenterSettings, Guardian, ImportJob, Student
from core.ops.storage import UploadFailed, uploads_written_first
from core.services.records import record_save
from core.services.students import GuardianInput, student_register, student_update
from tests.factories import make_student
from tests.import_sheets import clean_rows, csv_bytes
from tests.refusing_storage import PHOTO, files_under, refusing_disk_fixture  # noqa: F401  (the refusing_disk fixture)

pytestmark = pytest.mark.django_db


def refusal_logged(caplog, folder: str) -> bool:
    return any(
        record.levelno == logging.ERROR
        and record.name == "core.ops.storage"
        and "upload refused" in record.getMessage()
        and folder in record.path
        for record in caplog.records
    )


def test_a_refused_photo_registers_no_student_and_leaves_no_file(refusing_disk, main_branch, receptionist, caplog):
    with pytest.raises(UploadFailed) as refused:
        student_register(
            actor=receptionist,
            full_name="مريم خالد",
            branch=main_branch,
            guardians=[GuardianInput(phone="01001234567", full_name="خالد")],
            photo=SimpleUploadedFile("mariam.jpg", PHOTO, content_type="image/jpeg"),
        )
    assert [error.code for error in refused.value.error_dict["photo"]] == ["upload_failed"]
    assert "mariam.jpg" in refused.value.message_dict["photo"][0]
    assert not Student.objects.exists() and not Guardian.objects.exists()
    assert not AuditLog.objects.filter(model="core.student").exists()
    assert files_under(refusing_disk) == []
    assert refusal_logged(caplog, "students/")
    logged = next(record for record in caplog.records if record.name == "core.ops.storage")
    assert "مريم" not in logged.getMessage() and "01001234567" not in logged.getMessage()


def test_a_refused_photo_leaves_the_student_as_it_was(refusing_disk, main_branch, receptionist, caplog):
    student = make_student(main_branch, name="سارة علي")
    with pytest.raises(UploadFailed):
        student_update(
            actor=receptionist,
            student=student,
            full_name="سارة علي حسن",
            photo=SimpleUploadedFile("sara.png", PHOTO, content_type="image/png"),
        )
    student.refresh_from_db()
    assert (student.full_name, student.photo.name) == ("سارة علي", "")
    assert not AuditLog.objects.filter(model="core.student", action=AuditLog.Action.UPDATE).exists()
    assert files_under(refusing_disk) == []
    assert refusal_logged(caplog, "students/")


def test_a_refused_import_file_makes_no_job_and_leaves_no_file(refusing_disk, main_branch, receptionist, caplog):
    sheet = csv_bytes(clean_rows() * 100)  # ~90 KB: bigger than the 64 KiB disk
    with pytest.raises(UploadFailed) as refused:
        import_job_create(
            actor=receptionist,
            kind=ImportJob.Kind.STUDENTS,
            branch=main_branch,
            upload=SimpleUploadedFile("students.csv", sheet),
        )
    assert list(refused.value.error_dict) == ["file"]
    assert not ImportJob.objects.exists()
    assert files_under(refusing_disk) == []
    assert refusal_logged(caplog, "imports/")


def test_a_refused_logo_leaves_the_center_settings_as_they_were(refusing_disk, owner, caplog):
    center = CenterSettings.load()
    center.center_name_en = "Bright Minds"
    center.logo = ContentFile(PHOTO, name="logo.png")
    with pytest.raises(UploadFailed):
        record_save(actor=owner, instance=center)
    stored = CenterSettings.load()
    assert (stored.center_name_en, stored.logo.name) == ("Center", "")
    assert files_under(refusing_disk) == []
    assert refusal_logged(caplog, "branding/")


def test_a_file_written_before_a_save_that_fails_is_deleted(settings, tmp_path, main_branch):
    settings.MEDIA_ROOT = str(tmp_path)
    student = Student(code="7001", full_name="طالب", search_key="طالب", branch=main_branch)
    student.photo = SimpleUploadedFile("late.jpg", PHOTO)
    with pytest.raises(RuntimeError), uploads_written_first(student) as written:
        assert (tmp_path / written[0]).is_file()  # the file is on disk before the row
        raise RuntimeError("the row could not be saved")
    assert files_under(tmp_path) == []


def test_a_photo_on_a_working_disk_is_stored_once_with_the_student(settings, tmp_path, main_branch, receptionist):
    settings.MEDIA_ROOT = str(tmp_path)
    student = make_student(main_branch, photo=SimpleUploadedFile("ok.jpg", PHOTO))
    assert student.photo.name.startswith("students/ok")
    assert [path.relative_to(tmp_path).as_posix() for path in files_under(tmp_path)] == [student.photo.name]
    assert (tmp_path / student.photo.name).read_bytes() == PHOTO
    entry = AuditLog.objects.get(model="core.student", object_id=str(student.pk))
    assert entry.changes["photo"] == [None, student.photo.name]


@pytest.fixture
def s3_without_its_bucket(settings):
    """A real S3 server on 127.0.0.1 (moto) whose bucket is gone: every write is refused."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "core.ops.storage_s3.PrivateMediaS3Storage",
            "OPTIONS": {
                "bucket_name": "center-uploads-gone",
                "endpoint_url": endpoint,
                "region_name": "us-east-1",
                "access_key": "test-key",
                "secret_key": "test-secret",
                "default_acl": None,
                "file_overwrite": False,
                "location": "media",
            },
        },
    }
    yield boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s"
    )
    server.stop()


def test_a_photo_refused_by_object_storage_registers_no_student(s3_without_its_bucket, main_branch, caplog):
    with pytest.raises(UploadFailed):
        student_register(
            actor=None,
            full_name="ليلى سمير",
            branch=main_branch,
            guardians=[GuardianInput(phone="01007654321")],
            photo=SimpleUploadedFile("laila.jpg", PHOTO),
        )
    assert not Student.objects.exists()
    assert refusal_logged(caplog, "students/")
    assert s3_without_its_bucket.list_buckets()["Buckets"] == []
