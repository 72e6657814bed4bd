"""Profit and loss per branch and month (issue 18): a month of receipts, voids, refunds, expenses
and settlements, checked to the piastre."""

import datetime
from decimal import Decimal

import pytest

from core.models import ExpenseCategory, Item, Settlement, SettlementLine, Teacher
from core.selectors.profit import profit_month, profit_months
from core.services.enrollments import enrollment_create
from core.services.expenses import expense_record, expense_void
from core.services.payments import payment_record, payment_refund, payment_void
from core.services.settlements import settlement_item_add, settlement_run
from core.services.stock import stock_receive
from tests.factories import CAIRO, make_branch, make_group, make_student, make_teacher

NOVEMBER = datetime.date(2026, 11, 1)


def at(month: int, day: int, hour: int = 12) -> datetime.datetime:
    year = 2026 if month > 1 else 2027
    return datetime.datetime(year, month, day, hour, 0, tzinfo=CAIRO)


def enrolled(branch, group):
    student = make_student(branch)
    enrollment = enrollment_create(actor=None, student=student, group=group, start_date=datetime.date(2026, 9, 1))
    return student, enrollment


def pay(cashier, pair, amount, when):
    student, enrollment = pair
    return payment_record(student=student, cashier=cashier, lines=[(enrollment, amount)], now=when, confirm_repeat=True)


@pytest.fixture
def categories(main_branch):
    rent = ExpenseCategory.objects.get_or_create(name_ar="إيجار", defaults={"name_en": "Rent"})[0]
    supplies = ExpenseCategory.objects.get_or_create(name_ar="مستلزمات", defaults={"name_en": "Supplies"})[0]
    return rent, supplies


@pytest.fixture
def month_built(main_branch, receptionist, accountant, manager, categories):
    """November at the main branch, with noise in October, December and another branch."""
    rent, supplies = categories
    other = make_branch("فرع الدقي")
    receptionist.branches.add(other)
    accountant.branches.add(other)
    ahmed, mona = make_teacher("أحمد"), make_teacher("منى")
    seventy = make_group(main_branch, teacher=ahmed, pay_rate="70")
    sixty_two = make_group(main_branch, teacher=mona, pay_rate="62.5")
    elsewhere = make_group(other, teacher=make_teacher(), pay_rate="50")
    a1, a2 = enrolled(main_branch, seventy), enrolled(main_branch, seventy)
    b1 = enrolled(main_branch, sixty_two)
    far = enrolled(other, elsewhere)

    # Ahmed's notes: 50.00 each, cost 20.00, his share 30 %; two sold on the same receipt as a fee.
    notes = Item.objects.create(
        title="مذكرة الجبر",
        teacher=ahmed,
        group=seventy,
        price=Decimal("50.00"),
        cost=Decimal("20.00"),
        teacher_share_percent=Decimal("30"),
    )
    stock_receive(item=notes, branch=main_branch, quantity=10, actor=manager)
    student, enrollment = a1
    with_notes = payment_record(
        student=student, cashier=receptionist, lines=[(enrollment, "200.00")], items=[(notes, 2)], now=at(11, 3)
    )
    assert with_notes.total == Decimal("300.00")
    voided = pay(receptionist, a2, "300.00", at(11, 20))
    refunded = pay(receptionist, b1, "160.00", at(11, 28))
    pay(receptionist, a1, "999.00", at(10, 31))  # October
    pay(receptionist, a1, "777.00", at(12, 1))  # December
    pay(receptionist, far, "500.00", at(11, 5))  # another branch
    # Undone in December: still counts against November's receipts (R9's "collected").
    payment_void(receipt=voided, actor=accountant, reason="wrong student", now=at(12, 2))
    payment_refund(receipt=refunded, actor=accountant, amount="40.00", reason="left early", now=at(12, 2))

    def spend(category, amount, day, month=11, branch=main_branch):
        when = at(month, day)
        return expense_record(
            branch=branch, category=category, amount=amount, actor=accountant, date=when.date(), now=when
        )

    spend(rent, "1000.00", 1)
    spend(supplies, "150.75", 14)
    mistake = spend(supplies, "99.00", 15)
    expense_void(expense=mistake, actor=accountant, reason="duplicate", now=at(12, 3))
    spend(rent, "1000.00", 1, month=12)
    spend(rent, "700.00", 1, branch=other)

    for teacher in (ahmed, mona):
        settlement_run(teacher=teacher, month=NOVEMBER, actor=accountant)
    ahmed_s = Settlement.objects.get(teacher=ahmed)
    mona_s = Settlement.objects.get(teacher=mona)
    settlement_item_add(settlement=ahmed_s, actor=accountant, kind="bonus", amount="25.00", reason="exams")
    settlement_item_add(settlement=ahmed_s, actor=accountant, kind="advance", amount="50.00", reason="advance")
    settlement_item_add(settlement=mona_s, actor=accountant, kind="deduction", amount="10.00", reason="late")
    return {"other": other, "rent": rent, "supplies": supplies}


