"""A class about to be auto-cancelled (issue 14, R6): today's board and the dashboard show the
time left from the start until the auto-cancel, and the supervisor marks the teacher in with one
click from either."""

import datetime
import re

import pytest
import time_machine
from django.urls import reverse

from core.models import CenterSettings, FeePeriod, Session
from core.selectors.dashboard import auto_cancel_countdowns
from tests.factories import CAIRO, make_branch, make_group, make_room, make_session

pytestmark = pytest.mark.django_db

START = datetime.datetime(2026, 11, 26, 16, 0, tzinfo=CAIRO)
BOARD = "/admin/door/today/"


@pytest.fixture
def session(main_branch):
    room = make_room(main_branch)
    return make_session(make_group(main_branch, fee_period=FeePeriod.MONTH, room=room), room, starts_at=START)


def countdown_of(html: str) -> dict:
    match = re.search(r'data-session="(\d+)">\s*<span class="countdown[^"]*" data-cancel-at="([^"]+)"', html)
    clock = re.search(r'class="countdown-clock" dir="ltr">([^<]+)<', html)
    return {"session": int(match.group(1)), "cancel_at": match.group(2), "clock": clock.group(1)} if match else {}


def test_board_counts_down_from_the_start_to_the_auto_cancel(client_as, supervisor, session, main_branch):
    with time_machine.travel(START + datetime.timedelta(minutes=10), tick=False):
        html = client_as(supervisor).get(BOARD, {"branch": main_branch.pk}).content.decode()
    shown = countdown_of(html)
    assert shown["session"] == session.pk
    assert datetime.datetime.fromisoformat(shown["cancel_at"]) == START + datetime.timedelta(minutes=15)
    assert shown["clock"] == "5:00"
    assert "core/countdown.js" in html
    assert reverse("door-teacher-arrived", args=[session.pk]) in html


def test_no_countdown_before_the_start_after_check_in_or_with_auto_cancel_off(supervisor, session):
    with time_machine.travel(START - datetime.timedelta(minutes=1), tick=False):
        assert auto_cancel_countdowns(supervisor) == []
    with time_machine.travel(START + datetime.timedelta(minutes=3), tick=False):
        assert [c.session for c in auto_cancel_countdowns(supervisor)] == [session]
        CenterSettings.load()
        CenterSettings.objects.update(auto_cancel_minutes=0)
        assert auto_cancel_countdowns(supervisor) == []
        CenterSettings.objects.update(auto_cancel_minutes=15)
        Session.objects.filter(pk=session.pk).update(teacher_checked_in_at=START)
        assert auto_cancel_countdowns(supervisor) == []


def test_overdue_class_reads_cancelling_now(supervisor, session):
    with time_machine.travel(START + datetime.timedelta(minutes=16), tick=False):
        (countdown,) = auto_cancel_countdowns(supervisor)
    assert countdown.seconds_left == 0


def test_another_branchs_class_is_not_counted_down(client_as, session):
    from core.access.roles import Role
    from tests.conftest import make_staff

    elsewhere = make_staff("door-elsewhere", Role.SUPERVISOR, make_branch())
    with time_machine.travel(START + datetime.timedelta(minutes=5), tick=False):
        assert auto_cancel_countdowns(elsewhere) == []


def test_dashboard_shows_the_countdown_and_teacher_is_here_marks_him_in(client_as, supervisor, session):
    client = client_as(supervisor)
    with time_machine.travel(START + datetime.timedelta(minutes=7, seconds=30), tick=False):
        html = client.get("/admin/").content.decode()
        assert countdown_of(html)["clock"] == "7:30"
        response = client.post(reverse("door-teacher-arrived", args=[session.pk]), {"next": "/admin/"})
    assert response.status_code == 302 and response["Location"] == "/admin/"
    session.refresh_from_db()
    assert session.teacher_checked_in_at == START + datetime.timedelta(minutes=7, seconds=30)


def test_teacher_is_here_never_redirects_off_site(client_as, supervisor, session, main_branch):
    with time_machine.travel(START + datetime.timedelta(minutes=2), tick=False):
        response = client_as(supervisor).post(
            reverse("door-teacher-arrived", args=[session.pk]), {"next": "https://evil.example/"}
        )
    assert response["Location"] == f"{reverse('door-today')}?branch={main_branch.pk}"


def test_a_receptionist_sees_the_countdown_without_the_button(client_as, receptionist, session):
    with time_machine.travel(START + datetime.timedelta(minutes=2), tick=False):
        html = client_as(receptionist).get("/admin/").content.decode()
    assert countdown_of(html)["session"] == session.pk
    assert reverse("door-teacher-arrived", args=[session.pk]) not in html
