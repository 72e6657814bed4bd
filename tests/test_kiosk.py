"""The kiosk endpoint: device token, CSRF kept on, staff sessions refused, rate limit, replays."""

import datetime
import json

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from core.models import Attendance, AuditLog, FeePeriod, Kiosk, ScanEvent
from core.services.kiosks import kiosk_create, kiosk_from_token, kiosk_revoke, token_hash
from tests.factories import CAIRO, enroll, make_group, make_room, make_session, make_student, pay

URL = "/kiosk/scan/"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def door(main_branch):
    room = make_room(main_branch)
    group = make_group(main_branch, fee="200.00", fee_period=FeePeriod.MONTH, room=room)
    student = make_student(main_branch)
    pay(enroll(student, group), "200.00")
    make_session(group, room)
    kiosk, token = kiosk_create(actor=None, name="Main door", branch=main_branch, room=room)
    return student, kiosk, token


def kiosk_client():
    client = Client(enforce_csrf_checks=True)
    csrf = client.get(URL).json()["csrf_token"]
    return client, csrf


def post(client, csrf, token, body):
    return client.post(
        URL,
        data=json.dumps(body),
        content_type="application/json",
        headers={"X-Kiosk-Token": token, "X-CSRFToken": csrf},
    )


def test_url_name():
    assert reverse("kiosk-scan") == URL


def test_token_is_stored_hashed_and_shown_once(main_branch):
    kiosk, token = kiosk_create(actor=None, name="Door", branch=main_branch)
    assert token not in (kiosk.token_hash, kiosk.token_prefix) and kiosk.token_hash == token_hash(token)
    assert token.startswith(kiosk.token_prefix)
    assert kiosk_from_token(token) == kiosk
    assert kiosk_from_token(token + "x") is None
    kiosk_revoke(actor=None, kiosk=kiosk)
    assert kiosk_from_token(token) is None


@time_machine.travel(datetime.datetime(2026, 11, 26, 15, 50, tzinfo=CAIRO), tick=False)
def test_a_kiosk_scan_admits_and_a_replay_returns_the_same_answer(door):
    student, kiosk, token = door
    client, csrf = kiosk_client()
    first = post(client, csrf, token, {"code": student.code, "client_scan_id": "k1-0001"})
    assert first.status_code == 200
    assert first.json()["code"] == "present"
    assert first.json()["colour"] == "green"
    assert "amount_owed" not in first.json()  # the door never shows money (SPEC §1)
    again = post(client, csrf, token, {"code": student.code, "client_scan_id": "k1-0001"})
    assert again.json() == first.json()
    assert Attendance.objects.get().source == Attendance.Source.KIOSK
    assert ScanEvent.objects.get().kiosk == kiosk
    kiosk.refresh_from_db()
    assert kiosk.last_seen_at is not None


def test_wrong_or_revoked_tokens_are_refused(door):
    student, kiosk, token = door
    client, csrf = kiosk_client()
    assert post(client, csrf, "not-a-token", {"code": student.code}).status_code == 401
    kiosk_revoke(actor=None, kiosk=kiosk)
    assert post(client, csrf, token, {"code": student.code}).status_code == 401
    assert not ScanEvent.objects.exists()


def test_csrf_stays_on(door):
    student, _kiosk, token = door
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        URL, data=json.dumps({"code": student.code}), content_type="application/json", headers={"X-Kiosk-Token": token}
    )
    assert response.status_code == 403
    assert not ScanEvent.objects.exists()


def test_a_staff_session_is_refused(door, supervisor):
    client = Client(enforce_csrf_checks=True)
    client.force_login(supervisor)
    csrf = client.get(URL)
    assert csrf.status_code == 403
    assert not ScanEvent.objects.exists()


def test_bad_bodies(door):
    _student, _kiosk, token = door
    client, csrf = kiosk_client()
    assert post(client, csrf, token, ["x"]).status_code == 400
    assert post(client, csrf, token, {"code": 5}).status_code == 400
    assert post(client, csrf, token, {"code": "1", "client_scan_id": 3}).status_code == 400


def test_scans_are_rate_limited_per_kiosk(door, monkeypatch):
    monkeypatch.setattr("core.web.kiosk_api.SCANS_PER_MINUTE", 3)
    student, _kiosk, token = door
    client, csrf = kiosk_client()
    codes = [post(client, csrf, token, {"code": student.code}).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]


