"""The demo center's recent past: payments this month, two weeks of classes at the door.

Used only by ``manage.py demo_data``. A new owner should see what a running center looks like:
most students paid this month (receipts numbered per branch and year), some owe, the scan log,
attendance sheets, collections and follow-ups have rows, and most first scans today are green.

Everything that matters goes through the real services, at past times: ``payment_record``
(receipts, ledger, audit), ``scan_process`` at a kiosk (attendance present/late, door charges,
refusals, scan events; one day's scans replayed offline, leaving follow-ups),
``teacher_check_in``, ``session_cancel`` and ``sessions_mark_absent``.
Services cost milliseconds each, so the full history is played for a few groups only
(``HISTORY_GROUPS``, spread over teachers and branches); the other students' payments of this
month are written in bulk as ``payment_record`` writes them (receipt from the same counter, one
payment ledger line per enrollment, the audit row), which keeps 20,000 students fast.

The parent messages all this queues (arrived, absent, payment received …) are cancelled at the
end with ``messages_cancel``: they describe the past, and the demo's phone numbers are made up.
"""

import datetime
import math
import random
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Max
from django.utils import timezone

from core.cards import teacher_card_value
from core.models import (
    AuditLog,
    Branch,
    Counter,
    Enrollment,
    EntryType,
    FeePeriod,
    FeePlan,
    Group,
    LedgerEntry,
    Message,
    PaymentMethod,
    Receipt,
    ScanOutcomeCode,
    ScheduleSlot,
    Session,
    User,
    Weekday,
)
from core.services.door import sessions_mark_absent
from core.services.kiosks import kiosk_create
from core.services.messaging import messages_cancel
from core.services.payments import payment_record, receipt_number
from core.services.scanning import scan_process
from core.services.sessions import session_cancel, session_times

HISTORY_DAYS = 14
HISTORY_GROUPS = 10
# A big center (the benchmark's 20,000 students) plays fewer: each scan reads more there.
HISTORY_GROUPS_BIG = 4
BATCH = 2000
KIOSK_NAME = "بوابة الدخول"
CANCEL_REASON = "اعتذار المدرس لظرف طارئ"
# Who a student is this month: pays in full, pays part (owes), or has not paid yet.
PLAN_WEIGHTS = {"paid": 82, "part": 11, "unpaid": 7}
# How a student meets one class: early (present), late within grace, too late (door closed), absent.
ARRIVAL_WEIGHTS = {"present": 76, "late": 9, "closed": 2, "absent": 13}
# Of the students refused for money, this share goes to the office, pays and scans again.
PAYS_AT_THE_DESK = 0.35
METHODS = [
    (PaymentMethod.CASH, 72),
    (PaymentMethod.WALLET, 14),
    (PaymentMethod.INSTAPAY, 10),
    (PaymentMethod.CARD, 2),
    (PaymentMethod.BANK, 2),
]


def month_due(enrollment: Enrollment) -> Decimal:
    """What a month of this enrollment costs: the month fee, or the month's sessions."""
    if enrollment.fee_plan == FeePlan.EXEMPT:
        return Decimal("0.00")
    price = enrollment.custom_fee if enrollment.fee_plan == FeePlan.REDUCED else enrollment.group.fee
    if enrollment.group.fee_period == FeePeriod.SESSION:
        price *= enrollment.group.sessions_per_month
    return Decimal(price).quantize(Decimal("0.01"))


def _half(amount: Decimal) -> Decimal:
    return (amount / 2 / 5).quantize(Decimal("1")) * 5


@dataclass
class Payer:
    student_id: int
    plan: str
    enrollments: list[Enrollment] = field(default_factory=list)
    paid_months: set = field(default_factory=set)


