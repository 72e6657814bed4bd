"""The backups page: owner only; "back up now" asks on GET and acts on POST (audited); downloads stream."""

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from core.models import AuditLog, Backup

CHANGELIST = reverse("admin:core_backup_changelist")
NOW = reverse("admin:core_backup_now")


@pytest.fixture
def storage_dirs(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "media"},
        },
        "backups": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "backups"},
        },
    }
    return tmp_path


@pytest.fixture
def listed_backup(storage_dirs, db) -> Backup:
    from core.services.backups import backup_storage

    name = backup_storage().save("syseducore-20260301-023000-daily.zip", ContentFile(b"PK archive bytes"))
    return Backup.objects.create(
        name=name,
        kind=Backup.Kind.DAILY,
        size=16,
        row_counts={"core.student": 40, "core.group": 2},
        verification=Backup.Verification.PASSED,
        verification_detail="42 rows in 2 tables and 0 files restored and matched.",
    )


def download_url(backup: Backup) -> str:
    return reverse("admin:core_backup_download", args=[backup.pk])


@pytest.mark.parametrize("page", ["changelist", "now", "download"])
def test_anonymous_is_sent_to_the_login(client, listed_backup, page):
    url = {"changelist": CHANGELIST, "now": NOW, "download": download_url(listed_backup)}[page]
    response = client.get(url)
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


@pytest.mark.parametrize("page", ["changelist", "now", "download"])
def test_staff_who_are_not_the_owner_are_refused(client, manager, listed_backup, page):
    client.force_login(manager)
    url = {"changelist": CHANGELIST, "now": NOW, "download": download_url(listed_backup)}[page]
    assert client.get(url).status_code == 403
    assert client.post(NOW).status_code == 403
    assert Backup.objects.count() == 1


def test_owner_sees_each_backup_with_its_verification(client, owner, listed_backup):
    client.force_login(owner)
    response = client.get(CHANGELIST)
    assert response.status_code == 200
    assert listed_backup.get_verification_display() in response.text
    assert download_url(listed_backup) in response.text
    assert reverse("admin:core_backup_back_up_now") in response.text


def test_back_up_now_asks_first_and_changes_nothing_on_get(client, owner, storage_dirs):
    client.force_login(owner)
    response = client.get(NOW)
    assert response.status_code == 200
    assert 'method="post"' in response.text
    assert not Backup.objects.exists()
    assert not AuditLog.objects.filter(model="core.backup").exists()


def test_back_up_now_on_post_writes_a_verified_backup_audited_under_the_owner(
    client, owner, storage_dirs, django_capture_on_commit_callbacks
):
    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(NOW)
    assert response.status_code == 302
    backup = Backup.objects.get()
    assert (backup.kind, backup.created_by) == (Backup.Kind.MANUAL, owner)
    assert backup.verification == Backup.Verification.PASSED, backup.verification_detail
    entry = AuditLog.objects.get(model="core.backup", object_id=str(backup.pk))
    assert (entry.actor, entry.action) == (owner, AuditLog.Action.CREATE)


def test_owner_downloads_the_archive_as_an_attachment(client, owner, listed_backup):
    client.force_login(owner)
    response = client.get(download_url(listed_backup))
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="{listed_backup.name}"'
    assert b"".join(response.streaming_content) == b"PK archive bytes"


def test_only_the_owner_sees_backups_in_the_sidebar(client, owner, manager):
    client.force_login(owner)
    assert CHANGELIST in client.get(reverse("admin:index")).text
    client.force_login(manager)
    assert CHANGELIST not in client.get(reverse("admin:index")).text
