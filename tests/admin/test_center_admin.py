"""The center's admin pages: forms that call services, search, scoping, query counts."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext, ngettext

from core.models import AuditLog, Enrollment, FeePlan, ScheduleSlot, Session, Student, Weekday
from core.services.enrollments import enrollment_create
from core.services.sessions import sessions_generate
from tests.factories import make_branch, make_group, make_room, make_student, make_teacher


def student_add_data(branch, **overrides):
    data = {
        "code": "",
        "full_name": "  يوسف   أحمد ",
        "phone": "",
        "branch": branch.pk,
        "grade": "s1",
        "school": "",
        "notes": "",
        "guardian_name": "أحمد علي",
        "guardian_phone": "٠١٠٠ ١٢٣ ٤٥٦٧",
        "guardian_relation": "father",
        "second_guardian_name": "",
        "second_guardian_phone": "",
        "enroll_group": "",
        "fee_plan": "normal",
        "custom_fee": "",
        "fee_reason": "",
    }
    data.update(overrides)
    return data


def test_receptionist_registers_a_student_through_the_form(client_as, receptionist, main_branch):
    group = make_group(main_branch, code="MATH-1")
    client = client_as(receptionist)
    response = client.post(reverse("admin:core_student_add"), student_add_data(main_branch, enroll_group=group.pk))
    assert response.status_code == 302, response.content.decode()[:3000]
    student = Student.objects.get()
    assert student.full_name == "يوسف أحمد" and student.code == "1001"
    assert student.guardians.get().phone == "+201001234567"
    assert Enrollment.objects.get().group == group
    assert AuditLog.objects.filter(actor=receptionist, model="core.student").exists()


def test_invalid_guardian_phone_is_a_field_error_and_nothing_is_saved(client_as, receptionist, main_branch):
    response = client_as(receptionist).post(
        reverse("admin:core_student_add"), student_add_data(main_branch, guardian_phone="12")
    )
    assert response.status_code == 200
    assert "guardian_phone" in response.context["adminform"].form.errors
    assert not Student.objects.exists()


def test_duplicate_code_is_a_field_error(client_as, receptionist, main_branch):
    make_student(main_branch, code="2000")
    response = client_as(receptionist).post(
        reverse("admin:core_student_add"), student_add_data(main_branch, code="٢٠٠٠")
    )
    assert response.status_code == 200
    assert "code" in response.context["adminform"].form.errors
    assert Student.objects.count() == 1


def test_reduced_plan_without_reason_is_a_field_error(client_as, receptionist, main_branch):
    group = make_group(main_branch)
    data = student_add_data(main_branch, enroll_group=group.pk, fee_plan="reduced", custom_fee="100")
    response = client_as(receptionist).post(reverse("admin:core_student_add"), data)
    assert response.status_code == 200
    assert "fee_reason" in response.context["adminform"].form.errors
    assert not Student.objects.exists()


def test_enrollment_into_a_full_group_is_a_field_error(client_as, receptionist, main_branch):
    group = make_group(main_branch, capacity=1)
    enrollment_create(actor=None, student=make_student(main_branch), group=group)
    student = make_student(main_branch)
    data = {
        "student": student.pk,
        "group": group.pk,
        "fee_plan": "normal",
        "custom_fee": "",
        "fee_reason": "",
        "start_date": "2026-11-28",
    }
    response = client_as(receptionist).post(reverse("admin:core_enrollment_add"), data)
    assert response.status_code == 200
    assert "group" in response.context["adminform"].form.errors
    assert Enrollment.objects.count() == 1


def test_student_change_adds_a_guardian_and_audits_the_name(client_as, receptionist, main_branch):
    student = make_student(main_branch, name="عمر")
    url = reverse("admin:core_student_change", args=[student.pk])
    page = client_as(receptionist).get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {
        name: form.initial.get(name, "")
        for name in ("code", "full_name", "phone", "branch", "grade", "school", "notes")
    }
    data.update(
        full_name="عمر خالد",
        is_active="on",
        add_guardian_phone="01212345678",
        add_guardian_name="الأم",
        add_guardian_relation="mother",
        **{
            "guardian_links-TOTAL_FORMS": "1",
            "guardian_links-INITIAL_FORMS": "1",
            "guardian_links-MIN_NUM_FORMS": "0",
            "guardian_links-MAX_NUM_FORMS": "1000",
            "guardian_links-0-id": student.guardian_links.get().pk,
            "guardian_links-0-student": student.pk,
            "enrollments-TOTAL_FORMS": "0",
            "enrollments-INITIAL_FORMS": "0",
            "enrollments-MIN_NUM_FORMS": "0",
            "enrollments-MAX_NUM_FORMS": "1000",
            "attendances-TOTAL_FORMS": "0",
            "attendances-INITIAL_FORMS": "0",
            "attendances-MIN_NUM_FORMS": "0",
            "attendances-MAX_NUM_FORMS": "0",
        },
    )
    response = client_as(receptionist).post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    student.refresh_from_db()
    assert student.full_name == "عمر خالد"
    assert student.guardians.count() == 2
    assert AuditLog.objects.filter(action=AuditLog.Action.UPDATE, model="core.student").exists()


@pytest.mark.parametrize(("typed", "stored"), [("احمد", "أحمد علي"), ("فاطمه", "فاطمة حسن"), ("اسلام", "إسلام محمود")])
def test_name_search_matches_spelling_variants(client_as, receptionist, main_branch, typed, stored):
    make_student(main_branch, name=stored)
    make_student(main_branch, name="مريم سعيد")
    response = client_as(receptionist).get(reverse("admin:core_student_changelist"), {"q": typed})
    names = [student.full_name for student in response.context["cl"].result_list]
    assert names == [stored]


def test_search_by_code_and_by_guardian_phone_in_any_form(client_as, receptionist, main_branch):
    student = make_student(main_branch, guardian_phone="01001234567")
    make_student(main_branch)
    client = client_as(receptionist)
    for term in (student.code, "+20 100 123 4567", "٠١٠٠١٢٣٤٥٦٧"):
        response = client.get(reverse("admin:core_student_changelist"), {"q": term})
        assert list(response.context["cl"].result_list) == [student], term


def test_a_student_whose_two_guardians_match_the_phone_is_listed_once(client_as, receptionist, main_branch):
    from core.services.students import guardian_link

    student = make_student(main_branch, guardian_phone="01001234567")
    guardian_link(actor=None, student=student, phone="01201234567", full_name="أم", relation="mother")
    client = client_as(receptionist)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("admin:core_student_changelist"), {"q": "1234567"})
    assert list(response.context["cl"].result_list) == [student]
    assert response.context["cl"].result_count == 1
    # Matched through a subquery, not a join: no DISTINCT over the listed columns.
    assert not any("DISTINCT" in query["sql"] for query in captured.captured_queries)


def test_staff_see_only_their_branch(client_as, receptionist, main_branch):
    other = make_branch()
    mine = make_student(main_branch)
    theirs = make_student(other)
    client = client_as(receptionist)
    listed = list(client.get(reverse("admin:core_student_changelist")).context["cl"].result_list)
    assert listed == [mine]
    assert (
        client.get(reverse("admin:core_student_change", args=[theirs.pk])).status_code == 302
    )  # "does not exist" redirect


def test_teacher_sees_only_his_groups_even_by_guessing_urls(client_as, teacher_user, main_branch):
    own = make_group(main_branch, teacher=make_teacher(user=teacher_user), code="OWN")
    other = make_group(main_branch, code="OTHER")
    client = client_as(teacher_user)
    listed = list(client.get(reverse("admin:core_group_changelist")).context["cl"].result_list)
    assert listed == [own]
    assert client.get(reverse("admin:core_group_change", args=[other.pk])).status_code == 302
    assert client.get(reverse("admin:core_group_change", args=[own.pk])).status_code == 200
    assert client.get(reverse("admin:core_student_changelist")).status_code == 403


def slot_formset_data(group, rows):
    data = {
        "code": group.code,
        "name": group.name,
        "teacher": group.teacher_id,
        "subject": "",
        "grade": "",
        "branch": group.branch_id,
        "default_room": "",
        "capacity": group.capacity,
        "is_active": "on",
        "fee": "200.00",
        "fee_period": "month",
        "sessions_per_month": 4,
        "pay_scheme": "percent",
        "pay_rate": "70",
        "slots-TOTAL_FORMS": str(len(rows)),
        "slots-INITIAL_FORMS": "0",
        "slots-MIN_NUM_FORMS": "0",
        "slots-MAX_NUM_FORMS": "1000",
        "enrollments-TOTAL_FORMS": "0",
        "enrollments-INITIAL_FORMS": "0",
        "enrollments-MIN_NUM_FORMS": "0",
        "enrollments-MAX_NUM_FORMS": "0",
        "sessions-TOTAL_FORMS": "0",
        "sessions-INITIAL_FORMS": "0",
        "sessions-MIN_NUM_FORMS": "0",
        "sessions-MAX_NUM_FORMS": "0",
    }
    for index, row in enumerate(rows):
        for key, value in row.items():
            data[f"slots-{index}-{key}"] = value
        data[f"slots-{index}-group"] = group.pk
    return data


def test_overlapping_slot_on_the_group_page_is_a_row_error_naming_the_other_group(client_as, manager, main_branch):
    room = make_room(main_branch)
    busy = make_group(main_branch, code="BUSY")
    ScheduleSlot.objects.create(
        group=busy, weekday=Weekday.SATURDAY, start_time=datetime.time(16), duration_minutes=120, room=room
    )
    group = make_group(main_branch)
    url = reverse("admin:core_group_change", args=[group.pk])
    row = {
        "weekday": "0",
        "start_time": "17:00",
        "duration_minutes": "60",
        "room": room.pk,
        "is_active": "on",
        "override_reason": "",
    }
    response = client_as(manager).post(url, slot_formset_data(group, [row]))
    assert response.status_code == 200
    errors = str(response.context["inline_admin_formsets"][0].formset.errors)
    assert "BUSY" in errors
    assert not ScheduleSlot.objects.filter(group=group).exists()


def test_free_slot_on_the_group_page_is_saved_and_generates_sessions(client_as, manager, main_branch):
    room = make_room(main_branch)
    group = make_group(main_branch)
    url = reverse("admin:core_group_change", args=[group.pk])
    row = {
        "weekday": "0",
        "start_time": "17:00",
        "duration_minutes": "60",
        "room": room.pk,
        "is_active": "on",
        "override_reason": "",
    }
    response = client_as(manager).post(url, slot_formset_data(group, [row]))
    assert response.status_code == 302, str(response.context and response.context.get("errors"))
    assert ScheduleSlot.objects.filter(group=group).count() == 1
    assert Session.objects.filter(group=group).exists()


def test_cancel_action_asks_for_a_reason_then_cancels(client_as, manager, main_branch):
    room = make_room(main_branch)
    group = make_group(main_branch)
    ScheduleSlot.objects.create(
        group=group,
        weekday=Weekday.of(datetime.date.today() + datetime.timedelta(days=2)),
        start_time=datetime.time(16),
        duration_minutes=60,
        room=room,
    )
    sessions_generate()
    session = Session.objects.first()
    client = client_as(manager)
    url = reverse("admin:core_session_changelist")
    form_page = client.post(url, {"action": "cancel_sessions", "_selected_action": [session.pk]})
    assert form_page.status_code == 200 and "reason" in form_page.context["form"].fields
    client.post(url, {"action": "cancel_sessions", "_selected_action": [session.pk], "apply": "1", "reason": "إجازة"})
    session.refresh_from_db()
    assert session.status == Session.Status.CANCELLED and session.cancel_reason == "إجازة"


def test_receptionist_cannot_cancel_sessions(client_as, receptionist, main_branch):
    client = client_as(receptionist)
    response = client.get(reverse("admin:core_session_changelist"))
    assert response.status_code == 200
    assert "cancel_sessions" not in response.content.decode()
    refused = client.post(
        reverse("admin:core_session_changelist"), {"action": "cancel_sessions", "_selected_action": ["1"]}
    )
    assert (
        refused.status_code in (200, 302)
        and "reason" not in (refused.context or {}).get("form", {}).__class__.__name__.lower()
    )


def test_center_settings_are_owner_only(client_as, owner, manager):
    assert client_as(manager).get(reverse("admin:core_centersettings_changelist")).status_code == 403
    response = client_as(owner).get(reverse("admin:core_centersettings_changelist"))
    assert response.status_code == 302 and response["Location"].endswith("/1/change/")


@pytest.mark.parametrize(
    ("url_name", "builder"),
    [
        ("admin:core_student_changelist", lambda branch: make_student(branch)),
        ("admin:core_group_changelist", lambda branch: make_group(branch)),
        (
            "admin:core_enrollment_changelist",
            lambda branch: enrollment_create(actor=None, student=make_student(branch), group=make_group(branch)),
        ),
    ],
)
def test_changelists_use_a_fixed_number_of_queries(
    client_as, manager, main_branch, url_name, builder, django_assert_max_num_queries
):
    client = client_as(manager)
    for _index in range(5):
        builder(main_branch)
    client.get(reverse(url_name))  # warm caches (content types, permissions)
    with django_assert_max_num_queries(16) as few:
        client.get(reverse(url_name))
    for _index in range(95):
        builder(main_branch)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse(url_name), {"all": ""})
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 100  # every row rendered ("show all")


def test_session_changelist_query_count_does_not_grow(client_as, manager, main_branch, django_assert_max_num_queries):
    room = make_room(main_branch)
    for index in range(7):
        group = make_group(main_branch, room=room)
        ScheduleSlot.objects.create(
            group=group, weekday=index, start_time=datetime.time(8 + index), duration_minutes=60, room=room
        )
    sessions_generate(days=14)
    client = client_as(manager)
    client.get(reverse("admin:core_session_changelist"))
    with django_assert_max_num_queries(16):
        response = client.get(reverse("admin:core_session_changelist"))
    assert len(response.context["cl"].result_list) >= 13


def test_fee_plan_filter(client_as, manager, main_branch):
    group = make_group(main_branch)
    exempt = make_student(main_branch)
    enrollment_create(actor=None, student=exempt, group=group, fee_plan=FeePlan.EXEMPT, fee_reason="يتيم")
    enrollment_create(actor=None, student=make_student(main_branch), group=group)
    response = client_as(manager).get(
        reverse("admin:core_student_changelist"), {"enrollments__fee_plan__exact": "exempt"}
    )
    assert list(response.context["cl"].result_list) == [exempt]


def test_student_page_shows_the_guardians_messages_to_staff_who_may_see_them(
    client_as, manager, supervisor, main_branch
):
    from core.services.messaging import message_queue

    student = make_student(main_branch, name="ليلى سمير")
    message_queue(
        event="broadcast-test:1",
        guardian=student.guardians.get(),
        template="absent",
        context={
            "student_name": student.full_name,
            "group_name": "رياضيات",
            "date": datetime.date(2026, 11, 28),
            "time": datetime.time(16),
        },
        student=student,
    )
    url = reverse("admin:core_student_change", args=[student.pk])
    manager_page = client_as(manager).get(url).content.decode()
    assert "msg-history" in manager_page and "ولي أمر ليلى سمير" in manager_page  # the absence notice text
    assert "msg-history" not in client_as(supervisor).get(url).content.decode()


def test_room_pickers_name_the_branch_and_offer_only_the_users_branches(client_as, manager, main_branch):
    """Two branches may each have a "Room 1": the timetable's room picker tells them apart, and a
    manager of one branch is not offered the other's rooms."""
    from core.models import Branch

    other = Branch.objects.create(name_ar="فرع المعادي", name_en="Maadi")
    here = make_room(main_branch, name="قاعة 1")
    make_room(other, name="قاعة 1")
    group = make_group(main_branch)
    response = client_as(manager).get(reverse("admin:core_group_change", args=[group.pk]))
    formset = response.context["inline_admin_formsets"][0].formset
    labels = [label for _value, label in formset.empty_form.fields["room"].choices if _value]
    assert f"قاعة 1 · {main_branch}" in labels
    assert not any("المعادي" in str(label) for label in labels)
    fresh = type(here).objects.get(pk=here.pk)
    assert str(fresh) == "قاعة 1"  # without its branch loaded, the name alone (no extra query)


