"""Selling notes and books (issue 18): taken now and paid later, refused beyond the stock, voided
by the accountant back into stock, the teacher's share as its own settlement line, the sales
figures the cash book and profit and loss read, and "who took the notes" per group."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation

from core.models import AuditLog, Item, ItemSale, ItemStock, Receipt, SettlementLine, StockMovement
from core.selectors.catalog import (
    group_item_takers,
    item_shares_by_teacher,
    sales_figures,
    student_items_owed,
    student_open_sales,
)
from core.services.payments import payment_record, payment_refund, payment_void
from core.services.sales import receipt_sales_total, sale_record, sale_void, sales_mark_paid
from core.services.settlements import settlement_run
from core.services.stock import stock_receive
from tests.factories import enroll, make_group, make_student, make_teacher

pytestmark = pytest.mark.django_db
NOV = datetime.date(2026, 11, 1)
DEC = datetime.date(2026, 12, 1)
IN_NOV = datetime.datetime(2026, 11, 15, 10, tzinfo=datetime.UTC)


@pytest.fixture
def notes(main_branch, manager):
    """A teacher's notes (80 EGP, cost 30, his share 25 %) for his group, 10 copies in stock."""
    group = make_group(main_branch)
    item = Item.objects.create(
        title="مذكرة الفيزياء",
        teacher=group.teacher,
        group=group,
        price=Decimal("80.00"),
        cost=Decimal("30.00"),
        teacher_share_percent=Decimal("25"),
    )
    stock_receive(item=item, branch=main_branch, quantity=10, actor=manager)
    return group, item


def stock_of(item, branch) -> int:
    return ItemStock.objects.get(item=item, branch=branch).quantity


def test_a_student_takes_notes_now_and_owes_them(main_branch, receptionist, notes):
    group, item = notes
    student = make_student(main_branch)
    enroll(student, group)
    sale = sale_record(student=student, seller=receptionist, items=[(item, 2)], now=IN_NOV)
    assert (sale.total, sale.is_paid, sale.date) == (Decimal("160.00"), False, datetime.date(2026, 11, 15))
    line = sale.lines.get()
    assert (line.quantity, line.unit_price, line.unit_cost, line.teacher_share, line.group_id) == (
        2,
        Decimal("80.00"),
        Decimal("30.00"),
        Decimal("40.00"),
        group.pk,
    )
    assert line.margin == Decimal("60.00")  # 160 − 60 cost − 40 his share
    assert stock_of(item, main_branch) == 8
    assert list(student_open_sales(student)) == [sale]
    assert student_items_owed(student) == Decimal("160.00")
    audit = AuditLog.objects.get(model="core.itemsale", object_id=str(sale.pk))
    assert audit.changes == {"total": [None, "160.00"], "items": [None, {str(item.pk): 2}]}


def test_selling_more_than_the_stock_is_refused_with_a_clear_message(main_branch, receptionist, notes):
    _group, item = notes
    student = make_student(main_branch)
    for language, said in [
        ("en", "Only 10 copies of “مذكرة الفيزياء” are left in this branch; 11 cannot be taken."),
        ("ar", "لم يتبقَّ إلا 10 نسخ من «مذكرة الفيزياء» في هذا الفرع؛ لا يمكن أخذ 11."),
    ]:
        with translation.override(language), pytest.raises(ValidationError) as error:
            sale_record(student=student, seller=receptionist, items=[(item, 7), (item.pk, 4)])
        assert error.value.code == "not_enough"
        assert error.value.messages == [said]
    assert not ItemSale.objects.exists()
    assert stock_of(item, main_branch) == 10
    assert StockMovement.objects.filter(kind="sold").count() == 0


def test_a_double_submitted_sale_is_recorded_once(main_branch, receptionist, notes):
    _group, item = notes
    student = make_student(main_branch)
    first = sale_record(student=student, seller=receptionist, items=[(item, 1)], idempotency_key="form-1")
    again = sale_record(student=student, seller=receptionist, items=[(item, 1)], idempotency_key="form-1")
    assert first.pk == again.pk
    assert stock_of(item, main_branch) == 9


def test_who_may_sell_and_who_may_void(main_branch, receptionist, accountant, supervisor, teacher_user, notes):
    _group, item = notes
    student = make_student(main_branch)
    for user in (supervisor, teacher_user, accountant):
        with pytest.raises(PermissionDenied):
            sale_record(student=student, seller=user, items=[(item, 1)])
    sale = sale_record(student=student, seller=receptionist, items=[(item, 1)])
    with pytest.raises(PermissionDenied):
        sale_void(sale=sale, actor=receptionist, reason="خطأ")
    with pytest.raises(ValidationError):
        sale_void(sale=sale, actor=accountant, reason="  ")
    sale_void(sale=sale, actor=accountant, reason="أعادها")
    sale.refresh_from_db()
    assert sale.is_void and sale.voided_by == accountant
    assert stock_of(item, main_branch) == 10
    assert list(StockMovement.objects.filter(sale=sale).order_by("pk").values_list("kind", "quantity")) == [
        ("sold", -1),
        ("returned", 1),
    ]
    assert student_items_owed(student) == Decimal("0.00")
    with pytest.raises(ValidationError):
        sale_void(sale=sale, actor=accountant, reason="مرة أخرى")


