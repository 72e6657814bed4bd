"""The messages admin: outbox, actions, templates, broadcasts, cost report, test send, history."""

import datetime
import html
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext, gettext_noop, ngettext

from core.models import AuditLog, Branch, CenterSettings, Message, MessageTemplate
from core.models.messaging import UNKNOWN_EXPLANATION
from core.services.enrollments import enrollment_create
from core.services.messaging import message_queue
from tests.factories import CAIRO, make_group, make_student

NOON = datetime.datetime(2026, 3, 10, 12, 0, tzinfo=CAIRO)
CONTEXT = {"group_name": "رياضيات", "time": datetime.time(16, 30)}

OUTBOX = reverse("admin:core_message_changelist")
BROADCAST = reverse("admin:core_message_broadcast")
REPORT = reverse("admin:core_message_report")
TEST_SEND = reverse("admin:core_message_test_send")


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOON, tick=False) as traveller:
        yield traveller


@pytest.fixture
def center(db) -> CenterSettings:
    center = CenterSettings.load()
    center.messaging_enabled = False  # messages stay held: the admin pages see stable rows
    center.save()
    return center


@pytest.fixture
def student(main_branch):
    return make_student(main_branch, name="أحمد محمود", guardian_phone="01001234567")


def queue(student, event: str) -> Message:
    return message_queue(
        event=event, guardian=student.guardians.get(), template="arrived", context=CONTEXT, student=student
    )


@pytest.fixture
def outbox(center, student):
    """One message in each of held, failed (never left), sent and unknown (may have left)."""
    held = queue(student, "arrived:1")
    failed = queue(student, "arrived:2")
    Message.objects.filter(pk=failed.pk).update(status="failed", failure="retries")
    sent = queue(student, "arrived:3")
    Message.objects.filter(pk=sent.pk).update(status="sent", sent_at=NOON, cost=Decimal("0.05"))
    unknown = queue(student, "arrived:4")
    Message.objects.filter(pk=unknown.pk).update(status="unknown", attempts=1, checks=4)
    return {"held": held, "failed": failed, "sent": sent, "unknown": unknown}


def action_post(client, action: str, messages, **extra):
    data = {"action": action, "_selected_action": [message.pk for message in messages], "index": 0, **extra}
    return client.post(OUTBOX, data)


# --- Access ----------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("url", [OUTBOX, BROADCAST, REPORT, TEST_SEND])
def test_anonymous_is_sent_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302 and reverse("admin:login") in response["Location"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "outbox", "broadcast", "report", "test_send"),
    [
        ("owner", 200, 200, 200, 200),
        ("manager", 200, 200, 200, 403),
        ("receptionist", 200, 403, 200, 403),
        ("accountant", 200, 403, 200, 403),
        ("supervisor", 403, 403, 403, 403),
        ("teacher_user", 403, 403, 403, 403),
    ],
)
def test_each_role_reaches_exactly_its_messaging_pages(
    request, client_as, center, role, outbox, broadcast, report, test_send
):
    client = client_as(request.getfixturevalue(role))
    assert client.get(OUTBOX).status_code == outbox
    assert client.get(BROADCAST).status_code == broadcast
    assert client.get(REPORT).status_code == report
    assert client.get(TEST_SEND).status_code == test_send


@pytest.mark.django_db
def test_the_test_send_is_for_the_owner_even_if_someone_else_is_given_the_permission(client_as, manager, center):
    from django.contrib.auth.models import Permission

    manager.user_permissions.add(Permission.objects.get(codename="send_test_message"))
    assert client_as(manager).get(TEST_SEND).status_code == 403


# --- Outbox ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_outbox_lists_messages_with_counts_by_state_and_filters(client_as, manager, outbox):
    client = client_as(manager)
    body = client.get(OUTBOX).content.decode()
    assert 'dir="ltr">+201001234567</bdi>' in body
    assert "?status__exact=held" in body and "?status__exact=failed" in body
    assert BROADCAST in body and REPORT in body and TEST_SEND not in body  # the manager cannot test-send
    failed_only = client.get(OUTBOX, {"status__exact": "failed"})
    assert list(failed_only.context["cl"].result_list) == [outbox["failed"]]
    assert client.get(OUTBOX, {"q": "+201001234567"}).context["cl"].result_count == 4
    by_template = client.get(OUTBOX, {"template_key": "late_refused"})
    assert by_template.context["cl"].result_count == 0
    assert client.get(OUTBOX, {"template_key": "arrived"}).context["cl"].result_count == 4


