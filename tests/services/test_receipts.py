"""Delivery receipts and parents' replies through the real webhook endpoints (issue 19).

The Cloud API webhook is posted exactly as Meta signs it (HMAC-SHA256 of the raw body with the
app secret); UltraMsg's callbacks carry the shared secret in their URL or a header.
"""

import datetime
import hashlib
import hmac
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.models import AuditLog, Channel, Guardian, InboundMessage, Message
from core.services.messaging import idempotency_key
from core.services.receipts import is_stop_request

APP_SECRET = "app-secret"
T0 = 1_773_000_000  # a fixed epoch second for receipts


@pytest.fixture(autouse=True)
def webhook_settings(settings):
    settings.WHATSAPP_CLOUD_APP_SECRET = APP_SECRET
    settings.WHATSAPP_CLOUD_VERIFY_TOKEN = "verify-me"
    settings.ULTRAMSG_WEBHOOK_SECRET = "ultra-secret"


@pytest.fixture
def guardian(db):
    return Guardian.objects.create(full_name="محمود أحمد", phone="+201001234567")


def sent_message(guardian, *, status=Message.Status.SENT, channel=Channel.WHATSAPP, mandatory=False, event="arrived:1"):
    return Message.objects.create(
        guardian=guardian,
        phone=guardian.phone,
        template_key="arrived",
        body="حضر أحمد",
        is_mandatory=mandatory,
        event=event,
        idempotency_key=idempotency_key(event, guardian.pk),
        status=status,
        channel=channel,
        provider_id="wamid.A1",
    )


def cloud_body(statuses=(), messages=()) -> bytes:
    value = {"messaging_product": "whatsapp", "metadata": {"phone_number_id": "1234567890"}}
    if statuses:
        value["statuses"] = list(statuses)
    if messages:
        value["messages"] = list(messages)
    payload = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": value}]}],
    }
    return json.dumps(payload).encode()


def status(message, state, *, at=T0, errors=None):
    entry = {
        "id": "wamid.A1",
        "status": state,
        "timestamp": str(at),
        "recipient_id": message.phone.lstrip("+"),
        "biz_opaque_callback_data": f"msg-{message.pk}",
    }
    if errors:
        entry["errors"] = errors
    return entry


def signature(raw: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def post_cloud(client, raw: bytes, sig: str | None = None):
    headers = {} if sig is None else {"HTTP_X_HUB_SIGNATURE_256": sig}
    return client.post("/webhooks/whatsapp/", data=raw, content_type="application/json", **headers)


def at(seconds: int) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)


