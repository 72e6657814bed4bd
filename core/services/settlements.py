"""Teacher settlements (SPEC.md R9): what each teacher earns for a calendar month.

Per group of the teacher:

- ``percent``: collected × rate / 100. Collected = the payment lines to the group's enrollments
  on receipts dated in the month, less the voids and refunds of those receipts known when the
  draft is computed (a receipt voided on the 2nd of the next month, before the accountant runs
  the month, is simply not collected).
- ``per_session``: held sessions (not cancelled, the teacher checked in) × rate.
- ``per_student``: admitted attendances (present or late) in sessions that were not cancelled × rate.

Plus manual items (deductions, advances, bonuses) with reasons. A draft can be recomputed at will.
Approving locks it (``computed_at`` is the watermark of what it accounted for). A void or refund
recorded after that, of a receipt dated in the locked month, becomes an ``adjustment`` line
(− amount × rate) on the teacher's next draft: the earliest draft after the locked month, so it
is counted exactly once. Nothing is ever recomputed in a locked settlement.

Queries grow with the number of teachers, never with the number of receipt lines: every sum is
one grouped query for all the groups of the run.
"""

import dataclasses
import datetime
from collections import defaultdict
from collections.abc import Callable, Iterable
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from core.models import (
    Attendance,
    AuditLog,
    EntryType,
    Group,
    ItemSaleLine,
    LedgerEntry,
    PaymentMethod,
    PayScheme,
    Session,
    Settlement,
    SettlementItem,
    SettlementLine,
    SettlementRun,
    Teacher,
    User,
)
from core.selectors.catalog import ItemShare, item_shares_by_teacher
from core.selectors.money import ZERO, money_round
from core.services.audit import audit_record
from core.services.cashbook import payout_refuse_closed
from core.services.payments import money_parse
from core.services.settlement_items import item_adjustment_lines, item_share_lines

# How far back a new draft looks for voids and refunds of locked months.
ADJUSTMENT_LOOKBACK_MONTHS = 12
HUNDRED = Decimal("100")


def month_first(value) -> datetime.date:
    """The first day of the month of a date, or of a ``YYYY-MM`` string."""
    if isinstance(value, str):
        try:
            value = datetime.date.fromisoformat(f"{value.strip()[:7]}-01")
        except ValueError:
            raise ValidationError(_("Enter a month as YYYY-MM."), code="month") from None
    if isinstance(value, datetime.datetime):
        value = timezone.localdate(value)
    return value.replace(day=1)


