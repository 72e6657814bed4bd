"""``manage.py demo_data``: a realistic demo center (SPEC.md §5: one command starts it with demo data).

Deterministic (one seeded random generator), idempotent (a center that already has students
or teachers is left alone), fast (bulk inserts). ``--students N`` builds a bigger center for
benchmarks: rooms, teachers and groups grow with the number of students.

Then the recent past (``_demo_history.py``): most students paid this month, some owe, and the
last two weeks of a few groups were played at the door through the real services, so the
kiosk mostly shows green and the scan log, attendance sheets and collections are not empty.

The Arabic names, subjects and reasons below are demo DATA, not interface text.
"""

import datetime
import math
import random
import time
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group as AuthGroup
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from core.access.roles import Role
from core.models import (
    Branch,
    CenterSettings,
    Counter,
    Enrollment,
    FeePeriod,
    FeePlan,
    Group,
    Guardian,
    PayScheme,
    Room,
    ScheduleSlot,
    Student,
    StudentGuardian,
    Teacher,
    User,
)
from core.normalize import phone_e164, search_key
from core.services.sessions import sessions_generate
from core.services.students import STUDENT_CODE_COUNTER, STUDENT_CODE_START

from ._demo_history import HISTORY_DAYS, HISTORY_GROUPS, HISTORY_GROUPS_BIG, DemoHistory
from ._demo_names import (
    CENTER_NAME_AR,
    CENTER_NAME_EN,
    COPTIC_FAMILIES,
    COPTIC_FATHERS,
    COPTIC_FEMALE,
    COPTIC_MALE,
    COPTIC_MOTHERS,
    EXEMPT_REASONS,
    FAMILY_NAMES,
    FATHER_NAMES,
    FEMALE_NAMES,
    GRADE_LABELS,
    GROUP_LETTERS,
    MALE_NAMES,
    MOTHER_NAMES,
    PREP,
    REDUCED_REASONS,
    SCHOOLS,
    SECOND_BRANCH,
    SECOND_SLOT_GAP,
    SECONDARY,
    STAFF,
    TEACHER_SUBJECTS,
    WEEKDAY_BLOCKS,
    WEEKEND_BLOCKS,
)

