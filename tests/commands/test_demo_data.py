"""manage.py demo_data: a realistic, deterministic, conflict-free demo center, loaded once."""

from collections import Counter as Tally

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import Count, F, Q

from core.models import (
    Branch,
    CenterSettings,
    Counter,
    Enrollment,
    FeePlan,
    Group,
    Guardian,
    PayScheme,
    Room,
    ScheduleSlot,
    Session,
    Student,
    StudentGuardian,
    Teacher,
    User,
)
from core.normalize import phone_e164, search_key
from core.roles import Role
from core.services.schedule import slot_conflicts
from core.services.students import GuardianInput, student_register

SMALL = ["--students", "200"]


@pytest.fixture
def demo(db, capsys) -> str:
    call_command("demo_data", *SMALL)
    return capsys.readouterr().out


@pytest.mark.django_db
def test_the_default_demo_is_a_center_of_600_students(capsys):
    call_command("demo_data")
    assert Branch.objects.count() == 2
    assert Room.objects.count() == 6
    assert Teacher.objects.count() == 12
    assert Group.objects.count() == 40
    assert Student.objects.count() == 600
    per_student = Tally(Student.objects.annotate(n=Count("enrollments")).values_list("n", flat=True))
    assert set(per_student) <= {1, 2, 3}
    links = StudentGuardian.objects.count()
    assert 1.15 <= links / 600 <= 1.45
    assert "600 students" in capsys.readouterr().out


def test_running_it_again_adds_nothing(demo, capsys):
    counts = (Student.objects.count(), Guardian.objects.count(), Enrollment.objects.count(), User.objects.count())
    call_command("demo_data", *SMALL)
    assert "already has students" in capsys.readouterr().out
    assert counts == (
        Student.objects.count(),
        Guardian.objects.count(),
        Enrollment.objects.count(),
        User.objects.count(),
    )


@pytest.mark.django_db
def test_a_center_with_real_data_is_left_alone(main_branch, capsys):
    Teacher.objects.create(full_name="Real teacher", search_key="real teacher")
    call_command("demo_data", *SMALL)
    assert "already has students or teachers" in capsys.readouterr().out
    assert not Student.objects.exists()


@pytest.mark.django_db
def test_the_same_seed_gives_the_same_center():
    def load() -> list:
        with transaction.atomic():
            call_command("demo_data", "--students", "40")
            snapshot = list(Student.objects.order_by("code").values_list("code", "full_name", "phone", "grade"))
            snapshot += list(
                ScheduleSlot.objects.order_by("group__code", "weekday").values_list(
                    "group__code", "weekday", "start_time"
                )
            )
            transaction.set_rollback(True)
        return snapshot

    assert load() == load()


def test_no_room_holds_two_classes_and_no_teacher_is_in_two_places(demo):
    slots = list(ScheduleSlot.objects.select_related("group", "room"))
    assert len(slots) >= Group.objects.count()
    for slot in slots:
        assert slot.room.branch_id == slot.group.branch_id
        assert slot.room.capacity >= slot.group.capacity
        conflicts = slot_conflicts(
            group=slot.group,
            weekday=slot.weekday,
            start_time=slot.start_time,
            duration_minutes=slot.duration_minutes,
            room=slot.room,
            exclude_pk=slot.pk,
        )
        assert conflicts == [], f"{slot.group.code} {slot}: {conflicts}"


def test_every_group_meets_and_classes_end_by_ten_at_night(demo):
    assert not Group.objects.filter(slots__isnull=True).exists()
    assert not Group.objects.filter(default_room__isnull=True).exists()
    for slot in ScheduleSlot.objects.all():
        end = slot.start_time.hour * 60 + slot.start_time.minute + slot.duration_minutes
        assert end <= 22 * 60


def test_sessions_for_the_coming_days_are_generated(demo):
    assert Session.objects.count() >= ScheduleSlot.objects.count()


def test_student_codes_are_consecutive_and_registration_continues_them(demo, owner, main_branch):
    codes = sorted(int(code) for code in Student.objects.values_list("code", flat=True))
    assert codes == list(range(1001, 1201))
    assert Counter.objects.get(key="student_code").value == 1200
    newcomer = student_register(
        actor=owner, full_name="طالب جديد", branch=main_branch, guardians=[GuardianInput(phone="01009998877")]
    )
    assert newcomer.code == "1201"


