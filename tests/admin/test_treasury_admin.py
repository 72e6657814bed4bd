"""The treasury's admin pages: who may open them, and that every button goes through a service."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from core.models import AuditLog, BankTransfer, CashBookDay, Expense, ExpenseCategory
from core.services.expenses import expense_record


@pytest.fixture
def rent(main_branch) -> ExpenseCategory:
    return ExpenseCategory.objects.get_or_create(name_ar="إيجار", defaults={"name_en": "Rent"})[0]


def test_anonymous_is_sent_to_login(client):
    for name in ["admin:core_cashbookday_book", "admin:core_cashbookday_profit", "admin:core_expense_add"]:
        response = client.get(reverse(name))
        assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_front_desk_records_an_expense_but_sees_no_cash_book(client_as, receptionist, main_branch, rent):
    client = client_as(receptionist)
    response = client.post(
        reverse("admin:core_expense_add"),
        {
            "branch": main_branch.pk,
            "category": rent.pk,
            "amount": "١٢٠.٥٠",  # Arabic-Indic digits, as a phone keyboard types them
            "date": timezone.localdate().isoformat(),
            "method": "cash",
            "payee": "الكهربائي",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    expense = Expense.objects.get()
    assert expense.amount == Decimal("120.50") and expense.created_by == receptionist
    assert client.get(reverse("admin:core_cashbookday_book")).status_code == 403
    assert client.get(reverse("admin:core_cashbookday_profit")).status_code == 403
    assert client.get(reverse("admin:core_expense_void", args=[expense.pk])).status_code == 403
    assert client.post(reverse("admin:core_expense_void", args=[expense.pk]), {"reason": "x"}).status_code == 403
    assert not Expense.objects.get().is_void


def test_the_accountant_voids_an_expense_with_a_reason(client_as, accountant, main_branch, rent):
    expense = expense_record(branch=main_branch, category=rent, amount="50", actor=accountant)
    client = client_as(accountant)
    response = client.post(reverse("admin:core_expense_void", args=[expense.pk]), {"reason": "مكرر"})
    assert response.status_code == 302
    expense.refresh_from_db()
    assert expense.is_void and expense.void_reason == "مكرر"


def test_closing_the_day_from_the_cash_book_page(client_as, accountant, main_branch, rent):
    today = timezone.localdate()
    expense_record(branch=main_branch, category=rent, amount="40", actor=accountant)
    client = client_as(accountant)
    url = reverse("admin:core_cashbookday_book") + f"?branch={main_branch.pk}&date={today:%Y-%m-%d}"
    page = client.get(url)
    assert page.status_code == 200
    assert page.context["book"].expected == Decimal("-40.00")
    response = client.post(url, {"counted": "0", "note": ""})
    assert response.status_code == 302
    day = CashBookDay.objects.get()
    assert day.difference == Decimal("40.00")
    again = client.get(url)
    assert again.context["form"] is None  # a closed day has no close form
    assert client.post(url, {"counted": "5"}).status_code == 403


def test_the_print_page_has_the_strict_policy(client_as, accountant, main_branch):
    response = client_as(accountant).get(reverse("admin:core_cashbookday_print") + f"?branch={main_branch.pk}")
    assert response.status_code == 200
    assert "unsafe-eval" not in response.headers.get("Content-Security-Policy", "unsafe-eval-missing-header")


def test_a_bank_deposit_from_the_admin(client_as, accountant, main_branch):
    response = client_as(accountant).post(
        reverse("admin:core_banktransfer_add"),
        {"branch": main_branch.pk, "kind": "deposit", "amount": "300", "date": timezone.localdate().isoformat()},
    )
    assert response.status_code == 302
    assert BankTransfer.objects.get().amount == Decimal("300.00")
    assert AuditLog.objects.filter(model="core.banktransfer").count() == 1


def test_profit_exports_to_csv_and_xlsx(client_as, accountant, main_branch, rent):
    month = timezone.localdate().replace(day=1)
    expense_record(branch=main_branch, category=rent, amount="75.25", actor=accountant, date=month)
    client = client_as(accountant)
    response = client.get(reverse("admin:core_cashbookday_profit") + f"?month={month:%Y-%m}&export=csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[1][1:6] == [f"{month:%Y-%m}", "0.00", "0.00", "0.00", "75.25"]
    # The writer may neutralize a leading minus (formula escaping); the number is the same.
    assert rows[1][6].lstrip("'") == "-75.25"
    xlsx = client.get(reverse("admin:core_cashbookday_profit") + f"?month={month:%Y-%m}&export=xlsx")
    assert xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
    page = client.get(reverse("admin:core_cashbookday_profit") + f"?month={month:%Y-%m}")
    assert page.status_code == 200


def test_profit_shows_the_teachers_share_estimated_before_the_settlement(
    client_as, accountant, receptionist, main_branch
):
    from core.services.enrollments import enrollment_create
    from core.services.payments import payment_record
    from tests.factories import make_group, make_student

    month = timezone.localdate().replace(day=1)
    group = make_group(main_branch, pay_rate="70")
    student = make_student(main_branch)
    enrollment = enrollment_create(actor=None, student=student, group=group, start_date=month)
    payment_record(student=student, cashier=receptionist, lines=[(enrollment, "200.00")])
    client = client_as(accountant)
    page = client.get(reverse("admin:core_cashbookday_profit") + f"?month={month:%Y-%m}")
    row = page.context["rows"][0]
    assert (row.tuition, row.teacher_shares, row.estimated_shares, row.profit) == (
        Decimal("200.00"),
        Decimal("140.00"),
        Decimal("140.00"),
        Decimal("60.00"),
    )
    assert "data-estimated" in page.content.decode()
    response = client.get(reverse("admin:core_cashbookday_profit") + f"?month={month:%Y-%m}&export=csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[1][2:5] + rows[1][6:8] == ["200.00", "140.00", "0.00", "60.00", "140.00"]


def test_expenses_are_never_deleted_in_the_admin(client_as, owner, main_branch, rent):
    expense = expense_record(branch=main_branch, category=rent, amount="10", actor=owner)
    response = client_as(owner).post(reverse("admin:core_expense_delete", args=[expense.pk]), {"post": "yes"})
    assert response.status_code == 403
    assert Expense.objects.filter(pk=expense.pk).exists()


def test_a_closed_day_link_opens_its_book(client_as, accountant, main_branch):
    from core.services.cashbook import cashbook_close

    day = cashbook_close(
        branch=main_branch, date=timezone.localdate() - datetime.timedelta(days=1), counted="0", actor=accountant
    )
    response = client_as(accountant).get(reverse("admin:core_cashbookday_change", args=[day.pk]))
    assert response.status_code == 302 and f"date={day.date:%Y-%m-%d}" in response["Location"]


def test_expenses_import_through_the_shared_import_screen(client_as, accountant, supervisor, main_branch, rent):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from core.models import ImportJob

    client = client_as(accountant)
    listing = client.get(reverse("admin:core_expense_changelist"))
    assert listing.context["import_url"] == reverse("admin:core_importjob_upload", args=["expenses"])
    template = client.get(reverse("admin:core_importjob_template", args=["expenses"]))
    assert template.status_code == 200
    sheet = "التاريخ,البند,المبلغ\n2026-11-03,إيجار,2500\n".encode("utf-8-sig")
    response = client.post(
        reverse("admin:core_importjob_upload", args=["expenses"]),
        {"file": SimpleUploadedFile("expenses.csv", sheet, content_type="text/csv"), "branch": main_branch.pk},
    )
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert job.kind == "expenses"
    assert client_as(supervisor).get(reverse("admin:core_importjob_upload", args=["expenses"])).status_code == 403


def _queries(client, url) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_expense_list_and_the_cash_book_stay_fixed_size(client_as, accountant, main_branch, rent):
    client = client_as(accountant)
    today = timezone.localdate()
    book_url = reverse("admin:core_cashbookday_book") + f"?branch={main_branch.pk}&date={today:%Y-%m-%d}"
    list_url = reverse("admin:core_expense_changelist")
    for _ in range(2):
        expense_record(branch=main_branch, category=rent, amount="5", actor=accountant)
    client.get(list_url)  # warm the per-process caches (content types, settings)
    few = (_queries(client, list_url), _queries(client, book_url))
    for _ in range(12):
        expense_record(branch=main_branch, category=rent, amount="5", actor=accountant)
    many = (_queries(client, list_url), _queries(client, book_url))
    assert many == few


def test_the_expense_list_exports_with_formula_text_neutralized(client_as, accountant, main_branch, rent):
    expense_record(branch=main_branch, category=rent, amount="12.50", actor=accountant, payee="=HYPERLINK(1)")
    response = client_as(accountant).post(reverse("admin:core_expense_export"), {"format": "1"})  # .csv
    assert response.status_code == 200
    text = response.content.decode("utf-8-sig")
    assert "'=HYPERLINK(1)" in text and "12.50" in text


def test_the_owner_sets_the_desk_limit_in_the_center_settings(client_as, owner):
    from core.models import CenterSettings

    CenterSettings.load()
    url = reverse("admin:core_centersettings_change", args=[1])
    page = client_as(owner).get(url)
    assert page.status_code == 200
    assert 'name="expense_desk_limit"' in page.content.decode()
