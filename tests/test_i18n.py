"""Arabic first whatever the browser sends; English one click away, remembered per user."""

import pytest
from django.urls import reverse


@pytest.mark.django_db
def test_login_page_is_arabic_and_rtl_even_for_an_english_browser(client):
    response = client.get(reverse("admin:login"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    body = response.content.decode()
    assert response["Content-Language"] == "ar"
    assert 'lang="ar"' in body and 'dir="rtl"' in body
    assert "اسم المستخدم" in body  # Django's own Arabic catalogue: "Username"


@pytest.mark.django_db
def test_language_choice_is_remembered_on_the_account(client, owner):
    client.force_login(owner)
    response = client.post(reverse("set_language"), {"language": "en", "next": reverse("admin:index")})
    assert response.status_code == 302 and response["Location"] == reverse("admin:index")
    owner.refresh_from_db()
    assert owner.language == "en"
    # A new browser (no cookie) still gets English for this user.
    client.cookies.clear()
    client.force_login(owner)
    page = client.get(reverse("admin:index"))
    assert page["Content-Language"] == "en"
    assert 'dir="ltr"' in page.content.decode()


@pytest.mark.django_db
def test_unknown_language_and_foreign_redirect_are_ignored(client, owner):
    client.force_login(owner)
    response = client.post(reverse("set_language"), {"language": "fr", "next": "https://evil.example.com/"})
    assert response["Location"] == "/admin/"
    owner.refresh_from_db()
    assert owner.language == "ar"


@pytest.mark.django_db
def test_project_strings_are_translated_from_the_committed_catalogue(client, owner):
    client.force_login(owner)
    body = client.get(reverse("admin:index")).content.decode()
    assert "لوحة التحكم" in body  # sidebar "Dashboard"
    assert "الفروع" in body  # sidebar "Branches"
