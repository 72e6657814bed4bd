"""Payments, receipts, voids, refunds, discounts and the cash close (R8, §2 Receipt, Cash close)."""

import datetime
import threading
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connections

from core.models import AuditLog, CashClose, EntryType, Guardian, LedgerEntry, Message, Receipt
from core.selectors.money import enrollment_balance, enrollments_with_balance, students_with_balance
from core.services.enrollments import enrollment_create, enrollment_end, enrollment_transfer
from core.services.payments import (
    cash_close,
    discount_grant,
    money_parse,
    payment_record,
    payment_refund,
    payment_void,
)
from tests.factories import CAIRO, make_group, make_student


def at(day: int, hour: int = 12, month: int = 11, year: int = 2026) -> datetime.datetime:
    return datetime.datetime(year, month, day, hour, 0, tzinfo=CAIRO)


def charge(enrollment, amount, day):
    return LedgerEntry.objects.create(
        enrollment=enrollment, entry_type=EntryType.CHARGE, amount=Decimal(amount), date=day, source="system"
    )


@pytest.fixture
def student(main_branch):
    return make_student(main_branch)


@pytest.fixture
def two_groups(main_branch, student):
    math = make_group(main_branch, fee="200.00")
    physics = make_group(main_branch, fee="150.00")
    start = datetime.date(2026, 9, 1)
    first = enrollment_create(actor=None, student=student, group=math, start_date=start)
    second = enrollment_create(actor=None, student=student, group=physics, start_date=start)
    return first, second


# --- amounts ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["0", "0.00", "-5", "10.001", "abc", "", "1e3x", "NaN", "Infinity", "99999999999"])
def test_bad_amounts_are_refused(raw):
    with pytest.raises(ValidationError):
        money_parse(raw)


def test_floats_are_refused():
    with pytest.raises(ValidationError):
        money_parse(10.5)


def test_amounts_are_exact_decimals():
    assert money_parse(" 1,250.5 ") == Decimal("1250.50")
    assert money_parse(Decimal("0.01")) == Decimal("0.01")


# --- recording ----------------------------------------------------------------------------------


def test_payment_pays_the_oldest_debt_first(receptionist, student, two_groups):
    math, physics = two_groups
    charge(physics, "150.00", datetime.date(2026, 10, 1))
    charge(math, "200.00", datetime.date(2026, 11, 1))
    receipt = payment_record(student=student, cashier=receptionist, amount="250.00", now=at(5))
    lines = {entry.enrollment_id: entry.amount for entry in receipt.entries.all()}
    assert lines == {physics.pk: Decimal("150.00"), math.pk: Decimal("100.00")}
    assert enrollment_balance(physics) == Decimal("0.00")
    assert enrollment_balance(math) == Decimal("-100.00")
    assert receipt.total == Decimal("250.00")
    assert receipt.number == "2026-000001"
    assert receipt.date == datetime.date(2026, 11, 5)


def test_overpayment_stays_as_credit(receptionist, student, two_groups):
    math, _physics = two_groups
    charge(math, "200.00", datetime.date(2026, 11, 1))
    payment_record(student=student, cashier=receptionist, amount="300.00", now=at(5))
    assert enrollment_balance(math) == Decimal("100.00")


def test_explicit_lines_are_kept(receptionist, student, two_groups):
    math, physics = two_groups
    receipt = payment_record(
        student=student, cashier=receptionist, lines=[(math, "120.50"), (physics.pk, "30")], now=at(5)
    )
    assert receipt.total == Decimal("150.50")
    assert enrollment_balance(math) == Decimal("120.50")


def test_a_line_to_another_students_enrollment_is_refused(main_branch, receptionist, student, two_groups):
    other = make_student(main_branch)
    other_enrollment = enrollment_create(
        actor=None, student=other, group=two_groups[0].group, start_date=datetime.date(2026, 9, 1)
    )
    with pytest.raises(ValidationError):
        payment_record(student=student, cashier=receptionist, lines=[(other_enrollment, "50")])
    assert Receipt.objects.count() == 0
    assert LedgerEntry.objects.filter(entry_type=EntryType.PAYMENT).count() == 0


