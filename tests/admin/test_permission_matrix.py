"""Each role × each center model: changelist / add / change / delete, allowed or 403 (SPEC.md §1)."""

import pytest
from django.urls import reverse

from core.models import CenterSettings, Guardian, Room, Teacher
from core.services.enrollments import enrollment_create
from core.services.sessions import session_add_extra
from tests.factories import make_group, make_room, make_student

ROLES = ["manager", "receptionist", "accountant", "supervisor", "teacher_user"]
V, A, C, D = "view", "add", "change", "delete"

# What each role may do; anything missing must be refused with 403.
EXPECTED = {
    "student": {
        "manager": {V, A, C},
        "receptionist": {V, A, C},
        "accountant": {V},
        "supervisor": {V},
        "teacher_user": set(),
    },
    "guardian": {
        "manager": {V, A, C},
        "receptionist": {V, A, C},
        "accountant": {V},
        "supervisor": set(),
        "teacher_user": set(),
    },
    "enrollment": {
        "manager": {V, A, C},
        "receptionist": {V, A, C},
        "accountant": {V},
        "supervisor": set(),
        "teacher_user": set(),
    },
    "group": {"manager": {V, A, C}, "receptionist": {V}, "accountant": {V}, "supervisor": {V}, "teacher_user": {V}},
    "teacher": {"manager": {V, A, C}, "receptionist": {V}, "accountant": {V}, "supervisor": {V}, "teacher_user": set()},
    "room": {
        "manager": {V, A, C, D},
        "receptionist": {V},
        "accountant": set(),
        "supervisor": {V},
        "teacher_user": set(),
    },
    "session": {"manager": {V, A}, "receptionist": {V}, "accountant": {V}, "supervisor": {V}, "teacher_user": {V}},
    "auditlog": {"manager": {V}, "receptionist": set(), "accountant": {V}, "supervisor": set(), "teacher_user": set()},
    "centersettings": {role: set() for role in ROLES},
}


@pytest.fixture
def records(main_branch, teacher_user):
    group = make_group(main_branch, room=make_room(main_branch))
    group.teacher.user = teacher_user  # the teacher sees this group
    group.teacher.save()
    student = make_student(main_branch)
    enrollment = enrollment_create(actor=None, student=student, group=group)
    import datetime

    from django.utils import timezone

    session = session_add_extra(
        actor=None,
        group=group,
        date=timezone.localdate() + datetime.timedelta(days=1),
        start_time=datetime.time(10),
        duration_minutes=60,
    )
    return {
        "student": student,
        "guardian": Guardian.objects.get(),
        "enrollment": enrollment,
        "group": group,
        "teacher": Teacher.objects.get(),
        "room": Room.objects.get(),
        "session": session,
        "auditlog": None,
        "centersettings": CenterSettings.load(),
    }


def status_for(client, model, action, obj):
    if action == V:
        return client.get(reverse(f"admin:core_{model}_changelist")).status_code
    if action == A:
        return client.get(reverse(f"admin:core_{model}_add")).status_code
    if obj is None:
        return 403
    if action == C:
        # A change page the user may only view answers 200 read-only; check the permission flag.
        response = client.get(reverse(f"admin:core_{model}_change", args=[obj.pk]))
        if response.status_code == 200:
            return 200 if response.context["has_change_permission"] else 403
        return response.status_code
    return client.get(reverse(f"admin:core_{model}_delete", args=[obj.pk])).status_code


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("model", sorted(EXPECTED))
def test_role_permissions_per_model(request, client, role, model, records):
    user = request.getfixturevalue(role)
    client.force_login(user)
    for action in (V, A, C, D):
        allowed = action in EXPECTED[model][role]
        status = status_for(client, model, action, records[model])
        if allowed:
            assert status in (200, 302), f"{role} should {action} {model}, got {status}"
            if model == "centersettings" and action == V:
                continue
        else:
            assert status in (403, 302) and status != 200, f"{role} must not {action} {model}, got {status}"
            if status == 302:
                # A redirect may only be to the login page, never to a working page.
                assert action == C or "login" in client.get(reverse(f"admin:core_{model}_changelist")).get(
                    "Location", "login"
                )


@pytest.mark.parametrize("model", sorted(EXPECTED))
def test_anonymous_goes_to_login(client, model):
    response = client.get(reverse(f"admin:core_{model}_changelist"))
    assert response.status_code == 302 and reverse("admin:login") in response["Location"]


def test_owner_can_open_every_center_page(client_as, owner, records):
    client = client_as(owner)
    for model in EXPECTED:
        assert client.get(reverse(f"admin:core_{model}_changelist")).status_code in (200, 302)
    for model in ("student", "group", "session", "enrollment", "teacher", "room", "guardian"):
        assert client.get(reverse(f"admin:core_{model}_change", args=[records[model].pk])).status_code == 200


# --- field level: money (teacher pay terms, balances) and filter choices (issue 14) -----------------

SEES_PAY_TERMS = {"manager": True, "receptionist": False, "accountant": True, "supervisor": False}
SEES_BALANCES = {"manager": True, "receptionist": True, "accountant": True, "supervisor": False}


def field_names(response) -> set[str]:
    names = set()
    for _title, options in response.context["adminform"].fieldsets:
        names.update(options.get("fields", ()))
    return names


