"""Door messages hand the worker one "send what is due" per process every couple of seconds."""

import pytest
from django.test import override_settings

from core.services.messaging import queueing


@pytest.fixture
def handoffs(monkeypatch, settings):
    calls = []
    monkeypatch.setattr(queueing, "_send_soon", lambda *args: calls.append(args))
    monkeypatch.setattr(queueing, "_handoff", queueing._Handoff())
    return calls


def test_a_burst_of_door_messages_hands_off_once(handoffs, monkeypatch, settings):
    clock = iter([100.0, 100.5, 101.9, 102.1])
    monkeypatch.setattr(queueing.time, "monotonic", lambda: next(clock))
    with override_settings(Q_CLUSTER={**settings.Q_CLUSTER, "sync": False}):
        for _ in range(4):
            queueing._send_due_soon()
    # 100.0 hands off; 100.5 and 101.9 are within two seconds; 102.1 is not
    assert handoffs == [(), ()]


def test_inline_tasks_hand_off_every_time(handoffs):
    """Tests run the worker inline (sync): every message is sent as it is queued."""
    for _ in range(3):
        queueing._send_due_soon()
    assert len(handoffs) == 3
