"""Small builders for test data; writes that have rules go through the services."""

import datetime
import itertools
from decimal import Decimal

from core.models import Branch, FeePeriod, Group, PayScheme, Room, Teacher
from core.normalize import search_key
from core.services.students import GuardianInput, student_register

_sequence = itertools.count(1)


def make_branch(name: str = "") -> Branch:
    number = next(_sequence)
    return Branch.objects.create(name_ar=name or f"فرع {number}", name_en=f"Branch {number}")


def make_room(branch: Branch, name: str = "", capacity: int = 30) -> Room:
    return Room.objects.create(branch=branch, name=name or f"Room {next(_sequence)}", capacity=capacity)


def make_teacher(name: str = "", user=None) -> Teacher:
    full_name = name or f"أستاذ {next(_sequence)}"
    return Teacher.objects.create(full_name=full_name, search_key=search_key(full_name), subject="رياضيات", user=user)


def make_group(
    branch: Branch,
    *,
    teacher: Teacher | None = None,
    code: str = "",
    fee: str = "200.00",
    fee_period: str = FeePeriod.MONTH,
    capacity: int = 30,
    room: Room | None = None,
    pay_scheme: str = PayScheme.PERCENT,
    pay_rate: str = "70",
) -> Group:
    number = next(_sequence)
    return Group.objects.create(
        code=code or f"G{number}",
        name=f"مجموعة {number}",
        teacher=teacher or make_teacher(),
        branch=branch,
        default_room=room,
        fee=Decimal(fee),
        fee_period=fee_period,
        capacity=capacity,
        pay_scheme=pay_scheme,
        pay_rate=Decimal(pay_rate),
    )


def make_student(branch: Branch, *, name: str = "", guardian_phone: str = "", actor=None, **extra):
    number = next(_sequence)
    phone = guardian_phone or f"0100{number:07d}"
    return student_register(
        actor=actor,
        full_name=name or f"طالب {number}",
        branch=branch,
        guardians=[GuardianInput(phone=phone, full_name=f"ولي أمر {number}")],
        **extra,
    )


def next_weekday(start: datetime.date, python_weekday: int) -> datetime.date:
    return start + datetime.timedelta(days=(python_weekday - start.weekday()) % 7)
