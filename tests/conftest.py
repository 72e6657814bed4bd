"""Shared fixtures: staff accounts by role, and a client logged in as each."""

import pytest
from django.contrib.auth.models import Group

from core.models import Branch, User
from core.roles import Role


@pytest.fixture
def main_branch(db) -> Branch:
    return Branch.objects.order_by("id").first()


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
