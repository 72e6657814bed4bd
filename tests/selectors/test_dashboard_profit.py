"""Issue 18: the dashboard's money chart shows the profit and loss figures, the same as the P&L page
(core/selectors/profit.py), for a month of receipts, notes sold, expenses, a settlement run and a
teacher not settled yet; expenses and profit only for who may see the treasury."""

import datetime
import json
from decimal import Decimal

import pytest
import time_machine
from django.core.cache import cache
from django.urls import reverse

from core.models import ExpenseCategory, Item
from core.selectors import dashboard_charts
from core.selectors.profit import profit_month
from core.services.enrollments import enrollment_create
from core.services.expenses import expense_record
from core.services.payments import payment_record
from core.services.settlements import settlement_item_add, settlement_run
from core.services.stock import stock_receive
from tests.factories import CAIRO, make_branch, make_group, make_student, make_teacher

NOW = datetime.datetime(2026, 12, 10, 12, 0, tzinfo=CAIRO)
NOVEMBER = datetime.date(2026, 11, 1)


def at(month: int, day: int, hour: int = 12) -> datetime.datetime:
    return datetime.datetime(2026, month, day, hour, 0, tzinfo=CAIRO)


@pytest.fixture
def november(main_branch, receptionist, accountant, manager):
    """November at the main branch: fees for two teachers (one settled with a bonus, one not),
    notes sold with the fees, a voided receipt, two expenses; noise in December and elsewhere."""
    rent = ExpenseCategory.objects.get_or_create(name_ar="إيجار", defaults={"name_en": "Rent"})[0]
    settled, unsettled = make_teacher("أحمد"), make_teacher("منى")
    seventy = make_group(main_branch, teacher=settled, pay_rate="70")
    sixty = make_group(main_branch, teacher=unsettled, pay_rate="60")
    pairs = []
    for group in (seventy, seventy, sixty):
        student = make_student(main_branch)
        enrollment = enrollment_create(actor=None, student=student, group=group, start_date=datetime.date(2026, 9, 1))
        pairs.append((student, enrollment))
    notes = Item.objects.create(
        title="مذكرة الكيمياء",
        teacher=settled,
        price=Decimal("45.00"),
        cost=Decimal("15.00"),
        teacher_share_percent=Decimal("20"),
    )
    stock_receive(item=notes, branch=main_branch, quantity=10, actor=manager)

    def pay(pair, amount, when, **extra):
        student, enrollment = pair
        return payment_record(
            student=student,
            cashier=receptionist,
            lines=[(enrollment, amount)],
            now=when,
            confirm_repeat=True,
            **extra,
        )

    pay(pairs[0], "200.00", at(11, 2), items=[(notes, 2)])
    voided = pay(pairs[1], "150.00", at(11, 9))
    pay(pairs[1], "150.00", at(11, 10))
    pay(pairs[2], "180.00", at(11, 12))
    pay(pairs[2], "999.00", at(12, 1))  # December
    from core.services.payments import payment_void

    payment_void(receipt=voided, actor=accountant, reason="twice", now=at(11, 9, 13))
    expense_record(branch=main_branch, category=rent, amount="400.00", actor=accountant, date=at(11, 1).date())
    expense_record(branch=main_branch, category=rent, amount="33.33", actor=accountant, date=at(11, 20).date())
    elsewhere = make_branch("فرع المعادي")
    expense_record(branch=elsewhere, category=rent, amount="999.00", actor=accountant, date=at(11, 5).date())
    run = settlement_run(teacher=settled, month=NOVEMBER, actor=accountant)
    settlement_item_add(settlement=run, actor=accountant, kind="bonus", amount="12.50", reason="exams")
    return main_branch


def test_the_chart_shows_the_profit_and_loss_figures(november):
    pnl = profit_month(month=NOVEMBER, branch_ids=[november.pk])[-1]
    # 200 + 150 + 180 (the voided 150 out); Ahmed 70 % of 350 + 12.50 bonus, Mona 60 % of 180
    # estimated; notes 2 × 45 − 2 × 15 − 20 % of 90; rent 400 + 33.33.
    assert (pnl.tuition, pnl.teacher_shares, pnl.estimated_shares) == (
        Decimal("530.00"),
        Decimal("365.50"),
        Decimal("108.00"),
    )
    assert (pnl.sales_margin, pnl.expenses, pnl.profit) == (Decimal("42.00"), Decimal("433.33"), Decimal("-226.83"))
    months, _teachers = dashboard_charts.money_by_month(branch_ids=[november.pk], today=NOW.date())
    chart = next(row for row in months if row.month == NOVEMBER)
    assert (chart.collected, chart.teacher_share, chart.sales_margin, chart.expenses) == (
        pnl.tuition,
        pnl.teacher_shares,
        pnl.sales_margin,
        pnl.expenses,
    )
    assert (chart.margin, chart.profit, chart.estimated_share) == (pnl.margin, pnl.profit, pnl.estimated_shares)


def test_the_page_s_chart_and_its_table_read_the_same_figures(client_as, owner, november):
    cache.clear()
    with time_machine.travel(NOW, tick=False):
        page = client_as(owner).get(reverse("admin:index"), {"branch": november.pk})
    chart = next(chart for chart in page.context["charts"] if chart.name == "revenue")
    assert len(chart.headers) == 7 and len(chart.rows) == 6
    plotted = json.loads(chart.data)["datasets"]
    # Each of the six months, table and bars, equals the P&L page's figures of that month.
    for index, month in enumerate(dashboard_charts.months_back(NOW.date(), 6)):
        pnl = profit_month(month=month, branch_ids=[november.pk])[-1]
        figures = [pnl.tuition, pnl.teacher_shares, pnl.sales_margin, pnl.margin, pnl.expenses, pnl.profit]
        assert chart.rows[index][1:] == figures
        assert [dataset["data"][index] for dataset in plotted] == [
            str(value) for value in (pnl.tuition, pnl.teacher_shares, pnl.margin, pnl.expenses, pnl.profit)
        ]
    assert chart.rows[-2][-1] == Decimal("-226.83") and chart.rows[-1][1] == Decimal("999.00")
    assert "226.83" in page.content.decode()


def test_expenses_and_profit_only_for_who_sees_the_treasury(client_as, accountant, november):
    from core.admin.dashboard import charts_for
    from core.selectors.dashboard_page import dashboard_data, dashboard_scope

    cache.clear()
    with time_machine.travel(NOW, tick=False):
        data = dashboard_data(accountant, dashboard_scope(accountant))
        download = client_as(accountant).get(reverse("dashboard-chart-export", args=["revenue"]), {"format": "csv"})
    without = next(chart for chart in charts_for(data) if chart.name == "revenue")
    assert len(without.headers) == 5 and all(len(row) == 5 for row in without.rows)
    assert len(json.loads(without.data)["datasets"]) == 3  # collected, teachers' share, center margin
    # The accountant sees the treasury: his download has the expenses and the profit.
    header = download.content.decode("utf-8-sig").splitlines()[0]
    assert header.count(",") == 6
