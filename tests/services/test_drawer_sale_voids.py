"""The cashier's drawer close with notes and books given back (issue 18): a paid sale voided gives
its money back from the drawer of the receipt that took it, in the period it is voided; a receipt's
void gives back only what of it was not given back before (its notes voided earlier went already).
The drawer's expected cash thus moves as the cash book's cash does (core/services/cashbook.py):
every piastre once, in the drawer, the cash book and the P&L.

The clock is moved for each step (``step``): the drawer reads the moments rows were recorded at."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from core.access.roles import Role
from core.models import CashClose, Item
from core.selectors.profit import profit_month
from core.services.cashbook import cashbook_close, cashbook_day
from core.services.enrollments import enrollment_create
from core.services.payments import cash_close, drawer_summary, payment_record, payment_refund, payment_void
from core.services.sales import sale_record, sale_void
from core.services.stock import stock_receive
from tests.conftest import make_staff
from tests.factories import CAIRO, make_group, make_student, make_teacher

D1 = datetime.date(2026, 11, 10)
D2, D3 = D1 + datetime.timedelta(days=1), D1 + datetime.timedelta(days=2)
NOVEMBER = datetime.date(2026, 11, 1)
ZERO = Decimal("0.00")


def at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime(day.year, day.month, day.day, hour, minute, tzinfo=CAIRO)


def step(when: datetime.datetime):
    return time_machine.travel(when, tick=False)


@pytest.fixture
def desk(main_branch, manager):
    """A student of a 70 % group and the group teacher's notes: 40.00 each, cost 10.00, his share 25 %."""
    teacher = make_teacher()
    group = make_group(main_branch, teacher=teacher, pay_rate="70")
    student = make_student(main_branch)
    enrollment = enrollment_create(actor=None, student=student, group=group, start_date=datetime.date(2026, 9, 1))
    notes = Item.objects.create(
        title="مذكرة الفيزياء",
        teacher=teacher,
        price=Decimal("40.00"),
        cost=Decimal("10.00"),
        teacher_share_percent=Decimal("25"),
    )
    stock_receive(item=notes, branch=main_branch, quantity=20, actor=manager)
    return student, enrollment, notes


def pay(student, cashier, enrollment, notes, when, *, fees="100.00", copies=2, method="cash"):
    with step(when):
        return payment_record(
            student=student,
            cashier=cashier,
            lines=[(enrollment, fees)],
            items=[(notes, copies)],
            method=method,
            now=when,
        )


def close_drawer(cashier, branch, when) -> CashClose:
    """Close the drawer with the cash it expects (none when it expects less: a drawer holds no debt)."""
    with step(when):
        expected = drawer_summary(cashier=cashier, branch_id=branch.pk, now=when).expected
        return cash_close(cashier=cashier, branch_id=branch.pk, counted=max(expected, ZERO), now=when)


def void_sale(sale, accountant, when):
    with step(when):
        sale_void(sale=sale, actor=accountant, reason="رجعت المذكرة", now=when)


def void_receipt(receipt, accountant, when):
    with step(when):
        payment_void(receipt=receipt, actor=accountant, reason="إيصال خطأ", now=when)


def desk_cash(branch, day) -> Decimal:
    """What the desk put into the day's cash book: receipts and notes in cash, net of give-backs."""
    book = cashbook_day(branch=branch, date=day)
    return book.receipts_cash + book.sales_cash


def test_a_sale_voided_then_its_receipt_voided(main_branch, receptionist, accountant, desk):
    student, enrollment, notes = desk
    receipt = pay(student, receptionist, enrollment, notes, at(D1, 10))
    assert receipt.total == Decimal("180.00")
    first = close_drawer(receptionist, main_branch, at(D1, 20))
    void_sale(receipt.item_sales.get(), accountant, at(D2, 10))
    second = close_drawer(receptionist, main_branch, at(D2, 20))
    void_receipt(receipt, accountant, at(D3, 10))
    third = close_drawer(receptionist, main_branch, at(D3, 20))

    # The notes' 80.00 leave the drawer when the sale is voided; the receipt's void gives back the fees.
    assert [first.expected, second.expected, third.expected] == [
        Decimal("180.00"),
        Decimal("-80.00"),
        Decimal("-100.00"),
    ]
    assert [desk_cash(main_branch, day) for day in (D1, D2, D3)] == [c.expected for c in (first, second, third)]
    november = profit_month(month=NOVEMBER, branch_ids=[main_branch.pk])[0]
    assert (november.tuition, november.sales_margin) == (ZERO, ZERO)