SEED = 2026
DEFAULT_STUDENTS = 600
STUDENTS_PER_SCALE_STEP = 600  # every 600 students add 6 rooms, 12 teachers and 40 groups
STAFF_PASSWORD = "demo-pass-2026"  # noqa: S105  (printed demo login, development only)
BATCH = 2000
ROOM_TURNOVER_MINUTES = 15


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def _time(minutes: int) -> datetime.time:
    return datetime.time(minutes // 60, minutes % 60)


@dataclass
class GroupPlan:
    group: Group
    slots_per_week: int
    duration: int
    seats_left: int


@dataclass
class Timetable:
    """Booked intervals per (room, day) and (teacher, day), in minutes from midnight."""

    rooms: dict = field(default_factory=dict)
    teachers: dict = field(default_factory=dict)

    def free(self, *, room_id: int, teacher_key: int, day: int, start: int, end: int) -> bool:
        buffer = ROOM_TURNOVER_MINUTES
        for other_start, other_end in self.rooms.get((room_id, day), ()):
            if start < other_end + buffer and other_start < end + buffer:
                return False
        for other_start, other_end in self.teachers.get((teacher_key, day), ()):
            if start < other_end and other_start < end:
                return False
        return True

    def book(self, *, room_id: int, teacher_key: int, day: int, start: int, end: int) -> None:
        self.rooms.setdefault((room_id, day), []).append((start, end))
        self.teachers.setdefault((teacher_key, day), []).append((start, end))


class DemoCenter:
    """Builds the demo center in memory and writes it with bulk inserts."""

    def __init__(self, *, students: int, today: datetime.date, rng: random.Random):
        self.student_count = students
        self.scale = max(1, math.ceil(students / STUDENTS_PER_SCALE_STEP))
        self.today = today
        self.rng = rng
        self.used_phones: set[str] = set()
        self.branch_list: list[Branch] = []

    # --- helpers -------------------------------------------------------------------------------
    def phone(self) -> str:
        """A new, valid Egyptian mobile number in E.164 (+2010/11/12/15 and 8 digits)."""
        while True:
            local = "0" + self.rng.choice(["10", "11", "12", "15"]) + f"{self.rng.randrange(10**8):08d}"
            e164 = phone_e164(local)
            if e164 not in self.used_phones:
                self.used_phones.add(e164)
                return e164

    def pick(self, values):
        return self.rng.choice(values)

    # --- the center ----------------------------------------------------------------------------
    def build(self) -> dict:
        branches = self.branch_list = self.branches()
        rooms = self.rooms(branches)
        teachers = self.teachers()
        plans = self.groups(branches, rooms, teachers)
        slot_count = self.slots(plans, rooms)
        counts = self.students(plans)
        staff = self.staff(branches, teachers)
        self.center_settings()
        return {
            "branches": len(branches),
            "rooms": sum(len(branch_rooms) for branch_rooms in rooms.values()),
            "teachers": len(teachers),
            "groups": len(plans),
            "slots": slot_count,
            **counts,
            "staff": staff,
        }

    def branches(self) -> list[Branch]:
        main = Branch.objects.order_by("pk").first()
        if main is None:
            main = Branch.objects.create(name_ar="الفرع الرئيسي", name_en="Main branch")
        if not main.address:
            main.address = "١٤ شارع التحرير، الدقي، الجيزة"
            main.phone = main.phone or "+20233371234"
            main.save(update_fields=["address", "phone"])
        second, _created = Branch.objects.get_or_create(
            name_ar=SECOND_BRANCH["name_ar"],
            defaults={**SECOND_BRANCH, "address": "٧ شارع عباس العقاد، مدينة نصر، القاهرة"},
        )
        return [main, second]

    def rooms(self, branches: list[Branch]) -> dict[int, list[Room]]:
        per_branch = [4 * self.scale, 2 * self.scale]
        new_rooms = []
        for branch, count in zip(branches, per_branch, strict=True):
            for number in range(1, count + 1):
                # The first hall of a branch is the big one; every group fits there.
                capacity = 60 if number == 1 else self.pick([40, 45, 50, 60])
                new_rooms.append(Room(branch=branch, name=f"قاعة {number}", capacity=capacity))
        Room.objects.bulk_create(new_rooms, batch_size=BATCH)
        by_branch: dict[int, list[Room]] = {branch.pk: [] for branch in branches}
        for room in Room.objects.filter(branch__in=branches).order_by("pk"):
            by_branch[room.branch_id].append(room)
        return by_branch

    def teachers(self) -> list[Teacher]:
        new_teachers = []
        for index in range(12 * self.scale):
            subject = TEACHER_SUBJECTS[index % len(TEACHER_SUBJECTS)]
            female = self.rng.random() < 0.35
            first = self.pick(MOTHER_NAMES if female else FATHER_NAMES)
            full_name = f"{first} {self.pick(FATHER_NAMES)} {self.pick(FAMILY_NAMES)}"
            scheme = [PayScheme.PERCENT] * 4 + [PayScheme.PER_SESSION, PayScheme.PER_STUDENT]
            pay_scheme = scheme[index % len(scheme)]
            new_teachers.append(
                Teacher(
                    full_name=full_name,
                    search_key=search_key(full_name),
                    phone=self.phone(),
                    subject=subject.name,
                    default_pay_scheme=pay_scheme,
                    default_pay_rate=self.pay_rate(pay_scheme),
                )
            )
        return Teacher.objects.bulk_create(new_teachers, batch_size=BATCH)

    def pay_rate(self, scheme: str) -> Decimal:
        if scheme == PayScheme.PERCENT:
            return Decimal(self.pick([60, 65, 70, 70, 75]))
        if scheme == PayScheme.PER_SESSION:
            return Decimal(self.pick([150, 200, 250, 300, 400]))
        return Decimal(self.pick([15, 20, 25, 30, 40]))

    def groups(self, branches: list[Branch], rooms: dict, teachers: list[Teacher]) -> list[GroupPlan]:
        """40 groups per scale step: the first four teachers of each dozen teach four, the rest three."""
        plans, codes_used = [], {}
        for index, teacher in enumerate(teachers):
            subject = TEACHER_SUBJECTS[index % len(TEACHER_SUBJECTS)]
            group_count = 4 if index % 12 < 4 else 3
            grades = list(subject.grades)
            self.rng.shuffle(grades)
            for number in range(group_count):
                grade = grades[number % len(grades)]
                branch = branches[0] if self.rng.random() < 0.67 else branches[1]
                seq = codes_used.get((subject.code, grade), 0) + 1
                codes_used[(subject.code, grade)] = seq
                month_fee = self.rng.random() < 0.7
                fee_period = FeePeriod.MONTH if month_fee else FeePeriod.SESSION
                if month_fee:
                    low = 150 if grade in PREP else 200
                    fee = Decimal(self.rng.randrange(low, 401, 25))
                else:
                    fee = Decimal(self.rng.randrange(40, 101, 5))
                # Mostly the teacher's own scheme; some groups are agreed differently.
                pay_scheme = teacher.default_pay_scheme
                if self.rng.random() < 0.2:
                    pay_scheme = self.pick(list(PayScheme.values))
                pay_rate = teacher.default_pay_rate if pay_scheme == teacher.default_pay_scheme else None
                slots_per_week = 2 if self.rng.random() < 0.4 else 1
                capacity = self.pick([30, 35, 40, 40, 45])
                letter = GROUP_LETTERS[(seq - 1) % len(GROUP_LETTERS)]
                group = Group(
                    code=f"{subject.code}-{grade.upper()}-{seq}",
                    name=f"{subject.name} {GRADE_LABELS[grade]} - مجموعة {letter}",
                    teacher=teacher,
                    subject=subject.name,
                    grade=grade,
                    branch=branch,
                    fee=fee,
                    fee_period=fee_period,
                    sessions_per_month=4 * slots_per_week,
                    pay_scheme=pay_scheme,
                    pay_rate=pay_rate if pay_rate is not None else self.pay_rate(pay_scheme),
                    capacity=capacity,
                )
                plans.append(
                    GroupPlan(
                        group=group,
                        slots_per_week=slots_per_week,
                        duration=self.pick([90, 120, 120]),
                        seats_left=capacity,
                    )
                )
        Group.objects.bulk_create([plan.group for plan in plans], batch_size=BATCH)
        return plans

    def slots(self, plans: list[GroupPlan], rooms: dict) -> int:
        """A conflict-free week: no room used twice (15 minutes between classes), no teacher twice."""
        timetable = Timetable()
        new_slots, default_rooms = [], []
        for plan in plans:
            group = plan.group
            branch_rooms = [room for room in rooms[group.branch_id] if room.capacity >= group.capacity]
            first_days = list(range(7))
            self.rng.shuffle(first_days)
            booked_days: list[int] = []
            for _number in range(plan.slots_per_week):
                placed = self.place(plan, branch_rooms, first_days, booked_days, timetable)
                if placed is None:
                    raise CommandError(f"No free room for group {group.code}: the demo timetable is full.")
                day, start, room = placed
                booked_days.append(day)
                new_slots.append(
                    ScheduleSlot(
                        group=group, weekday=day, start_time=_time(start), duration_minutes=plan.duration, room=room
                    )
                )
                if group.default_room_id is None:
                    group.default_room = room
                    default_rooms.append(group)
        ScheduleSlot.objects.bulk_create(new_slots, batch_size=BATCH)
        Group.objects.bulk_update(default_rooms, ["default_room"], batch_size=BATCH)
        return len(new_slots)

    def place(self, plan: GroupPlan, rooms: list[Room], days: list[int], booked_days: list[int], timetable):
        if booked_days:
            # The second class of the week comes a few days after the first.
            days = [(booked_days[0] + SECOND_SLOT_GAP + shift) % 7 for shift in (0, 1, -1, 2)]
        room_order = rooms[:]
        self.rng.shuffle(room_order)
        for day in days:
            blocks = [_minutes(block) for block in WEEKEND_BLOCKS.get(day, WEEKDAY_BLOCKS)]
            self.rng.shuffle(blocks)
            for start in blocks:
                for room in room_order:
                    slot = {
                        "room_id": room.pk,
                        "teacher_key": plan.group.teacher_id,
                        "day": day,
                        "start": start,
                        "end": start + plan.duration,
                    }
                    if timetable.free(**slot):
                        timetable.book(**slot)
                        return day, start, room
        return None

    def students(self, plans: list[GroupPlan]) -> dict:
        """Families of one to three children; one or two guardians each; 1–3 enrollments per child."""
        counter, _created = Counter.objects.select_for_update().get_or_create(
            key=STUDENT_CODE_COUNTER, defaults={"value": STUDENT_CODE_START}
        )
        next_code = counter.value + 1
        by_branch_grade: dict[tuple[int, str], list[GroupPlan]] = {}
        for plan in plans:
            by_branch_grade.setdefault((plan.group.branch_id, plan.group.grade), []).append(plan)
        open_plans = list(plans)

        students, guardians, links, enrollments = [], [], [], []
        created = 0
        while created < self.student_count:
            family_size = min(self.rng.choices([1, 2, 3], weights=[80, 16, 4])[0], self.student_count - created)
            coptic = self.rng.random() < 0.08
            family = self.pick(COPTIC_FAMILIES if coptic else FAMILY_NAMES)
            father_first = self.pick(COPTIC_FATHERS if coptic else FATHER_NAMES)
            family_guardians = self.family_guardians(coptic=coptic, father_first=father_first, family=family)
            guardians.extend(guardian for guardian, _primary in family_guardians)
            for _child in range(family_size):
                first_plan = self.open_group(open_plans)
                chosen = self.more_groups(first_plan, by_branch_grade) if first_plan else []
                female = self.rng.random() < 0.5
                if coptic:
                    first = self.pick(COPTIC_FEMALE if female else COPTIC_MALE)
                else:
                    first = self.pick(FEMALE_NAMES if female else MALE_NAMES)
                full_name = f"{first} {father_first} {family}"
                grade = first_plan.group.grade if first_plan else self.pick(PREP + SECONDARY)
                has_phone = self.rng.random() < (0.5 if grade in SECONDARY else 0.15)
                student = Student(
                    code=str(next_code),
                    full_name=full_name,
                    search_key=search_key(full_name),
                    phone=self.phone() if has_phone else "",
                    branch_id=first_plan.group.branch_id if first_plan else plans[0].group.branch_id,
                    grade=grade,
                    school=self.pick(SCHOOLS),
                )
                next_code += 1
                students.append(student)
                links.extend((student, guardian, primary) for guardian, primary in family_guardians)
                for plan in chosen:
                    plan.seats_left -= 1
                    enrollments.append((student, plan.group, len(enrollments)))
                created += 1

        Student.objects.bulk_create(students, batch_size=BATCH)
        Guardian.objects.bulk_create(guardians, batch_size=BATCH)
        StudentGuardian.objects.bulk_create(
            [
                StudentGuardian(student=student, guardian=guardian, is_primary=primary)
                for student, guardian, primary in links
            ],
            batch_size=BATCH,
        )
        Enrollment.objects.bulk_create(
            [self.enrollment(student, group, index) for student, group, index in enrollments], batch_size=BATCH
        )
        counter.value = next_code - 1
        counter.save(update_fields=["value"])
        return {
            "students": len(students),
            "guardians": len(guardians),
            "enrollments": len(enrollments),
            "first_code": students[0].code if students else "",
            "last_code": students[-1].code if students else "",
        }

    def family_guardians(self, *, coptic: bool, father_first: str, family: str) -> list[tuple[Guardian, bool]]:
        """The family's guardians and which one is primary: the father, the mother or both."""
        language = "en" if self.rng.random() < 0.03 else "ar"

        def father(relation=Guardian.Relation.FATHER) -> Guardian:
            name = f"{father_first} {self.pick(COPTIC_FATHERS if coptic else FATHER_NAMES)} {family}"
            return Guardian(full_name=name, relation=relation, phone=self.phone(), language=language)

        def mother() -> Guardian:
            name = f"{self.pick(COPTIC_MOTHERS if coptic else MOTHER_NAMES)} {self.pick(COPTIC_FAMILIES if coptic else FAMILY_NAMES)}"
            return Guardian(full_name=name, relation=Guardian.Relation.MOTHER, phone=self.phone(), language=language)

        roll = self.rng.random()
        if roll < 0.08:
            return [(mother(), True)]
        if roll < 0.11:
            return [(father(self.pick([Guardian.Relation.GRANDPARENT, Guardian.Relation.UNCLE])), True)]
        if roll < 0.40:
            mother_primary = self.rng.random() < 0.3
            return [(father(), not mother_primary), (mother(), mother_primary)]
        return [(father(), True)]

    def open_group(self, open_plans: list[GroupPlan]) -> GroupPlan | None:
        """A random group with a free seat; full groups leave the list as they are met."""
        while open_plans:
            index = self.rng.randrange(len(open_plans))
            plan = open_plans[index]
            if plan.seats_left > 0:
                return plan
            open_plans[index] = open_plans[-1]
            open_plans.pop()
        return None

    def more_groups(self, first: GroupPlan, by_branch_grade: dict) -> list[GroupPlan]:
        """The first group and up to two more of other subjects, same grade and branch, with seats."""
        wanted = self.rng.choices([1, 2, 3], weights=[35, 45, 20])[0]
        chosen, subjects = [first], {first.group.subject}
        candidates = by_branch_grade[(first.group.branch_id, first.group.grade)]
        for _attempt in range(12):
            if len(chosen) >= wanted:
                break
            plan = self.rng.choice(candidates)
            if plan.seats_left > 0 and plan.group.subject not in subjects:
                chosen.append(plan)
                subjects.add(plan.group.subject)
        return chosen

    def enrollment(self, student: Student, group: Group, index: int) -> Enrollment:
        start_date = self.today - datetime.timedelta(days=self.rng.randrange(0, 75))
        enrollment = Enrollment(student=student, group=group, start_date=start_date)
        # A fixed rhythm keeps every plan present even in a small demo.
        if index % 13 == 4:
            enrollment.fee_plan = FeePlan.REDUCED
            share = self.pick([Decimal("0.5"), Decimal("0.6"), Decimal("0.75"), Decimal("0.8")])
            enrollment.custom_fee = (group.fee * share / 5).quantize(Decimal("1")) * 5
            enrollment.fee_reason = self.pick(REDUCED_REASONS)
        elif index % 29 == 9:
            enrollment.fee_plan = FeePlan.EXEMPT
            enrollment.fee_reason = self.pick(EXEMPT_REASONS)
        return enrollment

    def staff(self, branches: list[Branch], teachers: list[Teacher]) -> list[tuple[str, str]]:
        password = make_password(STAFF_PASSWORD)
        roles = {group.name: group for group in AuthGroup.objects.filter(name__in=[role.value for role in Role])}
        existing = set(
            User.objects.filter(username__in=[entry[0] for entry in STAFF]).values_list("username", flat=True)
        )
        logins, teacher_index = [], 0
        for username, role, first_name, last_name, branch_indexes in STAFF:
            if username in existing:
                continue
            teacher = None
            if role == Role.TEACHER:
                teacher = teachers[teacher_index]
                teacher_index += 1
                first_name, _space, last_name = teacher.full_name.partition(" ")
                branch_indexes = tuple(
                    sorted(
                        {
                            index
                            for index, branch in enumerate(branches)
                            if branch.groups.filter(teacher=teacher).exists()
                        }
                    )
                ) or (0,)
            user = User.objects.create(
                username=username,
                password=password,
                first_name=first_name,
                last_name=last_name,
                is_staff=True,
                language="ar",
            )
            user.groups.add(roles[role.value])
            user.branches.set([branches[index] for index in branch_indexes])
            if teacher is not None:
                teacher.user = user
                teacher.save(update_fields=["user"])
            logins.append((username, role.value))
        return logins

    def center_settings(self) -> None:
        center = CenterSettings.load()
        center.center_name_ar = CENTER_NAME_AR
        center.center_name_en = CENTER_NAME_EN
        if not center.receipt_footer:
            center.receipt_footer = "شكراً لثقتكم. المبالغ المدفوعة لا ترد بعد بدء الشهر."
        center.save()


class Command(BaseCommand):
    help = (
        "Load a demo center: two branches, rooms, teachers, groups with a conflict-free week, "
        "students with guardians and enrollments, staff logins, a kiosk per branch, this month's "
        "payments and two weeks of classes at the door. Does nothing when the center already has "
        "students or teachers."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--students",
            type=int,
            default=DEFAULT_STUDENTS,
            help=f"how many students (default {DEFAULT_STUDENTS}); rooms, teachers and groups grow with it",
        )

    def handle(self, *args, **options):
        students = options["students"]
        if students < 1:
            raise CommandError("--students must be at least 1.")
        if Student.objects.exists() or Teacher.objects.exists():
            self.stdout.write("Demo data not loaded: the center already has students or teachers.")
            return
        started = time.monotonic()
        now = timezone.now()
        center = DemoCenter(students=students, today=timezone.localdate(now), rng=random.Random(SEED))  # noqa: S311
        with transaction.atomic():
            summary = center.build()
        sessions = sessions_generate()
        # Fresh planner statistics after the bulk load: the door's read picks its indexes by them.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        # One transaction: the services' own transactions become savepoints (no commit per scan).
        with transaction.atomic():
            history = DemoHistory(
                rng=random.Random(SEED + 1),  # noqa: S311
                now=now,
                branches=center.branch_list,
                groups=HISTORY_GROUPS if center.scale <= 2 else HISTORY_GROUPS_BIG,
            ).run()
        seconds = time.monotonic() - started
        self.stdout.write(
            "Demo center loaded in {seconds:.1f} s: {branches} branches, {rooms} rooms, {teachers} teachers, "
            "{groups} groups, {slots} weekly classes, {sessions} sessions, {students} students "
            "(codes {first_code}–{last_code}), {guardians} guardians, {enrollments} enrollments.".format(
                seconds=seconds, sessions=sessions, **summary
            )
        )
        self.stdout.write(
            "This month: {receipts} receipts. The last {days} days of {history_groups} groups: "
            "{past_sessions} sessions, {scans} scans at the door ({messages_cancelled} parent messages "
            "about the past cancelled, not sent).".format(days=HISTORY_DAYS, **history)
        )
        tokens = "\n".join(f"  {branch:<18} {token}" for branch, token in history["kiosk_tokens"])
        self.stdout.write(f"Kiosk tokens for /kiosk/ (shown only now; one kiosk per branch):\n{tokens}")
        if summary["staff"]:
            lines = [f"  {username:<12} {role}" for username, role in summary["staff"]]
            self.stdout.write(
                self.style.SUCCESS(
                    "Staff logins (password: {password}):\n{lines}".format(
                        password=STAFF_PASSWORD, lines="\n".join(lines)
                    )
                )
            )
