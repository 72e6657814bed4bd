"""Money in the admin: the cashier screen, receipts and their print, voids, drawer closes,
settlements and reports, each as anonymous, as staff without the permission, and with it."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from core.models import (
    AuditLog,
    CashClose,
    EntryType,
    LedgerEntry,
    Receipt,
    Settlement,
    SettlementRun,
)
from core.services.enrollments import enrollment_create
from core.services.payments import payment_record, payment_void
from core.services.settlements import settlement_approval_blocker, settlement_approve, settlement_pay, settlement_run
from tests.admin.test_cards import STRICT_POLICY
from tests.factories import make_group, make_student, make_teacher
from tests.test_security import parse_csp

NOVEMBER = datetime.date(2026, 11, 1)


@pytest.fixture
def group(main_branch):
    return make_group(main_branch, fee="200.00")


@pytest.fixture
def student(main_branch, group):
    student = make_student(main_branch)
    enrollment = enrollment_create(actor=None, student=student, group=group, start_date=datetime.date(2026, 9, 1))
    LedgerEntry.objects.create(
        enrollment=enrollment, entry_type=EntryType.CHARGE, amount=Decimal("200.00"), date=NOVEMBER, source="system"
    )
    return student


@pytest.fixture
def receipt(student, receptionist):
    return payment_record(student=student, cashier=receptionist, amount="150")


def record_url(student):
    return reverse("admin:core_receipt_record", args=[student.pk])


# --- who may open what -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url_name",
    ["admin:core_receipt_cashier", "admin:core_receipt_cash_close", "admin:core_settlement_changelist"],
)
def test_anonymous_is_sent_to_login(client, db, url_name):
    response = client.get(reverse(url_name))
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.parametrize(
    ("role", "url_name", "allowed"),
    [
        ("receptionist", "admin:core_receipt_cashier", True),
        ("receptionist", "admin:core_receipt_changelist", True),
        ("receptionist", "admin:core_receipt_cash_close", True),
        ("receptionist", "admin:core_settlement_changelist", False),
        ("receptionist", "admin:core_receipt_defaulters", False),
        ("receptionist", "admin:core_settlement_run_month", False),
        ("supervisor", "admin:core_receipt_cashier", False),
        ("supervisor", "admin:core_receipt_changelist", False),
        ("supervisor", "admin:core_cashclose_changelist", False),
        ("supervisor", "admin:core_settlement_changelist", False),
        ("accountant", "admin:core_settlement_changelist", True),
        ("accountant", "admin:core_settlement_run_month", True),
        ("accountant", "admin:core_receipt_defaulters", True),
        ("accountant", "admin:core_receipt_collections", True),
        ("accountant", "admin:core_settlement_report", True),
        ("accountant", "admin:core_receipt_cashier", False),
        ("manager", "admin:core_receipt_cashier", True),
        ("manager", "admin:core_settlement_changelist", True),
        ("teacher_user", "admin:core_settlement_changelist", True),
        ("teacher_user", "admin:core_receipt_changelist", False),
        ("teacher_user", "admin:core_receipt_defaulters", False),
    ],
)
def test_role_matrix(db, request, client_as, role, url_name, allowed):
    user = request.getfixturevalue(role)
    response = client_as(user).get(reverse(url_name))
    assert (response.status_code == 200) is allowed, response.status_code
    if not allowed:
        assert response.status_code in (302, 403)


# --- the cashier -------------------------------------------------------------------------------------


def test_cashier_finds_a_student_by_code(client_as, receptionist, student):
    response = client_as(receptionist).get(reverse("admin:core_receipt_cashier"), {"q": student.code})
    assert response.status_code == 302 and response["Location"] == record_url(student)


def test_cashier_finds_students_by_name(client_as, receptionist, student):
    response = client_as(receptionist).get(reverse("admin:core_receipt_cashier"), {"q": student.full_name})
    assert response.status_code == 200
    assert student.full_name in response.content.decode()


def test_record_page_shows_what_is_owed_per_group(client_as, receptionist, student, group):
    page = client_as(receptionist).get(record_url(student)).content.decode()
    assert group.name in page and "200.00" in page


def test_taking_a_payment_prints_the_receipt(client_as, receptionist, student):
    client = client_as(receptionist)
    form = {"amount": "150", "method": "cash", "layout": "a5", "idempotency_key": "abc123"}
    response = client.post(record_url(student), form)
    receipt = Receipt.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:core_receipt_print", args=[receipt.pk]) + "?layout=a5"
    # A double-clicked form carries the same key: still one receipt.
    client.post(record_url(student), form)
    assert Receipt.objects.count() == 1
    printed = client.get(response["Location"])
    assert parse_csp(printed["Content-Security-Policy"]) == STRICT_POLICY
    page = printed.content.decode()
    assert receipt.number in page and "150.00" in page and "عليه 50.00" in page  # the balance in words
    assert "-50.00" not in page
    assert printed.context["is_copy"] is False and "data-copy-mark hidden" in page
    client.post(reverse("admin:core_receipt_printed", args=[receipt.pk]))  # the browser printed it
    again = client.get(reverse("admin:core_receipt_print", args=[receipt.pk]) + "?layout=thermal")
    assert again.context["is_copy"] is True
    assert "data-copy-mark>" in again.content.decode() and "receipt-thermal" in again.content.decode()


def test_payment_lines_per_group(client_as, receptionist, student, group):
    enrollment = student.enrollments.get()
    form = {f"line_{enrollment.pk}": "75.50", "method": "wallet", "reference": "W1", "layout": "thermal"}
    client_as(receptionist).post(record_url(student), {**form, "idempotency_key": "k1"})
    receipt = Receipt.objects.get()
    assert (receipt.total, receipt.method, receipt.reference) == (Decimal("75.50"), "wallet", "W1")


@pytest.mark.parametrize("amount", ["0", "-5", "1.234", "abc", "99999999"])
def test_bad_amounts_show_an_error_and_write_nothing(client_as, receptionist, student, amount):
    response = client_as(receptionist).post(
        record_url(student), {"amount": amount, "method": "cash", "layout": "a5", "idempotency_key": "x"}
    )
    assert response.status_code == 200
    assert Receipt.objects.count() == 0
    assert response.context["form"].errors


def test_the_student_page_has_a_record_payment_button(client_as, receptionist, student):
    client = client_as(receptionist)
    response = client.get(reverse("admin:core_student_record_payment", args=[student.pk]))
    assert response.status_code == 302 and response["Location"] == record_url(student)
    assert client_as(receptionist).get(reverse("admin:core_student_change", args=[student.pk])).status_code == 200


def test_supervisor_cannot_use_the_record_payment_button(client_as, supervisor, student):
    response = client_as(supervisor).get(reverse("admin:core_student_record_payment", args=[student.pk]))
    assert response.status_code == 403


def test_a_student_of_another_branch_is_not_found(client_as, receptionist, group):
    from tests.factories import make_branch

    other = make_student(make_branch())
    assert client_as(receptionist).get(record_url(other)).status_code == 404


# --- voids and refunds ----------------------------------------------------------------------------------


def test_receptionist_cannot_void(client_as, receptionist, receipt):
    response = client_as(receptionist).post(reverse("admin:core_receipt_void", args=[receipt.pk]), {"reason": "x"})
    assert response.status_code == 403
    receipt.refresh_from_db()
    assert not receipt.is_void


def test_accountant_voids_with_a_reason(client_as, accountant, receipt):
    client = client_as(accountant)
    url = reverse("admin:core_receipt_void", args=[receipt.pk])
    response = client.post(url, {"reason": "   "})
    assert response.status_code == 200 and response.context["form"].errors
    receipt.refresh_from_db()
    assert not receipt.is_void
    response = client.post(url, {"reason": "wrong amount"})
    assert response.status_code == 302
    receipt.refresh_from_db()
    assert receipt.is_void and receipt.voided_by == accountant
    page = client.get(reverse("admin:core_receipt_print", args=[receipt.pk])).content.decode()
    assert "receipt-void-mark" in page and "wrong amount" in page


def test_accountant_refunds(client_as, accountant, receipt):
    url = reverse("admin:core_receipt_refund", args=[receipt.pk])
    response = client_as(accountant).post(url, {"amount": "200", "reason": "too much"})
    assert response.status_code == 200  # more than the receipt: refused with a message
    assert not LedgerEntry.objects.filter(entry_type=EntryType.REFUND).exists()
    client_as(accountant).post(url, {"amount": "50", "reason": "left"})
    assert LedgerEntry.objects.get(entry_type=EntryType.REFUND).amount == Decimal("50.00")


# --- drawer closes --------------------------------------------------------------------------------------


def test_cashier_closes_his_drawer_and_sees_only_his_closes(client_as, receptionist, manager, receipt, main_branch):
    client = client_as(receptionist)
    page = client.get(reverse("admin:core_receipt_cash_close")).content.decode()
    assert "150.00" in page
    response = client.post(reverse("admin:core_receipt_cash_close"), {"counted": "140"})
    assert response.status_code == 302
    close = CashClose.objects.get()
    assert (close.expected, close.difference) == (Decimal("150.00"), Decimal("-10.00"))
    other_close = CashClose.objects.create(
        cashier=manager,
        branch=main_branch,
        period_start=close.period_start,
        period_end=close.period_end,
        expected=Decimal("0"),
        counted=Decimal("0"),
        difference=Decimal("0"),
    )
    own_list = client.get(reverse("admin:core_cashclose_changelist"))
    assert list(own_list.context["cl"].queryset) == [close]
    all_list = client_as(manager).get(reverse("admin:core_cashclose_changelist"))
    assert set(all_list.context["cl"].queryset) == {close, other_close}


# --- settlements ---------------------------------------------------------------------------------------


@pytest.fixture
def teachers_settlements(main_branch, teacher_user, receptionist, accountant):
    mine = make_teacher(user=teacher_user)
    other = make_teacher()
    for teacher in (mine, other):
        group = make_group(main_branch, teacher=teacher)
        student = make_student(main_branch)
        enrollment_create(actor=None, student=student, group=group, start_date=datetime.date(2026, 9, 1))
    return (
        settlement_run(teacher=mine, month=NOVEMBER, actor=accountant),
        settlement_run(teacher=other, month=NOVEMBER, actor=accountant),
    )


def test_teacher_sees_only_his_statements(client_as, teacher_user, teachers_settlements):
    mine, other = teachers_settlements
    client = client_as(teacher_user)
    listing = client.get(reverse("admin:core_settlement_changelist"))
    assert list(listing.context["cl"].queryset) == [mine]
    assert client.get(reverse("admin:core_settlement_print", args=[mine.pk])).status_code == 200
    assert client.get(reverse("admin:core_settlement_print", args=[other.pk])).status_code == 404
    assert client.get(reverse("admin:core_settlement_change", args=[other.pk])).status_code == 302  # "not found"
    assert client.get(reverse("admin:core_settlement_approve", args=[mine.pk])).status_code == 403


def test_statement_prints_in_arabic_under_the_strict_policy(client_as, accountant, teachers_settlements):
    response = client_as(accountant).get(reverse("admin:core_settlement_print", args=[teachers_settlements[0].pk]))
    assert parse_csp(response["Content-Security-Policy"]) == STRICT_POLICY
    assert 'dir="rtl"' in response.content.decode()


def test_owner_approves_and_a_paid_one_cannot_be_approved(client_as, owner, accountant, teachers_settlements):
    settlement = teachers_settlements[0]
    url = reverse("admin:core_settlement_approve", args=[settlement.pk])
    assert client_as(accountant).post(url).status_code == 403
    client = client_as(owner)
    assert client.get(url).status_code == 200  # the confirmation
    client.post(url, follow=True)
    settlement.refresh_from_db()
    assert settlement.status == Settlement.Status.APPROVED
    settlement_pay(settlement=settlement, actor=owner, paid_on=datetime.date(2026, 12, 5), method="cash")
    audits = AuditLog.objects.count()
    response = client.post(url, follow=True)
    assert [m.level_tag for m in response.context["messages"]] == ["error"]
    settlement.refresh_from_db()
    assert settlement.status == Settlement.Status.PAID and AuditLog.objects.count() == audits


def test_run_a_whole_month_in_the_background(
    client_as, accountant, teachers_settlements, django_capture_on_commit_callbacks
):
    client = client_as(accountant)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:core_settlement_run_month"), {"month": "2026-11"})
    run = SettlementRun.objects.get()
    assert response["Location"] == reverse("admin:core_settlement_run", args=[run.pk])
    page = client.get(response["Location"]).content.decode()
    run.refresh_from_db()
    assert run.status == SettlementRun.Status.DONE and run.teachers_done == run.teachers_total == 2
    assert "100" in page


def test_settlement_report_shows_the_center_margin(client_as, owner, receptionist, accountant, main_branch):
    teacher = make_teacher()
    group = make_group(main_branch, teacher=teacher, pay_rate="70")
    student = make_student(main_branch)
    enrollment_create(actor=None, student=student, group=group, start_date=datetime.date(2026, 9, 1))
    receipt = payment_record(student=student, cashier=receptionist, amount="1000")
    month = receipt.date.replace(day=1)
    after_the_month = timezone.now() + datetime.timedelta(days=32)
    settlement = settlement_run(teacher=teacher, month=month, actor=accountant)
    settlement_approve(settlement=settlement, actor=owner, now=after_the_month)
    response = client_as(accountant).get(reverse("admin:core_settlement_report"), {"month": f"{month:%Y-%m}"})
    row = response.context["rows"][0]
    assert (row["collected"], row["amount"], row["margin"]) == (
        Decimal("1000.00"),
        Decimal("700.00"),
        Decimal("300.00"),
    )


# --- reports ---------------------------------------------------------------------------------------------


def _defaulters(client, count):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("admin:core_receipt_defaulters"))
    assert response.status_code == 200
    assert len(response.context["rows"]) == count
    return len(queries)


def test_defaulters_report_has_a_fixed_query_count(client_as, accountant, main_branch, group):
    def owing_students(count):
        for _ in range(count):
            student = make_student(main_branch)
            enrollment = enrollment_create(
                actor=None, student=student, group=group, start_date=datetime.date(2026, 9, 1)
            )
            LedgerEntry.objects.create(
                enrollment=enrollment, entry_type=EntryType.CHARGE, amount=Decimal("200"), date=NOVEMBER, source="x"
            )

    client = client_as(accountant)
    owing_students(3)
    _defaulters(client, 3)  # the first request of a session also saves the session
    few = _defaulters(client, 3)
    owing_students(12)
    many = _defaulters(client, 15)
    assert few == many
    page = client.get(reverse("admin:core_receipt_defaulters")).content.decode()
    assert "https://wa.me/20" in page


def test_defaulters_filter_by_a_group_typed_not_listed(client_as, accountant, main_branch, group):
    """The group is picked with the admin's autocomplete: the page carries only the chosen group, a
    group of another branch is ignored (all groups shown), and the rows are that group's debtors."""
    from tests.factories import make_branch, make_group

    other_group = make_group(main_branch)
    elsewhere = make_group(make_branch())
    owing = {}
    for target in (group, other_group):
        student = make_student(main_branch)
        enrollment = enrollment_create(actor=None, student=student, group=target, start_date=datetime.date(2026, 9, 1))
        LedgerEntry.objects.create(
            enrollment=enrollment, entry_type=EntryType.CHARGE, amount=Decimal("200"), date=NOVEMBER, source="x"
        )
        owing[target.pk] = student
    client = client_as(accountant)
    url = reverse("admin:core_receipt_defaulters")
    page = client.get(url).content.decode()
    assert other_group.name not in page and "admin-autocomplete" in page
    response = client.get(url, {"group": group.pk})
    assert [student.pk for student in response.context["rows"]] == [owing[group.pk].pk]
    assert f'<option value="{group.pk}" selected>' in response.content.decode()
    assert f"export=xlsx&amp;group={group.pk}" in response.content.decode()
    response = client.get(url, {"group": elsewhere.pk})
    assert len(response.context["rows"]) == 2 and response.context["group_id"] == ""