class DemoHistory:
    def __init__(
        self, *, rng: random.Random, now: datetime.datetime, branches: list[Branch], groups: int = HISTORY_GROUPS
    ):
        self.rng = rng
        self.group_count = groups
        self.now = now
        self.today = timezone.localdate(now)
        self.month_start = self.today.replace(day=1)
        self.window_start = self.today - datetime.timedelta(days=HISTORY_DAYS)
        self.outage_day: datetime.date | None = None
        self.branches = branches
        users = {user.username: user for user in User.objects.filter(username__in=_STAFF_NAMES)}
        self.cashiers = {
            branch.pk: users.get(name) or users.get("manager")
            for branch, name in zip(branches, _CASHIERS, strict=False)
        }
        self.manager = users.get("manager")
        self.counts = {"receipts": 0, "scans": 0, "past_sessions": 0, "history_groups": 0, "messages_cancelled": 0}

    def pick_weighted(self, weights: dict | list) -> str:
        pairs = list(weights.items()) if isinstance(weights, dict) else weights
        return self.rng.choices([key for key, _w in pairs], weights=[weight for _k, weight in pairs])[0]

    def method(self) -> tuple[str, str]:
        method = self.pick_weighted(METHODS)
        reference = ""
        if method in (PaymentMethod.WALLET, PaymentMethod.INSTAPAY):
            reference = f"{self.rng.randrange(10**9, 10**10)}"
        return method, reference

    # --- the whole thing -----------------------------------------------------------------------------
    def run(self) -> dict:
        first_message = Message.objects.aggregate(last=Max("pk"))["last"] or 0
        self.kiosks, self.counts["kiosk_tokens"] = {}, []
        for branch in self.branches:
            self.kiosks[branch.pk], token = kiosk_create(actor=None, name=KIOSK_NAME, branch=branch)
            self.counts["kiosk_tokens"].append((branch.name_en or branch.name_ar, token))
        groups = self.history_groups()
        sessions = self.past_sessions(groups)
        # One day the network was down: the kiosks let everyone in and replayed the scans later
        # (offline), so refusals they could not enforce are left to the office as follow-ups.
        days = sorted({session.date for session in sessions})
        self.outage_day = days[len(days) // 2] if days else None
        enrollments = list(
            Enrollment.objects.filter(is_active=True, student__is_active=True)
            .select_related("group", "student")
            .order_by("student_id", "pk")
        )
        history_group_ids = {group.pk for group in groups}
        history_students = {e.student_id for e in enrollments if e.group_id in history_group_ids}
        payers: dict[int, Payer] = {}
        for enrollment in enrollments:
            payer = payers.get(enrollment.student_id)
            if payer is None:
                payer = payers[enrollment.student_id] = Payer(enrollment.student_id, self.pick_weighted(PLAN_WEIGHTS))
            payer.enrollments.append(enrollment)
        students = {e.student_id: e.student for e in enrollments}

        # Day by day, so receipt numbers follow the dates: the bulk payers of the day, then the
        # classes of the history groups (payments before class, scans, absences at the end).
        bulk_days = self.bulk_payment_days([payer for sid, payer in payers.items() if sid not in history_students])
        sessions_by_day: dict[datetime.date, list[Session]] = {}
        for session in sessions:
            sessions_by_day.setdefault(session.date, []).append(session)
        enrolled_by_group: dict[int, list[Enrollment]] = {}
        for enrollment in enrollments:
            if enrollment.group_id in history_group_ids:
                enrolled_by_group.setdefault(enrollment.group_id, []).append(enrollment)
        cancelled_one = False
        day = min(self.window_start, self.month_start)
        while day <= self.today:
            self.bulk_pay(bulk_days.get(day, []), day=day, students=students)
            for session in sorted(sessions_by_day.get(day, []), key=lambda s: (s.starts_at, s.pk)):
                cancel = (
                    not cancelled_one
                    and day >= self.window_start + datetime.timedelta(days=3)
                    and day != self.outage_day
                )
                cancelled_one |= cancel
                self.play_session(session, enrolled_by_group.get(session.group_id, []), payers, students, cancel=cancel)
            if day < self.today:
                sessions_mark_absent(now=timezone.make_aware(datetime.datetime.combine(day, datetime.time(23, 30))))
            day += datetime.timedelta(days=1)
        # History students with no class yet this month pay today at the desk, as most do.
        for student_id in sorted(history_students):
            payer = payers[student_id]
            if payer.plan != "unpaid" and self.month_start not in payer.paid_months:
                self.pay(payer, students[student_id], at=self.desk_time_today(), month=self.month_start)

        self.counts["messages_cancelled"] = messages_cancel(
            actor=None, messages=Message.objects.filter(pk__gt=first_message)
        )
        self.counts["history_groups"] = len(groups)
        return self.counts

    # --- past sessions -------------------------------------------------------------------------------
    def history_groups(self) -> list[Group]:
        """A few groups spread over the teachers and both branches."""
        groups = list(Group.objects.filter(is_active=True).order_by("pk"))
        if len(groups) <= self.group_count:
            return groups
        step = len(groups) / self.group_count
        return [groups[int(index * step)] for index in range(self.group_count)]

    def past_sessions(self, groups: list[Group]) -> list[Session]:
        """The sessions of the last HISTORY_DAYS days, made as sessions_generate makes them
        (it never creates sessions that are over)."""
        slots = list(ScheduleSlot.objects.filter(group__in=groups, is_active=True).select_related("group"))
        new_sessions = []
        for offset in range(HISTORY_DAYS, 0, -1):
            day = self.today - datetime.timedelta(days=offset)
            for slot in slots:
                if slot.weekday != Weekday.of(day):
                    continue
                starts_at, ends_at = session_times(day, slot.start_time, slot.duration_minutes)
                new_sessions.append(
                    Session(
                        group=slot.group,
                        slot=slot,
                        date=day,
                        starts_at=starts_at,
                        ends_at=ends_at,
                        room_id=slot.room_id,
                    )
                )
        Session.objects.bulk_create(new_sessions, ignore_conflicts=True, batch_size=500)
        self.counts["past_sessions"] = len(new_sessions)
        return list(
            Session.objects.filter(slot__in=slots, date__gte=self.window_start, date__lt=self.today).select_related(
                "group__teacher"
            )
        )

    def play_session(self, session: Session, enrolled: list[Enrollment], payers, students, *, cancel: bool) -> None:
        kiosk = self.kiosks[session.group.branch_id]
        minutes = datetime.timedelta(minutes=1)
        if cancel and self.manager is not None:
            session_cancel(actor=self.manager, session=session, reason=CANCEL_REASON)
        else:
            teacher_at = session.starts_at - self.rng.randrange(3, 20) * minutes
            self.scan(teacher_card_value(session.group.teacher), kiosk=kiosk, at=teacher_at)
        month = session.date.replace(day=1)
        arrivals = []
        for enrollment in enrolled:
            if enrollment.start_date > session.date:
                continue
            how = self.pick_weighted(ARRIVAL_WEIGHTS)
            if how == "absent":
                continue
            offset = {
                "present": -self.rng.randrange(1, 28),
                "late": self.rng.randrange(1, 10),
                "closed": self.rng.randrange(12, 26),
            }[how]
            arrivals.append((session.starts_at + offset * minutes, enrollment))
        for at, enrollment in sorted(arrivals, key=lambda row: (row[0], row[1].pk)):
            payer = payers[enrollment.student_id]
            student = students[enrollment.student_id]
            if payer.plan != "unpaid" and month not in payer.paid_months:
                self.pay(payer, student, at=at - self.rng.randrange(2, 15) * minutes, month=month)
            offline = session.date == self.outage_day
            outcome = self.scan(student.code, kiosk=kiosk, at=at, offline=offline)
            if outcome.code == ScanOutcomeCode.PAY_FIRST and not offline and self.rng.random() < PAYS_AT_THE_DESK:
                self.pay_owed(student, owed=outcome.amount_owed, at=at + 2 * minutes)
                payer.paid_months.add(month)
                self.scan(student.code, kiosk=kiosk, at=at + 4 * minutes)

    def scan(self, code: str, *, kiosk, at: datetime.datetime, offline: bool = False):
        self.counts["scans"] += 1
        return scan_process(code, kiosk=kiosk, at=at, offline=offline)

    # --- payments through the service ------------------------------------------------------------------
    def pay(self, payer: Payer, student, *, at: datetime.datetime, month: datetime.date) -> None:
        """Pay the month for every enrollment (only the first one, or half, for a student who owes)."""
        payer.paid_months.add(month)
        lines = [(e, month_due(e)) for e in payer.enrollments if month_due(e) > 0]
        if payer.plan == "part" and lines:
            lines = lines[:1] if len(lines) > 1 else [(lines[0][0], _half(lines[0][1]))]
        lines = [(enrollment, amount) for enrollment, amount in lines if amount > 0]
        if not lines:
            return
        method, reference = self.method()
        payment_record(
            student=student,
            cashier=self.cashiers[student.branch_id],
            method=method,
            lines=lines,
            reference=reference,
            now=at,
            confirm_repeat=True,  # history: every payment here is a real one, never a second tab
        )
        self.counts["receipts"] += 1

    def pay_owed(self, student, *, owed: Decimal, at: datetime.datetime) -> None:
        """A refused student pays what the door said, rounded up to whole pounds, oldest debt first."""
        amount = Decimal(math.ceil(owed)) if owed > 0 else Decimal("0")
        if amount <= 0:
            return
        payment_record(
            student=student, cashier=self.cashiers[student.branch_id], amount=amount, now=at, confirm_repeat=True
        )
        self.counts["receipts"] += 1

    def desk_time_today(self) -> datetime.datetime:
        opening = timezone.make_aware(datetime.datetime.combine(self.today, datetime.time(10, 0)))
        at = opening + datetime.timedelta(minutes=self.rng.randrange(0, 8 * 60))
        earliest = timezone.make_aware(datetime.datetime.combine(self.today, datetime.time(0, 1)))
        return max(earliest, min(at, self.now - datetime.timedelta(minutes=1)))

    # --- everyone else's payments of this month, in bulk ---------------------------------------------
    def bulk_payment_days(self, payers: list[Payer]) -> dict[datetime.date, list[Payer]]:
        """Most pay in the month's first days; the last ones up to today."""
        days_so_far = (self.today - self.month_start).days
        by_day: dict[datetime.date, list[Payer]] = {}
        for payer in payers:
            if payer.plan == "unpaid":
                continue
            offset = min(int(self.rng.expovariate(1 / 3)), days_so_far)
            by_day.setdefault(self.month_start + datetime.timedelta(days=offset), []).append(payer)
        return by_day

    def bulk_pay(self, payers: list[Payer], *, day: datetime.date, students) -> None:
        """The rows payment_record writes (receipt, a payment line per enrollment, the audit row),
        for many students at once; messages are not queued (they would be cancelled anyway)."""
        rows = []
        for payer in payers:
            lines = [(e, month_due(e)) for e in payer.enrollments if month_due(e) > 0]
            if payer.plan == "part" and lines:
                lines = lines[:1] if len(lines) > 1 else [(lines[0][0], _half(lines[0][1]))]
            lines = [(enrollment, amount) for enrollment, amount in lines if amount > 0]
            if lines:
                payer.paid_months.add(self.month_start)
                rows.append((students[payer.student_id], lines, *self.method()))
        by_branch: dict[int, list] = {}
        for row in rows:
            by_branch.setdefault(row[0].branch_id, []).append(row)
        for branch_id, branch_rows in by_branch.items():
            first = self.receipt_numbers_take(branch_id, day.year, len(branch_rows))
            cashier = self.cashiers[branch_id]
            receipts = [
                Receipt(
                    branch_id=branch_id,
                    year=day.year,
                    sequence=first + index,
                    number=receipt_number(day.year, first + index),
                    student=student,
                    date=day,
                    method=method,
                    reference=reference,
                    total=sum(amount for _e, amount in lines),
                    cashier=cashier,
                )
                for index, (student, lines, method, reference) in enumerate(branch_rows)
            ]
            Receipt.objects.bulk_create(receipts, batch_size=BATCH)
            LedgerEntry.objects.bulk_create(
                [
                    LedgerEntry(
                        enrollment=enrollment,
                        entry_type=EntryType.PAYMENT,
                        amount=amount,
                        date=day,
                        receipt=receipt,
                        source=LedgerEntry.Source.DESK,
                        created_by=cashier,
                    )
                    for receipt, (_student, lines, _method, _reference) in zip(receipts, branch_rows, strict=True)
                    for enrollment, amount in lines
                ],
                batch_size=BATCH,
            )
            AuditLog.objects.bulk_create(
                [
                    AuditLog(
                        actor=cashier,
                        action=AuditLog.Action.CREATE,
                        model=Receipt._meta.label_lower,
                        object_id=str(receipt.pk),
                        object_repr=str(receipt)[:200],
                        changes={
                            "total": [None, str(receipt.total)],
                            "method": [None, receipt.method],
                            "lines": [None, {str(e.pk): str(amount) for e, amount in lines}],
                        },
                    )
                    for receipt, (_student, lines, _method, _reference) in zip(receipts, branch_rows, strict=True)
                ],
                batch_size=BATCH,
            )
            self.counts["receipts"] += len(receipts)

    def receipt_numbers_take(self, branch_id: int, year: int, count: int) -> int:
        """Advance the branch's receipt counter (the one payment_record uses) by ``count``; the first number."""
        counter, _created = Counter.objects.select_for_update().get_or_create(
            key=f"receipt:{branch_id}:{year}", defaults={"value": 0}
        )
        first = counter.value + 1
        counter.value += count
        counter.save(update_fields=["value"])
        return first


_CASHIERS = ["reception1", "reception2"]
_STAFF_NAMES = [*_CASHIERS, "manager"]
