"""Wording at the desk (issue 14): money with thousands separators in both languages, the cashier
named by his name (not his login), and a settlement run button that says what it does."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from core.selectors.money import balance_words, money_text
from core.services.enrollments import enrollment_create
from core.services.payments import payment_record
from tests.factories import make_group, make_student

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("language", "owes", "credit"),
    [("ar", "عليه 12,500.00", "له 1,250.50"), ("en", "owes 12,500.00", "credit 1,250.50")],
)
def test_balances_group_thousands_in_both_languages(language, owes, credit):
    with translation.override(language):
        assert balance_words(Decimal("-12500")) == owes
        assert balance_words(Decimal("1250.5")) == credit
        assert money_text(Decimal("999")) == "999.00"


def test_staff_are_named_by_their_name_and_fall_back_to_the_login(receptionist):
    assert str(receptionist) == "reception1"
    receptionist.first_name, receptionist.last_name = "منى", "عادل"
    assert str(receptionist) == "منى عادل"


def test_the_receipt_names_the_cashier_and_groups_thousands(client_as, receptionist, main_branch):
    receptionist.first_name, receptionist.last_name = "منى", "عادل"
    receptionist.save()
    group = make_group(main_branch, fee="1500.00")
    student = make_student(main_branch)
    enrollment_create(actor=None, student=student, group=group)
    receipt = payment_record(student=student, cashier=receptionist, amount=Decimal("1250"))
    html = client_as(receptionist).get(reverse("admin:core_receipt_print", args=[receipt.pk])).content.decode()
    assert "1,250.00" in html
    assert "منى عادل" in html and "reception1" not in html
    listing = client_as(receptionist).get(reverse("admin:core_receipt_changelist")).content.decode()
    assert "منى عادل" in listing


def test_the_settlement_run_button_says_what_it_does(client_as, accountant):
    html = client_as(accountant).get(reverse("admin:core_settlement_run_month")).content.decode()
    assert "احسب تسويات المدرسين لهذا الشهر" in html
    assert ">حفظ<" not in html


def test_amount_columns_of_every_list_group_their_thousands(client_as, owner, receptionist, main_branch):
    group = make_group(main_branch, fee="1250.00")
    student = make_student(main_branch)
    enrollment = enrollment_create(actor=None, student=student, group=group)
    payment_record(student=student, cashier=receptionist, lines=[(enrollment, "12500.50")])
    client = client_as(owner)
    for url in ("admin:core_receipt_changelist", "admin:core_ledgerentry_changelist", "admin:core_group_changelist"):
        page = client.get(reverse(url)).content.decode()
        assert "12,500.50" in page or "1,250.00" in page, url
    assert "12500.50" not in client.get(reverse("admin:core_receipt_changelist")).content.decode()
