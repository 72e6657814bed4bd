"""The dashboard in a real browser (issue 17), in Arabic and English, as the owner, a branch
receptionist, the door supervisor and a teacher: the right cards, every chart drawn (its canvas
holds painted pixels), no console error and no CSP violation (tests/e2e/conftest.py watches every
page), and the receptionist's message counts are his branch's.

The README's screenshot (docs/dashboard.png) is this test's owner page in Arabic: run with
UPDATE_SCREENSHOTS=1 to write it again; otherwise the test checks that it is there.
"""

import os
from pathlib import Path

import pytest
import time_machine

from core.models import Channel, Message
from core.services.channels import channel_failed
from tests.e2e.browser import ARTIFACTS, html_language
from tests.e2e.conftest import PASSWORD
from tests.factories import make_branch, make_student
from tests.selectors.test_dashboard import NOW, Center

pytestmark = pytest.mark.e2e

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "dashboard.png"

# What each role must see (data-part / data-chart markers) and must not.
SEES = {
    "owner": ['[data-part="now"]', '[data-part="money"]', '[data-part="at-risk"]', '[data-card="messages"]'],
    "receptionist": ['[data-part="now"]', '[data-card="messages"]', '[data-alert="ending"]'],
    "supervisor": ['[data-part="now"]', '[data-alert="no-teacher"]'],
    "teacher_user": ['[data-part="teacher-today"]', '[data-part="teacher-month"]', "[data-estimate]"],
}
NOT_SEEN = {
    "owner": [],
    "receptionist": ['[data-part="money"]', '[data-part="at-risk"]', '[data-chart="revenue"]'],
    "supervisor": ['[data-part="money"]', "[data-chart]", '[data-card="messages"]', '[data-part="at-risk"]'],
    "teacher_user": ['[data-part="money"]', "[data-chart]", '[data-part="now"]', '[data-list="debts"]'],
}
CHARTS = {
    "owner": ["attendance", "revenue", "weekdays", "students", "teachers"],
    "receptionist": ["students"],
    "supervisor": [],
    "teacher_user": [],
}

PAINTED = """
(canvas) => {
  const context = canvas.getContext("2d");
  const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
  let painted = 0;
  for (let index = 3; index < data.length; index += 4) { if (data[index] > 0) painted += 1; }
  return { painted, width: canvas.width, height: canvas.height };
}
"""


@pytest.fixture
def at_center_time():
    # The server's clock at a Wednesday afternoon with classes running (the browser's is its own).
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
def center(at_center_time, main_branch, receptionist, teacher_user, settings):
    built = Center(main_branch, receptionist, teacher_user)
    built.grow(3)
    # A failed message in another branch: the receptionist must not count it.
    elsewhere = make_student(make_branch())
    Message.objects.create(
        student=elsewhere,
        phone="+201000000009",
        template_key="absent",
        body="x",
        event="e2e:else",
        idempotency_key="e2e-else",
        status=Message.Status.FAILED,
    )
    # WhatsApp's provider failed as often as the breaker tolerates: the channel is paused.
    settings.CHANNEL_BREAKER_FAILURES = 1
    assert channel_failed(Channel.WHATSAPP, error="HTTP 503")
    return built


@pytest.mark.parametrize("language", ["ar", "en"])
@pytest.mark.parametrize("role", ["owner", "receptionist", "supervisor", "teacher_user"])
def test_dashboard_per_role(request, page, log_in, center, role, language, screenshot):
    user = request.getfixturevalue(role)
    user.set_password(PASSWORD)
    user.language = language
    user.save(update_fields=["password", "language"])
    log_in(page, user.username, PASSWORD)
    page.goto("/admin/")
    page.wait_for_load_state("networkidle")
    assert html_language(page) == (language, "rtl" if language == "ar" else "ltr")
    for selector in SEES[role]:
        assert page.locator(selector).count() >= 1, (role, selector)
    for selector in NOT_SEEN[role]:
        assert page.locator(selector).count() == 0, (role, selector)
    shown = page.locator("[data-chart]").evaluate_all("(figures) => figures.map((f) => f.dataset.chart)")
    assert shown == CHARTS[role]
    if shown:
        page.wait_for_timeout(700)  # the charts' short animation
    for name in shown:
        canvas = page.locator(f'[data-chart="{name}"] canvas.chart')
        assert canvas.count() == 1
        drawn = canvas.evaluate(PAINTED)
        assert drawn["width"] > 100 and drawn["height"] > 50, (name, drawn)
        assert drawn["painted"] > 500, (name, drawn)  # bars, lines and axis labels, not a blank canvas
        # The table view holds the same figures for screen readers and export.
        summary = page.locator(f'[data-chart="{name}"] summary')
        summary.click()
        assert page.locator(f'[data-chart="{name}"] table tbody tr').first.is_visible()
        summary.click()  # folded again
        canvas.screenshot(path=str(ARTIFACTS / f"dashboard-{role}-{language}-{name}.png"))
    if role == "receptionist":
        # One failed message per student of his branch; the one of another branch is not his.
        assert page.locator('[data-card="messages"] [data-count="failed"]').inner_text().strip() == "3"
        assert Message.objects.filter(status=Message.Status.FAILED).count() == 4
    if role in ("owner", "receptionist"):
        # The paused channel stands out in the messages part, with the time it tries again.
        paused = page.locator('[data-alert="channel"][data-channel="whatsapp"][data-state="open"].is-paused')
        assert paused.is_visible(), role
        background = paused.evaluate("(item) => getComputedStyle(item).backgroundColor")
        assert background == "rgb(254, 226, 226)", background
        assert ("paused after failures until" if language == "en" else "متوقّف بعد أخطاء متتالية حتى") in (
            paused.inner_text()
        )
        assert page.locator('[data-alert="channel"][data-channel="sms"]').count() == 1
    else:
        assert page.locator('[data-alert="channel"]').count() == 0, role
    if role == "teacher_user":
        assert center.per_session.name not in page.content()  # another teacher's group
    screenshot(page, f"{role}-{language}")
    if role == "owner" and language == "ar":
        if os.environ.get("UPDATE_SCREENSHOTS"):
            SCREENSHOT.parent.mkdir(exist_ok=True)
            # The whole page in one window, so the sidebar stands beside it as people see it.
            height = page.evaluate("document.documentElement.scrollHeight")
            page.set_viewport_size({"width": 1366, "height": height})
            page.screenshot(path=str(SCREENSHOT))
        assert SCREENSHOT.exists() and SCREENSHOT.stat().st_size > 20_000, "run with UPDATE_SCREENSHOTS=1"
