"""The door's one read: everything a student's scan decides on, in one statement (SPEC.md R2–R5).

A busy door answers a scan every second or two per kiosk, and the answer must come back in a
blink (bench/scans.py). Built with the ORM, this read is five queries or one query with eight
subqueries that Django compiles again on every scan (2–3 ms of Python before the database sees
it). So it is written once in SQL, every table and column name taken from the models (``_Names``)
and the settings row's key from ``CenterSettings.SINGLETON_PK``, and runs the same on SQLite and
PostgreSQL; its values go through the converters the ORM itself applies (dates, datetimes,
decimals and booleans come back as text and numbers on SQLite) and rows become ordinary model
instances. tests/services/test_door_read_equal.py proves it equal to the ORM's read
(``read_orm.door_read_orm``) and to the cashier's ``door_money`` over random ledgers;
bench/scans.py measures both (bench/README.md).

One row per (active enrollment, with today's session at this door if it has one) × guardian; a
student with none of these still gets one row, so "unknown card" (no row) and "no class now" (no
row with a session) stay apart.
"""

import dataclasses
import datetime
import functools
import re

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Field, Model

from core.models import (
    Attendance,
    CenterSettings,
    DiscountKind,
    DiscountRule,
    Enrollment,
    EntryType,
    Group,
    Guardian,
    LedgerEntry,
    MessageTemplate,
    Room,
    ScanEvent,
    ScanOutcomeCode,
    Session,
    Student,
    StudentGuardian,
)
from core.models.money import CREDIT_TYPES, DEBIT_TYPES
from core.selectors.money import ZERO, DoorMoney, money_round

from .rules import ADMITTED_STATUSES, Place


@dataclasses.dataclass
class DoorCandidate:
    """One of today's sessions of the student's active enrollments, at this door."""

    session: Session  # .group is loaded
    enrollment: Enrollment  # .group and .student are loaded
    money: DoorMoney
    attended_this_month: int  # admitted attendances of this enrollment this month, before this scan
    attendance_id: int | None  # the student's attendance row in this session, if any
    attendance_status: str | None
    refused_late_before: bool  # a door_closed answer was given for this session already
    refused_pay_before: bool  # a pay_first answer was given for this session already
    # Some active discount rule could apply to this enrollment today (``discount_rules.rules_for``
    # finds at least one). False spares the verdict and the charge their own rule query.
    discount_rules_possible: bool


@dataclasses.dataclass
class DoorRead:
    student: Student
    center: CenterSettings | None  # None until the settings row is first created
    candidates: list[DoorCandidate]
    guardians: list[Guardian]
    # (latest change, count) of the message templates: messaging's cache key (message_sources)
    template_stamp: tuple


class _Select:
    """A select list with, for each column, the converters the ORM would apply to it."""

    def __init__(self) -> None:
        self.columns: list[str] = []
        self.params: list = []
        self._converters: list[list] = []
        self._expressions: list = []

    def column(self, sql: str, field: Field, params=()) -> int:
        """Add a column; ``params`` name the values its ``%s`` take (filled in per scan)."""
        expression = field.get_col(field.model._meta.db_table)
        converters = connection.ops.get_db_converters(expression) + expression.get_db_converters(connection)
        self.columns.append(sql)
        self.params.extend(params)
        self._converters.append(converters)
        self._expressions.append(expression)
        return len(self.columns) - 1

    def model(self, alias: str, model: type[Model]) -> slice:
        fields = model._meta.concrete_fields
        first = len(self.columns)
        for field in fields:
            self.column(f"{alias}.{connection.ops.quote_name(field.column)}", field)
        return slice(first, first + len(fields))

    def convert(self, row) -> list:
        values = list(row)
        for index, converters in enumerate(self._converters):
            for converter in converters:
                values[index] = converter(values[index], self._expressions[index], connection)
        return values


def _instance(model: type[Model], values: list) -> Model | None:
    """A model instance from its concrete fields' values; None for the empty side of an outer join."""
    if values[0] is None:
        return None
    return model.from_db(connection.alias, [field.attname for field in model._meta.concrete_fields], values)


def _literals(values) -> str:
    """Constants of our own (entry types, statuses) written into the SQL; never user input."""
    words = sorted(str(value) for value in values)
    if not all(re.fullmatch(r"[a-z_]+", word) for word in words):
        raise ValueError(words)
    return ", ".join(f"'{word}'" for word in words)


