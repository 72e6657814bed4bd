"""English that used to show on Arabic pages: third-party app names, Django's password-auth
strings, role names from the database, ambiguous words, and the import pages and messages."""

import io
import re
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from core.access.roles import Role
from core.admin.money import ReceiptAdmin
from core.imports.cells import ImportFileError, Sheet
from core.imports.columns import STUDENT_COLUMNS
from core.imports.headers import header_find
from core.imports.writers import template_workbook
from core.models import AuditLog, ImportJob, Session
from tests.conftest import make_staff
from tests.import_sheets import xlsx_bytes

pytestmark = pytest.mark.django_db


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


# --- app names ------------------------------------------------------------------------------


def test_axes_and_q2_app_names_are_never_their_english_package_names(client_as, owner):
    # The dashboard no longer lists every model; the app names show on their own index pages
    # (next test) and must not leak anywhere on the dashboard either.
    body = page(client_as(owner), reverse("admin:index"))
    assert "Axes" not in body and "Django Q" not in body


@pytest.mark.parametrize(("app", "arabic"), [("axes", "حماية تسجيل الدخول"), ("django_q", "المهام في الخلفية")])
def test_app_index_pages_are_titled_in_arabic(client_as, owner, app, arabic):
    body = page(client_as(owner), reverse("admin:app_list", args=[app]))
    assert arabic in body
    assert "Axes" not in body and "Django Q" not in body


def test_app_names_stay_english_in_english(client_as, owner):
    owner.language = "en"
    owner.save(update_fields=["language"])
    assert "Login protection" in page(client_as(owner), reverse("admin:app_list", args=["axes"]))
    assert "Background jobs" in page(client_as(owner), reverse("admin:app_list", args=["django_q"]))


# --- the staff add form (Django 5.2's password-based authentication) ------------------------

ENGLISH_ON_THE_ADD_FORM = (
    "Password-based authentication",
    "Whether the user will be able to authenticate",
    "Enabled",
    "Disabled",
    "Single Sign-On",
    "Enter the same password as before",
)


def test_user_add_form_has_no_english_password_text(client_as, owner):
    body = page(client_as(owner), reverse("admin:core_user_add"))
    for english in ENGLISH_ON_THE_ADD_FORM:
        assert english not in body, english
    assert "تسجيل الدخول بكلمة المرور" in body
    assert "مفعّل" in body and "معطّل" in body


