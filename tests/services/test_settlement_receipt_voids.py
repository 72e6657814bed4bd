"""A receipt carrying notes voided after the month it was dated in was approved (issue 18, R9): its
sales are owed again and the teacher's item share of that month goes back on his next draft, as an
adjustment line naming the month, the same as for a sale voided after approval; the approved
settlement never changes, and no share is given back twice (a sale voided before or after its
receipt, a sale paid again later).

The clock is moved for each step: a settlement's watermark is the moment it was computed."""

import datetime
from decimal import Decimal

import pytest
import time_machine

from core.models import AuditLog, Item, ItemSale, SettlementLine
from core.services.enrollments import enrollment_create
from core.services.payments import payment_record, payment_void
from core.services.sales import sale_void
from core.services.settlements import settlement_approve, settlement_run
from core.services.stock import stock_receive
from tests.factories import CAIRO, make_group, make_student, make_teacher

NOV, DEC, JAN = datetime.date(2026, 11, 1), datetime.date(2026, 12, 1), datetime.date(2027, 1, 1)
ZERO = Decimal("0.00")
ITEM_SHARE = SettlementLine.Kind.ITEM_SHARE


def at(month: datetime.date, day: int, hour: int = 10) -> datetime.datetime:
    return datetime.datetime(month.year, month.month, day, hour, tzinfo=CAIRO)


def step(when: datetime.datetime):
    return time_machine.travel(when, tick=False)


@pytest.fixture
def desk(main_branch, manager):
    """A student of a 70 % group; the teacher's notes (40.00, his share 25 %) and another teacher's book
    (60.00, his share 50 %), so a receipt can carry two teachers' items."""
    teacher, other = make_teacher(), make_teacher()
    group = make_group(main_branch, teacher=teacher, pay_rate="70")
    student = make_student(main_branch)
    enrollment = enrollment_create(actor=None, student=student, group=group, start_date=datetime.date(2026, 9, 1))
    notes = Item.objects.create(
        title="مذكرة الفيزياء", teacher=teacher, price=Decimal("40.00"), teacher_share_percent=Decimal("25")
    )
    book = Item.objects.create(
        title="كتاب الكيمياء", teacher=other, price=Decimal("60.00"), teacher_share_percent=Decimal("50")
    )
    for item in (notes, book):
        stock_receive(item=item, branch=main_branch, quantity=20, actor=manager)
    return teacher, other, student, enrollment, notes, book


def pay(student, cashier, when, *, enrollment=None, items=(), sales=()):
    with step(when):
        return payment_record(
            student=student,
            cashier=cashier,
            lines=[(enrollment, "100.00")] if enrollment else None,
            items=list(items),
            sales=list(sales),
            now=when,
        )


def run(teacher, month, accountant, when):
    with step(when):
        return settlement_run(teacher=teacher, month=f"{month:%Y-%m}", actor=accountant)


def approve(settlement, owner, when):
    with step(when):
        return settlement_approve(settlement=settlement, actor=owner, now=when)


def void_receipt(receipt, accountant, when):
    with step(when):
        return payment_void(receipt=receipt, actor=accountant, reason="إيصال خطأ", now=when)


def void_sale(sale, accountant, when):
    with step(when):
        return sale_void(sale=sale, actor=accountant, reason="رجعت المذكرة", now=when)


def item_lines(settlement) -> list[tuple]:
    return list(
        settlement.lines.filter(kind=ITEM_SHARE)
        .order_by("amount")
        .values_list("amount", "collected", "quantity", "source_month")
    )


def test_a_receipt_voided_after_approval_gives_the_item_share_back_on_the_next_draft(
    main_branch, receptionist, accountant, owner, desk
):
    teacher, other, student, enrollment, notes, book = desk
    receipt = pay(student, receptionist, at(NOV, 15), enrollment=enrollment, items=[(notes, 2), (book, 1)])
    november = run(teacher, NOV, accountant, at(DEC, 2))
    assert item_lines(november) == [(Decimal("20.00"), Decimal("80.00"), 2, None)]
    november_total = november.total
    approve(november, owner, at(DEC, 2, 11))
    void_receipt(receipt, accountant, at(DEC, 5))
    assert ItemSale.objects.get(lines__item=notes).paid_on is None  # owed again: the student has them

    december = run(teacher, DEC, accountant, at(JAN, 2))
    share_back = december.lines.get(kind=ITEM_SHARE)
    assert (share_back.amount, share_back.collected, share_back.quantity, share_back.source_month) == (
        Decimal("-20.00"),
        Decimal("-80.00"),
        2,
        NOV,
    )
    assert "2026-11" in share_back.note
    # The fees' void is R9's own adjustment; together they are the whole of the teacher's December.
    fees_back = december.lines.get(kind=SettlementLine.Kind.ADJUSTMENT)
    assert fees_back.amount == Decimal("-70.00")
    assert december.total == Decimal("-90.00")
    # The approved month never changes.
    november.refresh_from_db()
    assert (november.total, item_lines(november)) == (november_total, [(Decimal("20.00"), Decimal("80.00"), 2, None)])
    # The other teacher's book on the same receipt is his, not this teacher's.
    assert item_lines(run(other, DEC, accountant, at(JAN, 2))) == []  # his November was never approved
    # Counted once: the month after does not give it back again.
    approve(december, owner, at(JAN, 2, 11))
    assert item_lines(run(teacher, JAN, accountant, at(datetime.date(2027, 2, 1), 2))) == []


