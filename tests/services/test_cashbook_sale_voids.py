"""Notes and books paid on a receipt, then given back: a voided sale and a voided receipt, in either
order, a partly refunded receipt and a sale paid again on a second receipt. Every piastre taken
counts once on the cash book (the day it moved, stable once the day is closed) and in profit and
loss; nothing is given back twice."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError

from core.models import AuditLog, ItemSale
from core.selectors.profit import profit_month
from core.services.cashbook import cashbook_close, cashbook_day
from core.services.enrollments import enrollment_create
from core.services.payments import payment_record, payment_refund, payment_void
from core.services.sales import sale_record, sale_void
from core.services.stock import stock_receive
from tests.factories import CAIRO, make_group, make_student, make_teacher

D1 = datetime.date(2026, 11, 10)
DAYS = [D1 + datetime.timedelta(days=n) for n in range(6)]
NOVEMBER = datetime.date(2026, 11, 1)
ZERO = Decimal("0.00")


def at(day: datetime.date, hour: int = 10) -> datetime.datetime:
    return datetime.datetime(day.year, day.month, day.day, hour, 0, tzinfo=CAIRO)


@pytest.fixture
def desk(main_branch, manager):
    """A student of a 70 % group and the group teacher's notes: 40.00 each, cost 10.00, his share 25 %."""
    from core.models import Item

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


def close(branch, day, accountant) -> None:
    """Close the day with exactly the cash it expects (its figures are stored from then on)."""
    book = cashbook_day(branch=branch, date=day)
    cashbook_close(branch=branch, date=day, counted=book.expected, actor=accountant, now=at(day, 22))


def figures(branch, days) -> list[tuple[Decimal, Decimal]]:
    """(receipts cash, sales cash) of each day, read now."""
    return [(book.receipts_cash, book.sales_cash) for book in (cashbook_day(branch=branch, date=day) for day in days)]


def net_cash(branch, days) -> Decimal:
    """What the days put into the drawer together (cash in less cash out, a closed day's as closed)."""
    books = [cashbook_day(branch=branch, date=day) for day in days]
    return sum((book.cash_in - book.cash_out for book in books), ZERO)


@pytest.mark.parametrize("close_days", [True, False], ids=["days-closed", "days-open"])
def test_a_sale_voided_then_its_receipt_voided_gives_the_notes_back_once(
    main_branch, receptionist, accountant, desk, close_days
):
    student, enrollment, notes = desk
    d1, d2, d3 = DAYS[:3]
    receipt = payment_record(
        student=student, cashier=receptionist, lines=[(enrollment, "100.00")], items=[(notes, 2)], now=at(d1)
    )
    assert receipt.total == Decimal("180.00")
    if close_days:
        close(main_branch, d1, accountant)
    sale = receipt.item_sales.get()
    sale_void(sale=sale, actor=accountant, reason="returned unopened", now=at(d2))
    if close_days:
        close(main_branch, d2, accountant)
    payment_void(receipt=receipt, actor=accountant, reason="wrong student", now=at(d3))

    # d2 gave the notes' 80.00 back; d3 gives back the fees only: the notes were given back already.
    expected = [(Decimal("100.00"), Decimal("80.00")), (ZERO, Decimal("-80.00")), (Decimal("-100.00"), ZERO)]
    assert figures(main_branch, [d1, d2, d3]) == expected
    assert net_cash(main_branch, [d1, d2, d3]) == ZERO
    # The sale stays on the receipt that paid it: its money went back when it was voided.
    sale.refresh_from_db()
    assert (sale.receipt_id, sale.paid_on, sale.is_void) == (receipt.pk, d1, True)

    november = profit_month(month=NOVEMBER, branch_ids=[main_branch.pk])[0]
    assert (november.tuition, november.sales_margin, november.profit) == (ZERO, ZERO, ZERO)