@pytest.mark.django_db
def test_the_outbox_is_read_only(client_as, owner, outbox):
    client = client_as(owner)
    held = outbox["held"]
    response = client.get(reverse("admin:core_message_change", args=[held.pk]))
    assert response.status_code == 200 and not response.context["has_change_permission"]
    assert held.body in response.content.decode()
    assert client.get(reverse("admin:core_message_add")).status_code == 403
    assert client.get(reverse("admin:core_message_delete", args=[held.pk])).status_code == 403


@pytest.mark.django_db
def test_outbox_queries_do_not_grow_with_the_rows(client_as, manager, center, student):
    client = client_as(manager)
    for index in range(3):
        queue(student, f"arrived:a{index}")
    client.get(OUTBOX)
    with CaptureQueriesContext(connection) as few:
        client.get(OUTBOX)
    for index in range(20):
        queue(student, f"arrived:b{index}")
    with CaptureQueriesContext(connection) as many:
        client.get(OUTBOX)
    assert len(many) == len(few)


@pytest.mark.django_db
def test_staff_see_only_messages_of_their_branches(client_as, receptionist, owner, center, student):
    queue(student, "arrived:mine")
    elsewhere = Branch.objects.create(name_ar="فرع آخر")
    other = make_student(elsewhere, guardian_phone="01119998877")
    queue(other, "arrived:theirs")
    assert client_as(receptionist).get(OUTBOX).context["cl"].result_count == 1
    assert client_as(owner).get(OUTBOX).context["cl"].result_count == 2


@pytest.mark.django_db
def test_retry_needs_the_permission_and_a_confirmation(client_as, receptionist, manager, outbox):
    failed = outbox["failed"]
    action_post(client_as(receptionist), "retry_messages", [failed])
    assert Message.objects.get(pk=failed.pk).status == "failed"
    client = client_as(manager)
    selected = [failed, outbox["held"], outbox["unknown"]]
    confirm = action_post(client, "retry_messages", selected)
    assert confirm.status_code == 200
    assert confirm.context["count"] == 1  # a plain retry never takes an unconfirmed message
    assert Message.objects.get(pk=failed.pk).status == "failed"
    done = action_post(client, "retry_messages", selected, confirm="1")
    assert done.status_code == 302
    assert Message.objects.get(pk=failed.pk).status == "pending"
    assert Message.objects.get(pk=failed.pk).failure == ""
    assert Message.objects.get(pk=outbox["unknown"].pk).status == "unknown"
    assert AuditLog.objects.filter(model="core.message", actor=manager).count() == 1


@pytest.mark.django_db
def test_the_outbox_explains_unconfirmed_messages_in_the_list_and_on_the_message(client_as, manager, outbox):
    client = client_as(manager)
    unknown = outbox["unknown"]
    with translation.override("ar"):  # the admin speaks Arabic
        warning = ngettext(
            "%(count)d message was sent but not confirmed: the parent may already have it, so it "
            "is not sent again by itself. Open it to see what to do.",
            "%(count)d messages were sent but not confirmed: the parents may already have them, so "
            "they are not sent again by themselves. Open one to see what to do.",
            1,
        ) % {"count": 1}
        status = gettext("Sent, unconfirmed")
        explanation = str(UNKNOWN_EXPLANATION) % {"id": unknown.pk}
    listing = client.get(OUTBOX).content.decode()
    assert warning in listing and warning != gettext_noop("1 message was sent but not confirmed")
    page = client.get(reverse("admin:core_message_change", args=[unknown.pk])).content.decode()
    assert status in page and html.escape(explanation) in page and f"msg-{unknown.pk}" in page


@pytest.mark.django_db
def test_an_unconfirmed_message_is_marked_sent_only_with_a_reason_and_audited(client_as, receptionist, manager, outbox):
    unknown = outbox["unknown"]
    action_post(client_as(receptionist), "mark_sent_messages", [unknown], confirm="1", reason="dashboard")
    assert Message.objects.get(pk=unknown.pk).status == "unknown"
    client = client_as(manager)
    asked = action_post(client, "mark_sent_messages", [unknown, outbox["failed"]], confirm="1", reason="  ")
    assert asked.status_code == 200 and asked.context["error"] and asked.context["count"] == 1
    assert Message.objects.get(pk=unknown.pk).status == "unknown"
    done = action_post(
        client, "mark_sent_messages", [unknown, outbox["failed"]], confirm="1", reason="on the dashboard"
    )
    assert done.status_code == 302
    assert Message.objects.get(pk=unknown.pk).status == "sent"
    assert Message.objects.get(pk=outbox["failed"].pk).status == "failed"
    [row] = AuditLog.objects.filter(model="core.message", actor=manager)
    assert "on the dashboard" in row.reason


