"""The dashboard's selectors (issue 17): each figure checked against data built for it, branch
scoping, the teacher's own view, and a fixed number of queries whatever the size of the center."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.models import (
    Attendance,
    CashClose,
    EntryType,
    FeePeriod,
    LedgerEntry,
    Message,
    PaymentMethod,
    ScanEvent,
    ScanOutcomeCode,
    Settlement,
)
from core.selectors import dashboard_attention, dashboard_charts, dashboard_money, dashboard_teacher, dashboard_today
from core.selectors.dashboard import dashboard_figures
from core.selectors.dashboard_page import Part, dashboard_data, dashboard_parts, dashboard_scope
from core.services.payments import payment_record
from tests.factories import CAIRO, enroll, make_branch, make_group, make_room, make_session, make_student, make_teacher

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 11, 18, 17, 10, tzinfo=CAIRO)  # a Wednesday afternoon
TODAY = NOW.date()


@pytest.fixture(autouse=True)
def frozen_and_uncached():
    cache.clear()
    with time_machine.travel(NOW, tick=False):
        yield
    cache.clear()


class Center:
    """A small center that ``grow`` makes bigger without changing its shape."""

    def __init__(self, branch, cashier, teacher_user=None, now: datetime.datetime = NOW):
        self.now = now
        self.branch = branch
        self.cashier = cashier
        self.room = make_room(branch)
        self.teacher = make_teacher(user=teacher_user)
        self.monthly = make_group(branch, teacher=self.teacher, room=self.room, fee="300.00")
        self.per_session = make_group(branch, room=self.room, fee="50.00", fee_period=FeePeriod.SESSION)
        # Two weeks of past Wednesdays and today's two classes (one running without its teacher).
        self.past = [
            make_session(group, self.room, starts_at=self.now - datetime.timedelta(days=days, hours=2), status="held")
            for days in (14, 7)
            for group in (self.monthly, self.per_session)
        ]
        self.running = make_session(self.monthly, self.room, starts_at=self.now - datetime.timedelta(minutes=10))
        self.later = make_session(
            self.per_session,
            make_room(branch),
            starts_at=self.now + datetime.timedelta(hours=1),
            teacher_checked_in_at=self.now,
        )
        self.students = []

    def grow(self, count: int) -> None:
        for _index in range(count):
            student = make_student(self.branch)
            self.students.append(student)
            monthly = enroll(student, self.monthly)
            per_session = enroll(student, self.per_session)
            # Present at the first past sessions, absent at the last: everyone is "absent twice"
            # in the session group only if absent there at both.
            for session in self.past:
                enrollment = monthly if session.group_id == self.monthly.pk else per_session
                status = Attendance.Status.ABSENT if session.group_id == self.per_session.pk else "present"
                Attendance.objects.create(
                    session=session,
                    student=student,
                    enrollment=enrollment,
                    status=status,
                    at=session.starts_at,
                    source="kiosk",
                )
            Attendance.objects.create(
                session=self.running, student=student, enrollment=monthly, status="late", at=self.now, source="kiosk"
            )
            LedgerEntry.objects.create(
                enrollment=monthly,
                entry_type=EntryType.CHARGE,
                amount=Decimal("300.00"),
                date=self.now.date(),
                source="door",
            )
            payment_record(student=student, cashier=self.cashier, amount=Decimal("100.00"), method=PaymentMethod.CASH)
            Message.objects.create(
                student=student,
                phone="+201000000000",
                template_key="absent",
                body="x",
                event=f"test:{student.pk}",
                idempotency_key=f"test-{student.pk}",
                status=Message.Status.FAILED,
            )
        refused = self.students[-1]
        ScanEvent.objects.create(
            at=self.now,
            raw_code=refused.code,
            code=refused.code,
            outcome=ScanOutcomeCode.PAY_FIRST,
            message="",
            student=refused,
            session=self.later,
        )


@pytest.fixture
def center(main_branch, receptionist, teacher_user):
    built = Center(main_branch, receptionist, teacher_user)
    built.grow(2)
    return built


def test_sessions_today_counts_expected_in_late_refused(center):
    rows = {row.pk: row for row in dashboard_today.sessions_today(branch_ids=[center.branch.pk])}
    running, later = rows[center.running.pk], rows[center.later.pk]
    assert (running.expected, running.present, running.late, running.admitted) == (2, 0, 2, 2)
    assert running.teacher_missing(NOW) and running.cancel_at(15) == center.running.starts_at + datetime.timedelta(
        minutes=15
    )
    assert (later.expected, later.admitted, later.refused) == (2, 0, 1)
    assert not later.teacher_missing(NOW) and later.cancel_at(15) is None
    assert dashboard_today.sessions_today(branch_ids=[make_branch().pk]) == []


def test_money_overview(center, owner):
    money = dashboard_money.money_overview([center.branch.pk])
    assert money.collected_today == Decimal("200.00") and money.collected_month == Decimal("200.00")
    assert [row.method for row in money.by_method] == [PaymentMethod.CASH]
    # Each student owes 300 − 100 on the monthly group.
    assert money.owed_total == Decimal("400.00") and money.owing_students == 2
    assert [debt.owed for debt in money.top_debts] == [Decimal("200.00")] * 2
    assert money.top_debts[0].whatsapp_url.startswith("https://wa.me/20")
    # Expected: two monthly enrollments at 300, two per-session ones at 50 × this month's 3 sessions.
    assert money.expected_month == Decimal("900.00")
    (drawer,) = money.open_drawers
    assert (drawer.cash, drawer.receipts) == (Decimal("200.00"), 2)
    CashClose.objects.create(
        cashier=center.cashier,
        branch=center.branch,
        period_start=NOW - datetime.timedelta(hours=1),
        period_end=NOW + datetime.timedelta(seconds=1),
        expected=Decimal("200.00"),
        counted=Decimal("200.00"),
        difference=Decimal("0.00"),
    )
    assert dashboard_money.open_drawers([center.branch.pk], now=NOW) == []


def test_at_risk_absent_twice_and_below_the_rate(center):
    result = dashboard_attention.at_risk(branch_ids=[center.branch.pk], rate=75)
    per_session = {row.enrollment_id for row in result.shown if row.group_code == center.per_session.code}
    assert len(per_session) == 2 and all(row.absent_twice for row in result.shown)
    assert all(row.rate == 0 for row in result.shown)  # absent at both sessions of this month
    assert result.students == 2
    # The monthly group: present twice, late today: not at risk at any rate.
    assert not any(row.group_code == center.monthly.code for row in result.shown)
    assert dashboard_attention.at_risk(teacher_id=center.teacher.pk).shown == []


def test_attention_ending_and_settlements(center):
    enrollment = center.students[0].enrollments.get(group=center.monthly)
    enrollment.end_date = TODAY + datetime.timedelta(days=3)
    enrollment.save(update_fields=["end_date"])
    ending = dashboard_attention.enrollments_ending(branch_ids=[center.branch.pk])
    assert ending.total == 1 and ending.shown[0]["pk"] == enrollment.pk
    Settlement.objects.create(
        teacher=center.teacher, month=datetime.date(2026, 10, 1), total=Decimal("70"), computed_at=NOW
    )
    Settlement.objects.create(
        teacher=center.teacher, month=datetime.date(2026, 11, 1), total=Decimal("5"), computed_at=NOW
    )
    waiting = dashboard_attention.settlements_waiting(branch_ids=[center.branch.pk])
    assert (waiting.count, waiting.total, waiting.oldest_month) == (1, Decimal("70.00"), datetime.date(2026, 10, 1))
    assert dashboard_attention.settlements_waiting(branch_ids=[make_branch().pk]).count == 0


def test_charts(center):
    weeks = dashboard_charts.attendance_by_week(branch_ids=[center.branch.pk])
    assert len(weeks) == 8 and weeks[-1].week == datetime.date(2026, 11, 14)  # Saturday
    # This week: today's two late arrivals; the week before: 2 present of 4 marked.
    assert (weeks[-1].admitted, weeks[-1].counted) == (2, 2)
    assert (weeks[-2].admitted, weeks[-2].counted, weeks[-2].rate) == (2, 4, 50)
    months, teachers = dashboard_charts.money_by_month(branch_ids=[center.branch.pk])
    assert [row.month for row in months][-1] == datetime.date(2026, 11, 1) and len(months) == 6
    # Oldest debt first: each payment of 100 went to the monthly group (percent 70).
    assert months[-1].collected == Decimal("200.00") and months[-1].teacher_share == Decimal("140.00")
    assert months[-1].margin == Decimal("60.00")
    assert teachers[0].teacher_id == center.teacher.pk and teachers[0].margin == Decimal("60.00")
    weekdays = dashboard_charts.collections_by_weekday(branch_ids=[center.branch.pk])
    assert [row.total for row in weekdays if row.total] == [Decimal("200.00")]
    assert weekdays[4].total == Decimal("200.00")  # Wednesday is the fifth day of the center's week
    students = dashboard_charts.students_by_month(branch_ids=[center.branch.pk])
    assert students[-1].new == 2 and sum(row.leaving for row in students) == 0


def test_teacher_dashboard_is_his_own(center, teacher_user):
    board = dashboard_teacher.teacher_dashboard(center.teacher)
    assert [group.code for group in board.groups] == [center.monthly.code]
    assert board.groups[0].students == 2 and board.groups[0].month_rate == 100
    assert [session.pk for session in board.today] == [center.running.pk]
    assert sorted(board.today[0].late) == sorted(student.full_name for student in center.students)
    assert board.estimate_total == Decimal("140.00") and board.collected_total == Decimal("200.00")
    assert dashboard_parts(teacher_user) == {Part.TEACHER}
    data = dashboard_data(teacher_user, dashboard_scope(teacher_user))
    assert data.teacher.teacher_name == center.teacher.full_name and data.money is None


def test_message_counts_are_the_branch_s_own(center, receptionist, owner):
    other = make_branch()
    elsewhere = make_student(other)
    Message.objects.create(
        student=elsewhere,
        phone="+201000000001",
        template_key="absent",
        body="x",
        event="test:elsewhere",
        idempotency_key="test-elsewhere",
        status=Message.Status.FAILED,
    )
    assert dashboard_figures(receptionist).messages_failed == 2
    assert dashboard_figures(owner).messages_failed == 3
    assert dashboard_figures(owner, branch_ids=[other.pk]).messages_failed == 1
    # A receptionist cannot widen his scope by asking for another branch.
    assert dashboard_figures(receptionist, branch_ids=[other.pk]).messages_failed == 0


def test_scope_picker_only_for_several_branches(center, owner, receptionist):
    assert dashboard_scope(owner).choices == []  # one branch: no picker
    other = make_branch()
    assert dashboard_scope(receptionist).choices == []
    assert dashboard_scope(receptionist, str(other.pk)).branch_ids == [center.branch.pk]
    assert dashboard_scope(owner).branch_ids is None
    assert dashboard_scope(owner).choices == [center.branch, other]
    chosen = dashboard_scope(owner, str(other.pk))
    assert chosen.branch_ids == [other.pk] and chosen.branch == other


@pytest.mark.parametrize("role", ["owner", "manager", "accountant", "receptionist", "supervisor", "teacher_user"])
def test_query_count_does_not_grow_with_the_center(request, center, role):
    user = request.getfixturevalue(role)
    scope = dashboard_scope(user)

    def run():
        cache.clear()
        for name in ("_perm_cache", "_user_perm_cache", "_group_perm_cache", "_branch_ids", "_role_names"):
            user.__dict__.pop(name, None)
        with CaptureQueriesContext(connection) as queries:
            dashboard_data(user, scope)
        return len(queries)

    small = run()
    center.grow(4)
    assert run() == small
    with CaptureQueriesContext(connection) as queries:
        dashboard_data(user, scope)
    assert len(queries) == 0  # a minute later it is all in the cache


def test_worker_keeps_watched_dashboards_warm(center, owner, receptionist):
    from core import tasks
    from core.selectors.dashboard_page import WATCHED_KEY

    assert dashboard_page_refresh() == 0  # nobody has looked yet
    dashboard_data(owner, dashboard_scope(owner))
    dashboard_data(receptionist, dashboard_scope(receptionist))
    assert set(cache.get(WATCHED_KEY)) == {"all", f"b{center.branch.pk}"}
    # The minute is over: every part gone, the list of watched branches kept.
    parts = [key.split(":", 2)[2] for key in list(cache._cache) if ":watched" not in key]
    cache.delete_many(parts)
    assert parts and cache.get_many(parts) == {}
    tasks.dashboard_refresh()
    assert any(":now:all:" in key for key in cache.get_many(parts))
    for user in (owner, receptionist):
        for name in ("_perm_cache", "_user_perm_cache", "_group_perm_cache"):
            user.__dict__.pop(name, None)
        with CaptureQueriesContext(connection) as queries:
            data = dashboard_data(user, dashboard_scope(user))
        # Only the summary (per permissions) and the scope are read; every shared part was warm.
        assert all("core_attendance" not in query["sql"] for query in queries.captured_queries)
        assert data.sessions is not None
    assert data.money is None  # the receptionist still sees only his parts
    with time_machine.travel(NOW + datetime.timedelta(minutes=16), tick=False):
        assert dashboard_page_refresh() == 0  # nobody looked for a quarter of an hour


def dashboard_page_refresh() -> int:
    from core.selectors.dashboard_page import dashboard_refresh

    return dashboard_refresh()


def test_channel_states_part(center, owner, supervisor, settings):
    from core.models import Channel, ChannelBreaker
    from core.services.channels import channel_failed

    settings.CHANNEL_BREAKER_FAILURES = 1
    channel_failed(Channel.SMS, error="gateway down")
    states = {state.channel: state for state in dashboard_data(owner, dashboard_scope(owner)).channels}
    assert states[Channel.SMS].state == ChannelBreaker.State.OPEN and states[Channel.SMS].last_error == "gateway down"
    assert states[Channel.SMS].retry_at == NOW + datetime.timedelta(seconds=settings.CHANNEL_BREAKER_COOLDOWN_SECONDS)
    assert states[Channel.WHATSAPP].state == ChannelBreaker.State.CLOSED
    # The door supervisor sees no message counts, so no channels either.
    assert Part.CHANNELS not in dashboard_parts(supervisor)
    assert dashboard_data(supervisor, dashboard_scope(supervisor)).channels is None


def test_largest_debts_carry_the_written_payment_reminder(center):
    from urllib.parse import parse_qs, urlsplit

    from core.selectors.click_to_chat import ChatTexts

    debts = dashboard_money.money_overview([center.branch.pk]).top_debts
    chat = ChatTexts()
    by_id = {student.pk: student for student in center.students}
    for debt in debts:
        student = by_id[debt.student_id]
        assert debt.whatsapp_url == chat.reminder_link(
            phone=debt.guardian_phone, student_name=student.full_name, owed=debt.owed, gender=student.gender
        )
        text = parse_qs(urlsplit(debt.whatsapp_url).query)["text"][0]
        assert student.full_name in text and "200" in text