@pytest.mark.parametrize("close_days", [True, False], ids=["days-closed", "days-open"])
def test_a_receipt_voided_then_its_sale_voided_gives_the_notes_back_once(
    main_branch, receptionist, accountant, desk, close_days
):
    student, enrollment, notes = desk
    d1, d2, d3 = DAYS[:3]
    receipt = payment_record(
        student=student, cashier=receptionist, lines=[(enrollment, "100.00")], items=[(notes, 2)], now=at(d1)
    )
    if close_days:
        close(main_branch, d1, accountant)
    payment_void(receipt=receipt, actor=accountant, reason="wrong student", now=at(d2))
    sale = ItemSale.objects.get(student=student)
    assert (sale.receipt_id, sale.paid_on) == (None, None)  # owed again: the student still has them
    if close_days:
        close(main_branch, d2, accountant)
    sale_void(sale=sale, actor=accountant, reason="returned unopened", now=at(d3))

    expected = [(Decimal("100.00"), Decimal("80.00")), (Decimal("-100.00"), Decimal("-80.00")), (ZERO, ZERO)]
    assert figures(main_branch, [d1, d2, d3]) == expected
    assert net_cash(main_branch, [d1, d2, d3]) == ZERO
    november = profit_month(month=NOVEMBER, branch_ids=[main_branch.pk])[0]
    assert (november.tuition, november.sales_margin, november.profit) == (ZERO, ZERO, ZERO)


@pytest.mark.parametrize("close_days", [True, False], ids=["days-closed", "days-open"])
def test_a_partly_refunded_receipt_carrying_a_sale(main_branch, receptionist, accountant, desk, close_days):
    student, enrollment, notes = desk
    d1, d2, d3, d4 = DAYS[:4]
    receipt = payment_record(
        student=student, cashier=receptionist, lines=[(enrollment, "100.00")], items=[(notes, 2)], now=at(d1)
    )
    if close_days:
        close(main_branch, d1, accountant)
    payment_refund(receipt=receipt, actor=accountant, amount="30.00", reason="left early", now=at(d2))
    if close_days:
        close(main_branch, d2, accountant)
    sale_void(sale=receipt.item_sales.get(), actor=accountant, reason="returned unopened", now=at(d3))
    if close_days:
        close(main_branch, d3, accountant)
    # What is left to give back is the fees' 70.00: the notes went back with their sale.
    payment_refund(receipt=receipt, actor=accountant, amount="70.00", reason="left", now=at(d4))

    expected = [
        (Decimal("100.00"), Decimal("80.00")),
        (Decimal("-30.00"), ZERO),
        (ZERO, Decimal("-80.00")),
        (Decimal("-70.00"), ZERO),
    ]
    assert figures(main_branch, [d1, d2, d3, d4]) == expected
    assert net_cash(main_branch, [d1, d2, d3, d4]) == ZERO
    november = profit_month(month=NOVEMBER, branch_ids=[main_branch.pk])[0]
    assert (november.tuition, november.sales_margin, november.profit) == (ZERO, ZERO, ZERO)


def test_a_partly_refunded_receipt_keeps_its_notes_money(main_branch, receptionist, accountant, desk):
    student, enrollment, notes = desk
    d1, d2 = DAYS[:2]
    receipt = payment_record(
        student=student, cashier=receptionist, lines=[(enrollment, "100.00")], items=[(notes, 2)], now=at(d1)
    )
    close(main_branch, d1, accountant)
    payment_refund(receipt=receipt, actor=accountant, amount="30.00", reason="left early", now=at(d2))
    assert figures(main_branch, [d1, d2]) == [(Decimal("100.00"), Decimal("80.00")), (Decimal("-30.00"), ZERO)]
    assert net_cash(main_branch, [d1, d2]) == Decimal("150.00")
    november = profit_month(month=NOVEMBER, branch_ids=[main_branch.pk])[0]
    # 100 − 30 refunded; the notes: 2 × 40 − 2 × 10 cost − 25 % of 80 to the teacher
    assert (november.tuition, november.sales_margin) == (Decimal("70.00"), Decimal("40.00"))


