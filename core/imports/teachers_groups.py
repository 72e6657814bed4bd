"""Teachers and groups (with their weekly slots): small files, applied row by row through the services
(``record_save``, ``slot_save``), each row in a savepoint, the whole file in a transaction that is
rolled back when checking. So every rule of the services, timetable conflicts between rows of the
same file included, is reported on its row, and nothing is written unless every row is valid.
"""

import datetime
import re
from collections.abc import Callable
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from core.imports.cells import Sheet, header_key
from core.imports.columns import (
    FEE_PERIOD_ALIASES,
    GRADE_ALIASES,
    GROUP_COLUMNS,
    PAY_SCHEME_ALIASES,
    TEACHER_COLUMNS,
    WEEKDAY_ALIASES,
    Column,
    choice_map,
)
from core.imports.headers import sheet_data_rows
from core.imports.parsing import RowValues, cell_decimal, cell_phone, cell_whole
from core.imports.results import ERROR, NEW, UNCHANGED, UPDATE, ImportResult, RowOutcome
from core.models import Branch, FeePeriod, Grade, Group, ImportJob, PayScheme, Room, Teacher, Weekday
from core.normalize import digits_ascii, name_clean, phone_e164, search_key
from core.services.records import record_save
from core.services.schedule import slot_save

_TIME = re.compile(r"^(\d{1,2})[:.](\d{2})$")


class RowwiseImporter:
    """Rows applied one by one through the services, each in a savepoint."""

    kind = ""
    columns: tuple[Column, ...] = ()

    def __init__(self, *, branch: Branch, actor=None, reason: str = ""):
        self.branch = branch
        self.actor = actor if getattr(actor, "pk", None) else None
        self.reason = reason
        self.pay_schemes = choice_map(PayScheme.choices, PAY_SCHEME_ALIASES)

    def row_apply(self, values: RowValues) -> str:
        raise NotImplementedError

    def title(self, key: str) -> str:
        return self.header.titles[key]

    def run(self, sheet: Sheet, *, apply: bool, progress: Callable[[int, int], None] | None = None) -> ImportResult:
        result = ImportResult()
        data_rows = sheet_data_rows(self, sheet, result)
        with transaction.atomic():
            for sheet_name, header, number, cells in data_rows:
                if not any(cells):
                    result.blank_rows += 1
                    continue
                outcome = RowOutcome(number=number, sheet=sheet_name)
                values = RowValues(cells, header, outcome)
                try:
                    with transaction.atomic():
                        action = self.row_apply(values)
                        if outcome.errors:
                            raise ValidationError("row has errors")
                except (ValidationError, PermissionDenied) as exc:
                    if not outcome.errors:
                        for column, message in self._messages(exc):
                            outcome.error(column, message)
                    outcome.action = ERROR
                else:
                    outcome.action = action
                result.rows.append(outcome)
            result.applied = apply and result.ok and bool(result.rows)
            if not result.applied:
                transaction.set_rollback(True)
        return result

    def _messages(self, exc) -> list[tuple[str, str]]:
        if isinstance(exc, PermissionDenied):
            return [("", str(exc))]
        found = []
        for name, messages in getattr(exc, "message_dict", {"": exc.messages}).items():
            column = self.column_for.get(name, "")
            for message in messages:
                found.append((self.title(column) if column else "", message))
        return found

    column_for: dict[str, str] = {}

    def _pay(self, values: RowValues, default_scheme: str, default_rate) -> tuple[str, Decimal | None]:
        raw = values["pay_scheme"]
        scheme = self.pay_schemes.get(header_key(raw), "") if raw else default_scheme
        if not scheme:
            values.outcome.error(
                self.title("pay_scheme"),
                _("Unknown pay scheme “%(value)s”. Use one of: %(choices)s.")
                % {"value": raw, "choices": "، ".join(str(label) for _v, label in PayScheme.choices)},
            )
        rate = cell_decimal(values["pay_rate"], default=str(default_rate))
        if rate is None or rate < 0 or (scheme == PayScheme.PERCENT and rate > 100):
            values.outcome.error(self.title("pay_rate"), _("Enter a percent from 0 to 100 or an amount in EGP."))
        return scheme, rate


def _audited_update(actor, instance, changes: dict) -> str:
    """Apply changes through record_save (validation + audit row); the action of the row."""
    if not changes:
        return UNCHANGED
    for name, value in changes.items():
        setattr(instance, name, value)
    record_save(actor=actor, instance=instance)
    return UPDATE


