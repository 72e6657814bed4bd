"""The money screens in a browser (SPEC.md R8): a receptionist takes a payment from the student's
page and lands on the receipt, the A5 and 80 mm receipts print in Arabic, the accountant voids a
receipt with a reason, and bad amounts are refused with a translated error that writes nothing.

Each scenario checks what the user sees and what the database holds afterwards.
"""

import datetime
import re
from decimal import Decimal

import pytest
from django.utils import translation
from django.utils.translation import gettext, pgettext
from playwright.sync_api import expect

from core.models import AuditLog, EntryType, LedgerEntry, Receipt
from core.services.enrollments import enrollment_create
from core.services.payments import payment_record
from tests.e2e.browser import html_language
from tests.e2e.conftest import PASSWORD
from tests.factories import make_group, make_student

pytestmark = pytest.mark.e2e

STUDENT_NAME = "سارة أحمد عبد الرحمن"
OCTOBER = datetime.date(2026, 10, 1)
NOVEMBER = datetime.date(2026, 11, 1)
RECEIPT_MODEL = Receipt._meta.label_lower


def arabic(message: str, context: str = "") -> str:
    """The Arabic the page must show for an English msgid (and proof that it is translated)."""
    with translation.override("ar"):
        text = pgettext(context, message) if context else gettext(message)
    assert text != message, f"{message!r} has no Arabic translation"
    return text


def with_password(user):
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    return user


@pytest.fixture
def owing(main_branch):
    """A student who owes 200 since October in one group and 300 since November in another.

    The newer group's code sorts first on the page, so "oldest debt first" cannot be mistaken
    for "first row first"."""
    older_group = make_group(main_branch, code="Z-OLD", fee="200.00")
    newer_group = make_group(main_branch, code="A-NEW", fee="300.00")
    student = make_student(main_branch, name=STUDENT_NAME)
    enrollments = {}
    for group, day, amount in ((newer_group, NOVEMBER, "300.00"), (older_group, OCTOBER, "200.00")):
        enrollment = enrollment_create(actor=None, student=student, group=group, start_date=datetime.date(2026, 9, 1))
        LedgerEntry.objects.create(
            enrollment=enrollment,
            entry_type=EntryType.CHARGE,
            amount=Decimal(amount),
            date=day,
            source=LedgerEntry.Source.SYSTEM,
        )
        enrollments[group.code] = enrollment
    return student, enrollments["Z-OLD"], enrollments["A-NEW"]


def ledger_rows(student) -> list[tuple[str, Decimal, str]]:
    return sorted(
        (entry_type, amount, code)
        for entry_type, amount, code in LedgerEntry.objects.filter(enrollment__student=student).values_list(
            "entry_type", "amount", "enrollment__group__code"
        )
    )


def no_horizontal_overflow(page) -> list[str]:
    """Elements of the receipt whose content is wider than their box, and a page wider than the window."""
    return page.evaluate(
        """() => {
            const wide = [];
            if (document.documentElement.scrollWidth > document.documentElement.clientWidth) wide.push('page');
            for (const el of document.querySelectorAll('.receipt, .receipt *')) {
                if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).display !== 'inline') {
                    wide.push(el.tagName + '.' + el.className + ': ' + el.textContent.trim().slice(0, 40));
                }
            }
            return wide;
        }"""
    )


# --- 1. the receptionist takes a payment ------------------------------------------------------------


