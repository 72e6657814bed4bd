"""The front desk on the student pages (issue 14): the branch filled in, only the user's branches
and groups offered, messages that name the student, and the student page as the desk's home."""

import re
from decimal import Decimal

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.messages import get_messages
from django.urls import reverse

from core.models import Enrollment, Student
from core.services.enrollments import enrollment_create
from core.services.payments import payment_record
from tests.conftest import make_staff
from tests.factories import make_branch, make_group, make_student

pytestmark = pytest.mark.django_db

ADD_URL = "/admin/core/student/add/"


def new_student(branch_pk="", **overrides):
    data = {
        "code": "",
        "full_name": "سارة علي",
        "phone": "",
        "branch": branch_pk,
        "gender": "female",
        "grade": "s1",
        "school": "",
        "notes": "",
        "guardian_name": "علي حسن",
        "guardian_phone": "01005556667",
        "guardian_relation": "father",
        "second_guardian_name": "",
        "second_guardian_phone": "",
        "enroll_group": "",
        "fee_plan": "normal",
        "custom_fee": "",
        "fee_reason": "",
    }
    data.update(overrides)
    return data


def branch_choices(response) -> list[str]:
    field = response.context["adminform"].form.fields["branch"]
    return [str(value) for value, _label in field.choices if value]


def test_one_branch_receptionist_finds_his_branch_filled_in(client_as, receptionist, main_branch):
    make_branch()  # another branch he does not work in
    response = client_as(receptionist).get(ADD_URL)
    form = response.context["adminform"].form
    assert form.initial["branch"] == main_branch.pk
    assert branch_choices(response) == [str(main_branch.pk)]


def test_branch_outside_the_users_branches_is_refused(client_as, receptionist, main_branch):
    other = make_branch()
    response = client_as(receptionist).post(ADD_URL, new_student(other.pk))
    assert response.status_code == 200
    assert "branch" in response.context["adminform"].form.errors
    assert not Student.objects.exists()


def test_success_message_and_recent_actions_name_the_student_and_code(client_as, receptionist, main_branch):
    client = client_as(receptionist)
    response = client.post(ADD_URL, new_student(main_branch.pk))
    assert response.status_code == 302
    student = Student.objects.get()
    texts = [str(message) for message in get_messages(response.wsgi_request)]
    assert any(f"سارة علي ({student.code})" in text for text in texts), texts
    assert not any("()" in text for text in texts), texts
    entry = LogEntry.objects.get(object_id=str(student.pk))
    assert entry.object_repr == f"سارة علي ({student.code})"


def test_multi_branch_user_gets_his_last_branch_again(client_as, manager, main_branch):
    second = make_branch()
    manager.branches.add(second)
    client = client_as(manager)
    assert "branch" not in client.get(ADD_URL).context["adminform"].form.initial
    assert client.post(ADD_URL, new_student(second.pk)).status_code == 302
    response = client.get(ADD_URL)
    assert response.context["adminform"].form.initial["branch"] == second.pk
    assert sorted(branch_choices(response)) == sorted([str(main_branch.pk), str(second.pk)])


def test_group_picker_offers_only_the_users_branches_groups_named_with_the_branch(client_as, receptionist, main_branch):
    mine = make_group(main_branch, code="M1")
    theirs = make_group(make_branch(), code="T1")
    response = client_as(receptionist).get(ADD_URL)
    field = response.context["adminform"].form.fields["enroll_group"]
    labels = {str(value): label for value, label in field.choices if value}
    assert list(labels) == [str(mine.pk)]
    assert labels[str(mine.pk)] == f"{mine} — {main_branch}"
    assert str(theirs.pk) not in labels


def test_transfer_offers_only_the_users_branches_groups(client_as, receptionist, main_branch):
    here, there = make_group(main_branch, code="H1"), make_group(main_branch, code="H2")
    away = make_group(make_branch(), code="A1")
    student = make_student(main_branch)
    enrollment = enrollment_create(actor=None, student=student, group=here)
    response = client_as(receptionist).post(
        "/admin/core/enrollment/",
        {"action": "transfer_enrollments", "_selected_action": [enrollment.pk]},
    )
    choices = [str(value) for value, _label in response.context["form"].fields["to_group"].choices if value]
    assert str(there.pk) in choices and str(here.pk) in choices
    assert str(away.pk) not in choices
    refused = client_as(receptionist).post(
        "/admin/core/enrollment/",
        {"action": "transfer_enrollments", "_selected_action": [enrollment.pk], "apply": "1", "to_group": away.pk},
    )
    assert refused.status_code == 200  # the form again, with the error
    assert Enrollment.objects.get(pk=enrollment.pk).is_active


def test_student_page_shows_balance_and_the_desks_buttons(client_as, receptionist, main_branch):
    group = make_group(main_branch, fee="300.00")
    student = make_student(main_branch)
    enrollment_create(actor=None, student=student, group=group)
    receipt = payment_record(student=student, cashier=receptionist, amount=Decimal("100"))
    page = client_as(receptionist).get(reverse("admin:core_student_change", args=[student.pk]))
    html = page.content.decode()
    desk = re.search(r"<div class=\"desk-bar\".*?</div>\s*</div>", html, re.S).group(0)
    assert "data-balance" in desk
    # Record payment is unfold's button at the top of the same page.
    assert reverse("admin:core_student_record_payment", args=[student.pk]) in html
    assert f"/admin/print/cards/students/?ids={student.pk}" in desk or f"ids={student.pk}" in desk
    assert reverse("admin:core_receipt_print", args=[receipt.pk]) in desk


def test_door_supervisor_sees_no_balance_or_money_buttons_on_the_student_page(client_as, supervisor, main_branch):
    student = make_student(main_branch)
    html = client_as(supervisor).get(reverse("admin:core_student_change", args=[student.pk])).content.decode()
    assert "data-balance" not in html
    assert reverse("admin:core_student_record_payment", args=[student.pk]) not in html
    assert 'data-desk="receipt"' not in html


def test_teacher_account_in_no_office_role_never_gets_the_student_page(client_as, teacher_user, main_branch):
    student = make_student(main_branch)
    response = client_as(teacher_user).get(reverse("admin:core_student_change", args=[student.pk]))
    assert response.status_code in (302, 403)


def test_staff_without_any_branch_cannot_save_a_student(client_as, main_branch):
    from core.access.roles import Role

    loose = make_staff("desk-no-branch", Role.RECEPTIONIST, None)
    response = client_as(loose).post(ADD_URL, new_student(main_branch.pk))
    assert response.status_code == 200
    assert not Student.objects.exists()
