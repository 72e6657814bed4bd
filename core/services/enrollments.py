"""Enrolling students in groups, changing their fee plan, transferring and ending."""

import datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from core.models import AuditLog, Enrollment, EntryType, FeePeriod, FeePlan, Group, LedgerEntry, Student
from core.services.audit import audit_record, changes_between, snapshot

ENROLLMENT_FIELDS = ["student", "group", "fee_plan", "custom_fee", "fee_reason", "start_date", "end_date", "is_active"]
MONEY_MAX = Decimal("1000000")


def fee_plan_clean(fee_plan: str, custom_fee, fee_reason: str) -> tuple[str, Decimal | None, str]:
    """Validate a fee plan: reduced needs a fee and a reason, exempt a reason."""
    reason = (fee_reason or "").strip()
    if fee_plan not in FeePlan.values:
        raise ValidationError({"fee_plan": _("Choose a fee plan.")})
    if fee_plan == FeePlan.NORMAL:
        return fee_plan, None, reason
    errors = {}
    fee = None
    if fee_plan == FeePlan.REDUCED:
        try:
            fee = Decimal(str(custom_fee)) if custom_fee not in (None, "") else None
        except InvalidOperation:
            fee = None
        if fee is None or not fee.is_finite() or fee < 0 or fee >= MONEY_MAX or fee != fee.quantize(Decimal("0.01")):
            errors["custom_fee"] = _("Enter the reduced fee in EGP (0 or more, at most 2 decimals).")
        else:
            fee = fee.quantize(Decimal("0.01"))
    if not reason:
        errors["fee_reason"] = _("Give the reason for this fee plan.")
    if errors:
        raise ValidationError(errors)
    return fee_plan, fee, reason


def enrollment_create(
    *,
    actor,
    student: Student,
    group: Group,
    fee_plan: str = FeePlan.NORMAL,
    custom_fee=None,
    fee_reason: str = "",
    start_date: datetime.date | None = None,
) -> Enrollment:
    """Enroll a student: one active enrollment per student and group, within the group's capacity."""
    fee_plan, fee, reason = fee_plan_clean(fee_plan, custom_fee, fee_reason)
    with transaction.atomic():
        # Locking the group serializes enrollments into it, so capacity holds under races.
        locked_group = Group.objects.select_for_update().get(pk=group.pk)
        if not locked_group.is_active:
            raise ValidationError({"group": _("The group %(group)s is not active.") % {"group": locked_group.code}})
        if not student.is_active:
            raise ValidationError({"student": _("The student is not active.")})
        active = Enrollment.objects.filter(group=locked_group, is_active=True)
        if active.filter(student=student).exists():
            raise ValidationError(
                {
                    "group": _("%(student)s is already enrolled in %(group)s.")
                    % {"student": student.full_name, "group": locked_group.code}
                }
            )
        if active.count() >= locked_group.capacity:
            raise ValidationError(
                {
                    "group": _("The group %(group)s is full (%(capacity)s students).")
                    % {"group": locked_group.code, "capacity": locked_group.capacity}
                }
            )
        enrollment = Enrollment(
            student=student,
            group=locked_group,
            fee_plan=fee_plan,
            custom_fee=fee,
            fee_reason=reason,
            start_date=start_date or timezone.localdate(),
        )
        try:
            with transaction.atomic():
                enrollment.save()
        except IntegrityError as exc:
            raise ValidationError(
                {
                    "group": _("%(student)s is already enrolled in %(group)s.")
                    % {"student": student.full_name, "group": locked_group.code}
                }
            ) from exc
        audit_record(
            actor=actor,
            action=AuditLog.Action.CREATE,
            instance=enrollment,
            changes={field: [None, value] for field, value in snapshot(enrollment, ENROLLMENT_FIELDS).items()},
        )
    return enrollment