@pytest.mark.parametrize("amount", ["0", "-10", "10.555", "ten", "5000000"])
def test_bad_payment_amounts_write_nothing(receptionist, student, two_groups, amount):
    with pytest.raises(ValidationError):
        payment_record(student=student, cashier=receptionist, amount=amount)
    assert Receipt.objects.count() == 0
    assert AuditLog.objects.filter(model="core.receipt").count() == 0


def test_double_submit_records_once(receptionist, student, two_groups):
    first = payment_record(student=student, cashier=receptionist, amount="100", idempotency_key="form-1")
    second = payment_record(student=student, cashier=receptionist, amount="100", idempotency_key="form-1")
    assert first.pk == second.pk
    assert Receipt.objects.count() == 1
    assert LedgerEntry.objects.filter(entry_type=EntryType.PAYMENT).count() == 1


def test_payment_pays_debt_on_an_ended_enrollment_first(main_branch, receptionist, student):
    """Issue 11.3: the old group's debt was skipped and its money went to the new group."""
    old = make_group(main_branch, fee="200.00")
    new = make_group(main_branch, fee="150.00")
    first = enrollment_create(actor=None, student=student, group=old, start_date=datetime.date(2026, 9, 1))
    charge(first, "200.00", datetime.date(2026, 10, 1))
    second = enrollment_transfer(actor=None, enrollment=first, to_group=new, on_date=datetime.date(2026, 10, 15))
    charge(second, "150.00", datetime.date(2026, 11, 1))
    receipt = payment_record(student=student, cashier=receptionist, amount="250.00", now=at(5))
    lines = {entry.enrollment_id: entry.amount for entry in receipt.entries.all()}
    assert lines == {first.pk: Decimal("200.00"), second.pk: Decimal("50.00")}
    assert enrollment_balance(first) == Decimal("0.00")
    assert enrollment_balance(second) == Decimal("-100.00")


def test_credit_left_after_every_debt_goes_on_the_active_enrollment_not_the_ended_one(
    main_branch, receptionist, student
):
    old = make_group(main_branch, fee="200.00")
    first = enrollment_create(actor=None, student=student, group=old, start_date=datetime.date(2026, 9, 1))
    charge(first, "200.00", datetime.date(2026, 10, 1))
    second = enrollment_transfer(
        actor=None, enrollment=first, to_group=make_group(main_branch), on_date=datetime.date(2026, 10, 15)
    )
    payment_record(student=student, cashier=receptionist, amount="300.00", now=at(5))
    assert enrollment_balance(first) == Decimal("0.00")
    assert enrollment_balance(second) == Decimal("100.00")


def test_a_student_with_only_ended_enrollments_pays_the_one_that_owed_last(main_branch, receptionist, student):
    older = enrollment_create(
        actor=None, student=student, group=make_group(main_branch), start_date=datetime.date(2026, 9, 1)
    )
    newer = enrollment_create(
        actor=None, student=student, group=make_group(main_branch), start_date=datetime.date(2026, 9, 1)
    )
    charge(older, "100.00", datetime.date(2026, 9, 1))
    charge(newer, "100.00", datetime.date(2026, 10, 1))
    for enrollment in (older, newer):
        enrollment_end(actor=None, enrollment=enrollment, on_date=datetime.date(2026, 10, 31))
    payment_record(student=student, cashier=receptionist, amount="250.00", now=at(5))
    assert enrollment_balance(older) == Decimal("0.00")
    assert enrollment_balance(newer) == Decimal("50.00")


def test_a_student_with_no_enrollment_gets_a_clear_error_and_nothing_is_recorded(receptionist, student):
    with pytest.raises(ValidationError) as raised:
        payment_record(student=student, cashier=receptionist, amount="100")
    assert raised.value.code == "no_enrollment"
    assert raised.value.messages == ["هذا الطالب غير مشترك في أي مجموعة ليُدفع عنها."]
    assert Receipt.objects.count() == 0


