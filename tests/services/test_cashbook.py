"""The cash book (issue 18): a day's figures, closing with a difference, closed days that never
change, corrections on the day they are made, payouts and drawer closes rolled up."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from core.models import AuditLog, BankTransfer, CashBookDay, ExpenseCategory, PaymentMethod
from core.services.cashbook import bank_transfer_record, cashbook_close, cashbook_day
from core.services.enrollments import enrollment_create
from core.services.expenses import expense_record, expense_void
from core.services.payments import cash_close, payment_record, payment_refund, payment_void
from core.services.settlements import settlement_approve, settlement_pay, settlement_run
from tests.factories import CAIRO, make_branch, make_group, make_student, make_teacher

DAY = datetime.date(2026, 11, 10)
NEXT = DAY + datetime.timedelta(days=1)


def at(day: datetime.date, hour: int = 12) -> datetime.datetime:
    return datetime.datetime(day.year, day.month, day.day, hour, 0, tzinfo=CAIRO)


@pytest.fixture
def supplies(main_branch) -> ExpenseCategory:
    return ExpenseCategory.objects.get_or_create(name_ar="مستلزمات", defaults={"name_en": "Supplies"})[0]


@pytest.fixture
def paying(main_branch):
    """A student enrolled in a 70 % group of the main branch."""
    group = make_group(main_branch, teacher=make_teacher(), pay_rate="70")
    student = make_student(main_branch)
    enrollment = enrollment_create(actor=None, student=student, group=group, start_date=datetime.date(2026, 9, 1))
    return student, enrollment


def pay(cashier, paying, amount, when, method=PaymentMethod.CASH):
    student, enrollment = paying
    return payment_record(
        student=student, cashier=cashier, lines=[(enrollment, amount)], method=method, now=when, confirm_repeat=True
    )


def test_a_days_book_counts_only_cash_in_the_drawer(main_branch, receptionist, accountant, paying, supplies):
    pay(receptionist, paying, "300.00", at(DAY, 10))
    voided = pay(receptionist, paying, "45.00", at(DAY, 11))
    refunded = pay(receptionist, paying, "100.00", at(DAY, 12))
    pay(receptionist, paying, "250.00", at(DAY, 13), method=PaymentMethod.INSTAPAY)
    payment_void(receipt=voided, actor=accountant, reason="typo", now=at(DAY, 14))
    payment_refund(receipt=refunded, actor=accountant, amount="30.00", reason="left", now=at(DAY, 15))
    expense_record(branch=main_branch, category=supplies, amount="20.50", actor=accountant, date=DAY, now=at(DAY))
    expense_record(
        branch=main_branch,
        category=supplies,
        amount="99.00",
        actor=accountant,
        date=DAY,
        method=PaymentMethod.WALLET,
        now=at(DAY),
    )
    bank_transfer_record(branch=main_branch, kind="deposit", amount="200.00", actor=accountant, date=DAY, now=at(DAY))
    bank_transfer_record(branch=main_branch, kind="withdrawal", amount="15.00", actor=accountant, date=DAY, now=at(DAY))

    book = cashbook_day(branch=main_branch, date=DAY)
    assert book.opening == Decimal("0.00")
    assert book.receipts_cash == Decimal("370.00")  # 300 + 45 + 100 − 45 voided − 30 refunded
    assert book.receipts_other == Decimal("250.00")
    assert book.expenses_cash == Decimal("20.50")  # the wallet expense is listed, not in the drawer
    assert [expense.amount for expense in book.expenses] == [Decimal("20.50"), Decimal("99.00")]
    assert (book.deposits, book.withdrawals) == (Decimal("200.00"), Decimal("15.00"))
    assert book.expected == Decimal("164.50")  # 370 + 15 − 20.50 − 200


def test_closing_with_a_difference_opens_the_next_day_with_the_counted_cash(
    main_branch, receptionist, accountant, paying
):
    pay(receptionist, paying, "500.00", at(DAY, 10))
    day = cashbook_close(
        branch=main_branch, date=DAY, counted="480.00", actor=accountant, note="short", now=at(DAY, 22)
    )
    assert (day.expected, day.counted, day.difference) == (Decimal("500.00"), Decimal("480.00"), Decimal("-20.00"))
    assert AuditLog.objects.filter(model="core.cashbookday", object_id=str(day.pk), actor=accountant).exists()
    pay(receptionist, paying, "120.00", at(NEXT, 10))
    book = cashbook_day(branch=main_branch, date=NEXT)
    assert book.opening == Decimal("480.00")
    assert book.expected == Decimal("600.00")


def test_a_closed_day_refuses_changes(main_branch, accountant, supplies):
    cashbook_close(branch=main_branch, date=DAY, counted="0", actor=accountant, now=at(DAY, 22))
    with pytest.raises(ValidationError) as refused:
        bank_transfer_record(branch=main_branch, kind="deposit", amount="10", actor=accountant, date=DAY, now=at(NEXT))
    assert refused.value.code == "day_closed"
    with pytest.raises(ValidationError) as again:
        cashbook_close(branch=main_branch, date=DAY, counted="5", actor=accountant, now=at(NEXT))
    assert again.value.code == "closed_already"
    with pytest.raises(ValidationError):
        expense_record(branch=main_branch, category=supplies, amount="5", actor=accountant, date=DAY, now=at(NEXT))
    assert not BankTransfer.objects.exists()
    assert CashBookDay.objects.get(date=DAY).counted == Decimal("0.00")


def test_the_refusal_is_translated(main_branch, accountant):
    from django.utils import translation

    cashbook_close(branch=main_branch, date=DAY, counted="0", actor=accountant, now=at(DAY, 22))
    with translation.override("ar"), pytest.raises(ValidationError) as refused:
        bank_transfer_record(branch=main_branch, kind="deposit", amount="10", actor=accountant, date=DAY, now=at(NEXT))
    assert "مغلق" in refused.value.messages[0]


def test_a_void_of_a_closed_days_expense_comes_back_on_the_day_it_is_made(main_branch, accountant, supplies):
    expense = expense_record(
        branch=main_branch, category=supplies, amount="60.00", actor=accountant, date=DAY, now=at(DAY)
    )
    closed = cashbook_close(branch=main_branch, date=DAY, counted="0", actor=accountant, now=at(DAY, 22))
    assert closed.expected == Decimal("-60.00")
    expense_void(expense=expense, actor=accountant, reason="returned the goods", now=at(NEXT, 9))
    assert cashbook_day(branch=main_branch, date=DAY).expected == Decimal("-60.00")  # unchanged
    book = cashbook_day(branch=main_branch, date=NEXT)
    assert [voided.pk for voided in book.expense_voids] == [expense.pk]
    assert book.expenses_cash == Decimal("-60.00")
    assert book.expected == Decimal("60.00")  # opening 0 (counted) + the 60 back


def test_a_receipt_recorded_on_a_day_after_its_close_counts_on_the_next_day(
    main_branch, receptionist, accountant, paying
):
    pay(receptionist, paying, "100.00", at(DAY, 10))
    cashbook_close(branch=main_branch, date=DAY, counted="100.00", actor=accountant, now=at(DAY, 21))
    pay(receptionist, paying, "40.00", at(DAY, 22))  # the desk took money after the evening close
    closed = cashbook_day(branch=main_branch, date=DAY)
    assert closed.receipts_cash == Decimal("100.00") and closed.expected == Decimal("100.00")
    following = cashbook_day(branch=main_branch, date=NEXT)
    assert following.late_entries == 1
    assert following.receipts_cash == Decimal("40.00")
    assert following.expected == Decimal("140.00")


def test_days_close_in_order(main_branch, receptionist, accountant, paying):
    started = DAY - datetime.timedelta(days=5)
    cashbook_close(branch=main_branch, date=started, counted="0", actor=accountant, now=at(started, 22))
    pay(receptionist, paying, "10.00", at(DAY, 10))
    with pytest.raises(ValidationError) as refused:
        cashbook_close(branch=main_branch, date=NEXT, counted="10", actor=accountant, now=at(NEXT, 22))
    assert refused.value.code == "earlier_open"
    cashbook_close(branch=main_branch, date=DAY, counted="10", actor=accountant, now=at(DAY, 22))
    # A day with no movements (a Friday) needs no close of its own.
    after_friday = NEXT + datetime.timedelta(days=1)
    assert cashbook_close(branch=main_branch, date=after_friday, counted="10", actor=accountant, now=at(after_friday))


def test_a_day_to_come_and_the_front_desk_cannot_close(main_branch, receptionist, accountant):
    with pytest.raises(ValidationError):
        cashbook_close(branch=main_branch, date=NEXT, counted="0", actor=accountant, now=at(DAY, 22))
    with pytest.raises(PermissionDenied):
        cashbook_close(branch=main_branch, date=DAY, counted="0", actor=receptionist, now=at(DAY, 22))
    with pytest.raises(PermissionDenied):
        bank_transfer_record(branch=main_branch, kind="deposit", amount="1", actor=receptionist, now=at(DAY))


def test_paid_settlements_are_cash_out_split_by_the_branches_of_their_groups(
    main_branch, receptionist, accountant, owner
):
    other = make_branch("فرع المعادي")
    receptionist.branches.add(other)
    teacher = make_teacher()
    here = make_group(main_branch, teacher=teacher, pay_rate="50")
    there = make_group(other, teacher=teacher, pay_rate="50")
    october = datetime.datetime(2026, 10, 5, 12, 0, tzinfo=CAIRO)
    for group, branch, amount in [(here, main_branch, "400.00"), (there, other, "100.00")]:
        student = make_student(branch)
        enrollment = enrollment_create(actor=None, student=student, group=group, start_date=datetime.date(2026, 9, 1))
        payment_record(student=student, cashier=receptionist, lines=[(enrollment, amount)], now=october)
    settlement = settlement_run(teacher=teacher, month=datetime.date(2026, 10, 1), actor=accountant)
    from core.services.settlements import settlement_item_add

    settlement_item_add(settlement=settlement, actor=accountant, kind="advance", amount="30", reason="advance")
    settlement_approve(settlement=settlement, actor=owner, now=at(DAY))
    settlement_pay(settlement=settlement, actor=accountant, paid_on=DAY, method=PaymentMethod.CASH)
    main_book = cashbook_day(branch=main_branch, date=DAY)
    other_book = cashbook_day(branch=other, date=DAY)
    # 200 + 50 of shares, less the 30 advance on the main branch (its largest share)
    assert main_book.payouts_cash == Decimal("170.00")
    assert other_book.payouts_cash == Decimal("50.00")
    assert main_book.payouts_cash + other_book.payouts_cash == settlement.__class__.objects.get().total


def test_drawer_closes_roll_up_into_the_day(main_branch, receptionist, accountant, paying):
    today = timezone.localdate()
    pay(receptionist, paying, "75.00", None)
    cash_close(cashier=receptionist, branch_id=main_branch.pk, counted="70.00")
    book = cashbook_day(branch=main_branch, date=today)
    assert book.drawer_closes["count"] == 1
    assert book.drawer_closes["expected"] == Decimal("75.00")
    assert book.drawer_closes["difference"] == Decimal("-5.00")
    assert book.receipts_cash == Decimal("75.00")


def test_a_day_book_reads_in_a_fixed_number_of_queries(
    main_branch, receptionist, accountant, paying, supplies, django_assert_max_num_queries
):
    for hour in range(8, 14):
        pay(receptionist, paying, "10.00", at(DAY, hour))
        expense_record(branch=main_branch, category=supplies, amount="1", actor=accountant, date=DAY, now=at(DAY))
    with django_assert_max_num_queries(20):
        cashbook_day(branch=main_branch, date=DAY)


def test_notes_sold_on_a_receipt_with_fees_are_sales_in(main_branch, receptionist, manager, accountant, paying):
    from core.models import Item
    from core.services.stock import stock_receive

    student, enrollment = paying
    notes = Item.objects.create(
        title="مذكرة", teacher=enrollment.group.teacher, price=Decimal("35.00"), teacher_share_percent=Decimal("20")
    )
    stock_receive(item=notes, branch=main_branch, quantity=5, actor=manager)
    receipt = payment_record(
        student=student, cashier=receptionist, lines=[(enrollment, "200.00")], items=[(notes, 2)], now=at(DAY, 10)
    )
    assert receipt.total == Decimal("270.00")
    book = cashbook_day(branch=main_branch, date=DAY)
    assert (book.receipts_cash, book.sales_cash) == (Decimal("200.00"), Decimal("70.00"))
    assert book.expected == Decimal("270.00")  # the whole receipt is in the drawer, counted once
    day = cashbook_close(branch=main_branch, date=DAY, counted="270.00", actor=accountant, now=at(DAY, 22))
    assert (day.sales_cash, day.difference) == (Decimal("70.00"), Decimal("0.00"))


@pytest.fixture
def notes(main_branch, manager, paying):
    from core.models import Item
    from core.services.stock import stock_receive

    _student, enrollment = paying
    item = Item.objects.create(
        title="مذكرة الهندسة", teacher=enrollment.group.teacher, price=Decimal("40.00"), cost=Decimal("10.00")
    )
    stock_receive(item=item, branch=main_branch, quantity=10, actor=manager)
    return item


def test_a_paid_sale_voided_later_gives_the_money_back_on_the_void_day(
    main_branch, receptionist, accountant, paying, notes
):
    from core.services.sales import sale_void

    student, _enrollment = paying
    receipt = payment_record(student=student, cashier=receptionist, items=[(notes, 1)], now=at(DAY, 10))
    assert receipt.total == Decimal("40.00")
    first = cashbook_close(branch=main_branch, date=DAY, counted="40.00", actor=accountant, now=at(DAY, 21))
    assert (first.receipts_cash, first.sales_cash) == (Decimal("0.00"), Decimal("40.00"))
    sale_void(sale=receipt.item_sales.get(), actor=accountant, reason="returned unopened", now=at(NEXT, 9))
    assert cashbook_day(branch=main_branch, date=DAY).sales_cash == Decimal("40.00")  # closed: unchanged
    book = cashbook_day(branch=main_branch, date=NEXT)
    assert book.sales_cash == Decimal("-40.00")
    assert book.expected == Decimal("0.00")


def test_a_receipt_of_fees_and_notes_voided_the_next_day(main_branch, receptionist, accountant, paying, notes):
    student, enrollment = paying
    receipt = payment_record(
        student=student, cashier=receptionist, lines=[(enrollment, "100.00")], items=[(notes, 2)], now=at(DAY, 10)
    )
    cashbook_close(branch=main_branch, date=DAY, counted="180.00", actor=accountant, now=at(DAY, 21))
    payment_void(receipt=receipt, actor=accountant, reason="wrong student", now=at(NEXT, 9))
    book = cashbook_day(branch=main_branch, date=NEXT)
    assert (book.receipts_cash, book.sales_cash) == (Decimal("-100.00"), Decimal("-80.00"))
    assert book.expected == Decimal("0.00")


def test_notes_paid_on_a_day_after_its_close_count_on_the_next(main_branch, receptionist, accountant, paying, notes):
    student, _enrollment = paying
    cashbook_close(branch=main_branch, date=DAY, counted="0", actor=accountant, now=at(DAY, 20))
    payment_record(student=student, cashier=receptionist, items=[(notes, 1)], now=at(DAY, 21))
    assert cashbook_day(branch=main_branch, date=DAY).sales_cash == Decimal("0.00")
    assert cashbook_day(branch=main_branch, date=NEXT).sales_cash == Decimal("40.00")


def test_a_payout_dated_on_a_closed_day_is_refused(main_branch, receptionist, accountant, owner, paying):
    student, enrollment = paying
    payment_record(
        student=student,
        cashier=receptionist,
        lines=[(enrollment, "100.00")],
        now=datetime.datetime(2026, 10, 5, 12, tzinfo=CAIRO),
    )
    settlement = settlement_run(teacher=enrollment.group.teacher, month=datetime.date(2026, 10, 1), actor=accountant)
    settlement_approve(settlement=settlement, actor=owner, now=at(DAY))
    october_day = datetime.date(2026, 10, 5)
    cashbook_close(branch=main_branch, date=october_day, counted="100.00", actor=accountant, now=at(october_day, 22))
    cashbook_close(branch=main_branch, date=DAY, counted="100.00", actor=accountant, now=at(DAY, 22))
    with pytest.raises(ValidationError) as refused:
        settlement_pay(settlement=settlement, actor=accountant, paid_on=DAY, method=PaymentMethod.CASH)
    assert refused.value.code == "day_closed"
    paid = settlement_pay(settlement=settlement, actor=accountant, paid_on=NEXT, method=PaymentMethod.CASH)
    assert cashbook_day(branch=main_branch, date=NEXT).payouts_cash == paid.total == Decimal("70.00")


def test_the_first_close_starts_the_book_whatever_came_before(main_branch, receptionist, accountant, paying):
    pay(receptionist, paying, "500.00", at(DAY - datetime.timedelta(days=40), 10))  # months of history
    pay(receptionist, paying, "60.00", at(DAY, 10))
    first = cashbook_close(branch=main_branch, date=DAY, counted="1200.00", actor=accountant, now=at(DAY, 22))
    # Opening zero, the day's own cash; the counted cash is the drawer's real balance from now on.
    assert (first.opening, first.expected, first.difference) == (Decimal("0.00"), Decimal("60.00"), Decimal("1140.00"))
    assert cashbook_day(branch=main_branch, date=NEXT).opening == Decimal("1200.00")


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_expense_racing_the_close_is_in_the_closed_day_or_refused(main_branch, accountant, supplies):
    import threading

    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("the race needs PostgreSQL's row locks")
    barrier = threading.Barrier(10)
    outcomes: list[str] = []

    def close() -> None:
        try:
            barrier.wait(timeout=30)
            cashbook_close(branch=main_branch, date=DAY, counted="0", actor=accountant, now=at(DAY, 22))
            outcomes.append("closed")
        finally:
            connection.close()

    def spend() -> None:
        try:
            barrier.wait(timeout=30)
            expense_record(
                branch=main_branch, category=supplies, amount="7.00", actor=accountant, date=DAY, now=at(DAY, 22)
            )
            outcomes.append("recorded")
        except ValidationError as error:
            outcomes.append(error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=close)] + [threading.Thread(target=spend) for _ in range(9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert outcomes.count("closed") == 1
    recorded = outcomes.count("recorded")
    assert recorded + outcomes.count("day_closed") == 9
    day = CashBookDay.objects.get()
    # Whatever won each race: the closed day holds exactly the expenses that were recorded.
    assert day.expenses_cash == Decimal("7.00") * recorded
    assert cashbook_day(branch=main_branch, date=DAY).expected == day.expected
