"""The front desk's first hour, in Arabic, in a real browser (issue 14): a one-branch receptionist's
first save, one student's card in one click, an owner unlocking another owner, the countdown before
a class is auto-cancelled, fields that look like fields, and no English left on the main pages.

Every page is watched for console errors and CSP violations (tests/e2e/conftest.py).
(The twin refused with the existing student shown: test_arabic_admin.py; the cashier opening with
the door's amount: test_money.py.)
"""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from core.access.roles import Role
from core.models import AuditLog, FeePeriod, Session, Student
from core.services.enrollments import enrollment_create
from tests.conftest import make_staff
from tests.e2e.browser import html_language, submit_login
from tests.e2e.conftest import PASSWORD
from tests.factories import make_group, make_room, make_student

pytestmark = pytest.mark.e2e


def with_password(user):
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    return user


# --- 1. a one-branch receptionist's first save ---------------------------------------------------------


def test_one_branch_receptionist_saves_a_student_first_time_and_the_message_names_him(
    page, receptionist, main_branch, log_in, screenshot
):
    with_password(receptionist)
    log_in(page, receptionist.username, PASSWORD)
    page.goto("/admin/core/student/add/")
    assert html_language(page) == ("ar", "rtl")
    # The branch is already his; nothing to pick.
    assert page.locator("#id_branch").input_value() == str(main_branch.pk)
    page.fill("#id_full_name", "سارة علي")
    page.select_option("#id_gender", "female")
    page.fill("#id_guardian_name", "علي حسن")
    page.fill("#id_guardian_phone", "٠١٠٠٥٥٥٦٦٦٧")
    screenshot(page, "filled")
    page.locator("button[name=_save]").click()
    page.wait_for_url("**/admin/core/student/")

    student = Student.objects.get()
    assert (student.full_name, student.gender, student.branch) == ("سارة علي", "female", main_branch)
    message = page.get_by_text(f"سارة علي ({student.code})").first
    expect(message).to_be_visible()
    assert "()" not in message.inner_text()
    screenshot(page, "saved")


# --- 2. one student's card in one click ------------------------------------------------------------------


def test_one_click_on_the_student_page_prints_just_his_card(page, owner, staff_password, main_branch, log_in):
    student = make_student(main_branch, name="يوسف أحمد")
    make_student(main_branch, name="طالب آخر")
    log_in(page, owner.username, staff_password)
    page.goto(reverse("admin:core_student_change", args=[student.pk]))
    button = page.get_by_role("link", name="طباعة بطاقة هذا الطالب")
    expect(button).to_be_visible()
    with page.expect_popup() as popup_info:
        button.click()
    cards = popup_info.value
    cards.wait_for_load_state("networkidle")
    assert html_language(cards)[1] == "rtl"
    expect(cards.locator(".card")).to_have_count(1)
    expect(cards.locator(".card").first).to_contain_text("يوسف أحمد")
    expect(cards.locator(".card").first).to_contain_text(student.code)
    expect(cards.locator(".card svg.qr")).to_have_count(1)


# --- 3. an owner unlocks another owner -------------------------------------------------------------------


def test_an_owner_unlocks_another_owner_from_the_lockouts_page(
    new_page, owner, staff_password, main_branch, problems, log_in, screenshot
):
    problems.expect(r"HTTP 429 POST .*/admin/login/")
    problems.expect(r"status of 429")
    locked_owner = with_password(make_staff("owner2", Role.OWNER, None))

    locked = new_page()
    locked.goto("/admin/login/")
    for attempt in range(5):
        submit_login(locked, "owner2", f"wrong-{attempt}")
    assert locked.locator("h1").inner_text() == "الحساب مقفل"
    expect(locked.locator("[data-locked-role=owner]")).to_contain_text("مالك آخر")
    expect(locked.locator("code")).to_have_text("python manage.py axes_reset_username owner2")
    screenshot(locked, "locked-owner")

    helper = new_page()
    log_in(helper, owner.username, staff_password)
    helper.goto("/admin/axes/accessattempt/")
    row = helper.locator("#result_list tbody tr").filter(has_text="owner2")
    row.locator("input.action-select").check()
    helper.select_option("select[name=action]", "unlock")
    with helper.expect_navigation():
        helper.locator("#changelist-actions button[name=index]").click()
    expect(helper.get_by_text("فُك قفل حساب واحد: owner2.")).to_be_visible()
    screenshot(helper, "unlocked")
    entry = AuditLog.objects.get(action=AuditLog.Action.UNLOCK)
    assert (entry.actor, entry.object_id) == (owner, str(locked_owner.pk))

    locked.goto("/admin/login/")
    submit_login(locked, "owner2", PASSWORD)
    assert locked.url.endswith("/admin/")


