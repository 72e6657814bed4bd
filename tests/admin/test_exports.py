"""Exports opened as a person's spreadsheet would open them: cell types, sheet direction and
name, yes/no in the user's language, numbers as numbers, text as text (SPEC §4)."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.text import capfirst
from openpyxl import load_workbook

from core.models import Enrollment, EntryType, Group, LedgerEntry, Receipt
from core.services.enrollments import enrollment_create
from core.services.payments import payment_record
from tests.factories import make_group, make_student

NOVEMBER = datetime.date(2026, 11, 1)


@pytest.fixture
def owing(main_branch):
    """A student of M1 who was charged 1,200.00 and paid 150.00: he owes 1,050.00."""
    group = make_group(main_branch, code="M1", fee="1200.00")
    student = make_student(main_branch, name="فاطمة حسن", guardian_phone="01001112222")
    student.school = '=HYPERLINK("http://x.example","click")'
    student.save()
    enrollment = enrollment_create(actor=None, student=student, group=group, start_date=datetime.date(2026, 9, 1))
    LedgerEntry.objects.create(
        enrollment=enrollment, entry_type=EntryType.CHARGE, amount=Decimal("1200.00"), date=NOVEMBER, source="system"
    )
    return student


def arabic(text) -> str:
    with translation.override("ar"):
        return capfirst(str(text))


def as_language(user, language: str):
    user.language = language
    user.save(update_fields=["language"])
    return user


def xlsx_of(response):
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    return load_workbook(io.BytesIO(response.content)).worksheets[0]


def by_header(sheet, row: int = 2) -> dict:
    return {header.value: cell for header, cell in zip(sheet[1], sheet[row], strict=False)}


def export(client, model: str, fmt: str = "0"):
    return client.post(reverse(f"admin:core_{model}_export"), {"format": fmt})


def test_student_export_writes_phones_and_formula_looking_text_as_text_in_an_arabic_rtl_sheet(client_as, owner, owing):
    sheet = xlsx_of(export(client_as(as_language(owner, "ar")), "student"))
    assert sheet.title == "الطلاب"
    assert sheet.sheet_view.rightToLeft is True
    cells = by_header(sheet)
    phone = cells["هاتف ولي الأمر"]
    assert phone.value == "+201001112222" and phone.data_type == "s"  # no apostrophe, not a number
    school = cells["المدرسة"]
    assert school.value.startswith("=HYPERLINK") and school.data_type == "s"  # text, never a formula
    assert cells["الكود"].data_type == "s"  # codes stay text


def test_english_exports_read_left_to_right_with_english_names(client_as, owner, owing):
    sheet = xlsx_of(export(client_as(as_language(owner, "en")), "student"))
    assert sheet.title == "Students"
    assert not sheet.sheet_view.rightToLeft


def test_money_is_a_number_cell_with_two_decimals_and_yes_no_is_in_the_users_language(
    client_as, owner, owing, receptionist
):
    payment_record(student=owing, cashier=receptionist, amount="150")
    client = client_as(as_language(owner, "ar"))
    receipts = xlsx_of(export(client, "receipt"))
    assert receipts.title == arabic(Receipt._meta.verbose_name_plural)
    total = by_header(receipts)[arabic(Receipt._meta.get_field("total").verbose_name)]
    assert total.value == 150 and total.data_type == "n" and total.number_format == "#,##0.00"
    groups = xlsx_of(export(client, "group"))
    cells = by_header(groups)
    fee = cells[arabic(Group._meta.get_field("fee").verbose_name)]
    assert fee.value == 1200 and fee.data_type == "n" and fee.number_format == "#,##0.00"
    assert cells[arabic(Group._meta.get_field("is_active").verbose_name)].value == "نعم"
    enrollments = xlsx_of(export(client, "enrollment"))
    start = by_header(enrollments)[arabic(Enrollment._meta.get_field("start_date").verbose_name)]
    assert start.is_date and start.value.date() == datetime.date(2026, 9, 1)


def test_the_ledger_exports_with_its_amounts_as_numbers(client_as, accountant, owing):
    sheet = xlsx_of(export(client_as(as_language(accountant, "en")), "ledgerentry"))
    with translation.override("en"):
        assert sheet.title == capfirst(str(LedgerEntry._meta.verbose_name_plural))
        amount = by_header(sheet)[str(LedgerEntry._meta.get_field("amount").verbose_name)]
    assert amount.value == 1200 and amount.data_type == "n" and amount.number_format == "#,##0.00"


def test_csv_exports_neutralize_formulas_and_say_yes_no_in_the_users_language(client_as, owner, owing):
    client = client_as(as_language(owner, "en"))
    text = export(client, "student", "1").content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["School"].startswith("'=") and rows[0]["Guardian phone"] == "'+201001112222"
    text = export(client, "group", "1").content.decode("utf-8-sig")
    [group] = csv.DictReader(io.StringIO(text))
    with translation.override("en"):
        assert group[str(Group._meta.get_field("is_active").verbose_name)] == "Yes"


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_the_defaulters_report_exports_every_defaulter(client_as, accountant, owing, main_branch, fmt):
    for number in range(3):
        other = make_student(main_branch, name=f"مدين {number}", guardian_phone=f"0100999000{number}")
        enrollment = enrollment_create(actor=None, student=other, group=owing.enrollments.get().group)
        LedgerEntry.objects.create(
            enrollment=enrollment, entry_type=EntryType.CHARGE, amount=Decimal("10.00"), date=NOVEMBER, source="x"
        )
    client = client_as(as_language(accountant, "ar"))
    response = client.get(reverse("admin:core_receipt_defaulters") + f"?export={fmt}")
    assert response.status_code == 200
    assert 'filename="defaulters-' in response["Content-Disposition"]
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        assert len(rows) == 1 + 4 and rows[1][1] == "فاطمة حسن" and rows[1][3] == "1200.00"
        return
    sheet = xlsx_of(response)
    with translation.override("ar"):
        assert sheet.title == str(translation.gettext("Defaulters"))
    assert sheet.sheet_view.rightToLeft is True
    first = [cell for cell in sheet[2]]
    assert first[1].value == "فاطمة حسن"
    assert first[3].value == 1200 and first[3].data_type == "n" and first[3].number_format == "#,##0.00"
    assert first[5].value == "+201001112222" and first[5].data_type == "s"
    assert sheet.max_row == 1 + 4


def test_the_defaulters_export_needs_the_money_reports_permission(client_as, receptionist, owing):
    response = client_as(receptionist).get(reverse("admin:core_receipt_defaulters") + "?export=xlsx")
    assert response.status_code == 403


def test_receipts_and_ledger_lists_offer_export(client_as, owner, owing):
    client = client_as(owner)
    for model in ("receipt", "ledgerentry"):
        page = client.get(reverse(f"admin:core_{model}_changelist")).content.decode()
        assert reverse(f"admin:core_{model}_export") in page
