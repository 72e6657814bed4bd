"""Balances from the ledger (SPEC.md §2 Ledger, R5): one place for the sums.

Balance = credits − debits; negative means the student owes. ``owed`` is the positive amount
owed (0 when the balance is zero or in credit).
"""

import contextlib
import dataclasses
import datetime
from decimal import ROUND_CEILING, Decimal

from django.db.models import Case, Count, DecimalField, F, OuterRef, Q, QuerySet, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce, Greatest
from django.utils import translation
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from core.models import Enrollment, EntryType, LedgerEntry
from core.models.money import CREDIT_TYPES, DEBIT_TYPES

ZERO = Decimal("0.00")
_MONEY = DecimalField(max_digits=14, decimal_places=2)
CREDIT_LIST = sorted(CREDIT_TYPES)
DEBIT_LIST = sorted(DEBIT_TYPES)


def money_round(value) -> Decimal:
    """The one rounding helper: two places."""
    return Decimal(value).quantize(Decimal("0.01"))


def money_text(amount) -> str:
    """An amount as people read it, with two places and thousands grouped ("1,250.00") in the
    active language's separators. For display only: typed amounts go through money_parse."""
    return number_format(money_round(amount if amount is not None else ZERO), decimal_pos=2, force_grouping=True)


def balance_words(balance, language: str | None = None, *, currency: bool = False) -> str:
    """A balance as a person reads it (R8): "owes 225.00", "credit 225.00" or "nothing owed",
    never a bare signed number (parents read "-225.00" and "225.00" both as money owed).

    ``language`` translates into that language (a guardian's) instead of the active one;
    ``currency`` adds the currency after the amount (messages, whose texts carry no unit)."""
    amount = money_round(balance if balance is not None else ZERO)
    override = translation.override(language) if language else contextlib.nullcontext()
    with override:
        if amount == 0:
            return _("nothing owed")
        if currency:
            text = _("owes %(amount)s EGP") if amount < 0 else _("credit %(amount)s EGP")
        else:
            text = _("owes %(amount)s") if amount < 0 else _("credit %(amount)s")
        return text % {"amount": money_text(abs(amount))}


def _signed_amount(prefix: str = ""):
    """Each entry's effect on the balance: + for credits, − for debits."""
    return Case(
        When(Q(**{f"{prefix}entry_type__in": CREDIT_LIST}), then=F(f"{prefix}amount")),
        When(Q(**{f"{prefix}entry_type__in": DEBIT_LIST}), then=-F(f"{prefix}amount")),
        default=Value(ZERO),
        output_field=_MONEY,
    )


def enrollments_with_balance(queryset: QuerySet | None = None) -> QuerySet:
    """Enrollments annotated with ``balance`` (credits − debits) and ``owed`` (≥ 0).

    Read from the balance the database keeps beside the ledger (``Enrollment.ledger_balance``,
    core/services/ledger_balance.py), so a list of thousands costs no sum over the ledger."""
    queryset = Enrollment.objects.all() if queryset is None else queryset
    return queryset.annotate(balance=F("ledger_balance")).annotate(
        owed=Greatest(-F("ledger_balance"), Value(ZERO), output_field=_MONEY)
    )


def enrollment_balance(enrollment: Enrollment) -> Decimal:
    """Credits − debits of one enrollment (negative = owes)."""
    total = LedgerEntry.objects.filter(enrollment=enrollment).aggregate(
        balance=Coalesce(Sum(_signed_amount()), Value(ZERO), output_field=_MONEY)
    )["balance"]
    return money_round(total)


@dataclasses.dataclass(frozen=True)
class DoorMoney:
    """What the door needs to know about one enrollment's money (R5)."""

    balance: Decimal
    # Debits dated before the month minus every credit: what is still owed from earlier months
    # (credits pay the oldest debt first).
    arrears_before_month: Decimal
    month_charged: bool
    student_has_paid: bool

    @property
    def owed(self) -> Decimal:
        return max(-self.balance, ZERO)


