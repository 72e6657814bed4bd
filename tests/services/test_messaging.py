"""Messages to guardians (SPEC.md R10): idempotency, the rules, sending, retries and broadcasts.

Sending goes through the real UltraMsg provider to a local HTTP server (tests/fake_ultramsg.py);
the clock is frozen with time-machine and moved by hand.
"""

import datetime
import json
import threading
from decimal import Decimal

import pytest
import time_machine
from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django_q.models import Schedule

from core import tasks
from core.models import AuditLog, Broadcast, CenterSettings, Guardian, Message, MessageTemplate, StudentGuardian
from core.models.messaging import (
    MANDATORY_KEYS,
    SYSTEM_KEYS,
    TEMPLATE_PLACEHOLDERS,
    placeholder_value,
    template_text_check,
    template_text_render,
)
from core.ops.task_schedules import SCHEDULES
from core.selectors.messaging import message_costs_by_month, message_counts_by_status, messages_for_student
from core.services import messaging
from core.services.enrollments import enrollment_create
from core.services.messaging import (
    Audience,
    MessageContextError,
    broadcast_preview,
    broadcast_send,
    message_queue,
    message_send,
    message_template_save,
    message_test_send,
    messages_cancel,
    messages_cleanup,
    messages_retry,
    messages_send_due,
    quiet_hours_active,
    quiet_hours_end,
    sending,
)
from core.services.students import guardian_link
from tests.factories import CAIRO, make_group, make_student
from tests.fake_ultramsg import FakeUltraMsg, point_settings_at

NOON = datetime.datetime(2026, 3, 10, 12, 0, tzinfo=CAIRO)  # a Tuesday, outside quiet hours
ARRIVED_CONTEXT = {"group_name": "رياضيات ٣ ث", "time": datetime.time(16, 30)}


@pytest.fixture
def center(db) -> CenterSettings:
    center = CenterSettings.load()
    center.messaging_enabled = True
    center.center_name_ar = "سنتر النور"
    center.save()
    return center


@pytest.fixture
def clock():
    with time_machine.travel(NOON, tick=False) as traveller:
        yield traveller


@pytest.fixture
def ultramsg(settings):
    fake = FakeUltraMsg().start()
    point_settings_at(settings, fake, timeout=2.0)
    yield fake
    fake.stop()


@pytest.fixture
def family(main_branch):
    """A student and the guardian WhatsApp goes to."""
    student = make_student(main_branch, name="أحمد محمود", guardian_phone="01001234567")
    return student.guardians.get(), student


def queue_arrived(guardian, student, event: str = "arrived:1") -> Message | None:
    return message_queue(event=event, guardian=guardian, template="arrived", context=ARRIVED_CONTEXT, student=student)


def queue_late_refused(guardian, student, event: str = "late_refused:1") -> Message | None:
    return message_queue(
        event=event, guardian=guardian, template="late_refused", context=ARRIVED_CONTEXT, student=student
    )


def reload(message: Message) -> Message:
    message.refresh_from_db()
    return message


# --- Templates and rendering -----------------------------------------------------------------


@pytest.mark.django_db
def test_default_templates_exist_in_arabic_and_english_with_valid_placeholders():
    templates = {template.key: template for template in MessageTemplate.objects.all()}
    assert set(templates) == set(SYSTEM_KEYS)
    for key, template in templates.items():
        assert template.is_mandatory == (key in MANDATORY_KEYS)
        assert any("\u0600" <= char <= "\u06ff" for char in template.text_ar), key
        template.full_clean()  # every default passes its own placeholder check


@pytest.mark.django_db
def test_a_template_with_an_unknown_placeholder_is_rejected_naming_it():
    template = MessageTemplate.objects.get(key="arrived")
    template.text_ar = "وصل {student_name} ومعه {teacher_phone}"
    with pytest.raises(ValidationError) as caught:
        template.full_clean()
    assert "text_ar" in caught.value.message_dict
    assert "{teacher_phone}" in caught.value.message_dict["text_ar"][0]


@pytest.mark.parametrize(
    "text",
    ["{student_name.__class__}", "{student_name[0]}", "{student_name!r}", "{amount:>10}", "{}", "{0}", "مرحبا {", "}"],
)
def test_only_bare_named_placeholders_are_accepted(text):
    with pytest.raises(ValidationError):
        template_text_check(text, "arrived")


def test_literal_braces_are_written_doubled():
    template_text_check("{{ملاحظة}} {student_name}", "arrived")
    assert template_text_render("{{ملاحظة}} {student_name}", {"student_name": "سارة"}) == "{ملاحظة} سارة"


@pytest.mark.django_db
def test_staff_templates_are_broadcasts_and_may_not_take_a_reserved_key():
    custom = MessageTemplate(key="holiday", name="Holiday", text_ar="إجازة {center_name} غدًا لـ {student_name}")
    custom.full_clean()
    assert custom.opt_out_kind == "broadcast" and not custom.is_system
    with pytest.raises(ValidationError) as caught:
        MessageTemplate(key="holiday", text_ar="{amount}").full_clean()
    assert "{amount}" in str(caught.value)
    with pytest.raises(ValidationError) as caught:
        MessageTemplate(key="broadcast", text_ar="x").full_clean()
    assert "key" in caught.value.message_dict


