"""The admin in Arabic, as a browser shows it: right to left, Arabic font, nothing broken."""

import pytest
from playwright.sync_api import expect

from core.models import Branch
from tests.e2e.browser import html_language

pytestmark = pytest.mark.e2e

# True once the Cairo webfont (served by us, Arabic code points only) has been used and loaded.
CAIRO_LOADED = """async () => {
    await document.fonts.ready;
    return [...document.fonts].some(f => f.family.replaceAll('"', '') === 'Cairo' && f.status === 'loaded');
}"""


def test_owner_signs_in_and_sees_the_dashboard_and_staff_in_arabic(
    page, owner, staff_password, log_in, problems, screenshot
):
    page.goto("/admin/login/")
    assert html_language(page) == ("ar", "rtl")
    assert page.locator("#login-form label[for=id_username]").inner_text().startswith("اسم المستخدم")
    screenshot(page, "login")

    log_in(page, owner.username, staff_password)
    assert page.url.endswith("/admin/")
    assert html_language(page) == ("ar", "rtl")
    assert page.get_by_text("لوحة التحكم").first.is_visible()
    assert page.evaluate(CAIRO_LOADED), "the Arabic text is not drawn with the Cairo webfont"
    screenshot(page, "dashboard")

    page.goto("/admin/core/user/")
    page.wait_for_load_state("networkidle")
    assert html_language(page) == ("ar", "rtl")
    assert page.locator("#result_list").get_by_text(owner.username).is_visible()
    # unfold's own strings come from our catalogue: "Filters" and the search box.
    assert page.get_by_text("التصفية").first.is_visible()
    assert page.get_attribute("#searchbar", "placeholder") == "اكتب للبحث"
    screenshot(page, "staff")

    problems.assert_none()


def test_sidebar_reads_right_to_left(page, owner, staff_password, log_in):
    log_in(page, owner.username, staff_password)
    viewport_width = page.viewport_size["width"]
    sidebar = page.locator("#nav-sidebar-inner").bounding_box() or page.locator("nav").first.bounding_box()
    # In Arabic the navigation sits on the right edge of the window, not the left.
    assert sidebar["x"] + sidebar["width"] >= viewport_width - 2
    assert sidebar["x"] > viewport_width / 2


# Where the browser drew the first and the last character of an element's text.
FIRST_AND_LAST_CHARACTER_X = """element => {
    const text = [...element.childNodes].find(node => node.nodeType === Node.TEXT_NODE && node.textContent.trim());
    const start = text.textContent.indexOf(text.textContent.trim());
    const range = document.createRange();
    const x = offset => { range.setStart(text, offset); range.setEnd(text, offset + 1); return range.getBoundingClientRect().x; };
    return [x(start), x(start + text.textContent.trim().length - 1)];
}"""


def test_change_list_mirrors_and_phone_numbers_keep_their_order(page, owner, staff_password, log_in, screenshot):
    Branch.objects.create(name_ar="فرع مدينة نصر", name_en="Nasr City branch", phone="+20222615000")
    log_in(page, owner.username, staff_password)
    page.goto("/admin/core/branch/")
    page.wait_for_load_state("networkidle")

    # The search box starts on the right, the filters button sits on the left.
    search = page.locator("#searchbar").bounding_box()
    filters = page.get_by_text("التصفية").first.bounding_box()
    assert filters["x"] < search["x"]

    # "+20222615000" reads left to right: the plus sign is drawn left of the last digit.
    phone_cell = page.locator("#result_list td.field-phone").filter(has_text="2615000")
    plus_x, last_digit_x = phone_cell.evaluate(FIRST_AND_LAST_CHARACTER_X)
    assert plus_x < last_digit_x
    screenshot(page, "branches")


def test_registering_the_same_child_again_shows_him_and_asks_in_arabic(
    page, owner, staff_password, log_in, main_branch, screenshot
):
    from django.urls import reverse

    from core.models import AuditLog, Student
    from tests.factories import make_student

    existing = make_student(main_branch, name="أحمد محمود", guardian_phone="01001234567")
    log_in(page, owner.username, staff_password)
    page.goto("/admin/core/student/add/")
    page.fill("#id_full_name", "احمد محمود")  # typed without the hamza
    page.fill("#id_guardian_phone", "٠١٠٠١٢٣٤٥٦٧")
    # The branch picker is an autocomplete: choose the branch in the select behind it.
    page.evaluate(
        "([id, name]) => { const select = document.querySelector('#id_branch');"
        " select.add(new Option(name, id, true, true)); }",
        [str(main_branch.pk), str(main_branch)],
    )
    page.locator("button[name=_save]").click()

    warning = page.get_by_text("يبدو أن هذا الطالب مسجل بالفعل")
    expect(warning).to_be_visible()
    link = page.locator(f"a[href='{reverse('admin:core_student_change', args=[existing.pk])}']")
    expect(link).to_contain_text(existing.code)
    box = page.get_by_label("هذا طفل آخر بنفس الاسم؛ سجّله على أي حال")
    expect(box).to_be_visible()
    assert Student.objects.count() == 1
    screenshot(page, "duplicate-warning")

    box.check()
    page.locator("button[name=_save]").click()
    page.wait_for_url("**/admin/core/student/")  # saved: back to the list
    second = Student.objects.exclude(pk=existing.pk).get()
    assert second.search_key == existing.search_key
    entry = AuditLog.objects.get(model="core.student", object_id=str(second.pk))
    assert entry.changes["duplicate_warning_overridden"] == [None, existing.code]
