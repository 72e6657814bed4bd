"""The import pages (upload → check → confirm, history, error report, template) and exports."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook

from core.imports.jobs import BACKGROUND_ROWS
from core.models import AuditLog, ImportJob, Student
from tests.admin.test_permission_matrix import ROLES  # noqa: F401  (same role fixtures)
from tests.factories import make_branch, make_group, make_student
from tests.import_sheets import clean_rows, csv_bytes, messy_rows, xlsx_bytes

UPLOAD = reverse("admin:core_importjob_upload", args=["students"])
TEMPLATE = reverse("admin:core_importjob_template", args=["students"])


@pytest.fixture
def center(main_branch):
    make_group(main_branch, code="M1", capacity=5000)
    make_group(main_branch, code="P2", capacity=5000)
    make_student(main_branch, name="فاطمة حسن", guardian_phone="01001112222")
    make_student(main_branch, name="يوسف أيمن", guardian_phone="01001113333", code="5005")
    return main_branch


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path  # uploaded sheets are stored with their job


def upload(client, data: bytes, name: str = "students.xlsx"):
    return client.post(UPLOAD, {"file": SimpleUploadedFile(name, data)})


def job_url(job: ImportJob) -> str:
    return reverse("admin:core_importjob_job", args=[job.pk])


def test_anonymous_is_sent_to_login(client):
    for url in (UPLOAD, TEMPLATE, reverse("admin:core_importjob_changelist")):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.parametrize("role", ["accountant", "supervisor", "teacher_user"])
def test_staff_without_the_permission_cannot_import(request, client_as, role, center):
    client = client_as(request.getfixturevalue(role))
    assert client.get(UPLOAD).status_code == 403
    assert client.get(TEMPLATE).status_code == 403
    assert upload(client, xlsx_bytes(clean_rows())).status_code == 403
    assert not ImportJob.objects.exists()


def test_receptionist_downloads_the_template(client_as, receptionist, center):
    response = client_as(receptionist).get(TEMPLATE)
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.content))
    assert workbook.worksheets[0].cell(row=1, column=2).value == "اسم الطالب"


def test_messy_file_is_previewed_and_cannot_be_confirmed(client_as, receptionist, center):
    client = client_as(receptionist)
    assert client.get(UPLOAD).status_code == 200
    response = upload(client, xlsx_bytes(messy_rows()))
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == job_url(job)
    assert (job.status, job.new_count, job.update_count, job.unchanged_count, job.error_count) == ("ready", 8, 1, 1, 4)
    assert job.created_by == receptionist and job.file_name == "students.xlsx"

    page = client.get(job_url(job))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Z99" in text and "0100123" in text
    assert reverse("admin:core_importjob_confirm", args=[job.pk]) not in text

    errors_only = client.get(job_url(job) + "?show=error").content.decode()
    assert "Z99" in errors_only and "إسراء" not in errors_only

    students = Student.objects.count()
    response = client.post(reverse("admin:core_importjob_confirm", args=[job.pk]))
    assert response.status_code == 302
    assert Student.objects.count() == students


def test_error_report_has_an_error_column_and_every_row(client_as, receptionist, center):
    client = client_as(receptionist)
    upload(client, xlsx_bytes(messy_rows()))
    job = ImportJob.objects.get()
    response = client.get(reverse("admin:core_importjob_errors", args=[job.pk]))
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][1] == "الكود"  # the sheet's own header, after the errors column
    assert len(rows) == 1 + 14  # header + every non-blank row, fixed rows included
    errors = {row[2]: row[0] for row in rows[1:]}
    assert "Z99" in errors["ليلى حسام"] and errors["إسراء سعيد"] in (None, "")


def test_fixed_error_report_imports_after_reupload(client_as, receptionist, center):
    client = client_as(receptionist)
    upload(client, xlsx_bytes(clean_rows()))
    job = ImportJob.objects.get()
    assert job.can_apply
    response = client.post(reverse("admin:core_importjob_confirm", args=[job.pk]))
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == "done" and job.finished_at is not None
    assert Student.objects.filter(full_name="أحمد محمد").exists()
    assert AuditLog.objects.filter(model="core.student", actor=receptionist, reason__contains="students.xlsx").exists()
    # confirming twice does nothing more
    students = Student.objects.count()
    client.post(reverse("admin:core_importjob_confirm", args=[job.pk]))
    assert Student.objects.count() == students

    history = client.get(reverse("admin:core_importjob_changelist"))
    assert history.status_code == 200 and "students.xlsx" in history.content.decode()


def test_a_duplicate_row_is_previewed_in_arabic_and_skipped_while_the_others_import(client_as, receptionist, center):
    fatma = Student.objects.get(full_name="فاطمة حسن")
    rows = [
        ["اسم الطالب", "هاتف ولي الأمر", "المدرسة"],
        ["عمر خالد", "01001230000", "مدرسة النور"],
        ["عمر  خالد", "+201001230000", "مدرسة أخرى"],  # row 2 again
        ["فاطمه حسن", "01001112222", "مدرسة النيل"],  # the existing فاطمة حسن
    ]
    client = client_as(receptionist)
    upload(client, xlsx_bytes(rows))
    job = ImportJob.objects.get()
    counts = (job.new_count, job.update_count, job.unchanged_count, job.duplicate_count, job.error_count)
    assert counts == (1, 1, 0, 1, 0)
    assert job.can_apply

    text = client.get(job_url(job)).content.decode()
    assert "imp-badge-duplicate" in text and "مكرر للصف 2" in text
    assert f"الطالب نفسه ⁨{fatma.code}⁩ — فاطمة حسن" in text
    only = client.get(job_url(job) + "?show=duplicate").content.decode()
    assert only.count("imp-row-duplicate") == 1 and "imp-row-new" not in only
    history = client.get(reverse("admin:core_importjob_changelist")).content.decode()
    assert "1 / 1 / 0 / 1 / 0" in history

    response = client.post(reverse("admin:core_importjob_confirm", args=[job.pk]), follow=True)
    assert "وتُرك 1 مكرر" in response.content.decode()
    job.refresh_from_db()
    assert job.status == "done" and job.duplicate_count == 1
    assert Student.objects.get(search_key="عمر خالد").school == "مدرسة النور"
    assert Student.objects.filter(search_key=fatma.search_key).count() == 1


def test_whole_file_error_is_shown(client_as, receptionist, center):
    client = client_as(receptionist)
    upload(client, b"not a sheet\x00\x01", "photo.png")
    job = ImportJob.objects.get()
    assert job.status == "invalid" and job.message
    assert job.message in client.get(job_url(job)).content.decode()


def test_upload_refuses_a_30mb_file_before_reading_it(client_as, receptionist, center):
    response = upload(client_as(receptionist), b"a,b\n" * (30 * 1024 * 1024 // 4), "huge.csv")
    assert response.status_code == 200 and "10 MB" in response.content.decode()
    assert not ImportJob.objects.exists()


def big_sheet(count: int) -> bytes:
    rows = [["اسم الطالب", "هاتف ولي الأمر", "أكواد المجموعات"]]
    rows += [[f"طالب رقم {n}", f"0101{n:07d}", "M1"] for n in range(count)]
    return csv_bytes(rows)


def test_big_file_runs_in_the_background_and_the_preview_stays_small(
    client_as, receptionist, center, django_capture_on_commit_callbacks
):
    client = client_as(receptionist)
    with django_capture_on_commit_callbacks(execute=True):  # queued on commit; q2 runs it inline in tests
        upload(client, big_sheet(BACKGROUND_ROWS + 500), "big.csv")
    job = ImportJob.objects.get()
    assert job.status == "ready" and job.new_count == BACKGROUND_ROWS + 500
    page = client.get(job_url(job))
    assert page.content.count(b"imp-row-new") == 50
    assert len(page.content) < 120_000
    assert client.get(job_url(job) + "?page=3").status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("admin:core_importjob_confirm", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == "done"
    assert Student.objects.count() == 2 + BACKGROUND_ROWS + 500


def test_running_job_page_refreshes_with_a_progress_bar(client_as, receptionist, center):
    job = ImportJob.objects.create(
        kind="students", branch=center, created_by=receptionist, file_name="x.csv", status="checking", progress=40
    )
    text = client_as(receptionist).get(job_url(job)).content.decode()
    assert 'http-equiv="refresh"' in text and 'value="40"' in text


def test_jobs_of_other_branches_are_hidden(client_as, receptionist, center):
    other = make_branch()
    job = ImportJob.objects.create(kind="students", branch=other, file_name="other.csv", status="ready")
    client = client_as(receptionist)
    assert client.get(job_url(job)).status_code == 404
    assert "other.csv" not in client.get(reverse("admin:core_importjob_changelist")).content.decode()


# --- exports ------------------------------------------------------------------------------------

EXPORTED = [
    "student",
    "guardian",
    "teacher",
    "group",
    "enrollment",
    "session",
    "room",
    "auditlog",
    "receipt",
    "ledgerentry",
]


@pytest.mark.parametrize("model", EXPORTED)
def test_every_list_exports_xlsx_and_csv(client_as, owner, center, model):
    client = client_as(owner)
    changelist = client.get(reverse(f"admin:core_{model}_changelist"))
    assert changelist.status_code == 200
    url = reverse(f"admin:core_{model}_export")
    assert url in changelist.content.decode()
    assert client.get(url).status_code == 200
    xlsx = client.post(url, {"format": "0"})
    assert xlsx.status_code == 200 and xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
    load_workbook(io.BytesIO(xlsx.content))
    csv = client.post(url, {"format": "1"})
    assert csv.status_code == 200 and csv.content.startswith(b"\xef\xbb\xbf")


def test_student_export_honours_filters_and_branches(client_as, receptionist, center):
    make_student(make_branch(), name="طالب فرع آخر")
    client = client_as(receptionist)
    url = reverse("admin:core_student_export") + "?q=" + "فاطمه"
    text = client.post(url, {"format": "1"}).content.decode("utf-8-sig")
    assert "فاطمة حسن" in text and "يوسف" not in text
    everything = client.post(reverse("admin:core_student_export"), {"format": "1"}).content.decode("utf-8-sig")
    assert "يوسف أيمن" in everything and "طالب فرع آخر" not in everything


def test_export_needs_view_permission(client_as, teacher_user, manager, center):
    assert client_as(teacher_user).get(reverse("admin:core_student_export")).status_code == 403
    assert client_as(manager).get(reverse("admin:core_auditlog_export")).status_code == 403
    assert client_as(manager).get(reverse("admin:core_student_export")).status_code == 200


def test_student_list_shows_import_to_receptionist_only(client_as, receptionist, accountant, center):
    assert UPLOAD in client_as(receptionist).get(reverse("admin:core_student_changelist")).content.decode()
    assert UPLOAD not in client_as(accountant).get(reverse("admin:core_student_changelist")).content.decode()


def test_teacher_and_group_lists_offer_their_imports(client_as, manager, receptionist, center):
    for kind, model in (("teachers", "teacher"), ("groups", "group")):
        url = reverse("admin:core_importjob_upload", args=[kind])
        assert url in client_as(manager).get(reverse(f"admin:core_{model}_changelist")).content.decode()
        assert client_as(manager).get(url).status_code == 200
        assert client_as(manager).get(reverse("admin:core_importjob_template", args=[kind])).status_code == 200
        assert client_as(receptionist).get(url).status_code == 403


def test_a_crashed_background_task_marks_the_job_failed(client_as, receptionist, center):
    from types import SimpleNamespace

    from core.tasks import import_job_finished

    job = ImportJob.objects.create(kind="students", branch=center, file_name="big.csv", status="applying")
    import_job_finished(SimpleNamespace(success=True, args=[job.pk]))
    job.refresh_from_db()
    assert job.status == "applying"
    import_job_finished(SimpleNamespace(success=False, args=[job.pk]))  # q2's hook after a crash
    job.refresh_from_db()
    assert job.status == "failed" and job.message
    assert 'http-equiv="refresh"' not in client_as(receptionist).get(job_url(job)).content.decode()


def test_busy_pages_run_a_fixed_number_of_queries(
    client_as, receptionist, center, django_assert_max_num_queries, main_branch
):
    client = client_as(receptionist)
    upload(client, xlsx_bytes(clean_rows()))
    job = ImportJob.objects.get()
    for number in range(40):
        make_student(main_branch, name=f"طالب {number}", guardian_phone=f"0102{number:07d}")
    client.get(job_url(job))  # warm the session and the permission caches
    with django_assert_max_num_queries(12):
        assert client.get(job_url(job)).status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get(reverse("admin:core_importjob_changelist")).status_code == 200
    with django_assert_max_num_queries(15):
        response = client.post(reverse("admin:core_student_export"), {"format": "0"})
        assert response.status_code == 200


def test_a_19000_row_xlsx_without_a_dimension_record_is_checked_in_the_background(
    client_as, receptionist, center, django_capture_on_commit_callbacks
):
    from tests.services.test_spreadsheets import big_xlsx_without_dimension

    client = client_as(receptionist)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = upload(client, big_xlsx_without_dimension(19_000), "big.xlsx")
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert job.status == "queued" and job.total_rows == 0  # not checked inside the request
    assert len(queued) == 1
