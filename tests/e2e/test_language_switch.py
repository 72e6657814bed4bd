"""English is one click away, from the user menu or the login page, and it is remembered."""

import pytest

from core.models import User
from tests.e2e.browser import html_language, submit_login

pytestmark = pytest.mark.e2e

USER_MENU = "[x-on\\:click='openUserLinks = !openUserLinks']"


def choose_language_in_user_menu(page, code: str) -> None:
    page.click(USER_MENU)
    with page.expect_navigation():
        page.click(f"form:has(input[name=language][value={code}]) button[type=submit]")
    page.wait_for_load_state("networkidle")


def log_out(page) -> None:
    page.click(USER_MENU)
    with page.expect_navigation():
        page.click("#logout-form button[type=submit]")
    page.wait_for_load_state("networkidle")


def test_english_from_the_user_menu_is_remembered_after_logging_out_and_in(
    page, new_page, owner, staff_password, log_in, problems, screenshot
):
    log_in(page, owner.username, staff_password)
    assert html_language(page) == ("ar", "rtl")

    choose_language_in_user_menu(page, "en")
    assert html_language(page) == ("en", "ltr")
    assert page.get_by_text("Dashboard").first.is_visible()
    screenshot(page, "dashboard-en")

    log_out(page)
    assert html_language(page) == ("en", "ltr")  # this browser keeps the choice in a cookie
    log_in(page, owner.username, staff_password)
    assert html_language(page) == ("en", "ltr")

    # Another browser, no cookie: the login page is Arabic, the account brings English back.
    elsewhere = new_page()
    elsewhere.goto("/admin/login/")
    assert html_language(elsewhere) == ("ar", "rtl")
    submit_login(elsewhere, owner.username, staff_password)
    assert html_language(elsewhere) == ("en", "ltr")
    elsewhere.goto("/admin/core/user/")
    assert html_language(elsewhere) == ("en", "ltr")
    screenshot(elsewhere, "staff-en")

    # And back to Arabic.
    choose_language_in_user_menu(elsewhere, "ar")
    assert html_language(elsewhere) == ("ar", "rtl")
    owner.refresh_from_db()
    assert owner.language == "ar"
    problems.assert_none()


def test_language_chosen_on_the_login_page_is_kept_after_signing_in(page, owner, staff_password, problems, screenshot):
    page.goto("/admin/login/")
    assert html_language(page) == ("ar", "rtl")
    with page.expect_navigation():
        page.click("#login-languages button[lang=en]")
    page.wait_for_load_state("networkidle")
    assert html_language(page) == ("en", "ltr")
    assert page.locator("#login-form label[for=id_username]").inner_text().startswith("Username")
    screenshot(page, "login-en")

    submit_login(page, owner.username, staff_password)
    assert html_language(page) == ("en", "ltr")
    assert User.objects.get(pk=owner.pk).language == "en"
    problems.assert_none()


def test_login_page_switch_keeps_where_the_user_was_going(page):
    page.goto("/admin/core/user/")
    assert "/admin/login/?next=/admin/core/user/" in page.url
    with page.expect_navigation():
        page.click("#login-languages button[lang=en]")
    assert "next=/admin/core/user/" in page.url
    assert html_language(page) == ("en", "ltr")
