"""Messages sent exactly once when the provider answers late or the worker dies mid-send (issue 15).

A message that may have left (no reply within the timeout, a worker killed after the provider's
answer) is never resent on its own: it is held as ``unknown`` ("sent, unconfirmed") and the
provider is asked about it by our reference (UltraMsg's ``referenceId``). The provider is the real
UltraMsg client against tests/fake_ultramsg.py; the worker in the last test is a real ``qcluster``
process killed with SIGKILL.
"""

import datetime
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection, transaction
from django_q.tasks import async_task

from core.models import AuditLog, CenterSettings, Message
from core.services import messaging
from core.services.messaging import (
    message_queue,
    messages_mark_sent,
    messages_send_again,
    messages_send_due,
    messages_verify_unknown,
)
from tests.factories import CAIRO, make_student
from tests.fake_ultramsg import FakeUltraMsg, point_settings_at

NOON = datetime.datetime(2026, 3, 10, 12, 0, tzinfo=CAIRO)
CONTEXT = {"group_name": "رياضيات ٣ ث", "time": datetime.time(16, 30)}
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def center(db) -> CenterSettings:
    center = CenterSettings.load()
    center.messaging_enabled = True
    center.messages_per_guardian_per_hour = 0
    center.save()
    return center


@pytest.fixture
def clock():
    with time_machine.travel(NOON, tick=False) as traveller:
        yield traveller


@pytest.fixture
def ultramsg(settings):
    fake = FakeUltraMsg().start()
    point_settings_at(settings, fake, timeout=0.3)
    fake.late_seconds = 0.6
    yield fake
    fake.stop()


def queue_for(student, event: str) -> Message:
    return message_queue(
        event=event, guardian=student.guardians.get(), template="arrived", context=CONTEXT, student=student
    )


def wait_for_the_provider(fake: FakeUltraMsg) -> None:
    """The stand-in is still answering the requests we gave up on (real time, not the frozen clock)."""
    time.sleep(fake.late_seconds + 0.2)


@pytest.mark.django_db
def test_over_a_provider_answering_after_the_timeout_every_event_reaches_the_parent_once(
    center, clock, main_branch, ultramsg, settings
):
    # Twelve slow answers in a row would pause the channel (tests/services/test_channels.py);
    # this test is about each unconfirmed message, so the breaker stays out of the way.
    settings.CHANNEL_BREAKER_FAILURES = 100
    students = [make_student(main_branch, guardian_phone=f"0100777{index:04d}") for index in range(12)]
    queued = [queue_for(student, f"arrived:{student.pk}") for student in students]
    # Every first attempt is answered after our timeout; a third of them were lost on the way.
    ultramsg.script = ["late_lost" if index % 3 == 0 else "late" for index in range(len(queued))]
    report = messages_send_due()
    assert report.unknown == 12 and report.retrying == 0
    wait_for_the_provider(ultramsg)
    assert messages_send_due().sent == 0  # not asked yet: the provider may still be writing them down
    clock.shift(messaging.CHECK_DELAYS[0])
    report = messages_send_due()
    assert report.sent == 4  # the lost ones, sent again once the provider said it has not got them
    statuses = {reload(message).status for message in queued}
    assert statuses == {Message.Status.SENT}
    deliveries = ultramsg.deliveries_by_reference()
    assert deliveries == {f"msg-{message.pk}": 1 for message in queued}
    assert sorted(ultramsg.lookups) == sorted(f"msg-{message.pk}" for message in queued)


def reload(message: Message) -> Message:
    message.refresh_from_db()
    return message


@pytest.mark.django_db
def test_when_the_provider_cannot_be_asked_the_message_stays_unconfirmed_and_is_never_resent(
    center, clock, main_branch, ultramsg
):
    student = make_student(main_branch, guardian_phone="01007770001")
    message = queue_for(student, "arrived:1")
    ultramsg.script, ultramsg.lookup_mode = ["late"], "500"
    messages_send_due()
    wait_for_the_provider(ultramsg)
    asked_at = []
    for delay in messaging.CHECK_DELAYS:  # 1, 5, 15 and 60 minutes apart
        clock.shift(delay - datetime.timedelta(seconds=1))
        messages_send_due()
        assert len(ultramsg.lookups) == len(asked_at)
        clock.shift(datetime.timedelta(seconds=1))
        messages_send_due()
        asked_at.append(datetime.datetime.now(tz=CAIRO))
        assert len(ultramsg.lookups) == len(asked_at)
    message = reload(message)
    assert message.status == Message.Status.UNKNOWN and message.checks == messaging.MAX_CHECKS
    assert "messages list: HTTP 500" in message.last_error  # why it is still unknown
    clock.shift(datetime.timedelta(days=2))
    messages_send_due()
    assert len(ultramsg.lookups) == messaging.MAX_CHECKS and len(ultramsg.requests) == 1
    assert ultramsg.deliveries_by_reference() == {f"msg-{message.pk}": 1}


