"""How many statements a scan costs (bench/scans.py measures the same on PostgreSQL).

Every student here has a guardian and messaging is on, as at a real door: the parent message is
part of the count. Transaction control (BEGIN/COMMIT) is not work and is left out; the door's
read is prepared once per connection on PostgreSQL, so each test scans once to warm it up.
"""

import datetime
import json
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from core.models import (
    CenterSettings,
    DiscountApplication,
    DiscountKind,
    DiscountRule,
    FeePeriod,
    Message,
    ScanEvent,
)
from core.services.kiosks import kiosk_create
from core.services.scanning import scan_process
from tests.factories import CAIRO, center_set, enroll, make_group, make_room, make_session, make_student, pay

AT = datetime.datetime(2026, 11, 26, 15, 50, tzinfo=CAIRO)
CONTROL = {"BEGIN", "COMMIT", "SAVEPOINT", "RELEASE"}  # savepoints: the test runs inside a transaction
# PostgreSQL re-reads the session under a share lock before admitting (see _session_still_open).
LOCK = 1 if connection.features.has_select_for_update else 0


@pytest.fixture
def door(main_branch):
    CenterSettings.load()
    center_set(messaging_enabled=True, quiet_hours_start=datetime.time(23, 0), quiet_hours_end=datetime.time(6, 0))
    room = make_room(main_branch)
    group = make_group(main_branch, fee="200.00", fee_period=FeePeriod.MONTH, room=room)
    make_session(group, room)
    kiosk, token = kiosk_create(actor=None, name="Door", branch=main_branch, room=room)
    warm = make_student(main_branch)
    pay(enroll(warm, group), "200.00")
    scan_process(warm.code, kiosk=kiosk, at=AT, client_scan_id="warm-up")
    return main_branch, group, kiosk, token


