"""The student import in a browser: upload, the checked rows, the error filter, confirm (Arabic)."""

import pytest

from core.models import Student
from tests.factories import make_group, make_student
from tests.import_sheets import clean_rows, messy_rows, xlsx_bytes

pytestmark = pytest.mark.e2e


@pytest.fixture
def center(main_branch, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    make_group(main_branch, code="M1")
    make_group(main_branch, code="P2")
    make_student(main_branch, name="فاطمة حسن", guardian_phone="01001112222")
    make_student(main_branch, name="يوسف أيمن", guardian_phone="01001113333", code="5005")
    return main_branch


def upload(page, tmp_path, rows, name):
    path = tmp_path / name
    path.write_bytes(xlsx_bytes(rows))
    page.goto("/admin/core/importjob/upload/students/")
    page.locator("input[type=file]").set_input_files(str(path))
    page.locator("button.imp-button").click()
    page.wait_for_load_state("networkidle")


def test_staff_checks_a_messy_sheet_then_imports_the_fixed_one(
    page, owner, staff_password, log_in, center, tmp_path, screenshot
):
    log_in(page, owner.username, staff_password)
    page.goto("/admin/core/student/")
    screenshot(page, "student-list")
    page.locator("a[href='/admin/core/importjob/upload/students/']").first.click()
    page.wait_for_load_state("networkidle")
    screenshot(page, "upload")

    upload(page, tmp_path, messy_rows(), "messy.xlsx")
    assert page.locator(".imp-row-error").count() == 4
    assert page.locator("form[action$='/confirm/']").count() == 0
    screenshot(page, "messy-preview")
    page.locator(".imp-count-error a").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("tbody tr").count() == 4
    screenshot(page, "messy-errors")

    upload(page, tmp_path, clean_rows(), "clean.xlsx")
    screenshot(page, "clean-preview")
    page.locator("form[action$='/confirm/'] button").click()
    page.wait_for_load_state("networkidle")
    assert page.locator(".imp-status-done").is_visible()
    screenshot(page, "imported")
    assert Student.objects.count() == 10

    page.goto("/admin/core/importjob/")
    assert page.get_by_text("clean.xlsx").first.is_visible()
    screenshot(page, "history")

    page.goto("/admin/core/student/")
    page.locator("a[href^='/admin/core/student/export/']").first.click()
    page.wait_for_load_state("networkidle")
    screenshot(page, "export")
    with page.expect_download() as download:
        page.locator("form:has([name=format]) button[type=submit]").click()
    assert download.value.suggested_filename.endswith(".xlsx")