def test_reused_idempotency_key_for_another_student_is_refused(main_branch, receptionist, student, two_groups):
    """Issue 11.10: a key reused for another student answered with the first student's receipt."""
    first = payment_record(student=student, cashier=receptionist, amount="100", idempotency_key="form-1")
    other = make_student(main_branch)
    enrollment_create(actor=None, student=other, group=two_groups[0].group, start_date=datetime.date(2026, 9, 1))
    with pytest.raises(ValidationError) as raised:
        payment_record(student=other, cashier=receptionist, amount="70", idempotency_key="form-1")
    assert raised.value.code == "key_other_student"
    assert list(Receipt.objects.values_list("pk", flat=True)) == [first.pk]
    assert not LedgerEntry.objects.filter(enrollment__student=other).exists()
    # The first student's own double submit still answers with his receipt.
    again = payment_record(student=student, cashier=receptionist, amount="100", idempotency_key="form-1")
    assert again.pk == first.pk


def test_payment_writes_audit_and_queues_the_message(receptionist, student, two_groups):
    charge(two_groups[0], "200.00", datetime.date(2026, 11, 1))
    receipt = payment_record(student=student, cashier=receptionist, amount="150", now=at(5))
    assert AuditLog.objects.filter(model="core.receipt", object_id=str(receipt.pk)).count() == 1
    message = Message.objects.get(template_key="payment_received")
    assert receipt.number in message.body
    # The new balance in words (issue 11.9: parents read "-50.00" as money paid or owed alike).
    assert "الرصيد الحالي: عليه 50.00 جنيه." in message.body
    assert "-50.00" not in message.body


def test_payment_received_writes_a_credit_as_credit_in_the_guardians_language(main_branch, receptionist, two_groups):
    student = two_groups[0].student
    Guardian.objects.filter(students=student).update(language="en")
    receipt = payment_record(student=student, cashier=receptionist, amount="225", now=at(5))
    message = Message.objects.get(template_key="payment_received")
    assert f"receipt {receipt.number}. Balance: credit 225.00 EGP." in message.body


def test_a_centers_edited_payment_received_text_drops_the_currency_it_wrote_after_the_balance(db):
    """Migration 0016: {balance} now carries its currency ("owes 50.00 EGP"), so a text that wrote
    "{balance} EGP" would say it twice; the migration fixes edited texts as well as the default."""
    import importlib

    from django.apps import apps

    from core.models import MessageTemplate

    migration = importlib.import_module("core.migrations.0016_payment_received_balance_words")
    MessageTemplate.objects.filter(key="payment_received").update(
        text_ar="وصلنا {amount} جنيه، المتبقي {balance} ج.م، شكرًا", text_en="Left: {balance}  EGP. Thanks"
    )
    migration.currency_drop(apps, None)
    template = MessageTemplate.objects.get(key="payment_received")
    assert (template.text_ar, template.text_en) == (
        "وصلنا {amount} جنيه، المتبقي {balance}، شكرًا",
        "Left: {balance}. Thanks",
    )


def test_receipt_numbers_are_per_branch_and_year(main_branch, receptionist, student, two_groups):
    first = payment_record(student=student, cashier=receptionist, amount="10", now=at(31, month=12))
    second = payment_record(student=student, cashier=receptionist, amount="10", now=at(1, month=1, year=2027))
    assert (first.number, second.number) == ("2026-000001", "2027-000001")