def test_verify_handshake_echoes_the_challenge_only_with_our_token(client, db):
    ok = client.get(
        "/webhooks/whatsapp/", {"hub.mode": "subscribe", "hub.verify_token": "verify-me", "hub.challenge": "1158201444"}
    )
    assert ok.status_code == 200 and ok.content == b"1158201444"
    wrong = client.get(
        "/webhooks/whatsapp/", {"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "1"}
    )
    assert wrong.status_code == 403 and b"1" not in wrong.content.replace(b"mismatch", b"")


def test_signed_receipts_move_sent_delivered_read_with_their_times(client, guardian):
    message = sent_message(guardian)
    raw = cloud_body([status(message, "delivered", at=T0 + 5)])
    assert post_cloud(client, raw, signature(raw)).status_code == 200
    message.refresh_from_db()
    assert message.delivered_at == at(T0 + 5) and message.read_at is None
    raw = cloud_body([status(message, "read", at=T0 + 60)])
    assert post_cloud(client, raw, signature(raw)).status_code == 200
    message.refresh_from_db()
    assert (message.status, message.delivered_at, message.read_at) == (Message.Status.SENT, at(T0 + 5), at(T0 + 60))


def test_read_before_delivered_sets_both_and_a_late_delivered_changes_nothing(client, guardian):
    message = sent_message(guardian)
    for state, seconds in (("read", T0 + 60), ("delivered", T0 + 5), ("sent", T0), ("failed", T0 + 90)):
        raw = cloud_body([status(message, state, at=seconds)])
        assert post_cloud(client, raw, signature(raw)).status_code == 200
    message.refresh_from_db()
    # Never backwards: read stays read, a late failed receipt after read changes nothing.
    assert (message.status, message.delivered_at, message.read_at) == (Message.Status.SENT, at(T0 + 60), at(T0 + 60))


@pytest.mark.parametrize(
    "bad_signature",
    [None, "", "sha256=" + "0" * 64, "sha1=abc", "forged"],
)
def test_unsigned_or_forged_posts_are_refused_and_change_nothing(client, guardian, bad_signature):
    message = sent_message(guardian)
    raw = cloud_body(
        [status(message, "read")],
        [{"from": "201001234567", "id": "wamid.IN1", "timestamp": str(T0), "type": "text", "text": {"body": "STOP"}}],
    )
    assert post_cloud(client, raw, bad_signature).status_code == 403
    message.refresh_from_db()
    guardian.refresh_from_db()
    assert message.read_at is None and InboundMessage.objects.count() == 0 and guardian.message_opt_outs == []


def test_a_signature_of_other_bytes_or_another_secret_is_refused(client, guardian):
    message = sent_message(guardian)
    raw = cloud_body([status(message, "read")])
    assert post_cloud(client, raw, signature(raw, "other-secret")).status_code == 403
    assert post_cloud(client, raw + b" ", signature(raw)).status_code == 403  # the body was changed
    message.refresh_from_db()
    assert message.read_at is None


def test_no_app_secret_configured_refuses_everything(client, guardian, settings):
    settings.WHATSAPP_CLOUD_APP_SECRET = ""
    message = sent_message(guardian)
    raw = cloud_body([status(message, "read")])
    assert post_cloud(client, raw, "sha256=" + hmac.new(b"", raw, hashlib.sha256).hexdigest()).status_code == 403


def test_a_replayed_receipt_changes_nothing(client, guardian):
    message = sent_message(guardian)
    raw = cloud_body([status(message, "delivered", at=T0 + 5)])
    post_cloud(client, raw, signature(raw))
    message.refresh_from_db()
    first = (message.delivered_at, message.status)
    with CaptureQueriesContext(connection) as queries:
        assert post_cloud(client, raw, signature(raw)).status_code == 200
    message.refresh_from_db()
    assert (message.delivered_at, message.status) == first
    assert not [
        q
        for q in queries.captured_queries
        if q["sql"].startswith("UPDATE") and 'delivered_at" =' in q["sql"] and "IS NULL" not in q["sql"]
    ]


def test_a_receipt_confirms_an_unconfirmed_message(client, guardian):
    message = sent_message(guardian, status=Message.Status.UNKNOWN)
    raw = cloud_body([status(message, "delivered", at=T0)])
    post_cloud(client, raw, signature(raw))
    message.refresh_from_db()
    assert message.status == Message.Status.SENT and message.sent_at == at(T0) and message.delivered_at == at(T0)
    assert message.cost > 0


def test_a_failed_receipt_not_on_whatsapp_fails_the_message(client, guardian):
    message = sent_message(guardian)
    errors = [{"code": 131026, "title": "Message undeliverable"}]
    raw = cloud_body([status(message, "failed", at=T0 + 3, errors=errors)])
    post_cloud(client, raw, signature(raw))
    message.refresh_from_db()
    assert (message.status, message.failure, message.failed_at) == (
        Message.Status.FAILED,
        Message.Failure.NOT_ON_WHATSAPP,
        at(T0 + 3),
    )
    assert "131026" in message.last_error


def test_ultramsg_acks_with_the_secret_in_the_url_or_header(client, guardian):
    message = sent_message(guardian)
    event = {
        "event_type": "message_ack",
        "instanceId": "1",
        "data": {"id": "x1", "referenceId": f"msg-{message.pk}", "ack": "device", "time": T0},
    }
    assert (
        client.post("/webhooks/ultramsg/ultra-secret/", data=event, content_type="application/json").status_code == 200
    )
    message.refresh_from_db()
    assert message.delivered_at == at(T0)
    event["data"].update(ack="read", time=T0 + 9)
    response = client.post(
        "/webhooks/ultramsg/", data=event, content_type="application/json", HTTP_X_WEBHOOK_SECRET="ultra-secret"
    )
    assert response.status_code == 200
    message.refresh_from_db()
    assert message.read_at == at(T0 + 9)


@pytest.mark.parametrize(
    "path,header", [("/webhooks/ultramsg/wrong/", ""), ("/webhooks/ultramsg/", ""), ("/webhooks/ultramsg/", "wrong")]
)
def test_ultramsg_callbacks_without_the_secret_are_refused(client, guardian, path, header):
    message = sent_message(guardian)
    event = {"event_type": "message_ack", "data": {"referenceId": f"msg-{message.pk}", "ack": "read", "time": T0}}
    extra = {"HTTP_X_WEBHOOK_SECRET": header} if header else {}
    assert client.post(path, data=event, content_type="application/json", **extra).status_code == 403
    message.refresh_from_db()
    assert message.read_at is None


def test_ultramsg_refuses_everything_when_no_secret_is_configured(client, guardian, settings):
    settings.ULTRAMSG_WEBHOOK_SECRET = ""
    assert client.post("/webhooks/ultramsg/", data={}, content_type="application/json").status_code == 403


def test_webhooks_take_no_other_method(client, db):
    assert client.put("/webhooks/whatsapp/").status_code == 405
    assert client.get("/webhooks/ultramsg/ultra-secret/").status_code == 405


@pytest.mark.parametrize(
    "text",
    [
        "STOP",
        "stop",
        " Stop. ",
        "إيقاف",
        "ايقاف",
        "أيقاف",
        "إيـقاف",
        "الغاء",
        "إلغاء الاشتراك",
        "توقف",
        "unsubscribe",
        "STOP ALL",
    ],
)
def test_stop_variants(text):
    assert is_stop_request(text)


@pytest.mark.parametrize("text", ["Stop sending at night please", "شكرا", "متى الحصة القادمة؟", "", "stopp"])
def test_other_replies_are_not_stop(text):
    assert not is_stop_request(text)


def inbound(text, *, message_id="wamid.IN1", sender="201001234567"):
    return {"from": sender, "id": message_id, "timestamp": str(T0), "type": "text", "text": {"body": text}}


def test_stop_opts_the_guardian_out_with_an_audit_and_a_confirmation_once(
    client, guardian, django_capture_on_commit_callbacks
):
    raw = cloud_body(messages=[inbound("إيقاف")])
    with django_capture_on_commit_callbacks(execute=False):
        assert post_cloud(client, raw, signature(raw)).status_code == 200
        assert post_cloud(client, raw, signature(raw)).status_code == 200  # Meta retries deliveries
    guardian.refresh_from_db()
    assert set(guardian.message_opt_outs) >= {"arrived", "absent", "payment_reminder", "broadcast"}
    [row] = InboundMessage.objects.all()
    assert row.kind == InboundMessage.Kind.STOP and row.guardian == guardian and row.handled_at is not None
    audit = AuditLog.objects.get(model="core.guardian", object_id=str(guardian.pk))
    assert "إيقاف" in audit.reason and audit.changes["message_opt_outs"][0] == []
    [confirmation] = Message.objects.filter(template_key="opt_out_confirmed")
    assert (
        confirmation.is_mandatory
        and confirmation.phone == guardian.phone
        and confirmation.status == Message.Status.PENDING
    )


def test_other_replies_wait_in_the_inbox_and_open_the_window(client, guardian):
    from core.services.channels import conversation_open

    assert not conversation_open(guardian.phone, now=at(T0 + 60))
    raw = cloud_body(
        messages=[inbound("متى الحصة القادمة؟"), inbound("hello", message_id="wamid.IN2", sender="201119999999")]
    )
    post_cloud(client, raw, signature(raw))
    rows = {row.phone: row for row in InboundMessage.objects.all()}
    assert rows["+201001234567"].guardian == guardian and rows["+201001234567"].kind == InboundMessage.Kind.REPLY
    assert rows["+201119999999"].guardian is None  # an unknown number still reaches the office
    assert all(row.handled_at is None for row in rows.values())
    guardian.refresh_from_db()
    assert guardian.message_opt_outs == []
    assert conversation_open(guardian.phone, now=at(T0 + 60))
    assert not conversation_open(guardian.phone, now=at(T0 + 25 * 3600))


def test_ultramsg_incoming_stop(client, guardian):
    event = {
        "event_type": "message_received",
        "data": {"id": "in-1", "from": "201001234567@c.us", "body": "STOP", "fromMe": False, "time": T0},
    }
    client.post("/webhooks/ultramsg/ultra-secret/", data=event, content_type="application/json")
    guardian.refresh_from_db()
    assert "arrived" in guardian.message_opt_outs
    assert InboundMessage.objects.get().kind == InboundMessage.Kind.STOP


def test_a_signed_post_from_a_logged_in_browser_is_refused_and_changes_nothing(client, guardian, settings):
    # The webhooks are CSRF-exempt because they authenticate by signature; they must never act
    # on a request that carries somebody's session, signed or not.
    message = sent_message(guardian)
    raw = cloud_body([status(message, "delivered", at=T0 + 5)])
    client.cookies[settings.SESSION_COOKIE_NAME] = "anything"
    assert post_cloud(client, raw, signature(raw)).status_code == 403
    assert client.post("/webhooks/ultramsg/", data=b"{}", content_type="application/json").status_code == 403
    message.refresh_from_db()
    assert message.delivered_at is None
