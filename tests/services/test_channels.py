"""Channels through the real outbox (issue 19): the Cloud API's templates and 24-hour window, SMS
for guardians who prefer it and as the fallback, and the circuit breaker with the stand-in going
down and up. Every provider is a real HTTP server on 127.0.0.1 (tests/fake_channels.py)."""

import datetime
import hashlib
import hmac
import json
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError

from core.models import CenterSettings, Channel, ChannelBreaker, CloudTemplate, InboundMessage, Message, MessageTemplate
from core.ops.health import MessageChannels
from core.selectors.channels import channel_states
from core.services.channels import message_fallback
from core.services.messaging import message_queue, message_send, messages_send_due
from tests.factories import CAIRO, make_student
from tests.fake_channels import FakeCloudAPI, FakeSmsGateway, point_at_cloud, point_at_sms

NOON = datetime.datetime(2026, 3, 10, 12, 0, tzinfo=CAIRO)
CONTEXT = {"group_name": "رياضيات ٣ ث", "time": datetime.time(16, 30)}


@pytest.fixture
def center(db) -> CenterSettings:
    center = CenterSettings.load()
    center.messaging_enabled = True
    center.center_name_ar = "سنتر النور"
    center.cost_per_message = Decimal("0.05")
    center.sms_cost_per_segment = Decimal("0.30")
    center.save()
    return center


@pytest.fixture
def clock():
    with time_machine.travel(NOON, tick=False) as traveller:
        yield traveller


@pytest.fixture
def cloud(settings):
    fake = FakeCloudAPI().start()
    point_at_cloud(settings, fake)
    settings.CHANNEL_BREAKER_FAILURES = 3
    settings.CHANNEL_BREAKER_COOLDOWN_SECONDS = 60
    yield fake
    fake.stop()


@pytest.fixture
def gateway(settings):
    fake = FakeSmsGateway().start()
    point_at_sms(settings, fake)
    yield fake
    fake.stop()


@pytest.fixture
def arrived_template(db) -> CloudTemplate:
    return CloudTemplate.objects.create(
        template=MessageTemplate.objects.get(key="arrived"),
        language="ar",
        name="student_arrived_v2",
        cloud_language="ar",
        parameters="student_name, group_name, time",
    )


def family(branch, phone="01001234567", *, name="أحمد محمود"):
    student = make_student(branch, name=name, guardian_phone=phone)
    return student.guardians.get(), student


def queue(guardian, student, *, event="arrived:1", template="arrived") -> Message:
    return message_queue(event=event, guardian=guardian, template=template, context=CONTEXT, student=student)


def reload(message: Message) -> Message:
    message.refresh_from_db()
    return message


def breaker(channel=Channel.WHATSAPP) -> ChannelBreaker:
    return ChannelBreaker.objects.get(channel=channel)


def sent_everywhere(cloud: FakeCloudAPI, gateway: FakeSmsGateway | None = None) -> list[str]:
    """Every message any stand-in took, by our reference / text: for the "never twice" checks."""
    taken = [entry["reference"] for entry in cloud.delivered]
    if gateway is not None:
        taken += [f"sms:{entry['message']}" for entry in gateway.delivered]
    return taken


# --- Cloud API: templates and the window --------------------------------------------------------


def test_outside_the_window_a_message_goes_as_its_approved_template(
    center, clock, cloud, arrived_template, main_branch
):
    guardian, student = family(main_branch)
    message = queue(guardian, student)
    assert message.channel == Channel.WHATSAPP
    assert message.params["student_name"] == "أحمد محمود" and message.params["time"] == "16:30"
    assert messages_send_due().sent == 1
    [entry] = cloud.delivered
    assert entry["reference"] == f"msg-{message.pk}" and entry["type"] == "template"
    template = entry["payload"]["template"]
    assert template["name"] == "student_arrived_v2"
    assert [p["text"] for p in template["components"][0]["parameters"]] == ["أحمد محمود", "رياضيات ٣ ث", "16:30"]
    message = reload(message)
    assert message.status == Message.Status.SENT and message.provider_id == "wamid.FAKE000001"
    assert message.cost == Decimal("0.05")