def test_a_user_without_the_permission_cannot_record(supervisor, student, two_groups):
    with pytest.raises(PermissionDenied):
        payment_record(student=student, cashier=supervisor, amount="10")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_thirty_concurrent_payments_get_consecutive_numbers(main_branch, receptionist):
    """PostgreSQL really races them on the counter row; SQLite serializes the writers."""
    workers = 30
    student = make_student(main_branch)
    enrollment_create(actor=None, student=student, group=make_group(main_branch), start_date=datetime.date(2026, 9, 1))
    barrier = threading.Barrier(workers)
    numbers, errors = [], []

    def pay(index):
        try:
            barrier.wait(timeout=30)
            receipt = payment_record(
                student=student, cashier=receptionist, amount="10", idempotency_key=f"k{index}", now=at(5)
            )
            numbers.append(receipt.number)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=pay, args=(index,)) for index in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(numbers) == [f"2026-{n:06d}" for n in range(1, workers + 1)]
    assert Receipt.objects.count() == workers


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_double_submits_record_once(main_branch, receptionist):
    workers = 6
    student = make_student(main_branch)
    enrollment_create(actor=None, student=student, group=make_group(main_branch), start_date=datetime.date(2026, 9, 1))
    barrier = threading.Barrier(workers)
    ids, errors = [], []

    def pay():
        try:
            barrier.wait(timeout=30)
            ids.append(payment_record(student=student, cashier=receptionist, amount="10", idempotency_key="same").pk)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=pay) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(set(ids)) == 1
    assert Receipt.objects.count() == 1
    assert Receipt.objects.get().number.endswith("000001")


# --- voids, refunds, discounts ------------------------------------------------------------------


def test_void_adds_entries_and_marks_the_receipt(receptionist, accountant, student, two_groups):
    math, _ = two_groups
    charge(math, "200.00", datetime.date(2026, 11, 1))
    receipt = payment_record(student=student, cashier=receptionist, amount="200", now=at(5))
    payment_void(receipt=receipt, actor=accountant, reason="wrong student", now=at(6))
    receipt.refresh_from_db()
    assert receipt.is_void and receipt.void_reason == "wrong student"
    assert enrollment_balance(math) == Decimal("-200.00")
    assert LedgerEntry.objects.filter(entry_type=EntryType.PAYMENT).count() == 1  # kept
    assert LedgerEntry.objects.filter(entry_type=EntryType.VOID, date=datetime.date(2026, 11, 6)).count() == 1
    with pytest.raises(ValidationError):
        payment_void(receipt=receipt, actor=accountant, reason="again")


def test_void_needs_a_reason_and_the_accountant(receptionist, accountant, student, two_groups):
    receipt = payment_record(student=student, cashier=receptionist, amount="50")
    with pytest.raises(ValidationError):
        payment_void(receipt=receipt, actor=accountant, reason="  ")
    with pytest.raises(PermissionDenied):
        payment_void(receipt=receipt, actor=receptionist, reason="mistake")
    with pytest.raises(PermissionDenied):
        payment_refund(receipt=receipt, actor=receptionist, amount="10", reason="mistake")
    receipt.refresh_from_db()
    assert not receipt.is_void
    assert LedgerEntry.objects.filter(entry_type__in=[EntryType.VOID, EntryType.REFUND]).count() == 0


def test_refund_up_to_what_was_paid(receptionist, accountant, student, two_groups):
    math, physics = two_groups
    receipt = payment_record(student=student, cashier=receptionist, lines=[(math, "100"), (physics, "50")])
    payment_refund(receipt=receipt, actor=accountant, amount="70", reason="left the group", now=at(3, month=12))
    assert enrollment_balance(physics) == Decimal("0.00")
    assert enrollment_balance(math) == Decimal("80.00")
    refund_dates = set(LedgerEntry.objects.filter(entry_type=EntryType.REFUND).values_list("date", flat=True))
    assert refund_dates == {datetime.date(2026, 12, 3)}
    with pytest.raises(ValidationError):
        payment_refund(receipt=receipt, actor=accountant, amount="80.01", reason="too much")
    payment_refund(receipt=receipt, actor=accountant, amount="80", reason="the rest")
    assert enrollment_balance(math) == Decimal("0.00")
    with pytest.raises(ValidationError):
        payment_void(receipt=receipt, actor=accountant, reason="refunded already")


