"""Discount rules applied when a charge is posted (issue 18; models in core/models/discounts.py).

The rule engine is the pure function ``discount_lines``: given a charge's amount and day, the
rules that could apply and the student's place among his siblings, it says which discounts the
charge gets. ``charge_discounts_post`` reads those facts (one query when no rule can apply, the
door's case in a center without rules) and writes each discount as a ``discount`` ledger credit,
a ``DiscountApplication`` and an audit row, inside the caller's transaction.

Rules stack: each rule's discount is reckoned on the full charge, in the order student rules
first (scholarship, orphan, staff child), then siblings; the sum never goes above the charge.
A discount lowers what is owed; it is not collected money, so settlements (R9) never count it.
"""

import dataclasses
import datetime
from collections.abc import Iterable
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core.models import (
    AuditLog,
    DiscountApplication,
    DiscountKind,
    DiscountRule,
    EntryType,
    LedgerEntry,
    Student,
    StudentGuardian,
    User,
)
from core.models.discounts import STUDENT_KINDS
from core.selectors.money import ZERO, money_round
from core.services.audit import audit_record, changes_between, snapshot

HUNDRED = Decimal("100")
# Student rules come before sibling rules: the cap at the charge then cuts the sibling discount.
_KIND_ORDER = {
    DiscountKind.SCHOLARSHIP: 0,
    DiscountKind.ORPHAN: 1,
    DiscountKind.STAFF_CHILD: 2,
    DiscountKind.SIBLING: 3,
}
RULE_FIELDS = [
    "name",
    "kind",
    "percent",
    "fixed_amount",
    "group",
    "student",
    "reason",
    "starts_on",
    "ends_on",
    "is_active",
]


@dataclasses.dataclass(frozen=True)
class DiscountLine:
    rule: DiscountRule
    amount: Decimal

    @property
    def label(self) -> str:
        return self.rule.name


@dataclasses.dataclass(frozen=True)
class SiblingRanks:
    """The student's place among his guardians' children (1 = the first registered): among
    those actively enrolled in the charge's group, and among those actively enrolled anywhere."""

    here: int = 1
    anywhere: int = 1


def rule_applies(
    rule: DiscountRule, *, day: datetime.date, student_id: int, group_id: int, siblings: SiblingRanks
) -> bool:
    if not rule.is_active or day < rule.starts_on:
        return False
    if rule.ends_on is not None and day > rule.ends_on:  # ends_on is the last day it applies
        return False
    if rule.group_id is not None and rule.group_id != group_id:
        return False
    if rule.kind == DiscountKind.SIBLING:
        return (siblings.here if rule.group_id is not None else siblings.anywhere) >= 2
    return rule.student_id == student_id


def discount_lines(
    *,
    amount: Decimal,
    day: datetime.date,
    rules: Iterable[DiscountRule],
    student_id: int,
    group_id: int,
    siblings: SiblingRanks = SiblingRanks(),
) -> list[DiscountLine]:
    """The discounts a charge of ``amount`` on ``day`` gets from ``rules`` (pure: no queries)."""
    if amount <= 0:
        return []
    lines, left = [], amount
    ordered = sorted(rules, key=lambda rule: (_KIND_ORDER[rule.kind], rule.pk or 0))
    for rule in ordered:
        if left <= 0:
            break
        if not rule_applies(rule, day=day, student_id=student_id, group_id=group_id, siblings=siblings):
            continue
        if rule.percent is not None:
            off = money_round(amount * rule.percent / HUNDRED)
        else:
            off = money_round(rule.fixed_amount)
        off = min(off, left)
        if off > 0:
            lines.append(DiscountLine(rule=rule, amount=off))
            left -= off
    return lines


# --- reading the facts --------------------------------------------------------------------------


def rules_for(*, student_id: int, group_id: int, day: datetime.date) -> list[DiscountRule]:
    """Active rules that could apply to this student's charge in this group on this day (one query)."""
    return list(
        DiscountRule.objects.filter(is_active=True, starts_on__lte=day)
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=day))
        .filter(Q(group__isnull=True) | Q(group_id=group_id))
        .filter(Q(kind=DiscountKind.SIBLING) | Q(student_id=student_id))
    )