def test_siblings_share_a_guardian_and_everyone_has_one_primary(demo):
    shared = Guardian.objects.annotate(children=Count("student_links")).filter(children__gt=1)
    assert shared.exists()
    for guardian in shared[:5]:
        family_names = {name.split()[-1] for name in guardian.students.values_list("full_name", flat=True)}
        assert len(family_names) == 1 or guardian.relation == Guardian.Relation.MOTHER
    primaries = Tally(StudentGuardian.objects.filter(is_primary=True).values_list("student_id", flat=True))
    assert set(primaries.values()) == {1}
    assert len(primaries) == Student.objects.count()


def test_phones_are_valid_egyptian_mobiles_and_names_searchable(demo):
    phones = list(Guardian.objects.values_list("phone", flat=True))
    phones += [phone for phone in Student.objects.values_list("phone", flat=True) if phone]
    phones += list(Teacher.objects.values_list("phone", flat=True))
    for phone in phones:
        assert phone[:5] in {"+2010", "+2011", "+2012", "+2015"} and len(phone) == 13
        assert phone_e164(phone) == phone
    for student in Student.objects.all()[:50]:
        assert student.search_key == search_key(student.full_name)
    for teacher in Teacher.objects.all():
        assert teacher.search_key == search_key(teacher.full_name)


def test_every_fee_plan_is_present_with_its_reason(demo):
    plans = Tally(Enrollment.objects.values_list("fee_plan", flat=True))
    assert set(plans) == set(FeePlan.values)
    assert plans[FeePlan.NORMAL] > plans[FeePlan.REDUCED] + plans[FeePlan.EXEMPT]
    for enrollment in Enrollment.objects.filter(fee_plan=FeePlan.REDUCED).select_related("group"):
        assert enrollment.fee_reason
        assert 0 < enrollment.custom_fee < enrollment.group.fee
    assert not Enrollment.objects.filter(fee_plan=FeePlan.EXEMPT, fee_reason="").exists()


def test_groups_stay_within_capacity_and_students_within_their_grade(demo):
    for group in Group.objects.annotate(seats=Count("enrollments")):
        assert group.seats <= group.capacity
    assert not Enrollment.objects.exclude(group__grade=F("student__grade")).exists()
    per_student = Tally(Student.objects.annotate(n=Count("enrollments")).values_list("n", flat=True))
    assert set(per_student) <= {1, 2, 3}


def test_fees_and_pay_schemes_are_realistic(demo):
    for group in Group.objects.all():
        if group.fee_period == "month":
            assert 150 <= group.fee <= 400
        else:
            assert 40 <= group.fee <= 100
        if group.pay_scheme == PayScheme.PERCENT:
            assert 60 <= group.pay_rate <= 75
    assert set(Group.objects.values_list("pay_scheme", flat=True)) == set(PayScheme.values)
    assert set(Group.objects.values_list("fee_period", flat=True)) == {"month", "session"}


def test_staff_logins_for_every_role_are_printed(demo):
    for role in (Role.MANAGER, Role.RECEPTIONIST, Role.ACCOUNTANT, Role.SUPERVISOR, Role.TEACHER):
        users = User.objects.filter(groups__name=role.value)
        assert users.exists(), role
        for user in users:
            assert user.is_staff and user.check_password("demo-pass-2026")
            assert user.username in demo
            assert user.branches.exists()
    assert "demo-pass-2026" in demo
    assert Teacher.objects.filter(user__isnull=False).count() == 2
    assert not User.objects.filter(Q(is_superuser=True)).exists()


def test_the_center_settings_carry_the_demo_name(demo):
    center = CenterSettings.load()
    assert center.center_name_ar == "سنتر النجاح التعليمي"
    assert center.center_name_en == "Al Najah Center"


@pytest.mark.django_db
def test_a_bigger_center_grows_rooms_teachers_and_groups():
    call_command("demo_data", "--students", "1300")
    assert Student.objects.count() == 1300
    assert Room.objects.count() == 18
    assert Teacher.objects.count() == 36
    assert Group.objects.count() == 120
    assert not Student.objects.annotate(n=Count("enrollments")).filter(n=0).exists()


@pytest.mark.django_db
def test_at_least_one_student_is_needed():
    with pytest.raises(CommandError):
        call_command("demo_data", "--students", "0")
