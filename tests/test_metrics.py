"""/metrics: Prometheus text for the operator, behind METRICS_TOKEN (off when unset)."""

import datetime
import json
from decimal import Decimal

import pytest
import time_machine
from django.core.cache import cache
from django_q.models import OrmQ
from prometheus_client.parser import text_string_to_metric_families

from core.models import Backup, Message
from core.ops.health import HEARTBEAT_CACHE_KEY, heartbeat_record
from core.services.enrollments import enrollment_create
from core.services.payments import payment_record, payment_void
from core.services.scanning import scan_process
from tests.factories import CAIRO, make_group, make_student
from tests.served import bare_get, gunicorn_start, migrate, production_env

NOW = datetime.datetime(2026, 11, 15, 12, 0, tzinfo=CAIRO)
TOKEN = "scrape-token-4f1c9a"


def samples(body: str) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} of a Prometheus text exposition."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN
    return TOKEN


@pytest.mark.django_db
def test_metrics_are_not_found_while_no_token_is_configured(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer anything").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/metrics", {}),
        ("/metrics", {"HTTP_AUTHORIZATION": "Bearer wrong-token"}),
        ("/metrics", {"HTTP_AUTHORIZATION": f"Basic {TOKEN}"}),
        ("/metrics?token=wrong-token", {}),
        (f"/metrics?token={TOKEN}x", {}),
    ],
)
def test_metrics_refuse_a_missing_or_wrong_token(client, token, path, headers):
    assert client.get(path, **headers).status_code == 403


@pytest.mark.django_db
def test_metrics_accept_the_token_as_bearer_or_query(client, token):
    for response in (
        client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}"),
        client.get(f"/metrics?token={token}"),
    ):
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/plain; version=0.0.4")
        assert "syseducore_door_scans_today" in response.content.decode()


@pytest.mark.django_db
def test_metrics_count_requests_and_queries_by_view(client, token, owner):
    client.force_login(owner)
    before = samples(client.get(f"/metrics?token={token}").content.decode())
    view = "admin:core_student_changelist"
    for _ in range(2):
        assert client.get("/admin/core/student/").status_code == 200
    after = samples(client.get(f"/metrics?token={token}").content.decode())

    def grown(name, **labels):
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0) - before.get(key, 0)

    assert grown("syseducore_http_requests_total", view=view, method="GET", status="200") == 2
    assert grown("syseducore_http_request_duration_seconds_count", view=view, method="GET") == 2
    assert grown("syseducore_db_queries_total", view=view) >= 2


@pytest.mark.django_db
@time_machine.travel(NOW, tick=False)
def test_metrics_report_the_centers_figures(client, token, main_branch, receptionist, accountant):
    student = make_student(main_branch)
    group = make_group(main_branch, fee="200.00")
    enrollment_create(actor=None, student=student, group=group, start_date=datetime.date(2026, 9, 1))
    # Payments: two today, one earlier this month, one voided today, one last month.
    payment_record(student=student, cashier=receptionist, amount="150.00")
    payment_record(student=student, cashier=receptionist, amount="49.50")
    payment_record(student=student, cashier=receptionist, amount="100.00", now=NOW - datetime.timedelta(days=10))
    voided = payment_record(student=student, cashier=receptionist, amount="70.00")
    payment_void(receipt=voided, actor=accountant, reason="typed twice")
    payment_record(student=student, cashier=receptionist, amount="300.00", now=NOW - datetime.timedelta(days=20))
    # Door: two unknown cards and a known student without a class now; one scan yesterday.
    scan_process("999999")
    scan_process("888888")
    scan_process(student.code)
    scan_process("777777", at=NOW - datetime.timedelta(days=1))
    # Outbox: two sent and one failed, beside whatever the payments queued.
    for number, status in enumerate([Message.Status.SENT, Message.Status.SENT, Message.Status.FAILED]):
        Message.objects.create(
            phone="+201001234567",
            template_key="broadcast",
            body="test",
            event=f"metrics-test:{number}",
            idempotency_key=f"metrics-test-{number}",
            status=status,
        )
    OrmQ.objects.create(key="syseducore", payload="x", lock=NOW - datetime.timedelta(minutes=1))
    heartbeat_record()
    verified = Backup.objects.create(name="a.tar", verification=Backup.Verification.PASSED)
    Backup.objects.filter(pk=verified.pk).update(created_at=NOW - datetime.timedelta(hours=5))
    Backup.objects.create(name="b.tar", verification=Backup.Verification.FAILED)

    figures = samples(client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}").content.decode())

    assert figures[("syseducore_door_scans_today", (("outcome", "unknown"),))] == 2
    assert figures[("syseducore_door_scans_today", (("outcome", "no_session"),))] == 1
    assert figures[("syseducore_door_scans_today", (("outcome", "present"),))] == 0
    assert figures[("syseducore_payments", (("period", "today"),))] == 2
    assert figures[("syseducore_payments", (("period", "month"),))] == 3
    assert Decimal(str(figures[("syseducore_payments_amount_egp", (("period", "today"),))])) == Decimal("199.50")
    assert Decimal(str(figures[("syseducore_payments_amount_egp", (("period", "month"),))])) == Decimal("299.50")
    for status in Message.Status.values:
        assert figures[("syseducore_messages", (("status", status),))] == Message.objects.filter(status=status).count()
    assert figures[("syseducore_messages", (("status", "sent"),))] == 2
    assert figures[("syseducore_task_queue_depth", ())] == 1
    assert figures[("syseducore_worker_heartbeat_age_seconds", ())] == 0
    assert figures[("syseducore_backup_last_verified_age_seconds", ())] == 5 * 3600


@pytest.mark.django_db
def test_metrics_say_infinity_when_the_worker_never_beat_and_no_backup_passed(client, token):
    cache.delete(HEARTBEAT_CACHE_KEY)
    figures = samples(client.get(f"/metrics?token={token}").content.decode())
    assert figures[("syseducore_worker_heartbeat_age_seconds", ())] == float("inf")
    assert figures[("syseducore_backup_last_verified_age_seconds", ())] == float("inf")


def test_served_metrics_add_up_every_gunicorn_worker(tmp_path):
    """Two gunicorn workers, one scrape: the request counts of both (multiprocess mode)."""
    database_url = f"sqlite:///{tmp_path / 'metrics.sqlite3'}"
    env = production_env(
        database_url, tmp_path / "media", METRICS_TOKEN=TOKEN, WEB_CONCURRENCY="2", ALLOWED_HOSTS="127.0.0.1"
    )
    migrate(env)
    process, base = gunicorn_start(env, tmp_path / "gunicorn.log")
    # The scraper reaches the site over https through the router, which says so in this header.
    https = {"X-Forwarded-Proto": "https"}
    try:
        assert bare_get(f"{base}/metrics", https)[0] == 403
        probes = 12
        for _ in range(probes):
            status, _url, _type, body = bare_get(f"{base}/health/?format=json")
            assert status == 200, body
            assert set(json.loads(body).values()) == {"OK"}
        status, _url, _type, body = bare_get(f"{base}/metrics", {**https, "Authorization": f"Bearer {TOKEN}"})
        assert status == 200, body
        figures = samples(body)
        assert (
            figures[("syseducore_http_requests_total", (("method", "GET"), ("status", "200"), ("view", "health")))]
            == probes
        )
        assert (
            figures[("syseducore_http_requests_total", (("method", "GET"), ("status", "403"), ("view", "metrics")))]
            == 1
        )
        assert ("syseducore_door_scans_today", (("outcome", "unknown"),)) in figures
    finally:
        process.stop()
