"""The admin front page: today's figures, each card only for those allowed to see it."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from core.models import Session
from core.models.messaging import Message
from core.selectors.dashboard import dashboard_figures
from core.services.sessions import session_add_extra, session_cancel
from tests.factories import make_group, make_room, make_student, make_teacher


@pytest.fixture
def today_sessions(main_branch, teacher_user):
    room = make_room(main_branch)
    own = make_group(main_branch, teacher=make_teacher(user=teacher_user), room=room)
    other = make_group(main_branch, room=room)
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    sessions = [
        session_add_extra(actor=None, group=group, date=tomorrow, start_time=datetime.time(hour), duration_minutes=60)
        for group, hour in ((own, 9), (other, 12), (other, 15))
    ]
    Session.objects.filter(pk__in=[session.pk for session in sessions]).update(date=timezone.localdate())
    return sessions


def test_owner_sees_every_card(client_as, owner, main_branch, today_sessions):
    session_cancel(actor=owner, session=today_sessions[2], reason="عطل")
    make_student(main_branch)
    Message.objects.filter(pk__in=Message.objects.values("pk")).update(status=Message.Status.FAILED)
    figures = dashboard_figures(owner)
    assert (figures.sessions_today, figures.sessions_cancelled_today) == (2, 1)
    assert figures.active_students == 1
    assert figures.collected_today == Decimal("0.00") and figures.receipts_today == 0
    assert figures.messages_failed == Message.objects.count()
    page = client_as(owner).get(reverse("admin:index"))
    assert page.status_code == 200
    assert page.context["dashboard"].sessions_today == 2


def test_teacher_counts_only_his_sessions_and_sees_no_money_or_messages(teacher_user, today_sessions):
    figures = dashboard_figures(teacher_user)
    assert figures.sessions_today == 1
    assert figures.collected_today is None and figures.messages_failed is None and figures.active_students is None


def test_dashboard_query_count_is_fixed(client_as, owner, today_sessions, django_assert_max_num_queries):
    client = client_as(owner)
    client.get(reverse("admin:index"))
    with django_assert_max_num_queries(12):
        client.get(reverse("admin:index"))