@pytest.mark.django_db
def test_a_provider_that_cannot_be_reached_is_retried_as_before(center, clock, main_branch, settings):
    student = make_student(main_branch, guardian_phone="01007770002")
    fake = FakeUltraMsg().start()
    point_settings_at(settings, fake, timeout=0.3)
    fake.stop()  # nothing listens on its port: connection refused, certainly not sent
    message = queue_for(student, "arrived:2")
    assert messages_send_due().retrying == 1
    message = reload(message)
    assert message.status == Message.Status.PENDING and message.last_error.startswith("ProviderUnavailable")


@pytest.mark.django_db
def test_two_checkers_at_once_ask_about_a_message_once(center, clock, main_branch, ultramsg):
    student = make_student(main_branch, guardian_phone="01007770003")
    message = queue_for(student, "arrived:3")
    ultramsg.script = ["late"]
    messages_send_due()
    wait_for_the_provider(ultramsg)
    clock.shift(messaging.CHECK_DELAYS[0])
    first = messages_verify_unknown()
    second = messages_verify_unknown()
    assert (first.delivered, second.delivered) == (1, 0)
    assert ultramsg.lookups == [f"msg-{message.pk}"]


@pytest.mark.django_db
def test_staff_resolve_an_unconfirmed_message_by_hand_with_an_audit_row(center, clock, main_branch, manager):
    students = [make_student(main_branch, guardian_phone=f"0100777100{index}") for index in range(2)]
    confirmed, again = (queue_for(student, f"arrived:{student.pk}") for student in students)
    Message.objects.filter(pk__in=[confirmed.pk, again.pk]).update(status=Message.Status.UNKNOWN, attempts=1)
    with pytest.raises(ValidationError) as refused:
        messages_mark_sent(actor=manager, messages=Message.objects.filter(pk=confirmed.pk), reason=" ")
    assert "reason" in refused.value.message_dict
    assert messages_mark_sent(actor=manager, messages=Message.objects.filter(pk=confirmed.pk), reason="the parent") == 1
    confirmed = reload(confirmed)
    assert confirmed.status == Message.Status.SENT and confirmed.cost == Decimal("0.05")
    with pytest.raises(ValidationError):
        messages_send_again(actor=manager, messages=Message.objects.filter(pk=again.pk), may_double=False)
    assert reload(again).status == Message.Status.UNKNOWN
    assert messages_send_again(actor=manager, messages=Message.objects.filter(pk=again.pk), may_double=True) == 1
    assert reload(again).status == Message.Status.PENDING
    reasons = list(AuditLog.objects.filter(model="core.message").order_by("id").values_list("reason", flat=True))
    assert len(reasons) == 2 and "the parent" in reasons[0]


# --- A real worker killed between the provider's answer and our write ------------------------


def worker_env(database_name: str, fake: FakeUltraMsg) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST")}
    settings_dict = connection.settings_dict
    if connection.vendor == "postgresql":
        user, host, port = settings_dict["USER"], settings_dict["HOST"] or "127.0.0.1", settings_dict["PORT"] or 5432
        password = f":{settings_dict['PASSWORD']}" if settings_dict["PASSWORD"] else ""
        env["DATABASE_URL"] = f"postgres://{user}{password}@{host}:{port}/{database_name}"
    else:
        env["DATABASE_URL"] = f"sqlite:///{database_name}"
    env.update(
        APP_ENV="development",
        DEBUG="0",
        WHATSAPP_PROVIDER="ultramsg",
        ULTRAMSG_BASE_URL=fake.base_url,
        ULTRAMSG_INSTANCE_ID="instance1",
        ULTRAMSG_TOKEN="token-123",
        WHATSAPP_TIMEOUT_SECONDS="5",
        Q_WORKERS="1",
    )
    return env