# The aliases the read gives each table; every table and column name comes from the models.
_ALIASES = {
    "st": Student,
    "cs": CenterSettings,
    "en": Enrollment,
    "e2": Enrollment,
    "gr": Group,
    "se": Session,
    "s2": Session,
    "r": Room,
    "att": Attendance,
    "a2": Attendance,
    "l": LedgerEntry,
    "ev": ScanEvent,
    "sg": StudentGuardian,
    "gu": Guardian,
    "mt": MessageTemplate,
    "dr": DiscountRule,
}


class _Names:
    """``names.st`` is ``"core_student" st`` (the table with its alias); ``names("st", "code")`` is
    ``st."code"`` (a column of it, by field name)."""

    def __init__(self) -> None:
        self._quote = connection.ops.quote_name

    def __getattr__(self, alias: str) -> str:
        return f"{self._quote(_ALIASES[alias]._meta.db_table)} {alias}"

    def __call__(self, alias: str, field_name: str) -> str:
        return f"{alias}.{self._quote(_ALIASES[alias]._meta.get_field(field_name).column)}"


@functools.lru_cache(maxsize=16)
def _door_query(vendor: str, place_shape: tuple) -> tuple[str, "_Select", dict[str, object]]:
    """The SQL for one kind of place (room / n branches / anywhere), its columns and where each
    part of a row is; built once per process (``vendor`` keys the cache to the backend)."""
    t, c = _Names(), _Names()
    amount = LedgerEntry._meta.get_field("amount")
    count = Attendance._meta.get_field("minutes_late")  # any integer field: counts need no conversion
    flag = Student._meta.get_field("is_active")  # any boolean field: EXISTS is 0/1 on SQLite
    select = _Select()
    at = {
        "student": select.model("st", Student),
        "center": select.model("cs", CenterSettings),
        "enrollment": select.model("en", Enrollment),
        "group": select.model("gr", Group),
        "session": select.model("se", Session),
        "attendance_id": select.column(c("att", "id"), Attendance._meta.pk),
        "attendance_status": select.column(c("att", "status"), Attendance._meta.get_field("status")),
    }

    # Money, attendance and refusals only for rows with a class today (an enrollment without
    # one comes back too, with an empty session).
    def for_session(sql: str) -> str:
        return f"CASE WHEN {c('se', 'id')} IS NULL THEN NULL ELSE {sql} END"

    credits, debits = _literals(CREDIT_TYPES), _literals(DEBIT_TYPES)
    # The balance the database keeps beside the ledger (core/services/ledger_balance.py).
    balance = Enrollment._meta.get_field("ledger_balance")
    at["balance"] = select.column(for_session(c("en", "ledger_balance")), balance)
    own_entries = f"FROM {t.l} WHERE {c('l', 'enrollment')} = {c('en', 'id')}"
    at["credits"] = select.column(
        for_session(
            f"(SELECT COALESCE(SUM({c('l', 'amount')}), 0) {own_entries} AND {c('l', 'entry_type')} IN ({credits}))"
        ),
        amount,
    )
    at["debits_before"] = select.column(
        for_session(
            f"(SELECT COALESCE(SUM({c('l', 'amount')}), 0) {own_entries}"
            f" AND {c('l', 'entry_type')} IN ({debits}) AND {c('l', 'date')} < %s)"
        ),
        amount,
        ["month_start"],
    )
    at["month_charges"] = select.column(
        for_session(
            f"(SELECT COUNT(*) {own_entries} AND {c('l', 'entry_type')} IN ({_literals([EntryType.CHARGE])})"
            f" AND {c('l', 'period_month')} = %s AND {c('l', 'reversed_at')} IS NULL)"
        ),
        count,
        ["month_start"],
    )
    at["has_paid"] = select.column(
        for_session(
            f"EXISTS (SELECT 1 FROM {t.l} INNER JOIN {t.e2} ON {c('e2', 'id')} = {c('l', 'enrollment')}"
            f" WHERE {c('e2', 'student')} = {c('st', 'id')}"
            f" AND {c('l', 'entry_type')} IN ({_literals([EntryType.PAYMENT])}) AND {c('l', 'reversed_at')} IS NULL)"
        ),
        flag,
    )
    at["attended"] = select.column(
        for_session(
            f"(SELECT COUNT(*) FROM {t.a2} INNER JOIN {t.s2} ON {c('s2', 'id')} = {c('a2', 'session')}"
            f" WHERE {c('a2', 'enrollment')} = {c('en', 'id')} AND {c('a2', 'status')} IN ({_literals(ADMITTED_STATUSES)})"
            f" AND {c('s2', 'date')} >= %s AND {c('s2', 'date')} <= %s"
            f" AND {c('s2', 'status')} NOT IN ({_literals([Session.Status.CANCELLED])}))"
        ),
        count,
        ["month_start", "today"],
    )
    refused = (
        f"EXISTS (SELECT 1 FROM {t.ev} WHERE {c('ev', 'session')} = {c('se', 'id')}"
        f" AND {c('ev', 'student')} = {c('st', 'id')} AND {c('ev', 'outcome')} IN "
    )
    at["refused_late"] = select.column(for_session(f"{refused}({_literals([ScanOutcomeCode.DOOR_CLOSED])}))"), flag)
    at["refused_pay"] = select.column(for_session(f"{refused}({_literals([ScanOutcomeCode.PAY_FIRST])}))"), flag)
    # The same conditions as discount_rules.rules_for (the equality test holds them together).
    at["discount_rules"] = select.column(
        for_session(
            f"EXISTS (SELECT 1 FROM {t.dr} WHERE {c('dr', 'is_active')} = %s AND {c('dr', 'starts_on')} <= %s"
            f" AND ({c('dr', 'ends_on')} IS NULL OR {c('dr', 'ends_on')} >= %s)"
            f" AND ({c('dr', 'group')} IS NULL OR {c('dr', 'group')} = {c('en', 'group')})"
            f" AND ({c('dr', 'kind')} IN ({_literals([DiscountKind.SIBLING])}) OR {c('dr', 'student')} = {c('st', 'id')}))"
        ),
        flag,
        ["true", "today", "today"],
    )
    at["guardian"] = select.model("gu", Guardian)
    changed = MessageTemplate._meta.get_field("updated_at")
    at["templates_changed"] = select.column(f"(SELECT MAX({c('mt', 'updated_at')}) FROM {t.mt})", changed)
    at["templates"] = select.column(f"(SELECT COUNT(*) FROM {t.mt})", count)
    kind, size = place_shape
    if kind == "room":
        place_sql, place_params = f" AND {c('se', 'room')} = %s", ["place_0"]
    elif kind == "branches" and size:
        marks = ", ".join(["%s"] * size)
        place_sql = (
            f" AND {c('se', 'room')} IN (SELECT {c('r', 'id')} FROM {t.r} WHERE {c('r', 'branch')} IN ({marks}))"
        )
        place_params = [f"place_{index}" for index in range(size)]
    elif kind == "branches":
        place_sql, place_params = " AND 1 = 0", []
    else:
        place_sql, place_params = "", []
    # Plain left joins, each on an index: an enrollment with no class today comes back with an
    # empty session (skipped), and the money columns are only computed for rows with a session.
    # The settings row is the model's singleton, its key bound like any value.
    sql = (
        f"SELECT {', '.join(select.columns)}"
        f" FROM {t.st}"
        f" LEFT JOIN {t.cs} ON {c('cs', 'id')} = %s"
        f" LEFT JOIN {t.en} ON {c('en', 'student')} = {c('st', 'id')} AND {c('en', 'is_active')} = %s"
        f"  AND {c('en', 'start_date')} <= %s AND ({c('en', 'end_date')} IS NULL OR {c('en', 'end_date')} >= %s)"
        f" LEFT JOIN {t.gr} ON {c('gr', 'id')} = {c('en', 'group')}"
        f" LEFT JOIN {t.se} ON {c('se', 'group')} = {c('en', 'group')} AND {c('se', 'date')} = %s{place_sql}"
        f" LEFT JOIN {t.att} ON {c('att', 'session')} = {c('se', 'id')} AND {c('att', 'student')} = {c('st', 'id')}"
        f" LEFT JOIN {t.sg} ON {c('sg', 'student')} = {c('st', 'id')}"
        f" LEFT JOIN {t.gu} ON {c('gu', 'id')} = {c('sg', 'guardian')}"
        f" WHERE {c('st', 'code')} = %s AND {c('st', 'is_active')} = %s"
        f" ORDER BY {c('se', 'starts_at')}, {c('se', 'id')}, {c('sg', 'id')}"
    )
    select.params.extend(["center", "true", "today", "today", "today", *place_params, "code", "true"])
    return sql, select, at