def test_a_receipt_voided_then_its_sale_voided(main_branch, receptionist, accountant, desk):
    student, enrollment, notes = desk
    receipt = pay(student, receptionist, enrollment, notes, at(D1, 10))
    first = close_drawer(receptionist, main_branch, at(D1, 20))
    void_receipt(receipt, accountant, at(D2, 10))
    second = close_drawer(receptionist, main_branch, at(D2, 20))
    # The student kept the notes (owed again); he brings them back the next day: no money moves.
    void_sale(receipt.item_sales.model.objects.get(student=student), accountant, at(D3, 10))
    with step(at(D3, 20)):
        third = drawer_summary(cashier=receptionist, branch_id=main_branch.pk, now=at(D3, 20))

    assert [first.expected, second.expected, third.expected] == [Decimal("180.00"), Decimal("-180.00"), ZERO]
    assert [desk_cash(main_branch, day) for day in (D1, D2, D3)] == [
        Decimal("180.00"),
        Decimal("-180.00"),
        ZERO,
    ]


def test_a_sale_and_its_receipt_voided_the_same_day_in_one_period(main_branch, receptionist, accountant, desk):
    student, enrollment, notes = desk
    receipt = pay(student, receptionist, enrollment, notes, at(D1, 10))
    with step(at(D1, 12)):
        payment_record(student=student, cashier=receptionist, lines=[(enrollment, "50.00")], now=at(D1, 12))
    void_sale(receipt.item_sales.get(), accountant, at(D1, 14))
    void_receipt(receipt, accountant, at(D1, 16))
    with step(at(D1, 20)):
        summary = drawer_summary(cashier=receptionist, branch_id=main_branch.pk, now=at(D1, 20))
    assert (summary.received, summary.voided, summary.sales_returned) == (
        Decimal("230.00"),
        Decimal("100.00"),  # the receipt's void gives back its fees: its notes went back at 14:00
        Decimal("80.00"),
    )
    assert summary.expected == Decimal("50.00") == desk_cash(main_branch, D1)


def test_a_sale_and_its_receipt_voided_the_same_day_with_a_close_between(main_branch, receptionist, accountant, desk):
    student, enrollment, notes = desk
    receipt = pay(student, receptionist, enrollment, notes, at(D1, 9))
    morning = close_drawer(receptionist, main_branch, at(D1, 10))
    void_sale(receipt.item_sales.get(), accountant, at(D1, 11))
    noon = close_drawer(receptionist, main_branch, at(D1, 12))  # the accountant took 80.00 from this drawer
    void_receipt(receipt, accountant, at(D1, 14))
    evening = close_drawer(receptionist, main_branch, at(D1, 20))

    assert [morning.expected, noon.expected, evening.expected] == [
        Decimal("180.00"),
        Decimal("-80.00"),
        Decimal("-100.00"),
    ]
    assert sum((c.expected for c in (morning, noon, evening)), ZERO) == ZERO == desk_cash(main_branch, D1)


def test_a_refund_on_a_receipt_carrying_a_sale(main_branch, receptionist, accountant, desk):
    student, enrollment, notes = desk
    receipt = pay(student, receptionist, enrollment, notes, at(D1, 10))
    with step(at(D1, 11)):
        payment_refund(receipt=receipt, actor=accountant, amount="30.00", reason="خصم أخ", now=at(D1, 11))
    void_sale(receipt.item_sales.get(), accountant, at(D1, 12))
    with step(at(D1, 20)):
        summary = drawer_summary(cashier=receptionist, branch_id=main_branch.pk, now=at(D1, 20))
    assert (summary.received, summary.refunded, summary.sales_returned, summary.voided) == (
        Decimal("180.00"),
        Decimal("30.00"),
        Decimal("80.00"),
        ZERO,
    )
    assert summary.expected == Decimal("70.00") == desk_cash(main_branch, D1)
    # A receipt with refunds is refunded, not voided; the fees left can still be refunded.
    with step(at(D1, 13)):
        payment_refund(receipt=receipt, actor=accountant, amount="70.00", reason="انسحب", now=at(D1, 13))
    close = close_drawer(receptionist, main_branch, at(D1, 21))
    assert close.expected == ZERO == desk_cash(main_branch, D1)