def test_discount_needs_a_reason(accountant, receptionist, two_groups):
    math, _ = two_groups
    charge(math, "200.00", datetime.date(2026, 11, 1))
    with pytest.raises(ValidationError):
        discount_grant(enrollment=math, actor=accountant, amount="50", reason="")
    with pytest.raises(PermissionDenied):
        discount_grant(enrollment=math, actor=receptionist, amount="50", reason="sibling")
    discount_grant(enrollment=math, actor=accountant, amount="50", reason="sibling")
    assert enrollment_balance(math) == Decimal("-150.00")


# --- the selector ----------------------------------------------------------------------------------


def test_student_owed_does_not_net_one_group_against_another(receptionist, student, two_groups):
    math, physics = two_groups
    charge(math, "200.00", datetime.date(2026, 11, 1))
    payment_record(student=student, cashier=receptionist, lines=[(physics, "50")])
    row = students_with_balance().get(pk=student.pk)
    assert row.balance == Decimal("-150.00")
    assert row.owed == Decimal("200.00")
    per_enrollment = {row.pk: row.owed for row in enrollments_with_balance().filter(student=student)}
    assert per_enrollment == {math.pk: Decimal("200.00"), physics.pk: Decimal("0.00")}


# --- cash close -------------------------------------------------------------------------------------


def test_cash_close_keeps_the_difference(receptionist, accountant, main_branch, student, two_groups):
    payment_record(student=student, cashier=receptionist, amount="100", now=at(5, 9))
    payment_record(student=student, cashier=receptionist, amount="40", method="wallet", now=at(5, 10))
    refunded = payment_record(student=student, cashier=receptionist, amount="60", now=at(5, 11))
    voided = payment_record(student=student, cashier=receptionist, amount="25", now=at(5, 11))
    payment_refund(receipt=refunded, actor=accountant, amount="20", reason="overpaid")
    payment_void(receipt=voided, actor=accountant, reason="typo")
    close = cash_close(cashier=receptionist, branch_id=main_branch.pk, counted="135.50")
    assert close.expected == Decimal("140.00")  # 100 + 60 + 25 cash, − 20 refunded, − 25 voided
    assert close.difference == Decimal("-4.50")
    assert close.receipts_count == 3
    # The next close starts where this one ended.
    payment_record(student=student, cashier=receptionist, amount="10")
    second = cash_close(cashier=receptionist, branch_id=main_branch.pk, counted="10")
    assert second.period_start == close.period_end
    assert (second.expected, second.difference) == (Decimal("10.00"), Decimal("0.00"))
    assert CashClose.objects.count() == 2


def test_receipts_are_dated_in_cairo_time(receptionist, student, two_groups):
    utc = datetime.UTC
    before_midnight = payment_record(
        student=student, cashier=receptionist, amount="10", now=datetime.datetime(2026, 11, 30, 21, 30, tzinfo=utc)
    )
    after_midnight = payment_record(
        student=student, cashier=receptionist, amount="10", now=datetime.datetime(2026, 11, 30, 22, 30, tzinfo=utc)
    )
    assert before_midnight.date == datetime.date(2026, 11, 30)
    assert after_midnight.date == datetime.date(2026, 12, 1)
    new_year = payment_record(
        student=student, cashier=receptionist, amount="10", now=datetime.datetime(2026, 12, 31, 22, 30, tzinfo=utc)
    )
    assert new_year.number == "2027-000001"


# --- a second payment of the same amount minutes later: "record again?" (issue 15) -------------------