def test_values_read_naturally_in_a_message():
    assert placeholder_value(Decimal("350.00")) == "350"
    assert placeholder_value(Decimal("350.5")) == "350.50"
    assert placeholder_value(datetime.date(2026, 3, 14)) == "14/03/2026"
    assert placeholder_value(datetime.time(9, 5)) == "09:05"
    assert placeholder_value(datetime.datetime(2026, 3, 14, 14, 5, tzinfo=datetime.UTC)) == "16:05"  # Cairo
    assert placeholder_value(7) == "7"


@pytest.mark.django_db
def test_message_template_save_validates_and_writes_an_audit_row(owner):
    template = MessageTemplate.objects.get(key="absent")
    template.text_ar = "غياب {student_name} عن {group_name}"
    message_template_save(actor=owner, template=template)
    assert MessageTemplate.objects.get(key="absent").text_ar == "غياب {student_name} عن {group_name}"
    assert AuditLog.objects.filter(model="core.messagetemplate", actor=owner).exists()
    template.text_ar = "{nope}"
    with pytest.raises(ValidationError):
        message_template_save(actor=owner, template=template)


# --- Queueing --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_same_event_twice_makes_one_message(center, clock, family):
    guardian, student = family
    first = queue_arrived(guardian, student)
    second = queue_arrived(guardian, student)
    assert first.pk == second.pk
    assert Message.objects.count() == 1
    assert first.status == Message.Status.PENDING
    assert first.body.startswith("ولي أمر أحمد محمود الفاضل")
    assert "16:30" in first.body and "سنتر النور" in first.body
    assert first.phone == "+201001234567" and first.language == "ar"


@pytest.mark.django_db
def test_queueing_costs_four_queries_inside_the_callers_transaction(center, clock, family):
    guardian, student = family
    with CaptureQueriesContext(connection) as queries:
        message_queue(
            event="arrived:q",
            guardian=guardian,
            template="arrived",
            context=ARRIVED_CONTEXT,
            student=student,
            center=center,
        )
    # The template, then the insert in its savepoint (SAVEPOINT, INSERT, RELEASE).
    assert len(queries) == 4, [query["sql"] for query in queries]
    with CaptureQueriesContext(connection) as queries:
        queue_arrived(guardian, student, event="arrived:r")  # without the settings row: one more
    assert len(queries) == 5


@pytest.mark.django_db
def test_the_same_event_to_two_guardians_makes_two_messages(center, clock, family):
    guardian, student = family
    mother = guardian_link(actor=None, student=student, phone="01112223344", full_name="الأم").guardian
    queue_arrived(guardian, student)
    queue_arrived(mother, student)
    assert Message.objects.filter(event="arrived:1").count() == 2


@pytest.mark.django_db
def test_english_guardians_get_the_english_text_or_the_arabic_when_it_is_empty(center, clock, family):
    guardian, student = family
    guardian.language = "en"
    guardian.save()
    center.center_name_en = "Al Nour Center"
    center.save()
    message = queue_arrived(guardian, student)
    assert message.language == "en"
    assert message.body == "Dear parent, أحمد محمود arrived for رياضيات ٣ ث at 16:30.\nAl Nour Center"
    MessageTemplate.objects.filter(key="arrived_late").update(text_en="")
    late = message_queue(
        event="late:1",
        guardian=guardian,
        template="arrived_late",
        context={**ARRIVED_CONTEXT, "minutes_late": 5},
        student=student,
    )
    assert late.body.startswith("ولي أمر")


@pytest.mark.django_db
def test_a_caller_that_forgets_a_placeholder_fails_loudly(center, family):
    guardian, _student = family
    with pytest.raises(MessageContextError, match="group_name"):
        message_queue(event="arrived:9", guardian=guardian, template="arrived", context={"time": "10:00"})
    assert not Message.objects.exists()


@pytest.mark.django_db
def test_inactive_or_missing_templates_queue_nothing(center, family, caplog):
    guardian, student = family
    MessageTemplate.objects.filter(key="arrived").update(is_active=False)
    assert queue_arrived(guardian, student) is None
    assert message_queue(event="x:1", guardian=guardian, template="no_such_template", context={}) is None
    assert "no_such_template" in caplog.text
    assert not Message.objects.exists()


@pytest.mark.django_db
def test_a_template_broken_behind_the_admin_never_makes_a_broken_message(center, family, caplog):
    guardian, student = family
    MessageTemplate.objects.filter(key="arrived").update(text_ar="وصل {student_name")
    assert queue_arrived(guardian, student) is None
    assert "broken text" in caplog.text


@pytest.mark.django_db
def test_optional_messages_respect_opt_outs_and_mandatory_ones_do_not(center, clock, family):
    guardian, student = family
    guardian.message_opt_outs = ["arrived", "late_refused"]  # late_refused is mandatory: ignored
    guardian.save()
    assert queue_arrived(guardian, student) is None
    refused = queue_late_refused(guardian, student)
    assert refused is not None and refused.is_mandatory
    assert list(Message.objects.values_list("template_key", flat=True)) == ["late_refused"]


