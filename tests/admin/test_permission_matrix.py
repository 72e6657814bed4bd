"""Each role × each center model: the exact answer of its list, add, change and delete pages
(SPEC.md §1). Removing one permission from a role in core/access/roles.py turns a cell red."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from core.models import AuditLog, CenterSettings, Guardian, Room, Teacher
from core.services.enrollments import enrollment_create
from core.services.sessions import session_add_extra
from tests.factories import make_group, make_room, make_student

ROLES = ["manager", "receptionist", "accountant", "supervisor", "teacher_user"]
V, A, C, D = "view", "add", "change", "delete"

# What each role may do (the owner: see OWNER_REFUSED). Everything else is answered 403.
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
# The owner holds every permission; these the admin refuses to everyone (the audit log is
# append-only, a session is cancelled not edited or deleted, an enrollment ends, the settings
# are one row).
OWNER_REFUSED = {"auditlog": {A, C, D}, "session": {C, D}, "enrollment": {D}, "centersettings": {A, D}}
for _model, _by_role in EXPECTED.items():
    _by_role["owner"] = {V, A, C, D} - OWNER_REFUSED.get(_model, set())

# The answers a page can give: a working page, a read-only change page, a refusal.
OK, READ_ONLY, REFUSED = "200", "200 read-only", "403"


def expected_answers(model: str, role: str) -> dict[str, str]:
    allowed = EXPECTED[model][role]
    answers = {action: OK if action in allowed else REFUSED for action in (V, A, C, D)}
    if C not in allowed and V in allowed:
        answers[C] = READ_ONLY  # who may only view gets the change page without a save button
    if model == "centersettings" and V in allowed:
        answers[V] = "302 " + reverse("admin:core_centersettings_change", args=[1])  # the one row
    return answers


def answer(response, model: str, obj=None) -> str:
    """What a page said, in the terms of expected_answers: a 200 counts only when it is the
    page asked for (the model's list, or a page about that very object)."""
    if response.status_code == 302:
        return f"302 {response['Location']}"
    if response.status_code != 200:
        return str(response.status_code)
    assert response.context["opts"].model_name == model
    if obj is None:
        return OK
    shown = response.context.get("original") or response.context.get("object")
    assert shown is not None and shown.pk == obj.pk
    if "adminform" not in response.context:
        return OK  # the delete confirmation
    return OK if response.context["has_change_permission"] else READ_ONLY


@pytest.fixture
def records(main_branch, teacher_user):
    group = make_group(main_branch, room=make_room(main_branch))
    group.teacher.user = teacher_user  # the teacher sees this group
    group.teacher.save()
    student = make_student(main_branch)
    enrollment = enrollment_create(actor=None, student=student, group=group)
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
        "auditlog": AuditLog.objects.order_by("pk").first(),
        "centersettings": CenterSettings.load(),
    }


def answers_for(client, model: str, obj) -> dict[str, str]:
    return {
        V: answer(client.get(reverse(f"admin:core_{model}_changelist")), model),
        A: answer(client.get(reverse(f"admin:core_{model}_add")), model),
        C: answer(client.get(reverse(f"admin:core_{model}_change", args=[obj.pk])), model, obj),
        D: answer(client.get(reverse(f"admin:core_{model}_delete", args=[obj.pk])), model, obj),
    }


@pytest.mark.parametrize("role", ["owner", *ROLES])
@pytest.mark.parametrize("model", sorted(EXPECTED))
def test_role_permissions_per_model(request, client, role, model, records):
    assert records[model] is not None, f"no {model} row to open"
    client.force_login(request.getfixturevalue(role))
    assert answers_for(client, model, records[model]) == expected_answers(model, role), f"{role} on {model}"


@pytest.mark.parametrize("model", sorted(EXPECTED))
def test_anonymous_goes_to_login(client, model):
    url = reverse(f"admin:core_{model}_changelist")
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('admin:login')}?next={url}"


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
