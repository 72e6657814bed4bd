"""The weekly timetable page: permissions, branch and teacher scoping, layout, query counts."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from core.models import ScheduleSlot, Weekday
from tests.factories import make_branch, make_group, make_room, make_teacher
from tests.test_security import ADMIN_POLICY, parse_csp

URL = "/admin/timetable/"


def add_slot(group, room, weekday: int, start: str, minutes: int = 120, *, active: bool = True) -> ScheduleSlot:
    hours, mins = map(int, start.split(":"))
    return ScheduleSlot.objects.create(
        group=group,
        room=room,
        weekday=weekday,
        start_time=datetime.time(hours, mins),
        duration_minutes=minutes,
        is_active=active,
    )


@pytest.fixture
def other_branch(db):
    return make_branch("فرع المعادي")


@pytest.fixture
def hall(main_branch):
    return make_room(main_branch, "قاعة 1")


def test_the_url_is_named_timetable():
    assert reverse("timetable") == URL


def test_anonymous_visitors_are_sent_to_the_login_page(client, db):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_staff_without_the_slot_permission_are_refused(client_as, accountant, supervisor):
    assert client_as(accountant).get(URL).status_code == 403
    assert client_as(supervisor).get(URL).status_code == 403


@pytest.mark.parametrize("role", ["owner", "manager", "receptionist", "teacher_user"])
def test_roles_that_read_slots_see_the_page(client_as, request, role):
    assert client_as(request.getfixturevalue(role)).get(URL).status_code == 200


def test_a_cell_shows_group_teacher_and_times(client_as, receptionist, main_branch, hall):
    teacher = make_teacher("محمود السيد")
    group = make_group(main_branch, teacher=teacher, code="PHY-S3-1")
    add_slot(group, hall, Weekday.TUESDAY, "16:00", 90)
    html = client_as(receptionist).get(URL).content.decode()
    assert "PHY-S3-1" in html
    assert "محمود السيد" in html
    assert "16:00–17:30</bdi>" in html
    assert "قاعة 1" in html


def test_days_run_from_saturday_to_friday(client_as, receptionist, main_branch, hall):
    html = client_as(receptionist).get(URL).content.decode()
    with translation.override("ar"):
        positions = [html.index(f'<th scope="row" class="tt-day">{day.label}</th>') for day in Weekday]
    assert positions == sorted(positions)
    assert len(positions) == 7


def test_a_day_lists_its_classes_by_start_time(client_as, owner, main_branch, hall):
    add_slot(make_group(main_branch, code="LATE-1"), hall, Weekday.SUNDAY, "18:30")
    add_slot(make_group(main_branch, code="EARLY-1"), hall, Weekday.SUNDAY, "09:00")
    add_slot(make_group(main_branch, code="NOON-1"), hall, Weekday.SUNDAY, "13:00")
    html = client_as(owner).get(URL).content.decode()
    assert html.index("EARLY-1") < html.index("NOON-1") < html.index("LATE-1")


def test_inactive_slots_and_groups_are_left_out(client_as, owner, main_branch, hall):
    add_slot(make_group(main_branch, code="OFF-SLOT"), hall, Weekday.MONDAY, "10:00", active=False)
    closed = make_group(main_branch, code="CLOSED-G")
    closed.is_active = False
    closed.save()
    add_slot(closed, hall, Weekday.MONDAY, "14:00")
    html = client_as(owner).get(URL).content.decode()
    assert "OFF-SLOT" not in html and "CLOSED-G" not in html


def test_rooms_are_columns_in_natural_order(client_as, owner, main_branch):
    for name in ("قاعة 10", "قاعة 2", "قاعة 1"):
        make_room(main_branch, name)
    html = client_as(owner).get(URL).content.decode()
    assert html.index(">قاعة 1<") < html.index(">قاعة 2<") < html.index(">قاعة 10<")


# --- branches --------------------------------------------------------------------------------


def test_staff_see_their_branch_and_cannot_ask_for_another(client_as, receptionist, main_branch, other_branch, hall):
    add_slot(make_group(main_branch, code="MAIN-1"), hall, Weekday.SATURDAY, "10:00")
    add_slot(make_group(other_branch, code="MAADI-1"), make_room(other_branch), Weekday.SATURDAY, "10:00")
    client = client_as(receptionist)
    html = client.get(URL).content.decode()
    assert "MAIN-1" in html and "MAADI-1" not in html
    assert f"?branch={other_branch.pk}" not in html
    assert client.get(f"{URL}?branch={other_branch.pk}").status_code == 404
    assert client.get(f"{URL}?branch=abc").status_code == 404


def test_the_owner_chooses_among_all_branches(client_as, owner, main_branch, other_branch, hall):
    add_slot(make_group(main_branch, code="MAIN-1"), hall, Weekday.SATURDAY, "10:00")
    add_slot(make_group(other_branch, code="MAADI-1"), make_room(other_branch), Weekday.SATURDAY, "10:00")
    client = client_as(owner)
    first = client.get(URL).content.decode()
    assert "MAIN-1" in first and "MAADI-1" not in first
    assert f"?branch={other_branch.pk}" in first
    second = client.get(f"{URL}?branch={other_branch.pk}").content.decode()
    assert "MAADI-1" in second and "MAIN-1" not in second


def test_staff_without_a_branch_are_told_so(client_as, receptionist, main_branch):
    receptionist.branches.clear()
    receptionist.language = "en"
    receptionist.save()
    response = client_as(receptionist).get(URL)
    assert response.status_code == 200
    assert "not assigned to a branch" in response.content.decode()


# --- teachers --------------------------------------------------------------------------------


def test_a_teacher_sees_only_his_own_groups(client_as, teacher_user, main_branch, hall):
    mine = make_group(main_branch, teacher=make_teacher("أنا المدرس", user=teacher_user), code="MINE-1")
    add_slot(mine, hall, Weekday.WEDNESDAY, "16:00")
    add_slot(make_group(main_branch, teacher=make_teacher("مدرس آخر"), code="OTHER-1"), hall, Weekday.THURSDAY, "16:00")
    html = client_as(teacher_user).get(URL).content.decode()
    assert "MINE-1" in html
    assert "OTHER-1" not in html and "مدرس آخر" not in html


def test_a_teacher_sees_the_branch_where_his_groups_meet(client_as, teacher_user, main_branch, other_branch):
    group = make_group(other_branch, teacher=make_teacher(user=teacher_user), code="AWAY-1")
    add_slot(group, make_room(other_branch), Weekday.SUNDAY, "12:00")
    html = client_as(teacher_user).get(f"{URL}?branch={other_branch.pk}").content.decode()
    assert "AWAY-1" in html


def test_a_teacher_account_without_a_teacher_record_sees_no_classes(client_as, teacher_user, main_branch, hall):
    add_slot(make_group(main_branch, code="ANY-1"), hall, Weekday.SUNDAY, "12:00")
    html = client_as(teacher_user).get(URL).content.decode()
    assert "ANY-1" not in html


# --- the page --------------------------------------------------------------------------------


def test_the_page_is_an_admin_page_with_the_admin_policy(client_as, owner, hall):
    response = client_as(owner).get(URL)
    html = response.content.decode()
    assert 'id="nav-sidebar"' in html or "nav-sidebar" in html
    assert parse_csp(response["Content-Security-Policy"]) == ADMIN_POLICY
    assert "/static/core/timetable.css" in html


def test_the_sidebar_links_the_timetable_for_those_who_may_see_it(client_as, receptionist, accountant):
    assert f'href="{URL}"' in client_as(receptionist).get(reverse("admin:index")).content.decode()
    assert f'href="{URL}"' not in client_as(accountant).get(reverse("admin:index")).content.decode()


def page_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(URL).status_code == 200
    return len(queries)


def test_the_query_count_does_not_grow_with_the_timetable(
    client_as, receptionist, main_branch, django_assert_max_num_queries
):
    rooms = [make_room(main_branch, f"قاعة {number}") for number in range(1, 4)]
    add_slot(make_group(main_branch), rooms[0], Weekday.SATURDAY, "09:00")
    client = client_as(receptionist)
    page_queries(client)  # warm-up: the first request creates cached rows
    few = page_queries(client)
    for index in range(60):
        teacher = make_teacher()
        group = make_group(main_branch, teacher=teacher)
        add_slot(group, rooms[index % 3], index % 7, f"{8 + index % 12:02d}:00", 45)
    assert page_queries(client) == few
    # session, user, permissions (2), roles, branches (2), slots, rooms
    with django_assert_max_num_queries(9):
        client.get(URL)
