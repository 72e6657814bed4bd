"""The WhatsApp providers against a real local HTTP server that answers like UltraMsg."""

import json
import logging
import socket
import threading

import pytest

from core.providers.whatsapp import (
    ConsoleProvider,
    LookupState,
    ProviderBadReply,
    ProviderCutOff,
    ProviderError,
    ProviderHTTPError,
    ProviderLookupError,
    ProviderRejected,
    ProviderTimeout,
    ProviderUnavailable,
    UltraMsgProvider,
    provider_get,
)
from tests.fake_ultramsg import FakeUltraMsg, point_settings_at

ARABIC_BODY = "ولي أمر أحمد محمود الفاضل، نحيطكم علمًا بحضور أحمد حصة الرياضيات الساعة 16:30.\nسنتر النور ✅"


@pytest.fixture
def fake():
    server = FakeUltraMsg().start()
    yield server
    server.stop()


def provider_for(fake: FakeUltraMsg, timeout: float = 2.0) -> UltraMsgProvider:
    return UltraMsgProvider(base_url=fake.base_url + "/", instance_id="instance1", token="token-123", timeout=timeout)


def test_success_posts_token_to_body_as_utf8_json_and_returns_the_provider_id(fake):
    result = provider_for(fake).send(to="+201001234567", body=ARABIC_BODY, reference="msg-7")
    assert result.provider_id == "1"
    assert json.loads(result.response)["sent"] == "true"
    [request] = fake.requests
    assert request.path == "/instance1/messages/chat"
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    expected = {"token": "token-123", "to": "+201001234567", "body": ARABIC_BODY, "referenceId": "msg-7"}
    # Byte for byte: UTF-8 Arabic on the wire, not \u escapes.
    assert request.raw_body == json.dumps(expected, ensure_ascii=False).encode("utf-8")
    for line in ARABIC_BODY.splitlines():
        assert line.encode("utf-8") in request.raw_body
    assert request.json["body"] == ARABIC_BODY


def test_server_error_is_a_temporary_http_error(fake):
    fake.mode = "500"
    with pytest.raises(ProviderHTTPError) as caught:
        provider_for(fake).send(to="+201001234567", body="x", reference="msg-1")
    assert caught.value.status_code == 500 and caught.value.temporary
    assert "Internal Server Error" in caught.value.response


def test_client_error_is_permanent(fake):
    fake.mode = "400"
    with pytest.raises(ProviderHTTPError) as caught:
        provider_for(fake).send(to="+201001234567", body="x", reference="msg-1")
    assert caught.value.status_code == 400 and not caught.value.temporary


def test_no_reply_within_the_timeout_raises_provider_timeout(fake):
    fake.mode, fake.slow_seconds = "slow", 1.0
    with pytest.raises(ProviderTimeout) as caught:
        provider_for(fake, timeout=0.2).send(to="+201001234567", body="x", reference="msg-1")
    assert caught.value.temporary


def test_garbage_reply_is_a_temporary_bad_reply_that_keeps_what_was_said(fake):
    fake.mode = "garbage"
    with pytest.raises(ProviderBadReply) as caught:
        provider_for(fake).send(to="+201001234567", body="x", reference="msg-1")
    assert caught.value.temporary
    assert "upstream hiccup" in caught.value.response


def test_invalid_recipient_is_rejected_for_good(fake):
    fake.mode = "invalid_number"
    with pytest.raises(ProviderRejected) as caught:
        provider_for(fake).send(to="+201001234567", body="x", reference="msg-1")
    assert not caught.value.temporary
    assert "invalid number" in str(caught.value)


def test_other_provider_errors_are_temporary(fake):
    fake.mode = "error"
    with pytest.raises(ProviderError) as caught:
        provider_for(fake).send(to="+201001234567", body="x", reference="msg-1")
    assert type(caught.value) is ProviderError and caught.value.temporary


def test_connection_refused_is_unavailable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    provider = UltraMsgProvider(base_url=f"http://127.0.0.1:{port}", instance_id="i", token="t", timeout=1)
    with pytest.raises(ProviderUnavailable):
        provider.send(to="+201001234567", body="x", reference="msg-1")


@pytest.mark.parametrize(
    ("reply", "error"),
    [(b"[1, 2]", ProviderBadReply), (b'{"sent": "false", "message": "queued"}', ProviderBadReply)],
)
def test_json_that_does_not_say_sent_is_a_bad_reply(monkeypatch, fake, reply, error):
    provider = provider_for(fake)

    class Reply:
        status_code = 200
        text = reply.decode()

        def json(self):
            return json.loads(reply)

    monkeypatch.setattr(provider.session, "post", lambda *args, **kwargs: Reply())
    with pytest.raises(error):
        provider.send(to="+201001234567", body="x", reference="msg-1")