def month_after(month: datetime.date, count: int = 1) -> datetime.date:
    index = month.year * 12 + month.month - 1 + count
    return datetime.date(index // 12, index % 12 + 1, 1)


@dataclasses.dataclass
class _MonthFigures:
    """Grouped sums for a set of groups and one month: group id → value."""

    collected: dict[int, Decimal]
    held_sessions: dict[int, int]
    attendances: dict[int, int]


def _figures(group_ids: list[int], month: datetime.date) -> _MonthFigures:
    return _figures_by_month(group_ids, month, month)[month]


def _month_of(value) -> datetime.date:
    return (value.date() if isinstance(value, datetime.datetime) else value).replace(day=1)


def _figures_by_month(
    group_ids: list[int],
    first: datetime.date,
    last: datetime.date,
    *,
    session_groups: list[int] | None = None,
    student_groups: list[int] | None = None,
) -> dict[datetime.date, _MonthFigures]:
    """The grouped sums of every month from ``first`` to ``last`` (first days), four queries
    whatever the number of groups or months. Held sessions are counted for ``session_groups``
    and attendances for ``student_groups`` (default: all the groups); lines of the other
    schemes never read them."""
    start, end = first, month_after(last)
    session_groups = group_ids if session_groups is None else session_groups
    student_groups = group_ids if student_groups is None else student_groups
    months = {}
    month = first
    while month < end:
        months[month] = _MonthFigures(collected=defaultdict(lambda: ZERO), held_sessions={}, attendances={})
        month = month_after(month)
    # An entry is never dated before its receipt (a payment on the receipt's day, a void or
    # refund on or after it), so the entries' own date bounds the scan from below by index.
    in_months_receipts = Q(receipt__date__gte=start, receipt__date__lt=end, date__gte=start)
    collected_rows = (
        LedgerEntry.objects.filter(
            in_months_receipts,
            entry_type__in=[EntryType.PAYMENT, EntryType.VOID, EntryType.REFUND],
            enrollment__group_id__in=group_ids,
        )
        .annotate(month=TruncMonth("receipt__date"))
        .values("month", "enrollment__group_id")
        .annotate(
            paid=Sum("amount", filter=Q(entry_type=EntryType.PAYMENT)),
            undone=Sum("amount", filter=Q(entry_type__in=[EntryType.VOID, EntryType.REFUND])),
        )
        .values_list("month", "enrollment__group_id", "paid", "undone")
    )
    for month, group_id, paid, undone in collected_rows:
        months[_month_of(month)].collected[group_id] += (paid or ZERO) - (undone or ZERO)
    held = (
        Session.objects.filter(
            group_id__in=session_groups, date__gte=start, date__lt=end, teacher_checked_in_at__isnull=False
        )
        .exclude(status=Session.Status.CANCELLED)
        .annotate(month=TruncMonth("date"))
        .values("month", "group_id")
        .annotate(count=Count("id"))
        .values_list("month", "group_id", "count")
        if session_groups
        else []
    )
    for month, group_id, count in held:
        months[_month_of(month)].held_sessions[group_id] = count
    attended = (
        Attendance.objects.filter(
            session__group_id__in=student_groups,
            session__date__gte=start,
            session__date__lt=end,
            status__in=[Attendance.Status.PRESENT, Attendance.Status.LATE],
        )
        .exclude(session__status=Session.Status.CANCELLED)
        .annotate(month=TruncMonth("session__date"))
        .values("month", "session__group_id")
        .annotate(count=Count("id"))
        .values_list("month", "session__group_id", "count")
        if student_groups
        else []
    )
    for month, group_id, count in attended:
        months[_month_of(month)].attendances[group_id] = count
    for figures in months.values():
        figures.collected = dict(figures.collected)
    return months


def _group_lines(groups: Iterable[Group], figures: _MonthFigures) -> list[SettlementLine]:
    lines = []
    for group in groups:
        rate = group.pay_rate
        # Collected is kept on every line: the center's margin is collected − the teacher's share.
        collected = money_round(figures.collected.get(group.pk, ZERO))
        if group.pay_scheme == PayScheme.PERCENT:
            line = SettlementLine(
                group=group,
                kind=SettlementLine.Kind.PERCENT,
                collected=collected,
                rate=rate,
                amount=money_round(collected * rate / HUNDRED),
            )
            has_activity = collected != 0
        else:
            is_session = group.pay_scheme == PayScheme.PER_SESSION
            source = figures.held_sessions if is_session else figures.attendances
            quantity = source.get(group.pk, 0)
            line = SettlementLine(
                group=group,
                kind=SettlementLine.Kind.PER_SESSION if is_session else SettlementLine.Kind.PER_STUDENT,
                collected=collected,
                quantity=quantity,
                rate=rate,
                amount=money_round(quantity * rate),
            )
            has_activity = quantity != 0 or collected != 0
        if has_activity or group.is_active:
            lines.append(line)
    return lines


def _earlier_settlements(teacher_ids: list[int], month: datetime.date) -> dict[int, list[tuple]]:
    """(month, status, computed_at) of each teacher's settlements in the look-back window."""
    rows = (
        Settlement.objects.filter(
            teacher_id__in=teacher_ids, month__gte=month_after(month, -ADJUSTMENT_LOOKBACK_MONTHS), month__lt=month
        )
        .order_by("month")
        .values_list("teacher_id", "month", "status", "computed_at")
    )
    earlier: dict[int, list[tuple]] = defaultdict(list)
    for teacher_id, *row in rows:
        earlier[teacher_id].append(tuple(row))
    return earlier


def _locked_windows(earlier: list[tuple]) -> list[tuple[datetime.date, datetime.datetime]]:
    """Months whose later voids land on this draft: locked, with no draft between them and this
    month; each with its watermark, the last time a locked settlement from that month on accounted for it."""
    windows = []
    for index, (locked_month, status, _computed) in enumerate(earlier):
        if status == Settlement.Status.DRAFT:
            continue
        later = earlier[index:]
        if any(row[1] == Settlement.Status.DRAFT for row in later):
            continue
        windows.append((locked_month, max(row[2] for row in later if row[2] is not None)))
    return windows


def _adjustment_lines(
    teacher: Teacher, month: datetime.date, groups: dict[int, Group], earlier: list[tuple]
) -> list[SettlementLine]:
    """Voids and refunds of receipts dated in locked months, recorded after those months were
    accounted for, that belong to this draft (the earliest draft after the locked month)."""
    condition = Q(pk__in=[])
    for locked_month, watermark in _locked_windows(earlier):
        condition |= Q(
            receipt__date__gte=locked_month, receipt__date__lt=month_after(locked_month), created_at__gt=watermark
        )
    percent_groups = [pk for pk, group in groups.items() if group.pay_scheme == PayScheme.PERCENT]
    if not percent_groups or condition == Q(pk__in=[]):
        return []
    rows = (
        LedgerEntry.objects.filter(
            condition,
            entry_type__in=[EntryType.VOID, EntryType.REFUND],
            enrollment__group_id__in=percent_groups,
        )
        .annotate(source_month=TruncMonth("receipt__date"))
        .values("enrollment__group_id", "source_month")
        .annotate(total=Sum("amount"))
        .order_by("source_month", "enrollment__group_id")
        .values_list("enrollment__group_id", "source_month", "total")
    )
    lines = []
    for group_id, source_month, total in rows:
        group = groups[group_id]
        if isinstance(source_month, datetime.datetime):
            source_month = source_month.date()
        lines.append(
            SettlementLine(
                group=group,
                kind=SettlementLine.Kind.ADJUSTMENT,
                collected=-money_round(total),
                rate=group.pay_rate,
                amount=-money_round(total * group.pay_rate / HUNDRED),
                source_month=source_month,
                note=_("Voids and refunds after %(month)s was approved") % {"month": f"{source_month:%Y-%m}"},
            )
        )
    return lines


def _total(settlement: Settlement, lines: list[SettlementLine]) -> Decimal:
    items = sum((item.signed_amount for item in settlement.items.all()), ZERO)
    return money_round(sum((line.amount for line in lines), ZERO) + items)


def _drafts_create(teachers: list[Teacher], month: datetime.date) -> None:
    """Make the missing settlement rows in one statement; each is then locked on its own."""
    Settlement.objects.bulk_create(
        [Settlement(teacher=teacher, month=month) for teacher in teachers], ignore_conflicts=True
    )


def _write(
    *,
    teacher: Teacher,
    month: datetime.date,
    groups: list[Group],
    figures: _MonthFigures,
    earlier: list[tuple],
    actor,
    item_share: ItemShare | None = None,
) -> Settlement | None:
    """Replace the computed lines of the teacher's draft (None when the month is locked).
    The row exists already (``_drafts_create``)."""
    with transaction.atomic():
        settlement = Settlement.objects.select_for_update().get(teacher=teacher, month=month)
        settlement.teacher = teacher  # for the audit row's text, without another query
        if settlement.is_locked:
            return None
        _created = settlement.computed_at is None
        now = timezone.now()
        lines = _group_lines(groups, figures) + _adjustment_lines(teacher, month, {g.pk: g for g in groups}, earlier)
        windows = [(locked, month_after(locked), mark) for locked, mark in _locked_windows(earlier)]
        lines += item_share_lines(item_share) + item_adjustment_lines(teacher, windows)
        settlement.lines.all().delete()
        for line in lines:
            line.settlement = settlement
        SettlementLine.objects.bulk_create(lines)
        before = str(settlement.total)
        settlement.total = _total(settlement, lines)
        settlement.computed_at = now
        settlement.save(update_fields=["total", "computed_at"])
        audit_record(
            actor=actor,
            action=AuditLog.Action.UPDATE if not _created else AuditLog.Action.CREATE,
            instance=settlement,
            changes={"total": [None if _created else before, str(settlement.total)]},
        )
    return settlement


def _may_run(actor) -> None:
    if actor is not None and not actor.has_perm("core.run_settlement"):
        raise PermissionDenied(_("You may not run settlements."))


def settlement_run(*, teacher: Teacher, month, actor: User | None = None) -> Settlement:
    """Compute (or recompute) the teacher's draft for a month. Refused once approved."""
    _may_run(actor)
    month = month_first(month)
    groups = list(Group.objects.filter(teacher=teacher).order_by("code"))
    _drafts_create([teacher], month)
    settlement = _write(
        teacher=teacher,
        month=month,
        groups=groups,
        figures=_figures([g.pk for g in groups], month),
        earlier=_earlier_settlements([teacher.pk], month)[teacher.pk],
        actor=actor,
        item_share=item_shares_by_teacher([teacher.pk], month).get(teacher.pk),
    )
    if settlement is None:
        raise ValidationError(
            _("The settlement of %(teacher)s for %(month)s is approved and locked.")
            % {"teacher": teacher, "month": f"{month:%Y-%m}"},
            code="locked",
        )
    return settlement


def settlement_estimates(*, groups: Iterable[Group], first, last=None) -> dict[datetime.date, list[SettlementLine]]:
    """What a settlement run today would compute for these groups, month by month from
    ``first`` to ``last``: the unsaved lines of R9 (collected, quantity, the teacher's share),
    without adjustments or manual items. Read only, four grouped queries whatever the number of
    groups or months: the dashboards show it as an estimate (the teacher's month so far, the
    center's margin per month)."""
    groups = list(groups)
    first = month_first(first)
    last = month_first(last) if last is not None else first
    if not groups:
        estimates, month = {}, first
        while month <= last:
            estimates[month], month = [], month_after(month)
        return estimates
    figures = _figures_by_month(
        [group.pk for group in groups],
        first,
        last,
        session_groups=[group.pk for group in groups if group.pay_scheme == PayScheme.PER_SESSION],
        student_groups=[group.pk for group in groups if group.pay_scheme == PayScheme.PER_STUDENT],
    )
    return {month: _group_lines(groups, month_figures) for month, month_figures in figures.items()}


def settlement_estimate(*, groups: Iterable[Group], month) -> list[SettlementLine]:
    """One month of ``settlement_estimates``."""
    month = month_first(month)
    return settlement_estimates(groups=groups, first=month)[month]


def settlement_teachers(month: datetime.date):
    """Teachers with an active group, or a group with any money or session in the month."""
    end = month_after(month)
    sessions = Session.objects.filter(group__teacher=OuterRef("pk"), date__gte=month, date__lt=end)
    receipts = LedgerEntry.objects.filter(
        enrollment__group__teacher=OuterRef("pk"), receipt__date__gte=month, receipt__date__lt=end
    )
    active_groups = Group.objects.filter(teacher=OuterRef("pk"), is_active=True)
    items_sold = ItemSaleLine.objects.filter(
        teacher=OuterRef("pk"), sale__paid_on__gte=month, sale__paid_on__lt=end, sale__voided_at__isnull=True
    )
    return Teacher.objects.filter(
        Exists(active_groups) | Exists(sessions) | Exists(receipts) | Exists(items_sold)
    ).order_by("full_name", "id")


def settlements_run_month(
    *, month, actor: User | None = None, progress: Callable[[int, int, int], None] | None = None
) -> list[Settlement]:
    """Every teacher's draft for a month. Approved months are skipped, never changed.

    ``progress(done, total, skipped)`` is called after each teacher."""
    _may_run(actor)
    month = month_first(month)
    teachers = list(settlement_teachers(month))
    groups_of: dict[int, list[Group]] = defaultdict(list)
    for group in Group.objects.filter(teacher__in=teachers).order_by("code"):
        groups_of[group.teacher_id].append(group)
    figures = _figures([group.pk for groups in groups_of.values() for group in groups], month)
    earlier = _earlier_settlements([teacher.pk for teacher in teachers], month)
    item_shares = item_shares_by_teacher([teacher.pk for teacher in teachers], month)
    _drafts_create(teachers, month)
    done, skipped = [], 0
    for index, teacher in enumerate(teachers, start=1):
        settlement = _write(
            teacher=teacher,
            month=month,
            groups=groups_of[teacher.pk],
            figures=figures,
            earlier=earlier[teacher.pk],
            actor=actor,
            item_share=item_shares.get(teacher.pk),
        )
        if settlement is None:
            skipped += 1
        else:
            done.append(settlement)
        if progress is not None:
            progress(index, len(teachers), skipped)
    return done


def settlement_run_start(*, month, actor: User) -> SettlementRun:
    """Queue the whole month for the worker (django-q2) and return the run to watch."""
    from django_q.tasks import async_task

    _may_run(actor)
    month = month_first(month)
    run = SettlementRun.objects.create(month=month, started_by=actor)
    transaction.on_commit(lambda: async_task("core.tasks.settlements_run_month", run.pk, group="settlements"))
    return run


def settlement_run_execute(*, run_id: int) -> SettlementRun:
    """The worker's side of ``settlement_run_start``: run the month and record the progress."""
    run = SettlementRun.objects.get(pk=run_id)
    SettlementRun.objects.filter(pk=run.pk).update(status=SettlementRun.Status.RUNNING)

    def progress(done: int, total: int, skipped: int) -> None:
        SettlementRun.objects.filter(pk=run.pk).update(teachers_done=done, teachers_total=total, skipped_locked=skipped)

    try:
        settlements_run_month(month=run.month, actor=run.started_by, progress=progress)
    except (ValidationError, PermissionDenied, DatabaseError) as error:
        # The run's page must not show "running" for ever; the drafts written so far stay.
        SettlementRun.objects.filter(pk=run.pk).update(
            status=SettlementRun.Status.FAILED, error=str(error)[:255], finished_at=timezone.now()
        )
        if isinstance(error, DatabaseError):
            raise
    else:
        SettlementRun.objects.filter(pk=run.pk).update(status=SettlementRun.Status.DONE, finished_at=timezone.now())
    run.refresh_from_db()
    return run


# --- approval, payout, manual items ------------------------------------------------------------


def _locked(settlement: Settlement) -> Settlement:
    return Settlement.objects.select_for_update().select_related("teacher").get(pk=settlement.pk)


def settlement_approvable_from(month: datetime.date) -> datetime.date:
    """The first Cairo day on which a month's settlement may be approved: the day after it ends.

    Approving earlier would lock the month while receipts can still be dated in it, and the
    teacher would never be paid his share of them (R9)."""
    return month_after(month_first(month))


def settlement_approval_blocker(settlement: Settlement, *, now: datetime.datetime | None = None) -> str:
    """Why this settlement cannot be approved yet (translated), or "" when it can."""
    if settlement.status != Settlement.Status.DRAFT:
        return _("This settlement is already %(status)s.") % {"status": settlement.get_status_display()}
    opens = settlement_approvable_from(settlement.month)
    if timezone.localdate(now or timezone.now()) < opens:
        return _(
            "%(month)s has not ended yet: receipts can still be recorded in it. It can be approved from %(day)s."
        ) % {"month": f"{settlement.month:%Y-%m}", "day": date_format(opens, "DATE_FORMAT")}
    if settlement.computed_at is None:
        return _("Compute the settlement before approving it.")
    return ""


def settlement_approve(*, settlement: Settlement, actor: User, now: datetime.datetime | None = None) -> Settlement:
    """The owner approves a draft of a month that has ended (Cairo time): it is locked from now on."""
    if not actor.has_perm("core.approve_settlement"):
        raise PermissionDenied(_("Only the owner approves settlements."))
    now = now or timezone.now()
    with transaction.atomic():
        settlement = _locked(settlement)
        if settlement.status != Settlement.Status.DRAFT:
            raise ValidationError(
                _("This settlement is already %(status)s.") % {"status": settlement.get_status_display()},
                code="not_draft",
            )
        if timezone.localdate(now) < settlement_approvable_from(settlement.month):
            raise ValidationError(settlement_approval_blocker(settlement, now=now), code="month_not_ended")
        if settlement.computed_at is None:
            raise ValidationError(_("Compute the settlement before approving it."), code="not_computed")
        settlement.status, settlement.approved_at, settlement.approved_by = Settlement.Status.APPROVED, now, actor
        settlement.save(update_fields=["status", "approved_at", "approved_by"])
        audit_record(
            actor=actor,
            action=AuditLog.Action.UPDATE,
            instance=settlement,
            changes={"status": [Settlement.Status.DRAFT, Settlement.Status.APPROVED]},
        )
    return settlement


def settlement_pay(
    *, settlement: Settlement, actor: User, paid_on: datetime.date, method: str, reference: str = ""
) -> Settlement:
    """Record that an approved settlement was paid out."""
    if not actor.has_perm("core.run_settlement"):
        raise PermissionDenied(_("You may not record settlement payouts."))
    if method not in PaymentMethod.values:
        raise ValidationError(_("Choose a payment method."), code="method")
    with transaction.atomic():
        settlement = _locked(settlement)
        if settlement.status != Settlement.Status.APPROVED:
            raise ValidationError(
                _("Only an approved settlement can be paid; this one is %(status)s.")
                % {"status": settlement.get_status_display()},
                code="not_approved",
            )
        # The day the money leaves must be open in the cash book (a closed day never changes).
        payout_refuse_closed(settlement=settlement, paid_on=paid_on)
        settlement.status = Settlement.Status.PAID
        settlement.paid_on, settlement.payout_method = paid_on, method
        settlement.payout_reference = (reference or "").strip()[:80]
        settlement.save(update_fields=["status", "paid_on", "payout_method", "payout_reference"])
        audit_record(
            actor=actor,
            action=AuditLog.Action.UPDATE,
            instance=settlement,
            changes={"status": [Settlement.Status.APPROVED, Settlement.Status.PAID], "paid_on": [None, str(paid_on)]},
        )
    return settlement


def settlement_item_add(*, settlement: Settlement, actor: User, kind: str, amount, reason: str) -> SettlementItem:
    """A manual deduction, advance or bonus on a draft, with a reason; the total follows."""
    _may_run(actor)
    if kind not in SettlementItem.Kind.values:
        raise ValidationError(_("Choose a kind."), code="kind")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("A reason is required."), code="reason")
    amount = money_parse(amount)
    with transaction.atomic():
        settlement = _locked(settlement)
        if settlement.is_locked:
            raise ValidationError(_("This settlement is approved and locked."), code="locked")
        item = SettlementItem.objects.create(
            settlement=settlement, kind=kind, amount=amount, reason=reason[:255], created_by=actor
        )
        Settlement.objects.filter(pk=settlement.pk).update(total=F("total") + item.signed_amount)
        audit_record(
            actor=actor,
            action=AuditLog.Action.CREATE,
            instance=item,
            changes={"kind": [None, kind], "amount": [None, str(amount)]},
            reason=reason,
        )
    return item