def test_password_too_short_is_arabic(client_as, owner):
    response = client_as(owner).post(
        reverse("admin:core_user_add"),
        {"username": "new-clerk", "usable_password": "true", "password1": "a1", "password2": "a1"},
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "This password is too short" not in body
    assert "كلمة المرور هذه قصيرة جدًا" in body


# --- roles: the group names in the database are English ---------------------------------------


def test_staff_list_shows_and_filters_roles_in_arabic(client_as, owner, receptionist, accountant):
    body = page(client_as(owner), reverse("admin:core_user_changelist"))
    assert "موظف الاستقبال" in body and "المحاسب" in body and "مشرف البوابة" in body  # column and filter
    assert ">Receptionist<" not in body and "Door supervisor" not in body


def test_the_roles_column_costs_no_query_per_row(client_as, owner, receptionist):
    client = client_as(owner)
    url = reverse("admin:core_user_changelist")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    queries()  # the first request warms per-process caches
    before = queries()
    for number in range(5):
        make_staff(f"clerk{number}", Role.RECEPTIONIST, None)
    assert queries() == before


def test_user_form_offers_the_roles_by_their_arabic_labels(client_as, owner, receptionist):
    body = page(client_as(owner), reverse("admin:core_user_change", args=[receptionist.pk]))
    receptionist_group = Group.objects.get(name=Role.RECEPTIONIST)
    assert f'<option value="{receptionist_group.pk}" selected>موظف الاستقبال</option>' in body
    assert ">Door supervisor<" not in body and ">Accountant<" not in body


def test_roles_list_shows_arabic_labels_and_keeps_other_group_names(client_as, owner):
    Group.objects.create(name="Weekend helpers")
    body = page(client_as(owner), reverse("admin:auth_group_changelist"))
    assert "المالك" in body and "مشرف البوابة" in body and "Weekend helpers" in body
    assert "Door supervisor" not in body


# --- words with two meanings --------------------------------------------------------------------


def test_void_reads_as_a_state_on_the_receipt_and_as_a_verb_on_its_button():
    with translation.override("ar"):
        assert ReceiptAdmin.state(None, SimpleNamespace(is_void=True))[1] == "ملغى"
        assert str(ReceiptAdmin.void_receipt.short_description) == "إلغاء الإيصال"
    with translation.override("en"):
        assert ReceiptAdmin.state(None, SimpleNamespace(is_void=True))[1] == "Void"
        assert str(ReceiptAdmin.void_receipt.short_description) == "Void"


def test_cancelled_in_the_audit_log_is_a_noun_like_the_other_actions():
    with translation.override("ar"):
        assert AuditLog.Action.CANCEL.label == "إلغاء"
        assert AuditLog.Action.DELETE.label == "حذف"
        assert Session.Status.CANCELLED.label == "ملغاة"  # a session is cancelled: the adjective


# --- imports -----------------------------------------------------------------------------------


def missing_column_message(header: list[str], language: str) -> str:
    sheet = Sheet(rows=[(1, header), (2, ["x"] * len(header))], is_xlsx=True)
    with translation.override(language), pytest.raises(ImportFileError) as error:
        header_find(sheet, STUDENT_COLUMNS)
    return error.value.messages[0]


def test_missing_column_is_named_as_an_arabic_file_writes_it_with_the_english_beside():
    message = missing_column_message(["اسم الطالب", "الصف"], "ar")
    assert message == "عمود مطلوب غير موجود: «⁨هاتف ولي الأمر⁩» (أو «⁨Guardian phone⁩»)."


def test_missing_column_is_named_as_an_english_file_writes_it_with_the_arabic_beside():
    message = missing_column_message(["Full name", "Grade"], "en")
    assert message == "Required column missing: “Guardian phone” (or “هاتف ولي الأمر”)."
    # An Arabic user with an English file is told the English header first, in Arabic.
    message = missing_column_message(["Full name", "Grade"], "ar")
    assert message == "عمود مطلوب غير موجود: «⁨Guardian phone⁩» (أو «⁨هاتف ولي الأمر⁩»)."


def test_several_missing_columns_are_listed_with_the_languages_separator():
    english = missing_column_message(["Code", "School"], "en")
    assert "“Full name” (or “اسم الطالب”), “Guardian phone” (or “هاتف ولي الأمر”)" in english
    arabic = missing_column_message(["الكود", "المدرسة"], "ar")
    assert "(أو «⁨Full name⁩»)، «⁨هاتف ولي الأمر⁩»" in arabic


def test_the_upload_page_reports_a_missing_column(client_as, receptionist, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client = client_as(receptionist)
    data = xlsx_bytes([["اسم الطالب", "الصف"], ["عمر", "1 ثانوي"]])
    client.post(reverse("admin:core_importjob_upload", args=["students"]), {"file": SimpleUploadedFile("a.xlsx", data)})
    job = ImportJob.objects.get()
    body = page(client, reverse("admin:core_importjob_job", args=[job.pk]))
    assert "«⁨هاتف ولي الأمر⁩» (أو «⁨Guardian phone⁩»)" in body


@pytest.mark.parametrize(("language", "main", "lists"), [("ar", "الطلاب", "القوائم"), ("en", "Students", "Lists")])
def test_template_sheet_names_are_translated(main_branch, language, main, lists):
    with translation.override(language):
        workbook = load_workbook(io.BytesIO(template_workbook()))
    assert workbook.sheetnames == [main, lists]
    sources = {validation.formula1 for validation in workbook.worksheets[0].data_validations.dataValidation}
    assert {source.lstrip("=").split("!")[0].strip("'") for source in sources} == {lists}


@pytest.mark.parametrize(
    ("kind", "title"),
    [("students", "استيراد الطلاب"), ("teachers", "استيراد المدرسين"), ("groups", "استيراد المجموعات وجدول حصصها")],
)
def test_upload_pages_have_whole_arabic_titles(client_as, owner, kind, title):
    body = page(client_as(owner), reverse("admin:core_importjob_upload", args=[kind]))
    assert re.search(rf"<title>\s*{title}\s*\|", body)
    assert "%(kind)s" not in body


def test_every_background_job_has_a_title_for_staff():
    from core.admin.third_party import JOB_TITLES
    from core.ops.task_schedules import SCHEDULES

    assert {entry.name for entry in SCHEDULES} <= set(JOB_TITLES)
