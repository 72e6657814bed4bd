"""Notes and books in a browser, in Arabic (issue 18): the receptionist sells a teacher's notes on
the same receipt as the month's fee, pays off notes the student took earlier, and the printed
receipt lists the fee, the notes and the total; selling more copies than the branch holds is
refused in Arabic and writes nothing.

Each scenario checks what the user sees and what the database holds afterwards.
"""

import datetime
import re
from decimal import Decimal

import pytest
from django.utils import translation
from django.utils.translation import gettext
from playwright.sync_api import expect

from core.models import EntryType, Item, ItemSale, ItemStock, LedgerEntry, Receipt, StockMovement
from core.services.enrollments import enrollment_create
from core.services.sales import sale_record
from core.services.stock import stock_receive
from tests.e2e.browser import html_language
from tests.e2e.conftest import PASSWORD
from tests.factories import make_group, make_student

pytestmark = pytest.mark.e2e

STUDENT_NAME = "منى خالد إبراهيم"
NOTES = "مذكرة الأحياء - الباب الأول"


def arabic(message: str) -> str:
    with translation.override("ar"):
        text = gettext(message)
    assert text != message, f"{message!r} has no Arabic translation"
    return text


@pytest.fixture
def desk(main_branch, manager, receptionist):
    """A student who owes this month's 250 in his group, whose teacher's notes sell at 45 (5 in stock);
    he took one copy last week without paying."""
    receptionist.set_password(PASSWORD)
    receptionist.save(update_fields=["password"])
    group = make_group(main_branch, code="BIO-3", fee="250.00")
    student = make_student(main_branch, name=STUDENT_NAME)
    enrollment = enrollment_create(actor=None, student=student, group=group, start_date=datetime.date(2026, 9, 1))
    LedgerEntry.objects.create(
        enrollment=enrollment,
        entry_type=EntryType.CHARGE,
        amount=Decimal("250.00"),
        date=datetime.date(2026, 11, 1),
        source=LedgerEntry.Source.SYSTEM,
    )
    item = Item.objects.create(
        title=NOTES, teacher=group.teacher, group=group, price=Decimal("45.00"), teacher_share_percent=Decimal("30")
    )
    stock_receive(item=item, branch=main_branch, quantity=5, actor=manager)
    earlier = sale_record(student=student, seller=receptionist, items=[(item, 1)])
    return student, enrollment, item, earlier


def test_the_desk_sells_notes_on_the_receipt_with_the_fee(page, receptionist, desk, log_in, problems, screenshot):
    student, enrollment, item, earlier = desk
    log_in(page, receptionist.username, PASSWORD)
    page.goto(f"/admin/core/receipt/cashier/{student.pk}/")
    assert html_language(page) == ("ar", "rtl")
    items = page.locator("[data-items]")
    expect(items.locator("summary")).to_have_text(arabic("Notes and books"))
    expect(items).to_have_attribute("open", "")  # open: he owes notes
    # The copy he took on credit is listed, in Arabic, to be paid now.
    owed_label = items.locator("[data-open-sale]")
    expect(owed_label).to_have_count(1)
    assert NOTES in owed_label.inner_text() and "45.00" in owed_label.inner_text()
    screenshot(page, "cashier")

    page.fill("#id_amount", "250")
    page.select_option("#id_item", str(item.pk))
    page.fill("#id_item_quantity", "٢")  # Arabic-Indic digits from an Arabic keyboard
    owed_label.locator("input[type=checkbox]").check()
    with page.expect_navigation():
        page.locator("#money-pay button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/admin/core/receipt/\d+/print/"))
    page.wait_for_load_state("networkidle")

    # The database: one receipt of 250 + 3 × 45, the fee line on the enrollment, two sales paid by it.
    receipt = Receipt.objects.get()
    assert receipt.total == Decimal("385.00") and receipt.cashier == receptionist
    assert list(receipt.entries.values_list("enrollment_id", "amount")) == [(enrollment.pk, Decimal("250.00"))]
    paid = list(ItemSale.objects.filter(receipt=receipt).order_by("pk").values_list("pk", "total"))
    assert paid[0] == (earlier.pk, Decimal("45.00")) and paid[1][1] == Decimal("90.00")
    assert ItemStock.objects.get(item=item).quantity == 2
    assert StockMovement.objects.filter(item=item, kind="sold").count() == 2

    # What the receptionist sees: the receipt in Arabic with the fee, each notes line and the total.
    assert html_language(page) == ("ar", "rtl")
    box = page.locator("article.receipt")
    sale_lines = box.locator("[data-sale-line]")
    expect(sale_lines).to_have_count(2)
    assert NOTES in sale_lines.nth(1).inner_text() and "90.00" in sale_lines.nth(1).inner_text()
    assert "BIO-3" in box.locator(".receipt-lines tbody tr").first.inner_text()
    total_row = box.locator(".receipt-lines tfoot tr").first
    assert total_row.locator(".receipt-amount").inner_text() == "385.00"
    screenshot(page, "receipt")
    problems.assert_none()


def test_more_copies_than_the_branch_holds_are_refused_in_arabic(page, receptionist, desk, log_in, problems):
    student, _enrollment, item, _earlier = desk
    log_in(page, receptionist.username, PASSWORD)
    page.goto(f"/admin/core/receipt/cashier/{student.pk}/")
    page.fill("#id_amount", "250")
    if page.locator("[data-items]").get_attribute("open") is None:
        page.locator("[data-items] summary").click()
    page.select_option("#id_item", str(item.pk))
    page.fill("#id_item_quantity", "5")
    with page.expect_navigation():
        page.locator("#money-pay button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    with translation.override("ar"):
        refusal = translation.ngettext(
            "Only %(left)d copy of “%(title)s” is left in this branch; %(wanted)d cannot be taken.",
            "Only %(left)d copies of “%(title)s” are left in this branch; %(wanted)d cannot be taken.",
            4,
        ) % {"left": 4, "title": NOTES, "wanted": 5}
    expect(page.get_by_text(refusal)).to_be_visible()
    assert not Receipt.objects.exists()
    assert ItemStock.objects.get(item=item).quantity == 4
    problems.assert_none()
