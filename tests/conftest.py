"""Shared fixtures: staff accounts by role, a client logged in as each, and the door's room and
month group (the builders themselves are in tests/factories.py)."""

import pytest
from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.management import create_contenttypes

from core.access.roles import Role, roles_sync
from core.models import Branch, FeePeriod, Room, User
from core.models import Group as StudyGroup
from tests.db_template import worker_database
from tests.factories import make_group, make_room

# Modules whose tests wait on other processes (gunicorn, qcluster, manage.py, a frozen database,
# an S3 server) or build a whole demo center: seconds each where most tests take milliseconds.
# They start first, so that with several workers no worker is left running one of them alone
# while the others have finished (xdist hands tests out in collection order). pytest-django then
# sorts every transactional test (they flush the database, data migrations' rows included) after
# the others, keeping this order within each kind.
SLOW_FIRST = (
    "tests/test_failures_database.py",
    "tests/admin/test_actions_get_safe.py",
    "tests/test_operations.py",
    "tests/commands/test_demo_data_runs.py",
    "tests/test_health.py",
    "tests/test_metrics.py",
    "tests/test_commands.py",
    "tests/test_settings.py",
    "tests/test_storage_s3.py",
    "tests/services/test_messaging_unknown.py",
    "tests/services/test_backups.py",
)


def _database_use(item) -> int:
    """0: no database, 1: a test in a rolled-back transaction, 2: a transactional test (it
    flushes the database, leaving it without the migrations' rows, so these run last, as
    pytest-django and Django order them)."""
    marker = item.get_closest_marker("django_db")
    fixtures = getattr(item, "fixturenames", ())
    transactional = bool(marker and (marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences")))
    if transactional or "transactional_db" in fixtures or "live_server" in fixtures:
        return 2
    return 1 if marker or "db" in fixtures else 0


@pytest.hookimpl(trylast=True)
@pytest.hookimpl(tryfirst=True)  # before pytest-django's: its sort (transactional tests last) must win
def pytest_collection_modifyitems(config, items):
    def rank(item) -> tuple[int, int]:
        path = item.nodeid.split("::", 1)[0]
        return _database_use(item), SLOW_FIRST.index(path) if path in SLOW_FIRST else len(SLOW_FIRST)

    items.sort(key=rank)  # stable: every other test keeps its order


@pytest.fixture(scope="session")
def django_db_setup(request, django_test_environment, django_db_blocker, django_db_createdb):
    """The test database, migrated once per fingerprint of the migrations and copied for each
    worker (pytest-django would migrate one per xdist worker, every run): see db_template.py."""
    with django_db_blocker.unblock():
        drop = worker_database(request.config, rebuild=django_db_createdb)
    yield
    with django_db_blocker.unblock():
        drop()


@pytest.fixture
def main_branch(db) -> Branch:
    # Transactional tests flush the database, taking the rows the data migrations made
    # (default branch, role groups) with them: put them back when they are gone.
    # A flush without post_migrate (after a serialized-rollback test) also takes the permissions.
    if not Group.objects.filter(name=Role.OWNER).exists() or not Permission.objects.exists():
        for app_config in apps.get_app_configs():
            create_contenttypes(app_config, verbosity=0)
            create_permissions(app_config, verbosity=0)
        roles_sync()
    branch = Branch.objects.order_by("id").first()
    return branch or Branch.objects.create(name_ar="الفرع الرئيسي", name_en="Main branch")


def make_staff(username: str, role: Role | None, branch: Branch | None, **extra) -> User:
    user = User.objects.create_user(username=username, password="correct-horse-9", is_staff=True, **extra)
    if role is not None:
        user.groups.add(Group.objects.get(name=role.value))
    if branch is not None:
        user.branches.add(branch)
    return user


@pytest.fixture
def owner(main_branch) -> User:
    return make_staff("owner1", Role.OWNER, None, is_superuser=True)


@pytest.fixture
def manager(main_branch) -> User:
    return make_staff("manager1", Role.MANAGER, main_branch)


@pytest.fixture
def receptionist(main_branch) -> User:
    return make_staff("reception1", Role.RECEPTIONIST, main_branch)


@pytest.fixture
def accountant(main_branch) -> User:
    return make_staff("accountant1", Role.ACCOUNTANT, main_branch)


@pytest.fixture
def supervisor(main_branch) -> User:
    return make_staff("door1", Role.SUPERVISOR, main_branch)


@pytest.fixture
def teacher_user(main_branch) -> User:
    return make_staff("teacher1", Role.TEACHER, main_branch)


@pytest.fixture
def client_as(client):
    """client_as(user) logs the test client in as that user (axes needs force_login)."""

    def login(user: User):
        client.force_login(user)
        return client

    return login


@pytest.fixture
def room(main_branch) -> Room:
    return make_room(main_branch)


@pytest.fixture
def month_group(main_branch, room) -> StudyGroup:
    """A 200-a-month group meeting in ``room``."""
    return make_group(main_branch, fee="200.00", fee_period=FeePeriod.MONTH, room=room)