# --- extra (make-up) sessions added in the admin --------------------------------------------------------


def extra_session_data(group, room, day, start="16:00", minutes="90"):
    return {
        "group": group.pk,
        "date": day.isoformat(),
        "start_time": start,
        "duration_minutes": minutes,
        "room": room.pk,
    }


def test_manager_adds_an_extra_session_through_the_form(client_as, manager, main_branch):
    room = make_room(main_branch)
    group = make_group(main_branch, room=room)
    day = datetime.date.today() + datetime.timedelta(days=3)
    response = client_as(manager).post(reverse("admin:core_session_add"), extra_session_data(group, room, day))
    assert response.status_code == 302, response.content.decode()[:3000]
    session = Session.objects.get()
    assert session.is_extra and session.group == group and session.room == room and session.date == day
    assert AuditLog.objects.filter(actor=manager, model="core.session", action=AuditLog.Action.CREATE).count() == 1


def test_an_extra_session_in_a_busy_room_is_a_form_error_and_nothing_is_saved(client_as, manager, main_branch):
    room = make_room(main_branch)
    group, other = make_group(main_branch, room=room), make_group(main_branch, code="BUSY-1", room=room)
    day = datetime.date.today() + datetime.timedelta(days=3)
    client = client_as(manager)
    assert client.post(reverse("admin:core_session_add"), extra_session_data(other, room, day)).status_code == 302
    response = client.post(reverse("admin:core_session_add"), extra_session_data(group, room, day, start="16:30"))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "BUSY-1" in " ".join(errors["start_time"])
    assert list(Session.objects.values_list("group__code", flat=True)) == ["BUSY-1"]
    assert AuditLog.objects.filter(model="core.session").count() == 1