def test_the_rate_limit_is_a_sliding_minute_per_kiosk_and_a_refusal_writes_nothing(door, main_branch, monkeypatch):
    monkeypatch.setattr("core.web.kiosk_api.SCANS_PER_MINUTE", 2)
    student, kiosk, token = door
    _other, other_token = kiosk_create(actor=None, name="Side door", branch=main_branch)
    client, csrf = kiosk_client()
    start = datetime.datetime(2026, 11, 26, 15, 40, tzinfo=CAIRO)
    with time_machine.travel(start, tick=False) as clock:
        assert [post(client, csrf, token, {"code": student.code}).status_code for _ in range(2)] == [200, 200]
        clock.move_to(start + datetime.timedelta(seconds=30))
        refused = post(client, csrf, token, {"code": student.code})
        assert refused.status_code == 429
        assert ScanEvent.objects.filter(kiosk=kiosk).count() == 2  # the refused request left no trace
        assert post(client, csrf, other_token, {"code": student.code}).status_code == 200  # its own limit
        clock.move_to(start + datetime.timedelta(seconds=61))  # the first two are out of the minute
        assert post(client, csrf, token, {"code": student.code}).status_code == 200


def test_guessing_tokens_is_rate_limited(door, monkeypatch):
    monkeypatch.setattr("core.web.kiosk_api.BAD_TOKENS_PER_MINUTE", 2)
    student, _kiosk, _token = door
    client, csrf = kiosk_client()
    codes = [post(client, csrf, f"guess-{n}", {"code": student.code}).status_code for n in range(3)]
    assert codes == [401, 401, 429]


# --- admin -----------------------------------------------------------------------------------------


def test_admin_creates_a_kiosk_and_shows_its_token_once(client_as, owner, main_branch):
    client = client_as(owner)
    response = client.post(
        reverse("admin:core_kiosk_add"), {"name": "Front door", "branch": main_branch.pk, "room": ""}
    )
    kiosk = Kiosk.objects.get(name="Front door")
    assert response.status_code == 302  # redirect-after-POST to the token page (tests/admin/test_kiosk_admin.py)
    response = client.get(response["Location"])
    token = response.context["token"]
    assert kiosk.token_hash == token_hash(token)
    assert token in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert AuditLog.objects.filter(model="core.kiosk", object_id=str(kiosk.pk)).exists()
    page = client.get(reverse("admin:core_kiosk_change", args=[kiosk.pk])).content.decode()
    assert token not in page
    assert kiosk.token_prefix in page


def test_admin_revoke_action_asks_for_a_reason_first(client_as, owner, main_branch):
    kiosk, token = kiosk_create(actor=None, name="Door", branch=main_branch)
    client = client_as(owner)
    changelist = reverse("admin:core_kiosk_changelist")
    asked = client.post(changelist, {"action": "revoke", "_selected_action": [kiosk.pk]})
    assert asked.status_code == 200 and "reason" in asked.context["form"].fields
    assert kiosk_from_token(token) is not None  # nothing yet
    blank = {"action": "revoke", "_selected_action": [kiosk.pk], "apply": "1", "reason": " "}
    assert client.post(changelist, blank).status_code == 200
    assert kiosk_from_token(token) is not None
    done = client.post(changelist, {**blank, "reason": "tablet stolen"})
    assert done.status_code == 302
    assert kiosk_from_token(token) is None
    assert AuditLog.objects.get(model="core.kiosk", object_id=str(kiosk.pk), reason="tablet stolen")


def test_staff_without_the_permission_cannot_open_kiosks(client_as, receptionist):
    assert client_as(receptionist).get(reverse("admin:core_kiosk_changelist")).status_code == 403


def test_the_kiosk_page_has_the_strict_policy_and_no_inline_script(client):
    from django.contrib.staticfiles import finders

    response = client.get(reverse("kiosk"))
    assert response.status_code == 200
    policy = {
        part.split()[0]: part.split()[1:] for part in response["Content-Security-Policy"].split(";") if part.strip()
    }
    assert policy["script-src"] == ["'self'"]
    assert "'unsafe-eval'" not in response["Content-Security-Policy"]
    page = response.content.decode()
    assert "<script>" not in page and 'src="/static/core/kiosk.js"' in page
    assert 'data-scan-url="/kiosk/scan/"' in page
    assert finders.find("core/kiosk.js") and finders.find("core/kiosk.css")
    assert "csrftoken" in response.cookies