def test_an_inactive_item_is_not_sold(main_branch, receptionist, notes):
    _group, item = notes
    Item.objects.filter(pk=item.pk).update(is_active=False)
    with pytest.raises(ValidationError) as error:
        sale_record(student=make_student(main_branch), seller=receptionist, items=[(item, 1)])
    assert error.value.code == "inactive_item"


def test_who_took_the_notes_lists_the_whole_group(main_branch, receptionist, notes):
    group, item = notes
    took, owes, none = (make_student(main_branch, name=name) for name in ("أحمد", "بسمة", "تامر"))
    for student in (took, owes, none):
        enroll(student, group)
    paid = sale_record(student=took, seller=receptionist, items=[(item, 1)])
    sale_record(student=owes, seller=receptionist, items=[(item, 1)])
    _paid(paid, receptionist, NOV)
    rows = [
        (row.student.full_name, row.quantity, row.owed) for row in group_item_takers(group_id=group.pk, item_id=item.pk)
    ]
    assert rows == [("أحمد", 1, False), ("بسمة", 1, True), ("تامر", 0, False)]


def _paid(sale, receptionist, day):
    """Paid on a receipt, as payment_record does at the desk (its own tests cover the receipt)."""
    receipt = Receipt.objects.create(
        branch=sale.branch,
        year=day.year,
        sequence=Receipt.objects.count() + 1,
        number=f"{day.year}-{Receipt.objects.count() + 1:06d}",
        student=sale.student,
        date=day,
        total=sale.total,
        cashier=receptionist,
    )
    sales_mark_paid(sales=[sale], receipt=receipt)
    return receipt


def test_the_teacher_is_paid_his_share_of_notes_paid_in_the_month_as_its_own_line(
    main_branch, receptionist, accountant, manager, notes
):
    group, item = notes
    center_book = Item.objects.create(title="كتاب المركز", price=Decimal("40.00"))
    stock_receive(item=center_book, branch=main_branch, quantity=5, actor=manager)
    student = make_student(main_branch)
    enroll(student, group)
    in_nov = sale_record(student=student, seller=receptionist, items=[(item, 2), (center_book, 1)], now=IN_NOV)
    _paid(in_nov, receptionist, datetime.date(2026, 11, 20))
    owed = sale_record(student=student, seller=receptionist, items=[(item, 1)], now=IN_NOV)  # paid in December
    _paid(owed, receptionist, datetime.date(2026, 12, 3))
    voided = sale_record(student=student, seller=receptionist, items=[(item, 1)], now=IN_NOV)
    _paid(voided, receptionist, datetime.date(2026, 11, 21))
    sale_void(sale=voided, actor=accountant, reason="أعادها")
    assert item_shares_by_teacher([group.teacher_id], NOV)[group.teacher_id].share == Decimal("40.00")
    settlement = settlement_run(teacher=group.teacher, month="2026-11", actor=accountant)
    line = settlement.lines.get(kind=SettlementLine.Kind.ITEM_SHARE)
    assert (line.group_id, line.collected, line.quantity, line.amount) == (None, Decimal("160.00"), 2, Decimal("40.00"))
    assert settlement.total == sum(row.amount for row in settlement.lines.all())
    assert settlement_run(teacher=group.teacher, month="2026-12", actor=accountant).lines.get(
        kind=SettlementLine.Kind.ITEM_SHARE
    ).amount == Decimal("20.00")
    # the center's figures for November: 2 notes and the center's book
    figures = sales_figures(start=NOV, end=DEC)
    assert (figures.revenue, figures.cost, figures.teacher_share, figures.margin) == (
        Decimal("200.00"),
        Decimal("60.00"),
        Decimal("40.00"),
        Decimal("100.00"),
    )


def test_a_teacher_with_only_item_sales_still_gets_a_settlement(main_branch, receptionist, accountant, manager):
    from core.services.settlements import settlement_teachers

    author = make_teacher()
    item = Item.objects.create(
        title="كتاب", teacher=author, price=Decimal("100.00"), teacher_share_percent=Decimal("10")
    )
    stock_receive(item=item, branch=main_branch, quantity=1, actor=manager)
    sale = sale_record(student=make_student(main_branch), seller=receptionist, items=[(item, 1)], now=IN_NOV)
    assert author not in settlement_teachers(NOV)
    _paid(sale, receptionist, datetime.date(2026, 11, 2))
    assert author in settlement_teachers(NOV)


# --- on the receipt (payment_record) ----------------------------------------------------------


