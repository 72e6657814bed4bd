"""The door's read-only admin lists: who may open them, branch scoping, and that they render."""

import datetime

import pytest
from django.urls import reverse

from core.models import FeePeriod
from core.services.kiosks import kiosk_create
from core.services.scanning import scan_process
from tests.factories import CAIRO, enroll, make_branch, make_group, make_room, make_session, make_student, pay


@pytest.fixture
def scans(main_branch):
    room = make_room(main_branch)
    group = make_group(main_branch, fee="200.00", fee_period=FeePeriod.MONTH, room=room)
    student = make_student(main_branch, name="طالب الباب")
    pay(enroll(student, group), "200.00")
    make_session(group, room)
    kiosk, _token = kiosk_create(actor=None, name="Door", branch=main_branch, room=room)
    at = datetime.datetime(2026, 11, 26, 15, 50, tzinfo=CAIRO)
    scan_process(student.code, kiosk=kiosk, at=at)
    scan_process("00000", kiosk=kiosk, at=at)
    return student


@pytest.mark.parametrize("name", ["admin:core_attendance_changelist", "admin:core_scanevent_changelist"])
def test_supervisor_and_manager_read_the_door_lists(client_as, supervisor, manager, scans, name):
    for user in (supervisor, manager):
        response = client_as(user).get(reverse(name))
        assert response.status_code == 200
        assert scans.full_name in response.content.decode()


@pytest.mark.parametrize("name", ["admin:core_attendance_changelist", "admin:core_scanevent_changelist"])
def test_receptionist_may_not(client_as, receptionist, name):
    assert client_as(receptionist).get(reverse(name)).status_code == 403


def test_other_branch_staff_see_no_door_rows(client_as, scans):
    from core.access.roles import Role
    from tests.conftest import make_staff

    elsewhere = make_staff("door2", Role.SUPERVISOR, make_branch())
    client = client_as(elsewhere)
    assert scans.full_name not in client.get(reverse("admin:core_attendance_changelist")).content.decode()
    page = client.get(reverse("admin:core_scanevent_changelist")).content.decode()
    assert scans.full_name not in page and "00000" not in page


def test_the_lists_are_read_only(client_as, owner, scans):
    from core.models import Attendance

    attendance = Attendance.objects.get()
    client = client_as(owner)
    assert client.get(reverse("admin:core_attendance_add")).status_code == 403
    response = client.post(reverse("admin:core_attendance_change", args=[attendance.pk]), {"status": "absent"})
    attendance.refresh_from_db()
    assert attendance.status == "present"
    assert response.status_code in (200, 403)


def test_the_sidebar_offers_the_door_to_the_supervisor_only(client_as, supervisor, receptionist):
    door_link = f'href="{reverse("door")}"'  # the scanning page itself, not today's board under it
    assert door_link in client_as(supervisor).get(reverse("admin:index")).content.decode()
    assert door_link not in client_as(receptionist).get(reverse("admin:index")).content.decode()


def active_links(user, path):
    from django.contrib import admin
    from django.test import RequestFactory

    request = RequestFactory().get(path)
    request.user = user
    return [
        str(item["link"])
        for group in admin.site.get_sidebar_list(request)
        for item in group["items"]
        if item["active"] and item["has_permission"]
    ]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/admin/door/", "door"),
        ("/admin/door/today/", "door-today"),
        ("/admin/door/sheet/", "door-sheet"),
        ("/admin/door/session/7/", "door-today"),
        ("/admin/core/scanevent/?outcome=present", "admin:core_scanevent_changelist"),
        ("/admin/", "admin:index"),
    ],
)
def test_the_sidebar_lights_only_the_best_matching_door_link(manager, path, expected):
    assert active_links(manager, path) == [reverse(expected)]


def test_the_cashier_lights_the_cashier_only_not_receipts_too(manager):
    assert active_links(manager, reverse("admin:core_receipt_cashier")) == [reverse("admin:core_receipt_cashier")]
    receipts = reverse("admin:core_receipt_changelist")
    assert active_links(manager, receipts + "5/change/") == [receipts]


# --- the scan log: masked teacher cards, filters ------------------------------------------------------------

SIGNATURE = "tqaTUADYqG8OK5GUWkN0e1QaLQ-Tyf_MUIwO4cFu0xI"


@pytest.fixture
def old_teacher_scan(scans):
    """A row written before the service masked card values at write time."""
    from core.models import ScanEvent

    first = ScanEvent.objects.filter(student=scans).first()
    return ScanEvent.objects.create(
        at=first.at,
        raw_code=f"T-3.1:{SIGNATURE}",
        code=f"T-3.1:{SIGNATURE}",
        outcome="teacher_in",
        message="",
        session=first.session,
        kiosk=first.kiosk,
    )