def test_collections_by_method_and_cashier_exclude_voids(client_as, accountant, receptionist, student):
    payment_record(student=student, cashier=receptionist, amount="100")
    payment_record(student=student, cashier=receptionist, amount="40", method="instapay")
    voided = payment_record(student=student, cashier=receptionist, amount="999")
    from core.services.payments import payment_void

    payment_void(receipt=voided, actor=accountant, reason="typo")
    response = client_as(accountant).get(reverse("admin:core_receipt_collections"))
    assert response.context["total"] == Decimal("140.00")
    assert {row["method"] for row in response.context["rows"]} == {"cash", "instapay"}


@pytest.mark.parametrize(
    ("role", "permission", "held"),
    [
        ("receptionist", "core.record_payment", True),
        ("receptionist", "core.add_cashclose", True),
        ("receptionist", "core.void_receipt", False),
        ("receptionist", "core.view_settlement", False),
        ("receptionist", "core.view_money_reports", False),
        ("accountant", "core.void_receipt", True),
        ("accountant", "core.run_settlement", True),
        ("accountant", "core.approve_settlement", False),
        ("accountant", "core.record_payment", False),
        ("manager", "core.record_payment", True),
        ("manager", "core.void_receipt", True),
        ("manager", "core.approve_settlement", False),
        ("owner", "core.approve_settlement", True),
        ("supervisor", "core.view_receipt", False),
        ("supervisor", "core.record_payment", False),
        ("teacher_user", "core.view_settlement", True),
        ("teacher_user", "core.run_settlement", False),
        ("teacher_user", "core.view_receipt", False),
    ],
)
def test_money_permissions_per_role(db, request, role, permission, held):
    user = request.getfixturevalue(role)
    assert user.has_perm(permission) is held


