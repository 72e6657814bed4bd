"""manage.py demo_data: a realistic, deterministic, conflict-free demo center, loaded once
(the runs on an empty database, other sizes and seeds are in test_demo_data_runs.py)."""

import datetime
import io
from collections import Counter as Tally

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from core.access.roles import Role
from core.models import (
    Attendance,
    Branch,
    CenterSettings,
    Counter,
    Enrollment,
    EntryType,
    FeePlan,
    Group,
    Guardian,
    Kiosk,
    LedgerEntry,
    Message,
    PayScheme,
    Receipt,
    ScanEvent,
    ScanOutcomeCode,
    ScheduleSlot,
    Session,
    Student,
    StudentGuardian,
    Teacher,
    User,
)
from core.normalize import phone_e164, search_key
from core.selectors.money import enrollments_with_balance
from core.services.scanning import money_verdict, scan_process
from core.services.schedule import slot_conflicts
from core.services.students import GuardianInput, student_register

SMALL = ["--students", "200"]


@pytest.fixture(scope="module")
def demo_center(django_db_setup, django_db_blocker):
    """The small demo center, built once for this module (it takes about a second) inside a
    transaction that each test enters as a savepoint and that is rolled back after the last
    one: every test still starts from the same freshly built center."""
    output = io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        # Three groups' history instead of ten: enough to show every case, and a faster suite.
        patch.setattr("core.management.commands.demo_data.HISTORY_GROUPS", 3)
        with django_db_blocker.unblock():
            outer = transaction.atomic()
            outer.__enter__()
            call_command("demo_data", *SMALL, stdout=output)
        try:
            yield output.getvalue()
        finally:
            with django_db_blocker.unblock():
                transaction.set_rollback(True)
                outer.__exit__(None, None, None)


@pytest.fixture
def demo(demo_center, db) -> str:
    return demo_center


def _counts() -> tuple:
    models = (Student, Guardian, Enrollment, User, Receipt, LedgerEntry, Attendance, ScanEvent, Session, Kiosk)
    return tuple(model.objects.count() for model in models)


def test_running_it_again_adds_nothing(demo, capsys):
    counts = _counts()
    call_command("demo_data", *SMALL)
    assert "already has students" in capsys.readouterr().out
    assert counts == _counts()


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


# --- the recent past: payments this month, two weeks at the door ---------------------------------


def test_most_students_paid_this_month_with_numbered_receipts(demo):
    today = timezone.localdate()
    month = Receipt.objects.filter(date__gte=today.replace(day=1), date__lte=today)
    payers = month.values("student").distinct().count()
    assert payers >= 0.75 * Student.objects.count()
    for branch_id, year in Receipt.objects.values_list("branch_id", "year").distinct():
        sequences = sorted(Receipt.objects.filter(branch_id=branch_id, year=year).values_list("sequence", flat=True))
        assert sequences == list(range(1, len(sequences) + 1))  # gap-free per branch and year
        assert Counter.objects.get(key=f"receipt:{branch_id}:{year}").value == len(sequences)
    for receipt in Receipt.objects.prefetch_related("entries__enrollment")[:300]:
        assert receipt.number == f"{receipt.year}-{receipt.sequence:06d}"
        lines = list(receipt.entries.all())
        assert lines and all(line.entry_type == EntryType.PAYMENT for line in lines)
        assert sum(line.amount for line in lines) == receipt.total > 0
        assert all(line.enrollment.student_id == receipt.student_id for line in lines)
    assert len(set(Receipt.objects.values_list("method", flat=True))) >= 2


def test_some_students_owe_and_most_first_scans_would_be_green(demo):
    center = CenterSettings.load()
    today = timezone.localdate()
    verdicts = [
        money_verdict(enrollment, today=today, center=center).admitted
        for enrollment in Enrollment.objects.filter(is_active=True).select_related("group", "student")
    ]
    assert sum(verdicts) >= 0.85 * len(verdicts)
    assert not all(verdicts)  # the yellow case is there to try
    never_paid = Student.objects.exclude(receipts__isnull=False).exclude(enrollments__fee_plan=FeePlan.EXEMPT)
    assert never_paid.exists()


