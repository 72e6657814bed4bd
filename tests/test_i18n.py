"""Arabic first whatever the browser sends; English one click away, remembered per user."""

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation


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


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "view_site"), [("ar", "عرض الموقع"), ("en", "View site")])
def test_admin_pages_carry_the_center_title_and_no_view_site_link(client, owner, language, view_site):
    owner.language = language
    owner.save(update_fields=["language"])
    client.force_login(owner)
    response = client.get(reverse("admin:core_group_changelist"))
    body = response.content.decode()
    with translation.override(language):
        site_title = str(settings.UNFOLD["SITE_TITLE"])
    assert response.context["site_title"] == site_title
    assert f"| {site_title}</title>" in " ".join(body.split())
    # "View site" led back to /admin/: the admin is the whole site, so there is no such link.
    assert response.context["site_url"] is None
    assert view_site not in body


@pytest.mark.django_db
def test_the_dashboard_is_titled_dashboard_not_site_administration(client, owner):
    client.force_login(owner)
    response = client.get(reverse("admin:index"))
    assert str(response.context["title"]) == "لوحة التحكم"
    assert "إدارة الموقع" not in response.content.decode()