def test_inside_the_window_our_own_text_goes(center, clock, cloud, main_branch):
    guardian, student = family(main_branch)
    InboundMessage.objects.create(
        provider_id="wamid.IN", phone=guardian.phone, text="شكرا", received_at=NOON - datetime.timedelta(hours=23)
    )
    message = queue(guardian, student)
    messages_send_due()
    [entry] = cloud.delivered
    assert entry["type"] == "text" and entry["payload"]["text"]["body"] == message.body
    assert reload(message).status == Message.Status.SENT


def test_no_template_and_no_window_fails_for_good_without_calling_whatsapp(center, clock, cloud, main_branch):
    guardian, student = family(main_branch)
    message = queue(guardian, student)
    assert messages_send_due().failed == 1
    message = reload(message)
    assert message.status == Message.Status.FAILED and message.failure == Message.Failure.REJECTED
    assert message.last_error.startswith("ProviderRejected") and "arrived" in message.last_error
    assert cloud.requests == []


@pytest.mark.parametrize("mode", ["template_missing", "params_mismatch"])
def test_template_errors_fail_at_once_and_fall_back_to_sms_once(center, clock, cloud, gateway, main_branch, mode):
    guardian, student = family(main_branch)
    CloudTemplate.objects.create(
        template=MessageTemplate.objects.get(key="late_refused"), language="ar", name="late", parameters="student_name"
    )
    message = queue(guardian, student, event="late_refused:1", template="late_refused")  # mandatory
    cloud.mode = mode
    report = messages_send_due()
    assert (report.failed, report.sent) == (1, 1)  # the WhatsApp failure, then its SMS copy
    message = reload(message)
    assert message.status == Message.Status.FAILED and message.attempts == 1
    copy = message.fallback
    assert copy.channel == Channel.SMS and copy.status == Message.Status.SENT and copy.body == message.body
    assert [entry["message"] for entry in gateway.delivered] == [message.body]
    # Nothing more, however often the worker runs, a receipt is replayed, or the fallback is asked again.
    cloud.mode = "ok"
    assert messages_send_due().attempted == 0
    assert message_fallback(message_id=message.pk) == copy
    assert len(gateway.delivered) == 1 and cloud.delivered == []
    assert Message.objects.count() == 2


def test_not_on_whatsapp_is_its_own_failure_and_an_optional_message_falls_back_only_when_the_center_says(
    center, clock, cloud, gateway, arrived_template, main_branch
):
    guardian, student = family(main_branch)
    cloud.mode = "not_on_whatsapp"
    first = queue(guardian, student, event="arrived:1")  # optional
    messages_send_due()
    first = reload(first)
    assert first.failure == Message.Failure.NOT_ON_WHATSAPP and not Message.objects.filter(fallback_for=first).exists()
    assert gateway.delivered == []
    center.sms_fallback_optional = True
    center.save()
    second = queue(guardian, student, event="arrived:2")
    messages_send_due()
    assert reload(second).fallback.status == Message.Status.SENT
    assert len(gateway.delivered) == 1


def test_rate_limit_retries_later_and_sends_once(center, clock, cloud, arrived_template, main_branch):
    guardian, student = family(main_branch)
    message = queue(guardian, student)
    cloud.script = ["rate_limit"]
    assert messages_send_due().retrying == 1
    message = reload(message)
    assert message.status == Message.Status.PENDING and message.next_attempt_at == NOON + datetime.timedelta(minutes=1)
    assert "130429" in message.last_error
    assert breaker().failures == 1 and breaker().state == ChannelBreaker.State.CLOSED
    clock.shift(datetime.timedelta(minutes=1))
    assert messages_send_due().sent == 1
    assert cloud.references() == {f"msg-{message.pk}": 1}
    assert breaker().failures == 0  # an answer resets the count


def test_a_pair_rate_limit_retries_but_does_not_count_against_the_channel(
    center, clock, cloud, arrived_template, main_branch
):
    guardian, student = family(main_branch)
    queue(guardian, student)
    cloud.script = ["pair_limit"]
    assert messages_send_due().retrying == 1
    assert not ChannelBreaker.objects.filter(failures__gt=0).exists()


# --- SMS by preference ------------------------------------------------------------------------