class TeacherImporter(RowwiseImporter):
    kind = ImportJob.Kind.TEACHERS
    columns = TEACHER_COLUMNS
    column_for = {"full_name": "full_name", "phone": "phone", "subject": "subject", "default_pay_rate": "pay_rate"}

    def row_apply(self, values: RowValues) -> str:
        outcome = values.outcome
        full_name = name_clean(values["full_name"])
        outcome.label = full_name
        if not full_name:
            outcome.error(self.title("full_name"), _("Enter the teacher's full name."))
        phone = cell_phone(values, "phone", required=False)
        subject = name_clean(values["subject"])
        teacher = Teacher.objects.filter(phone=phone).first() if phone else None
        if teacher is None and full_name:
            same_name = list(Teacher.objects.filter(search_key=search_key(full_name))[:2])
            if len(same_name) == 1 and (not phone or not same_name[0].phone):
                teacher = same_name[0]
        scheme, rate = self._pay(
            values,
            teacher.default_pay_scheme if teacher else PayScheme.PERCENT,
            teacher.default_pay_rate if teacher else Decimal("70"),
        )
        if outcome.errors:
            return ERROR
        if teacher is None:
            record_save(
                actor=self.actor,
                instance=Teacher(
                    full_name=full_name, phone=phone, subject=subject, default_pay_scheme=scheme, default_pay_rate=rate
                ),
            )
            return NEW
        changes = {}
        if full_name and search_key(full_name) != teacher.search_key:
            changes["full_name"] = full_name
        for name, value in (("phone", phone), ("subject", subject)):
            if value and value != getattr(teacher, name):
                changes[name] = value
        if values["pay_scheme"] and scheme != teacher.default_pay_scheme:
            changes["default_pay_scheme"] = scheme
        if values["pay_rate"] and rate != teacher.default_pay_rate:
            changes["default_pay_rate"] = rate
        outcome.changes = [str(Teacher._meta.get_field(name).verbose_name) for name in changes]
        return _audited_update(self.actor, teacher, changes)