def _place_shape(place: Place) -> tuple[tuple, list]:
    if place.room_id is not None:
        return ("room", 1), [place.room_id]
    if place.branch_ids is None:
        return ("anywhere", 0), []
    return ("branches", len(place.branch_ids)), list(place.branch_ids)


def _execute(cursor, name: str, sql: str, params: list) -> None:
    """Run the door's read; on PostgreSQL as a prepared statement of this connection.

    Planning the read costs PostgreSQL ~2 ms, six times its execution; prepared once per
    connection (connections live ``DB_CONN_MAX_AGE``), later scans reuse the plan. Prepared
    statements outlive a rolled-back transaction. ``DB_PREPARED_STATEMENTS=0`` turns this off for
    a pooler in transaction mode (PgBouncer before 1.21), which cannot keep them.
    """
    if connection.vendor != "postgresql" or not settings.DB_PREPARED_STATEMENTS:
        cursor.execute(sql, params)
        return
    # The thread's own DatabaseWrapper (``connection`` is a proxy shared by every thread); the
    # driver's connection object is kept alive here, so a reconnect prepares again.
    wrapper = connections[DEFAULT_DB_ALIAS]
    prepared = wrapper.__dict__.setdefault("door_prepared_statements", {})
    if prepared.get(name) is not wrapper.connection:
        numbered = iter(range(1, len(params) + 1))
        cursor.execute(f"PREPARE {name} AS " + re.sub(r"%s", lambda _match: f"${next(numbered)}", sql))
        prepared[name] = wrapper.connection
    cursor.execute(f"EXECUTE {name} ({', '.join(['%s'] * len(params))})", params)


