"""Printable QR card sheets: who may print them, what is on them, their CSP and query counts."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.admin.cards import qr_svg, student_cards_url, teacher_cards_url
from core.cards import teacher_card_value, teacher_from_card
from core.models import CenterSettings, Enrollment, Student
from core.normalize import search_key
from tests.factories import make_branch, make_group, make_teacher
from tests.test_security import parse_csp

STRICT_POLICY = {
    "default-src": {"'self'"},
    "script-src": {"'self'"},
    "style-src": {"'self'"},
    "img-src": {"'self'", "data:"},
    "font-src": {"'self'"},
    "connect-src": {"'self'"},
    "object-src": {"'none'"},
    "base-uri": {"'self'"},
    "frame-ancestors": {"'none'"},
    "form-action": {"'self'"},
}


def add_student(branch, code: str, name: str = "", *, active: bool = True) -> Student:
    full_name = name or f"طالب {code}"
    return Student.objects.create(
        code=code, full_name=full_name, search_key=search_key(full_name), branch=branch, is_active=active
    )


def enroll(student, group, *, active: bool = True) -> Enrollment:
    return Enrollment.objects.create(
        student=student, group=group, start_date=datetime.date(2026, 1, 1), is_active=active
    )


@pytest.fixture
def other_branch(db):
    return make_branch("فرع المعادي")


@pytest.fixture
def group(main_branch):
    return make_group(main_branch, code="PHY-S3-1")


# --- who may print ---------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_the_login_page(client, main_branch):
    student = add_student(main_branch, "1001")
    for url in (student_cards_url(ids=[student.pk]), teacher_cards_url(ids=[1])):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))


def test_staff_without_the_print_permission_are_refused(client_as, accountant, supervisor, main_branch):
    student = add_student(main_branch, "1001")
    for user in (accountant, supervisor):
        assert client_as(user).get(student_cards_url(ids=[student.pk])).status_code == 403


def test_the_receptionist_prints_student_cards_but_not_teacher_cards(client_as, receptionist, main_branch):
    student = add_student(main_branch, "1001")
    client = client_as(receptionist)
    assert client.get(student_cards_url(ids=[student.pk])).status_code == 200
    assert client.get(teacher_cards_url(ids=[make_teacher().pk])).status_code == 403


def test_a_teacher_account_prints_no_cards(client_as, teacher_user, main_branch):
    student = add_student(main_branch, "1001")
    client = client_as(teacher_user)
    assert client.get(student_cards_url(ids=[student.pk])).status_code == 403
    assert client.get(teacher_cards_url(ids=[make_teacher(user=teacher_user).pk])).status_code == 403


def test_the_manager_prints_teacher_cards(client_as, manager, main_branch):
    teacher = make_teacher("منى عادل")
    make_group(main_branch, teacher=teacher)
    response = client_as(manager).get(teacher_cards_url(ids=[teacher.pk]))
    assert response.status_code == 200
    assert "منى عادل" in response.content.decode()


# --- what is on a card -----------------------------------------------------------------------


def test_a_student_card_shows_name_code_group_and_the_code_as_qr(client_as, receptionist, main_branch, group):
    student = add_student(main_branch, "1042", "مريم أحمد الشريف")
    enroll(student, group)
    html = client_as(receptionist).get(student_cards_url(ids=[student.pk])).content.decode()
    assert "مريم أحمد الشريف" in html
    assert '<bdi dir="ltr">1042</bdi>' in html
    assert "PHY-S3-1" in html
    assert qr_svg("1042") in html


def test_a_card_lists_only_active_groups(client_as, receptionist, main_branch, group):
    student = add_student(main_branch, "1001")
    enroll(student, group)
    ended = make_group(main_branch, code="OLD-1")
    enroll(student, ended, active=False)
    closed = make_group(main_branch, code="CLOSED-1")
    closed.is_active = False
    closed.save()
    enroll(student, closed)
    html = client_as(receptionist).get(student_cards_url(ids=[student.pk])).content.decode()
    assert "PHY-S3-1" in html
    assert "OLD-1" not in html and "CLOSED-1" not in html


def test_the_center_name_and_logo_are_on_every_card(client_as, receptionist, main_branch):
    center = CenterSettings.load()
    center.center_name_ar = "سنتر النور"
    center.save()
    ids = [add_student(main_branch, str(1001 + index)).pk for index in range(3)]
    html = client_as(receptionist).get(student_cards_url(ids=ids)).content.decode()
    assert html.count("سنتر النور") >= 3
    assert html.count('class="card-logo" src="/static/core/logo.svg"') == 3


def test_an_uploaded_logo_replaces_the_default_one(client_as, receptionist, main_branch):
    center = CenterSettings.load()
    center.logo.name = "branding/center.png"
    center.save()
    student = add_student(main_branch, "1001")
    html = client_as(receptionist).get(student_cards_url(ids=[student.pk])).content.decode()
    assert 'src="/media/branding/center.png"' in html


def test_ten_cards_fill_one_a4_sheet(client_as, receptionist, main_branch):
    ids = [add_student(main_branch, str(2001 + index)).pk for index in range(23)]
    html = client_as(receptionist).get(student_cards_url(ids=ids)).content.decode()
    assert html.count('<section class="sheet"') == 3
    assert html.count('<article class="card">') == 23


def test_a_group_sheet_holds_its_active_students(client_as, receptionist, main_branch, group):
    enrolled = add_student(main_branch, "1001", "طالب حاضر")
    enroll(enrolled, group)
    left = add_student(main_branch, "1002", "طالب ترك المجموعة")
    enroll(left, group, active=False)
    inactive = add_student(main_branch, "1003", "طالب موقوف", active=False)
    enroll(inactive, group)
    add_student(main_branch, "1004", "طالب في مجموعة أخرى")
    response = client_as(receptionist).get(student_cards_url(group=group))
    html = response.content.decode()
    assert response.status_code == 200
    assert "طالب حاضر" in html
    assert "طالب ترك المجموعة" not in html
    assert "طالب موقوف" not in html
    assert "طالب في مجموعة أخرى" not in html


def test_a_teacher_card_holds_the_signed_card_value(client_as, manager, main_branch):
    teacher = make_teacher("سامي فوزي")
    make_group(main_branch, teacher=teacher, code="MATH-M3-1")
    html = client_as(manager).get(teacher_cards_url(ids=[teacher.pk])).content.decode()
    value = teacher_card_value(teacher)
    assert teacher_from_card(value) == teacher
    assert qr_svg(value) in html
    assert "MATH-M3-1" in html
    # The token itself is never printed as text: it is only in the QR code.
    assert value not in html


def test_names_are_escaped(client_as, receptionist, main_branch):
    student = add_student(main_branch, "1001", "<script>alert(1)</script>")
    html = client_as(receptionist).get(student_cards_url(ids=[student.pk])).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_no_selection_gives_an_empty_sheet_not_an_error(client_as, receptionist, db):
    response = client_as(receptionist).get(reverse("print-student-cards"))
    assert response.status_code == 200
    assert '<article class="card">' not in response.content.decode()


def test_garbage_ids_are_ignored(client_as, receptionist, main_branch):
    student = add_student(main_branch, "1001")
    url = f"{reverse('print-student-cards')}?ids=abc,,{student.pk},-3,١٢,{'9' * 30}"
    response = client_as(receptionist).get(url)
    assert response.status_code == 200
    assert response.content.decode().count('<article class="card">') == 1


def test_a_whole_selection_stays_a_short_url(db):
    assert len(student_cards_url(ids=range(1, 5001))) < 60


def test_id_ranges_select_every_student_in_them(client_as, receptionist, main_branch):
    ids = [add_student(main_branch, str(1001 + index)).pk for index in range(6)]
    client = client_as(receptionist)
    url = f"{reverse('print-student-cards')}?ids={ids[0]}-{ids[2]},{ids[4]},{ids[5]}-{ids[5]},9-2"
    assert client.get(url).content.decode().count('<article class="card">') == 5


def test_a_huge_range_is_capped_not_expanded(client_as, receptionist, main_branch):
    add_student(main_branch, "1001")
    url = f"{reverse('print-student-cards')}?ids=1-{2**63 - 1},1-{10**12}"
    response = client_as(receptionist).get(url)
    assert response.status_code == 200
    assert response.content.decode().count('<article class="card">') == 1


def test_an_unknown_or_malformed_group_is_not_found(client_as, receptionist, db):
    client = client_as(receptionist)
    assert client.get(f"{reverse('print-student-cards')}?group=999999").status_code == 404
    assert client.get(f"{reverse('print-student-cards')}?group=abc").status_code == 404


def test_the_url_helpers_build_the_sheet_links(db):
    assert student_cards_url(ids=[3, 1]) == "/admin/print/student-cards/?ids=1,3"
    assert student_cards_url(ids=[7, 1, 2, 3, 5, 8]) == "/admin/print/student-cards/?ids=1-3,5,7-8"
    assert student_cards_url(group=7) == "/admin/print/student-cards/?group=7"
    assert teacher_cards_url(ids=[5]) == "/admin/print/teacher-cards/?ids=5"


# --- branches --------------------------------------------------------------------------------


def test_staff_print_only_students_of_their_branches(client_as, receptionist, main_branch, other_branch):
    mine = add_student(main_branch, "1001", "طالب الفرع الرئيسي")
    theirs = add_student(other_branch, "1002", "طالب فرع المعادي")
    html = client_as(receptionist).get(student_cards_url(ids=[mine.pk, theirs.pk])).content.decode()
    assert "طالب الفرع الرئيسي" in html
    assert "طالب فرع المعادي" not in html


def test_staff_cannot_print_a_group_of_another_branch(client_as, receptionist, other_branch):
    group = make_group(other_branch)
    assert client_as(receptionist).get(student_cards_url(group=group)).status_code == 404


def test_the_owner_prints_students_of_every_branch(client_as, owner, main_branch, other_branch):
    ids = [add_student(main_branch, "1001").pk, add_student(other_branch, "1002").pk]
    html = client_as(owner).get(student_cards_url(ids=ids)).content.decode()
    assert html.count('<article class="card">') == 2


def test_managers_print_teachers_of_their_branches_and_unassigned_ones(client_as, manager, main_branch, other_branch):
    ours = make_teacher("مدرس الفرع الرئيسي")
    make_group(main_branch, teacher=ours)
    theirs = make_teacher("مدرس فرع المعادي")
    make_group(other_branch, teacher=theirs)
    new = make_teacher("مدرس جديد بلا مجموعات")
    html = client_as(manager).get(teacher_cards_url(ids=[ours.pk, theirs.pk, new.pk])).content.decode()
    assert "مدرس الفرع الرئيسي" in html
    assert "مدرس جديد بلا مجموعات" in html
    assert "مدرس فرع المعادي" not in html


def test_inactive_teachers_get_no_card(client_as, owner, db):
    teacher = make_teacher("مدرس سابق")
    teacher.is_active = False
    teacher.save()
    html = client_as(owner).get(teacher_cards_url(ids=[teacher.pk])).content.decode()
    assert "مدرس سابق" not in html


# --- the page itself -------------------------------------------------------------------------


def test_card_pages_carry_the_strict_policy(client_as, owner, main_branch):
    student = add_student(main_branch, "1001")
    teacher = make_teacher()
    client = client_as(owner)
    for url in (student_cards_url(ids=[student.pk]), teacher_cards_url(ids=[teacher.pk])):
        assert parse_csp(client.get(url)["Content-Security-Policy"]) == STRICT_POLICY


def test_card_pages_have_no_inline_script_or_style(client_as, owner, main_branch):
    student = add_student(main_branch, "1001")
    html = client_as(owner).get(student_cards_url(ids=[student.pk])).content.decode()
    assert "<script>" not in html and "<style" not in html and "style=" not in html
    assert "onclick" not in html
    assert '<script src="/static/core/print.js" defer></script>' in html


def test_the_page_is_arabic_right_to_left(client_as, owner, main_branch):
    student = add_student(main_branch, "1001")
    html = client_as(owner).get(student_cards_url(ids=[student.pk])).content.decode()
    assert '<html lang="ar" dir="rtl">' in html


# --- query counts ----------------------------------------------------------------------------


def sheet_queries(client, ids) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(student_cards_url(ids=ids)).status_code == 200
    return len(queries)


def test_a_sheet_of_100_students_runs_a_fixed_number_of_queries(
    client_as, receptionist, main_branch, django_assert_max_num_queries
):
    groups = [make_group(main_branch, code=f"G-{index}") for index in range(3)]
    students = [add_student(main_branch, str(3001 + index)) for index in range(100)]
    Enrollment.objects.bulk_create(
        Enrollment(student=student, group=group, start_date=datetime.date(2026, 1, 1))
        for student in students
        for group in groups[: 1 + student.pk % 3]
    )
    client = client_as(receptionist)
    ids = [student.pk for student in students]
    sheet_queries(client, ids[:1])  # the first request also creates the center settings row
    small = sheet_queries(client, ids[:5])
    assert sheet_queries(client, ids) == small
    # session, user, permissions (2), roles, branches, center settings, students, their groups
    with django_assert_max_num_queries(9):
        client.get(student_cards_url(ids=ids))


def test_a_sheet_of_100_teachers_runs_a_fixed_number_of_queries(
    client_as, manager, main_branch, django_assert_max_num_queries
):
    teachers = [make_teacher(f"مدرس {index}") for index in range(100)]
    for teacher in teachers[:50]:
        make_group(main_branch, teacher=teacher)
    client = client_as(manager)
    client.get(teacher_cards_url(ids=[teachers[0].pk]))
    with CaptureQueriesContext(connection) as few:
        client.get(teacher_cards_url(ids=[teachers[0].pk]))
    with django_assert_max_num_queries(len(few)):
        response = client.get(teacher_cards_url(ids=[teacher.pk for teacher in teachers]))
    assert response.content.decode().count('<article class="card">') == 100
