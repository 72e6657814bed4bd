"""/health/ for the PaaS web check and /health/tasks/ for the worker's heartbeat."""

import json
from urllib.parse import urlsplit

import pytest
from django.core.cache import cache

from core import tasks
from tests.served import TcpRelay, bare_get, gunicorn_start, manage, postgres_database, production_env


@pytest.mark.django_db
def test_web_health_is_ok_with_every_check_listed(client):
    response = client.get("/health/?format=json")
    assert response.status_code == 200
    checks = json.loads(response.content)
    names = " ".join(checks)
    for expected in ("Database", "Cache", "Storage", "MigrationsApplied"):
        assert expected in names
    assert all(status == "OK" for status in checks.values())


@pytest.mark.django_db
def test_tasks_health_fails_without_a_heartbeat_and_passes_after_one(client):
    cache.delete("tasks:heartbeat")
    response = client.get("/health/tasks/?format=json")
    assert response.status_code == 500
    assert "no heartbeat" in response.content.decode()
    tasks.heartbeat()
    assert client.get("/health/tasks/?format=json").status_code == 200


@pytest.mark.django_db
def test_tasks_health_fails_when_the_heartbeat_is_old(client, settings):
    tasks.heartbeat()
    settings.TASK_HEARTBEAT_MAX_AGE_SECONDS = -1
    response = client.get("/health/tasks/?format=json")
    assert response.status_code == 500
    assert "last heartbeat" in response.content.decode()


@pytest.mark.django_db
def test_a_bare_get_gets_html_and_accept_json_gets_json(client):
    page = client.get("/health/")
    assert page.status_code == 200
    assert page["Content-Type"].startswith("text/html")
    assert "MigrationsApplied" in page.content.decode()
    negotiated = client.get("/health/", HTTP_ACCEPT="application/json")
    assert negotiated["Content-Type"] == "application/json"
    assert set(json.loads(negotiated.content).values()) == {"OK"}


@pytest.mark.django_db
def test_health_answers_a_probe_whose_host_is_not_an_allowed_host(client, settings):
    settings.ALLOWED_HOSTS = ["center.example.com"]
    assert client.get("/health/", HTTP_HOST="10.0.3.7:8000").status_code == 200
    # Every other page still refuses the unknown host.
    assert client.get("/admin/login/", HTTP_HOST="10.0.3.7:8000").status_code == 400


# --- A served production instance: gunicorn as the Procfile starts it, PostgreSQL ------------


@pytest.fixture(scope="module")
def migrated_postgres(tmp_path_factory):
    with postgres_database("syseducore_health", migrated=True) as database_url:
        yield database_url


@pytest.fixture(scope="module")
def relay(migrated_postgres):
    """The database behind a relay a test can cut, as if the server stopped (and must start again:
    the served instance is shared by the module's tests, one gunicorn start instead of four)."""
    address = urlsplit(migrated_postgres)
    relay = TcpRelay(address.hostname, address.port or 5432)
    relay.start()
    yield relay, address._replace(netloc=f"{address.username}@127.0.0.1:{relay.port}").geturl()
    relay.cut()


@pytest.fixture(scope="module")
def served(relay, tmp_path_factory):
    _relay, database_url = relay
    folder = tmp_path_factory.mktemp("served")
    env = production_env(database_url, folder / "media")
    process, base = gunicorn_start(env, folder / "gunicorn.log")
    yield env, base
    process.stop()


def heartbeat_set(env, iso_time: str) -> None:
    manage(env, "shell", "-c", f"from django.core.cache import cache; cache.set('tasks:heartbeat', '{iso_time}', 3600)")


def test_served_instance_answers_a_bare_get_of_health_with_200(served):
    _env, base = served
    status, final_url, content_type, body = bare_get(f"{base}/health/")
    assert status == 200, body
    assert final_url == f"{base}/health/"  # plain HTTP is not redirected to https
    assert content_type.startswith("text/html")
    status, _url, content_type, body = bare_get(f"{base}/health/", {"Accept": "application/json"})
    assert (status, content_type) == (200, "application/json")
    assert set(json.loads(body).values()) == {"OK"}
    status, _url, _type, body = bare_get(f"{base}/health/?format=json")
    assert status == 200
    assert set(json.loads(body)) >= {"Database(alias='default')", "MigrationsApplied(alias='default')"}


def test_served_instance_answers_500_when_the_database_stops_and_200_when_it_is_back(served, relay):
    database, _url = relay
    _env, base = served
    assert bare_get(f"{base}/health/")[0] == 200
    database.cut()
    try:
        status, _url, content_type, body = bare_get(f"{base}/health/")
        assert status == 500
        assert content_type.startswith("text/html")
        status, _url, _type, body = bare_get(f"{base}/health/?format=json")
        failing = {name for name, result in json.loads(body).items() if result != "OK"}
        assert "Database(alias='default')" in failing
    finally:
        database.start()
    assert bare_get(f"{base}/health/")[0] == 200


def test_served_tasks_health_follows_the_worker_heartbeat(served):
    env, base = served
    heartbeat_set(env, "2020-01-01T00:00:00+00:00")  # the worker stopped long ago
    status, _url, content_type, body = bare_get(f"{base}/health/tasks/")
    assert status == 500
    assert content_type.startswith("text/html")
    assert "last heartbeat" in bare_get(f"{base}/health/tasks/?format=json")[3]
    manage(env, "shell", "-c", "from core.ops.health import heartbeat_record; heartbeat_record()")
    status, _url, _type, body = bare_get(f"{base}/health/tasks/")
    assert status == 200, body


def test_served_instance_refuses_unknown_hosts_outside_health(served):
    _env, base = served
    assert bare_get(f"{base}/admin/login/")[0] == 400


def test_served_health_reports_unapplied_migrations(tmp_path):
    env = production_env(f"sqlite:///{tmp_path / 'empty.sqlite3'}", tmp_path / "media")
    process, base = gunicorn_start(env, tmp_path / "gunicorn.log")
    try:
        status, _url, _type, body = bare_get(f"{base}/health/?format=json")
        assert status == 500
        assert any("MigrationsApplied" in name and "not applied" in result for name, result in json.loads(body).items())
    finally:
        process.stop()
