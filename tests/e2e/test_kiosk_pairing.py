"""Pairing a door tablet: the admin's token page (QR, copy, shown once), the tablet opening the QR's
link, wrong and revoked tokens said on the token form, unpairing only by a long press, and a
result box that never moves the keypad on a landscape or portrait tablet."""

import base64
import datetime
import struct
import zlib

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone, translation
from playwright.sync_api import expect

from core.models import Attendance, FeePeriod, Kiosk, ScanEvent
from core.services.kiosks import kiosk_create, kiosk_from_token, kiosk_revoke
from core.web.kiosk_api import kiosk_strings
from tests.e2e import test_kiosk
from tests.e2e.browser import submit_login
from tests.e2e.conftest import PASSWORD
from tests.e2e.test_kiosk import pair, scan
from tests.factories import enroll, make_group, make_room, make_session, make_student, pay

door_now = test_kiosk.door_now

pytestmark = pytest.mark.e2e


def arabic(key: str) -> str:
    with translation.override("ar"):
        return kiosk_strings()[key]


def stored_token(page) -> str | None:
    return page.evaluate("window.localStorage.getItem('kioskToken')")


def test_the_admin_token_page_pairs_the_tablet_by_its_qr_once(new_page, door_now, owner, log_in, problems, screenshot):
    (student, _other), _token = door_now
    owner.set_password(PASSWORD)
    owner.save(update_fields=["password"])
    admin = new_page()
    log_in(admin, owner.username, PASSWORD)
    admin.goto("/admin/core/kiosk/add/")
    admin.fill("#id_name", "باب القاعة")
    admin.select_option("#id_branch", str(student.branch_id))
    with admin.expect_navigation():
        admin.click("button[name=_save]")
    kiosk = Kiosk.objects.get(name="باب القاعة")
    assert admin.url.endswith(f"/admin/core/kiosk/{kiosk.pk}/token/")
    token = admin.locator("#kiosk-token").inner_text().strip()
    assert len(token) >= 40
    pair_url = admin.get_attribute("#kiosk-pair-qr", "data-pair-url")
    assert pair_url == f"{admin.url.split('/admin/')[0]}/kiosk/#pair={token}"
    screenshot(admin, "token-page")

    # the QR code on the page, read back by the kiosk's own decoder, is the pairing address
    decoded = admin.evaluate(
        """async () => {
          await new Promise((resolve, reject) => {
            const script = document.createElement("script");
            script.src = "/static/core/vendor/jsqr/jsQR.js";
            script.onload = resolve; script.onerror = reject;
            document.head.appendChild(script);
          });
          const svg = document.querySelector("#kiosk-pair-qr svg").cloneNode(true);
          svg.setAttribute("width", "400"); svg.setAttribute("height", "400");
          svg.setAttribute("xmlns", "http://www.w3.org/2000/svg");
          const image = new Image();
          image.src = "data:image/svg+xml;base64," + btoa(new XMLSerializer().serializeToString(svg));
          await image.decode();
          const canvas = document.createElement("canvas");
          canvas.width = 440; canvas.height = 440;
          const context = canvas.getContext("2d");
          context.fillStyle = "#fff"; context.fillRect(0, 0, 440, 440);
          context.drawImage(image, 20, 20, 400, 400);
          const frame = context.getImageData(0, 0, 440, 440);
          const found = window.jsQR(frame.data, frame.width, frame.height);
          return found ? found.data : null;
        }"""
    )
    assert decoded == pair_url and "/kiosk/#pair=" in decoded

    # the copy button puts the token on the clipboard
    admin.context.grant_permissions(["clipboard-read", "clipboard-write"])
    admin.click("#kiosk-token-copy")
    expect(admin.locator("#kiosk-token-copy span").nth(1)).to_be_visible()  # "Copied"
    assert admin.evaluate("navigator.clipboard.readText()") == token

    # a reload does not post the form again and does not show the token again
    admin.reload()
    admin.wait_for_load_state("networkidle")
    expect(admin.locator("#kiosk-token-gone")).to_be_visible()
    assert token not in admin.content()
    assert Kiosk.objects.count() == 2  # door_now's and this one

    # the tablet (no staff login) opens the QR's link: paired, and the token leaves the address bar
    tablet = new_page()
    tablet.goto(pair_url)
    tablet.wait_for_selector("#scan-input", state="visible")
    assert "#" not in tablet.url and token not in tablet.url and tablet.url.endswith("/kiosk/")
    assert tablet.evaluate("window.location.hash") == ""
    assert stored_token(tablet) == token
    scan(tablet, student.code)
    expect(tablet.locator("#result")).to_have_attribute("data-colour", "green")
    assert Attendance.objects.get(student=student).source == Attendance.Source.KIOSK
    screenshot(tablet, "paired-by-link")


