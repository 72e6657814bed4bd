"""The door's rules without writes (SPEC.md R2, R4–R6): where a scan is, which session it is for,
the teacher's window and the money verdict.

Everything here decides from values it is given; ``money_verdict`` reads the ledger only when a
caller (the desk, manual attendance) does not pass what the door's one read already holds, and
the owner's discount rules once per enrollment object (core/services/discount_rules.py).
"""

import dataclasses
import datetime
from decimal import Decimal

from django.db.models import Q

from core.access.scoping import branch_ids_visible
from core.models import Attendance, CenterSettings, Enrollment, FeePeriod, FeePlan, Kiosk, Session
from core.selectors.money import ZERO, DoorMoney, door_money, money_round, unpaid_sessions
from core.services.discount_rules import charge_discount_total

ADMITTED_STATUSES = (Attendance.Status.PRESENT, Attendance.Status.LATE)
TOO_EARLY_HORIZON = datetime.timedelta(minutes=60)


# --- R2: where the scan is, and which session ---------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Place:
    """Where the scan happens (R2): one room, some branches, or anywhere (``branch_ids=None``)."""

    room_id: int | None = None
    branch_ids: tuple[int, ...] | None = None

    @classmethod
    def of(cls, kiosk: Kiosk | None, operator=None) -> "Place":
        """The kiosk's room (or branch when it has no room); without a kiosk, the branches the
        operator may see (anywhere for one who sees them all, or for a scan with no operator)."""
        if kiosk is None:
            branch_ids = branch_ids_visible(operator) if getattr(operator, "pk", None) else None
            return cls(branch_ids=None if branch_ids is None else tuple(sorted(branch_ids)))
        if kiosk.room_id:
            return cls(room_id=kiosk.room_id)
        return cls(branch_ids=(kiosk.branch_id,))

    def sessions_filter(self) -> Q:
        """This place as a filter on sessions."""
        if self.room_id is not None:
            return Q(room_id=self.room_id)
        if self.branch_ids is None:
            return Q()
        return Q(room__branch_id__in=self.branch_ids)


def enrolled_on(day: datetime.date) -> Q:
    """Enrollments (and their students) active on ``day``."""
    return Q(is_active=True, student__is_active=True, start_date__lte=day) & (
        Q(end_date__isnull=True) | Q(end_date__gte=day)
    )


def _nearest(sessions: list[Session], now: datetime.datetime) -> Session:
    return min(sessions, key=lambda session: (abs(session.starts_at - now), session.pk))


def session_pick(
    sessions: list[Session], now: datetime.datetime, early: datetime.timedelta
) -> tuple[Session | None, Session | None]:
    """(the session whose door window holds now, else None; the next session today, else None)."""
    in_window = [s for s in sessions if s.starts_at - early <= now <= s.ends_at]
    open_ones = [s for s in in_window if s.status != Session.Status.CANCELLED]
    chosen = _nearest(open_ones or in_window, now) if in_window else None
    later = sorted(
        (s for s in sessions if s.starts_at - early > now and s.status != Session.Status.CANCELLED),
        key=lambda s: s.starts_at,
    )
    return chosen, (later[0] if later else None)


def teacher_window(session: Session, *, now: datetime.datetime, early: datetime.timedelta) -> str:
    """Where now stands against the window the teacher may be checked in (R6): from the door
    opening (start − early window) to the end of the session: "before", "open" or "over"."""
    if now < session.starts_at - early:
        return "before"
    return "open" if now <= session.ends_at else "over"


# --- R4 / R5: money -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class MoneyVerdict:
    admitted: bool
    owed: Decimal  # after this scan's charge
    charge: Decimal  # what admitting posts (0 for none)
    warn_last_session: bool


def month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def attended_this_month(enrollment: Enrollment, month_first: datetime.date, today: datetime.date) -> int:
    """Admitted attendances of this month so far; one at a session later cancelled does not count (R5)."""
    return (
        Attendance.objects.filter(
            enrollment=enrollment,
            status__in=ADMITTED_STATUSES,
            session__date__gte=month_first,
            session__date__lte=today,
        )
        .exclude(session__status=Session.Status.CANCELLED)
        .count()
    )


def money_verdict(
    enrollment: Enrollment,
    *,
    today: datetime.date,
    center: CenterSettings,
    money: DoorMoney | None = None,
    attended_this_month: int | None = None,
) -> MoneyVerdict:
    """R5 for one more admitted session of this enrollment (R4 says what that would charge).

    The door passes ``money`` and ``attended_this_month`` from its one read; other callers
    leave them out and they are queried here."""
    price = money_round(enrollment.price or ZERO)
    if enrollment.fee_plan == FeePlan.EXEMPT:
        return MoneyVerdict(admitted=True, owed=ZERO, charge=ZERO, warn_last_session=False)
    first = month_start(today)
    if money is None:
        money = door_money(enrollment, month_start=first)
    is_month_group = enrollment.group.fee_period == FeePeriod.MONTH
    if price <= 0:
        charge = ZERO
    elif is_month_group:
        charge = ZERO if money.month_charged else money_round(enrollment.month_price(first))
    else:
        charge = price
    # The charge is posted whole with its rule discounts beside it (post_charge): what admitting
    # leaves owed, and a session's price in unpaid sessions, are net of them.
    off = charge_discount_total(enrollment, amount=charge, day=today)
    owed = max(charge - off - money.balance, ZERO)  # a credit in hand pays this scan's charge
    grace = center.unpaid_session_grace if money.student_has_paid else center.new_student_grace
    if owed <= 0:
        unpaid = 0
    elif is_month_group:
        if money.arrears_before_month > 0:
            return MoneyVerdict(admitted=False, owed=owed, charge=charge, warn_last_session=False)
        if attended_this_month is None:
            attended_this_month = _attended(enrollment, first, today)
        unpaid = attended_this_month + 1
    else:
        unpaid = unpaid_sessions(owed, price - off)
    admitted = unpaid <= grace
    return MoneyVerdict(
        admitted=admitted, owed=owed, charge=charge, warn_last_session=admitted and unpaid >= 1 and grace - unpaid == 1
    )


_attended = attended_this_month  # money_verdict's parameter of the same name shadows it