def test_receipt_list_query_count_does_not_grow(client_as, accountant, receptionist, student):
    client = client_as(accountant)
    payment_record(student=student, cashier=receptionist, amount="10")
    client.get(reverse("admin:core_receipt_changelist"))
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("admin:core_receipt_changelist")).status_code == 200
    for _ in range(10):  # ten real payments of the same amount, each confirmed at the desk
        payment_record(student=student, cashier=receptionist, amount="10", confirm_repeat=True)
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("admin:core_receipt_changelist"))
    assert len(many) == len(few)


def test_accountant_sees_the_students_money_and_grants_a_discount(client_as, accountant, student):
    client = client_as(accountant)
    page = client.get(record_url(student))
    assert page.status_code == 200 and not page.context["can_take"]
    assert 'id="money-pay"' not in page.content.decode()
    refused = client.post(record_url(student), {"amount": "10", "method": "cash", "idempotency_key": "a"})
    assert refused.status_code == 403 and not Receipt.objects.exists()
    enrollment = student.enrollments.get()
    url = reverse("admin:core_receipt_discount", args=[enrollment.pk])
    assert client.post(url, {"amount": "50", "reason": ""}).status_code == 200  # reason required
    assert client.post(url, {"amount": "50", "reason": "sibling"}).status_code == 302
    assert LedgerEntry.objects.get(entry_type=EntryType.DISCOUNT).note == "sibling"