@pytest.mark.django_db
def test_sending_an_unconfirmed_message_again_needs_the_may_arrive_twice_confirmation(client_as, manager, outbox):
    unknown = outbox["unknown"]
    client = client_as(manager)
    confirm = action_post(client, "send_again_messages", [unknown, outbox["sent"]])
    with translation.override("ar"):
        twice = gettext(
            "The provider may already have delivered them: the parent may receive each message "
            "twice. Check the provider's dashboard first if you can."
        )
    assert confirm.status_code == 200 and confirm.context["warning"] == twice and confirm.context["count"] == 1
    unticked = action_post(client, "send_again_messages", [unknown], confirm="1")
    assert unticked.status_code == 200 and unticked.context["error"]
    assert Message.objects.get(pk=unknown.pk).status == "unknown"
    done = action_post(client, "send_again_messages", [unknown], confirm="1", may_double="1")
    assert done.status_code == 302
    again = Message.objects.get(pk=unknown.pk)
    assert again.status == "pending" and again.attempts == 0 and again.checks == 0
    assert Message.objects.get(pk=outbox["sent"].pk).status == "sent"
    assert AuditLog.objects.filter(model="core.message", actor=manager).count() == 1


@pytest.mark.django_db
def test_cancel_stops_unsent_messages_only(client_as, manager, outbox):
    client = client_as(manager)
    selected = list(outbox.values())
    assert action_post(client, "cancel_messages", selected).status_code == 200
    action_post(client, "cancel_messages", selected, confirm="1")
    statuses = dict(Message.objects.values_list("pk", "status"))
    assert statuses[outbox["held"].pk] == "cancelled" and statuses[outbox["failed"].pk] == "cancelled"
    assert statuses[outbox["sent"].pk] == "sent"