def hold_the_message_row(message: Message):
    """Lock the row (PostgreSQL) or the database (SQLite) so the worker cannot write its outcome."""
    atomic = transaction.atomic()
    atomic.__enter__()
    if connection.vendor == "postgresql":
        list(Message.objects.select_for_update().filter(pk=message.pk))
    else:
        Message.objects.filter(pk=message.pk).update(last_error="")  # takes SQLite's write lock
    return atomic


def writer_waiting_on_our_lock() -> int | None:
    """PostgreSQL: the pid of the backend whose UPDATE waits on the row we hold. SQLite: None."""
    if connection.vendor != "postgresql":
        time.sleep(0.5)
        return None
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
                " AND wait_event_type = 'Lock' AND query LIKE 'UPDATE%%core_message%%'"
            )
            row = cursor.fetchone()
        if row:
            return row[0]
        time.sleep(0.05)
    raise AssertionError("the worker never tried to write the outcome")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_qcluster_killed_after_the_providers_answer_leaves_the_message_unconfirmed_never_resent(
    main_branch, settings, tmp_path
):
    fake = FakeUltraMsg().start()
    point_settings_at(settings, fake, timeout=5)
    fake.mode = "hold"
    student = make_student(main_branch, guardian_phone="01007779999")
    # Queued while messaging is off (held, nothing sent from this process), then switched on:
    # the worker is the only one to send it.
    # Mandatory, so quiet hours at the real time of the run hold nothing.
    message = message_queue(
        event="late_refused:killed",
        guardian=student.guardians.get(),
        template="late_refused",
        context=CONTEXT,
        student=student,
    )
    center = CenterSettings.load()
    center.messaging_enabled = True
    center.save()
    # The worker runs with the deployed settings, whose cache is a table in the database.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "core_cache"}}
    call_command("createcachetable")
    log = (tmp_path / "qcluster.log").open("wb")
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env=worker_env(connection.settings_dict["NAME"], fake),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    held = None
    try:
        # The real worker picks the task up from the database broker and calls the provider.
        async_task("core.tasks.message_send", message.pk, group="messages", sync=False)
        assert fake.received.wait(60), (tmp_path / "qcluster.log").read_text()[-3000:]
        assert reload(message).attempt_started_at is not None
        held = hold_the_message_row(message)
        fake.release.set()
        assert fake.answered.wait(10)
        waiting_writer = writer_waiting_on_our_lock()  # the worker has the answer and tries to write it
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(10)
        if waiting_writer is not None:
            # A killed client's statement already waiting in PostgreSQL would still run once the
            # lock is free; a worker killed a moment earlier never sent it. End that backend too.
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(%s)", [waiting_writer])
    finally:
        if held is not None:
            held.__exit__(None, None, None)
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(10)
        log.close()
    message = reload(message)
    assert message.status == Message.Status.SENDING and message.provider_id == ""  # the outcome was lost
    assert fake.deliveries_by_reference() == {f"msg-{message.pk}": 1}
    fake.mode = "ok"
    with time_machine.travel(datetime.datetime.now(tz=CAIRO) + messaging.IN_FLIGHT_STALE_AFTER, tick=False):
        messages_send_due()
    message = reload(message)
    # Recovery asked the provider by our reference: it had it, so sent; never posted again.
    assert message.status == Message.Status.SENT and message.provider_id == "1"
    assert len(fake.requests) == 1 and fake.lookups == [f"msg-{message.pk}"]
    fake.stop()


@pytest.mark.django_db
def test_a_worker_death_the_provider_cannot_confirm_stays_unconfirmed_and_no_plain_retry_takes_it(
    center, clock, main_branch, ultramsg, manager
):
    student = make_student(main_branch, guardian_phone="01007770004")
    message = queue_for(student, "arrived:4")
    Message.objects.filter(pk=message.pk).update(
        status=Message.Status.SENDING,
        claim_token="8a4c3e0e-7c7e-4b8e-9a55-6a3c8a0c9d10",
        claimed_at=NOON,
        attempt_started_at=NOON,
        attempts=1,
    )
    ultramsg.lookup_mode = "500"
    clock.shift(messaging.IN_FLIGHT_STALE_AFTER + datetime.timedelta(seconds=1))
    messages_send_due()
    message = reload(message)
    assert message.status == Message.Status.UNKNOWN and message.checks == 1
    assert messaging.messages_retry(actor=manager, messages=Message.objects.filter(pk=message.pk)) == 0
    assert reload(message).status == Message.Status.UNKNOWN and ultramsg.requests == []