def test_a_wrong_token_is_said_on_the_token_form_and_not_kept(page, door_now, problems, screenshot):
    problems.expect(r"HTTP 401 GET .*/kiosk/roster/")
    problems.expect(r"status of 401")
    page.goto("/kiosk/")
    page.wait_for_load_state("networkidle")
    page.fill("#token-input", "AB1tFR3n5ClJelhPkUtBoQJqQ3Bd2lqfWrziY4zXxa0")
    page.keyboard.press("Enter")
    message = page.locator("#token-message")
    expect(message).to_have_text(arabic("refused"))
    expect(page.locator("#token-form")).to_be_visible()
    expect(page.locator("#door")).to_be_hidden()
    assert stored_token(page) is None
    assert page.input_value("#token-input") == ""
    screenshot(page, "wrong-token")


def test_a_wrong_pairing_link_is_refused_and_cleared_from_the_address(page, door_now, problems):
    problems.expect(r"HTTP 401 GET .*/kiosk/roster/")
    problems.expect(r"status of 401")
    page.goto("/kiosk/#pair=AB1tFR3n5ClJelhPkUtBoQJqQ3Bd2lqfWrziY4zXxa0")
    expect(page.locator("#token-message")).to_have_text(arabic("refused"))
    assert page.evaluate("window.location.hash") == ""
    assert stored_token(page) is None


def test_a_revoked_kiosk_shows_the_token_form_with_the_reason(page, door_now, problems):
    (student, _other), token = door_now
    problems.expect(r"HTTP 401 POST .*/kiosk/scan/")
    # A roster refresh that falls after the revoke is refused too (and says so the same way).
    problems.expect(r"HTTP 401 GET .*/kiosk/roster/")
    problems.expect(r"status of 401")
    pair(page, token)
    kiosk_revoke(actor=None, kiosk=Kiosk.objects.get())
    scan(page, student.code)
    expect(page.locator("#token-form")).to_be_visible()
    expect(page.locator("#token-message")).to_have_text(arabic("refused"))
    assert stored_token(page) is None
    assert not Attendance.objects.exists()


def test_forgetting_the_token_needs_a_long_press_then_the_confirmation(page, door_now, problems):
    (_student, _other), token = door_now
    pair(page, token)
    dialogs = []

    def accept(dialog):
        dialogs.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    # a tap: nothing happens but a hint, and the scan field keeps the focus
    page.click("#unpair")
    expect(page.locator("#unpair-hint")).to_have_text(arabic("holdToForget"))
    page.wait_for_timeout(300)
    assert not dialogs and stored_token(page) == token
    assert page.evaluate("document.activeElement.id") == "scan-input"
    # a 2-second hold, then the confirmation: unpaired
    page.hover("#unpair")
    page.mouse.down()
    page.wait_for_timeout(2300)
    page.mouse.up()
    assert dialogs == [arabic("confirmForget")]
    expect(page.locator("#token-form")).to_be_visible()
    assert stored_token(page) is None


def png(width: int = 240, height: int = 240) -> bytes:
    """A plain PNG (no imaging library needed): a blue square."""
    row = b"\x00" + bytes([37, 99, 235]) * width
    raw = zlib.compress(row * height)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


@pytest.fixture
def long_name_door(main_branch, settings, tmp_path):
    """A student with a photo and a long name in a group with a long name, in a class starting soon."""
    settings.MEDIA_ROOT = tmp_path / "media"
    room = make_room(main_branch)
    group = make_group(main_branch, fee="200.00", fee_period=FeePeriod.MONTH, room=room)
    group.name = "لغة إنجليزية الثالث الثانوي - مجموعة المتفوقين المسائية"
    group.save(update_fields=["name"])
    student = make_student(main_branch, name="عبد الرحمن محمد عبد الحميد عبد العزيز الشافعي الدمياطي")
    student.photo.save("students/long.png", ContentFile(png()))
    pay(enroll(student, group), "200.00", day=timezone.localdate())
    make_session(group, room, starts_at=timezone.now() + datetime.timedelta(minutes=10))
    return student