def test_receptionist_takes_a_payment_and_a_double_click_records_one(
    page, receptionist, owing, log_in, problems, screenshot
):
    student, older, newer = owing
    log_in(page, with_password(receptionist).username, PASSWORD)

    page.goto(f"/admin/core/student/{student.pk}/change/")
    with page.expect_navigation():
        page.get_by_role("link", name=arabic("Record payment")).click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith(f"/admin/core/receipt/cashier/{student.pk}/")
    assert html_language(page) == ("ar", "rtl")
    assert STUDENT_NAME in page.locator(".money-subject").inner_text()
    owed = page.locator(".money-table tfoot .money-owed")
    expect(owed).to_have_text("500.00")
    # The total in words, and the amount box already holds what the door will ask (issue 11.8).
    expect(page.locator("[data-balance] strong")).to_have_text(arabic("owes %(amount)s") % {"amount": "500.00"})
    expect(page.locator("#id_amount")).to_have_value(re.compile(r"^\d+\.\d\d$"))
    assert Decimal(page.locator("#id_amount").input_value()) >= Decimal("500.00")
    screenshot(page, "record")

    # Arabic-Indic digits, as an Arabic keyboard types them; no lines: the oldest debt first.
    page.fill("#id_amount", "٢٥٠")
    page.select_option("#id_method", "cash")
    page.select_option("#id_layout", "a5")
    # A real double click: chromium folds the two submits into one request. What happens at a
    # busy desk is worse: the first request reaches the server but its answer is slow, and the
    # receptionist clicks again. The route below holds that first answer back, so the same form
    # really reaches the server twice.
    posts, held = [], []

    def hold_the_first_answer(route):
        if route.request.method != "POST":
            route.continue_()
            return
        posts.append(route.request.post_data_json)
        if not held:
            held.append(route.fetch(max_redirects=0))  # recorded on the server, answer held back
            return
        route.continue_()

    page.route("**/admin/core/receipt/cashier/*/", hold_the_first_answer)
    # The mouse itself: a locator's click would wait for the pending navigation to finish.
    # In view first: the mouse clicks where the button is on the screen, not below the fold.
    page.locator("#money-pay button[type=submit]").scroll_into_view_if_needed()
    box = page.locator("#money-pay button[type=submit]").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.dblclick(x, y)
    for _ in range(100):
        if held:
            break
        page.wait_for_timeout(50)
    assert held and held[0].status == 302
    assert Receipt.objects.count() == 1
    page.mouse.click(x, y)
    # Polled, not awaited: the held navigation is dropped (net::ERR_ABORTED) for the new one.
    expect(page).to_have_url(re.compile(r"/admin/core/receipt/\d+/print/\?layout=a5$"))
    page.wait_for_load_state("networkidle")
    assert len(posts) == 2 and posts[0]["idempotency_key"] == posts[1]["idempotency_key"]

    # The database: one receipt, by this cashier, paying the October debt first.
    receipt = Receipt.objects.get()
    assert receipt.student == student and receipt.cashier == receptionist
    assert receipt.total == Decimal("250.00") and receipt.method == "cash" and not receipt.is_void
    assert receipt.number == f"{receipt.year}-000001"
    payments = {entry.enrollment_id: entry.amount for entry in receipt.entries.filter(entry_type=EntryType.PAYMENT)}
    assert payments == {older.pk: Decimal("200.00"), newer.pk: Decimal("50.00")}
    assert LedgerEntry.objects.filter(enrollment__student=student).count() == 4  # two charges, two lines
    assert AuditLog.objects.filter(model=RECEIPT_MODEL, object_id=str(receipt.pk)).count() == 1

    # What the receptionist sees: the receipt, in Arabic, right to left.
    assert html_language(page) == ("ar", "rtl")
    receipt_box = page.locator("article.receipt")
    expect(receipt_box.locator(".receipt-title")).to_have_text(arabic("Payment receipt"))
    text = receipt_box.inner_text()
    assert receipt.number in text and STUDENT_NAME in text and student.code in text
    lines = receipt_box.locator(".receipt-lines tbody tr")
    expect(lines).to_have_count(2)
    assert lines.nth(0).locator(".receipt-amount").inner_text() == "200.00"
    assert "Z-OLD" in lines.nth(0).inner_text()
    total_row = receipt_box.locator(".receipt-lines tfoot tr").first
    assert total_row.locator(".receipt-amount").inner_text() == "250.00"
    balance_row = receipt_box.locator(".receipt-lines tfoot tr", has_text=arabic("New balance"))
    # In words, never a bare signed number (issue 11.9).
    owes = arabic("owes %(amount)s")
    assert balance_row.locator(".receipt-amount").inner_text() == owes % {"amount": "250.00"}
    # Right to left: the label is on the right and the amount on the left.
    label_box = total_row.locator("th").bounding_box()
    amount_box = total_row.locator("td").bounding_box()
    assert amount_box["x"] + amount_box["width"] <= label_box["x"]
    # The first print of a fresh receipt is the original, even after a double click.
    expect(receipt_box.locator(".receipt-copy")).to_be_hidden()
    screenshot(page, "receipt")
    problems.assert_none()


