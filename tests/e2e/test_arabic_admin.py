"""The admin in Arabic, as a browser shows it: right to left, Arabic font, nothing broken."""

import pytest

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
