"""Real HTTP servers on 127.0.0.1 standing in for Meta's WhatsApp Cloud API and an SMS gateway.

Both take a ``mode`` (or a ``script`` of modes, one per request) and keep every request.
Whatever a server accepted is in ``delivered``: one entry per message that reached a parent.

FakeCloudAPI (``POST /{version}/{phone_number_id}/messages``) modes: ``ok``, ``500``,
``rate_limit`` (code 130429), ``pair_limit`` (131056), ``not_on_whatsapp`` (131026),
``template_missing`` (132001), ``params_mismatch`` (132000), ``outside_window`` (131047),
``bad_token`` (401, code 190), ``garbage`` (200 with HTML), ``slow`` (answers ok after
``slow_seconds``), ``down`` is not a mode: ``stop()`` the server and ``restart()`` it on the same
port to take the channel down and up.

FakeSmsGateway (any path) modes: ``ok`` (``{"code": "1901", "SMSID": n}``), ``500``, ``refused``
(200 with another code), ``slow``.
"""

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import requests

CLOUD_ERRORS = {
    "rate_limit": (400, 130429, "Rate limit hit"),
    "pair_limit": (400, 131056, "(Business Account, Consumer Account) pair rate limit hit"),
    "not_on_whatsapp": (400, 131026, "Message Undeliverable"),
    "template_missing": (404, 132001, "Template name does not exist in the translation"),
    "params_mismatch": (400, 132000, "Number of parameters does not match the expected number of params"),
    "outside_window": (400, 131047, "Re-engagement message"),
    "bad_token": (401, 190, "Error validating access token"),
}


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict
    raw_body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.raw_body.decode("utf-8"))

    @property
    def form(self) -> dict:
        if self.method == "GET":
            return dict(parse_qsl(urlsplit(self.path).query))
        if self.headers.get("Content-Type", "").startswith("application/json"):
            return self.json
        return dict(parse_qsl(self.raw_body.decode("utf-8")))


