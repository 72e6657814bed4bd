"""Door messages agree with the student's gender in Arabic (issue 14): ابنكم/ابنتكم, حضر/حضرت."""

import datetime
from decimal import Decimal

import pytest

from core.models import EntryType, FeePeriod, LedgerEntry, Message, MessageTemplate, Session, Student
from core.services.enrollments import enrollment_create
from core.services.messaging import message_template_save
from core.services.scanning import scan_process
from tests.factories import CAIRO, make_group, make_room, make_student

pytestmark = pytest.mark.django_db

START = datetime.datetime(2026, 11, 26, 16, 0, tzinfo=CAIRO)


@pytest.fixture
def group(main_branch):
    room = make_room(main_branch)
    group = make_group(main_branch, fee="200.00", fee_period=FeePeriod.MONTH, room=room)
    Session.objects.create(
        group=group, date=START.date(), starts_at=START, ends_at=START + datetime.timedelta(hours=2), room=room
    )
    return group


def paid(student, group):
    enrollment = enrollment_create(actor=None, student=student, group=group, start_date=datetime.date(2026, 9, 1))
    LedgerEntry.objects.create(
        enrollment=enrollment, entry_type=EntryType.PAYMENT, amount=Decimal("200"), date=START.date(), source="desk"
    )
    return student


def edit_template(**texts):
    """A center edits its arrived text in the admin (the service validates and bumps updated_at)."""
    template = MessageTemplate.objects.get(key="arrived")
    for name, text in texts.items():
        setattr(template, name, text)
    message_template_save(actor=None, template=template)


def test_a_daughter_arriving_is_told_with_feminine_words(main_branch, group):
    daughter = paid(make_student(main_branch, name="سارة علي", gender="female"), group)
    scan_process(daughter.code, at=START - datetime.timedelta(minutes=5))
    body = Message.objects.get(student=daughter, template_key="arrived").body
    assert "ابنتكم سارة علي حضرت حصة" in body


def test_a_son_arriving_late_is_told_with_masculine_words(main_branch, group):
    son = paid(make_student(main_branch, name="عمر علي"), group)
    assert Student.objects.get(pk=son.pk).gender == "male"  # the default
    scan_process(son.code, at=START + datetime.timedelta(minutes=5))
    body = Message.objects.get(student=son, template_key="arrived_late").body
    assert "ابنكم عمر علي حضر حصة" in body and "بتأخير 5 دقيقة" in body


def test_a_daughter_refused_at_a_closed_door_is_told_with_feminine_words(main_branch, group):
    daughter = paid(make_student(main_branch, name="منى حسن", gender="female"), group)
    scan_process(daughter.code, at=START + datetime.timedelta(minutes=30))
    body = Message.objects.get(student=daughter, template_key="late_refused").body
    assert "ابنتكم منى حسن" in body and "إذ حضرت الساعة" in body


def test_a_centers_own_edited_text_still_renders_unchanged(main_branch, group):
    edit_template(text_ar="وصل {student_name} إلى {group_name}.")
    daughter = paid(make_student(main_branch, name="ليلى", gender="female"), group)
    scan_process(daughter.code, at=START - datetime.timedelta(minutes=5))
    assert Message.objects.get(student=daughter).body == f"وصل ليلى إلى {group.name}."


def test_english_guardians_read_son_or_daughter(main_branch, group):
    daughter = paid(make_student(main_branch, name="Sara", gender="female"), group)
    daughter.guardians.update(language="en")
    edit_template(text_en="{child} {student_name} {attended} {group_name}.")
    scan_process(daughter.code, at=START - datetime.timedelta(minutes=5))
    assert Message.objects.get(student=daughter).body == f"your daughter Sara attended {group.name}."