def test_receptionist_cannot_grant_discounts(client_as, receptionist, student):
    url = reverse("admin:core_receipt_discount", args=[student.enrollments.get().pk])
    assert client_as(receptionist).post(url, {"amount": "50", "reason": "x"}).status_code == 403
    assert not LedgerEntry.objects.filter(entry_type=EntryType.DISCOUNT).exists()


def test_prints_need_the_view_permission(
    client_as, receptionist, supervisor, teacher_user, receipt, teachers_settlements
):
    receipt_url = reverse("admin:core_receipt_print", args=[receipt.pk])
    statement_url = reverse("admin:core_settlement_print", args=[teachers_settlements[1].pk])
    assert client_as(supervisor).get(receipt_url).status_code == 403
    assert client_as(teacher_user).get(receipt_url).status_code == 403
    assert client_as(receptionist).get(statement_url).status_code == 403
    assert client_as(supervisor).get(statement_url).status_code == 403
    receipt.refresh_from_db()
    assert receipt.print_count == 0


def test_the_sidebar_offers_money_by_role(client_as, receptionist, accountant, supervisor):
    cashier = reverse("admin:core_receipt_cashier")
    settlements_list = reverse("admin:core_settlement_changelist")
    reception_page = client_as(receptionist).get(reverse("admin:index")).content.decode()
    assert cashier in reception_page and settlements_list not in reception_page
    accountant_page = client_as(accountant).get(reverse("admin:index")).content.decode()
    assert settlements_list in accountant_page and cashier not in accountant_page
    door_page = client_as(supervisor).get(reverse("admin:index")).content.decode()
    assert cashier not in door_page and settlements_list not in door_page