def door_read(code: str, *, today: datetime.date, place: Place) -> DoorRead | None:
    """The active student with this code and what R2–R5 need today; None for no such student."""
    shape, place_values = _place_shape(place)
    sql, select, at = _door_query(connection.vendor, shape)
    adapt_date = connection.ops.adapt_datefield_value
    values = {
        "today": adapt_date(today),
        "month_start": adapt_date(today.replace(day=1)),
        "true": True,
        "center": CenterSettings.SINGLETON_PK,
        "code": code,
        **{f"place_{index}": value for index, value in enumerate(place_values)},
    }
    with connection.cursor() as cursor:
        _execute(cursor, f"door_read_{shape[0]}_{shape[1]}", sql, [values[name] for name in select.params])
        rows = [select.convert(row) for row in cursor.fetchall()]
    if not rows:
        return None
    student = _instance(Student, rows[0][at["student"]])
    center = _instance(CenterSettings, rows[0][at["center"]])
    candidates: dict[int, DoorCandidate] = {}
    guardians: dict[int, Guardian] = {}
    for row in rows:
        guardian = _instance(Guardian, row[at["guardian"]])
        if guardian is not None:
            guardians.setdefault(guardian.pk, guardian)
        session = _instance(Session, row[at["session"]])
        if session is None or session.pk in candidates:
            continue
        group = _instance(Group, row[at["group"]])
        enrollment = _instance(Enrollment, row[at["enrollment"]])
        session.group = enrollment.group = group
        enrollment.student = student
        credit_total = row[at["credits"]] or ZERO
        candidates[session.pk] = DoorCandidate(
            session=session,
            enrollment=enrollment,
            money=DoorMoney(
                balance=money_round(row[at["balance"]] or ZERO),
                arrears_before_month=money_round(max((row[at["debits_before"]] or ZERO) - credit_total, ZERO)),
                month_charged=(row[at["month_charges"]] or 0) > 0,
                student_has_paid=bool(row[at["has_paid"]]),
            ),
            attended_this_month=row[at["attended"]] or 0,
            attendance_id=row[at["attendance_id"]],
            attendance_status=row[at["attendance_status"]],
            refused_late_before=bool(row[at["refused_late"]]),
            refused_pay_before=bool(row[at["refused_pay"]]),
            discount_rules_possible=bool(row[at["discount_rules"]]),
        )
    return DoorRead(
        student=student,
        center=center,
        candidates=list(candidates.values()),
        guardians=list(guardians.values()),
        template_stamp=(rows[0][at["templates_changed"]], rows[0][at["templates"]]),
    )
