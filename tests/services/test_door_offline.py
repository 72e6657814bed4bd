"""Offline replays: a kiosk that lost the network queued scans with their own time; the rules run
at that time, admissions are marked `offline`, refusals it could not enforce become follow-ups."""

import datetime
import json
from decimal import Decimal

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client

from core.models import Attendance, DoorFollowUp, EntryType, FeePeriod, LedgerEntry, Message, ScanEvent
from core.services.door import sessions_mark_absent
from core.services.kiosks import kiosk_create
from core.services.scanning import scan_process
from tests.factories import CAIRO, enroll, make_group, make_room, make_session, make_student, pay

NIGHT = datetime.date(2026, 11, 26)  # a Thursday
AFTER_MIDNIGHT = datetime.datetime(2026, 11, 27, 0, 20, tzinfo=CAIRO)


def night(hour, minute):
    return datetime.datetime(2026, 11, 26, hour, minute, tzinfo=CAIRO)


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def late_class(main_branch):
    """A 22:00 class (session fees), a student who paid, one who never paid, one who came late."""
    room = make_room(main_branch)
    group = make_group(main_branch, fee="50.00", fee_period=FeePeriod.SESSION, room=room)
    session = make_session(group, room, starts_at=night(22, 0), minutes=90)
    paid, owes, late = (make_student(main_branch) for _ in range(3))
    pay(enroll(paid, group), "200.00", day=NIGHT)
    enroll(owes, group)
    pay(enroll(late, group), "200.00", day=NIGHT)
    kiosk, token = kiosk_create(actor=None, name="Night door", branch=main_branch, room=room)
    return session, kiosk, token, paid, owes, late


@time_machine.travel(AFTER_MIDNIGHT, tick=False)
def test_a_late_night_queue_replayed_after_midnight_keeps_its_own_date_and_session(late_class):
    session, kiosk, _token, paid, owes, late = late_class
    queue = [(paid, night(21, 50), "q-1"), (owes, night(21, 52), "q-2"), (late, night(22, 15), "q-3")]
    outcomes = [
        scan_process(student.code, kiosk=kiosk, at=at, client_scan_id=scan_id, offline=True)
        for student, at, scan_id in queue
    ]
    assert [outcome.code for outcome in outcomes] == ["present", "pay_first", "door_closed"]
    # the kiosk let all three in: each sat in the class, so each has his attendance and its charge
    attendances = {a.student: a for a in Attendance.objects.all()}
    assert set(attendances) == {paid, owes, late}
    assert all(a.session == session and a.source == Attendance.Source.OFFLINE for a in attendances.values())
    assert attendances[paid].at == night(21, 50)
    assert (attendances[late].status, attendances[late].minutes_late) == (Attendance.Status.LATE, 15)
    charges = LedgerEntry.objects.filter(entry_type=EntryType.CHARGE)
    assert charges.count() == 3
    assert all((charge.date, charge.session) == (NIGHT, session) for charge in charges)
    # the rules refused two of them: the office follows up, the parents get no "refused" message
    follow_ups = {f.student: f for f in DoorFollowUp.objects.all()}
    assert set(follow_ups) == {owes, late}
    assert follow_ups[owes].reason == DoorFollowUp.Reason.OWES
    assert follow_ups[owes].amount_owed == Decimal("50.00")
    assert follow_ups[late].reason == DoorFollowUp.Reason.LATE
    assert follow_ups[owes].session == session and follow_ups[owes].scan.at == night(21, 52)
    assert not Message.objects.filter(template_key__in=["payment_block", "late_refused"]).exists()
    # nor an "arrived" hours later for the two the rules refused
    assert set(Message.objects.filter(template_key="arrived").values_list("student", flat=True)) <= {paid.pk}