# --- 2. the printed receipt ------------------------------------------------------------------------


def pdf_pages(pdf: bytes) -> list[tuple[float, float]]:
    """The (width, height) in millimetres of each page of a PDF chromium printed."""
    boxes = re.findall(rb"/MediaBox\s*\[\s*([\d.\s-]+)\]", pdf)
    pages = []
    for box in boxes:
        x0, y0, x1, y1 = (float(number) for number in box.split())
        pages.append((round((x1 - x0) * 25.4 / 72), round((y1 - y0) * 25.4 / 72)))
    return pages


def total_align(sheet) -> str:
    return sheet.locator(".receipt-lines tfoot .receipt-amount").first.evaluate("el => getComputedStyle(el).textAlign")


@pytest.mark.parametrize(
    ("layout", "width_mm", "paper_mm"),
    [("a5", 148, (148, 210)), ("thermal", 72, (80, 297))],
)
def test_the_receipt_prints_in_arabic_on_a5_and_80mm_and_a_reprint_says_copy(
    page, receptionist, owing, log_in, problems, screenshot, layout, width_mm, paper_mm
):
    student, _older, _newer = owing
    receipt = payment_record(student=student, cashier=receptionist, amount="250", reference="", note="شهر أكتوبر")
    log_in(page, with_password(receptionist).username, PASSWORD)
    # window.print() would open the print dialog: count the calls, and send the browser's print
    # events around it as a real print does (the receipt counts its prints on them).
    page.add_init_script(
        "window.print = () => { window.printed = (window.printed || 0) + 1;"
        " window.dispatchEvent(new Event('beforeprint')); window.dispatchEvent(new Event('afterprint')); };"
    )

    page.goto(f"/admin/core/receipt/{receipt.pk}/print/?layout={layout}")
    page.wait_for_load_state("networkidle")
    assert html_language(page) == ("ar", "rtl")
    assert page.locator("body").get_attribute("class").split() == ["print-page", "receipt-page", f"receipt-{layout}"]
    sheet = page.locator("article.receipt")
    # The paper's width, in CSS pixels (96 per inch), give or take a pixel.
    assert abs(sheet.bounding_box()["width"] - width_mm * 96 / 25.4) < 2
    assert no_horizontal_overflow(page) == []
    expect(sheet.locator(".receipt-title")).to_have_text(arabic("Payment receipt"))
    assert receipt.number in sheet.inner_text() and STUDENT_NAME in sheet.inner_text()
    expect(sheet.locator(".receipt-mark:visible")).to_have_count(0)  # the original: no COPY, no VOID
    # opening it, or switching its layout, is not printing it
    page.reload()
    page.wait_for_load_state("networkidle")
    expect(sheet.locator(".receipt-mark:visible")).to_have_count(0)
    # Every amount sits on the left of its label, the way Arabic reads.
    for row in sheet.locator(".receipt-lines tbody tr, .receipt-lines tfoot tr").all():
        label, amount = row.locator("th, td").first.bounding_box(), row.locator(".receipt-amount").bounding_box()
        assert amount["x"] + amount["width"] <= label["x"] + 1, row.inner_text()
    # The amount column's heading lines up with its amounts.
    align = "el => getComputedStyle(el).textAlign"
    assert sheet.locator(".receipt-lines thead th").last.evaluate(align) == total_align(sheet)
    # Digits are Latin, in a readable size.
    total_cell = sheet.locator(".receipt-lines tfoot .receipt-amount").first
    assert total_cell.inner_text() == "250.00"
    font_px = total_cell.evaluate("cell => getComputedStyle(cell).fontSize").removesuffix("px")
    assert float(font_px) >= 12  # a CSS size, not money
    screenshot(page, "original")

    with page.expect_response(lambda answer: answer.url.endswith(f"/receipt/{receipt.pk}/printed/")) as counted:
        page.get_by_role("button", name=arabic("Print")).click()
    assert counted.value.status == 204
    assert page.evaluate("window.printed") == 1
    # printed once: the next print from this same page is a copy
    expect(sheet.locator(".receipt-copy")).to_be_visible()
    receipt.refresh_from_db()
    assert receipt.print_count == 1
    # On paper: the toolbar is gone and the receipt takes one sheet of its own paper size,
    # within the paper's width and centred on it (a thermal printer cannot print its edges).
    assert pdf_pages(page.pdf(prefer_css_page_size=True)) == [paper_mm]
    paper_px = [round(mm * 96 / 25.4) for mm in paper_mm]
    page.set_viewport_size({"width": paper_px[0], "height": paper_px[1]})
    page.emulate_media(media="print")
    expect(page.locator(".print-toolbar")).to_be_hidden()
    box = sheet.bounding_box()
    left, right = box["x"], paper_px[0] - box["x"] - box["width"]
    assert left >= -1 and right >= -1 and abs(left - right) <= 2, (left, right)
    assert no_horizontal_overflow(page) == []
    screenshot(page, "on-paper")
    page.emulate_media(media="screen")
    page.set_viewport_size({"width": 1366, "height": 860})

    # Opened again, it is a copy, marked as such; opening it counts no print.
    page.reload()
    page.wait_for_load_state("networkidle")
    expect(sheet.locator(".receipt-copy")).to_have_text(arabic("COPY"))
    assert no_horizontal_overflow(page) == []
    screenshot(page, "copy")
    receipt.refresh_from_db()
    # two prints: the button's, and the PDF above (the browser sends its print events for it too)
    assert receipt.print_count == 2 and not receipt.is_void
    assert Receipt.objects.count() == 1