def test_console_provider_logs_and_succeeds(caplog):
    with caplog.at_level(logging.INFO, logger="core.providers.whatsapp"):
        result = ConsoleProvider().send(to="+201001234567", body=ARABIC_BODY, reference="msg-3")
    assert result.provider_id.startswith("console-")
    assert ARABIC_BODY in caplog.text and "msg-3" in caplog.text


def test_console_is_the_default_and_ultramsg_follows_the_settings(settings, fake):
    assert isinstance(provider_get(), ConsoleProvider)
    point_settings_at(settings, fake, timeout=3)
    provider = provider_get()
    assert isinstance(provider, UltraMsgProvider)
    assert provider.url == f"{fake.base_url}/instance1/messages/chat"
    assert provider.timeout == 3


# --- After a doubtful send: ask the provider by our reference --------------------------------


def test_a_reply_after_the_timeout_means_the_message_may_have_left(fake):
    fake.mode, fake.late_seconds = "late", 0.5
    with pytest.raises(ProviderTimeout) as caught:
        provider_for(fake, timeout=0.2).send(to="+201001234567", body="x", reference="msg-1")
    assert caught.value.may_have_left
    assert fake.deliveries_by_reference() == {"msg-1": 1}  # it did leave


def test_refused_connections_and_error_answers_certainly_did_not_leave(fake):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    refused = UltraMsgProvider(base_url=f"http://127.0.0.1:{port}", instance_id="i", token="t", timeout=1)
    with pytest.raises(ProviderUnavailable) as caught:
        refused.send(to="+201001234567", body="x", reference="msg-1")
    assert not caught.value.may_have_left
    unknown_host = UltraMsgProvider(base_url="http://no-such-host.invalid", instance_id="i", token="t", timeout=1)
    with pytest.raises(ProviderUnavailable):
        unknown_host.send(to="+201001234567", body="x", reference="msg-1")
    for mode in ("500", "400", "error", "invalid_number"):
        fake.mode = mode
        with pytest.raises(ProviderError) as caught:
            provider_for(fake).send(to="+201001234567", body="x", reference="msg-1")
        assert not caught.value.may_have_left, mode


def test_a_connection_cut_while_waiting_for_the_reply_may_have_left():
    """A server that reads the request and hangs up without answering."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]

    def hang_up():
        connection, _address = listener.accept()
        connection.recv(65536)
        connection.close()

    thread = threading.Thread(target=hang_up, daemon=True)
    thread.start()
    provider = UltraMsgProvider(base_url=f"http://127.0.0.1:{port}", instance_id="i", token="t", timeout=2)
    with pytest.raises(ProviderCutOff) as caught:
        provider.send(to="+201001234567", body="x", reference="msg-1")
    assert caught.value.may_have_left
    thread.join(2)
    listener.close()


def test_lookup_finds_the_message_by_our_reference_with_its_provider_id(fake):
    provider = provider_for(fake)
    provider.send(to="+201001234567", body="x", reference="msg-7")
    provider.send(to="+201001234568", body="y", reference="msg-8")
    found = provider.lookup(reference="msg-8")
    assert found.state is LookupState.DELIVERED and found.provider_id == "2"
    assert fake.lookups == ["msg-8"]


def test_lookup_of_a_message_the_provider_never_got_says_not_sent(fake):
    fake.mode = "late_lost"
    fake.late_seconds = 0.3
    with pytest.raises(ProviderTimeout):
        provider_for(fake, timeout=0.1).send(to="+201001234567", body="x", reference="msg-3")
    assert provider_for(fake).lookup(reference="msg-3").state is LookupState.NOT_SENT


@pytest.mark.parametrize("lookup_mode", ["500", "slow"])
def test_a_lookup_that_fails_raises_instead_of_guessing(fake, lookup_mode):
    fake.lookup_mode, fake.late_seconds = lookup_mode, 0.5
    with pytest.raises(ProviderLookupError):
        provider_for(fake, timeout=0.2).lookup(reference="msg-1")


def test_an_unfiltered_list_that_does_not_show_everything_is_no_proof(fake):
    provider = provider_for(fake)
    for number in range(100):
        provider.send(to="+201001234567", body="x", reference=f"msg-{1000 + number}")
    fake.lookup_mode = "ignore_filter"
    assert provider.lookup(reference="msg-1099").state is LookupState.DELIVERED
    with pytest.raises(ProviderLookupError):
        provider.lookup(reference="msg-1")  # a full page without it: it may be on the next one


def test_the_console_provider_cannot_be_asked():
    with pytest.raises(ProviderLookupError):
        ConsoleProvider().lookup(reference="msg-1")
