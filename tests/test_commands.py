"""Management commands used by make run and the PaaS release/post-deploy steps."""

import pytest
from django.core.management import CommandError, call_command
from django_q.models import Schedule

from core.access.roles import Role
from core.models import User
from core.ops.task_schedules import SCHEDULES


@pytest.mark.django_db
def test_ensure_owner_creates_once_and_never_changes_the_password(monkeypatch, capsys):
    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "boss")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "first-password-1")
    call_command("ensure_owner")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "second-password-2")
    call_command("ensure_owner")
    boss = User.objects.get(username="boss")
    assert boss.is_superuser and boss.is_staff
    assert boss.groups.filter(name=Role.OWNER).exists()
    assert boss.check_password("first-password-1")
    assert "exists" in capsys.readouterr().out


@pytest.mark.django_db
def test_ensure_owner_in_production_needs_the_variables(monkeypatch, settings):
    settings.PRODUCTION = True
    monkeypatch.delenv("DJANGO_SUPERUSER_USERNAME", raising=False)
    with pytest.raises(CommandError, match="DJANGO_SUPERUSER_USERNAME"):
        call_command("ensure_owner")


@pytest.mark.django_db
def test_ensure_owner_prints_the_demo_login(monkeypatch, capsys, settings):
    monkeypatch.delenv("DJANGO_SUPERUSER_USERNAME", raising=False)
    call_command("ensure_owner", "--print-login")
    out = capsys.readouterr().out
    assert settings.DEMO_OWNER_USERNAME in out and settings.DEMO_OWNER_PASSWORD in out
    assert User.objects.get(username=settings.DEMO_OWNER_USERNAME).check_password(settings.DEMO_OWNER_PASSWORD)


@pytest.mark.django_db
def test_setup_schedules_is_idempotent_and_removes_stale_entries():
    Schedule.objects.create(name="old job", func="core.tasks.gone", schedule_type=Schedule.DAILY)
    call_command("setup_schedules")
    call_command("setup_schedules")
    assert set(Schedule.objects.values_list("name", flat=True)) == {entry.name for entry in SCHEDULES}
    heartbeat = Schedule.objects.get(name="tasks heartbeat")
    assert heartbeat.schedule_type == Schedule.MINUTES and heartbeat.minutes == 1
