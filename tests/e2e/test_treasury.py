"""The treasury in a browser, in Arabic (issue 18): the front desk records an expense with the
photo of the bill, the accountant closes the day with a difference on the cash book page, and the
cash book prints on A4.

Each scenario checks what the user sees and what the database holds afterwards.
"""

import re
from decimal import Decimal

import pytest
from django.utils import timezone, translation
from django.utils.translation import gettext
from playwright.sync_api import expect

from core.models import AuditLog, CashBookDay, Expense, ExpenseCategory
from core.services.enrollments import enrollment_create
from core.services.expenses import expense_record
from core.services.payments import payment_record
from tests.e2e.browser import html_language
from tests.e2e.conftest import PASSWORD
from tests.e2e.test_money import pdf_pages
from tests.factories import make_group, make_student

pytestmark = pytest.mark.e2e


def arabic(message: str) -> str:
    with translation.override("ar"):
        text = gettext(message)
    assert text != message, f"{message!r} has no Arabic translation"
    return text


def with_password(user):
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    return user


@pytest.fixture
def utilities(main_branch) -> ExpenseCategory:
    return ExpenseCategory.objects.get_or_create(name_ar="مرافق", defaults={"name_en": "Utilities"})[0]


@pytest.fixture
def day_with_money(main_branch, receptionist, accountant, utilities):
    """Today: 500.00 cash taken at the desk and a 120.50 cash expense: 379.50 expected in the drawer."""
    group = make_group(main_branch, fee="500.00")
    student = make_student(main_branch)
    enrollment = enrollment_create(actor=None, student=student, group=group, start_date=timezone.localdate())
    payment_record(student=student, cashier=receptionist, lines=[(enrollment, "500.00")])
    expense_record(branch=main_branch, category=utilities, amount="120.50", actor=accountant, payee="شركة الكهرباء")


def test_the_front_desk_records_an_expense_with_the_bill(
    page, receptionist, main_branch, utilities, log_in, problems, screenshot, tmp_path, settings
):
    settings.MEDIA_ROOT = tmp_path / "media"
    bill = tmp_path / "فاتورة.png"
    bill.write_bytes(
        bytes.fromhex(
            "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
            "1f15c4890000000d4944415478da63f8cfc0f01f0005000201a5d6e0e50000000049454e44ae426082"
        )
    )
    log_in(page, with_password(receptionist).username, PASSWORD)
    page.goto("/admin/core/expense/add/")
    assert html_language(page) == ("ar", "rtl")
    expect(page).to_have_title(re.compile(re.escape(arabic("Record an expense"))))
    page.select_option("#id_category", str(utilities.pk))
    page.fill("#id_amount", "٨٥.٢٥")  # Arabic-Indic digits, as an Arabic keyboard types them
    page.select_option("#id_method", "cash")
    page.fill("#id_payee", "السباك")
    page.fill("#id_note", "إصلاح حوض الدور الثاني")
    page.locator("#id_bill").set_input_files(str(bill))
    screenshot(page, "form")
    with page.expect_navigation():
        page.get_by_role("button", name=arabic("Record the expense")).click()
    expect(page).to_have_url(re.compile(r"/admin/core/expense/$"))
    expense = Expense.objects.get()
    message = arabic("Expense %(number)s recorded: %(amount)s EGP.") % {"number": expense.number, "amount": "85.25"}
    expect(page.get_by_text(message)).to_be_visible()
    assert expense.amount == Decimal("85.25") and expense.created_by == receptionist
    assert expense.branch == main_branch and expense.payee == "السباك" and expense.number.endswith("-000001")
    assert expense.bill.name and (settings.MEDIA_ROOT / expense.bill.name).read_bytes() == bill.read_bytes()
    assert AuditLog.objects.filter(model="core.expense", object_id=str(expense.pk), actor=receptionist).count() == 1
    # The list shows it, with its voucher number, right to left.
    row = page.locator("#result_list tbody tr").first
    expect(row).to_contain_text(expense.number)
    expect(row).to_contain_text("85.25")
    screenshot(page, "list")
    problems.assert_none()


def test_over_the_desk_limit_is_refused_in_arabic_and_writes_nothing(
    page, receptionist, main_branch, utilities, log_in, problems
):
    log_in(page, with_password(receptionist).username, PASSWORD)
    page.goto("/admin/core/expense/add/")
    page.select_option("#id_category", str(utilities.pk))
    page.fill("#id_amount", "5000")
    with page.expect_navigation():
        page.get_by_role("button", name=arabic("Record the expense")).click()
    refusal = arabic(
        "The front desk may record expenses up to %(limit)s EGP; %(amount)s needs the accountant or the owner."
    ) % {"limit": "500.00", "amount": "5000.00"}
    expect(page.get_by_text(refusal)).to_be_visible()
    assert not Expense.objects.exists()
    problems.assert_none()


