"""Production refuses unsafe settings; with safe ones check --deploy is clean."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GOOD_KEY = "k7#Qm2$vX9pL4wZr8Tn1Yb6Hc3Fj5Gd0Ks2Pq7Mx4Vw9Lz1Rt6Nb8Hy3Cu5Ej0Ag2"


def run_django(args: list[str], **env_overrides) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE"}}
    env.update(
        APP_ENV="production",
        DEBUG="0",
        SECRET_KEY=GOOD_KEY,
        ALLOWED_HOSTS="center.example.com",
        DATABASE_URL="sqlite:////tmp/syseducore-settings-test.sqlite3",
    )
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"DEBUG": "1"}, "DEBUG"),
        ({"SECRET_KEY": ""}, "SECRET_KEY"),
        ({"SECRET_KEY": "short-key"}, "SECRET_KEY"),
        ({"SECRET_KEY": "django-insecure-" + "x" * 60}, "SECRET_KEY"),
        ({"SECRET_KEY": "a" * 60}, "SECRET_KEY"),
        ({"ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS"),
    ],
)
def test_production_refuses_to_start_with_unsafe_setting(overrides, variable):
    result = run_django(["check"], **overrides)
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert variable in last_line
    assert "ImproperlyConfigured" in last_line


def test_unknown_app_env_is_refused():
    result = run_django(["check"], APP_ENV="staging")
    assert result.returncode != 0
    assert "APP_ENV" in result.stderr


def test_check_deploy_with_production_settings_prints_no_issues():
    result = run_django(["check", "--deploy", "--fail-level", "WARNING"], AWS_STORAGE_BUCKET_NAME="center-uploads")
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stderr


def test_check_deploy_without_a_bucket_only_informs_that_uploads_stay_on_the_disk():
    result = run_django(["check", "--deploy", "--fail-level", "WARNING"])
    assert result.returncode == 0, result.stderr
    assert "core.I001" in result.stdout + result.stderr
    assert "WARNING" not in result.stderr


def test_development_runs_with_defaults():
    result = run_django(["check"], APP_ENV="development", SECRET_KEY="", ALLOWED_HOSTS="", DEBUG="1")
    assert result.returncode == 0, result.stderr


def test_redis_url_moves_cache_and_task_broker_to_redis():
    # Redis runs on the machines (CI included) on its standard loopback port.
    script = (
        "from django.conf import settings; from django.core.cache import cache; "
        "cache.set('ci-probe', 'ok', 30); "
        "print(settings.CACHES['default']['BACKEND'], settings.Q_CLUSTER.get('redis'), 'orm' in settings.Q_CLUSTER, cache.get('ci-probe'))"
    )
    result = run_django(["shell", "-c", script], APP_ENV="development", REDIS_URL="redis://127.0.0.1:6379/5")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-4:] == [
        "django.core.cache.backends.redis.RedisCache",
        "redis://127.0.0.1:6379/5",
        "False",
        "ok",
    ]


def test_without_redis_the_database_cache_is_shared_by_all_processes():
    script = (
        "from django.conf import settings; print(settings.CACHES['default']['BACKEND'], settings.Q_CLUSTER.get('orm'))"
    )
    result = run_django(["shell", "-c", script], APP_ENV="development")
    assert result.stdout.split()[-2:] == ["django.core.cache.backends.db.DatabaseCache", "default"]
