"""R12 in the add-student form: the same child (folded name + guardian phone) is shown, then asked."""

import pytest
from django.urls import reverse
from django.utils import translation

from core.models import AuditLog, Student
from tests.factories import make_student

pytestmark = pytest.mark.django_db


def add_data(branch, **overrides):
    data = {
        "code": "",
        "full_name": "احمد  محمود",  # أحمد محمود, typed without the hamza
        "phone": "",
        "branch": branch.pk,
        "grade": "s1",
        "school": "",
        "notes": "",
        "guardian_name": "محمود علي",
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


@pytest.fixture
def existing(main_branch):
    return make_student(main_branch, name="أحمد محمود", guardian_phone="+201001234567")


def test_the_add_form_shows_the_existing_student_and_saves_nothing(client_as, receptionist, main_branch, existing):
    response = client_as(receptionist).post(reverse("admin:core_student_add"), add_data(main_branch))
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.twin == existing
    errors = form.non_field_errors()
    assert [error.code for error in errors.as_data()] == ["duplicate"]
    page = response.content.decode()
    assert reverse("admin:core_student_change", args=[existing.pk]) in page
    assert existing.full_name in page and existing.code in page
    assert 'name="register_anyway"' in page
    assert Student.objects.count() == 1


def test_the_add_form_asks_in_arabic(client_as, receptionist, main_branch, existing):
    with translation.override("ar"):
        response = client_as(receptionist).post(
            reverse("admin:core_student_add"), add_data(main_branch), HTTP_ACCEPT_LANGUAGE="ar"
        )
        page = response.content.decode()
    assert "مسجل بالفعل" in page
    assert "طفل آخر بنفس الاسم" in page


def test_the_empty_add_form_has_no_register_anyway_box(client_as, receptionist):
    response = client_as(receptionist).get(reverse("admin:core_student_add"))
    assert response.status_code == 200
    assert 'name="register_anyway"' not in response.content.decode()


def test_ticking_register_anyway_saves_a_second_student(client_as, receptionist, main_branch, existing):
    data = add_data(main_branch, register_anyway="on")
    response = client_as(receptionist).post(reverse("admin:core_student_add"), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    second = Student.objects.exclude(pk=existing.pk).get()
    assert second.search_key == existing.search_key and second.code != existing.code
    entry = AuditLog.objects.get(model="core.student", object_id=str(second.pk))
    assert entry.actor == receptionist
    assert entry.changes["duplicate_warning_overridden"] == [None, existing.code]


def test_the_same_name_with_another_guardian_phone_saves_without_asking(client_as, receptionist, main_branch, existing):
    data = add_data(main_branch, guardian_phone="01201234567")
    response = client_as(receptionist).post(reverse("admin:core_student_add"), data)
    assert response.status_code == 302
    assert Student.objects.count() == 2


def test_a_second_guardian_phone_of_the_existing_student_is_the_same_child(
    client_as, receptionist, main_branch, existing
):
    data = add_data(main_branch, guardian_phone="01501234567", second_guardian_phone="01001234567")
    response = client_as(receptionist).post(reverse("admin:core_student_add"), data)
    assert response.status_code == 200
    assert response.context["adminform"].form.twin == existing
    assert Student.objects.count() == 1