def _rules_of(enrollment, day: datetime.date) -> list[DiscountRule]:
    """``rules_for`` kept on the enrollment object for the day: the door's verdict and its charge
    ask for the same enrollment's rules in one scan, and read them once."""
    cache = enrollment.__dict__.setdefault("_discount_rules", {})
    if day not in cache:
        cache[day] = rules_for(student_id=enrollment.student_id, group_id=enrollment.group_id, day=day)
    return cache[day]


def rules_none_for(enrollment, day: datetime.date) -> None:
    """Note on the enrollment that no rule applies to it on ``day``, as the door's one read has
    found (``door/read.py``): its verdict and its charge then make no query of their own."""
    enrollment.__dict__.setdefault("_discount_rules", {})[day] = []


def _siblings_of(enrollment, rules: list[DiscountRule]) -> SiblingRanks:
    if not any(rule.kind == DiscountKind.SIBLING for rule in rules):
        return SiblingRanks()
    if "_sibling_ranks" not in enrollment.__dict__:
        enrollment.__dict__["_sibling_ranks"] = sibling_ranks(
            student_id=enrollment.student_id, group_id=enrollment.group_id
        )
    return enrollment.__dict__["_sibling_ranks"]


def charge_discount_total(enrollment, *, amount: Decimal, day: datetime.date) -> Decimal:
    """What the rules take off a charge of ``amount`` for this enrollment on ``day`` (the door's
    verdict: what admitting will leave owed). Reads nothing more when the charge is posted."""
    if amount <= 0:
        return ZERO
    rules = _rules_of(enrollment, day)
    if not rules:
        return ZERO
    lines = discount_lines(
        amount=amount,
        day=day,
        rules=rules,
        student_id=enrollment.student_id,
        group_id=enrollment.group_id,
        siblings=_siblings_of(enrollment, rules),
    )
    return sum((line.amount for line in lines), ZERO)


def sibling_ranks(*, student_id: int, group_id: int) -> SiblingRanks:
    """Count the active children of the student's guardians registered before him (one query)."""
    guardians = StudentGuardian.objects.filter(student_id=student_id).values("guardian_id")
    counts = (
        Student.objects.filter(is_active=True, pk__lt=student_id, guardian_links__guardian_id__in=guardians)
        .exclude(pk=student_id)
        .aggregate(
            here=Count("pk", distinct=True, filter=Q(enrollments__is_active=True, enrollments__group_id=group_id)),
            anywhere=Count("pk", distinct=True, filter=Q(enrollments__is_active=True)),
        )
    )
    return SiblingRanks(here=(counts["here"] or 0) + 1, anywhere=(counts["anywhere"] or 0) + 1)


# --- writing ------------------------------------------------------------------------------------


def charge_discounts_post(*, charge: LedgerEntry, actor=None) -> list[DiscountApplication]:
    """Give a freshly posted charge the discounts its rules say (call inside the charge's transaction)."""
    if charge is None or charge.entry_type != EntryType.CHARGE:
        return []
    enrollment = charge.enrollment
    rules = _rules_of(enrollment, charge.date)
    if not rules:
        return []
    siblings = _siblings_of(enrollment, rules)
    lines = discount_lines(
        amount=charge.amount,
        day=charge.date,
        rules=rules,
        student_id=enrollment.student_id,
        group_id=enrollment.group_id,
        siblings=siblings,
    )
    created_by = actor if getattr(actor, "pk", None) else None
    applications = []
    for line in lines:
        entry = LedgerEntry.objects.create(
            enrollment_id=charge.enrollment_id,
            entry_type=EntryType.DISCOUNT,
            amount=line.amount,
            date=charge.date,
            source=LedgerEntry.Source.SYSTEM,
            created_by=created_by,
            note=(_("Discount rule: %(name)s") % {"name": line.rule.name})[:255],
        )
        application = DiscountApplication.objects.create(rule=line.rule, charge=charge, entry=entry, amount=line.amount)
        audit_record(
            actor=created_by,
            action=AuditLog.Action.CREATE,
            instance=application,
            changes={"charge": [None, charge.pk], "amount": [None, str(line.amount)]},
        )
        applications.append(application)
    return applications