def enrollment_change_plan(
    *, actor, enrollment: Enrollment, fee_plan: str, custom_fee=None, fee_reason: str = ""
) -> Enrollment:
    """Change the fee plan of an enrollment (normal / reduced with fee / exempt), audited."""
    fee_plan, fee, reason = fee_plan_clean(fee_plan, custom_fee, fee_reason)
    with transaction.atomic():
        locked = Enrollment.objects.select_for_update().get(pk=enrollment.pk)
        before = snapshot(locked, ENROLLMENT_FIELDS)
        locked.fee_plan, locked.custom_fee, locked.fee_reason = fee_plan, fee, reason
        diff = changes_between(before, snapshot(locked, ENROLLMENT_FIELDS))
        if diff:
            locked.save(update_fields=["fee_plan", "custom_fee", "fee_reason"])
            audit_record(actor=actor, action=AuditLog.Action.UPDATE, instance=locked, changes=diff, reason=reason)
    return locked


def enrollment_end(
    *, actor, enrollment: Enrollment, on_date: datetime.date | None = None, reason: str = ""
) -> Enrollment:
    """Close an enrollment on a date (default today). Its history stays."""
    end = on_date or timezone.localdate()
    with transaction.atomic():
        locked = Enrollment.objects.select_for_update().get(pk=enrollment.pk)
        if not locked.is_active:
            raise ValidationError(_("This enrollment has already ended."))
        if end < locked.start_date:
            raise ValidationError(
                {
                    "end_date": _("The end date cannot be before the start date (%(date)s).")
                    % {"date": locked.start_date}
                }
            )
        before = snapshot(locked, ENROLLMENT_FIELDS)
        locked.end_date, locked.is_active = end, False
        locked.save(update_fields=["end_date", "is_active"])
        audit_record(
            actor=actor,
            action=AuditLog.Action.END,
            instance=locked,
            changes=changes_between(before, snapshot(locked, ENROLLMENT_FIELDS)),
            reason=reason,
        )
    return locked


def _month_already_charged(enrollment: Enrollment, month: datetime.date) -> Decimal:
    """What the student was charged for ``month`` in this enrollment, a month it carried included."""
    charged = LedgerEntry.objects.filter(
        enrollment=enrollment, entry_type=EntryType.CHARGE, period_month=month, reversed_at__isnull=True
    ).aggregate(total=Sum("amount"))["total"] or Decimal("0.00")
    if enrollment.carried_month == month:
        charged += enrollment.carried_amount
    return Decimal(charged).quantize(Decimal("0.01"))


def enrollment_transfer(
    *, actor, enrollment: Enrollment, to_group: Group, on_date: datetime.date | None = None, reason: str = ""
) -> Enrollment:
    """Move a student to another group: the old enrollment ends, a new one opens with the same plan.

    R12: between two monthly groups the month of the transfer is carried. What the old group
    already charged for it is kept on the new enrollment, which then charges only a higher fee's
    difference for that month (nothing when the new fee is the same or lower)."""
    if to_group.pk == enrollment.group_id:
        raise ValidationError({"to_group": _("Choose a different group to transfer to.")})
    day = on_date or timezone.localdate()
    month = day.replace(day=1)
    with transaction.atomic():
        ended = enrollment_end(actor=actor, enrollment=enrollment, on_date=day, reason=reason)
        new = enrollment_create(
            actor=actor,
            student=ended.student,
            group=to_group,
            fee_plan=ended.fee_plan,
            custom_fee=ended.custom_fee,
            fee_reason=ended.fee_reason,
            start_date=day,
        )
        changes = {"group": [ended.group.code, to_group.code]}
        both_monthly = ended.group.fee_period == FeePeriod.MONTH and new.group.fee_period == FeePeriod.MONTH
        carried = _month_already_charged(ended, month) if both_monthly else Decimal("0.00")
        new.transferred_from = ended
        update_fields = ["transferred_from"]
        if carried > 0:
            new.carried_month, new.carried_amount = month, carried
            update_fields += ["carried_month", "carried_amount"]
            changes["carried_month"] = [None, f"{month:%Y-%m}"]
            changes["carried_amount"] = [None, str(carried)]
        new.save(update_fields=update_fields)
        audit_record(actor=actor, action=AuditLog.Action.TRANSFER, instance=new, changes=changes, reason=reason)
    return new