@pytest.mark.parametrize("close_days", [True, False], ids=["days-closed", "days-open"])
def test_a_sale_paid_again_on_a_second_receipt_then_voided(main_branch, receptionist, accountant, desk, close_days):
    """Taken on credit, paid on a first receipt that is voided, paid again on a second, the sale
    voided, then the second receipt voided too: in 80, back 80, in 80, back 80, and nothing more."""
    student, _enrollment, notes = desk
    d1, d2, d3, d4, d5 = DAYS[:5]
    sale = sale_record(student=student, seller=receptionist, items=[(notes, 2)], now=at(d1, 9))
    first = payment_record(student=student, cashier=receptionist, sales=[sale], now=at(d1))
    assert first.total == Decimal("80.00")
    if close_days:
        close(main_branch, d1, accountant)
    payment_void(receipt=first, actor=accountant, reason="paid by the other parent", now=at(d2))
    if close_days:
        close(main_branch, d2, accountant)
    second = payment_record(student=student, cashier=receptionist, sales=[sale], now=at(d3), confirm_repeat=True)
    if close_days:
        close(main_branch, d3, accountant)
    sale_void(sale=sale, actor=accountant, reason="returned unopened", now=at(d4))
    if close_days:
        close(main_branch, d4, accountant)
    payment_void(receipt=second, actor=accountant, reason="duplicate", now=at(d5))

    expected = [
        (ZERO, Decimal("80.00")),
        (ZERO, Decimal("-80.00")),
        (ZERO, Decimal("80.00")),
        (ZERO, Decimal("-80.00")),
        (ZERO, ZERO),
    ]
    assert figures(main_branch, [d1, d2, d3, d4, d5]) == expected
    assert net_cash(main_branch, [d1, d2, d3, d4, d5]) == ZERO
    sale.refresh_from_db()
    assert (sale.receipt_id, sale.paid_on) == (second.pk, d3)
    november = profit_month(month=NOVEMBER, branch_ids=[main_branch.pk])[0]
    assert (november.tuition, november.sales_margin, november.profit) == (ZERO, ZERO, ZERO)


def test_a_sale_and_its_receipt_voided_on_the_same_day(main_branch, receptionist, accountant, desk):
    student, enrollment, notes = desk
    d1, d2 = DAYS[:2]
    receipt = payment_record(
        student=student, cashier=receptionist, lines=[(enrollment, "100.00")], items=[(notes, 2)], now=at(d1)
    )
    close(main_branch, d1, accountant)
    sale_void(sale=receipt.item_sales.get(), actor=accountant, reason="returned unopened", now=at(d2, 9))
    payment_void(receipt=receipt, actor=accountant, reason="wrong student", now=at(d2, 10))
    assert figures(main_branch, [d2]) == [(Decimal("-100.00"), Decimal("-80.00"))]
    close(main_branch, d2, accountant)
    day = cashbook_day(branch=main_branch, date=d2)
    assert (day.closed.sales_cash, day.closed.expected, day.closed.counted) == (Decimal("-80.00"), ZERO, ZERO)


def test_one_of_two_sales_voided_before_the_receipt(main_branch, receptionist, accountant, desk):
    """A receipt paying two sales: one is voided, then the receipt; the other sale is owed again."""
    student, enrollment, notes = desk
    d1, d2, d3 = DAYS[:3]
    owed = sale_record(student=student, seller=receptionist, items=[(notes, 1)], now=at(d1, 9))
    receipt = payment_record(
        student=student,
        cashier=receptionist,
        lines=[(enrollment, "100.00")],
        items=[(notes, 2)],
        sales=[owed],
        now=at(d1),
    )
    assert receipt.total == Decimal("220.00")
    close(main_branch, d1, accountant)
    new_sale = receipt.item_sales.exclude(pk=owed.pk).get()
    sale_void(sale=new_sale, actor=accountant, reason="returned unopened", now=at(d2))
    close(main_branch, d2, accountant)
    payment_void(receipt=receipt, actor=accountant, reason="wrong amount", now=at(d3))
    expected = [
        (Decimal("100.00"), Decimal("120.00")),
        (ZERO, Decimal("-80.00")),
        (Decimal("-100.00"), Decimal("-40.00")),
    ]
    assert figures(main_branch, [d1, d2, d3]) == expected
    owed.refresh_from_db()
    assert (owed.receipt_id, owed.paid_on, owed.is_void) == (None, None, False)  # owed again


