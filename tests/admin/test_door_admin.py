"""The door's read-only admin lists: who may open them, branch scoping, and that they render."""

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from core.models import FeePeriod
from core.services.kiosks import kiosk_create
from core.services.scanning import scan_process
from tests.factories import make_branch, make_group, make_room, make_student
from tests.services.test_scanning import enroll, make_session, pay

CAIRO = ZoneInfo("Africa/Cairo")


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
    from core.roles import Role
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
    door_link = reverse("door")
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
