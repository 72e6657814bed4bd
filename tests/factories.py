"""Small builders for test data, shared by every test module; writes that have rules go through
the services. The door's scenario (a Thursday class at 16:00 Cairo time, a payment, an
enrollment, a scan) lives here too, so no test module imports another one's helpers."""

import datetime
import itertools
from decimal import Decimal
from zoneinfo import ZoneInfo

from core.models import (
    Branch,
    CenterSettings,
    EntryType,
    FeePeriod,
    Group,
    LedgerEntry,
    PayScheme,
    Room,
    Session,
    Teacher,
)
from core.normalize import search_key
from core.services.enrollments import enrollment_create
from core.services.scanning import scan_process
from core.services.students import GuardianInput, student_register

CAIRO = ZoneInfo("Africa/Cairo")
DAY = datetime.date(2026, 11, 26)  # a Thursday
START = datetime.datetime(2026, 11, 26, 16, 0, tzinfo=CAIRO)

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


def cairo(hour: int, minute: int = 0, second: int = 0, day: datetime.date = DAY) -> datetime.datetime:
    return datetime.datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=CAIRO)


def make_session(group: Group, room: Room | None, starts_at: datetime.datetime = START, minutes: int = 120, **extra):
    return Session.objects.create(
        group=group,
        date=starts_at.astimezone(CAIRO).date(),
        starts_at=starts_at,
        ends_at=starts_at + datetime.timedelta(minutes=minutes),
        room=room,
        **extra,
    )


def pay(enrollment, amount: str, day: datetime.date = DAY) -> LedgerEntry:
    """A payment row straight in the ledger: the door's tests need a balance, not a receipt."""
    return LedgerEntry.objects.create(
        enrollment=enrollment, entry_type=EntryType.PAYMENT, amount=Decimal(amount), date=day, source="desk"
    )


def center_set(**values) -> None:
    CenterSettings.load()
    CenterSettings.objects.filter(pk=1).update(**values)


def enroll(student, group: Group, **extra):
    return enrollment_create(actor=None, student=student, group=group, start_date=datetime.date(2026, 9, 1), **extra)


def scan(student_or_code, at: datetime.datetime, **kwargs):
    code = getattr(student_or_code, "code", student_or_code)
    return scan_process(code, at=at, **kwargs)
