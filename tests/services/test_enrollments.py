"""Enrollments: fee plans, capacity, one active per group, transfers and ends."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from core.models import AuditLog, Enrollment, FeePlan
from core.services.enrollments import enrollment_change_plan, enrollment_create, enrollment_end, enrollment_transfer
from tests.factories import make_group, make_student


@pytest.fixture
def group(main_branch):
    return make_group(main_branch, fee="250.00", capacity=2)


@pytest.fixture
def student(main_branch):
    return make_student(main_branch)


def test_normal_enrollment_costs_the_group_fee(student, group, receptionist):
    enrollment = enrollment_create(actor=receptionist, student=student, group=group)
    assert enrollment.price == Decimal("250.00")
    assert AuditLog.objects.filter(model="core.enrollment", action=AuditLog.Action.CREATE).exists()


def test_reduced_plan_needs_fee_and_reason(student, group):
    with pytest.raises(ValidationError) as error:
        enrollment_create(actor=None, student=student, group=group, fee_plan=FeePlan.REDUCED, custom_fee="100")
    assert "fee_reason" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        enrollment_create(actor=None, student=student, group=group, fee_plan=FeePlan.REDUCED, fee_reason="أيتام")
    assert "custom_fee" in error.value.message_dict
    enrollment = enrollment_create(
        actor=None, student=student, group=group, fee_plan=FeePlan.REDUCED, custom_fee="150.5", fee_reason="أخوة"
    )
    assert enrollment.price == Decimal("150.50")


@pytest.mark.parametrize("bad_fee", ["-1", "abc", "10.555", "NaN", "1e9"])
def test_reduced_fee_must_be_sane_money(student, group, bad_fee):
    with pytest.raises(ValidationError) as error:
        enrollment_create(
            actor=None, student=student, group=group, fee_plan=FeePlan.REDUCED, custom_fee=bad_fee, fee_reason="x"
        )
    assert "custom_fee" in error.value.message_dict
    assert not Enrollment.objects.exists()


def test_exempt_needs_a_reason_and_costs_nothing(student, group):
    with pytest.raises(ValidationError):
        enrollment_create(actor=None, student=student, group=group, fee_plan=FeePlan.EXEMPT)
    enrollment = enrollment_create(
        actor=None, student=student, group=group, fee_plan=FeePlan.EXEMPT, fee_reason="ابن موظف"
    )
    assert enrollment.price == Decimal("0.00")


def test_duplicate_active_enrollment_is_refused(student, group):
    enrollment_create(actor=None, student=student, group=group)
    with pytest.raises(ValidationError) as error:
        enrollment_create(actor=None, student=student, group=group)
    assert "group" in error.value.message_dict
    assert Enrollment.objects.count() == 1


def test_full_group_is_refused(main_branch, group):
    for _index in range(2):
        enrollment_create(actor=None, student=make_student(main_branch), group=group)
    with pytest.raises(ValidationError) as error:
        enrollment_create(actor=None, student=make_student(main_branch), group=group)
    assert group.code in error.value.message_dict["group"][0]
    assert Enrollment.objects.filter(group=group).count() == 2


def test_ended_enrollment_frees_the_seat_and_allows_re_enrolling(student, group):
    enrollment = enrollment_create(actor=None, student=student, group=group, start_date=datetime.date(2026, 9, 1))
    enrollment_end(actor=None, enrollment=enrollment, on_date=datetime.date(2026, 10, 1), reason="سافر")
    enrollment.refresh_from_db()
    assert not enrollment.is_active and enrollment.end_date == datetime.date(2026, 10, 1)
    again = enrollment_create(actor=None, student=student, group=group)
    assert again.is_active
    with pytest.raises(ValidationError):
        enrollment_end(actor=None, enrollment=enrollment)


def test_end_before_start_is_refused(student, group):
    enrollment = enrollment_create(actor=None, student=student, group=group, start_date=datetime.date(2026, 9, 1))
    with pytest.raises(ValidationError) as error:
        enrollment_end(actor=None, enrollment=enrollment, on_date=datetime.date(2026, 8, 1))
    assert "end_date" in error.value.message_dict


def test_transfer_closes_one_and_opens_another_with_the_same_plan(main_branch, student, group, manager):
    enrollment = enrollment_create(
        actor=None,
        student=student,
        group=group,
        fee_plan=FeePlan.REDUCED,
        custom_fee="100",
        fee_reason="أخوة",
        start_date=datetime.date(2026, 9, 1),
    )
    target = make_group(main_branch, code="PHY-3")
    new = enrollment_transfer(actor=manager, enrollment=enrollment, to_group=target, on_date=datetime.date(2026, 11, 1))
    enrollment.refresh_from_db()
    assert not enrollment.is_active and enrollment.end_date == datetime.date(2026, 11, 1)
    assert new.group == target and new.fee_plan == FeePlan.REDUCED and new.custom_fee == Decimal("100.00")
    assert AuditLog.objects.filter(action=AuditLog.Action.TRANSFER, actor=manager).exists()


def test_transfer_into_a_full_group_changes_nothing(main_branch, student, group):
    enrollment = enrollment_create(actor=None, student=student, group=group)
    full = make_group(main_branch, capacity=1)
    enrollment_create(actor=None, student=make_student(main_branch), group=full)
    with pytest.raises(ValidationError):
        enrollment_transfer(actor=None, enrollment=enrollment, to_group=full)
    enrollment.refresh_from_db()
    assert enrollment.is_active


def test_change_plan_is_audited_with_reason(student, group, manager):
    enrollment = enrollment_create(actor=None, student=student, group=group)
    enrollment_change_plan(actor=manager, enrollment=enrollment, fee_plan=FeePlan.EXEMPT, fee_reason="منحة تفوق")
    enrollment.refresh_from_db()
    assert enrollment.fee_plan == FeePlan.EXEMPT
    entry = AuditLog.objects.get(action=AuditLog.Action.UPDATE, model="core.enrollment")
    assert entry.changes["fee_plan"] == ["normal", "exempt"] and entry.reason == "منحة تفوق"


def test_inactive_group_or_student_cannot_be_enrolled(main_branch, student, group):
    group.is_active = False
    group.save()
    with pytest.raises(ValidationError):
        enrollment_create(actor=None, student=student, group=group)
