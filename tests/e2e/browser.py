"""The pieces the browser tests share: how chromium is started, what counts as a problem."""

import re
from pathlib import Path

from playwright.sync_api import ConsoleMessage, Page, Response

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).parent / "artifacts"


class PageProblems:
    """What went wrong in the browser while a test ran, minus what the test expects."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.expected: list[re.Pattern] = []

    def console(self, message: ConsoleMessage) -> None:
        if message.type == "error" or "Content Security Policy" in message.text:
            self.seen.append(f"console {message.type}: {message.text} ({message.location.get('url', '')})")

    def page_error(self, error: Exception) -> None:
        self.seen.append(f"script error: {error}")

    def response(self, response: Response) -> None:
        if response.status >= 400:
            self.seen.append(f"HTTP {response.status} {response.request.method} {response.url}")

    def expect(self, pattern: str) -> None:
        """Allow problems matching this regular expression (an expected 429 page, say)."""
        self.expected.append(re.compile(pattern))

    def unexpected(self) -> list[str]:
        return [line for line in self.seen if not any(p.search(line) for p in self.expected)]

    def assert_none(self) -> None:
        problems = self.unexpected()
        assert not problems, "the browser reported:\n" + "\n".join(problems)


def submit_login(page: Page, username: str, password: str) -> None:
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click("#login-form [type=submit]")
    page.wait_for_load_state("networkidle")


def html_language(page: Page) -> tuple[str | None, str | None]:
    """The lang and dir attributes of the page's <html> element."""
    return page.get_attribute("html", "lang"), page.get_attribute("html", "dir")