def charge_discounts_undo(
    *, charges: Iterable[LedgerEntry], actor=None, reason: str = "", now: datetime.datetime | None = None
) -> list[LedgerEntry]:
    """Take back the rule discounts of charges that are being reversed (a cancelled session), so
    the student is not left a credit: an ``adjustment`` debit naming each discount entry.
    Call inside the caller's transaction, beside the charges' own reversal."""
    now = now or timezone.now()
    charge_ids = [charge.pk for charge in charges]
    if not charge_ids:
        return []
    applications = list(
        DiscountApplication.objects.select_for_update()
        .filter(charge_id__in=charge_ids, undone_at__isnull=True)
        .select_related("entry")
    )
    if not applications:
        return []
    created_by = actor if getattr(actor, "pk", None) else None
    today = timezone.localdate(now)
    undone = []
    for application in applications:
        undone.append(
            LedgerEntry.objects.create(
                enrollment_id=application.entry.enrollment_id,
                entry_type=EntryType.ADJUSTMENT,
                amount=application.amount,
                date=today,
                reverses=application.entry,
                source=LedgerEntry.Source.SYSTEM,
                created_by=created_by,
                note=(reason or _("Discount taken back with its charge"))[:255],
            )
        )
        audit_record(
            actor=created_by,
            action=AuditLog.Action.CANCEL,
            instance=application,
            changes={"undone_at": [None, now.isoformat()]},
            reason=reason,
        )
    LedgerEntry.objects.filter(pk__in=[application.entry_id for application in applications]).update(reversed_at=now)
    DiscountApplication.objects.filter(pk__in=[application.pk for application in applications]).update(undone_at=now)
    return undone


def _may_manage(actor: User, rule: DiscountRule | None) -> None:
    codename = "core.add_discountrule" if rule is None else "core.change_discountrule"
    if not actor.has_perm(codename):
        raise PermissionDenied(_("Only the owner sets discount rules."))


def discount_rule_save(*, actor: User, rule: DiscountRule | None = None, **fields) -> DiscountRule:
    """Create a rule (``rule`` None) or change one, validated by the model's checks, with its audit row.

    Past discounts stay as they were given: a rule changes only the charges posted after it."""
    _may_manage(actor, rule)
    unknown = set(fields) - set(RULE_FIELDS)
    if unknown:
        raise TypeError(f"Unknown discount rule fields: {sorted(unknown)}")
    with transaction.atomic():
        if rule is not None:
            rule = DiscountRule.objects.select_for_update().get(pk=rule.pk)
            before = snapshot(rule, RULE_FIELDS)
        else:
            rule = DiscountRule(created_by=actor, starts_on=timezone.localdate())
            before = {}
        for name, value in fields.items():
            setattr(rule, name, value)
        if isinstance(rule.reason, str):
            rule.reason = rule.reason.strip()
        _rule_check(rule)
        rule.full_clean()
        rule.save()
        after = snapshot(rule, RULE_FIELDS)
        audit_record(
            actor=actor,
            action=AuditLog.Action.CREATE if not before else AuditLog.Action.UPDATE,
            instance=rule,
            changes=changes_between(before, after),
        )
    return rule


def _rule_check(rule: DiscountRule) -> None:
    """The model's database checks, said in words the owner reads on the form."""
    errors = {}
    if (rule.percent is None) == (rule.fixed_amount is None):
        errors["percent"] = _("Give either a percent or an amount off, not both.")
    elif rule.percent is not None and not (ZERO < rule.percent <= HUNDRED):
        errors["percent"] = _("The percent is more than 0 and at most 100.")
    elif rule.fixed_amount is not None:
        if rule.kind != DiscountKind.SIBLING:
            errors["fixed_amount"] = _("Only a siblings rule takes an amount off; this kind takes a percent.")
        elif rule.fixed_amount <= 0:
            errors["fixed_amount"] = _("The amount must be more than zero.")
    if rule.kind in STUDENT_KINDS:
        if rule.student_id is None:
            errors["student"] = _("Choose the student this discount is for.")
        if not rule.reason:
            errors["reason"] = _("A reason is required.")
        if rule.ends_on is None:
            errors["ends_on"] = _("Give the last day this discount applies.")
    elif rule.student_id is not None:
        errors["student"] = _("A siblings rule is for every family, not one student.")
    if rule.ends_on is not None and rule.starts_on and rule.ends_on < rule.starts_on:
        errors["ends_on"] = _("The end comes before the start.")
    if errors:
        raise ValidationError(errors)
