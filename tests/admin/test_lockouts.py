"""A locked-out login has a way back (issue 14): any other owner unlocks an owner, managers do not
manage users, the lockout page speaks to the role that is locked, and every unlock is audited."""

import pytest
from axes.models import AccessAttempt
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from core.access.roles import Role
from core.models import AuditLog
from core.services.lockouts import lockout_release
from tests.conftest import make_staff

pytestmark = pytest.mark.django_db

LOCKOUTS = "/admin/axes/accessattempt/"


def lock(client, username: str):
    response = None
    for _attempt in range(5):
        response = client.post(
            reverse("admin:login"),
            {"username": username, "password": "wrong-password", "next": "/admin/"},
            REMOTE_ADDR="10.0.0.7",
            HTTP_ACCEPT_LANGUAGE="ar",
        )
    return response


@pytest.fixture(autouse=True)
def _fresh_login_rate_limit():
    cache.clear()  # the login rate limit counts posts per address in the cache
    yield
    cache.clear()


@pytest.fixture
def second_owner(main_branch):
    return make_staff("owner2", Role.OWNER, None)


def test_an_owner_unlocks_another_owner_and_the_unlock_is_audited(client, owner, second_owner):
    lock(client, "owner2")
    attempt = AccessAttempt.objects.get(username="owner2")
    client.force_login(owner)
    response = client.post(LOCKOUTS, {"action": "unlock", "_selected_action": [attempt.pk]})
    assert response.status_code == 302
    assert not AccessAttempt.objects.filter(username="owner2").exists()
    entry = AuditLog.objects.get(action=AuditLog.Action.UNLOCK)
    assert (entry.actor, entry.model, entry.object_id) == (owner, "core.user", str(second_owner.pk))
    assert entry.changes == {"failed_logins": [5, 0]}
    client.logout()
    login = client.post(reverse("admin:login"), {"username": "owner2", "password": "correct-horse-9"})
    assert login.status_code == 302


def test_an_owner_who_is_not_superuser_may_unlock_too(client, second_owner, receptionist):
    lock(client, "reception1")
    attempt = AccessAttempt.objects.get(username="reception1")
    client.force_login(second_owner)
    client.post(LOCKOUTS, {"action": "unlock", "_selected_action": [attempt.pk]})
    assert not AccessAttempt.objects.filter(username="reception1").exists()


def test_a_manager_may_not_unlock_accounts(client, manager, receptionist):
    lock(client, "reception1")
    client.force_login(manager)
    assert client.get(LOCKOUTS).status_code == 403
    with pytest.raises(PermissionDenied):
        lockout_release(actor=manager, username="reception1")
    assert AccessAttempt.objects.filter(username="reception1").exists()
    assert not AuditLog.objects.filter(action=AuditLog.Action.UNLOCK).exists()


def test_the_lockout_page_tells_an_owner_about_another_owner_and_the_command(client, owner):
    page = lock(client, owner.username)
    assert page.status_code == 429
    html = page.content.decode()
    assert 'data-locked-role="owner"' in html
    assert f"python manage.py axes_reset_username {owner.username}" in html
    assert "مالك آخر" in html


def test_the_lockout_page_tells_staff_to_ask_the_owner(client, receptionist):
    html = lock(client, "reception1").content.decode()
    assert 'data-locked-role="staff"' in html
    assert "axes_reset_username" not in html
    assert "اطلب من مالك السنتر" in html