def test_a_reprint_shows_the_balance_right_after_that_receipt(client_as, receptionist, student, receipt):
    """QA: a reprinted receipt showed today's balance, not the one printed the first time."""
    url = reverse("admin:core_receipt_print", args=[receipt.pk])
    first = client_as(receptionist).get(url).context["balance"]
    assert first == Decimal("-50.00")  # owed 200, paid 150
    payment_record(student=student, cashier=receptionist, amount="50")  # a later payment
    assert client_as(receptionist).get(url).context["balance"] == first


def test_opening_a_receipt_is_not_printing_it(client_as, receptionist, receipt):
    """Only the browser's print (it posts to 'printed') makes the next view a COPY."""
    client = client_as(receptionist)
    url = reverse("admin:core_receipt_print", args=[receipt.pk])
    printed = reverse("admin:core_receipt_printed", args=[receipt.pk])
    assert client.get(url).context["is_copy"] is False
    assert client.get(url + "?layout=a5").context["is_copy"] is False  # switching layout
    assert client.get(printed).status_code == 405
    assert client.post(printed).status_code == 204
    receipt.refresh_from_db()
    assert receipt.print_count == 1
    assert client.get(url).context["is_copy"] is True


def test_counting_a_print_needs_the_view_permission(client_as, supervisor, receipt):
    printed = reverse("admin:core_receipt_printed", args=[receipt.pk])
    assert client_as(supervisor).post(printed).status_code == 403
    receipt.refresh_from_db()
    assert receipt.print_count == 0


