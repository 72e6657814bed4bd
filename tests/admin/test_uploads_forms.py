"""Uploads on a broken disk, in the admin (issue 15, item 5): the form comes back with what was
typed and a translated error on the file field, never a server error; nothing is saved, no partial
file stays on disk, the operator gets a log line. Before, each of these answered HTTP 500."""

import logging
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from core.models import AuditLog, CenterSettings, ImportJob, Student
from tests.factories import make_student
from tests.import_sheets import clean_rows, csv_bytes
from tests.refusing_storage import PHOTO, files_under, refusing_disk_fixture  # noqa: F401  (the refusing_disk fixture)

pytestmark = pytest.mark.django_db

# The Arabic error (the admin's default language): the file is named and must be chosen again.
REFUSED_AR = "رفضته مساحة التخزين على الخادم"
CHOOSE_AGAIN_AR = "اختر الملف مرة أخرى"


def refusal_logged(caplog) -> bool:
    return any(
        record.levelno == logging.ERROR
        and record.name == "core.ops.storage"
        and "upload refused" in record.getMessage()
        for record in caplog.records
    )


def management_form_names(page: str) -> list[str]:
    return re.findall(r'name="([\w-]+-(?:TOTAL|INITIAL|MIN_NUM|MAX_NUM)_FORMS)"', page)


def student_add_data(branch, **overrides):
    data = {
        "code": "",
        "full_name": "مريم خالد عبد الله",
        "gender": "female",
        "phone": "",
        "branch": branch.pk,
        "grade": "s2",
        "school": "مدرسة النصر",
        "notes": "تحضر مع أختها",
        "guardian_name": "خالد عبد الله",
        "guardian_phone": "01001234567",
        "guardian_relation": "father",
        "second_guardian_name": "",
        "second_guardian_phone": "",
        "enroll_group": "",
        "fee_plan": "normal",
        "custom_fee": "",
        "fee_reason": "",
    }
    data.update(overrides)
    return data


def test_a_refused_photo_shows_the_add_form_again_with_what_was_typed(
    refusing_disk, client_as, receptionist, main_branch, caplog
):
    data = student_add_data(main_branch, photo=SimpleUploadedFile("mariam.jpg", PHOTO, content_type="image/jpeg"))
    response = client_as(receptionist).post(reverse("admin:core_student_add"), data, HTTP_ACCEPT_LANGUAGE="ar")
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert [error.code for error in form.errors.as_data()["photo"]] == ["upload_failed"]
    page = response.content.decode()
    assert REFUSED_AR in page and CHOOSE_AGAIN_AR in page and "mariam.jpg" in page
    for typed in ("مريم خالد عبد الله", "مدرسة النصر", "تحضر مع أختها", "خالد عبد الله", "01001234567"):
        assert typed in page
    assert not Student.objects.exists()
    assert files_under(refusing_disk) == []
    assert refusal_logged(caplog)


def test_a_refused_photo_shows_the_change_form_again_and_changes_nothing(
    refusing_disk, client_as, receptionist, main_branch, caplog
):
    student = make_student(main_branch, name="سارة علي")
    url = reverse("admin:core_student_change", args=[student.pk])
    client = client_as(receptionist)
    data = {
        "code": student.code,
        "full_name": "سارة علي حسن",
        "gender": "female",
        "phone": "",
        "branch": main_branch.pk,
        "grade": "",
        "school": "",
        "notes": "",
        "is_active": "on",
        "photo": SimpleUploadedFile("sara.png", PHOTO, content_type="image/png"),
        "add_guardian_phone": "",
        "add_guardian_name": "",
        "add_guardian_relation": "father",
    }
    for name in management_form_names(client.get(url).content.decode()):  # the inlines: left as they are
        data[name] = "0"
    response = client.post(url, data, HTTP_ACCEPT_LANGUAGE="ar")
    assert response.status_code == 200, response.content.decode()[:2000]
    assert "photo" in response.context["adminform"].form.errors
    page = response.content.decode()
    assert "سارة علي حسن" in page and REFUSED_AR in page
    student.refresh_from_db()
    assert (student.full_name, student.photo.name) == ("سارة علي", "")
    assert not AuditLog.objects.filter(model="core.student", action=AuditLog.Action.UPDATE).exists()
    assert files_under(refusing_disk) == []
    assert refusal_logged(caplog)


def test_a_refused_logo_shows_the_settings_form_again_and_changes_nothing(refusing_disk, client_as, owner, caplog):
    center = CenterSettings.load()
    url = reverse("admin:core_centersettings_change", args=[center.pk])
    data = {
        "center_name_ar": "سنتر النور",
        "center_name_en": "Al Nour Center",
        "logo": SimpleUploadedFile("logo.png", PHOTO, content_type="image/png"),
        "receipt_footer": "شكرا لكم",
        "early_window_minutes": "30",
        "late_grace_minutes": "10",
        "unpaid_session_grace": "2",
        "new_student_grace": "0",
        "auto_cancel_minutes": "15",
        "absence_notices": "on",
        "quiet_hours_start": "22:00",
        "quiet_hours_end": "08:00",
        "messages_per_guardian_per_hour": "10",
        "cost_per_message": "0.05",
        "sms_cost_per_segment": "0.25",
        "expense_desk_limit": "500",
    }
    response = client_as(owner).post(url, data, HTTP_ACCEPT_LANGUAGE="ar")
    assert response.status_code == 200, response.content.decode()[:2000]
    assert [error.code for error in response.context["adminform"].form.errors.as_data()["logo"]] == ["upload_failed"]
    page = response.content.decode()
    assert "سنتر النور" in page and "Al Nour Center" in page and REFUSED_AR in page
    stored = CenterSettings.load()
    assert (stored.center_name_en, stored.logo.name) == (center.center_name_en, "")
    assert files_under(refusing_disk) == []
    assert refusal_logged(caplog)


def test_a_refused_import_file_shows_the_upload_page_again(refusing_disk, client_as, receptionist, main_branch, caplog):
    sheet = csv_bytes(clean_rows() * 100)  # ~90 KB: bigger than the 64 KiB disk
    response = client_as(receptionist).post(
        reverse("admin:core_importjob_upload", args=["students"]),
        {"file": SimpleUploadedFile("students.csv", sheet)},
        HTTP_ACCEPT_LANGUAGE="ar",
    )
    assert response.status_code == 200
    assert [error.code for error in response.context["form"].errors.as_data()["file"]] == ["upload_failed"]
    page = response.content.decode()
    assert REFUSED_AR in page and "students.csv" in page
    assert not ImportJob.objects.exists()
    assert files_under(refusing_disk) == []
    assert refusal_logged(caplog)
