"""/health/ for the PaaS web check and /health/tasks/ for the worker's heartbeat."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from django.core.cache import cache

from core import tasks

ROOT = Path(__file__).resolve().parent.parent


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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve_with_gunicorn(database_url: str):
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    env.update(APP_ENV="development", DEBUG="0", DATABASE_URL=database_url, PORT=str(port), WEB_CONCURRENCY="1")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "project.wsgi",
            "--config",
            "gunicorn.conf.py",
            "--bind",
            f"127.0.0.1:{port}",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return process, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    raise AssertionError("gunicorn did not start")


def stop(process):
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=20)


def test_gunicorn_serves_health_ok_on_a_migrated_database(tmp_path):
    database_url = f"sqlite:///{tmp_path / 'health.sqlite3'}"
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    env.update(APP_ENV="development", DATABASE_URL=database_url)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    process, base = serve_with_gunicorn(database_url)
    try:
        response = requests.get(f"{base}/health/?format=json", timeout=10)
        assert response.status_code == 200, response.text
        assert set(response.json().values()) == {"OK"}
    finally:
        stop(process)


def test_health_names_the_database_when_it_is_down(tmp_path):
    # Nothing listens on port 1: the database is down.
    process, base = serve_with_gunicorn("postgres://postgres@127.0.0.1:1/nowhere")
    try:
        response = requests.get(f"{base}/health/?format=json", timeout=20)
        assert response.status_code == 500
        failing = {name: status for name, status in response.json().items() if status != "OK"}
        assert any("Database" in name for name in failing)
    finally:
        stop(process)


def test_health_reports_unapplied_migrations(tmp_path):
    process, base = serve_with_gunicorn(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    try:
        response = requests.get(f"{base}/health/?format=json", timeout=20)
        assert response.status_code == 500
        statuses = response.json()
        assert any("MigrationsApplied" in name and "not applied" in status for name, status in statuses.items())
    finally:
        stop(process)