def test_the_migration_links_sales_voided_before_their_receipt_again(main_branch, receptionist, accountant, desk):
    """Before the rule, a receipt's void unlinked the sales on it voided earlier; 0027 links them
    back from the receipt's void audit row, and their money is given back once again."""
    import importlib

    from django.apps import apps

    relink = importlib.import_module("core.migrations.0027_item_sales_voided_keep_receipt").voided_sales_relink
    student, enrollment, notes = desk
    d1, d2, d3 = DAYS[:3]
    receipt = payment_record(
        student=student, cashier=receptionist, lines=[(enrollment, "100.00")], items=[(notes, 2)], now=at(d1)
    )
    kept = sale_record(student=student, seller=receptionist, items=[(notes, 1)], now=at(d1, 9))
    other = payment_record(student=student, cashier=receptionist, sales=[kept], now=at(d1, 11))
    sale = receipt.item_sales.get()
    sale_void(sale=sale, actor=accountant, reason="returned unopened", now=at(d2))
    payment_void(receipt=receipt, actor=accountant, reason="wrong student", now=at(d3))
    payment_void(receipt=other, actor=accountant, reason="wrong student", now=at(d3, 11))
    # What the voids did before the rule: every sale on the receipt unlinked, the audit row naming it.
    ItemSale.objects.filter(pk=sale.pk).update(receipt=None, paid_on=None)
    audit = AuditLog.objects.get(model="core.receipt", object_id=str(receipt.pk), action="cancel")
    audit.changes["item_sales_owed"] = [None, [sale.pk]]
    AuditLog.objects.filter(pk=audit.pk).update(changes=audit.changes)
    assert figures(main_branch, [d2, d3])[0] == (ZERO, ZERO)  # the void day lost its notes

    relink(apps, None)
    sale.refresh_from_db()
    kept.refresh_from_db()
    assert (sale.receipt_id, sale.paid_on) == (receipt.pk, d1)
    assert (kept.receipt_id, kept.paid_on) == (None, None)  # not voided: still owed, as the void left it
    assert figures(main_branch, [d2, d3]) == [(ZERO, Decimal("-80.00")), (Decimal("-100.00"), Decimal("-40.00"))]


@pytest.mark.parametrize("undo", ["sale", "receipt"])
def test_a_day_with_only_notes_given_back_is_closed_before_the_next(main_branch, receptionist, accountant, desk, undo):
    """A day whose only movement is a paid sale voided (or a receipt for notes alone voided) has
    money going out: the next day cannot be closed before it, so the 40.00 is on a closed book.
    The clock is moved for each step: a close is stamped with the moment it is made."""
    student, _enrollment, notes = desk
    d1, d2, d3 = DAYS[:3]
    with time_machine.travel(at(d1), tick=False):
        receipt = payment_record(student=student, cashier=receptionist, items=[(notes, 1)], now=at(d1))
    with time_machine.travel(at(d1, 22), tick=False):
        close(main_branch, d1, accountant)
    with time_machine.travel(at(d2), tick=False):
        if undo == "sale":
            sale_void(sale=receipt.item_sales.get(), actor=accountant, reason="returned unopened", now=at(d2))
        else:
            payment_void(receipt=receipt, actor=accountant, reason="wrong student", now=at(d2))
    with time_machine.travel(at(d3, 22), tick=False):
        with pytest.raises(ValidationError) as refused:
            cashbook_close(branch=main_branch, date=d3, counted="0", actor=accountant, now=at(d3, 22))
        assert refused.value.code == "earlier_open"
        close(main_branch, d2, accountant)
        assert cashbook_day(branch=main_branch, date=d2).closed.sales_cash == Decimal("-40.00")
        close(main_branch, d3, accountant)