@pytest.mark.parametrize("role", sorted(SEES_PAY_TERMS))
def test_teacher_pay_terms_show_only_to_who_settles_teachers(request, client, role, records):
    client.force_login(request.getfixturevalue(role))
    teacher, group = records["teacher"], records["group"]
    page = client.get(reverse("admin:core_teacher_change", args=[teacher.pk]))
    group_page = client.get(reverse("admin:core_group_change", args=[group.pk]))
    listing = client.get(reverse("admin:core_teacher_changelist"))
    sees = SEES_PAY_TERMS[role]
    assert ({"default_pay_scheme", "default_pay_rate"} <= field_names(page)) is sees
    assert bool({"default_pay_scheme", "default_pay_rate"} & field_names(page)) is sees
    assert bool({"pay_scheme", "pay_rate"} & field_names(group_page)) is sees
    assert ("default_pay_scheme" in listing.context["cl"].list_display) is sees
    assert ("default_pay_scheme" in listing.context["cl"].list_filter) is sees
    # The rate is nowhere in the page's text for who may not see it.
    assert (f'value="{teacher.default_pay_rate}"' in page.content.decode()) is (sees and role == "manager")


@pytest.mark.parametrize("role", sorted(SEES_BALANCES))
def test_student_balances_show_only_to_the_office(request, client, role, records):
    client.force_login(request.getfixturevalue(role))
    html = client.get(reverse("admin:core_student_change", args=[records["student"].pk])).content.decode()
    assert ("data-balance" in html) is SEES_BALANCES[role]
    assert ("field-balance_in_words" in html) is SEES_BALANCES[role]


def filter_choices(response, field_path: str) -> set[str]:
    """The choices a dropdown filter offers; a filter with a single choice is not shown at all."""
    specs = [spec for spec in response.context["cl"].filter_specs if spec.field_path == field_path]
    return {str(pk) for spec in specs for pk, _label in spec.lookup_choices}


def test_a_teacher_is_offered_no_teacher_filter_and_only_his_groups(client, teacher_user, records, main_branch):
    other_group = make_group(main_branch)  # another teacher's group
    client.force_login(teacher_user)
    for url in (reverse("admin:core_session_changelist"), reverse("admin:core_group_changelist")):
        specs = client.get(url).context["cl"].filter_specs
        assert not [spec for spec in specs if getattr(spec, "field_path", "").endswith("teacher")], url
    settlements = client.get(reverse("admin:core_settlement_changelist"))
    assert not [s for s in settlements.context["cl"].filter_specs if getattr(s, "field_path", "") == "teacher"]
    assert other_group.teacher.full_name not in settlements.content.decode()


def test_branch_staff_are_offered_only_their_branches_groups_and_teachers(client, supervisor, records):
    from tests.factories import make_branch

    elsewhere = make_group(make_branch())
    client.force_login(supervisor)
    groups = client.get(reverse("admin:core_group_changelist"))
    assert str(elsewhere.branch_id) not in filter_choices(groups, "branch")
    sessions = client.get(reverse("admin:core_session_changelist"))
    assert str(elsewhere.branch_id) not in filter_choices(sessions, "group__branch")
    # The teacher filters search teachers as the list page's autocomplete does.
    found = client.get(
        "/admin/autocomplete/", {"app_label": "core", "model_name": "group", "field_name": "teacher", "term": ""}
    ).json()["results"]
    assert {row["id"] for row in found} == {str(records["teacher"].pk)}
    assert str(elsewhere.teacher_id) not in {row["id"] for row in found}


def test_cashier_filter_offers_a_receptionist_only_himself_and_the_accountant_the_branchs_cashiers(
    client, receptionist, accountant, manager, records
):
    from decimal import Decimal

    from core.services.payments import payment_record

    student = records["student"]
    payment_record(student=student, cashier=receptionist, amount=Decimal("50"))
    payment_record(student=student, cashier=manager, amount=Decimal("50"), confirm_repeat=True)
    client.force_login(receptionist)
    # Only himself: a one-choice filter is not even shown; never another cashier's name.
    assert filter_choices(client.get(reverse("admin:core_receipt_changelist")), "cashier") <= {str(receptionist.pk)}
    client.force_login(accountant)
    assert filter_choices(client.get(reverse("admin:core_receipt_changelist")), "cashier") == {
        str(receptionist.pk),
        str(manager.pk),
    }


@pytest.mark.parametrize("role", sorted(SEES_PAY_TERMS))
def test_teacher_and_group_exports_leave_pay_terms_to_who_settles_teachers(request, client, role, records):
    import csv
    import io

    from django.utils import translation

    from core.models import Group

    client.force_login(request.getfixturevalue(role))
    for model, fields in ((Teacher, ("default_pay_scheme", "default_pay_rate")), (Group, ("pay_scheme", "pay_rate"))):
        name = model._meta.model_name
        response = client.post(reverse(f"admin:core_{name}_export"), {"format": "1", "resource": "0"})
        assert response.status_code == 200 and "text/csv" in response["Content-Type"]
        header = next(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        with translation.override("ar"):
            pay_columns = {str(model._meta.get_field(field).verbose_name) for field in fields}
        assert (pay_columns <= set(header)) is SEES_PAY_TERMS[role], (name, header)
        assert bool(pay_columns & set(header)) is SEES_PAY_TERMS[role], (name, header)