# --- 3. the accountant voids a receipt --------------------------------------------------------------


def test_the_accountant_voids_a_receipt_with_a_reason_and_the_receptionist_cannot(
    new_page, receptionist, accountant, owing, log_in, problems, screenshot
):
    student, older, newer = owing
    receipt = payment_record(student=student, cashier=receptionist, amount="250")
    before = ledger_rows(student)
    change_url = f"/admin/core/receipt/{receipt.pk}/change/"
    void_label = arabic("Void", "receipt action")

    # The receptionist sees the receipt but no void or refund button, and the page itself refuses.
    desk = new_page()
    log_in(desk, with_password(receptionist).username, PASSWORD)
    desk.goto(change_url)
    desk.wait_for_load_state("networkidle")
    expect(desk.locator("body")).to_contain_text(receipt.number)
    expect(desk.get_by_role("link", name=void_label)).to_have_count(0)
    expect(desk.get_by_role("link", name=arabic("Refund"))).to_have_count(0)
    problems.expect(rf"HTTP 403 GET .*/receipt/{receipt.pk}/void/")
    problems.expect(r"status of 403")
    response = desk.goto(f"/admin/core/receipt/{receipt.pk}/void/")
    assert response.status == 403
    receipt.refresh_from_db()
    assert not receipt.is_void and ledger_rows(student) == before

    # The accountant voids it, and must give a reason.
    office = new_page()
    log_in(office, with_password(accountant).username, PASSWORD)
    office.goto(change_url)
    with office.expect_navigation():
        office.get_by_role("link", name=void_label).click()
    office.wait_for_load_state("networkidle")
    assert office.url.endswith(f"/admin/core/receipt/{receipt.pk}/void/")
    assert html_language(office) == ("ar", "rtl")
    office.fill("#id_reason", "   ")
    with office.expect_navigation():
        office.locator(".money-form button[type=submit]").click()
    with translation.override("ar"):
        required = gettext("This field is required.")
    expect(office.locator(".money-form .errors")).to_contain_text(required)
    receipt.refresh_from_db()
    assert not receipt.is_void and ledger_rows(student) == before
    screenshot(office, "reason-required")

    office.fill("#id_reason", "المبلغ كُتب خطأ")
    with office.expect_navigation(url=f"**{change_url}"):
        office.locator(".money-form button[type=submit]").click()
    office.wait_for_load_state("networkidle")
    expect(office.locator("body")).to_contain_text("المبلغ كُتب خطأ")
    screenshot(office, "voided")

    # The database: marked void, nothing deleted, one void entry undoing each payment line.
    receipt.refresh_from_db()
    assert receipt.is_void and receipt.voided_by == accountant and receipt.void_reason == "المبلغ كُتب خطأ"
    payments = list(receipt.entries.filter(entry_type=EntryType.PAYMENT).order_by("id"))
    voids = list(receipt.entries.filter(entry_type=EntryType.VOID).order_by("id"))
    assert [(p.enrollment_id, p.amount) for p in payments] == [
        (older.pk, Decimal("200.00")),
        (newer.pk, Decimal("50.00")),
    ]
    assert all(payment.reversed_at is not None for payment in payments)
    assert [(v.reverses_id, v.amount, v.created_by_id) for v in voids] == [
        (p.pk, p.amount, accountant.pk) for p in payments
    ]
    assert ledger_rows(student) == sorted(
        [*before, (EntryType.VOID, Decimal("200.00"), "Z-OLD"), (EntryType.VOID, Decimal("50.00"), "A-NEW")]
    )
    assert AuditLog.objects.filter(model=RECEIPT_MODEL, object_id=str(receipt.pk), reason="المبلغ كُتب خطأ").exists()

    # The printed receipt says VOID and why, and the balance is what it was before the payment.
    office.goto(f"/admin/core/receipt/{receipt.pk}/print/?layout=a5")
    office.wait_for_load_state("networkidle")
    sheet = office.locator("article.receipt")
    expect(sheet.locator(".receipt-void-mark")).to_have_text(arabic("VOID"))
    expect(sheet.locator(".receipt-void-reason")).to_contain_text("المبلغ كُتب خطأ")
    balance_row = sheet.locator(".receipt-lines tfoot tr", has_text=arabic("New balance"))
    assert balance_row.locator(".receipt-amount").inner_text() == arabic("owes %(amount)s") % {"amount": "500.00"}
    # What it took is crossed out; the balance, still true, is not. (A line-through drawn on an
    # ancestor crosses its text out too, so the ancestors are asked as well.)
    crossed = """el => {
        for (let node = el; node; node = node.parentElement) {
            if (getComputedStyle(node).textDecorationLine.includes('line-through')) return true;
        }
        return false;
    }"""
    assert sheet.locator(".receipt-lines tbody td").first.evaluate(crossed)
    assert sheet.locator(".receipt-lines tfoot tr").first.locator("td").evaluate(crossed)
    assert not balance_row.locator("td").evaluate(crossed)
    screenshot(office, "void-receipt")

    # Voiding twice is refused with a message, and adds nothing.
    office.goto(f"/admin/core/receipt/{receipt.pk}/void/")
    office.fill("#id_reason", "مرة ثانية")
    with office.expect_navigation():
        office.locator(".money-form button[type=submit]").click()
    already = arabic("Receipt %(number)s is already void.") % {"number": receipt.number}
    expect(office.locator(".money-form")).to_contain_text(already)
    assert receipt.entries.filter(entry_type=EntryType.VOID).count() == 2


