"""A real HTTP server on 127.0.0.1 that answers like UltraMsg's ``/{instance}/messages/chat``.

Modes (one per request, taken from ``script`` first, then ``mode``): ``ok``, ``500``, ``400``,
``slow`` (sleeps ``slow_seconds`` before answering ok), ``garbage`` (200 with HTML),
``invalid_number`` (UltraMsg's error for a bad recipient), ``error`` (another UltraMsg error),
``late`` (takes the message, then answers ok only after ``late_seconds``: longer than the client's
timeout, so the message left though the client never hears so), ``late_lost`` (the same wait, but
the message was lost: it never left), ``hold`` (takes the message, sets ``received``, answers ok
once the test sets ``release``, then sets ``answered``).
Every request is kept with its raw body bytes, so tests can compare them byte for byte.

``delivered`` lists what reached the parents: one entry per message the fake took (ok, slow,
late, hold), with its ``referenceId``. ``GET /{instance}/messages?token=&referenceId=`` answers
like UltraMsg's messages list, filtered by the reference; ``lookup_mode`` ``ok``, ``500``,
``slow`` (answers after ``late_seconds``) or ``ignore_filter`` (lists everything).
"""

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class ReceivedRequest:
    path: str
    headers: dict
    raw_body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.raw_body.decode("utf-8"))


class FakeUltraMsg:
    def __init__(self):
        self.mode = "ok"
        self.script: list[str] = []
        self.slow_seconds = 1.0
        self.late_seconds = 1.0
        self.lookup_mode = "ok"
        self.requests: list[ReceivedRequest] = []
        self.lookups: list[str] = []
        self.delivered: list[dict] = []
        self.received = threading.Event()
        self.release = threading.Event()
        self.answered = threading.Event()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FakeUltraMsg":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next_mode(self, request: ReceivedRequest) -> tuple[str, int]:
        with self._lock:
            self.requests.append(request)
            number = len(self.requests)
            mode = self.script.pop(0) if self.script else self.mode
        return mode, number

    def deliver(self, request: ReceivedRequest, number: int, status: str = "sent") -> int:
        """Keep a message as the provider does (its id: the request's number); returns the id."""
        payload = request.json
        with self._lock:
            self.delivered.append(
                {
                    "id": number,
                    "referenceId": payload.get("referenceId"),
                    "to": payload.get("to"),
                    "body": payload.get("body"),
                    "status": status,
                    "ack": "server",
                }
            )
        return number

    def deliveries_by_reference(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for entry in self.delivered:
            counts[entry["referenceId"]] = counts.get(entry["referenceId"], 0) + 1
        return counts

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the real API
            disable_nagle_algorithm = True

            def log_message(self, format, *args):
                pass

            def _reply(self, status: int, body: bytes, content_type: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _answer_quietly(self, status: int, body: bytes) -> None:
                """Answer a client that may have gone (it timed out): a broken pipe is expected."""
                try:
                    self._reply(status, body)
                except OSError:
                    pass

            def do_GET(self):
                url = urlsplit(self.path)
                if not url.path.endswith("/messages"):
                    self._reply(404, b'{"error":"not found"}')
                    return
                query = parse_qs(url.query)
                reference = (query.get("referenceId") or [""])[0]
                with fake._lock:
                    fake.lookups.append(reference)
                    entries = [dict(entry) for entry in fake.delivered]
                mode = fake.lookup_mode
                if mode == "500":
                    self._reply(500, b"Internal Server Error", "text/plain")
                    return
                if mode == "slow":
                    time.sleep(fake.late_seconds)
                if mode != "ignore_filter":
                    entries = [entry for entry in entries if entry["referenceId"] == reference]
                entries.reverse()  # sort=desc: newest first
                body = {"total": len(entries), "limit": 100, "page": 1, "pages": 1, "messages": entries}
                self._answer_quietly(200, json.dumps(body, ensure_ascii=False).encode())

            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                request = ReceivedRequest(self.path, dict(self.headers.items()), self.rfile.read(length))
                mode, number = fake._next_mode(request)
                if mode in ("late", "late_lost"):
                    delivered = fake.deliver(request, number) if mode == "late" else 0
                    time.sleep(fake.late_seconds)
                    self._answer_quietly(200, json.dumps({"sent": "true", "message": "ok", "id": delivered}).encode())
                    return
                if mode == "hold":
                    delivered = fake.deliver(request, number)
                    fake.received.set()
                    fake.release.wait(60)
                    self._answer_quietly(200, json.dumps({"sent": "true", "message": "ok", "id": delivered}).encode())
                    fake.answered.set()
                    return
                if mode == "slow":
                    time.sleep(fake.slow_seconds)
                    mode = "ok"
                if mode == "ok":
                    delivered = fake.deliver(request, number)
                    self._reply(200, json.dumps({"sent": "true", "message": "ok", "id": delivered}).encode())
                elif mode == "500":
                    self._reply(500, b"Internal Server Error", "text/plain")
                elif mode == "400":
                    self._reply(400, b'{"error":"bad request"}')
                elif mode == "garbage":
                    self._reply(200, b"<html><body>upstream hiccup</body></html>", "text/html")
                elif mode == "invalid_number":
                    self._reply(200, json.dumps({"error": [{"to": "invalid number"}]}).encode())
                elif mode == "error":
                    self._reply(200, json.dumps({"error": "instance not connected"}).encode())
                else:
                    raise AssertionError(f"unknown fake mode {mode!r}")

        return Handler


def point_settings_at(settings, fake: FakeUltraMsg, *, timeout: float = 2.0) -> None:
    """Make provider_get() return UltraMsg talking to the fake (pytest-django's settings fixture)."""
    settings.WHATSAPP_PROVIDER = "ultramsg"
    settings.ULTRAMSG_BASE_URL = fake.base_url
    settings.ULTRAMSG_INSTANCE_ID = "instance1"
    settings.ULTRAMSG_TOKEN = "token-123"
    settings.WHATSAPP_TIMEOUT_SECONDS = timeout