# --- Templates -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_template_page_shows_placeholders_and_a_preview_with_example_values(client_as, manager):
    template = MessageTemplate.objects.get(key="arrived")
    response = client_as(manager).get(reverse("admin:core_messagetemplate_change", args=[template.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert "{minutes_late}" not in body and "{group_name}" in body
    assert "ولي أمر أحمد محمود الفاضل" in body  # rendered with the sample student name
    assert "template-preview-samples" in body and "core/template_preview.js" in body


@pytest.mark.django_db
def test_saving_a_template_with_an_unknown_placeholder_is_refused(client_as, manager):
    template = MessageTemplate.objects.get(key="arrived")
    url = reverse("admin:core_messagetemplate_change", args=[template.pk])
    data = {"text_ar": "وصل {student_name} {teacher_phone}", "text_en": template.text_en, "is_active": "on"}
    response = client_as(manager).post(url, data)
    assert response.status_code == 200
    assert "{teacher_phone}" in response.content.decode()
    assert MessageTemplate.objects.get(pk=template.pk).text_ar == template.text_ar
    data["text_ar"] = "وصل {student_name} الساعة {time}"
    assert client_as(manager).post(url, data).status_code == 302
    assert MessageTemplate.objects.get(pk=template.pk).text_ar == "وصل {student_name} الساعة {time}"
    assert AuditLog.objects.filter(model="core.messagetemplate", actor=manager).exists()


@pytest.mark.django_db
def test_system_templates_keep_their_key_and_rule_and_cannot_be_deleted(client_as, manager, owner):
    template = MessageTemplate.objects.get(key="late_refused")
    url = reverse("admin:core_messagetemplate_change", args=[template.pk])
    data = {"text_ar": template.text_ar, "text_en": template.text_en, "is_active": "on", "key": "x", "is_mandatory": ""}
    client_as(manager).post(url, data)
    stored = MessageTemplate.objects.get(pk=template.pk)
    assert stored.key == "late_refused" and stored.is_mandatory
    assert client_as(owner).get(reverse("admin:core_messagetemplate_delete", args=[template.pk])).status_code == 403


@pytest.mark.django_db
def test_managers_add_broadcast_templates_and_receptionists_cannot_see_templates(client_as, manager, receptionist):
    add = reverse("admin:core_messagetemplate_add")
    data = {"key": "exam", "name": "Exam", "text_ar": "امتحان {group_name} غدًا", "text_en": "", "is_active": "on"}
    assert client_as(manager).post(add, data).status_code == 302
    assert MessageTemplate.objects.filter(key="exam").exists()
    reserved = client_as(manager).post(add, {**data, "key": "arrived"})
    assert reserved.status_code == 200 and MessageTemplate.objects.filter(key="arrived").count() == 1
    assert client_as(receptionist).get(reverse("admin:core_messagetemplate_changelist")).status_code == 403


# --- Broadcast, report, test send ------------------------------------------------------------------


@pytest.mark.django_db
def test_broadcast_previews_the_count_and_first_message_then_sends(client_as, manager, center, main_branch):
    group = make_group(main_branch)
    for index, name in enumerate(["سارة علي", "منى حسن"]):
        enrollment_create(
            actor=None, student=make_student(main_branch, name=name, guardian_phone=f"0100111000{index}"), group=group
        )
    client = client_as(manager)
    data = {"audience_kind": "group", "group": group.pk, "text": "غدًا إجازة لـ {student_name}", "preview": "1"}
    preview = client.post(BROADCAST, data)
    body = preview.content.decode()
    assert preview.status_code == 200 and preview.context["preview"].recipients == 2
    assert "غدًا إجازة لـ سارة علي" in body and 'name="confirm"' in body
    assert not Message.objects.exists()
    data.pop("preview")
    sent = client.post(BROADCAST, {**data, "confirm": "1"})
    assert sent.status_code == 302
    assert Message.objects.filter(template_key="broadcast").count() == 2
    listed = client.get(sent["Location"])
    assert listed.status_code == 200 and listed.context["cl"].result_count == 2
    assert client.get(reverse("admin:core_broadcast_changelist")).status_code == 200


@pytest.mark.django_db
def test_broadcast_form_errors(client_as, manager, center, main_branch):
    client = client_as(manager)
    group = make_group(main_branch)
    missing = client.post(BROADCAST, {"audience_kind": "group", "text": "x", "preview": "1"})
    assert missing.context["form"].errors["group"]
    both = client.post(BROADCAST, {"audience_kind": "teacher", "teacher": group.teacher.pk, "preview": "1"})
    assert both.context["form"].errors["text"]
    bad = client.post(BROADCAST, {"audience_kind": "group", "group": group.pk, "text": "{amount}", "preview": "1"})
    assert "{amount}" in bad.content.decode() and bad.context["preview"] is None


@pytest.mark.django_db
def test_cost_report_shows_each_month_with_counts_and_cost(client_as, accountant, outbox):
    response = client_as(accountant).get(REPORT)
    body = response.content.decode()
    assert response.status_code == 200
    assert "2026-03" in body and "0.05" in body
    [row] = response.context["rows"]
    assert row["total"] == 4 and row["statuses"]["sent"] == 1


@pytest.mark.django_db
def test_owner_test_send_goes_out_and_shows_the_result(client_as, owner, center):
    response = client_as(owner).post(TEST_SEND, {"phone": "01001234567", "text": "رسالة تجريبية"})
    assert response.status_code == 200
    message = Message.objects.get(template_key="test")
    assert message.status == "sent" and message.phone == "+201001234567"
    assert message.provider_id in response.content.decode()
    invalid = client_as(owner).post(TEST_SEND, {"phone": "12", "text": "x"})
    assert invalid.context["form"].errors["phone"]


# --- The student page's history ----------------------------------------------------------------


@pytest.mark.django_db
def test_student_history_snippet_lists_the_guardians_messages_for_permitted_staff(
    receptionist, supervisor, outbox, student
):
    request = RequestFactory().get("/")
    request.user = receptionist
    html = render_to_string("admin/messaging/student_messages.html", {"original": student, "request": request})
    assert outbox["held"].body[:40] in html and "guardian__id__in=" in html
    request.user = supervisor
    html = render_to_string("admin/messaging/student_messages.html", {"original": student, "request": request})
    assert outbox["held"].body[:40] not in html


@pytest.mark.django_db
def test_outbox_link_for_a_students_guardians_works(client_as, manager, outbox, student):
    guardian = student.guardians.get()
    response = client_as(manager).get(OUTBOX, {"guardian__id__in": str(guardian.pk)})
    assert response.status_code == 200 and response.context["cl"].result_count == 4
