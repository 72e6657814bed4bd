"""Shared fixtures: staff accounts by role, a client logged in as each, and the door's room and
month group (the builders themselves are in tests/factories.py)."""

import pytest
from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.management import create_contenttypes
from whitenoise.middleware import WhiteNoiseMiddleware

from core.access.roles import Role, roles_sync
from core.models import Branch, FeePeriod, Room, User
from core.models import Group as StudyGroup
from tests.db_template import worker_database
from tests.factories import make_group, make_room


@pytest.fixture(scope="session")
def django_db_setup(request, django_test_environment, django_db_blocker, django_db_createdb):
    """The test database, migrated once per fingerprint of the migrations and copied for each
    worker (pytest-django would migrate one per xdist worker, every run): see db_template.py."""
    with django_db_blocker.unblock():
        drop = worker_database(request.config, rebuild=django_db_createdb)
    yield
    with django_db_blocker.unblock():
        drop()


@pytest.fixture(scope="session", autouse=True)
def static_files_listed_once():
    """whitenoise lists and stats every app's static file each time a middleware chain is built,
    and the test client builds one per ``Client``: about 50 ms for each of ~700 tests. The files do
    not change during a run, so each process lists them once and every later chain reuses the list
    (whitenoise still serves them exactly as before)."""
    listed: dict[tuple, dict] = {}
    original = WhiteNoiseMiddleware.add_files_from_finders

    def add_files_from_finders(self) -> None:
        key = (self.static_prefix, self.max_age, self.allow_all_origins, self.charset)
        if key not in listed:
            before = set(self.files)
            original(self)
            listed[key] = {url: found for url, found in self.files.items() if url not in before}
        self.files.update(listed[key])

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(WhiteNoiseMiddleware, "add_files_from_finders", add_files_from_finders)
        yield


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


@pytest.fixture(autouse=True)
def _empty_cache():
    """Every test starts with an empty cache: the dashboard keeps its figures for a minute, and a
    figure another test cached for the same branch would otherwise answer in its place."""
    from django.core.cache import cache

    cache.clear()