class _FakeServer:
    def __init__(self):
        self.mode = "ok"
        self.script: list[str] = []
        self.slow_seconds = 1.0
        self.requests: list[Received] = []
        self.delivered: list[dict] = []
        self._lock = threading.Lock()
        self._port = 0
        self._serve()

    def _serve(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", self._port), self._handler())
        self._server.daemon_threads = True
        self._port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    def start(self):
        self._thread.start()
        return self

    def stop(self) -> None:
        """Take the provider down: connections are refused until ``restart``."""
        self._server.shutdown()
        self._server.server_close()

    def restart(self):
        """Bring it back on the same port."""
        self._serve()
        return self.start()

    def _next_mode(self, request: Received) -> tuple[str, int]:
        with self._lock:
            self.requests.append(request)
            mode = self.script.pop(0) if self.script else self.mode
            return mode, len(self.requests)

    def _answer(self, request: Received, mode: str, number: int) -> tuple[int, bytes]:
        raise NotImplementedError

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, format, *args):
                pass

            def _handle(self, method: str):
                length = int(self.headers.get("Content-Length", "0"))
                request = Received(method, self.path, dict(self.headers.items()), self.rfile.read(length))
                mode, number = fake._next_mode(request)
                if mode == "slow":
                    time.sleep(fake.slow_seconds)
                    mode = "ok"
                status, body = fake._answer(request, mode, number)
                self.send_response(status)
                self.send_header("Content-Type", "application/json" if body[:1] in (b"{", b"[") else "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:
                    pass

            def do_POST(self):
                self._handle("POST")

            def do_GET(self):
                self._handle("GET")

        return Handler


class FakeCloudAPI(_FakeServer):
    phone_number_id = "1234567890"
    version = "v21.0"

    def _answer(self, request: Received, mode: str, number: int) -> tuple[int, bytes]:
        if request.path != f"/{self.version}/{self.phone_number_id}/messages":
            return 404, b'{"error": {"message": "Unknown path", "code": 100}}'
        if mode == "ok":
            payload = request.json
            wamid = f"wamid.FAKE{number:06d}"
            with self._lock:
                self.delivered.append(
                    {
                        "id": wamid,
                        "to": payload["to"],
                        "type": payload["type"],
                        "reference": payload.get("biz_opaque_callback_data"),
                        "payload": payload,
                    }
                )
            body = {
                "messaging_product": "whatsapp",
                "contacts": [{"input": payload["to"], "wa_id": payload["to"]}],
                "messages": [{"id": wamid, "message_status": "accepted"}],
            }
            return 200, json.dumps(body).encode()
        if mode == "500":
            return 500, b"<html>Service Unavailable</html>"
        if mode == "garbage":
            return 200, b"<html>hiccup</html>"
        status, code, message = CLOUD_ERRORS[mode]
        error = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "Afake"}
        error["error_data"] = {"messaging_product": "whatsapp", "details": message}
        return status, json.dumps({"error": error}).encode()

    def notify(self, url: str, value: dict, *, secret: str, signature: str | None = None) -> int:
        """Post a webhook to ``url`` as Meta does (``X-Hub-Signature-256`` of the raw body with
        ``secret``, unless ``signature`` is given); returns the HTTP status."""
        raw = json.dumps(
            {
                "object": "whatsapp_business_account",
                "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": value}]}],
            },
            ensure_ascii=False,
        ).encode("utf-8")
        if signature is None:
            signature = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
        headers = {"Content-Type": "application/json", "X-Hub-Signature-256": signature}
        return requests.post(url, data=raw, headers=headers, timeout=10).status_code

    def references(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for entry in self.delivered:
            counts[entry["reference"]] = counts.get(entry["reference"], 0) + 1
        return counts


class FakeSmsGateway(_FakeServer):
    def _answer(self, request: Received, mode: str, number: int) -> tuple[int, bytes]:
        if mode == "ok":
            with self._lock:
                self.delivered.append({"number": number, **request.form})
            return 200, json.dumps({"code": "1901", "SMSID": number}).encode()
        if mode == "500":
            return 500, b"<html>Internal Server Error</html>"
        if mode == "refused":
            return 200, json.dumps({"code": "1903", "message": "Invalid sender"}).encode()
        raise AssertionError(f"unknown fake mode {mode!r}")


def point_at_cloud(settings, fake: FakeCloudAPI, *, timeout: float = 2.0) -> None:
    """Make provider_get() return the Cloud API provider talking to the fake."""
    settings.WHATSAPP_PROVIDER = "cloud"
    settings.WHATSAPP_CLOUD_BASE_URL = fake.base_url
    settings.WHATSAPP_CLOUD_API_VERSION = fake.version
    settings.WHATSAPP_CLOUD_PHONE_NUMBER_ID = fake.phone_number_id
    settings.WHATSAPP_CLOUD_TOKEN = "cloud-token"
    settings.WHATSAPP_CLOUD_APP_SECRET = "app-secret"
    settings.WHATSAPP_CLOUD_VERIFY_TOKEN = "verify-me"
    settings.WHATSAPP_TIMEOUT_SECONDS = timeout


def point_at_sms(settings, fake: FakeSmsGateway) -> None:
    """An SMS Misr-like gateway: form POST, username/password, success code 1901 in the reply."""
    settings.SMS_PROVIDER = "http"
    settings.SMS_GATEWAY_URL = fake.base_url + "/api/SMS/"
    settings.SMS_GATEWAY_METHOD = "post"
    settings.SMS_PARAM_TO = "mobile"
    settings.SMS_PARAM_TEXT = "message"
    settings.SMS_PARAM_SENDER = "sender"
    settings.SMS_SENDER = "NourCenter"
    settings.SMS_PARAM_USERNAME = "username"
    settings.SMS_USERNAME = "center"
    settings.SMS_PARAM_PASSWORD = "password"
    settings.SMS_PASSWORD = "sms-secret"
    settings.SMS_PARAM_REFERENCE = ""
    settings.SMS_EXTRA_PARAMS = "environment=1&language=2"
    settings.SMS_SUCCESS_TEXT = '"1901"'
    settings.SMS_ID_FIELD = "SMSID"
    settings.SMS_PHONE_STYLE = "digits"