@pytest.mark.django_db
def test_opt_outs_are_edited_as_checkboxes_of_optional_kinds(family):
    guardian, _student = family

    class GuardianForm(forms.ModelForm):
        class Meta:
            model = Guardian
            fields = ["message_opt_outs"]

    form = GuardianForm({"message_opt_outs": ["arrived", "broadcast"]}, instance=guardian)
    choices = dict(form.fields["message_opt_outs"].choices)
    assert "arrived" in choices and "broadcast" in choices
    assert not set(choices) & MANDATORY_KEYS
    assert form.is_valid(), form.errors
    form.save()
    assert Guardian.objects.get(pk=guardian.pk).message_opt_outs == ["arrived", "broadcast"]
    assert not GuardianForm({"message_opt_outs": ["late_refused"]}, instance=guardian).is_valid()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_queues_of_one_event_make_exactly_one_row(main_branch):
    """PostgreSQL really races the inserts (the unique key decides); SQLite serializes them."""
    CenterSettings.objects.update_or_create(pk=1, defaults={"messaging_enabled": False})
    student = make_student(main_branch, guardian_phone="01009998877")
    guardian = student.guardians.get()
    workers = 8
    barrier = threading.Barrier(workers)
    results, errors = [], []

    def queue() -> None:
        try:
            barrier.wait(timeout=30)
            with transaction.atomic():
                results.append(queue_arrived(guardian, student, event="arrived:race").pk)
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=queue) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Message.objects.filter(event="arrived:race").count() == 1
    assert len(set(results)) == 1 and len(results) == workers


@pytest.mark.django_db
def test_a_committed_message_is_sent_at_once_by_the_worker(center, clock, family, django_capture_on_commit_callbacks):
    guardian, student = family
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            message = queue_arrived(guardian, student)
            assert reload(message).status == Message.Status.PENDING  # nothing leaves before the commit
    assert len(callbacks) == 1
    message = reload(message)
    assert message.status == Message.Status.SENT  # django-q2 runs inline in tests (sync)
    assert message.provider_id.startswith("console-")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        queue_arrived(guardian, student)  # a repeat is a no-op: nothing handed to the worker
    assert callbacks == []


# --- Sending, retries, the killed worker --------------------------------------------------------


@pytest.mark.django_db
def test_sending_records_provider_id_cost_and_the_exact_arabic_bytes(center, clock, family, ultramsg):
    guardian, student = family
    center.cost_per_message = Decimal("0.07")
    center.save()
    message = queue_arrived(guardian, student)
    report = messages_send_due()
    assert report.sent == 1
    message = reload(message)
    assert message.status == Message.Status.SENT
    assert message.provider_id == "1" and message.attempts == 1
    assert message.cost == Decimal("0.07") and message.sent_at == NOON
    [request] = ultramsg.requests
    expected = {"token": "token-123", "to": "+201001234567", "body": message.body, "referenceId": f"msg-{message.pk}"}
    assert request.raw_body == json.dumps(expected, ensure_ascii=False).encode("utf-8")
    assert request.json["body"] == message.body
    assert "أحمد محمود".encode() in request.raw_body


@pytest.mark.django_db
def test_failures_retry_after_1_5_15_60_minutes_then_stay_failed(center, clock, family, ultramsg):
    guardian, student = family
    ultramsg.mode = "500"
    message = queue_arrived(guardian, student)
    messages_send_due()
    waits = []
    for expected in (1, 5, 15, 60):
        message = reload(message)
        assert message.status == Message.Status.PENDING and "HTTP 500" in message.last_error
        waits.append(message.next_attempt_at - datetime.datetime.now(tz=CAIRO))
        clock.move_to(message.next_attempt_at - datetime.timedelta(seconds=1))
        messages_send_due()
        assert len(ultramsg.requests) == len(waits)  # not due yet: nothing sent
        clock.move_to(message.next_attempt_at)
        messages_send_due()
        assert len(ultramsg.requests) == len(waits) + 1, expected
    assert waits == [datetime.timedelta(minutes=minutes) for minutes in (1, 5, 15, 60)]
    message = reload(message)
    assert message.status == Message.Status.FAILED
    assert message.failure == Message.Failure.RETRIES_EXHAUSTED and message.attempts == 5
    clock.shift(datetime.timedelta(days=1))
    messages_send_due()
    assert len(ultramsg.requests) == 5


@pytest.mark.django_db
def test_provider_500_then_retry_then_success(center, clock, family, ultramsg):
    guardian, student = family
    ultramsg.script = ["500", "ok"]
    message = queue_arrived(guardian, student)
    assert messages_send_due().retrying == 1
    clock.shift(datetime.timedelta(minutes=1))
    assert messages_send_due().sent == 1
    message = reload(message)
    assert message.status == Message.Status.SENT and message.attempts == 2
    assert message.provider_id == "2" and message.last_error == ""


@pytest.mark.django_db
def test_a_timeout_is_not_retried_but_confirmed_with_the_provider_by_reference(
    center, clock, family, ultramsg, settings
):
    guardian, student = family
    settings.WHATSAPP_TIMEOUT_SECONDS = 0.2
    ultramsg.script, ultramsg.late_seconds = ["late"], 0.5
    message = queue_arrived(guardian, student)
    assert messages_send_due().unknown == 1
    message = reload(message)
    assert message.status == Message.Status.UNKNOWN and message.last_error.startswith("ProviderTimeout")
    assert ultramsg.lookups == []  # never asked at once: the provider may still be writing it down
    clock.shift(datetime.timedelta(minutes=1))
    messages_send_due()
    message = reload(message)
    assert ultramsg.lookups == [f"msg-{message.pk}"]
    assert message.status == Message.Status.SENT and message.provider_id == "1" and message.cost == Decimal("0.05")
    assert len(ultramsg.requests) == 1 and ultramsg.deliveries_by_reference() == {f"msg-{message.pk}": 1}