def test_the_sale_paid_again_later_earns_the_share_once(main_branch, receptionist, accountant, owner, desk):
    teacher, _other, student, enrollment, notes, _book = desk
    receipt = pay(student, receptionist, at(NOV, 15), enrollment=enrollment, items=[(notes, 1)])
    approve(run(teacher, NOV, accountant, at(DEC, 2)), owner, at(DEC, 2, 11))
    void_receipt(receipt, accountant, at(DEC, 5))
    sale = ItemSale.objects.get(student=student)
    pay(student, receptionist, at(DEC, 6), sales=[sale])  # the right receipt, in December
    december = run(teacher, DEC, accountant, at(JAN, 2))
    # + his share of December's payment, − November's given back: 10.00 earned once in all.
    assert item_lines(december) == [
        (Decimal("-10.00"), Decimal("-40.00"), 1, NOV),
        (Decimal("10.00"), Decimal("40.00"), 1, None),
    ]


def test_a_receipt_voided_before_approval_is_simply_not_collected(main_branch, receptionist, accountant, owner, desk):
    teacher, _other, student, enrollment, notes, _book = desk
    receipt = pay(student, receptionist, at(NOV, 15), enrollment=enrollment, items=[(notes, 1)])
    run(teacher, NOV, accountant, at(DEC, 1))
    void_receipt(receipt, accountant, at(DEC, 1, 12))
    november = run(teacher, NOV, accountant, at(DEC, 2))  # the draft recomputed
    assert item_lines(november) == []
    approve(november, owner, at(DEC, 2, 11))
    assert item_lines(run(teacher, DEC, accountant, at(JAN, 2))) == []


@pytest.mark.parametrize("sale_first", [True, False], ids=["sale-then-receipt", "receipt-then-sale"])
def test_a_sale_and_its_receipt_both_voided_after_approval_give_the_share_back_once(
    main_branch, receptionist, accountant, owner, desk, sale_first
):
    teacher, _other, student, enrollment, notes, _book = desk
    receipt = pay(student, receptionist, at(NOV, 15), enrollment=enrollment, items=[(notes, 1)])
    approve(run(teacher, NOV, accountant, at(DEC, 2)), owner, at(DEC, 2, 11))
    if sale_first:
        void_sale(receipt.item_sales.get(), accountant, at(DEC, 4))
        void_receipt(receipt, accountant, at(DEC, 5))
    else:
        void_receipt(receipt, accountant, at(DEC, 4))
        void_sale(ItemSale.objects.get(student=student), accountant, at(DEC, 5))
    december = run(teacher, DEC, accountant, at(JAN, 2))
    assert item_lines(december) == [(Decimal("-10.00"), Decimal("-40.00"), 1, NOV)]


def test_the_receipts_void_is_audited_with_the_sales_it_left_owed(main_branch, receptionist, accountant, desk):
    _teacher, _other, student, enrollment, notes, _book = desk
    receipt = pay(student, receptionist, at(NOV, 15), enrollment=enrollment, items=[(notes, 1)])
    void_receipt(receipt, accountant, at(DEC, 5))
    sale = ItemSale.objects.get(student=student)
    row = AuditLog.objects.get(model="core.receipt", object_id=str(receipt.pk), action=AuditLog.Action.CANCEL)
    assert row.changes["item_sales_owed"] == [None, [sale.pk]]
    assert list(sale.receipt_voids.values_list("receipt_id", "paid_on")) == [(receipt.pk, datetime.date(2026, 11, 15))]


def test_a_sale_unpaid_by_two_receipts_in_two_locked_months_gives_each_share_back_once(
    main_branch, receptionist, accountant, owner, desk
):
    teacher, _other, student, enrollment, notes, _book = desk
    first = pay(student, receptionist, at(NOV, 15), enrollment=enrollment, items=[(notes, 1)])
    approve(run(teacher, NOV, accountant, at(DEC, 2)), owner, at(DEC, 2, 11))
    void_receipt(first, accountant, at(DEC, 5))
    sale = ItemSale.objects.get(student=student)
    second = pay(student, receptionist, at(DEC, 6), sales=[sale])
    december = run(teacher, DEC, accountant, at(JAN, 2))
    approve(december, owner, at(JAN, 2, 11))
    void_receipt(second, accountant, at(JAN, 5))
    january = run(teacher, JAN, accountant, at(datetime.date(2027, 2, 1), 2))
    # December's share back, once; November's was given back in December already.
    assert item_lines(january) == [(Decimal("-10.00"), Decimal("-40.00"), 1, DEC)]
    assert sorted(sale.receipt_voids.values_list("paid_on", flat=True)) == [
        datetime.date(2026, 11, 15),
        datetime.date(2026, 12, 6),
    ]


def test_the_migration_brings_back_the_rows_of_receipts_voided_before_it(main_branch, receptionist, accountant, desk):
    """Receipts voided before the rule name their owed sales in the void's audit row."""
    import importlib

    from django.apps import apps

    from core.models import ItemSaleReceiptVoid

    migration = importlib.import_module("core.migrations.0029_item_sale_receipt_void")
    _teacher, _other, student, enrollment, notes, book = desk
    receipt = pay(student, receptionist, at(NOV, 15), enrollment=enrollment, items=[(notes, 1)])
    kept = pay(student, receptionist, at(NOV, 16), items=[(book, 1)])
    void_sale(kept.item_sales.get(), accountant, at(NOV, 17))  # voided before its receipt: keeps it
    void_receipt(receipt, accountant, at(DEC, 5))
    void_receipt(kept, accountant, at(DEC, 6))
    expected = list(ItemSaleReceiptVoid.objects.values_list("sale_id", "receipt_id", "paid_on", "voided_at"))
    assert len(expected) == 1
    ItemSaleReceiptVoid.objects.all().delete()  # as before the rule
    migration.receipt_voids_backfill(apps, None)
    migration.receipt_voids_backfill(apps, None)  # twice: nothing doubles
    assert list(ItemSaleReceiptVoid.objects.values_list("sale_id", "receipt_id", "paid_on", "voided_at")) == expected