def statements(code, kiosk, scan_id) -> tuple[str, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        outcome = scan_process(code, kiosk=kiosk, at=AT, client_scan_id=scan_id)
    work = [q["sql"] for q in captured.captured_queries if q["sql"].split()[0] not in CONTROL]
    return outcome.code, work


def test_an_admitted_scan_with_its_parent_message_stays_within_ten_statements(door):
    branch, group, kiosk, _token = door
    student = make_student(branch)
    pay(enroll(student, group), "200.00")
    code, work = statements(student.code, kiosk, "q-1")
    assert code == "present"
    # read (it also says no discount rule could apply: none is read), [lock], attendance, charge,
    # audit row, message, scan event
    assert len(work) == 6 + LOCK, work
    assert Message.objects.filter(student=student, template_key="arrived").count() == 1


def test_a_later_class_of_a_charged_month_holds_the_charge_and_stays_within_ten_statements(door):
    branch, group, kiosk, _token = door
    student = make_student(branch)
    pay(enroll(student, group), "200.00")
    earlier = make_session(group, group.default_room, starts_at=AT - datetime.timedelta(days=7, minutes=-10))
    scan_process(student.code, kiosk=None, at=AT - datetime.timedelta(days=7), client_scan_id="last-week")
    assert earlier.attendances.filter(student=student).exists()
    code, work = statements(student.code, kiosk, "q-month")
    assert code == "present"
    # read, [lock, month charge held against a racing cancellation], attendance, audit row,
    # message, scan event; no charge: the month is charged
    assert len(work) == 5 + 2 * LOCK, work


def test_a_refused_scan_with_its_parent_message_stays_within_five_statements(door):
    branch, group, kiosk, _token = door
    student = make_student(branch)
    enroll(student, group)
    code, work = statements(student.code, kiosk, "q-2")
    assert code == "pay_first"
    assert len(work) == 3, work  # read (no discount rule could lower what he owes), message, scan event
    assert Message.objects.filter(student=student, template_key="payment_block").count() == 1


def test_a_second_refusal_in_the_session_only_reads_and_records(door):
    branch, group, kiosk, _token = door
    student = make_student(branch)
    enroll(student, group)
    statements(student.code, kiosk, "q-3")
    code, work = statements(student.code, kiosk, "q-4")
    assert code == "pay_first"
    assert len(work) == 2, work  # read, scan event; the parent was told once
    assert Message.objects.filter(student=student, template_key="payment_block").count() == 1


def test_a_student_with_a_rule_that_applies_reads_it_and_is_admitted_net_of_it(door):
    branch, group, kiosk, _token = door
    student = make_student(branch)
    pay(enroll(student, group), "100.00")  # half the month: the scholarship pays the other half
    DiscountRule.objects.create(
        name="منحة",
        kind=DiscountKind.SCHOLARSHIP,
        percent=Decimal("50"),
        student=student,
        reason="test",
        starts_on=AT.date() - datetime.timedelta(days=30),
        ends_on=AT.date() + datetime.timedelta(days=30),
    )
    code, work = statements(student.code, kiosk, "q-rule")
    assert code == "present"
    rule_table = connection.ops.quote_name(DiscountRule._meta.db_table)
    # Its own look-up (the read names the table by an alias), once for the verdict and the charge.
    assert len([sql for sql in work if f'{rule_table}."id"' in sql]) == 1, work
    assert [line.amount for line in DiscountApplication.objects.filter(charge__enrollment__student=student)] == [
        Decimal("100.00")
    ]


def test_an_unknown_card_costs_a_read_and_its_scan_event(door):
    _branch, _group, kiosk, _token = door
    code, work = statements("99999999", kiosk, "q-5")
    assert (code, len(work)) == ("unknown", 2)


def test_an_edited_template_is_used_by_the_next_scan(door):
    """The door keeps the templates in memory; an edit in the admin reaches the next scan."""
    from core.models import MessageTemplate

    branch, group, kiosk, _token = door
    template = MessageTemplate.objects.get(key="arrived")
    template.text_ar = "وصل {student_name} الآن"
    template.save()
    student = make_student(branch)
    pay(enroll(student, group), "200.00")
    scan_process(student.code, kiosk=kiosk, at=AT, client_scan_id="q-6")
    assert Message.objects.get(student=student).body == f"وصل {student.full_name} الآن"


def test_a_repeated_scan_id_answers_without_deciding_again(door):
    branch, group, kiosk, _token = door
    student = make_student(branch)
    pay(enroll(student, group), "200.00")
    statements(student.code, kiosk, "q-7")
    code, _work = statements(student.code, kiosk, "q-7")
    assert code == "present"
    assert ScanEvent.objects.filter(student=student).count() == 1


def test_the_kiosk_request_adds_only_the_token_check(door):
    """The token check and the rate limit count; last-seen is written once a minute."""
    branch, group, _kiosk, token = door
    student = make_student(branch)
    pay(enroll(student, group), "200.00")
    client = Client(enforce_csrf_checks=True)
    csrf = client.get("/kiosk/scan/").json()["csrf_token"]
    client.post(  # the kiosk's first scan reports it seen (its own minute, before AT)
        "/kiosk/scan/",
        data=json.dumps({"code": "00000000", "client_scan_id": "k-0"}),
        content_type="application/json",
        headers={"X-Kiosk-Token": token, "X-CSRFToken": csrf},
    )
    with time_machine.travel(AT, tick=False), CaptureQueriesContext(connection) as captured:
        response = client.post(
            "/kiosk/scan/",
            data=json.dumps({"code": student.code, "client_scan_id": "k-1"}),
            content_type="application/json",
            headers={"X-Kiosk-Token": token, "X-CSRFToken": csrf},
        )
    assert response.status_code == 200 and response.json()["code"] == "present"
    work = [q["sql"] for q in captured.captured_queries if q["sql"].split()[0] not in CONTROL]
    assert len(work) == 2 + 6 + LOCK, "\n".join(w[:90] for w in work)  # the scan above, with its charge
