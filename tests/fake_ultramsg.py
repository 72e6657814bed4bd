"""A real HTTP server on 127.0.0.1 that answers like UltraMsg's ``/{instance}/messages/chat``.

Modes (one per request, taken from ``script`` first, then ``mode``): ``ok``, ``500``, ``400``,
``slow`` (sleeps ``slow_seconds`` before answering ok), ``garbage`` (200 with HTML),
``invalid_number`` (UltraMsg's error for a bad recipient), ``error`` (another UltraMsg error).
Every request is kept with its raw body bytes, so tests can compare them byte for byte.
"""

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


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
        self.requests: list[ReceivedRequest] = []
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

            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                request = ReceivedRequest(self.path, dict(self.headers.items()), self.rfile.read(length))
                mode, number = fake._next_mode(request)
                if mode == "slow":
                    time.sleep(fake.slow_seconds)
                    mode = "ok"
                if mode == "ok":
                    self._reply(200, json.dumps({"sent": "true", "message": "ok", "id": number}).encode())
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