# --- 4. the countdown before the auto-cancel ------------------------------------------------------------------


def test_the_board_counts_down_to_the_auto_cancel_and_teacher_is_here_stops_it(
    page, supervisor, main_branch, log_in, screenshot
):
    with_password(supervisor)
    room = make_room(main_branch)
    group = make_group(main_branch, fee_period=FeePeriod.MONTH, room=room)
    started = timezone.now().replace(microsecond=0) - datetime.timedelta(minutes=5)
    session = Session.objects.create(
        group=group,
        date=timezone.localdate(started),
        starts_at=started,
        ends_at=started + datetime.timedelta(hours=2),
        room=room,
    )
    log_in(page, supervisor.username, PASSWORD)

    # The dashboard shows it too.
    countdown = page.locator(f"[data-countdowns] [data-session='{session.pk}'] .countdown-clock")
    expect(countdown).to_be_visible()
    page.goto(f"/admin/door/today/?branch={main_branch.pk}")
    countdown = page.locator(f"[data-countdowns] [data-session='{session.pk}'] .countdown-clock")
    expect(countdown).to_have_text(re.compile(r"^(10|9):\d\d$"))
    first = countdown.inner_text()
    expect(countdown).not_to_have_text(first, timeout=3_000)  # it ticks in the page, live
    minutes, seconds = (int(part) for part in countdown.inner_text().split(":"))
    assert 9 * 60 <= minutes * 60 + seconds <= 10 * 60
    # Impossible to miss: a red box near the top of the page.
    colour = page.locator(f"[data-countdowns] [data-session='{session.pk}'] .countdown").evaluate(
        "el => getComputedStyle(el).backgroundColor"
    )
    assert colour == "rgb(185, 28, 28)"
    screenshot(page, "countdown")

    page.get_by_role("button", name="المدرس حضر").click()
    page.wait_for_load_state("networkidle")
    expect(page.locator("[data-countdowns]")).to_have_count(0)
    session.refresh_from_db()
    assert session.teacher_checked_in_at is not None


# --- 5. every editable control looks like one -----------------------------------------------------------------

# Each text-like input, select and textarea: a visible border, or a background of its own.
UNBORDERED_CONTROLS = """() => {
  const seeThrough = (colour) => colour === "transparent" || /rgba\\(.*,\\s*0\\)$/.test(colour);
  const controls = [...document.querySelectorAll("#content input, #content select, #content textarea, main input, main select, main textarea")];
  const skipTypes = new Set(["hidden", "checkbox", "radio", "submit", "button", "file", "image", "reset"]);
  const offenders = [];
  for (const el of new Set(controls)) {
    if ((el.tagName === "INPUT" && skipTypes.has(el.type)) || el.disabled || el.readOnly) continue;
    if ((el.name || "").includes("__prefix__") || el.classList.contains("select2-hidden-accessible")) continue;
    if (el.closest("[data-no-border-check], #changelist-search, .hidden")) continue;
    const style = getComputedStyle(el);
    const bordered = ["Top", "Right", "Bottom", "Left"].some((side) =>
      parseFloat(style[`border${side}Width`]) > 0 && style[`border${side}Style`] !== "none" && !seeThrough(style[`border${side}Color`]));
    const filled = !seeThrough(style.backgroundColor);
    if (!bordered && !filled) offenders.push(`${el.tagName.toLowerCase()}#${el.id || el.name || el.outerHTML.slice(0, 160)}`);
  }
  return offenders;
}"""