def test_the_cashier_sees_what_the_door_will_ask(client_as, receptionist, main_branch):
    """QA: the door refused a new student while the cashier showed 0.00 owed for him."""
    from core.models import FeePeriod

    group = make_group(main_branch, fee="225.00", fee_period=FeePeriod.MONTH)
    student = make_student(main_branch)
    enrollment_create(actor=None, student=student, group=group, start_date=datetime.date(2026, 9, 1))
    page = client_as(receptionist).get(record_url(student))
    ((row, _field),) = page.context["rows"]
    assert (row.owed, row.with_next_class) == (Decimal("0.00"), Decimal("225.00"))
    payment_record(student=student, cashier=receptionist, amount="225")
    ((row, _field),) = client_as(receptionist).get(record_url(student)).context["rows"]
    assert row.with_next_class == Decimal("0.00")


def test_approve_button_says_the_month_has_not_ended_yet(client_as, owner, accountant, main_branch):
    teacher = make_teacher()
    make_group(main_branch, teacher=teacher)
    this_month = timezone.localdate().replace(day=1)
    settlement = settlement_run(teacher=teacher, month=this_month, actor=accountant)
    client = client_as(owner)
    with translation.override("ar"):
        why = settlement_approval_blocker(settlement)
        confirm = translation.gettext("Yes, I'm sure")
    page = client.get(reverse("admin:core_settlement_approve", args=[settlement.pk])).content.decode()
    assert why in page and 'class="money-blocked"' in page and confirm not in page
    change = client.get(reverse("admin:core_settlement_change", args=[settlement.pk])).content.decode()
    assert why in change
    response = client.post(reverse("admin:core_settlement_approve", args=[settlement.pk]), follow=True)
    assert [m.level_tag for m in response.context["messages"]] == ["error"]
    settlement.refresh_from_db()
    assert settlement.status == Settlement.Status.DRAFT


# --- what the desk shows and takes (issue 11: items 3, 8, 9) -------------------------------------------


def _balance_cell(page: str) -> str:
    """The text of the receipt's balance cell."""
    row = page.split('class="receipt-balance"', 1)[1].split("</tr>", 1)[0]
    return row.split("<bdi>", 1)[1].split("</bdi>", 1)[0]


def test_receipt_writes_a_credit_as_credit(client_as, receptionist, accountant, student):
    """Issue 11.9: a credit printed as "new balance 225.00" and, after a void, "-225.00"."""
    receipt = payment_record(student=student, cashier=receptionist, amount="425")  # owed 200
    client = client_as(receptionist)
    url = reverse("admin:core_receipt_print", args=[receipt.pk])
    for layout in ("a5", "thermal"):
        cell = _balance_cell(client.get(f"{url}?layout={layout}").content.decode())
        assert cell == "له 225.00"
    payment_void(receipt=receipt, actor=accountant, reason="wrong amount")
    cell = _balance_cell(client.get(url).content.decode())
    assert cell == "عليه 200.00"