class GroupImporter(RowwiseImporter):
    kind = ImportJob.Kind.GROUPS
    columns = GROUP_COLUMNS
    column_for = {
        "code": "code",
        "name": "name",
        "fee": "fee",
        "pay_rate": "pay_rate",
        "capacity": "capacity",
        "start_time": "slots",
        "room": "slots",
        "duration_minutes": "slots",
        "weekday": "slots",
        "__all__": "code",
    }

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.grades = choice_map(Grade.choices, GRADE_ALIASES)
        self.fee_periods = choice_map(FeePeriod.choices, FEE_PERIOD_ALIASES)
        self.weekdays = {
            header_key(spelling): day for day, spellings in WEEKDAY_ALIASES.items() for spelling in spellings
        }
        with translation.override("en"):
            self.weekdays.update({header_key(str(day.label)): day.value for day in Weekday})
        with translation.override("ar"):
            self.weekdays.update({header_key(str(day.label)): day.value for day in Weekday})

    def _teacher(self, values: RowValues) -> Teacher | None:
        raw = values["teacher"]
        if not raw:
            values.outcome.error(self.title("teacher"), _("Name the teacher (his name or phone)."))
            return None
        digits = digits_ascii(raw).replace(" ", "").replace("-", "").lstrip("+")
        if digits.isdigit():
            try:
                teacher = Teacher.objects.filter(phone=phone_e164(raw)).first()
            except ValidationError:
                teacher = None
        else:
            found = list(Teacher.objects.filter(search_key=search_key(raw))[:2])
            if len(found) > 1:
                values.outcome.error(
                    self.title("teacher"),
                    _("Two teachers are called “%(name)s”: write his phone instead.") % {"name": raw},
                )
                return None
            teacher = found[0] if found else None
        if teacher is None:
            values.outcome.error(
                self.title("teacher"),
                _("There is no teacher “%(teacher)s”: import the teachers first.") % {"teacher": raw},
            )
        return teacher

    def _room(self, values: RowValues, name: str, column: str) -> Room | None:
        room = Room.objects.filter(branch=self.branch, name__iexact=name_clean(name)).first()
        if room is None:
            values.outcome.error(
                self.title(column),
                _("There is no room “%(room)s” in %(branch)s.") % {"room": name, "branch": self.branch},
            )
        return room

    def _slots(self, values: RowValues, default_room: Room | None) -> list[tuple[int, datetime.time, int, Room]]:
        raw = values["slots"]
        slots = []
        for part in re.split(r"[؛;\n]+", raw):
            tokens = digits_ascii(part).split()
            if not tokens:
                continue
            day = self.weekdays.get(header_key(tokens[0]))
            match = _TIME.match(tokens[1]) if len(tokens) > 1 else None
            if day is None or match is None or int(match[1]) > 23 or int(match[2]) > 59:
                values.outcome.error(
                    self.title("slots"),
                    _(
                        "Cannot read the slot “%(slot)s”: write the day, the start time and the minutes, e.g. “%(example)s”."
                    )
                    % {"slot": part.strip(), "example": "السبت 16:00 120"},
                )
                continue
            rest = tokens[2:]
            duration = 120
            if rest and rest[0].isdigit():
                duration = int(rest[0])
                rest = rest[1:]
            room = self._room(values, " ".join(rest), "slots") if rest else default_room
            if room is None:
                if not rest:
                    values.outcome.error(self.title("slots"), _("Name the room of each slot, or a default room."))
                continue
            slots.append((day, datetime.time(int(match[1]), int(match[2])), duration, room))
        return slots

    def row_apply(self, values: RowValues) -> str:
        outcome = values.outcome
        code = name_clean(values["code"]).replace(" ", "").upper()
        code = digits_ascii(code)
        name = name_clean(values["name"])
        outcome.label = f"{code} · {name}"
        if not code:
            outcome.error(self.title("code"), _("Enter the group code."))
        if not name:
            outcome.error(self.title("name"), _("Enter the group name."))
        group = Group.objects.filter(code__iexact=code).first() if code else None
        if group is not None and group.branch_id != self.branch.pk:
            outcome.error(
                self.title("code"),
                _("The code %(code)s belongs to a group of another branch.") % {"code": code},
            )
            return ERROR
        teacher = self._teacher(values)
        grade = ""
        if values["grade"]:
            grade = self.grades.get(header_key(values["grade"]), "")
            if not grade:
                outcome.error(self.title("grade"), _("Unknown grade “%(value)s”.") % {"value": values["grade"]})
        fee = cell_decimal(values["fee"])
        if fee is None or fee < 0:
            outcome.error(self.title("fee"), _("Enter the fee in EGP."))
        period = self.fee_periods.get(header_key(values["fee_period"]), "") if values["fee_period"] else FeePeriod.MONTH
        if not period:
            outcome.error(self.title("fee_period"), _("Write “month” or “session”."))
        per_month = cell_whole(values["sessions_per_month"], default=group.sessions_per_month if group else 4)
        capacity = cell_whole(values["capacity"], default=group.capacity if group else 30)
        if per_month is None:
            outcome.error(self.title("sessions_per_month"), _("Enter a whole number."))
        if capacity is None:
            outcome.error(self.title("capacity"), _("Enter a whole number."))
        scheme, rate = self._pay(
            values,
            group.pay_scheme if group else (teacher.default_pay_scheme if teacher else PayScheme.PERCENT),
            group.pay_rate if group else (teacher.default_pay_rate if teacher else Decimal("70")),
        )
        room = self._room(values, values["room"], "room") if values["room"] else (group.default_room if group else None)
        slots = self._slots(values, room)
        if outcome.errors:
            return ERROR
        fields = {
            "name": name,
            "teacher": teacher,
            "subject": name_clean(values["subject"]) or (group.subject if group else teacher.subject),
            "grade": grade or (group.grade if group else ""),
            "fee": fee,
            "fee_period": period,
            "sessions_per_month": per_month,
            "pay_scheme": scheme,
            "pay_rate": rate,
            "capacity": capacity,
            "default_room": room,
        }
        if group is None:
            group = record_save(actor=self.actor, instance=Group(code=code, branch=self.branch, **fields))
            action = NEW
        else:
            changes = {key: value for key, value in fields.items() if getattr(group, key) != value}
            outcome.changes = [str(Group._meta.get_field(key).verbose_name) for key in changes]
            action = _audited_update(self.actor, group, changes)
        existing = {
            (slot.weekday, slot.start_time, slot.duration_minutes, slot.room_id)
            for slot in group.slots.filter(is_active=True)
        }
        for weekday, start, duration, slot_room in slots:
            if (weekday, start, duration, slot_room.pk) in existing:
                continue
            slot_save(
                actor=self.actor,
                group=group,
                weekday=weekday,
                start_time=start,
                duration_minutes=duration,
                room=slot_room,
            )
            if action != NEW and str(_("weekly slots")) not in outcome.changes:
                outcome.changes.append(str(_("weekly slots")))
                action = UPDATE
        return action
