"""manage.py demo_data on an empty database: the default size, a bigger one, the same seed twice,
a center with real data left alone (the small demo's contents are in test_demo_data.py)."""

from collections import Counter as Tally

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import Count

from core.models import Branch, Group, Room, ScheduleSlot, Student, StudentGuardian, Teacher

SMALL = ["--students", "200"]


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
    # make run again (a restart): the second load leaves the center as it is.
    counts = (Student.objects.count(), StudentGuardian.objects.count(), Group.objects.count())
    call_command("demo_data")
    assert "already has students" in capsys.readouterr().out
    assert (Student.objects.count(), StudentGuardian.objects.count(), Group.objects.count()) == counts


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