@pytest.mark.parametrize("width,height", [(1280, 800), (1024, 768), (800, 1280)])
def test_a_scan_result_never_moves_the_keypad(
    browser, live_server, long_name_door, supervisor, problems, screenshot, width, height
):
    # the supervisor's page: same screen as the tablet, and a staff login may load the photo
    student = long_name_door
    supervisor.set_password(PASSWORD)
    supervisor.save(update_fields=["password"])
    context = browser.new_context(base_url=live_server.url, viewport={"width": width, "height": height})
    try:
        page = context.new_page()
        page.on("console", problems.console)
        page.on("pageerror", problems.page_error)
        page.on("response", problems.response)
        page.goto("/admin/login/")
        submit_login(page, supervisor.username, PASSWORD)
        page.goto("/admin/door/")
        page.wait_for_selector("#scan-input", state="visible")
        page.wait_for_load_state("networkidle")

        measure = """() => {
          const box = (selector) => {
            const r = document.querySelector(selector).getBoundingClientRect();
            return [Math.round(r.x), Math.round(r.y), Math.round(r.width), Math.round(r.height)];
          };
          return { result: box("#result"), enter: box("#keypad [data-key=enter]"),
                   text: document.getElementById("result").innerText };
        }"""
        before = page.evaluate(measure)
        scan(page, student.code)
        # measured at once while the answer is on screen (it clears itself after three seconds)
        page.wait_for_function(
            "() => { const photo = document.getElementById('result-photo');"
            " return document.getElementById('result').dataset.colour === 'green'"
            " && !photo.hidden && photo.complete && photo.naturalWidth > 0; }"
        )
        after = page.evaluate(measure)
        assert (after["result"], after["enter"]) == (before["result"], before["enter"])
        assert after["enter"][1] + after["enter"][3] <= height  # the Enter key is on screen
        # the name is said once, with the group, inside the box
        assert after["text"].count(student.full_name) == 1
        assert after["text"].count(student.enrollments.get().group.name[:20]) == 1
        screenshot(page, f"{width}x{height}")
    finally:
        context.close()


def test_english_sentences_isolate_arabic_names(browser, live_server, door_now, problems, screenshot):
    (student, _other), token = door_now
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 800})
    try:
        context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
        page = context.new_page()
        page.on("console", problems.console)
        page.on("pageerror", problems.page_error)
        page.on("response", problems.response)
        pair(page, token)
        assert (page.get_attribute("html", "lang"), page.get_attribute("html", "dir")) == ("en", "ltr")
        scan(page, student.code)
        expect(page.locator("#result")).to_have_attribute("data-colour", "green")
        scan(page, student.code)
        expect(page.locator("#result")).to_have_attribute("data-colour", "gray")
        isolated = page.locator("#result-message bdi").all_inner_texts()
        assert student.full_name in isolated
        screenshot(page, "english-gray")
    finally:
        context.close()


def test_the_page_has_no_token_in_its_html(page, door_now):
    # the pairing token travels only in the address's #fragment, which the server never receives
    (_student, _other), token = door_now
    response = page.goto(f"/kiosk/#pair={token}")
    assert token not in response.text()
    assert base64.urlsafe_b64decode(token + "=")  # a token is url-safe: no escaping in the link


def test_a_pairing_qr_shown_to_the_door_camera_pairs_and_is_never_sent_as_a_scan(
    page, door_now, main_branch, live_server
):
    (_student, _other), token = door_now
    pair(page, token)
    _side, side_token = kiosk_create(actor=None, name="Side door", branch=main_branch)
    scan(page, f"{live_server.url}/kiosk/#pair={side_token}")
    page.wait_for_function(f"() => window.localStorage.getItem('kioskToken') === '{side_token}'")
    expect(page.locator("#scan-input")).to_be_visible()
    assert not ScanEvent.objects.exists()


def test_the_kiosk_change_page_renames_and_revokes_with_a_reason(page, door_now, owner, log_in, problems, screenshot):
    (_student, _other), token = door_now
    kiosk = Kiosk.objects.get()
    owner.set_password(PASSWORD)
    owner.save(update_fields=["password"])
    log_in(page, owner.username, PASSWORD)
    page.goto(f"/admin/core/kiosk/{kiosk.pk}/change/")
    page.fill("#id_name", "باب القاعة الكبيرة")
    screenshot(page, "change")
    with page.expect_navigation():
        page.click("button[name=_continue]")
    kiosk.refresh_from_db()
    assert kiosk.name == "باب القاعة الكبيرة"

    with page.expect_navigation():
        page.click(f"a[href$='/admin/core/kiosk/{kiosk.pk}/revoke/']")
    page.wait_for_load_state("networkidle")
    page.fill("#id_reason", "الجهاز سُرق")
    screenshot(page, "revoke")
    with page.expect_navigation():
        page.click("#kiosk-revoke-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    kiosk.refresh_from_db()
    assert kiosk.revoked_at is not None and kiosk_from_token(token) is None
    assert page.locator("button[name=_save]").count() == 0 and page.locator("#id_name").count() == 0
    assert page.locator(f"a[href$='/admin/core/kiosk/{kiosk.pk}/revoke/']").count() == 0
    screenshot(page, "revoked")
