"""English that used to show on Arabic pages: third-party app names, Django's password-auth
strings, role names from the database, ambiguous words, and the import pages and messages."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


# --- app names ------------------------------------------------------------------------------


def test_axes_and_q2_app_names_are_arabic_on_the_admin_index(client_as, owner):
    body = page(client_as(owner), reverse("admin:index"))
    assert "حماية تسجيل الدخول" in body and "المهام في الخلفية" in body
    assert "Axes" not in body and "Django Q" not in body


@pytest.mark.parametrize(("app", "arabic"), [("axes", "حماية تسجيل الدخول"), ("django_q", "المهام في الخلفية")])
def test_app_index_pages_are_titled_in_arabic(client_as, owner, app, arabic):
    body = page(client_as(owner), reverse("admin:app_list", args=[app]))
    assert arabic in body
    assert "Axes" not in body and "Django Q" not in body


def test_app_names_stay_english_in_english(client_as, owner):
    owner.language = "en"
    owner.save(update_fields=["language"])
    body = page(client_as(owner), reverse("admin:index"))
    assert "Login protection" in body and "Background jobs" in body


# --- the staff add form (Django 5.2's password-based authentication) ------------------------

ENGLISH_ON_THE_ADD_FORM = (
    "Password-based authentication",
    "Whether the user will be able to authenticate",
    "Enabled",
    "Disabled",
    "Single Sign-On",
    "Enter the same password as before",
)


def test_user_add_form_has_no_english_password_text(client_as, owner):
    body = page(client_as(owner), reverse("admin:core_user_add"))
    for english in ENGLISH_ON_THE_ADD_FORM:
        assert english not in body, english
    assert "تسجيل الدخول بكلمة المرور" in body
    assert "مفعّل" in body and "معطّل" in body


def test_password_too_short_is_arabic(client_as, owner):
    response = client_as(owner).post(
        reverse("admin:core_user_add"),
        {"username": "new-clerk", "usable_password": "true", "password1": "a1", "password2": "a1"},
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "This password is too short" not in body
    assert "كلمة المرور هذه قصيرة جدًا" in body