@time_machine.travel(AFTER_MIDNIGHT, tick=False)
def test_a_student_let_in_offline_is_never_marked_absent(late_class):
    """QA: an owing student let in by the offline kiosk was marked absent and his parent told so."""
    session, kiosk, _token, _paid, owes, _late = late_class
    scan_process(owes.code, kiosk=kiosk, at=night(21, 52), client_scan_id="q-9", offline=True)
    sessions_mark_absent(now=session.ends_at + datetime.timedelta(minutes=1))
    attendance = Attendance.objects.get(student=owes)
    assert attendance.status == Attendance.Status.PRESENT
    assert not Message.objects.filter(student=owes, template_key="absent").exists()
    assert DoorFollowUp.objects.get(student=owes).reason == DoorFollowUp.Reason.OWES


@time_machine.travel(AFTER_MIDNIGHT, tick=False)
def test_replaying_the_same_queue_twice_changes_nothing(late_class):
    _session, kiosk, _token, paid, owes, _late = late_class
    for _round in range(2):
        first = scan_process(paid.code, kiosk=kiosk, at=night(21, 50), client_scan_id="q-1", offline=True)
        second = scan_process(owes.code, kiosk=kiosk, at=night(21, 52), client_scan_id="q-2", offline=True)
    assert (first.code, first.replayed, second.code, second.replayed) == ("present", True, "pay_first", True)
    assert Attendance.objects.count() == 2
    assert LedgerEntry.objects.filter(entry_type=EntryType.CHARGE).count() == 2
    assert ScanEvent.objects.count() == 2
    assert DoorFollowUp.objects.count() == 1


@time_machine.travel(night(21, 50), tick=False)
def test_an_online_refusal_makes_no_follow_up(late_class):
    _session, kiosk, _token, _paid, owes, _late = late_class
    assert scan_process(owes.code, kiosk=kiosk, client_scan_id="live-1").code == "pay_first"
    assert not DoorFollowUp.objects.exists()
    assert Message.objects.filter(template_key="payment_block").count() == 1


# --- through the kiosk endpoint ---------------------------------------------------------------------


def post(token, body):
    client = Client(enforce_csrf_checks=True)
    csrf = client.get("/kiosk/scan/").json()["csrf_token"]
    return client.post(
        "/kiosk/scan/",
        data=json.dumps(body),
        content_type="application/json",
        headers={"X-Kiosk-Token": token, "X-CSRFToken": csrf},
    )


@time_machine.travel(AFTER_MIDNIGHT, tick=False)
def test_the_endpoint_replays_a_queued_scan_at_its_own_time(late_class):
    _session, _kiosk, token, paid, _owes, _late = late_class
    body = {"code": paid.code, "client_scan_id": "q-1", "at": "2026-11-26T21:50:00+02:00"}
    first = post(token, body)
    assert first.status_code == 200 and first.json()["code"] == "present"
    assert post(token, body).json() == first.json()
    assert Attendance.objects.get().source == Attendance.Source.OFFLINE


@pytest.mark.parametrize(
    "at",
    [
        "2026-11-26T21:50:00",  # no offset
        "yesterday",
        "2026-11-25T23:00:00+02:00",  # older than 24 hours
        "2026-11-27T00:30:00+02:00",  # ten minutes in the future
        12,
    ],
)
@time_machine.travel(AFTER_MIDNIGHT, tick=False)
def test_the_endpoint_refuses_a_scan_time_it_cannot_trust(late_class, at):
    _session, _kiosk, token, paid, _owes, _late = late_class
    answer = post(token, {"code": paid.code, "client_scan_id": "q-1", "at": at})
    assert answer.status_code == 400
    assert not ScanEvent.objects.exists()


@time_machine.travel(AFTER_MIDNIGHT, tick=False)
def test_an_offline_scan_needs_its_scan_id(late_class):
    _session, _kiosk, token, paid, _owes, _late = late_class
    assert post(token, {"code": paid.code, "at": "2026-11-26T21:50:00+02:00"}).status_code == 400
