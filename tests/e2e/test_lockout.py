"""Five wrong passwords lock the account, and the lockout page speaks Arabic."""

import pytest

from tests.e2e.browser import html_language, submit_login

pytestmark = pytest.mark.e2e


def test_five_wrong_passwords_lock_the_account_with_an_arabic_page(page, owner, staff_password, problems, screenshot):
    # The lockout page is an HTTP 429 on purpose; the browser logs the status as an error.
    problems.expect(r"HTTP 429 POST .*/admin/login/")
    problems.expect(r"status of 429")

    page.goto("/admin/login/")
    for attempt in range(1, 5):
        submit_login(page, owner.username, f"wrong-password-{attempt}")
        assert page.locator("#login-form").is_visible(), f"attempt {attempt} should only be refused"
        assert html_language(page) == ("ar", "rtl")

    submit_login(page, owner.username, "wrong-password-5")
    assert html_language(page) == ("ar", "rtl")
    assert page.locator("h1").inner_text() == "الحساب مقفل"
    assert "5 محاولات دخول فاشلة" in page.locator("main").inner_text()
    screenshot(page, "locked")

    # Locked means locked, even with the right password.
    page.goto("/admin/login/")
    submit_login(page, owner.username, staff_password)
    assert page.locator("h1").inner_text() == "الحساب مقفل"
    problems.assert_none()
