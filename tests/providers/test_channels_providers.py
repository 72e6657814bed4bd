"""The WhatsApp Cloud API and SMS gateway providers against real local HTTP stand-ins."""

import pytest

from core.providers.sms import HttpSmsProvider, SmsGatewayConfig, sms_provider_get, sms_size
from core.providers.whatsapp import (
    ProviderBadReply,
    ProviderError,
    ProviderHTTPError,
    ProviderLookupError,
    ProviderRejected,
    ProviderUnavailable,
    provider_get,
)
from core.providers.whatsapp_cloud import CloudAPIProvider, TemplateCall
from tests.fake_channels import FakeCloudAPI, FakeSmsGateway, point_at_cloud, point_at_sms

ARABIC = "حضر أحمد محمود حصة الرياضيات الساعة 16:30"


@pytest.fixture
def cloud():
    server = FakeCloudAPI().start()
    yield server
    server.stop()


@pytest.fixture
def gateway():
    server = FakeSmsGateway().start()
    yield server
    server.stop()


@pytest.fixture
def cloud_provider(cloud, settings):
    point_at_cloud(settings, cloud)
    provider = provider_get()
    assert isinstance(provider, CloudAPIProvider)
    return provider


def test_cloud_template_send_posts_name_language_and_parameters_in_order(cloud, cloud_provider):
    template = TemplateCall(name="student_arrived", language="ar", parameters=("أحمد", "16:30"))
    result = cloud_provider.send(to="+201001234567", body=ARABIC, reference="msg-5", template=template)
    assert result.provider_id == "wamid.FAKE000001"
    [request] = cloud.requests
    assert request.headers["Authorization"] == "Bearer cloud-token"
    payload = request.json
    assert payload["to"] == "201001234567"
    assert payload["biz_opaque_callback_data"] == "msg-5"
    assert payload["type"] == "template"
    assert payload["template"] == {
        "name": "student_arrived",
        "language": {"code": "ar"},
        "components": [
            {"type": "body", "parameters": [{"type": "text", "text": "أحمد"}, {"type": "text", "text": "16:30"}]}
        ],
    }
    assert "أحمد".encode() in request.raw_body  # UTF-8 on the wire, not \u escapes


def test_cloud_free_text_send_carries_our_body(cloud, cloud_provider):
    cloud_provider.send(to="+201001234567", body=ARABIC, reference="msg-6")
    payload = cloud.requests[0].json
    assert payload["type"] == "text" and payload["text"] == {"preview_url": False, "body": ARABIC}


@pytest.mark.parametrize(
    ("mode", "temporary", "not_on_channel", "channel_fault"),
    [
        ("rate_limit", True, False, True),
        ("pair_limit", True, False, False),
        ("bad_token", True, False, True),
        ("500", True, False, True),
        ("not_on_whatsapp", False, True, False),
        ("template_missing", False, False, False),
        ("params_mismatch", False, False, False),
        ("outside_window", False, False, False),
    ],
)
def test_cloud_errors_keep_the_outbox_meaning(cloud, cloud_provider, mode, temporary, not_on_channel, channel_fault):
    cloud.mode = mode
    with pytest.raises(ProviderError) as caught:
        cloud_provider.send(to="+201001234567", body="x", reference="msg-1")
    error = caught.value
    assert error.temporary is temporary
    assert error.not_on_channel is not_on_channel
    assert error.channel_fault is channel_fault
    assert not error.may_have_left  # an error answer is certain: nothing left
    if not temporary:
        assert isinstance(error, ProviderRejected)
    assert cloud.delivered == []


def test_cloud_rate_limit_names_its_code(cloud, cloud_provider):
    cloud.mode = "rate_limit"
    with pytest.raises(ProviderHTTPError) as caught:
        cloud_provider.send(to="+201001234567", body="x", reference="msg-1")
    assert caught.value.code == 130429 and "130429" in str(caught.value)


def test_cloud_garbled_200_may_have_left(cloud, cloud_provider):
    cloud.mode = "garbage"
    with pytest.raises(ProviderBadReply) as caught:
        cloud_provider.send(to="+201001234567", body="x", reference="msg-1")
    assert caught.value.may_have_left


def test_cloud_down_is_certainly_not_sent_and_lookup_cannot_tell(cloud, cloud_provider):
    cloud.stop()
    with pytest.raises(ProviderUnavailable) as caught:
        cloud_provider.send(to="+201001234567", body="x", reference="msg-1")
    assert not caught.value.may_have_left and caught.value.channel_fault
    with pytest.raises(ProviderLookupError):
        cloud_provider.lookup(reference="msg-1")
    cloud.restart()
    assert cloud_provider.send(to="+201001234567", body="x", reference="msg-1").provider_id


def test_sms_gateway_form_post_with_configured_names(gateway, settings):
    point_at_sms(settings, gateway)
    provider = sms_provider_get()
    result = provider.send(to="+201001234567", body=ARABIC, reference="msg-9")
    assert result.provider_id == "1"
    [sent] = gateway.delivered
    assert sent == {
        "number": 1,
        "environment": "1",
        "language": "2",
        "mobile": "201001234567",
        "message": ARABIC,
        "sender": "NourCenter",
        "username": "center",
        "password": "sms-secret",
    }


@pytest.mark.parametrize("method", ["get", "json"])
def test_sms_gateway_get_and_json(gateway, method):
    config = SmsGatewayConfig(
        url=gateway.base_url + "/send",
        method=method,
        to_param="to",
        text_param="text",
        reference_param="ref",
        phone_style="local",
        success_text="1901",
        timeout=2,
    )
    HttpSmsProvider(config).send(to="+201001234567", body="hello", reference="msg-3")
    [request] = gateway.requests
    assert request.method == ("GET" if method == "get" else "POST")
    assert request.form == {"to": "01001234567", "text": "hello", "ref": "msg-3"}


def test_sms_gateway_refusal_and_errors_are_certain_failures(gateway, settings):
    point_at_sms(settings, gateway)
    provider = sms_provider_get()
    gateway.script = ["refused", "500"]
    for _attempt in range(2):
        with pytest.raises(ProviderError) as caught:
            provider.send(to="+201001234567", body="x", reference="msg-1")
        assert caught.value.temporary and not caught.value.may_have_left
    assert gateway.delivered == []


def test_sms_off_unless_configured(settings):
    settings.SMS_PROVIDER = ""
    assert sms_provider_get() is None


@pytest.mark.parametrize(
    ("text", "encoding", "segments"),
    [
        ("a" * 160, "gsm7", 1),
        ("a" * 161, "gsm7", 2),
        ("a" * 306, "gsm7", 2),
        ("a" * 307, "gsm7", 3),
        ("{" * 80, "gsm7", 1),  # extension characters count twice: 160 septets
        ("{" * 81, "gsm7", 2),
        ("ب" * 70, "ucs2", 1),
        ("ب" * 71, "ucs2", 2),
        ("ب" * 134, "ucs2", 2),
        ("ب" * 135, "ucs2", 3),
        ("a" * 69 + "😀", "ucs2", 2),  # an emoji is two UTF-16 units: 71
    ],
)
def test_sms_segments(text, encoding, segments):
    size = sms_size(text)
    assert (size.encoding, size.segments) == (encoding, segments)