def test_the_scan_log_never_shows_a_teacher_cards_signature(client_as, supervisor, old_teacher_scan):
    client = client_as(supervisor)
    listing = client.get(reverse("admin:core_scanevent_changelist")).content.decode()
    assert "T-3.1:…" in listing and SIGNATURE not in listing
    detail = client.get(reverse("admin:core_scanevent_change", args=[old_teacher_scan.pk])).content.decode()
    assert "T-3.1:…" in detail and SIGNATURE not in detail.replace(f"T-3.1:{SIGNATURE} ·", "")


def test_the_scan_log_export_masks_teacher_cards(old_teacher_scan):
    from core.admin.door import ScanEventResource
    from core.models import ScanEvent

    exported = ScanEventResource().export(ScanEvent.objects.all()).csv
    assert "T-3.1:…" in exported and SIGNATURE not in exported


def changelist_names(client, **params) -> str:
    return client.get(reverse("admin:core_scanevent_changelist"), params).content.decode()


def test_the_scan_log_filters_by_student_code_or_folded_name(client_as, manager, main_branch, scans):
    other = make_student(main_branch, name="فاطمة علي")
    from core.models import ScanEvent

    first = ScanEvent.objects.filter(student=scans).first()
    ScanEvent.objects.create(
        at=first.at,
        raw_code=other.code,
        code=other.code,
        outcome="no_session",
        message="",
        student=other,
        kiosk=first.kiosk,
    )
    client = client_as(manager)
    by_code = changelist_names(client, student=scans.code)
    assert scans.full_name in by_code and other.full_name not in by_code
    by_name = changelist_names(client, student="فاطمه")  # ة typed as ه
    assert other.full_name in by_name and scans.full_name not in by_name
    searched = changelist_names(client, q="فاطمه")
    assert other.full_name in searched and scans.full_name not in searched


def test_the_scan_log_filters_by_group_branch_kiosk_desk_and_operator(client_as, manager, supervisor, scans):
    from core.models import ScanEvent

    first = ScanEvent.objects.filter(student=scans).first()
    ScanEvent.objects.create(
        at=first.at,
        raw_code="99999",
        code="99999",
        outcome="unknown",
        message="",
        session=first.session,
        operator=supervisor,
    )
    client = client_as(manager)
    group = first.session.group
    assert scans.full_name in changelist_names(client, session__group__id__exact=group.pk)
    assert scans.full_name not in changelist_names(client, session__group__id__exact=make_group(group.branch).pk)
    assert scans.full_name in changelist_names(client, branch=group.branch_id)
    assert scans.full_name in changelist_names(client, session__id__exact=first.session_id)  # from the class page
    desk_only = changelist_names(client, kiosk="desk")
    assert "99999" in desk_only and scans.full_name not in desk_only
    page = changelist_names(client)
    from django.utils.translation import gettext, override

    with override("ar"):
        assert gettext("Door desk (no kiosk)") in page and gettext("Door desk") in page
    by_operator = changelist_names(client, operator=supervisor.pk)
    assert "99999" in by_operator and scans.full_name not in by_operator


# --- error pages ------------------------------------------------------------------------------------------


def assert_self_contained(html: str) -> None:
    """Renders under the CSP: our stylesheet only, no inline script or style."""
    assert "<script" not in html and "<style" not in html and 'style="' not in html
    assert "/static/core/simple_page.css" in html


def test_a_money_screen_gives_the_supervisor_a_translated_403_page(client_as, supervisor):
    from django.utils.translation import gettext, override

    response = client_as(supervisor).get(reverse("admin:core_receipt_cashier"))
    assert response.status_code == 403
    html = response.content.decode()
    with override("ar"):
        assert gettext("This page is not for your role") in html
    assert 'lang="ar" dir="rtl"' in html and reverse("admin:index") in html
    assert_self_contained(html)


def test_the_403_page_follows_the_english_language(client_as, supervisor):
    supervisor.language = "en"
    supervisor.save(update_fields=["language"])
    client = client_as(supervisor)
    html = client.get(reverse("admin:core_ledgerentry_changelist")).content.decode()
    assert "This page is not for your role" in html and 'dir="ltr"' in html


@pytest.mark.parametrize("name", ["404.html", "500.html"])
def test_the_404_and_500_pages_render_without_a_request(name):
    from django.template.loader import get_template

    html = get_template(name).render()
    assert reverse("admin:index") in html
    assert_self_contained(html)


def test_the_scan_log_filters_work_with_counts_shown(client_as, manager, old_teacher_scan):
    response = client_as(manager).get(reverse("admin:core_scanevent_changelist"), {"_facets": "True", "kiosk": "desk"})
    assert response.status_code == 200