def test_a_settled_balance_reads_nothing_owed(client_as, receptionist, student):
    receipt = payment_record(student=student, cashier=receptionist, amount="200")
    page = client_as(receptionist).get(reverse("admin:core_receipt_print", args=[receipt.pk])).content.decode()
    assert _balance_cell(page) == "لا توجد مستحقات"


def test_cashier_opens_with_the_amount_the_door_asks(client_as, receptionist, main_branch):
    """Issue 11.8: the door sent a new student to the office; the amount box was empty."""
    from core.models import FeePeriod

    group = make_group(main_branch, fee="225.00", fee_period=FeePeriod.MONTH)
    student = make_student(main_branch)
    enrollment_create(actor=None, student=student, group=group, start_date=datetime.date(2026, 9, 1))
    response = client_as(receptionist).get(record_url(student))
    assert response.context["form"]["amount"].value() == Decimal("225.00")
    assert 'name="amount" value="225.00"' in response.content.decode()
    # Paying what is filled in lets him in: the next visit to the desk asks nothing.
    payment_record(student=student, cashier=receptionist, amount="225.00")
    again = client_as(receptionist).get(record_url(student))
    assert again.context["form"]["amount"].value() is None


def test_cashier_lists_debt_on_an_ended_enrollment_and_fills_it_in(client_as, receptionist, main_branch):
    """Issue 11.3/11.8: the old group's debt is listed, labelled ended, and taken first."""
    from core.models import FeePeriod
    from core.services.enrollments import enrollment_transfer

    old = make_group(main_branch, fee="150.00", fee_period=FeePeriod.SESSION)
    new = make_group(main_branch, fee="100.00", fee_period=FeePeriod.SESSION)
    student = make_student(main_branch)
    first = enrollment_create(actor=None, student=student, group=old, start_date=datetime.date(2026, 9, 1))
    for entry_type, amount in [("payment", "150"), ("charge", "150"), ("charge", "150")]:
        LedgerEntry.objects.create(
            enrollment=first, entry_type=entry_type, amount=Decimal(amount), date=NOVEMBER, source="x"
        )
    second = enrollment_transfer(actor=None, enrollment=first, to_group=new, on_date=NOVEMBER)
    for _ in range(2):  # two unpaid sessions: the door refuses the third, asking 300.00
        LedgerEntry.objects.create(
            enrollment=second, entry_type="charge", amount=Decimal("100"), date=NOVEMBER, source="x"
        )
    response = client_as(receptionist).get(record_url(student))
    rows = {row.pk: row for row, _field in response.context["rows"]}
    assert set(rows) == {first.pk, second.pk}
    assert (rows[first.pk].owed, rows[first.pk].with_next_class) == (Decimal("150.00"), None)
    assert rows[second.pk].with_next_class == Decimal("300.00")
    assert response.context["form"]["amount"].value() == Decimal("450.00")  # 150 ended + 300 the door asks
    page = response.content.decode()
    assert "data-ended" in page and old.name in page
    assert "الرصيد: <strong>عليه 350.00</strong>" in page  # the total in words
    client_as(receptionist).post(
        record_url(student), {"amount": "450.00", "method": "cash", "layout": "a5", "idempotency_key": "k-450"}
    )
    lines = dict(Receipt.objects.get().entries.values_list("enrollment_id", "amount"))
    assert lines == {first.pk: Decimal("150.00"), second.pk: Decimal("300.00")}


def test_defaulters_and_the_cashier_search_write_what_is_owed_in_words(client_as, accountant, receptionist, student):
    page = client_as(accountant).get(reverse("admin:core_receipt_defaulters")).content.decode()
    assert "عليه 200.00" in page
    found = client_as(receptionist).get(reverse("admin:core_receipt_cashier"), {"q": student.full_name})
    assert "عليه 200.00" in found.content.decode()


def test_student_page_writes_each_groups_balance_in_words_for_the_office_only(
    client_as, receptionist, supervisor, student
):
    url = reverse("admin:core_student_change", args=[student.pk])
    office = client_as(receptionist).get(url)
    assert office.status_code == 200 and "عليه 200.00" in office.content.decode()
    door = client_as(supervisor).get(url)
    assert door.status_code == 200 and "عليه 200.00" not in door.content.decode()
