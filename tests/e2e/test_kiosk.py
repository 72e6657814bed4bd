"""The door in a browser: the kiosk tablet paired with its token, and the supervisor's page."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from core.models import Attendance, FeePeriod
from core.services.kiosks import kiosk_create
from tests.e2e.conftest import PASSWORD
from tests.factories import enroll, make_group, make_room, make_session, make_student, pay

pytestmark = pytest.mark.e2e


@pytest.fixture
def door_now(main_branch):
    """A room with a class starting in ten minutes (the live server runs in real time)."""
    room = make_room(main_branch)
    group = make_group(main_branch, fee="200.00", fee_period=FeePeriod.MONTH, room=room)
    students = [make_student(main_branch, name=name) for name in ("سارة علي", "منى حسن")]
    for student in students:
        pay(enroll(student, group), "200.00", day=timezone.localdate())
    make_session(group, room, starts_at=timezone.now() + datetime.timedelta(minutes=10))
    _kiosk, token = kiosk_create(actor=None, name="الباب الرئيسي", branch=main_branch, room=room)
    return students, token


def scan(page, code: str) -> None:
    """A keyboard-wedge scanner: the digits typed fast, then Enter."""
    page.locator("#scan-input").press_sequentially(code, delay=5)
    page.keyboard.press("Enter")


def test_kiosk_pairs_and_answers_green_then_gray(page, door_now, problems, screenshot):
    (student, _other), token = door_now
    page.goto("/kiosk/")
    page.wait_for_load_state("networkidle")
    assert page.get_attribute("html", "dir") == "rtl"
    page.fill("#token-input", token)
    page.keyboard.press("Enter")
    page.wait_for_selector("#scan-input", state="visible")
    assert page.evaluate("document.activeElement.id") == "scan-input"

    scan(page, student.code)
    result = page.locator("#result")
    expect(page.locator("#result")).to_have_attribute("data-colour", "green")
    assert student.full_name in result.inner_text()
    screenshot(page, "admitted")

    scan(page, student.code)
    expect(page.locator("#result")).to_have_attribute("data-colour", "gray")
    assert student.full_name in result.inner_text()
    screenshot(page, "already-in")

    attendance = Attendance.objects.get(student=student)
    assert attendance.source == Attendance.Source.KIOSK


def test_supervisor_scans_on_the_door_page(page, door_now, supervisor, log_in, problems, screenshot):
    (_student, other), _token = door_now
    supervisor.set_password(PASSWORD)
    supervisor.save(update_fields=["password"])
    log_in(page, supervisor.username, PASSWORD)
    page.goto("/admin/door/")
    page.wait_for_load_state("networkidle")
    page.wait_for_selector("#scan-input", state="visible")
    scan(page, other.code)
    expect(page.locator("#result")).to_have_attribute("data-colour", "green")
    assert other.full_name in page.locator("#result").inner_text()
    screenshot(page, "door-page")
    attendance = Attendance.objects.get(student=other)
    assert attendance.source == Attendance.Source.DESK and attendance.recorded_by == supervisor


def pair(page, token: str) -> None:
    page.goto("/kiosk/")
    page.wait_for_load_state("networkidle")
    page.fill("#token-input", token)
    page.keyboard.press("Enter")
    page.wait_for_selector("#scan-input", state="visible")


def test_keypad_and_roster(page, door_now, problems, screenshot):
    (student, other), token = door_now
    pair(page, token)
    roster = page.locator("#roster")
    expect(roster.locator("[data-count=expected] dd")).to_have_text("2")
    for digit in student.code:
        page.click(f"#keypad [data-key='{digit}']")
    page.click("#keypad [data-key=enter]")
    expect(page.locator("#result")).to_have_attribute("data-colour", "green")
    expect(roster.locator("[data-count=in] dd")).to_have_text("1")
    assert other.full_name in roster.inner_text()  # still waiting
    # the scan field keeps the focus for the USB scanner after a tap on the keypad
    assert page.evaluate("document.activeElement.id") == "scan-input"
    # and the answer clears itself after three seconds
    expect(page.locator("#result")).to_have_attribute("data-colour", "idle", timeout=6000)


def test_offline_scans_wait_in_the_tablet_and_are_sent_when_back(page, door_now, problems, screenshot):
    (student, other), token = door_now
    pair(page, token)
    # what the browser itself cannot fetch while the network is down (a font face) is expected
    problems.expect(r"net::ERR_INTERNET_DISCONNECTED")
    page.context.set_offline(True)
    scan(page, student.code)
    scan(page, other.code)
    expect(page.locator("#result")).to_have_attribute("data-colour", "offline")
    banner = page.locator("#offline-banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("2")
    screenshot(page, "offline")
    assert not Attendance.objects.exists()

    page.context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    expect(banner).to_be_hidden(timeout=10_000)
    sources = set(Attendance.objects.values_list("source", flat=True))
    assert Attendance.objects.count() == 2 and sources == {Attendance.Source.OFFLINE}
    # the queue is empty: the next scan goes straight to the server again
    scan(page, student.code)
    expect(page.locator("#result")).to_have_attribute("data-colour", "gray")


def test_supervisor_board_marks_the_teacher_and_opens_the_sheet(page, door_now, supervisor, log_in, screenshot):
    (student, _other), _token = door_now
    supervisor.set_password(PASSWORD)
    supervisor.save(update_fields=["password"])
    log_in(page, supervisor.username, PASSWORD)
    page.goto("/admin/door/today/")
    page.wait_for_load_state("networkidle")
    board = page.locator("#sessions-board")
    expect(board).to_contain_text(student.enrollments.get().group.name)
    with page.expect_navigation():
        board.locator("button[type=submit]").first.click()
    page.wait_for_load_state("networkidle")
    assert board.locator("button[type=submit]").count() == 0  # the teacher is in now
    screenshot(page, "board")
    group = student.enrollments.get().group
    page.goto(f"/admin/door/sheet/?group={group.pk}")
    page.wait_for_load_state("networkidle")
    expect(page.locator("#attendance-sheet")).to_contain_text(student.full_name)
    screenshot(page, "sheet")


def test_the_sheet_finds_its_group_by_typing(page, door_now, main_branch, supervisor, log_in, problems):
    """A big center has a thousand groups: the sheet's group is an autocomplete (admin select2 over
    /admin/autocomplete/), not a drop-down carrying them all."""
    (student, _other), _token = door_now
    group = student.enrollments.get().group
    group.name = "رياضيات متقدمة"
    group.save(update_fields=["name"])
    for name in ("فيزياء أولى", "كيمياء ثانية"):
        other = make_group(main_branch, fee="150.00", fee_period=FeePeriod.MONTH)
        other.name = name
        other.save(update_fields=["name"])
    supervisor.set_password(PASSWORD)
    supervisor.save(update_fields=["password"])
    log_in(page, supervisor.username, PASSWORD)
    page.goto("/admin/door/sheet/")
    page.wait_for_load_state("networkidle")
    assert page.locator("select#id_group option").count() <= 1  # nothing listed up front
    # wide enough to read a group's name (select2 would shrink to the empty select's few pixels)
    assert page.locator(".door-picker .select2-container").bounding_box()["width"] > 200
    page.locator(".door-picker .select2-selection").click()
    page.locator(".select2-search__field").fill("رياض")
    option = page.locator(".select2-results__option", has_text=group.name)
    expect(option).to_have_count(1)
    expect(page.locator(".select2-results__option", has_text="كيمياء")).to_have_count(0)
    option.click()
    with page.expect_navigation():
        page.get_by_role("button", name="عرض").click()
    expect(page.locator("#attendance-sheet")).to_contain_text(student.full_name)
    assert f"group={group.pk}" in page.url
    # the chosen group stays shown in the picker after the page reloads
    expect(page.locator(".door-picker .select2-selection")).to_contain_text(group.name)


def qr_video(path, text: str) -> None:
    """A Y4M clip showing the QR code of `text`, for chromium's fake camera."""
    import segno

    matrix = [list(row) for row in segno.make(text, micro=False).matrix]
    width, height, module, quiet = 640, 480, 10, 4
    size = (len(matrix) + 2 * quiet) * module
    left, top = (width - size) // 2, (height - size) // 2
    luma = bytearray([235]) * (width * height)
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                for dy in range(module):
                    start = (top + (y + quiet) * module + dy) * width + left + (x + quiet) * module
                    luma[start : start + module] = bytes([16]) * module
    chroma = bytes([128]) * (width * height // 4)
    frame = b"FRAME\n" + bytes(luma) + chroma + chroma
    with open(path, "wb") as clip:
        clip.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _frame in range(10):
            clip.write(frame)


def test_the_camera_reads_a_qr_card(browser, live_server, door_now, problems, tmp_path, screenshot):
    from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS

    (student, _other), token = door_now
    clip = tmp_path / "card.y4m"
    qr_video(clip, student.code)
    camera_args = [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={clip}",
    ]
    with_camera = browser.browser_type.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS + camera_args)
    try:
        context = with_camera.new_context(base_url=live_server.url, permissions=["camera"])
        context.set_default_timeout(15_000)
        page = context.new_page()
        page.on("console", problems.console)
        page.on("pageerror", problems.page_error)
        page.on("response", problems.response)
        pair(page, token)
        page.click("#camera-toggle")
        expect(page.locator("#camera")).to_be_visible()
        expect(page.locator("#result")).to_have_attribute("data-colour", "green")
        assert student.full_name in page.locator("#result").inner_text()
        screenshot(page, "camera")
        # the card stays in front of the camera: one scan, not one per frame
        page.wait_for_timeout(1000)
        assert Attendance.objects.filter(student=student).count() == 1
        page.click("#camera-toggle")
        expect(page.locator("#camera")).to_be_hidden()
        context.close()
    finally:
        with_camera.close()
    problems.assert_none()
