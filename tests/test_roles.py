"""Roles are groups from a data migration, with server-enforced permissions."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from core.access.roles import Role, is_owner, roles_sync
from core.models import Branch


@pytest.mark.django_db
def test_every_role_exists_as_a_group():
    assert set(Group.objects.values_list("name", flat=True)) >= {role.value for role in Role}


@pytest.mark.django_db
def test_owner_group_holds_every_permission():
    owner_group = Group.objects.get(name=Role.OWNER)
    assert owner_group.permissions.count() == Permission.objects.count()


@pytest.mark.django_db
def test_sync_is_idempotent_and_restores_removed_permissions():
    manager = Group.objects.get(name=Role.MANAGER)
    before = set(manager.permissions.values_list("codename", flat=True))
    manager.permissions.clear()
    roles_sync()
    roles_sync()
    assert set(manager.permissions.values_list("codename", flat=True)) == before
    assert "view_branch" in before and "change_branch" not in before


@pytest.mark.django_db
def test_one_default_branch_exists_from_the_first_migration():
    assert Branch.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("role_fixture", ["manager", "receptionist", "accountant", "supervisor", "teacher_user"])
def test_only_the_owner_manages_staff_accounts(request, client_as, role_fixture, owner):
    user = request.getfixturevalue(role_fixture)
    assert not is_owner(user)
    response = client_as(user).get(reverse("admin:core_user_changelist"))
    assert response.status_code == 403
    assert client_as(owner).get(reverse("admin:core_user_changelist")).status_code == 200


@pytest.mark.django_db
def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("admin:core_branch_changelist"))
    assert response.status_code == 302 and reverse("admin:login") in response["Location"]


@pytest.mark.django_db
def test_manager_sees_branches_but_cannot_change_them(client_as, manager, main_branch):
    client = client_as(manager)
    assert client.get(reverse("admin:core_branch_changelist")).status_code == 200
    response = client.post(reverse("admin:core_branch_change", args=[main_branch.pk]), {"name_ar": "x"})
    assert response.status_code == 403