# --- 4. bad amounts ----------------------------------------------------------------------------------


def test_bad_amounts_are_refused_with_an_arabic_error_and_write_nothing(
    page, receptionist, owing, log_in, problems, screenshot
):
    student, older, _newer = owing
    before = ledger_rows(student)
    audit_rows = AuditLog.objects.count()
    log_in(page, with_password(receptionist).username, PASSWORD)
    page.goto(f"/admin/core/receipt/cashier/{student.pk}/")
    page.wait_for_load_state("networkidle")
    submit = page.locator("#money-pay button[type=submit]")
    amount_errors = page.locator("#money-pay .errors", has=page.locator("#id_amount"))
    too_large = arabic("%(amount)s is more than the largest allowed amount, %(maximum)s.") % {
        "amount": "1000000.01",
        "maximum": "1000000.00",
    }
    cases = [
        ("0", arabic("The amount must be more than zero.")),
        ("-50", arabic("The amount must be more than zero.")),
        ("٠", arabic("The amount must be more than zero.")),
        ("1000000.01", too_large),
        ("12.345", arabic("Amounts have at most two decimal places (piasters).")),
    ]
    for typed, message in cases:
        page.fill("#id_amount", typed)
        with page.expect_navigation():
            submit.click()
        expect(amount_errors).to_contain_text(message)
        assert page.input_value("#id_amount") == typed  # kept, to be corrected
        assert not Receipt.objects.exists() and ledger_rows(student) == before, typed
        if typed == "0":
            screenshot(page, "zero")

    # Nothing typed at all.
    page.fill("#id_amount", "")
    with page.expect_navigation():
        submit.click()
    expect(page.locator("#money-pay")).to_contain_text(arabic("Enter the amount."))

    # A bad amount on a group's line is shown on that line.
    page.fill(f"input[name=line_{older.pk}]", "-1")
    with page.expect_navigation():
        submit.click()
    line_cell = page.locator("td", has=page.locator(f"input[name=line_{older.pk}]"))
    expect(line_cell.locator(".money-error")).to_have_text(arabic("The amount must be more than zero."))
    screenshot(page, "bad-line")
    assert not Receipt.objects.exists() and ledger_rows(student) == before
    assert AuditLog.objects.count() == audit_rows

    # Corrected, the same form records one payment.
    page.fill(f"input[name=line_{older.pk}]", "")
    page.fill("#id_amount", "100")
    with page.expect_navigation(url="**/print/**"):
        submit.click()
    receipt = Receipt.objects.get()
    assert receipt.total == Decimal("100.00")
    assert list(receipt.entries.values_list("enrollment_id", "amount")) == [(older.pk, Decimal("100.00"))]


