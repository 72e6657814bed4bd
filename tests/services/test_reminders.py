"""Payment reminders (R11): who is reminded, one message per guardian and day."""

import datetime
from decimal import Decimal

import pytest

from core.models import CenterSettings, EntryType, FeePeriod, Group, Guardian, LedgerEntry, Message
from core.ops.task_schedules import SCHEDULES
from core.services.enrollments import enrollment_create, enrollment_end, enrollment_transfer
from core.services.reminders import payment_reminders_queue
from tests.factories import make_group, make_student

TODAY = datetime.date(2026, 11, 20)


def enroll(student, group):
    return enrollment_create(actor=None, student=student, group=group, start_date=datetime.date(2026, 9, 1))


def post(enrollment, entry_type, amount):
    return LedgerEntry.objects.create(
        enrollment=enrollment, entry_type=entry_type, amount=Decimal(amount), date=TODAY, source="system"
    )


@pytest.fixture
def center(db):
    CenterSettings.load()
    CenterSettings.objects.filter(pk=1).update(unpaid_session_grace=2, messaging_enabled=False)


def test_one_reminder_per_guardian_listing_each_group(main_branch, center):
    math = make_group(main_branch, fee="200.00")
    physics = make_group(main_branch, fee="150.00")
    brother = make_student(main_branch, guardian_phone="01001112222")
    sister = make_student(main_branch, guardian_phone="01001112222")
    post(enroll(brother, math), EntryType.CHARGE, "200.00")
    post(enroll(sister, physics), EntryType.CHARGE, "150.00")
    paid_up = make_student(main_branch)
    enrollment = enroll(paid_up, math)
    post(enrollment, EntryType.CHARGE, "200.00")
    post(enrollment, EntryType.PAYMENT, "200.00")
    assert payment_reminders_queue(today=TODAY) == 1
    message = Message.objects.get(template_key="payment_reminder")
    assert "350.00" in message.body
    assert math.name in message.body and physics.name in message.body
    # The job running again the same day sends nothing new; the next day it reminds again.
    payment_reminders_queue(today=TODAY)
    assert Message.objects.filter(template_key="payment_reminder").count() == 1
    payment_reminders_queue(today=TODAY + datetime.timedelta(days=1))
    assert Message.objects.filter(template_key="payment_reminder").count() == 2


def test_session_groups_are_reminded_only_when_the_next_scan_is_refused(main_branch, center):
    group = make_group(main_branch, fee="50.00", fee_period=FeePeriod.SESSION)
    one_unpaid = make_student(main_branch)
    enrollment = enroll(one_unpaid, group)
    post(enrollment, EntryType.PAYMENT, "50.00")
    post(enrollment, EntryType.CHARGE, "50.00")
    post(enrollment, EntryType.CHARGE, "50.00")  # owes one session: the next is the second, admitted
    assert payment_reminders_queue(today=TODAY) == 0
    post(enrollment, EntryType.CHARGE, "50.00")  # owes two: the next scan would be the third, refused
    assert payment_reminders_queue(today=TODAY) == 1


def test_reminders_run_daily_at_six_in_the_evening():
    entry = next(entry for entry in SCHEDULES if entry.func == "core.tasks.payment_reminders_send")
    assert entry.at == datetime.time(18, 0)


def test_the_task_entry_point_queues_todays_reminders(main_branch, center):
    from core import tasks

    group = make_group(main_branch, fee="200.00")
    post(enroll(make_student(main_branch), group), EntryType.CHARGE, "200.00")
    tasks.payment_reminders_send()
    tasks.payment_reminders_send()
    assert Message.objects.filter(template_key="payment_reminder").count() == 1


def test_exempt_enrollments_are_not_reminded(main_branch, center):
    group = make_group(main_branch, fee="200.00")
    exempt = enrollment_create(
        actor=None,
        student=make_student(main_branch),
        group=group,
        fee_plan="exempt",
        fee_reason="orphan",
        start_date=datetime.date(2026, 9, 1),
    )
    post(exempt, EntryType.CHARGE, "200.00")
    assert payment_reminders_queue(today=TODAY) == 0


def test_reminder_lists_debt_on_an_ended_enrollment(main_branch, center):
    """Issue 11.4: a debt left on a transferred enrollment was never reminded."""
    old = make_group(main_branch, fee="200.00")
    new = make_group(main_branch, fee="150.00")
    student = make_student(main_branch)
    first = enroll(student, old)
    post(first, EntryType.CHARGE, "200.00")
    enrollment_transfer(actor=None, enrollment=first, to_group=new, on_date=TODAY)
    assert payment_reminders_queue(today=TODAY) == 1
    message = Message.objects.get(template_key="payment_reminder")
    assert old.name in message.body and "200.00" in message.body
    assert f"{old.name} (اشتراك منتهٍ): عليه 200.00 جنيه" in message.body  # named as ended, in words
    assert new.name not in message.body  # the new group owes nothing


def test_reminder_lists_the_ended_debt_in_the_guardians_language_with_words(main_branch, center):
    group = make_group(main_branch, fee="200.00")
    student = make_student(main_branch)
    Guardian.objects.filter(students=student).update(language="en")
    enrollment = enroll(student, group)
    post(enrollment, EntryType.CHARGE, "200.00")
    post(enrollment, EntryType.PAYMENT, "50.00")
    enrollment_end(actor=None, enrollment=enrollment, on_date=TODAY)
    Group.objects.filter(pk=group.pk).update(is_active=False)  # the old group closed since
    assert payment_reminders_queue(today=TODAY) == 1
    body = Message.objects.get(template_key="payment_reminder").body
    assert f"{group.name} (ended): owes 150.00 EGP" in body


def test_a_student_who_owes_nothing_is_never_reminded(main_branch, center):
    group = make_group(main_branch, fee="200.00")
    student = make_student(main_branch)
    ended = enroll(student, group)
    post(ended, EntryType.CHARGE, "200.00")
    post(ended, EntryType.PAYMENT, "200.00")
    enrollment_end(actor=None, enrollment=ended, on_date=TODAY)
    post(enroll(student, make_group(main_branch)), EntryType.PAYMENT, "100.00")  # credit, no debt
    assert payment_reminders_queue(today=TODAY) == 0