def test_the_extra_session_form_uses_the_admin_widgets(client_as, manager, main_branch):
    page = client_as(manager).get(reverse("admin:core_session_add")).content.decode()
    assert 'name="start_time"' in page and "vTimeField" in page
    duration = page[page.index('name="duration_minutes"') - 400 : page.index('name="duration_minutes"') + 400]
    assert "border" in duration


def test_the_cancel_page_says_what_will_happen_and_goes_back_without_cancelling(client_as, manager, main_branch):
    from core.models import Attendance

    room = make_room(main_branch)
    group = make_group(main_branch, room=room)
    start = timezone.now() + datetime.timedelta(days=2)
    session = Session.objects.create(
        group=group,
        date=timezone.localdate(start),
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=1),
        room=room,
    )
    student = make_student(main_branch)
    enrollment = enrollment_create(actor=manager, student=student, group=group, fee_plan=FeePlan.NORMAL)
    Attendance.objects.create(session=session, student=student, enrollment=enrollment, status="present", at=start)
    page = client_as(manager).post(
        reverse("admin:core_session_changelist"), {"action": "cancel_sessions", "_selected_action": [session.pk]}
    )
    assert page.status_code == 200
    html = page.content.decode()
    assert "<h2" in html and str(page.context["title"]) in html
    summary = html.split('id="action-summary">')[1].split("</p>")[0]
    with translation.override("ar"):
        reversed_charges = ngettext(
            "The charge of the %(admitted)s student already admitted will be reversed.",
            "The charges of the %(admitted)s students already admitted will be reversed.",
            1,
        ) % {"admitted": 1}
        told = gettext("The guardians of every enrolled student will be told the class is cancelled.")
        back, cancel = gettext("Back"), gettext("Cancel")
    assert reversed_charges in summary and told in summary
    assert f">{back}</a>" in html and f">{cancel}</a>" not in html
    session.refresh_from_db()
    assert session.status == Session.Status.SCHEDULED


def test_only_who_may_add_sessions_adds_an_extra_one(client, client_as, receptionist, main_branch):
    room = make_room(main_branch)
    group = make_group(main_branch, room=room)
    data = extra_session_data(group, room, datetime.date.today() + datetime.timedelta(days=3))
    assert client.post(reverse("admin:core_session_add"), data)["Location"].startswith("/admin/login/")
    assert client_as(receptionist).post(reverse("admin:core_session_add"), data).status_code == 403
    assert not Session.objects.exists()
