"""What an operator hits: the worker's stop on SIGTERM, the Python version the PaaS builds,
and client addresses that a client cannot write for itself."""

import json
import os
import re
import signal
import sys
import time
from pathlib import Path

import pytest
from django.core.cache import cache
from django.test import Client, override_settings

from core.management.commands.worker import process_descendants
from core.web.http import client_ip
from tests.served import ROOT, Served, manage, migrate, production_env

# --- the task worker stops within the PaaS's grace period ----------------------------------------

HEROKU_GRACE_SECONDS = 30


@pytest.fixture(scope="module")
def worker_env(tmp_path_factory):
    folder = tmp_path_factory.mktemp("worker")
    env = production_env(f"sqlite:///{folder / 'worker.sqlite3'}", folder / "media", WORKER_STOP_SECONDS="2")
    migrate(env)
    return env


def worker_start(env, log_path: Path) -> Served:
    worker = Served([sys.executable, "manage.py", "worker"], env, log_path)
    deadline = time.monotonic() + 30
    while "running." not in worker.log():
        assert worker.process.poll() is None, worker.log()
        assert time.monotonic() < deadline, worker.log()
        time.sleep(0.2)
    return worker


def seconds_to_exit(worker: Served, signum: int, *, whole_group: bool) -> float:
    started = time.monotonic()
    if whole_group:
        worker.signal(signum)  # Heroku signals every process of the dyno
    else:
        os.kill(worker.process.pid, signum)  # Docker-style platforms signal the main process
    worker.process.wait(timeout=HEROKU_GRACE_SECONDS + 30)
    return time.monotonic() - started


def busy_worker(env, tmp_path) -> Served:
    """A worker in the middle of a task that would run for two minutes."""
    manage(env, "shell", "-c", "from django_q.tasks import async_task; async_task('time.sleep', 120)")
    worker = worker_start(env, tmp_path / "worker.log")
    deadline = time.monotonic() + 30
    while "processing" not in worker.log():
        assert time.monotonic() < deadline, worker.log()
        time.sleep(0.2)
    return worker


def test_idle_worker_stops_at_once_on_sigterm(worker_env, tmp_path):
    worker = worker_start(worker_env, tmp_path / "worker.log")
    try:
        assert seconds_to_exit(worker, signal.SIGTERM, whole_group=False) < 10
        assert worker.process.returncode == 0
    finally:
        worker.stop()


def still_running(pids) -> list[int]:
    """The processes among ``pids`` still running: a zombie (state Z) has exited and only waits for
    a parent to read its status, which a container's first process may never do for orphans."""
    running = []
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if state not in {"Z", "X"}:
            running.append(pid)
    return running


@pytest.mark.parametrize("whole_group", [False, True], ids=["main-process", "process-group"])
def test_busy_worker_exits_within_the_grace_period_on_sigterm(worker_env, tmp_path, whole_group):
    worker = busy_worker(worker_env, tmp_path)
    sentinel_and_workers = process_descendants(worker.process.pid)
    assert sentinel_and_workers
    try:
        assert seconds_to_exit(worker, signal.SIGTERM, whole_group=whole_group) < HEROKU_GRACE_SECONDS - 5
        deadline = time.monotonic() + 5  # a killed process takes a moment to go, under load
        while still_running(sentinel_and_workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not still_running(sentinel_and_workers), "orphaned processes"
    finally:
        worker.stop()


def test_the_procfile_runs_the_bounded_worker():
    procfile = (ROOT / "Procfile").read_text()
    assert re.search(r"^worker: python manage.py worker$", procfile, re.MULTILINE)


# --- the Python version ----------------------------------------------------------------------------


def test_runtime_txt_and_python_version_name_the_same_python():
    """Heroku reads runtime.txt first (deprecated), Render and pyenv read .python-version."""
    runtime = (ROOT / "runtime.txt").read_text().strip()
    python_version = (ROOT / ".python-version").read_text().strip()
    assert re.fullmatch(r"python-\d+\.\d+\.\d+", runtime)  # runtime.txt takes only the full form
    assert runtime.removeprefix("python-") == python_version
    assert python_version.startswith(f"{sys.version_info.major}.{sys.version_info.minor}.")


# --- client addresses behind the router, and without one ------------------------------------------


def test_by_default_a_client_sent_forwarded_for_does_not_change_the_client_address(rf):
    forged = rf.get("/", HTTP_X_FORWARDED_FOR="203.0.113.9", REMOTE_ADDR="198.51.100.4")
    assert client_ip(forged) == "198.51.100.4"


def test_production_trusts_no_proxy_and_gunicorn_no_forwarder_unless_configured(tmp_path):
    env = production_env(f"sqlite:///{tmp_path / 'db.sqlite3'}", tmp_path / "media")
    env.pop("TRUSTED_PROXY_COUNT", None)
    env.pop("FORWARDED_ALLOW_IPS", None)
    shown = manage(
        env,
        "shell",
        "-c",
        "import json, runpy; from django.conf import settings; "
        "print(json.dumps([settings.TRUSTED_PROXY_COUNT, runpy.run_path('gunicorn.conf.py')['forwarded_allow_ips']]))",
    )
    assert json.loads(shown.stdout.strip().splitlines()[-1]) == [0, "127.0.0.1,::1"]


def test_the_paas_deploy_files_trust_the_one_router_in_front(tmp_path):
    app = json.loads((ROOT / "app.json").read_text())
    assert app["env"]["TRUSTED_PROXY_COUNT"]["value"] == "1"
    assert app["env"]["FORWARDED_ALLOW_IPS"]["value"] == "*"
    render = (ROOT / "render.yaml").read_text()
    assert re.search(r"key: TRUSTED_PROXY_COUNT\s+value: \"1\"", render)


@pytest.mark.django_db
@override_settings(TRUSTED_PROXY_COUNT=1)
def test_kiosk_token_guessing_is_limited_per_client_behind_the_router(monkeypatch):
    """Every request reaches the app from the router's address: the limit must follow the client."""
    monkeypatch.setattr("core.web.kiosk_api.BAD_TOKENS_PER_MINUTE", 2)
    cache.clear()
    client = Client()

    def guess(client_address: str) -> int:
        return client.post(
            "/kiosk/scan/",
            data=json.dumps({"code": "1001"}),
            content_type="application/json",
            headers={"X-Kiosk-Token": "guess", "X-Forwarded-For": client_address},
            REMOTE_ADDR="10.0.0.1",
        ).status_code

    assert [guess("41.33.1.2") for _ in range(3)] == [401, 401, 429]
    assert guess("41.33.7.7") == 401  # another tablet behind the same router is not blocked
    cache.clear()