@pytest.mark.django_db
def test_a_garbage_reply_is_kept_and_resent_only_once_the_provider_says_it_has_not_got_it(
    center, clock, family, ultramsg
):
    guardian, student = family
    ultramsg.script = ["garbage"]
    message = queue_arrived(guardian, student)
    messages_send_due()
    message = reload(message)
    assert message.status == Message.Status.UNKNOWN
    assert message.last_error.startswith("ProviderBadReply") and "upstream hiccup" in message.provider_response
    clock.shift(datetime.timedelta(minutes=1))
    messages_send_due()
    message = reload(message)
    assert ultramsg.lookups == [f"msg-{message.pk}"]
    assert message.status == Message.Status.SENT and message.attempts == 2
    assert ultramsg.deliveries_by_reference() == {f"msg-{message.pk}": 1}


@pytest.mark.django_db
def test_an_invalid_number_fails_at_once_without_retries(center, clock, family, ultramsg):
    guardian, student = family
    ultramsg.mode = "invalid_number"
    message = queue_arrived(guardian, student)
    assert messages_send_due().failed == 1
    message = reload(message)
    assert message.status == Message.Status.FAILED and message.failure == Message.Failure.NOT_ON_WHATSAPP
    clock.shift(datetime.timedelta(hours=2))
    messages_send_due()
    assert len(ultramsg.requests) == 1


class WorkerKilled(BaseException):
    """Stands in for SIGKILL: not an Exception, nothing in the sender catches it."""


class KilledAfterSending:
    """The real provider, then the worker dies before it can record the outcome."""

    name = "killed"

    def __init__(self, inner):
        self.inner = inner

    def send(self, **kwargs):
        self.inner.send(**kwargs)
        raise WorkerKilled


@pytest.mark.django_db
def test_a_worker_killed_mid_send_never_sends_twice(center, clock, family, ultramsg):
    guardian, student = family
    message = queue_arrived(guardian, student)
    with pytest.raises(WorkerKilled):
        messages_send_due(provider=KilledAfterSending(sending.provider_get()))
    assert len(ultramsg.requests) == 1  # it did reach WhatsApp
    message = reload(message)
    assert message.status == Message.Status.SENDING and message.attempt_started_at is not None
    # django-q2 hands the task to another worker; the minute schedule runs too: nothing resends.
    tasks.message_send(message.pk)
    messages_send_due()
    clock.shift(datetime.timedelta(minutes=4))
    messages_send_due()
    assert len(ultramsg.requests) == 1
    # Once stale, the provider is asked by our reference: it has it, so the message is sent.
    clock.shift(datetime.timedelta(minutes=2))
    messages_send_due()
    message = reload(message)
    assert ultramsg.lookups == [f"msg-{message.pk}"]
    assert message.status == Message.Status.SENT and message.provider_id == "1"
    clock.shift(datetime.timedelta(days=1))
    messages_send_due()
    assert len(ultramsg.requests) == 1


@pytest.mark.django_db
def test_reserved_messages_of_a_killed_worker_go_out_once_and_the_started_one_never_again(
    center, clock, main_branch, ultramsg
):
    students = [make_student(main_branch, guardian_phone=f"0100555000{index}") for index in range(3)]
    queued = [queue_arrived(student.guardians.get(), student, event=f"arrived:{student.pk}") for student in students]
    with pytest.raises(WorkerKilled):
        messages_send_due(provider=KilledAfterSending(sending.provider_get()))
    assert len(ultramsg.requests) == 1
    first, *reserved = (reload(message) for message in queued)
    assert all(message.status == Message.Status.SENDING for message in [first, *reserved])
    assert [message.attempt_started_at is None for message in reserved] == [True, True]
    # A retried task before the reservations go stale sends nothing.
    messages_send_due()
    assert len(ultramsg.requests) == 1
    clock.shift(messaging.RESERVATION_STALE_AFTER + datetime.timedelta(seconds=1))
    messages_send_due()
    assert reload(first).status == Message.Status.SENT  # the provider confirmed it had it
    assert all(reload(message).status == Message.Status.SENT for message in reserved)
    phones = [request.json["to"] for request in ultramsg.requests]
    assert len(phones) == 3 and len(set(phones)) == 3  # every guardian exactly once


class KilledOnSecondSend:
    """The worker dies right after its second message reached the provider."""

    name = "killed-second"

    def __init__(self, inner):
        self.inner, self.calls = inner, 0

    def send(self, **kwargs):
        result = self.inner.send(**kwargs)
        self.calls += 1
        if self.calls == 2:
            raise WorkerKilled
        return result


@pytest.mark.django_db
def test_an_outcome_written_with_the_next_start_survives_a_kill(center, clock, main_branch, ultramsg):
    students = [make_student(main_branch, guardian_phone=f"0100666000{index}") for index in range(3)]
    first, second, third = (
        queue_arrived(student.guardians.get(), student, event=f"arrived:{student.pk}") for student in students
    )
    with pytest.raises(WorkerKilled):
        messages_send_due(provider=KilledOnSecondSend(sending.provider_get()))
    assert reload(first).status == Message.Status.SENT  # recorded in the commit that started the second
    assert reload(second).attempt_started_at is not None and reload(third).attempt_started_at is None
    clock.shift(messaging.RESERVATION_STALE_AFTER + datetime.timedelta(seconds=1))
    messages_send_due()
    assert reload(second).status == Message.Status.SENT and reload(second).checks == 1
    assert reload(third).status == Message.Status.SENT
    assert len(ultramsg.requests) == 3