def test_notes_sold_on_the_same_receipt_as_fees(main_branch, receptionist, notes):
    group, item = notes
    student = make_student(main_branch)
    enrollment = enroll(student, group)
    receipt = payment_record(student=student, cashier=receptionist, amount="200.00", items=[(item, 1)], now=IN_NOV)
    assert receipt.total == Decimal("280.00")
    assert [(e.enrollment_id, e.amount) for e in receipt.entries.all()] == [(enrollment.pk, Decimal("200.00"))]
    sale = receipt.item_sales.get()
    assert (sale.total, sale.paid_on, sale.student_id) == (Decimal("80.00"), receipt.date, student.pk)
    assert stock_of(item, main_branch) == 9
    audit = AuditLog.objects.get(model="core.receipt", object_id=str(receipt.pk))
    assert audit.changes["item_sales"] == [None, [sale.pk]]
    assert receipt_sales_total(receipt) == Decimal("80.00")
    # R9: the group's collected money is the fee line, not the notes
    assert settlement_run(teacher=group.teacher, month="2026-11", actor=None).lines.get(group=group).collected == (
        Decimal("200.00")
    )


def test_notes_taken_earlier_are_paid_later_on_a_receipt_of_their_own(main_branch, receptionist, notes):
    _group, item = notes
    student = make_student(main_branch)
    owed = sale_record(student=student, seller=receptionist, items=[(item, 1)])
    receipt = payment_record(student=student, cashier=receptionist, sales=[owed], now=IN_NOV)
    owed.refresh_from_db()
    assert (receipt.total, owed.receipt_id, receipt.entries.count()) == (Decimal("80.00"), receipt.pk, 0)
    assert student_items_owed(student) == Decimal("0.00")
    with pytest.raises(ValidationError) as error:
        payment_record(student=student, cashier=receptionist, sales=[owed], confirm_repeat=True)
    assert error.value.code == "sale_paid"


def test_a_sale_paid_now_gets_its_own_receipt_number(main_branch, receptionist, notes):
    _group, item = notes
    sale = sale_record(student=make_student(main_branch), seller=receptionist, items=[(item, 3)], pay_now=True)
    assert sale.is_paid and sale.receipt.number.endswith("000001")
    assert sale.receipt.total == Decimal("240.00")


def test_a_refused_sale_leaves_no_receipt_and_no_gap_in_the_numbers(main_branch, receptionist, notes):
    group, item = notes
    student = make_student(main_branch)
    enroll(student, group)
    with pytest.raises(ValidationError):
        payment_record(student=student, cashier=receptionist, amount="200.00", items=[(item, 11)])
    assert not Receipt.objects.exists()
    assert payment_record(student=student, cashier=receptionist, amount="200.00").number.endswith("000001")


def test_another_students_sale_cannot_be_paid_on_this_receipt(main_branch, receptionist, notes):
    _group, item = notes
    other = sale_record(student=make_student(main_branch), seller=receptionist, items=[(item, 1)])
    with pytest.raises(ValidationError) as error:
        payment_record(student=make_student(main_branch), cashier=receptionist, sales=[other])
    assert error.value.code == "foreign_sale"


def test_a_voided_receipt_leaves_its_notes_owed_and_a_refund_covers_the_fees_only(
    main_branch, receptionist, accountant, notes
):
    group, item = notes
    student = make_student(main_branch)
    enroll(student, group)
    receipt = payment_record(student=student, cashier=receptionist, amount="100.00", items=[(item, 1)])
    with pytest.raises(ValidationError) as error:
        payment_refund(receipt=receipt, actor=accountant, amount="150.00", reason="x")
    assert error.value.code == "too_much"
    payment_void(receipt=receipt, actor=accountant, reason="خطأ في الإدخال")
    assert list(student_open_sales(student).values_list("total", flat=True)) == [Decimal("80.00")]
    assert stock_of(item, main_branch) == 9  # he still has the copy


def test_a_sale_voided_after_its_month_was_approved_gives_the_share_back_on_the_next_draft(
    main_branch, receptionist, accountant, owner, notes
):
    from core.services.settlements import settlement_approve

    group, item = notes
    student = make_student(main_branch)
    enroll(student, group)
    sale = sale_record(student=student, seller=receptionist, items=[(item, 1)], now=IN_NOV)
    _paid(sale, receptionist, datetime.date(2026, 11, 20))
    november = settlement_run(teacher=group.teacher, month="2026-11", actor=accountant)
    assert november.lines.get(kind=SettlementLine.Kind.ITEM_SHARE).amount == Decimal("20.00")
    settlement_approve(settlement=november, actor=owner, now=datetime.datetime(2026, 12, 2, 10, tzinfo=datetime.UTC))
    sale_void(sale=sale, actor=accountant, reason="أعادها")
    december = settlement_run(teacher=group.teacher, month="2026-12", actor=accountant)
    line = december.lines.get(kind=SettlementLine.Kind.ITEM_SHARE)
    assert (line.amount, line.collected, line.quantity, line.source_month) == (
        Decimal("-20.00"),
        Decimal("-80.00"),
        1,
        NOV,
    )
    assert december.total == Decimal("-20.00") + sum(
        row.amount for row in december.lines.exclude(kind=SettlementLine.Kind.ITEM_SHARE)
    )
    # counted once: the month after does not take it back again
    january = settlement_run(teacher=group.teacher, month="2027-01", actor=accountant)
    assert not january.lines.filter(kind=SettlementLine.Kind.ITEM_SHARE).exists()
