"""Uploads and backups on S3-compatible object storage, against a real S3 server on 127.0.0.1
(moto's server mode, started here): upload, signed link, backup, restore."""

import datetime
import json
import os
import subprocess
import sys

import boto3
import pytest
import time_machine
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from moto.server import ThreadedMotoServer

from core.models import Backup, Student
from core.ops.media import media_url_signed
from core.services import backups
from core.services.backup_archive import archive_restore, scratch_database, storage_names
from tests.conftest import make_staff
from tests.factories import make_student

BUCKET = "center-uploads"
PHOTO = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 20


@pytest.fixture(scope="module")
def s3_server():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def s3_options(endpoint: str, location: str) -> dict:
    return {
        "bucket_name": BUCKET,
        "endpoint_url": endpoint,
        "region_name": "us-east-1",
        "access_key": "test-key",
        "secret_key": "test-secret",
        "default_acl": None,
        "querystring_auth": True,
        "file_overwrite": False,
        "location": location,
    }


@pytest.fixture
def s3(settings, s3_server, request):
    """A fresh bucket; uploads under media/, backups under backups/, as production configures them."""
    client = boto3.client(
        "s3", endpoint_url=s3_server, region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s"
    )
    client.create_bucket(Bucket=BUCKET)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "core.ops.storage_s3.PrivateMediaS3Storage", "OPTIONS": s3_options(s3_server, "media")},
        "backups": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": s3_options(s3_server, "backups")},
    }
    yield client
    objects = client.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    for item in objects:
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def bucket_keys(client) -> set[str]:
    return {item["Key"] for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", [])}


def test_settings_put_uploads_and_backups_in_the_bucket_when_the_environment_names_one(s3_server):
    script = (
        "import django, json; from django.conf import settings; django.setup(); "
        "print(json.dumps({alias: [conf['BACKEND'], str(conf.get('OPTIONS', {}).get('location', ''))] "
        "for alias, conf in settings.STORAGES.items() if alias != 'staticfiles'}))"
    )
    base = {**os.environ, "APP_ENV": "test", "DJANGO_SETTINGS_MODULE": "project.settings"}
    with_s3 = {**base, "AWS_STORAGE_BUCKET_NAME": BUCKET, "AWS_S3_ENDPOINT_URL": s3_server}
    without_s3 = {key: value for key, value in base.items() if not key.startswith("AWS_")}
    configured = json.loads(
        subprocess.run([sys.executable, "-c", script], env=with_s3, capture_output=True, check=True).stdout
    )
    plain = json.loads(
        subprocess.run([sys.executable, "-c", script], env=without_s3, capture_output=True, check=True).stdout
    )

    assert configured == {
        "default": ["core.ops.storage_s3.PrivateMediaS3Storage", "media"],
        "backups": ["storages.backends.s3.S3Storage", "backups"],
    }
    assert plain["default"][0] == plain["backups"][0] == "django.core.files.storage.FileSystemStorage"


def test_an_uploaded_photo_lands_in_the_bucket_and_staff_fetch_it_through_our_view(s3, client, main_branch):
    student = make_student(main_branch)
    student.photo.save("1001.jpg", ContentFile(PHOTO), save=True)

    assert f"media/{student.photo.name}" in bucket_keys(s3)
    # The browser never talks to the bucket: the link is ours (CSP img-src 'self' holds).
    assert student.photo.url == f"/media/{student.photo.name}"
    assert client.get(student.photo.url).status_code == 403
    client.force_login(make_staff("desk1", None, main_branch))
    response = client.get(student.photo.url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PHOTO


def test_the_kiosks_signed_link_serves_the_object_until_it_expires(s3, client, main_branch):
    name = default_storage.save("students/1002.jpg", ContentFile(PHOTO))
    with time_machine.travel(datetime.datetime(2026, 3, 1, 10, 0, tzinfo=datetime.UTC), tick=False):
        url = media_url_signed(name, max_age=60)
        assert url.startswith(f"/media/{name}?s=60:")
        response = client.get(url)
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == PHOTO
    with time_machine.travel(datetime.datetime(2026, 3, 1, 10, 2, tzinfo=datetime.UTC), tick=False):
        assert client.get(url).status_code == 403


def test_a_backup_goes_to_the_bucket_verifies_and_restores_every_file(s3, settings, s3_server, main_branch, tmp_path):
    students = [make_student(main_branch) for _ in range(3)]
    for index, student in enumerate(students):
        student.photo.save(f"{index}.jpg", ContentFile(PHOTO + bytes([index])), save=True)

    backup = backups.backup_create()

    assert backup.verification == Backup.Verification.PASSED, backup.verification_detail
    assert f"backups/{backup.name}" in bucket_keys(s3)
    path = backups.backup_archive_fetch(backup.name, tmp_path / "restore.zip")
    # An empty deployment: a new database and an empty place in the bucket.
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "core.ops.storage_s3.PrivateMediaS3Storage",
            "OPTIONS": s3_options(s3_server, "restored"),
        },
    }
    with scratch_database() as target:
        archive_restore(path, storage=default_storage, using=target)
        restored_students = list(Student.objects.using(target).order_by("pk").values_list("pk", "photo"))
    assert restored_students == [(student.pk, student.photo.name) for student in students]
    assert sorted(storage_names(default_storage)) == sorted(student.photo.name for student in students)
    for index, student in enumerate(students):
        with default_storage.open(student.photo.name, "rb") as restored:
            assert restored.read() == PHOTO + bytes([index])
