"""The admin site (core/web/admin_site.py): unfold's, with the sidebar's permission check called
directly. The links each role sees are the permission matrix's business; here, the check itself."""

from django.contrib import admin
from django.test import RequestFactory

from core.web.admin_site import CenterAdminSite


def owner_only(request) -> bool:
    return request.user.is_superuser


def request_as(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def test_the_project_runs_on_the_center_site():
    assert isinstance(admin.site, CenterAdminSite)
    assert admin.site._registry  # the models registered on it, not on a site made before it


def test_a_link_shows_only_when_its_callback_says_true(owner, receptionist):
    site = CenterAdminSite()
    may_settle = lambda request: request.user.has_perm("core.change_settlement")  # noqa: E731
    assert site._call_permission_callback(None, request_as(receptionist)) is True
    assert site._call_permission_callback(may_settle, request_as(owner)) is True
    assert site._call_permission_callback(may_settle, request_as(receptionist)) is False
    assert site._call_permission_callback(lambda request: "yes", request_as(owner)) is False


def test_a_callback_named_by_its_path_is_imported_and_a_wrong_path_hides_the_link(owner, receptionist):
    site = CenterAdminSite()
    path = "tests.admin.test_admin_site.owner_only"
    assert site._call_permission_callback(path, request_as(owner)) is True
    assert site._call_permission_callback(path, request_as(receptionist)) is False
    assert site._call_permission_callback("tests.admin.test_admin_site.nowhere", request_as(owner)) is False
