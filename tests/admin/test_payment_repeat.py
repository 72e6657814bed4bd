"""The cashier's "record again?" (issue 15): a second payment of the same amount for the same
student minutes after the first shows that receipt and asks; only a ticked box records it."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from core.models import EntryType, LedgerEntry, Receipt
from core.services.enrollments import enrollment_create
from core.services.payments import payment_record
from tests.factories import make_group, make_student

pytestmark = pytest.mark.django_db


@pytest.fixture
def student(main_branch):
    student = make_student(main_branch, name="يوسف سامي")
    enrollment = enrollment_create(
        actor=None, student=student, group=make_group(main_branch, fee="200.00"), start_date=datetime.date(2026, 9, 1)
    )
    LedgerEntry.objects.create(
        enrollment=enrollment,
        entry_type=EntryType.CHARGE,
        amount=Decimal("400.00"),
        date=datetime.date(2026, 11, 1),
        source="system",
    )
    return student


def record_url(student):
    return reverse("admin:core_receipt_record", args=[student.pk])


def pay_form(key: str, **extra) -> dict:
    return {"amount": "200", "method": "cash", "layout": "thermal", "note": "الشهر", "idempotency_key": key, **extra}


def test_a_second_tab_is_shown_the_first_receipt_and_asked(client_as, receptionist, manager, student):
    first = payment_record(student=student, cashier=manager, amount="200", idempotency_key="tab-1")
    response = client_as(receptionist).post(record_url(student), pay_form("tab-2"), HTTP_ACCEPT_LANGUAGE="ar")
    assert response.status_code == 200
    assert Receipt.objects.count() == 1
    assert response.context["repeat_receipt"] == first
    page = response.content.decode()
    assert "هل تسجّل دفعة ثانية؟" in page and "نعم، سجّل دفعة ثانية" in page
    assert first.number in page and manager.get_username() in page and "200.00" in page
    assert reverse("admin:core_receipt_print", args=[first.pk]) in page
    assert 'name="confirm_repeat"' in page
    assert 'value="tab-2"' in page and 'value="الشهر"' in page  # the same form, what was typed kept


def test_ticking_yes_records_the_second_payment(client_as, receptionist, student):
    first = payment_record(student=student, cashier=receptionist, amount="200", idempotency_key="tab-1")
    response = client_as(receptionist).post(record_url(student), pay_form("tab-2", confirm_repeat="on"))
    assert response.status_code == 302
    second = Receipt.objects.exclude(pk=first.pk).get()
    assert response["Location"].startswith(reverse("admin:core_receipt_print", args=[second.pk]))
    assert second.total == Decimal("200.00")


def test_a_double_click_is_not_asked_and_opens_the_first_receipt(client_as, receptionist, student):
    client = client_as(receptionist)
    first = client.post(record_url(student), pay_form("one-form"))
    again = client.post(record_url(student), pay_form("one-form"))
    assert first.status_code == again.status_code == 302
    assert first["Location"] == again["Location"] and Receipt.objects.count() == 1


def test_the_empty_form_has_no_record_again_box(client_as, receptionist, student):
    payment_record(student=student, cashier=receptionist, amount="200")
    page = client_as(receptionist).get(record_url(student)).content.decode()
    assert 'name="confirm_repeat"' not in page
