"""Door follow-ups in the admin: the office's list of refusals an offline kiosk let through."""

import datetime

import pytest
from django.urls import reverse

from core.models import AuditLog, DoorFollowUp, FeePeriod
from core.services.kiosks import kiosk_create
from core.services.scanning import scan_process
from tests.factories import CAIRO, enroll, make_group, make_room, make_session, make_student

URL = "admin:core_doorfollowup_changelist"


@pytest.fixture
def follow_up(main_branch):
    room = make_room(main_branch)
    group = make_group(main_branch, fee="50.00", fee_period=FeePeriod.SESSION, room=room)
    student = make_student(main_branch, name="مدين الباب")
    enroll(student, group)  # never paid: the rules refuse him
    make_session(group, room)
    kiosk, _token = kiosk_create(actor=None, name="Door", branch=main_branch, room=room)
    at = datetime.datetime(2026, 11, 26, 15, 50, tzinfo=CAIRO)
    scan_process(student.code, kiosk=kiosk, at=at, client_scan_id="off-1", offline=True)
    return DoorFollowUp.objects.get()


def test_anonymous_is_sent_to_the_login(client, follow_up):
    response = client.get(reverse(URL))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_office_and_the_supervisor_see_it(client_as, receptionist, supervisor, follow_up):
    for user in (receptionist, supervisor):
        page = client_as(user).get(reverse(URL)).content.decode()
        assert "مدين الباب" in page


def test_the_accountant_may_not_see_it(client_as, accountant, follow_up):
    assert client_as(accountant).get(reverse(URL)).status_code == 403


def _resolve(client, follow_up):
    return client.post(reverse(URL), {"action": "resolve", "_selected_action": [follow_up.pk]})


def test_the_supervisor_may_not_resolve(client_as, supervisor, follow_up):
    _resolve(client_as(supervisor), follow_up)
    follow_up.refresh_from_db()
    assert follow_up.resolved_at is None


def test_the_receptionist_resolves_it_once_with_an_audit_row(client_as, receptionist, follow_up):
    client = client_as(receptionist)
    assert _resolve(client, follow_up).status_code == 302
    _resolve(client, follow_up)
    follow_up.refresh_from_db()
    assert follow_up.resolved_at is not None and follow_up.resolved_by == receptionist
    assert AuditLog.objects.filter(model="core.doorfollowup", actor=receptionist).count() == 1
    pending = client.get(reverse(URL), {"resolved": "no"}).content.decode()
    assert "مدين الباب" not in pending