def test_two_weeks_of_classes_have_attendance_charges_and_scans(demo):
    today = timezone.localdate()
    past = Session.objects.filter(date__lt=today)
    assert past.exists()
    assert past.filter(date__lte=today - datetime.timedelta(days=7)).exists()
    assert not past.filter(status=Session.Status.SCHEDULED).exists()  # held (or one cancelled)
    assert past.filter(status=Session.Status.HELD, teacher_checked_in_at__isnull=False).exists()
    statuses = Tally(Attendance.objects.filter(session__date__lt=today).values_list("status", flat=True))
    assert {Attendance.Status.PRESENT, Attendance.Status.LATE, Attendance.Status.ABSENT} <= set(statuses)
    assert statuses[Attendance.Status.PRESENT] > statuses[Attendance.Status.ABSENT]
    outcomes = set(ScanEvent.objects.values_list("outcome", flat=True))
    assert {ScanOutcomeCode.PRESENT, ScanOutcomeCode.LATE, ScanOutcomeCode.TEACHER_IN} <= outcomes
    assert ScanEvent.objects.filter(kiosk__isnull=False).count() == ScanEvent.objects.count()
    # One day the kiosks were offline and replayed their scans later.
    assert Attendance.objects.filter(source=Attendance.Source.OFFLINE).exists()
    charges = LedgerEntry.objects.filter(entry_type=EntryType.CHARGE, session__date__lt=today)
    assert charges.exists()
    # Every charge comes from an admitted attendance of that session (the door posted it).
    admitted = set(
        Attendance.objects.filter(status__in=[Attendance.Status.PRESENT, Attendance.Status.LATE]).values_list(
            "session_id", "enrollment_id"
        )
    )
    assert set(charges.values_list("session_id", "enrollment_id")) <= admitted


def test_no_message_about_the_past_is_left_to_send(demo):
    assert Message.objects.exists()
    assert not Message.objects.exclude(status=Message.Status.CANCELLED).exists()


def test_a_paid_student_scanned_at_a_running_class_is_admitted(demo):
    today = timezone.localdate()
    paid = [
        enrollment
        for enrollment in enrollments_with_balance(
            Enrollment.objects.filter(
                is_active=True,
                fee_plan=FeePlan.NORMAL,
                student__receipts__date__gte=today.replace(day=1),
                student__enrollments__isnull=False,
            )
            .annotate(groups=Count("student__enrollments", distinct=True))
            .filter(groups=1)
            .select_related("group", "student")
        )
        if enrollment.balance >= enrollment.group.fee
    ]
    assert paid
    enrollment = paid[0]
    now = timezone.now()
    session = Session.objects.create(
        group=enrollment.group,
        date=today,
        starts_at=now + datetime.timedelta(minutes=5),
        ends_at=now + datetime.timedelta(minutes=95),
        room=enrollment.group.default_room,
        is_extra=True,
    )
    kiosk = Kiosk.objects.filter(branch_id=enrollment.group.branch_id).first()
    outcome = scan_process(enrollment.student.code, kiosk=kiosk, at=now)
    assert outcome.code == ScanOutcomeCode.PRESENT, outcome.message
    assert outcome.session == session


def test_each_branch_has_a_kiosk_whose_token_is_printed(demo):
    from core.services.kiosks import kiosk_from_token

    lines = demo.split("Kiosk tokens", 1)[1].split("Staff logins", 1)[0].strip().splitlines()[1:]
    tokens = [line.split()[-1] for line in lines]
    kiosks = {kiosk_from_token(token) for token in tokens}
    assert None not in kiosks
    assert {kiosk.branch_id for kiosk in kiosks} == set(Branch.objects.values_list("pk", flat=True))
