"""Expenses from a spreadsheet (issue 18): preview per row, errors with the row and the column,
all rows or none, the service's rules (limit, closed days) reported on their row."""

import datetime
import io
from decimal import Decimal

import pytest

from core.imports.expenses import ExpenseImporter, cell_date
from core.imports.reader import sheet_read
from core.imports.results import ERROR, NEW
from core.models import Expense, ExpenseCategory
from core.services.cashbook import cashbook_close
from tests.factories import center_set

HEADER = "التاريخ,البند,المبلغ,طريقة الدفع,المدفوع له,ملاحظة\n"


@pytest.fixture
def categories(main_branch):
    for name_ar, name_en in (("إيجار", "Rent"), ("مستلزمات", "Supplies")):
        ExpenseCategory.objects.get_or_create(name_ar=name_ar, defaults={"name_en": name_en})


def run(text: str, *, branch, actor, apply: bool, name="expenses.csv"):
    data = text.encode("utf-8-sig")
    return ExpenseImporter(branch=branch, actor=actor).run(sheet_read(data, name), apply=apply)


def test_a_good_sheet_previews_then_imports_every_row(main_branch, accountant, categories):
    text = HEADER + "2026-11-01,إيجار,١٥٠٠,نقدا,صاحب العقار,إيجار نوفمبر\n10/11/2026,Supplies,75.5,فودافون كاش,,أقلام\n"
    preview = run(text, branch=main_branch, actor=accountant, apply=False)
    assert preview.ok and not preview.applied
    assert [row.action for row in preview.rows] == [NEW, NEW]
    assert not Expense.objects.exists()  # the preview writes nothing, numbers included
    result = run(text, branch=main_branch, actor=accountant, apply=True)
    assert result.applied
    rows = list(Expense.objects.order_by("sequence").values_list("number", "amount", "date", "method", "payee"))
    assert rows == [
        ("2026-000001", Decimal("1500.00"), datetime.date(2026, 11, 1), "cash", "صاحب العقار"),
        ("2026-000002", Decimal("75.50"), datetime.date(2026, 11, 10), "wallet", ""),
    ]


def test_errors_name_the_row_and_column_and_nothing_is_written(main_branch, accountant, categories):
    text = HEADER + "2026-11-01,إيجار,100,,,\n2026-13-40,كهرباء,-5,شيك,,\n"
    result = run(text, branch=main_branch, actor=accountant, apply=True)
    assert not result.applied and not Expense.objects.exists()
    assert [row.action for row in result.rows] == [NEW, ERROR]
    issues = result.issues()
    assert {(number, column) for number, column, _message in issues} == {
        (3, "التاريخ"),
        (3, "البند"),
        (3, "المبلغ"),
        (3, "طريقة الدفع"),
    }


def test_the_services_rules_come_back_on_their_row(main_branch, receptionist, accountant, categories):
    center_set(expense_desk_limit=Decimal("200.00"))
    cashbook_close(
        branch=main_branch,
        date=datetime.date(2026, 11, 5),
        counted="0",
        actor=accountant,
        now=datetime.datetime(2026, 11, 5, 22, tzinfo=datetime.UTC),
    )
    text = HEADER + "2026-11-04,إيجار,50,,,\n2026-11-20,إيجار,900,,,\n2026-11-21,إيجار,150,,,\n"
    result = run(text, branch=main_branch, actor=receptionist, apply=True)
    assert [row.action for row in result.rows] == [ERROR, ERROR, NEW]
    assert not Expense.objects.exists()
    # The numbers taken by the checked rows were given back: the first real expense is 000001.
    good = run(HEADER + "2026-11-21,إيجار,150,,,\n", branch=main_branch, actor=receptionist, apply=True)
    assert good.applied and Expense.objects.get().number == "2026-000001"


def test_an_xlsx_with_english_headers_reads_the_same(main_branch, accountant, categories):
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Date", "Category", "Amount", "Method"])
    sheet.append([datetime.date(2026, 11, 3), "Rent", 2500, "cash"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = ExpenseImporter(branch=main_branch, actor=accountant).run(
        sheet_read(buffer.getvalue(), "expenses.xlsx"), apply=True
    )
    assert result.applied, result.issues()
    assert Expense.objects.get().date == datetime.date(2026, 11, 3)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("2026-11-03", datetime.date(2026, 11, 3)), ("٠٣/١١/٢٠٢٦", datetime.date(2026, 11, 3)), ("3 nov", None)],
)
def test_dates_as_people_type_them(raw, expected):
    assert cell_date(raw) == expected