def door_money(enrollment: Enrollment, *, month_start: datetime.date) -> DoorMoney:
    """What R5 needs about one enrollment, in one query over the student's ledger entries
    (the door runs it on every scan: see bench/scans.py)."""
    own = Q(enrollment_id=enrollment.pk)
    sums = LedgerEntry.objects.filter(enrollment__student_id=enrollment.student_id).aggregate(
        balance=Coalesce(Sum(_signed_amount(), filter=own), Value(ZERO), output_field=_MONEY),
        credits=Coalesce(Sum("amount", filter=own & Q(entry_type__in=CREDIT_LIST)), Value(ZERO), output_field=_MONEY),
        debits_before=Coalesce(
            Sum("amount", filter=own & Q(entry_type__in=DEBIT_LIST, date__lt=month_start)),
            Value(ZERO),
            output_field=_MONEY,
        ),
        month_charges=Count(
            "pk",
            filter=own & Q(entry_type=EntryType.CHARGE, period_month=month_start, reversed_at__isnull=True),
        ),
        payments=Count("pk", filter=Q(entry_type=EntryType.PAYMENT, reversed_at__isnull=True)),
    )
    return DoorMoney(
        balance=money_round(sums["balance"]),
        arrears_before_month=money_round(max(sums["debits_before"] - sums["credits"], ZERO)),
        month_charged=sums["month_charges"] > 0,
        student_has_paid=sums["payments"] > 0,
    )


def student_balance_through(student_id: int, last_entry_id: int) -> Decimal:
    """The student's balance counting his ledger entries up to this one (the ledger is
    append-only, so this is his balance at the moment that entry was written)."""
    total = LedgerEntry.objects.filter(enrollment__student_id=student_id, pk__lte=last_entry_id).aggregate(
        balance=Coalesce(Sum(_signed_amount()), Value(ZERO), output_field=_MONEY)
    )["balance"]
    return money_round(total)


def unpaid_sessions(owed: Decimal, price: Decimal) -> int:
    """Session groups: how many sessions ``owed`` stands for, a part session counting as one."""
    if owed <= 0 or price <= 0:
        return 0
    return int((owed / price).to_integral_value(rounding=ROUND_CEILING))


def students_with_balance(queryset: QuerySet | None = None) -> QuerySet:
    """Students annotated with ``balance`` (credits − debits over all their enrollments) and
    ``owed`` (the sum of what each enrollment owes; a credit in one group does not pay another),
    from each enrollment's kept balance."""
    from core.models import Student

    queryset = Student.objects.all() if queryset is None else queryset
    per_student = Enrollment.objects.filter(student_id=OuterRef("pk")).order_by().values("student_id")
    balance = per_student.annotate(total=Sum("ledger_balance")).values("total")[:1]
    owed = per_student.annotate(total=Sum(Greatest(-F("ledger_balance"), Value(ZERO), output_field=_MONEY))).values(
        "total"
    )[:1]
    return queryset.annotate(
        balance=Coalesce(Subquery(balance, output_field=_MONEY), Value(ZERO), output_field=_MONEY),
        owed=Coalesce(Subquery(owed, output_field=_MONEY), Value(ZERO), output_field=_MONEY),
    )


def enrollments_payable(student) -> list[Enrollment]:
    """What the desk takes money for (R8): every active enrollment of the student and every
    ended (or transferred) one that still owes, annotated with ``balance`` and ``owed``;
    active ones first, each part by group code."""
    rows = enrollments_with_balance(Enrollment.objects.filter(student=student)).select_related("group")
    return [
        row for row in rows.order_by("-is_active", "group__code", "start_date", "id") if row.is_active or row.owed > 0
    ]


def defaulters_owed(students: QuerySet, *, group_id: int | None = None) -> QuerySet:
    """``{"student_id", "owed"}`` for the students of ``students`` who owe, most owed first.

    One aggregate over the enrollments that owe (their kept balance is below zero): the report
    never evaluates a balance for the students who owe nothing, however many there are."""
    owing = Enrollment.objects.filter(ledger_balance__lt=0, student__in=students)
    if group_id is not None:
        owing = owing.filter(
            student__in=Enrollment.objects.filter(group_id=group_id, is_active=True).values("student_id")
        )
    return (
        owing.values("student_id")
        .annotate(owed=Sum(-F("ledger_balance"), output_field=_MONEY))
        .order_by("-owed", "student__full_name", "student_id")
    )
