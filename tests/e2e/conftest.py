"""Browser tests: Playwright with Debian's chromium against pytest-django's live server.

Every page a test opens is watched: a console error, a Content Security Policy violation, an
uncaught script error or a failed request fails the test unless the test says it expects it.
"""

import os
from pathlib import Path

import pytest
from django.core.cache import cache
from playwright.sync_api import Browser, Page, sync_playwright

from tests.e2e.browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, PageProblems, submit_login

# Playwright's sync API keeps an event loop running in this thread; Django refuses ORM calls
# from such a thread unless told that nothing here is really asynchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

PASSWORD = "e2e-pass-2026"

# Runs in every page before its own scripts (injected by the browser, not subject to the page's CSP).
CSP_VIOLATIONS_TO_CONSOLE = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`Content Security Policy violation: ${event.violatedDirective} blocked ${event.blockedURI}`
    + ` at ${event.sourceFile}:${event.lineNumber}`);
});
"""


@pytest.fixture(scope="session")
def browser() -> Browser:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (never `playwright install`).")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    # The login rate limit counts per address in the cache, shared with the live server thread.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def problems() -> PageProblems:
    return PageProblems()


@pytest.fixture
def new_page(browser, live_server, problems):
    """new_page() opens a page in a fresh browser (no cookies) that reports to `problems`.

    The browser says it prefers English: the site must still answer in Arabic.
    """
    contexts = []

    def open_page() -> Page:
        context = browser.new_context(base_url=live_server.url, locale="en-US", viewport={"width": 1366, "height": 860})
        context.set_default_timeout(10_000)
        contexts.append(context)
        # A CSP violation is reported as a console error too; the event names the directive and URL.
        context.add_init_script(CSP_VIOLATIONS_TO_CONSOLE)
        page = context.new_page()
        page.on("console", problems.console)
        page.on("pageerror", problems.page_error)
        page.on("response", problems.response)
        return page

    yield open_page
    for context in contexts:
        context.close()
    problems.assert_none()


@pytest.fixture
def page(new_page) -> Page:
    return new_page()


@pytest.fixture
def staff_password(owner) -> str:
    """The owner of tests/conftest.py, with a password known to the browser tests."""
    owner.set_password(PASSWORD)
    owner.save(update_fields=["password"])
    return PASSWORD


@pytest.fixture
def log_in():
    """log_in(page, username, password) signs in through the real login form."""

    def sign_in(page: Page, username: str, password: str) -> None:
        page.goto("/admin/login/")
        submit_login(page, username, password)

    return sign_in


@pytest.fixture
def screenshot(request):
    """screenshot(page, step) saves tests/e2e/artifacts/<test>-<step>.png for a human to look at."""

    def save(page: Page, step: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-{step}.png"), full_page=True)

    return save


def pytest_collection_modifyitems(items):
    # live_server tests flush the database after each test, and with it the rows the data
    # migrations made (roles, default branch, message templates). Serialized rollback puts
    # them back, so a browser test never depends on which one ran before it.
    for item in items:
        if item.get_closest_marker("e2e") or "tests/e2e" in str(item.fspath):
            item.add_marker(pytest.mark.django_db(transaction=True, serialized_rollback=True))