def test_every_editable_control_on_the_main_forms_has_a_border_or_background(
    page, owner, staff_password, main_branch, log_in
):
    group = make_group(main_branch, room=make_room(main_branch))
    student = make_student(main_branch)
    enrollment = enrollment_create(actor=None, student=student, group=group)
    session = Session.objects.create(
        group=group,
        date=timezone.localdate(),
        starts_at=timezone.now() + datetime.timedelta(hours=2),
        ends_at=timezone.now() + datetime.timedelta(hours=3),
        room=group.default_room,
    )
    guardian = student.guardians.get()
    urls = [
        "/admin/core/student/add/",
        reverse("admin:core_student_change", args=[student.pk]),
        reverse("admin:core_guardian_change", args=[guardian.pk]),
        "/admin/core/group/add/",
        reverse("admin:core_group_change", args=[group.pk]),
        "/admin/core/teacher/add/",
        reverse("admin:core_teacher_change", args=[group.teacher_id]),
        "/admin/core/enrollment/add/",
        reverse("admin:core_enrollment_change", args=[enrollment.pk]),
        "/admin/core/session/add/",
        reverse("admin:core_session_change", args=[session.pk]),
        reverse("admin:core_receipt_record", args=[student.pk]),
        reverse("admin:core_receipt_cash_close"),
    ]
    log_in(page, owner.username, staff_password)
    found = {}
    for url in urls:
        page.goto(url)
        page.wait_for_load_state("networkidle")
        offenders = page.evaluate(UNBORDERED_CONTROLS)
        if offenders:
            found[url] = offenders
    assert not found, f"controls that look like plain text: {found}"


# --- 6. no English left on the main pages in Arabic -----------------------------------------------------------

# Visible text with Latin letters and no Arabic ones is English left behind, unless it is one of these:
# codes and numbers, phone numbers, usernames, brand names, file formats.
LATIN_ALLOWED = re.compile(
    r"^(?:[A-Z]{0,4}[-\d.,:/ ]*\d[-\d.,:/ ]*|\+?\d[\d ]+|SYSeducore|WhatsApp|UltraMsg|InstaPay|QR|EGP|"
    r"xlsx|csv|ods|xls|owner1|reception1|door1|[A-Z]\d*|G\d+|T\d+|H\d+|\S+@\S+)$"
)
LATIN_ONLY_TEXTS = """() => {
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const texts = [];
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const text = node.textContent.trim();
    if (!text || !/[A-Za-z]/.test(text) || /[\\u0600-\\u06FF]/.test(text)) continue;
    const parent = node.parentElement;
    // Icons are ligatures of a Latin name drawn by the icon font ("dashboard" shows a glyph).
    if (!parent || parent.closest("script, style, noscript, template, code, kbd, [hidden], [aria-hidden=true], .material-symbols-outlined")) continue;
    const rect = parent.getBoundingClientRect();
    const style = getComputedStyle(parent);
    if (!rect.width || !rect.height || style.visibility === "hidden" || style.display === "none") continue;
    texts.push(text);
  }
  return [...new Set(texts)];
}"""


def test_the_main_pages_in_arabic_leave_no_english_behind(page, owner, staff_password, main_branch, log_in):
    from django.core.management import call_command

    call_command("setup_schedules", verbosity=0)  # the background jobs, listed by name
    group = make_group(main_branch, room=make_room(main_branch))
    student = make_student(main_branch)
    enrollment_create(actor=None, student=student, group=group)
    log_in(page, owner.username, staff_password)
    urls = [
        "/admin/",
        "/admin/core/student/",
        "/admin/core/student/add/",
        reverse("admin:core_student_change", args=[student.pk]),
        "/admin/core/group/",
        "/admin/core/teacher/",
        "/admin/core/session/",
        "/admin/core/enrollment/",
        "/admin/core/receipt/",
        reverse("admin:core_receipt_record", args=[student.pk]),
        "/admin/core/messagetemplate/",
        "/admin/core/message/",
        "/admin/django_q/schedule/",
        f"/admin/door/today/?branch={main_branch.pk}",
    ]
    found = {}
    for url in urls:
        page.goto(url)
        page.wait_for_load_state("networkidle")
        english = [text for text in page.evaluate(LATIN_ONLY_TEXTS) if not LATIN_ALLOWED.match(text)]
        if english:
            found[url] = english
    assert not found, f"English on Arabic pages: {found}"
    # The search palette's key hint (shown once the palette opens) names Escape in Arabic.
    page.goto("/admin/")
    hints = [text.strip() for text in page.locator("kbd").all_text_contents()]
    assert "esc" not in hints and "خروج" in hints