def test_a_months_profit_reconciles_to_the_piastre(main_branch, month_built):
    main, other, together = profit_month(month=NOVEMBER)
    assert main.branch == main_branch
    # 200 + 300 − 300 voided + 160 − 40 refunded; the notes on the first receipt are sales, not tuition
    assert main.tuition == Decimal("320.00")
    # Ahmed: 70 % of 200 = 140.00 + 25 bonus (the advance is part of his share, paid early);
    # Mona: 62.5 % of 120 = 75.00 − 10 deduction. Ahmed's 30.00 share of his notes is in the margin.
    assert main.teacher_shares == Decimal("230.00")
    assert main.sales_margin == Decimal("30.00")  # 2 × 50 − 2 × 20 cost − 30 % of 100 to Ahmed
    assert main.expenses == Decimal("1150.75")
    assert main.expenses_by_category == {
        month_built["rent"].pk: Decimal("1000.00"),
        month_built["supplies"].pk: Decimal("150.75"),
    }
    assert main.profit == Decimal("-1030.75")  # 320 − 230 + 30 − 1150.75
    assert main.draft_settlements == 2

    assert main.estimated_shares == Decimal("0.00") and main.estimated_teachers == 0

    assert other.branch == month_built["other"]
    assert (other.tuition, other.expenses) == (Decimal("500.00"), Decimal("700.00"))
    # Its teacher has no settlement run yet: his share is estimated by his group's terms, 50 % of 500.
    assert (other.teacher_shares, other.estimated_shares, other.estimated_teachers) == (
        Decimal("250.00"),
        Decimal("250.00"),
        1,
    )
    assert other.margin == Decimal("250.00")
    assert other.profit == Decimal("-450.00")

    assert together.branch is None
    assert together.tuition == Decimal("820.00")
    assert together.sales_margin == Decimal("30.00")
    assert together.profit == main.profit + other.profit
    assert (together.estimated_shares, together.estimated_teachers) == (Decimal("250.00"), 1)


def test_the_shares_equal_the_settlement_totals_plus_advances_less_item_shares(main_branch, month_built):
    main = profit_month(month=NOVEMBER, branch_ids=[main_branch.pk])[0]
    totals = sum(Settlement.objects.filter(month=NOVEMBER).values_list("total", flat=True), Decimal("0"))
    item_share = SettlementLine.objects.get(kind=SettlementLine.Kind.ITEM_SHARE).amount
    assert item_share == Decimal("30.00")
    assert main.teacher_shares == totals + Decimal("50.00") - item_share


def test_a_month_without_money_is_all_zero(main_branch):
    (main, together) = profit_month(month=datetime.date(2025, 1, 1))
    assert main.profit == together.profit == Decimal("0.00")


def test_profit_reads_in_a_fixed_number_of_queries(main_branch, month_built, django_assert_num_queries):
    # branches, tuition, settlements, their items, their lines, groups, the estimate's collected
    # money (per-session or per-student groups add theirs), sales, expenses: the same for one
    # month or seven, whatever the number of branches
    with django_assert_num_queries(9):
        profit_month(month=NOVEMBER)
    with django_assert_num_queries(9):
        profit_months(first=datetime.date(2026, 7, 1), last=datetime.date(2027, 1, 1))


def test_months_read_together_equal_each_month_read_alone(main_branch, month_built):
    together = profit_months(first=datetime.date(2026, 10, 1), last=datetime.date(2026, 12, 1))
    assert list(together) == [datetime.date(2026, 10, 1), NOVEMBER, datetime.date(2026, 12, 1)]
    for month, rows in together.items():
        alone = profit_month(month=month)
        assert [
            (row.branch, row.tuition, row.teacher_shares, row.sales_margin, row.expenses, row.profit) for row in rows
        ] == [
            (row.branch, row.tuition, row.teacher_shares, row.sales_margin, row.expenses, row.profit) for row in alone
        ]
    october, december = together[datetime.date(2026, 10, 1)][0], together[datetime.date(2026, 12, 1)][0]
    # October: a1's 999.00 with Ahmed's 70 % estimated (no settlement for October); December: 777.00
    # and the rent, the same estimate.
    assert (october.tuition, october.teacher_shares, october.estimated_teachers) == (
        Decimal("999.00"),
        Decimal("699.30"),
        1,
    )
    assert (december.tuition, december.teacher_shares, december.expenses) == (
        Decimal("777.00"),
        Decimal("543.90"),
        Decimal("1000.00"),
    )
    assert december.profit == Decimal("777.00") - Decimal("543.90") - Decimal("1000.00")


def test_a_settlement_run_replaces_the_estimate(main_branch, month_built, accountant):
    other_teacher = Teacher.objects.get(groups__branch=month_built["other"])
    before = profit_month(month=NOVEMBER, branch_ids=[month_built["other"].pk])[0]
    settlement_item_add(
        settlement=settlement_run(teacher=other_teacher, month=NOVEMBER, actor=accountant),
        actor=accountant,
        kind="bonus",
        amount="5.00",
        reason="exams",
    )
    after = profit_month(month=NOVEMBER, branch_ids=[month_built["other"].pk])[0]
    assert (before.teacher_shares, before.estimated_teachers) == (Decimal("250.00"), 1)
    assert (after.teacher_shares, after.estimated_teachers, after.draft_settlements) == (Decimal("255.00"), 0, 1)
