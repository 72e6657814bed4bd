"""The admin front page: today's figures, each card only for those allowed to see it."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from core.models import Session
from core.models.messaging import Message
from core.selectors.dashboard import dashboard_figures
from core.services.sessions import session_add_extra, session_cancel
from tests.factories import make_branch, make_group, make_room, make_student, make_teacher
from tests.selectors.test_dashboard import NOW, Center


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


# --- Issue 17: the whole page per role, the at-risk message, the charts' downloads ------------


@pytest.fixture
def center(main_branch, receptionist, teacher_user):
    cache.clear()
    with time_machine.travel(NOW, tick=False):
        built = Center(main_branch, receptionist, teacher_user)
        built.grow(2)
        yield built
    cache.clear()


def page(client, user, **params):
    cache.clear()
    with time_machine.travel(NOW, tick=False):
        response = client.get(reverse("admin:index"), params)
    assert response.status_code == 200
    return response.content.decode()


PARTS = {
    "owner": {"now", "money", "attention", "at-risk", "chart=attendance", "chart=revenue", "chart=teachers"},
    "manager": {"now", "money", "attention", "at-risk", "chart=attendance", "chart=revenue"},
    "accountant": {"money", "attention", "chart=revenue", "chart=weekdays"},
    "receptionist": {"now", "attention", "chart=students"},
    "supervisor": {"now", "attention"},
    "teacher_user": {"teacher-today", "teacher-month", "teacher-groups", "teacher-at-risk"},
}
NOT_FOR = {
    "accountant": {'data-part="now"', "chart=attendance", 'data-part="at-risk"'},
    "receptionist": {'data-part="money"', "chart=revenue", 'data-part="at-risk"'},
    "supervisor": {'data-part="money"', "data-chart=", 'data-part="at-risk"', 'data-card="messages"'},
    "teacher_user": {'data-part="money"', "data-chart=", 'data-part="now"', "WhatsApp"},
}


@pytest.mark.parametrize("role", sorted(PARTS))
def test_each_role_sees_its_cards(request, client_as, center, role):
    user = request.getfixturevalue(role)
    html = page(client_as(user), user)
    for part in PARTS[role]:
        marker = f'data-chart="{part[6:]}"' if part.startswith("chart=") else f'data-part="{part}"'
        assert marker in html, (role, part)
    for absent in NOT_FOR.get(role, ()):
        assert absent.replace("chart=", 'data-chart="') not in html, (role, absent)


def test_teacher_sees_only_his_own(client_as, center, teacher_user):
    html = page(client_as(teacher_user), teacher_user)
    assert center.monthly.name in html and center.per_session.name not in html
    assert "Estimate" in html or "تقدير" in html


def test_owner_page_has_charts_with_tables(client_as, center, owner):
    html = page(client_as(owner), owner)
    for name in ("attendance", "revenue", "weekdays", "students", "teachers"):
        assert f'data-chart="{name}"' in html
    assert html.count('class="chart"') == 5 and html.count("<details") == 5
    assert "<script>" not in html.split("data-dashboard")[1]  # charts read data attributes only


def test_branch_picker_only_with_several_branches(client_as, center, owner):
    assert "dash-branches" not in page(client_as(owner), owner)
    other = make_branch()
    html = page(client_as(owner), owner, branch=other.pk)
    assert "dash-branches" in html and 'aria-current="page"' in html
    assert f'data-session="{center.running.pk}"' not in html  # the other branch has no sessions


def test_receptionist_message_counts_are_his_branch_s(client_as, center, receptionist):
    elsewhere = make_student(make_branch())
    Message.objects.create(
        student=elsewhere,
        phone="+201000000009",
        template_key="absent",
        body="x",
        event="t:else",
        idempotency_key="t-else",
        status=Message.Status.FAILED,
    )
    html = page(client_as(receptionist), receptionist)
    assert '<span class="dash-card-value dash-bad" data-count="failed">2</span>' in html


@pytest.mark.parametrize("role,allowed", [("owner", True), ("manager", True), ("receptionist", False)])
def test_at_risk_message_preview_and_send(request, client_as, center, role, allowed):
    user = request.getfixturevalue(role)
    client = client_as(user)
    url = reverse("dashboard-at-risk-message")
    with time_machine.travel(NOW, tick=False):
        response = client.get(url, {"rate": 75})
        if not allowed:
            assert response.status_code == 403
            return
        assert response.status_code == 200
        preview = client.post(url, {"rate": 75, "text": "نرجو المتابعة {student_name}", "preview": "1"})
        assert b"2" in preview.content and preview.context["preview"].recipients == 2
        sent = client.post(url, {"rate": 75, "text": "نرجو المتابعة {student_name}", "confirm": "1"})
    assert sent.status_code == 302
    assert Message.objects.filter(broadcast__isnull=False).count() == 2


def test_at_risk_message_refused_to_anonymous(client, center):
    response = client.get(reverse("dashboard-at-risk-message"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_chart_download(client_as, center, owner, accountant, supervisor):
    with time_machine.travel(NOW, tick=False):
        cache.clear()
        csv = client_as(owner).get(reverse("dashboard-chart-export", args=["weekdays"]), {"format": "csv"})
        assert csv.status_code == 200 and "200.00" in csv.content.decode("utf-8-sig")
        xlsx = client_as(accountant).get(reverse("dashboard-chart-export", args=["revenue"]))
        assert xlsx.status_code == 200 and xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
        assert client_as(supervisor).get(reverse("dashboard-chart-export", args=["revenue"])).status_code == 404


@pytest.mark.parametrize("role", ["owner", "receptionist", "supervisor", "teacher_user"])
def test_page_query_count_does_not_grow(request, client_as, center, role, django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    user = request.getfixturevalue(role)
    client = client_as(user)
    page(client, user)  # the session and the content types warm up
    cache.clear()
    with time_machine.travel(NOW, tick=False), CaptureQueriesContext(connection) as small:
        client.get(reverse("admin:index"))
    with time_machine.travel(NOW, tick=False):
        center.grow(3)
    cache.clear()
    with time_machine.travel(NOW, tick=False), django_assert_num_queries(len(small)):
        client.get(reverse("admin:index"))


def test_recent_actions_name_a_new_student(client_as, owner, main_branch):
    from django.contrib.admin.models import LogEntry

    response = client_as(owner).post(
        reverse("admin:core_student_add"),
        {
            "full_name": "سارة علي",
            "branch": main_branch.pk,
            "guardian_phone": "01001112223",
            "guardian_relation": "father",
            "gender": "female",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    entry = LogEntry.objects.latest("action_time")
    assert entry.object_repr.startswith("سارة علي (") and "()" not in entry.object_repr
    html = client_as(owner).get(reverse("admin:index")).content.decode()
    assert entry.object_repr in html


def test_now_table_keeps_to_a_glance_and_opens_the_whole_day(client_as, center, owner, monkeypatch):
    from core.admin import dashboard as dashboard_admin

    monkeypatch.setattr(dashboard_admin, "NOW_ROWS", 1)
    html = page(client_as(owner), owner)
    # The class without its teacher stays; the one starting later waits behind the link.
    assert f'data-session="{center.running.pk}"' in html and f'data-session="{center.later.pk}"' not in html
    assert "sessions=all" in html
    every = page(client_as(owner), owner, sessions="all")
    assert f'data-session="{center.running.pk}"' in every and f'data-session="{center.later.pk}"' in every
