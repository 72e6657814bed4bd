"""Security baseline: CSP, headers, login lockout (axes), login rate limit, idle sessions."""

import time

import pytest
from axes.models import AccessAttempt
from django.core.cache import cache
from django.test import override_settings
from django.urls import reverse

from core.models import User

ADMIN_POLICY = {
    "default-src": {"'self'"},
    "script-src": {"'self'", "'unsafe-eval'"},
    "style-src": {"'self'"},
    "style-src-elem": {"'self'", "'unsafe-inline'"},
    "style-src-attr": {"'unsafe-inline'"},
    "img-src": {"'self'", "data:"},
    "font-src": {"'self'"},
    "connect-src": {"'self'"},
    "object-src": {"'none'"},
    "base-uri": {"'self'"},
    "frame-ancestors": {"'none'"},
    "form-action": {"'self'"},
}


def parse_csp(header: str) -> dict[str, set[str]]:
    policy = {}
    for directive in filter(None, (part.strip() for part in header.split(";"))):
        name, *sources = directive.split()
        policy[name] = set(sources)
    return policy


@pytest.fixture(autouse=True)
def clear_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.mark.django_db
def test_admin_pages_carry_the_measured_csp(client, owner):
    for response in (client.get(reverse("admin:login")), client.get(reverse("admin:login"))):
        assert parse_csp(response["Content-Security-Policy"]) == ADMIN_POLICY
    client.force_login(owner)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    assert parse_csp(response["Content-Security-Policy"]) == ADMIN_POLICY


@pytest.mark.django_db
def test_security_headers_on_the_login_page(client):
    response = client.get(reverse("admin:login"))
    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"
    permissions = response["Permissions-Policy"]
    assert "camera=(self)" in permissions and "microphone=()" in permissions
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["X-Request-ID"]


def post_login(client, username, password, ip="10.0.0.7"):
    return client.post(
        reverse("admin:login"),
        {"username": username, "password": password, "next": reverse("admin:index")},
        REMOTE_ADDR=ip,
    )


@pytest.mark.django_db
def test_five_wrong_passwords_lock_the_username_with_a_translated_page(client, receptionist):
    for _attempt in range(4):
        assert post_login(client, "reception1", "wrong-password").status_code == 200
    locked = post_login(client, "reception1", "wrong-password")
    assert locked.status_code == 429
    body = locked.content.decode()
    assert 'dir="rtl"' in body
    assert "الحساب مقفل" in body  # "Account locked", in Arabic by default
    # Even the right password is refused while locked.
    assert post_login(client, "reception1", "correct-horse-9").status_code == 429
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_lockout_is_per_username_not_per_shared_ip(client, receptionist, accountant):
    for _attempt in range(5):
        post_login(client, "reception1", "wrong-password", ip="10.0.0.9")
    response = post_login(client, "accountant1", "correct-horse-9", ip="10.0.0.9")
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(accountant.pk)


@pytest.mark.django_db
def test_owner_unlocks_a_locked_account_from_the_admin(client, owner, receptionist):
    for _attempt in range(5):
        post_login(client, "reception1", "wrong-password")
    attempt = AccessAttempt.objects.get(username="reception1")
    client.force_login(owner)
    response = client.post(
        reverse("admin:axes_accessattempt_changelist"),
        {"action": "unlock", "_selected_action": [attempt.pk]},
    )
    assert response.status_code == 302
    assert not AccessAttempt.objects.filter(username="reception1").exists()
    client.logout()
    assert post_login(client, "reception1", "correct-horse-9").status_code == 302


@pytest.mark.django_db
def test_staff_without_permission_cannot_open_lockouts(client_as, receptionist):
    client = client_as(receptionist)
    assert client.get(reverse("admin:axes_accessattempt_changelist")).status_code == 403


@pytest.mark.django_db
@override_settings(LOGIN_RATE_LIMIT_PER_MINUTE=3)
def test_login_posts_are_rate_limited_per_client_address(client, receptionist):
    for index in range(3):
        assert post_login(client, f"nobody{index}", "x", ip="10.1.1.1").status_code == 200
    limited = post_login(client, "reception1", "correct-horse-9", ip="10.1.1.1")
    assert limited.status_code == 429
    assert "محاولات كثيرة" in limited.content.decode()
    # Another address is not affected.
    assert post_login(client, "reception1", "correct-horse-9", ip="10.1.1.2").status_code == 302


@pytest.mark.django_db
@override_settings(TRUSTED_PROXY_COUNT=1)
def test_client_address_is_read_behind_one_proxy(rf):
    from core.web.http import client_ip

    request = rf.get("/", HTTP_X_FORWARDED_FOR="6.6.6.6, 41.33.1.2", REMOTE_ADDR="10.0.0.1")
    assert client_ip(request) == "41.33.1.2"  # the forged left-most address is ignored
    assert client_ip(rf.get("/", REMOTE_ADDR="10.0.0.1")) == "10.0.0.1"
    assert client_ip(rf.get("/", HTTP_X_FORWARDED_FOR="garbage", REMOTE_ADDR="10.0.0.1")) == "10.0.0.1"


@pytest.mark.django_db
def test_idle_staff_session_ends_after_the_idle_limit(client, owner, settings):
    settings.SESSION_COOKIE_AGE = 2
    client.force_login(owner)
    assert client.get(reverse("admin:index")).status_code == 200
    time.sleep(2.5)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


@pytest.mark.django_db
def test_activity_pushes_the_session_expiry_forward(client, owner):
    client.force_login(owner)
    client.get(reverse("admin:index"))
    first_expiry = client.session.get_expiry_date()
    session = client.session
    session["_last_seen"] = 0  # as if the last refresh were long ago
    session.save()
    client.get(reverse("admin:index"))
    assert client.session.get_expiry_date() > first_expiry


def test_password_validators_require_eight_characters(db):
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        validate_password("a1b2c3d", User(username="x"))
    validate_password("tutor-center-2026", User(username="x"))