def test_the_days_drawer_closes_equal_the_cash_books_cash(main_branch, receptionist, accountant, desk):
    """Two cashiers, receipts in cash and by wallet, notes sold now and on credit, every kind of give-back:
    each day the drawers' expected cash adds up to the cash book's, and the cash book closes on it."""
    student, enrollment, notes = desk
    other = make_staff("reception2", Role.RECEPTIONIST, main_branch)
    second_student = make_student(main_branch)
    second_enrollment = enrollment_create(
        actor=None, student=second_student, group=enrollment.group, start_date=datetime.date(2026, 9, 1)
    )
    # Day 1.
    a = pay(student, receptionist, enrollment, notes, at(D1, 9))  # 180 cash
    b = pay(second_student, other, second_enrollment, notes, at(D1, 10), copies=1)  # 140 cash
    pay(student, other, enrollment, notes, at(D1, 11), method="wallet")  # 180, not in a drawer
    with step(at(D1, 12)):
        owed = sale_record(student=second_student, seller=receptionist, items=[(notes, 3)], now=at(D1, 12))
    void_sale(b.item_sales.get(), accountant, at(D1, 13))  # 40 back from the other drawer
    day1 = [close_drawer(user, main_branch, at(D1, 20)) for user in (receptionist, other)]
    with step(at(D1, 21)):
        book1 = cashbook_day(branch=main_branch, date=D1)
        cashbook_close(branch=main_branch, date=D1, counted=book1.expected, actor=accountant, now=at(D1, 21))
    # Day 2: the owed notes are paid by the other cashier, the first receipt voided (its notes with it),
    # a paid sale of day 2 voided, a fee refund.
    with step(at(D2, 9)):
        c = payment_record(student=second_student, cashier=other, sales=[owed], now=at(D2, 9))  # 120 cash
    void_receipt(a, accountant, at(D2, 10))  # 180 back from the first drawer
    d = pay(student, receptionist, enrollment, notes, at(D2, 11), fees="60.00", copies=1)  # 100 cash
    void_sale(d.item_sales.get(), accountant, at(D2, 12))  # 40 back
    with step(at(D2, 13)):
        payment_refund(receipt=d, actor=accountant, amount="25.00", reason="خصم", now=at(D2, 13))
    void_sale(c.item_sales.get(), accountant, at(D2, 14))  # 120 back from the other drawer
    day2 = [close_drawer(user, main_branch, at(D2, 20)) for user in (receptionist, other)]

    assert [close.expected for close in day1] == [Decimal("180.00"), Decimal("100.00")]
    assert [close.expected for close in day2] == [Decimal("-145.00"), ZERO]
    for day, closes in ((D1, day1), (D2, day2)):
        book = cashbook_day(branch=main_branch, date=day)
        assert book.drawer_closes["expected"] == sum((close.expected for close in closes), ZERO)
        assert book.drawer_closes["expected"] == book.receipts_cash + book.sales_cash
    assert book1.expected == Decimal("280.00")


def test_the_close_page_shows_the_notes_given_back(client_as, main_branch, receptionist, accountant, desk):
    from django.urls import reverse

    student, enrollment, notes = desk
    receipt = pay(student, receptionist, enrollment, notes, timezone.now() - datetime.timedelta(hours=2))
    void_sale(receipt.item_sales.get(), accountant, timezone.now() - datetime.timedelta(hours=1))
    response = client_as(receptionist).get(reverse("admin:core_receipt_cash_close"))
    summary = response.context["summary"]
    assert (summary.sales_returned, summary.expected) == (Decimal("80.00"), Decimal("100.00"))
    page = response.content.decode()
    assert "مذكرات وكتب: مبالغ مردودة" in page
    assert "<dd>80.00</dd>" in page


def test_a_sale_and_its_receipt_voided_at_the_same_moment_give_the_notes_back_once(
    main_branch, receptionist, accountant, desk
):
    """A script voiding both with one ``now``: the sale still on the receipt went back with its own void."""
    student, enrollment, notes = desk
    receipt = pay(student, receptionist, enrollment, notes, at(D1, 10))
    void_sale(receipt.item_sales.get(), accountant, at(D1, 14))
    void_receipt(receipt, accountant, at(D1, 14))
    with step(at(D1, 20)):
        summary = drawer_summary(cashier=receptionist, branch_id=main_branch.pk, now=at(D1, 20))
    assert summary.expected == ZERO == desk_cash(main_branch, D1)