# --- the supervisor's scanning page -------------------------------------------------------------------


def test_the_supervisor_scans_with_his_login_and_is_the_operator(door, supervisor):
    student, _kiosk, _token = door
    client = Client(enforce_csrf_checks=True)
    client.force_login(supervisor)
    page = client.get(reverse("door"))
    assert page.status_code == 200
    assert 'data-mode="staff"' in page.content.decode()
    csrf = page.cookies["csrftoken"].value if "csrftoken" in page.cookies else client.cookies["csrftoken"].value
    body = json.dumps({"code": student.code, "client_scan_id": "desk-1"})
    assert client.post(reverse("door-scan"), data=body, content_type="application/json").status_code == 403
    with time_machine.travel(datetime.datetime(2026, 11, 26, 15, 50, tzinfo=CAIRO), tick=False):
        answer = client.post(
            reverse("door-scan"), data=body, content_type="application/json", headers={"X-CSRFToken": csrf}
        )
    assert answer.status_code == 200
    assert answer.json()["code"] == "present"
    event = ScanEvent.objects.get()
    assert (event.operator, event.kiosk) == (supervisor, None)
    assert Attendance.objects.get().source == Attendance.Source.DESK


def test_staff_without_attendance_rights_cannot_scan(client_as, receptionist):
    client = client_as(receptionist)
    assert client.get(reverse("door")).status_code == 403
    response = client.post(reverse("door-scan"), data="{}", content_type="application/json")
    assert response.status_code == 403


def test_the_door_page_needs_a_login(client):
    assert client.get(reverse("door")).status_code == 302


def test_a_supervisor_admits_only_to_his_branches(door):
    from core.access.roles import Role
    from tests.conftest import make_staff
    from tests.factories import make_branch

    student, _kiosk, _token = door
    elsewhere = make_staff("door-elsewhere", Role.SUPERVISOR, make_branch())
    at = datetime.datetime(2026, 11, 26, 15, 50, tzinfo=CAIRO)
    from core.services.scanning import scan_process

    assert scan_process(student.code, operator=elsewhere, at=at).code == "no_session"
    assert not Attendance.objects.exists()


# --- the roster beside the scan box -------------------------------------------------------------


@time_machine.travel(datetime.datetime(2026, 11, 26, 15, 50, tzinfo=CAIRO), tick=False)
def test_the_roster_lists_who_is_expected_in_and_refused(door, main_branch, django_assert_num_queries):
    student, _kiosk, token = door
    group = student.enrollments.get().group
    owes = make_student(main_branch, name="مدين")
    enroll(owes, group)
    waiting = make_student(main_branch, name="لم يأت")
    pay(enroll(waiting, group), "200.00")
    client, csrf = kiosk_client()
    post(client, csrf, token, {"code": student.code, "client_scan_id": "r-1"})
    post(client, csrf, token, {"code": owes.code, "client_scan_id": "r-2"})
    # the kiosk, center settings, sessions, then enrollments, attendances and refusals: one each
    with django_assert_num_queries(6):
        answer = client.get("/kiosk/roster/", headers={"X-Kiosk-Token": token})
    assert answer.status_code == 200
    (roster,) = answer.json()["sessions"]
    assert roster["counts"] == {"expected": 3, "in": 1, "late": 0, "refused": 1}
    assert roster["present"] == [student.full_name]
    assert roster["refused"] == ["مدين"]
    assert roster["waiting"] == ["لم يأت"]


def test_the_roster_needs_a_kiosk_token(door):
    client, _csrf = kiosk_client()
    assert client.get("/kiosk/roster/", headers={"X-Kiosk-Token": "nope"}).status_code == 401


def test_the_tablet_can_show_the_students_photo_and_nobody_else_can_fetch_it(door, settings, tmp_path):
    """Uploads are private (core/ops/media.py): the kiosk's answer carries a signed, expiring address."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    student, _kiosk, token = door
    png = bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
    )
    student.photo.save("photo.png", SimpleUploadedFile("photo.png", png, content_type="image/png"))
    client, csrf = kiosk_client()
    answer = post(client, csrf, token, {"code": student.code})
    photo = answer.json()["student"]["photo"]
    assert photo.startswith("/media/") and "?s=" in photo
    fetched = Client().get(photo)
    assert fetched.status_code == 200 and b"".join(fetched.streaming_content) == png
    assert Client().get(photo.split("?")[0]).status_code == 403  # without the signature