# --- two cashier tabs: "record again?" (issue 15) --------------------------------------------------


def test_a_second_cashier_tab_is_asked_before_recording_the_same_amount_again(
    page, receptionist, owing, log_in, problems, screenshot
):
    student, _older, _newer = owing
    log_in(page, with_password(receptionist).username, PASSWORD)
    url = f"/admin/core/receipt/cashier/{student.pk}/"
    page.goto(url)
    # A second tab of the same session, opened on the same student before the first one pays.
    second = page.context.new_page()
    second.on("console", problems.console)
    second.on("pageerror", problems.page_error)
    second.on("response", problems.response)
    second.goto(url)

    page.fill("#id_amount", "200")
    with page.expect_navigation():
        page.locator("#money-pay button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/admin/core/receipt/\d+/print/"))
    first = Receipt.objects.get()

    second.fill("#id_amount", "200")
    second.fill("#id_note", "تبويب ثان")
    with second.expect_navigation():
        second.locator("#money-pay button[type=submit]").click()
    second.wait_for_load_state("networkidle")
    # Asked, not recorded: the first receipt is shown with its time, cashier, amount and print link.
    assert Receipt.objects.count() == 1
    question = second.locator("[data-repeat]")
    expect(question).to_be_visible()
    text = question.inner_text()
    assert first.number in text and receptionist.username in text and "200.00" in text
    assert second.locator("[data-repeat-print]").get_attribute("href").endswith(f"/receipt/{first.pk}/print/")
    asked = arabic(
        "Receipt %(number)s for the same amount (%(amount)s) was recorded for this student at %(time)s "
        "by %(cashier)s. Record a second payment?"
    ).split("%(number)s")[0]
    assert asked.strip() in second.locator("#money-pay").inner_text()
    expect(second.locator("#id_note")).to_have_value("تبويب ثان")
    screenshot(second, "asked")

    # Submitting again without the box asks again; with it ticked, the second payment is recorded.
    with second.expect_navigation():
        second.locator("#money-pay button[type=submit]").click()
    assert Receipt.objects.count() == 1
    second.get_by_label(arabic("Yes, record a second payment")).check()
    with second.expect_navigation():
        second.locator("#money-pay button[type=submit]").click()
    expect(second).to_have_url(re.compile(r"/admin/core/receipt/\d+/print/"))
    assert Receipt.objects.count() == 2
    latest = Receipt.objects.exclude(pk=first.pk).get()
    assert latest.total == Decimal("200.00") and latest.note == "تبويب ثان" and not latest.is_void
    entry = AuditLog.objects.get(model=RECEIPT_MODEL, object_id=str(latest.pk))
    assert entry.changes["repeat_confirmed"] == [None, first.number]