def test_a_guardian_who_prefers_sms_gets_sms_priced_per_part(center, clock, cloud, gateway, main_branch):
    guardian, student = family(main_branch)
    guardian.message_channel = Channel.SMS
    guardian.save()
    message = queue(guardian, student)
    assert message.channel == Channel.SMS
    messages_send_due()
    message = reload(message)
    assert message.status == Message.Status.SENT and message.provider_id
    from core.providers.sms import sms_size

    parts = sms_size(message.body).segments
    assert parts >= 2  # Arabic: 70 characters a part
    assert message.cost == Decimal("0.30") * parts
    assert [entry["mobile"] for entry in gateway.delivered] == ["201001234567"]
    assert cloud.requests == []


def test_sms_preference_without_a_gateway_stays_on_whatsapp(center, clock, main_branch, settings):
    settings.SMS_PROVIDER = ""
    guardian, student = family(main_branch)
    guardian.message_channel = Channel.SMS
    guardian.save()
    assert queue(guardian, student).channel == Channel.WHATSAPP


def test_a_failed_receipt_falls_back_once_even_when_replayed(
    center, clock, cloud, gateway, main_branch, client, settings
):
    guardian, student = family(main_branch)
    InboundMessage.objects.create(provider_id="wamid.IN", phone=guardian.phone, text="?", received_at=NOON)
    message = queue(guardian, student, event="late_refused:9", template="late_refused")
    messages_send_due()
    assert reload(message).status == Message.Status.SENT
    status = {
        "id": "wamid.FAKE000001",
        "status": "failed",
        "timestamp": "1773000000",
        "biz_opaque_callback_data": f"msg-{message.pk}",
        "errors": [{"code": 131026, "title": "Message undeliverable"}],
    }
    raw = json.dumps({"entry": [{"changes": [{"value": {"statuses": [status]}}]}]}).encode()
    sig = "sha256=" + hmac.new(settings.WHATSAPP_CLOUD_APP_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    for _replay in range(3):
        assert (
            client.post(
                "/webhooks/whatsapp/", data=raw, content_type="application/json", HTTP_X_HUB_SIGNATURE_256=sig
            ).status_code
            == 200
        )
    message = reload(message)
    assert message.status == Message.Status.FAILED and message.failure == Message.Failure.NOT_ON_WHATSAPP
    assert Message.objects.filter(fallback_for=message).count() == 1
    messages_send_due()
    messages_send_due()
    assert len(gateway.delivered) == 1 and len(cloud.delivered) == 1


# --- Circuit breaker --------------------------------------------------------------------------


def test_the_breaker_opens_waits_probes_and_closes_with_the_provider_down_then_up(
    center, clock, cloud, arrived_template, main_branch
):
    families = [family(main_branch, f"0100555{index:04d}") for index in range(6)]
    messages = [
        queue(guardian, student, event=f"arrived:{index}") for index, (guardian, student) in enumerate(families)
    ]
    cloud.stop()  # the provider goes down

    report = messages_send_due()
    # Three failures in a row open the channel; the rest of the batch waits unattempted.
    assert (report.retrying, report.skipped, report.sent) == (3, 3, 0)
    row = breaker()
    assert (row.state, row.failures, row.retry_at) == (
        ChannelBreaker.State.OPEN,
        3,
        NOON + datetime.timedelta(seconds=60),
    )
    assert sorted(reload(message).attempts for message in messages) == [0, 0, 0, 1, 1, 1]
    assert all(reload(message).status == Message.Status.PENDING for message in messages)  # nothing dropped
    [whatsapp, sms] = channel_states()
    assert (whatsapp.channel, whatsapp.state, whatsapp.working) == ("whatsapp", "open", False) and sms.working
    # /health/ runs its checks in threads (their own connections): the check itself, here.
    check = MessageChannels()
    check.run()
    assert repr(check) == "MessageChannels(whatsapp='open, retry in 60 s', sms='closed')"

    # Cooling: nothing is tried, even for messages whose retry time has come.
    clock.shift(datetime.timedelta(seconds=59))
    assert messages_send_due().attempted == 0
    assert message_send(message_id=messages[5].pk) is None

    # Cooled down, still down: one probe, which reopens the channel.
    clock.shift(datetime.timedelta(seconds=2))
    report = messages_send_due()
    assert report.attempted == 1 and report.retrying == 1
    row = breaker()
    assert row.state == ChannelBreaker.State.OPEN and row.retry_at == NOON + datetime.timedelta(seconds=61 + 60)
    assert sum(reload(message).attempts for message in messages) == 4

    # The provider is back: the next probe closes the channel and everything waiting goes, once.
    cloud.restart()
    clock.shift(datetime.timedelta(seconds=61))
    report = messages_send_due()
    assert report.sent == 6 and report.retrying == 0
    assert breaker().state == ChannelBreaker.State.CLOSED and breaker().failures == 0
    assert sorted(sent_everywhere(cloud)) == sorted(f"msg-{message.pk}" for message in messages)
    assert all(reload(message).status == Message.Status.SENT for message in messages)


def test_a_probe_with_nothing_to_send_is_given_back(center, clock, cloud):
    ChannelBreaker.objects.create(
        channel=Channel.WHATSAPP,
        state=ChannelBreaker.State.OPEN,
        failures=3,
        retry_at=NOON - datetime.timedelta(seconds=1),
    )
    assert messages_send_due().attempted == 0
    row = breaker()
    assert row.state == ChannelBreaker.State.OPEN and row.retry_at == NOON and row.probe_started_at is None


def test_one_channel_open_does_not_stop_the_other(center, clock, cloud, gateway, arrived_template, main_branch):
    ChannelBreaker.objects.create(
        channel=Channel.WHATSAPP,
        state=ChannelBreaker.State.OPEN,
        failures=3,
        retry_at=NOON + datetime.timedelta(minutes=5),
    )
    by_whatsapp, student = family(main_branch, "01005550001")
    by_sms, other = family(main_branch, "01005550002")
    by_sms.message_channel = Channel.SMS
    by_sms.save()
    waiting = queue(by_whatsapp, student, event="arrived:1")
    texted = queue(by_sms, other, event="arrived:2")
    assert messages_send_due().sent == 1
    assert reload(texted).status == Message.Status.SENT and reload(waiting).status == Message.Status.PENDING
    assert cloud.requests == [] and len(gateway.delivered) == 1


def test_sms_gateway_down_opens_the_sms_channel(center, clock, gateway, main_branch, settings):
    settings.CHANNEL_BREAKER_FAILURES = 2
    gateway.mode = "500"
    for index in range(3):
        guardian, student = family(main_branch, f"0100666{index:04d}")
        guardian.message_channel = Channel.SMS
        guardian.save()
        queue(guardian, student, event=f"arrived:{index}")
    report = messages_send_due()
    assert (report.retrying, report.skipped) == (2, 1)
    assert breaker(Channel.SMS).state == ChannelBreaker.State.OPEN


# --- The mapping's validation -----------------------------------------------------------------


def test_a_mapping_must_use_our_placeholders_and_carry_everything_our_text_says(db):
    template = MessageTemplate.objects.get(key="arrived")
    mapping = CloudTemplate(template=template, language="ar", name="x", parameters="student_name, teacher_phone")
    with pytest.raises(ValidationError) as caught:
        mapping.full_clean()
    errors = " ".join(caught.value.message_dict["parameters"])
    assert "teacher_phone" in errors
    from core.models.messaging import placeholders_used

    used = list(dict.fromkeys(placeholders_used(template.text_ar)))
    mapping.parameters = ", ".join(used[1:])  # one left out: the parent would miss it
    with pytest.raises(ValidationError) as caught:
        mapping.full_clean()
    assert used[0] in " ".join(caught.value.message_dict["parameters"])
    mapping.parameters = ", ".join(used)
    mapping.full_clean()


def test_the_cost_report_splits_whatsapp_and_sms(center, clock, cloud, gateway, arrived_template, main_branch):
    from core.selectors.messaging import message_costs_by_month

    by_whatsapp, first = family(main_branch, "01005550001")
    by_sms, second = family(main_branch, "01005550002")
    by_sms.message_channel = Channel.SMS
    by_sms.save()
    queue(by_whatsapp, first, event="arrived:1")
    texted = queue(by_sms, second, event="arrived:2")
    messages_send_due()
    [month] = message_costs_by_month()
    sms_cost = reload(texted).cost
    assert month["channel_costs"] == {"whatsapp": Decimal("0.05"), "sms": sms_cost}
    assert month["cost"] == Decimal("0.05") + sms_cost and sms_cost >= Decimal("0.60")


# --- Whole flows ------------------------------------------------------------------------------


def cloud_post(client, settings, value: dict):
    raw = json.dumps({"entry": [{"changes": [{"value": value}]}]}).encode()
    sig = "sha256=" + hmac.new(settings.WHATSAPP_CLOUD_APP_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    return client.post("/webhooks/whatsapp/", data=raw, content_type="application/json", HTTP_X_HUB_SIGNATURE_256=sig)


def test_stop_then_the_confirmation_goes_as_text_and_only_mandatory_messages_follow(
    center, clock, cloud, arrived_template, main_branch, client, settings
):
    guardian, student = family(main_branch)
    stop = {"from": "201001234567", "id": "wamid.STOP", "timestamp": str(int(NOON.timestamp())), "type": "text"}
    stop["text"] = {"body": "ايقاف"}
    assert cloud_post(client, settings, {"messages": [stop]}).status_code == 200
    messages_send_due()
    [confirmation] = cloud.delivered
    assert confirmation["type"] == "text"  # inside the window the parent just opened
    assert "الرسائل الاختيارية" in confirmation["payload"]["text"]["body"]
    guardian.refresh_from_db()
    assert queue(guardian, student, event="arrived:after-stop") is None  # optional: not queued
    refused = queue(guardian, student, event="late_refused:after-stop", template="late_refused")
    assert refused is not None and refused.is_mandatory
    messages_send_due()
    assert [entry["reference"] for entry in cloud.delivered][1:] == [f"msg-{refused.pk}"]


def test_a_message_sent_by_ultramsg_is_delivered_then_read_by_its_callbacks(
    center, clock, main_branch, client, settings
):
    from tests.fake_ultramsg import FakeUltraMsg, point_settings_at

    settings.ULTRAMSG_WEBHOOK_SECRET = "ultra-secret"
    fake = FakeUltraMsg().start()
    try:
        point_settings_at(settings, fake)
        guardian, student = family(main_branch)
        message = queue(guardian, student)
        assert messages_send_due().sent == 1
        reference = fake.delivered[0]["referenceId"]
        for ack, seconds in (("server", 1), ("device", 2), ("read", 3), ("device", 4)):
            event = {
                "event_type": "message_ack",
                "data": {"referenceId": reference, "ack": ack, "time": int(NOON.timestamp()) + seconds},
            }
            assert (
                client.post("/webhooks/ultramsg/ultra-secret/", data=event, content_type="application/json").status_code
                == 200
            )
        message = reload(message)
        assert message.delivered_at == NOON + datetime.timedelta(seconds=2)
        assert message.read_at == NOON + datetime.timedelta(seconds=3)
        assert fake.deliveries_by_reference() == {reference: 1}
    finally:
        fake.stop()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_workers_falling_back_at_once_make_one_sms(settings, main_branch):
    from django.db import connection, connections

    if connection.vendor != "postgresql":
        pytest.skip("SQLite serializes writers: the race needs PostgreSQL")
    import threading

    from core.services.messaging import idempotency_key

    settings.SMS_PROVIDER = "console"
    guardian, _student = family(main_branch)
    failed = Message.objects.create(
        guardian=guardian,
        phone=guardian.phone,
        template_key="late_refused",
        body="x",
        is_mandatory=True,
        event="late_refused:race",
        idempotency_key=idempotency_key("late_refused:race", guardian.pk),
        status=Message.Status.FAILED,
        failure=Message.Failure.NOT_ON_WHATSAPP,
    )
    barrier, copies = threading.Barrier(2), []

    def fall_back():
        try:
            barrier.wait(5)
            copies.append(message_fallback(message_id=failed.pk))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=fall_back) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert Message.objects.filter(fallback_for=failed).count() == 1
    assert len(copies) == 2 and copies[0].pk == copies[1].pk


def test_a_staff_retry_skips_a_message_whose_sms_fallback_went(center, clock, cloud, gateway, main_branch, owner):
    from core.services.messaging import messages_retry

    guardian, student = family(main_branch)
    message = queue(guardian, student, event="late_refused:1", template="late_refused")  # no template: rejected
    messages_send_due()
    assert reload(message).fallback.status == Message.Status.SENT
    assert messages_retry(actor=owner, messages=Message.objects.filter(pk=message.pk)) == 0
    assert reload(message).status == Message.Status.FAILED
    messages_send_due()
    assert len(gateway.delivered) == 1 and cloud.requests == []


def test_a_stale_probe_is_taken_again_and_metrics_show_a_paused_channel(
    center, clock, cloud, arrived_template, main_branch, client, settings
):
    from tests.test_metrics import samples

    guardian, student = family(main_branch)
    message = queue(guardian, student)
    # A worker took the probe 11 minutes ago and died: the next claim probes again.
    ChannelBreaker.objects.create(
        channel=Channel.WHATSAPP,
        state=ChannelBreaker.State.HALF_OPEN,
        failures=3,
        probe_started_at=NOON - datetime.timedelta(minutes=11),
    )
    settings.METRICS_TOKEN = "metrics-token"
    figures = samples(client.get("/metrics", HTTP_AUTHORIZATION="Bearer metrics-token").content.decode())
    assert figures[("syseducore_channel_paused", (("channel", "whatsapp"),))] == 1
    assert figures[("syseducore_channel_paused", (("channel", "sms"),))] == 0
    assert messages_send_due().sent == 1
    assert reload(message).status == Message.Status.SENT and breaker().state == ChannelBreaker.State.CLOSED
    figures = samples(client.get("/metrics", HTTP_AUTHORIZATION="Bearer metrics-token").content.decode())
    assert figures[("syseducore_channel_paused", (("channel", "whatsapp"),))] == 0


def test_a_fresh_probe_in_flight_blocks_other_workers(center, clock, cloud, arrived_template, main_branch):
    guardian, student = family(main_branch)
    queue(guardian, student)
    ChannelBreaker.objects.create(
        channel=Channel.WHATSAPP,
        state=ChannelBreaker.State.HALF_OPEN,
        failures=3,
        probe_started_at=NOON - datetime.timedelta(minutes=1),
    )
    assert messages_send_due().attempted == 0 and cloud.requests == []


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_cloud_stand_in_posts_signed_receipts_and_replies_over_http(live_server, settings):
    """Meta's side for real: the stand-in posts the webhook over HTTP to a running server."""
    from core.models import Guardian
    from core.services.messaging import idempotency_key

    settings.WHATSAPP_CLOUD_APP_SECRET = "app-secret"
    fake = FakeCloudAPI()  # only its webhook sender is used
    guardian = Guardian.objects.create(full_name="ولي أمر", phone="+201001234567")
    message = Message.objects.create(
        guardian=guardian,
        phone=guardian.phone,
        template_key="arrived",
        body="حضر",
        event="arrived:live",
        idempotency_key=idempotency_key("arrived:live", guardian.pk),
        status=Message.Status.SENT,
    )
    url = live_server.url + "/webhooks/whatsapp/"
    read = {
        "statuses": [
            {
                "id": "wamid.X",
                "status": "read",
                "timestamp": "1773000000",
                "biz_opaque_callback_data": f"msg-{message.pk}",
            }
        ]
    }
    reply = {
        "messages": [
            {
                "from": "201001234567",
                "id": "wamid.R",
                "timestamp": "1773000000",
                "type": "text",
                "text": {"body": "شكرًا"},
            }
        ]
    }
    assert fake.notify(url, read, secret="wrong-secret") == 403
    assert fake.notify(url, reply, secret="app-secret", signature="sha256=" + "0" * 64) == 403
    assert reload(message).read_at is None and not InboundMessage.objects.exists()
    assert fake.notify(url, read, secret="app-secret") == 200
    assert fake.notify(url, reply, secret="app-secret") == 200
    assert reload(message).read_at == datetime.datetime.fromtimestamp(1773000000, tz=datetime.UTC)
    assert InboundMessage.objects.get().text == "شكرًا"