def test_notes_given_back_after_a_close_count_on_the_next_day(main_branch, receptionist, accountant, desk):
    """A sale voided at 23:00, after its day was closed, counts on the next day's book, which must
    be closed before the one after it."""
    student, _enrollment, notes = desk
    d1, d2, d3 = DAYS[:3]
    with time_machine.travel(at(d1), tick=False):
        receipt = payment_record(student=student, cashier=receptionist, items=[(notes, 1)], now=at(d1))
    with time_machine.travel(at(d1, 22), tick=False):
        close(main_branch, d1, accountant)
    with time_machine.travel(at(d1, 23), tick=False):
        sale_void(sale=receipt.item_sales.get(), actor=accountant, reason="returned unopened", now=at(d1, 23))
    with time_machine.travel(at(d3, 22), tick=False):
        assert cashbook_day(branch=main_branch, date=d1).sales_cash == Decimal("40.00")  # closed: unchanged
        with pytest.raises(ValidationError) as refused:
            cashbook_close(branch=main_branch, date=d3, counted="0", actor=accountant, now=at(d3, 22))
        assert refused.value.code == "earlier_open"
        assert cashbook_day(branch=main_branch, date=d2).sales_cash == Decimal("-40.00")


def test_the_reported_case_with_the_clock_moved_for_each_step(main_branch, receptionist, accountant, desk):
    """The reported case as it happens at the desk: every step at its own moment (closes stamped
    in the evening of their day), a sale voided, then its receipt, then a sale paid on a second
    receipt, voided, and that receipt voided too."""
    student, enrollment, notes = desk
    d1, d2, d3, d4, d5, d6 = DAYS

    def step(when):
        return time_machine.travel(when, tick=False)

    with step(at(d1)):
        receipt = payment_record(
            student=student, cashier=receptionist, lines=[(enrollment, "100.00")], items=[(notes, 2)], now=at(d1)
        )
    with step(at(d1, 22)):
        close(main_branch, d1, accountant)
    with step(at(d2)):
        sale_void(sale=receipt.item_sales.get(), actor=accountant, reason="returned unopened", now=at(d2))
        owed = sale_record(student=student, seller=receptionist, items=[(notes, 1)], now=at(d2))
        second = payment_record(student=student, cashier=receptionist, sales=[owed], now=at(d2), confirm_repeat=True)
    with step(at(d2, 22)):
        close(main_branch, d2, accountant)
    with step(at(d3)):
        payment_void(receipt=receipt, actor=accountant, reason="wrong student", now=at(d3))
    with step(at(d3, 22)):
        close(main_branch, d3, accountant)
    with step(at(d4)):
        sale_void(sale=owed, actor=accountant, reason="returned unopened", now=at(d4))
    with step(at(d4, 22)):
        close(main_branch, d4, accountant)
    with step(at(d5)):
        payment_void(receipt=second, actor=accountant, reason="duplicate", now=at(d5))
    with step(at(d5, 22)):
        close(main_branch, d5, accountant)
    with step(at(d6, 22)):
        expected = [
            (Decimal("100.00"), Decimal("80.00")),
            (ZERO, Decimal("-40.00")),  # the notes' 80.00 back, the second receipt's 40.00 in
            (Decimal("-100.00"), ZERO),
            (ZERO, Decimal("-40.00")),
            (ZERO, ZERO),
        ]
        assert figures(main_branch, [d1, d2, d3, d4, d5]) == expected
        assert cashbook_day(branch=main_branch, date=d6).opening == ZERO  # the drawer ends where it began
        november = profit_month(month=NOVEMBER, branch_ids=[main_branch.pk])[0]
        assert (november.tuition, november.sales_margin, november.profit) == (ZERO, ZERO, ZERO)
