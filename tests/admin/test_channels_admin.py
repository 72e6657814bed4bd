"""The channels admin (issue 19): the replies inbox, approved templates, delivery on the outbox and
the student page, and click-to-chat links."""

import datetime
from decimal import Decimal
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse
from django.utils import timezone

from core.models import (
    AuditLog,
    Channel,
    ChannelBreaker,
    CloudTemplate,
    EntryType,
    InboundMessage,
    LedgerEntry,
    Message,
    MessageTemplate,
)
from core.selectors.click_to_chat import ChatTexts, wa_me_link
from core.services.enrollments import enrollment_create
from core.services.messaging import idempotency_key
from tests.factories import make_group, make_student

INBOX = reverse("admin:core_inboundmessage_changelist")


@pytest.fixture
def reply(main_branch):
    student = make_student(main_branch, name="أحمد محمود", guardian_phone="01001234567")
    guardian = student.guardians.get()
    row = InboundMessage.objects.create(
        provider_id="wamid.IN1", phone=guardian.phone, guardian=guardian, text="متى الحصة؟", received_at=timezone.now()
    )
    return student, row


def test_the_inbox_is_for_staff_who_may_view_it(client, client_as, reply, receptionist, supervisor):
    assert client.get(INBOX).status_code == 302  # anonymous: to the login page
    assert client_as(supervisor).get(INBOX).status_code == 403
    page = client_as(receptionist).get(INBOX)
    assert page.status_code == 200 and "متى الحصة؟" in page.content.decode()


def test_marking_replies_handled_needs_the_permission_and_is_audited(client_as, reply, receptionist, accountant):
    _student, row = reply
    post = {"action": "mark_handled", ACTION_CHECKBOX_NAME: [row.pk]}
    client_as(accountant).post(INBOX, post)  # the accountant may not even see the inbox
    row.refresh_from_db()
    assert row.handled_at is None
    client_as(receptionist).post(INBOX, post)
    row.refresh_from_db()
    assert row.handled_at is not None and row.handled_by == receptionist
    assert AuditLog.objects.filter(model="core.inboundmessage", object_id=str(row.pk), actor=receptionist).exists()


def test_an_approved_template_mapping_is_checked_on_save(client_as, owner):
    template = MessageTemplate.objects.get(key="payment_received")
    url = reverse("admin:core_cloudtemplate_add")
    form = {"template": template.pk, "language": "ar", "name": "paid", "cloud_language": "ar", "is_active": "on"}
    refused = client_as(owner).post(url, {**form, "parameters": "student_name, teacher_phone"})
    assert refused.status_code == 200 and "teacher_phone" in refused.content.decode()
    assert not CloudTemplate.objects.exists()
    saved = client_as(owner).post(
        url, {**form, "parameters": "amount, student_name, receipt_number, balance, center_name"}
    )
    assert saved.status_code == 302
    assert CloudTemplate.objects.get().parameter_names[0] == "amount"
    assert AuditLog.objects.filter(model="core.cloudtemplate").exists()


def test_channel_states_are_read_only_for_the_manager(client_as, manager, db):
    ChannelBreaker.objects.create(channel=Channel.WHATSAPP, state=ChannelBreaker.State.OPEN, failures=5)
    page = client_as(manager).get(reverse("admin:core_channelbreaker_changelist"))
    assert page.status_code == 200
    assert client_as(manager).get(reverse("admin:core_channelbreaker_add")).status_code == 403


def test_the_outbox_shows_channel_and_receipts(client_as, manager, reply):
    student, _row = reply
    guardian = student.guardians.get()
    Message.objects.create(
        guardian=guardian,
        student=student,
        phone=guardian.phone,
        template_key="arrived",
        body="حضر",
        event="e:1",
        idempotency_key=idempotency_key("e:1", guardian.pk),
        status=Message.Status.SENT,
        channel=Channel.SMS,
        read_at=timezone.now(),
        delivered_at=timezone.now(),
    )
    page = client_as(manager).get(reverse("admin:core_message_changelist"), {"channel__exact": "sms"})
    assert page.status_code == 200 and page.context["cl"].result_count == 1
    html = page.content.decode()
    assert "تمت القراءة" in html  # the receipt, in the staff member's Arabic


def test_wa_me_link_encodes_arabic_and_newlines():
    link = wa_me_link("+20 100 123 4567", "ولي أمر أحمد\nعليه 200 جنيه & شكرا")
    assert link.startswith("https://wa.me/201001234567?text=")
    assert unquote(link.split("text=", 1)[1]) == "ولي أمر أحمد\nعليه 200 جنيه & شكرا"
    assert wa_me_link("") == "" and wa_me_link("+201001234567") == "https://wa.me/201001234567"


@pytest.fixture
def owing_student(main_branch):
    group = make_group(main_branch)
    student = make_student(main_branch, name="منى علي", guardian_phone="01007654321", gender="female")
    enrollment = enrollment_create(actor=None, student=student, group=group, start_date=datetime.date(2026, 9, 1))
    LedgerEntry.objects.create(
        enrollment=enrollment,
        entry_type=EntryType.CHARGE,
        amount=Decimal("200"),
        date=datetime.date(2026, 11, 1),
        source="x",
    )
    return student


def chat_text(link: str) -> str:
    return parse_qs(urlsplit(link).query)["text"][0]


def test_defaulters_report_links_to_a_written_payment_reminder(client_as, accountant, owing_student):
    page = client_as(accountant).get(reverse("admin:core_receipt_defaulters"))
    [row] = page.context["rows"]
    text = chat_text(row.whatsapp_url)
    assert row.whatsapp_url.startswith("https://wa.me/201007654321?text=")
    assert "منى علي" in text and "200" in text and "{" not in text


def test_student_page_offers_click_to_chat_with_the_reminder_when_owing(client_as, receptionist, owing_student):
    page = client_as(receptionist).get(reverse("admin:core_student_change", args=[owing_student.pk])).content.decode()
    assert 'data-chat="wa"' in page and "https://wa.me/201007654321?text=" in page


def test_chat_texts_fill_every_placeholder(db):
    text = ChatTexts().text(student_name="أحمد", amount=Decimal("150"), details="")
    assert "أحمد" in text and "150" in text and "{" not in text


def test_the_student_page_shows_each_messages_channel_and_receipt(client_as, receptionist, reply):
    student, _row = reply
    guardian = student.guardians.get()
    read_at = timezone.now()
    Message.objects.create(
        guardian=guardian,
        student=student,
        phone=guardian.phone,
        template_key="arrived",
        body="حضر أحمد اليوم",
        event="e:2",
        idempotency_key=idempotency_key("e:2", guardian.pk),
        status=Message.Status.SENT,
        delivered_at=read_at,
        read_at=read_at,
    )
    page = client_as(receptionist).get(reverse("admin:core_student_change", args=[student.pk])).content.decode()
    assert "حضر أحمد اليوم" in page and "تمت القراءة" in page and "واتساب" in page
    assert 'href="https://wa.me/201001234567"' in page  # owes nothing: a plain chat link