@pytest.mark.django_db
def test_a_claim_taken_over_after_a_stall_is_not_sent_by_the_stalled_worker(center, clock, family):
    guardian, student = family
    message = queue_arrived(guardian, student)
    token, batch, _center = sending._claim(limit=10)
    assert [claimed.pk for claimed in batch] == [message.pk]
    clock.shift(messaging.RESERVATION_STALE_AFTER + datetime.timedelta(seconds=1))
    messaging.messages_recover_stale()
    assert reload(message).status == Message.Status.PENDING
    sent = []

    class Recorder:
        name = "recorder"

        def send(self, **kwargs):
            sent.append(kwargs)
            raise AssertionError("must not be called")

    assert sending._deliver(batch[0], token=token, provider=Recorder(), cost=Decimal("0.05")) == "skipped"
    assert sent == []


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_workers_at_once_send_each_message_exactly_once(main_branch, settings):
    CenterSettings.objects.update_or_create(
        pk=1, defaults={"messaging_enabled": True, "messages_per_guardian_per_hour": 0}
    )
    fake = FakeUltraMsg().start()
    point_settings_at(settings, fake)
    try:
        with time_machine.travel(NOON, tick=True):
            students = [make_student(main_branch, guardian_phone=f"010077700{index:02d}") for index in range(30)]
            for student in students:
                queue_arrived(student.guardians.get(), student, event=f"arrived:{student.pk}")
            workers = 3
            barrier = threading.Barrier(workers)
            errors = []

            def work() -> None:
                try:
                    barrier.wait(timeout=30)
                    messages_send_due(batch_size=5)
                except Exception as exc:  # noqa: BLE001 - collected and asserted below
                    errors.append(exc)
                finally:
                    connections.close_all()

            threads = [threading.Thread(target=work) for _ in range(workers)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        assert errors == []
        assert Message.objects.filter(status=Message.Status.SENT).count() == 30
        phones = [request.json["to"] for request in fake.requests]
        assert len(phones) == 30 and len(set(phones)) == 30
    finally:
        fake.stop()


@pytest.mark.django_db
def test_a_run_stops_at_its_time_budget_and_gives_back_what_it_did_not_start(center, clock, main_branch):
    students = [make_student(main_branch, guardian_phone=f"0100444000{index}") for index in range(3)]
    for student in students:
        queue_arrived(student.guardians.get(), student, event=f"arrived:{student.pk}")
    report = messages_send_due(time_budget_seconds=0)
    assert report.attempted == 0
    assert Message.objects.filter(status=Message.Status.PENDING, claim_token__isnull=True).count() == 3
    assert messages_send_due().sent == 3


@pytest.mark.django_db
def test_sending_costs_a_constant_number_of_queries_per_message(center, clock, main_branch):
    def run(count: int, offset: int) -> int:
        for index in range(count):
            student = make_student(main_branch, guardian_phone=f"01006{offset:02d}{index:04d}")
            queue_arrived(student.guardians.get(), student, event=f"arrived:{student.pk}")
        with CaptureQueriesContext(connection) as queries:
            assert messages_send_due().sent == count
        return len(queries)

    few, more, many = run(5, 1), run(15, 2), run(25, 3)
    per_message = (many - more) / 10
    assert per_message == (more - few) / 10
    # Start and outcome writes (+ the savepoint that joins them here, a commit in production);
    # the claim costs the same for a batch of 5 or 25.
    assert per_message <= 4


# --- The rules: disabled, quiet hours, hourly limit ------------------------------------------


@pytest.mark.django_db
def test_nothing_is_sent_while_messaging_is_disabled_and_held_messages_go_when_enabled(center, clock, family, ultramsg):
    guardian, student = family
    center.messaging_enabled = False
    center.save()
    message = queue_arrived(guardian, student)
    assert message.status == Message.Status.HELD and message.hold_reason == Message.HoldReason.DISABLED
    refused = queue_late_refused(guardian, student)  # mandatory ones too
    assert refused.status == Message.Status.HELD
    messages_send_due()
    assert ultramsg.requests == []
    # A message queued as pending (settings changed in between) is held by the sender too.
    Message.objects.filter(pk=message.pk).update(status=Message.Status.PENDING, hold_reason="")
    messages_send_due()
    assert reload(message).hold_reason == Message.HoldReason.DISABLED
    center.messaging_enabled = True
    center.save()
    clock.shift(datetime.timedelta(minutes=1))
    assert messages_send_due().sent == 2
    assert ultramsg.requests[0].json["body"] == reload(refused).body  # mandatory first


@pytest.mark.django_db
def test_quiet_hours_hold_optional_messages_until_morning_but_not_mandatory_ones(center, clock, family, ultramsg):
    guardian, student = family
    clock.move_to(datetime.datetime(2026, 3, 10, 23, 15, tzinfo=CAIRO))
    optional = queue_arrived(guardian, student)
    mandatory = queue_late_refused(guardian, student)
    assert optional.status == Message.Status.HELD and optional.hold_reason == Message.HoldReason.QUIET_HOURS
    assert optional.next_attempt_at == datetime.datetime(2026, 3, 11, 8, 0, tzinfo=CAIRO)
    assert mandatory.status == Message.Status.PENDING
    messages_send_due()
    assert reload(mandatory).status == Message.Status.SENT
    assert reload(optional).status == Message.Status.HELD
    clock.move_to(datetime.datetime(2026, 3, 11, 7, 59, tzinfo=CAIRO))
    messages_send_due()
    assert len(ultramsg.requests) == 1
    clock.move_to(datetime.datetime(2026, 3, 11, 8, 0, tzinfo=CAIRO))
    messages_send_due()
    assert reload(optional).status == Message.Status.SENT and len(ultramsg.requests) == 2


@pytest.mark.django_db
def test_a_retry_falling_in_quiet_hours_is_held_until_they_end(center, clock, family, ultramsg):
    guardian, student = family
    clock.move_to(datetime.datetime(2026, 3, 10, 21, 59, 30, tzinfo=CAIRO))
    ultramsg.script = ["500"]
    message = queue_arrived(guardian, student)
    messages_send_due()
    clock.move_to(datetime.datetime(2026, 3, 10, 22, 5, tzinfo=CAIRO))
    messages_send_due()
    message = reload(message)
    assert message.status == Message.Status.HELD and message.hold_reason == Message.HoldReason.QUIET_HOURS
    assert message.next_attempt_at == datetime.datetime(2026, 3, 11, 8, 0, tzinfo=CAIRO)
    assert len(ultramsg.requests) == 1


@pytest.mark.django_db
def test_quiet_hours_boundaries_daytime_windows_and_summer_time(center):
    def at(hour, minute=0, day=10, month=3):
        return datetime.datetime(2026, month, day, hour, minute, tzinfo=CAIRO)

    assert quiet_hours_active(at(22, 0), center) and quiet_hours_active(at(7, 59), center)
    assert not quiet_hours_active(at(8, 0), center) and not quiet_hours_active(at(21, 59), center)
    assert quiet_hours_end(at(3, 0), center) == at(8, 0)
    center.quiet_hours_start, center.quiet_hours_end = datetime.time(13, 0), datetime.time(15, 0)
    assert quiet_hours_active(at(14, 0), center) and not quiet_hours_active(at(15, 0), center)
    assert quiet_hours_end(at(14, 0), center) == at(15, 0)
    center.quiet_hours_end = center.quiet_hours_start
    assert not quiet_hours_active(at(14, 0), center)
    # Summer time starts in Cairo at midnight on the last Friday of April 2026 (24 April).
    center.quiet_hours_start, center.quiet_hours_end = datetime.time(22, 0), datetime.time(8, 0)
    end = quiet_hours_end(at(23, 0, day=23, month=4), center)
    assert end == at(8, 0, day=24, month=4) and end.utcoffset() == datetime.timedelta(hours=3)


@pytest.mark.django_db
def test_the_hourly_limit_holds_and_later_releases_never_drops(center, clock, family, main_branch, ultramsg):
    guardian, student = family
    center.messages_per_guardian_per_hour = 3
    center.save()
    other = make_student(main_branch, guardian_phone="01112345678")
    queued = [queue_arrived(guardian, student, event=f"arrived:{index}") for index in range(5)]
    queue_arrived(other.guardians.get(), other, event="arrived:other")
    assert messages_send_due().sent == 4  # three for the busy guardian, one for the other
    held = Message.objects.filter(status=Message.Status.HELD)
    assert held.count() == 2
    assert set(held.values_list("hold_reason", flat=True)) == {Message.HoldReason.RATE_LIMIT}
    assert set(held.values_list("next_attempt_at", flat=True)) == {NOON + datetime.timedelta(hours=1)}
    clock.shift(datetime.timedelta(minutes=59))
    assert messages_send_due().sent == 0
    clock.shift(datetime.timedelta(minutes=1))
    assert messages_send_due().sent == 2
    assert all(reload(message).status == Message.Status.SENT for message in queued)


@pytest.mark.django_db
def test_the_hourly_limit_frees_one_slot_at_a_time(center, clock, family):
    guardian, student = family
    center.messages_per_guardian_per_hour = 2
    center.save()
    queue_arrived(guardian, student, event="arrived:a")
    messages_send_due()
    clock.shift(datetime.timedelta(minutes=20))
    for event in ("arrived:b", "arrived:c"):
        queue_arrived(guardian, student, event=event)
    assert messages_send_due().sent == 1
    held = Message.objects.get(status=Message.Status.HELD)
    assert held.next_attempt_at == NOON + datetime.timedelta(hours=1)  # when the 12:00 send ages out


@pytest.mark.django_db
def test_an_hourly_limit_of_zero_means_no_limit(center, clock, family):
    guardian, student = family
    center.messages_per_guardian_per_hour = 0
    center.save()
    for index in range(12):
        queue_arrived(guardian, student, event=f"arrived:{index}")
    assert messages_send_due().sent == 12


# --- Staff actions, test send, cleanup -----------------------------------------------------------


@pytest.mark.django_db
def test_retry_queues_failed_messages_again_and_cancel_stops_unsent_ones(center, clock, family, manager, ultramsg):
    guardian, student = family
    ultramsg.mode = "invalid_number"
    failed = queue_arrived(guardian, student, event="arrived:f")
    messages_send_due()
    center.messaging_enabled = False
    center.save()
    held = queue_arrived(guardian, student, event="arrived:h")
    assert messages_retry(actor=manager, messages=Message.objects.all()) == 1
    failed = reload(failed)
    assert failed.status == Message.Status.PENDING and failed.attempts == 0 and failed.failure == ""
    assert messages_cancel(actor=manager, messages=Message.objects.filter(pk=held.pk)) == 1
    assert reload(held).status == Message.Status.CANCELLED
    assert messages_cancel(actor=manager, messages=Message.objects.filter(pk=held.pk)) == 0
    assert AuditLog.objects.filter(model="core.message", actor=manager).count() == 2


@pytest.mark.django_db
def test_the_test_send_goes_straight_to_the_provider_even_when_disabled(center, clock, owner, ultramsg):
    center.messaging_enabled = False
    center.save()
    message = message_test_send(actor=owner, phone="010 0123 4567", text="رسالة تجريبية")
    assert message.status == Message.Status.SENT and message.phone == "+201001234567"
    assert ultramsg.requests[0].json["body"] == "رسالة تجريبية"
    ultramsg.mode = "500"
    failed = message_test_send(actor=owner, phone="01001234567", text="x")
    assert failed.status == Message.Status.FAILED and "HTTP 500" in failed.last_error  # never retried
    with pytest.raises(ValidationError):
        message_test_send(actor=owner, phone="123", text="x")
    with pytest.raises(ValidationError):
        message_test_send(actor=owner, phone="01001234567", text="  ")


@pytest.mark.django_db
def test_cleanup_removes_sent_messages_older_than_180_days_only(center, clock, family):
    guardian, student = family
    old, recent, old_failed = (queue_arrived(guardian, student, event=f"arrived:{name}") for name in ("o", "r", "f"))
    Message.objects.filter(pk=old.pk).update(status="sent", sent_at=NOON - datetime.timedelta(days=181))
    Message.objects.filter(pk=recent.pk).update(status="sent", sent_at=NOON - datetime.timedelta(days=179))
    Message.objects.filter(pk=old_failed.pk).update(
        status="failed", next_attempt_at=NOON - datetime.timedelta(days=300)
    )
    assert messages_cleanup() == 1
    assert set(Message.objects.values_list("pk", flat=True)) == {recent.pk, old_failed.pk}
    tasks.messages_cleanup()


# --- Broadcasts ------------------------------------------------------------------------------


@pytest.fixture
def classroom(main_branch):
    """A group with two siblings (one guardian) and one more student; plus another teacher's group."""
    group = make_group(main_branch)
    first = make_student(main_branch, name="سارة علي", guardian_phone="01001110001")
    sibling = make_student(main_branch, name="عمر علي", guardian_phone="01001110001")
    third = make_student(main_branch, name="منى حسن", guardian_phone="01001110002")
    for student in (first, sibling, third):
        enrollment_create(actor=None, student=student, group=group)
    other_group = make_group(main_branch)
    enrollment_create(actor=None, student=make_student(main_branch, guardian_phone="01001110003"), group=other_group)
    return group, other_group


@pytest.mark.django_db
def test_a_broadcast_reaches_each_guardian_of_a_group_once(center, clock, classroom, manager):
    group, _other = classroom
    audience = Audience.of(group=group)
    preview = broadcast_preview(audience=audience, text="غدًا إجازة في {center_name} لـ {student_name}")
    assert preview.recipients == 2
    assert preview.first_phone == "+201001110001"
    assert preview.first_body == "غدًا إجازة في سنتر النور لـ سارة علي، عمر علي"
    broadcast = broadcast_send(actor=manager, audience=audience, text="غدًا إجازة في {center_name} لـ {student_name}")
    assert broadcast.recipients == 2 and broadcast.created_by == manager
    sent = Message.objects.filter(broadcast=broadcast)
    assert sent.count() == 2
    assert set(sent.values_list("event", flat=True)) == {f"broadcast:{broadcast.pk}"}
    assert set(sent.values_list("template_key", flat=True)) == {"broadcast"}
    again = broadcast_send(actor=manager, audience=audience, text="تذكير")
    assert Message.objects.filter(broadcast=again).count() == 2  # a new broadcast is a new event


@pytest.mark.django_db
def test_a_teachers_broadcast_covers_all_his_groups_and_respects_opt_outs(center, clock, classroom, manager):
    group, other_group = classroom
    other_group.teacher = group.teacher
    other_group.save()
    opted_out = Guardian.objects.get(phone="+201001110002")
    opted_out.message_opt_outs = ["broadcast"]
    opted_out.save()
    template = MessageTemplate.objects.create(key="exam", name="Exam", text_ar="امتحان {group_name} غدًا")
    broadcast = broadcast_send(actor=manager, audience=Audience.of(teacher=group.teacher), template=template)
    assert broadcast.recipients == 2
    assert set(Message.objects.values_list("phone", flat=True)) == {"+201001110001", "+201001110003"}


@pytest.mark.django_db
def test_broadcast_refusals(center, classroom, manager, receptionist):
    group, _other = classroom
    audience = Audience.of(group=group)
    with pytest.raises(ValidationError):
        broadcast_preview(audience=audience, text="{amount}")
    with pytest.raises(ValidationError):
        broadcast_preview(audience=audience)
    with pytest.raises(ValidationError):
        broadcast_preview(audience=audience, template=MessageTemplate.objects.get(key="payment_reminder"))
    inactive = MessageTemplate.objects.create(key="old", text_ar="قديم", is_active=False)
    with pytest.raises(ValidationError):
        broadcast_preview(audience=audience, template=inactive)
    with pytest.raises(ValidationError):
        Audience.of()
    with pytest.raises(PermissionDenied):
        broadcast_send(actor=receptionist, audience=audience, text="x")
    StudentGuardian.objects.all().delete()
    assert broadcast_preview(audience=audience, text="x").recipients == 0
    with pytest.raises(ValidationError):
        broadcast_send(actor=manager, audience=audience, text="x")
    assert not Broadcast.objects.exists()


# --- Reads, tasks and schedules ----------------------------------------------------------------


@pytest.mark.django_db
def test_selectors_count_states_list_a_students_history_and_cost_per_month(center, clock, classroom, manager):
    group, _other = classroom
    sara = group.enrollments.get(student__full_name="سارة علي").student
    guardian = sara.guardians.get()
    queue_arrived(guardian, sara, event="arrived:s")
    broadcast_send(actor=manager, audience=Audience.of(group=group), text="إعلان")
    messages_send_due()
    counts = message_counts_by_status()
    assert counts["sent"] == 3 and counts["pending"] == 0 and list(counts) == list(Message.Status.values)
    history = list(messages_for_student(sara))
    assert [message.template_key for message in history] == ["broadcast", "arrived"]
    [month] = message_costs_by_month()
    assert month["month"] == datetime.date(2026, 3, 1)
    assert month["total"] == 3 and month["statuses"]["sent"] == 3
    assert month["cost"] == Decimal("0.15")


@pytest.mark.django_db
def test_tasks_are_thin_entry_points(center, clock, family, monkeypatch):
    guardian, student = family
    message = queue_arrived(guardian, student)
    tasks.message_send(message.pk)
    assert reload(message).status == Message.Status.SENT
    queue_arrived(guardian, student, event="arrived:2")
    tasks.messages_send_due()
    assert not Message.objects.exclude(status=Message.Status.SENT).exists()
    assert message_send(message_id=message.pk) is None  # already sent: nothing to do
    called = []
    monkeypatch.setattr("core.services.sessions.sessions_generate", lambda **kwargs: called.append(kwargs))
    tasks.sessions_generate_daily()
    assert called == [{}]


@pytest.mark.django_db
def test_schedules_run_at_cairo_times_and_setup_is_idempotent(clock):
    call_command("setup_schedules")
    by_name = {schedule.name: schedule for schedule in Schedule.objects.all()}
    assert set(by_name) == {entry.name for entry in SCHEDULES}
    assert by_name["send due messages"].schedule_type == Schedule.MINUTES and by_name["send due messages"].minutes == 1
    assert by_name["send due messages"].func == "core.tasks.messages_send_due"
    generate = by_name["generate sessions"]
    assert generate.func == "core.tasks.sessions_generate_daily" and generate.schedule_type == Schedule.DAILY
    assert generate.next_run == datetime.datetime(2026, 3, 11, 1, 30, tzinfo=CAIRO)
    cleanup = by_name["clean up old messages"]
    assert cleanup.schedule_type == Schedule.WEEKLY
    assert cleanup.next_run == datetime.datetime(2026, 3, 13, 4, 0, tzinfo=CAIRO)  # Friday
    # A release just after 01:30 must not skip a run the worker has not picked up yet.
    Schedule.objects.filter(pk=generate.pk).update(next_run=datetime.datetime(2026, 3, 10, 1, 30, tzinfo=CAIRO))
    call_command("setup_schedules")
    assert Schedule.objects.get(pk=generate.pk).next_run == datetime.datetime(2026, 3, 10, 1, 30, tzinfo=CAIRO)
    # A stored time that no longer matches the declaration is moved to it.
    Schedule.objects.filter(pk=generate.pk).update(next_run=datetime.datetime(2026, 3, 10, 5, 0, tzinfo=CAIRO))
    call_command("setup_schedules")
    assert Schedule.objects.get(pk=generate.pk).next_run == datetime.datetime(2026, 3, 11, 1, 30, tzinfo=CAIRO)
    assert Schedule.objects.count() == len(SCHEDULES)


def test_every_template_kind_declares_its_placeholders():
    assert set(SYSTEM_KEYS) <= set(TEMPLATE_PLACEHOLDERS)
    for key in SYSTEM_KEYS:
        assert "center_name" in TEMPLATE_PLACEHOLDERS[key]


@pytest.mark.django_db
def test_a_debtors_broadcast_reaches_only_guardians_of_students_who_owe(center, clock, classroom, manager):
    from core.models.money import LedgerEntry
    from tests.factories import make_branch

    group, other_group = classroom
    owing = Guardian.objects.get(phone="+201001110002").students.get().enrollments.get()
    LedgerEntry.objects.create(
        enrollment=owing, entry_type="charge", amount="200.00", date=NOON.date(), source="system"
    )
    paid_up = other_group.enrollments.get()
    LedgerEntry.objects.create(
        enrollment=paid_up, entry_type="charge", amount="150.00", date=NOON.date(), source="system"
    )
    LedgerEntry.objects.create(
        enrollment=paid_up, entry_type="payment", amount="150.00", date=NOON.date(), source="desk"
    )
    far_branch = make_branch()
    far = enrollment_create(
        actor=None, student=make_student(far_branch, guardian_phone="01001110009"), group=make_group(far_branch)
    )
    LedgerEntry.objects.create(enrollment=far, entry_type="charge", amount="90.00", date=NOON.date(), source="system")

    everywhere = Audience.debtors()
    assert broadcast_preview(audience=everywhere, text="برجاء السداد").recipients == 2
    here = Audience.debtors(branch_ids=[group.branch_id])
    broadcast = broadcast_send(actor=manager, audience=here, text="برجاء سداد المصروفات")
    assert broadcast.recipients == 1
    assert list(Message.objects.filter(broadcast=broadcast).values_list("phone", flat=True)) == ["+201001110002"]
