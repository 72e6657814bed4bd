"""Logs: one JSON line per record with level, time, logger, request id, user and client IP."""

import json
import logging

import pytest
from django.urls import reverse

from core.ops.logging import LineFormatter, RequestContextFilter, request_id_var


def test_a_record_becomes_one_json_line_with_context():
    record = logging.makeLogRecord(
        {"name": "core.test", "levelname": "WARNING", "levelno": 30, "msg": "paid %s", "args": ("٥٠ ج.م",)}
    )
    token = request_id_var.set("abc123")
    try:
        RequestContextFilter().filter(record)
    finally:
        request_id_var.reset(token)
    line = LineFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "core.test"
    assert entry["message"] == "paid ٥٠ ج.م"
    assert entry["request_id"] == "abc123"
    assert {"time", "user", "ip"} <= set(entry)


@pytest.mark.django_db
def test_requests_are_logged_once_with_status_and_duration(client, owner, caplog):
    client.force_login(owner)
    with caplog.at_level(logging.INFO, logger="core.requests"):
        client.get(reverse("admin:index"), REMOTE_ADDR="10.9.9.9")
        client.get("/no-such-page/")
    ok, missing = [record for record in caplog.records if record.name == "core.requests"]
    assert ok.levelno == logging.INFO and ok.status == 200 and ok.method == "GET"
    assert ok.duration_ms >= 0
    assert missing.levelno == logging.WARNING and missing.status == 404


@pytest.mark.django_db
def test_user_and_address_reach_the_log_line(client, owner, caplog):
    client.force_login(owner)
    with caplog.at_level(logging.INFO, logger="core.requests"):
        client.get(reverse("admin:index"), REMOTE_ADDR="10.9.9.9")
    record = next(record for record in caplog.records if record.name == "core.requests")
    RequestContextFilter().filter(record)  # caplog's handler bypasses our filter
    entry = json.loads(LineFormatter().format(record))
    assert entry["status"] == 200