def test_the_accountant_closes_the_day_with_a_difference(
    page, accountant, main_branch, day_with_money, log_in, problems, screenshot
):
    log_in(page, with_password(accountant).username, PASSWORD)
    page.goto("/admin/")
    # The sidebar leads there (the Treasury group; the desk does not see it).
    assert page.locator('a[href="/admin/core/cashbookday/book/"]').count() >= 1
    page.goto("/admin/core/cashbookday/book/")
    assert html_language(page) == ("ar", "rtl")
    book = page.locator("table.cash-book")
    expected_row = book.locator("tr", has_text=arabic("Expected closing balance"))
    expect(expected_row.locator(".money-amount")).to_have_text("379.50")
    expect(book.locator("tr", has_text=arabic("Cash expenses")).locator(".money-amount")).to_have_text("120.50")
    expect(book).to_contain_text("شركة الكهرباء")
    page.fill("#id_counted", "370")
    page.fill("#id_note", "نقص ٩٫٥٠ في العد")
    screenshot(page, "before-close")
    with page.expect_navigation():
        page.locator("form[data-close-day] button[type=submit]").click()
    message = arabic("Day closed: expected %(expected)s, counted %(counted)s, difference %(difference)s.") % {
        "expected": "379.50",
        "counted": "370.00",
        "difference": "-9.50",
    }
    expect(page.get_by_text(message)).to_be_visible()
    day = CashBookDay.objects.get()
    assert (day.expected, day.counted, day.difference) == (Decimal("379.50"), Decimal("370.00"), Decimal("-9.50"))
    assert day.closed_by == accountant and day.date == timezone.localdate()
    # Closed: the figures stay, the counted cash and the difference show, no close form any more.
    expect(book.locator("tr", has_text=arabic("Difference")).locator(".money-amount")).to_have_text("-9.50")
    expect(page.locator("form[data-close-day]")).to_have_count(0)
    screenshot(page, "closed")
    problems.assert_none()


def test_the_cash_book_prints_in_arabic_on_a4(page, accountant, main_branch, day_with_money, log_in, problems):
    log_in(page, with_password(accountant).username, PASSWORD)
    page.goto(f"/admin/core/cashbookday/book/?branch={main_branch.pk}")
    href = page.locator("a[data-print-book]").get_attribute("href")
    page.goto(href)
    assert html_language(page) == ("ar", "rtl")
    sheet = page.locator("article.cash-book-print")
    expect(sheet.locator(".receipt-title")).to_have_text(arabic("Cash book"))
    expect(sheet.locator(".receipt-mark")).to_have_text(arabic("OPEN DAY"))
    expected_row = sheet.locator("tr", has_text=arabic("Expected closing balance"))
    expect(expected_row.locator(".receipt-amount")).to_have_text("379.50")
    # Right to left: the label on the right, the amount on the left.
    label_box = expected_row.locator("th").bounding_box()
    amount_box = expected_row.locator("td").bounding_box()
    assert amount_box["x"] + amount_box["width"] <= label_box["x"]
    assert pdf_pages(page.pdf(prefer_css_page_size=True))[0] == (210, 297)
    problems.assert_none()


def test_the_profit_and_loss_page_reads_in_arabic_and_downloads(
    page, accountant, main_branch, day_with_money, log_in, problems, screenshot
):
    month = timezone.localdate().replace(day=1)
    log_in(page, with_password(accountant).username, PASSWORD)
    page.goto(f"/admin/core/cashbookday/profit/?month={month:%Y-%m}")
    assert html_language(page) == ("ar", "rtl")
    table = page.locator("table.profit-table")
    expect(table.locator("thead")).to_contain_text(arabic("tuition collected"))
    row = table.locator("tbody tr").first
    expect(row).to_contain_text(str(main_branch))
    cells = row.locator("td.money-amount")
    expect(cells.nth(0)).to_have_text("500.00")  # tuition collected
    expect(cells.nth(3)).to_have_text("120.50")  # expenses
    # No settlement yet: the teacher's 70 % of the 500.00 is estimated, and said so.
    expect(cells.nth(1)).to_contain_text("350.00")
    expect(cells.nth(1).locator("[data-estimated]")).to_be_visible()
    expect(cells.nth(4)).to_have_text("29.50")  # profit: 500 − 350 − 120.50
    screenshot(page, "profit")
    with page.expect_download() as download:
        page.get_by_role("link", name=arabic("Export .xlsx")).click()
    assert download.value.suggested_filename == f"profit-{month:%Y-%m}-{timezone.localdate():%Y-%m-%d}.xlsx"
    problems.assert_none()