def test_a_second_payment_of_the_same_amount_within_minutes_is_asked_about(receptionist, student, two_groups):
    first = payment_record(student=student, cashier=receptionist, amount="200", idempotency_key="tab-1")
    with pytest.raises(ValidationError) as asked:
        payment_record(student=student, cashier=receptionist, amount="200.00", idempotency_key="tab-2")
    assert asked.value.code == "possible_duplicate"
    assert asked.value.params["receipt_id"] == first.pk and asked.value.params["number"] == first.number
    assert first.number in asked.value.messages[0]
    assert Receipt.objects.count() == 1
    assert LedgerEntry.objects.filter(entry_type=EntryType.PAYMENT).count() == 1
    # Confirmed: recorded, with the next number (the refused try took none), and the audit says so.
    second = payment_record(
        student=student, cashier=receptionist, amount="200.00", idempotency_key="tab-2", confirm_repeat=True
    )
    assert second.pk != first.pk and second.sequence == first.sequence + 1
    entry = AuditLog.objects.get(model="core.receipt", object_id=str(second.pk))
    assert entry.changes["repeat_confirmed"] == [None, first.number]
    assert "repeat_confirmed" not in AuditLog.objects.get(model="core.receipt", object_id=str(first.pk)).changes


def test_a_double_click_returns_the_first_receipt_without_asking(receptionist, student, two_groups):
    first = payment_record(student=student, cashier=receptionist, amount="200", idempotency_key="same-form")
    again = payment_record(student=student, cashier=receptionist, amount="200", idempotency_key="same-form")
    assert again.pk == first.pk and Receipt.objects.count() == 1


def test_a_payment_by_lines_of_the_same_total_is_asked_about_too(receptionist, student, two_groups):
    math, physics = two_groups
    payment_record(student=student, cashier=receptionist, amount="350")
    with pytest.raises(ValidationError) as asked:
        payment_record(student=student, cashier=receptionist, lines=[(math, "200"), (physics, "150")])
    assert asked.value.code == "possible_duplicate"


def test_another_amount_another_student_or_a_voided_receipt_is_not_asked_about(
    main_branch, receptionist, accountant, student, two_groups
):
    first = payment_record(student=student, cashier=receptionist, amount="200")
    payment_record(student=student, cashier=receptionist, amount="150")  # another amount
    sibling = make_student(main_branch)
    enrollment_create(actor=None, student=sibling, group=two_groups[0].group, start_date=datetime.date(2026, 9, 1))
    payment_record(student=sibling, cashier=receptionist, amount="200")  # another student
    payment_void(receipt=first, actor=accountant, reason="typed for the wrong child")
    payment_record(student=student, cashier=receptionist, amount="200")  # the first one was voided
    assert Receipt.objects.count() == 4


def test_the_question_lasts_ten_minutes(receptionist, student, two_groups):
    start = datetime.datetime(2026, 11, 5, 10, 0, tzinfo=CAIRO)
    with time_machine.travel(start, tick=False):
        payment_record(student=student, cashier=receptionist, amount="200")
    with time_machine.travel(start + datetime.timedelta(minutes=9, seconds=59), tick=False):
        with pytest.raises(ValidationError) as asked:
            payment_record(student=student, cashier=receptionist, amount="200")
    assert asked.value.code == "possible_duplicate" and asked.value.params["time"] == "10:00"
    with time_machine.travel(start + datetime.timedelta(minutes=10, seconds=1), tick=False):
        payment_record(student=student, cashier=receptionist, amount="200")
    assert Receipt.objects.count() == 2


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_tabs_paying_at_once_record_once_and_ask_the_other(main_branch, receptionist):
    """Two cashier tabs, two forms (two keys), the same amount, the same moment: the lock on the
    student's enrollments makes the second see the first; PostgreSQL really races them."""
    student = make_student(main_branch)
    enrollment_create(actor=None, student=student, group=make_group(main_branch), start_date=datetime.date(2026, 9, 1))
    barrier = threading.Barrier(2)
    recorded, asked, errors = [], [], []

    def tab(key):
        try:
            barrier.wait(timeout=30)
            recorded.append(payment_record(student=student, cashier=receptionist, amount="10", idempotency_key=key).pk)
        except ValidationError as error:
            asked.append(error.code)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=tab, args=(key,)) for key in ("tab-a", "tab-b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(recorded) == 1 and asked == ["possible_duplicate"]
    assert Receipt.objects.count() == 1
