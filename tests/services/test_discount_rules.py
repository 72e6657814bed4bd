"""Discount rules (issue 18): the pure engine at its boundaries, the facts it reads (siblings),
the ledger rows and audit rows it writes, taking a discount back with its charge, the monthly
report, and settlements paying the teacher on what was collected, not on the discounted charge."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from core.models import (
    AuditLog,
    DiscountApplication,
    DiscountKind,
    DiscountRule,
    EntryType,
    FeePeriod,
    LedgerEntry,
    SettlementLine,
)
from core.selectors.catalog import charge_discounts, discounts_month
from core.services.discount_rules import (
    SiblingRanks,
    charge_discounts_post,
    charge_discounts_undo,
    discount_lines,
    discount_rule_save,
    sibling_ranks,
)
from core.services.payments import discount_grant, payment_record
from core.services.sessions import session_cancel
from core.services.settlements import settlement_run
from tests.factories import cairo, enroll, make_group, make_session, make_student, pay, scan

pytestmark = pytest.mark.django_db
NOV = datetime.date(2026, 11, 1)


def rule(**fields) -> DiscountRule:
    """An unsaved rule for the pure engine."""
    fields.setdefault("starts_on", datetime.date(2026, 1, 1))
    fields.setdefault("is_active", True)
    fields.setdefault("pk", None)
    pk = fields.pop("pk")
    made = DiscountRule(**fields)
    made.pk = pk
    return made


def rule_save(**fields) -> DiscountRule:
    """A saved rule through the service, in force since the start of the year."""
    fields.setdefault("starts_on", datetime.date(2026, 1, 1))
    return discount_rule_save(**fields)


def charge(enrollment, amount: str, day: datetime.date) -> LedgerEntry:
    entry = LedgerEntry.objects.create(
        enrollment=enrollment, entry_type=EntryType.CHARGE, amount=Decimal(amount), date=day, source="door"
    )
    entry.enrollment = enrollment
    return entry


def discounts_of(enrollment) -> list[Decimal]:
    return list(
        LedgerEntry.objects.filter(enrollment=enrollment, entry_type=EntryType.DISCOUNT)
        .order_by("pk")
        .values_list("amount", flat=True)
    )


def balance(enrollment) -> Decimal:
    enrollment.refresh_from_db()
    return enrollment.ledger_balance


# --- the pure engine ---------------------------------------------------------------------------


def test_a_sibling_rule_skips_the_first_child_and_gives_the_second_its_percent():
    siblings = rule(pk=1, name="إخوة", kind=DiscountKind.SIBLING, percent=Decimal("10"))
    first = discount_lines(amount=Decimal("200"), day=NOV, rules=[siblings], student_id=5, group_id=1)
    second = discount_lines(
        amount=Decimal("200"), day=NOV, rules=[siblings], student_id=6, group_id=1, siblings=SiblingRanks(2, 2)
    )
    assert first == []
    assert [line.amount for line in second] == [Decimal("20.00")]


def test_a_group_sibling_rule_counts_siblings_in_that_group_only():
    in_group = rule(pk=1, name="g", kind=DiscountKind.SIBLING, percent=Decimal("10"), group_id=7)
    # His brother is enrolled elsewhere in the center, not in group 7.
    ranks = SiblingRanks(here=1, anywhere=2)
    assert (
        discount_lines(amount=Decimal("100"), day=NOV, rules=[in_group], student_id=6, group_id=7, siblings=ranks) == []
    )
    ranks = SiblingRanks(here=2, anywhere=2)
    lines = discount_lines(amount=Decimal("100"), day=NOV, rules=[in_group], student_id=6, group_id=7, siblings=ranks)
    assert [line.amount for line in lines] == [Decimal("10.00")]
    # and it does not reach his charges in another group
    assert (
        discount_lines(amount=Decimal("100"), day=NOV, rules=[in_group], student_id=6, group_id=8, siblings=ranks) == []
    )


def test_a_scholarship_ends_on_its_date():
    scholarship = rule(
        pk=2,
        name="منحة",
        kind=DiscountKind.SCHOLARSHIP,
        percent=Decimal("50"),
        student_id=9,
        reason="متفوق",
        starts_on=datetime.date(2026, 9, 1),
        ends_on=datetime.date(2026, 11, 30),
    )

    def off(day):
        return [
            line.amount
            for line in discount_lines(amount=Decimal("150"), day=day, rules=[scholarship], student_id=9, group_id=1)
        ]

    assert off(datetime.date(2026, 8, 31)) == []
    assert off(datetime.date(2026, 9, 1)) == [Decimal("75.00")]
    assert off(datetime.date(2026, 11, 30)) == [Decimal("75.00")]
    assert off(datetime.date(2026, 12, 1)) == []
    # another student's scholarship gives this one nothing
    assert discount_lines(amount=Decimal("150"), day=NOV, rules=[scholarship], student_id=10, group_id=1) == []


def test_rules_stack_but_never_take_more_than_the_charge():
    orphan = rule(
        pk=3,
        name="يتيم",
        kind=DiscountKind.ORPHAN,
        percent=Decimal("100"),
        student_id=9,
        reason="r",
        ends_on=datetime.date(2027, 1, 1),
    )
    siblings = rule(pk=4, name="إخوة", kind=DiscountKind.SIBLING, fixed_amount=Decimal("30"))
    lines = discount_lines(
        amount=Decimal("80"), day=NOV, rules=[siblings, orphan], student_id=9, group_id=1, siblings=SiblingRanks(2, 2)
    )
    assert [(line.rule.name, line.amount) for line in lines] == [("يتيم", Decimal("80.00"))]
    fixed = discount_lines(
        amount=Decimal("20"), day=NOV, rules=[siblings], student_id=9, group_id=1, siblings=SiblingRanks(3, 3)
    )
    assert [line.amount for line in fixed] == [Decimal("20.00")]


def test_an_inactive_rule_gives_nothing():
    siblings = rule(pk=1, name="x", kind=DiscountKind.SIBLING, percent=Decimal("10"), is_active=False)
    assert (
        discount_lines(
            amount=Decimal("100"), day=NOV, rules=[siblings], student_id=1, group_id=1, siblings=SiblingRanks(2, 2)
        )
        == []
    )


# --- saving rules ------------------------------------------------------------------------------


def test_only_the_owner_sets_rules_and_each_save_is_audited(owner, receptionist, accountant):
    with pytest.raises(PermissionDenied):
        discount_rule_save(actor=receptionist, name="x", kind=DiscountKind.SIBLING, percent=Decimal("10"))
    with pytest.raises(PermissionDenied):
        discount_rule_save(actor=accountant, name="x", kind=DiscountKind.SIBLING, percent=Decimal("10"))
    made = discount_rule_save(actor=owner, name="إخوة", kind=DiscountKind.SIBLING, percent=Decimal("10"))
    discount_rule_save(actor=owner, rule=made, percent=Decimal("15"))
    rows = AuditLog.objects.filter(model="core.discountrule", object_id=str(made.pk)).order_by("pk")
    assert [row.action for row in rows] == ["create", "update"]
    assert rows[1].changes == {"percent": ["10.00", "15"]}


def test_a_scholarship_needs_its_student_reason_and_end_date(owner):
    with pytest.raises(ValidationError) as error:
        discount_rule_save(actor=owner, name="منحة", kind=DiscountKind.SCHOLARSHIP, percent=Decimal("50"))
    assert {"student", "reason", "ends_on"} <= set(error.value.message_dict)
    with pytest.raises(ValidationError) as error:
        discount_rule_save(actor=owner, name="x", kind=DiscountKind.ORPHAN, fixed_amount=Decimal("50"))
    assert "fixed_amount" in error.value.message_dict
    assert not DiscountRule.objects.exists()


# --- posting -----------------------------------------------------------------------------------


@pytest.fixture
def family(main_branch):
    """Three children of one guardian, registered in order, all in one 200-a-month group."""
    group = make_group(main_branch, fee="200.00")
    children = [make_student(main_branch, guardian_phone="01001112223") for _ in range(3)]
    enrollments = [enroll(child, group) for child in children]
    return group, children, enrollments


def test_a_sibling_rule_applies_to_the_second_child_only(owner, family):
    group, _children, (first, second, third) = family
    rule_save(actor=owner, name="خصم الإخوة", kind=DiscountKind.SIBLING, percent=Decimal("10"), group=group)
    for enrollment in (first, second, third):
        charge_discounts_post(charge=charge(enrollment, "200.00", NOV), actor=None)
    assert discounts_of(first) == []
    assert discounts_of(second) == [Decimal("20.00")]
    assert discounts_of(third) == [Decimal("20.00")]
    assert balance(second) == Decimal("-180.00")
    assert AuditLog.objects.filter(model="core.discountapplication").count() == 2


def test_the_first_childs_place_passes_to_the_next_when_he_leaves(owner, family):
    group, children, (first, _second, _third) = family
    assert sibling_ranks(student_id=children[1].pk, group_id=group.pk) == SiblingRanks(2, 2)
    first.is_active = False
    first.save(update_fields=["is_active"])
    assert sibling_ranks(student_id=children[1].pk, group_id=group.pk) == SiblingRanks(1, 1)


def test_an_everywhere_sibling_rule_counts_a_brother_in_another_group(owner, main_branch):
    older = make_student(main_branch, guardian_phone="01009998887")
    younger = make_student(main_branch, guardian_phone="01009998887")
    enroll(older, make_group(main_branch))
    own = enroll(younger, make_group(main_branch, fee="100.00"))
    rule_save(actor=owner, name="إخوة", kind=DiscountKind.SIBLING, fixed_amount=Decimal("15"))
    charge_discounts_post(charge=charge(own, "100.00", NOV))
    assert discounts_of(own) == [Decimal("15.00")]


def test_a_scholarship_stops_on_the_day_after_its_end(owner, main_branch):
    student = make_student(main_branch)
    enrollment = enroll(student, make_group(main_branch))
    rule_save(
        actor=owner,
        name="منحة التفوق",
        kind=DiscountKind.SCHOLARSHIP,
        percent=Decimal("50"),
        student=student,
        reason="الأول على المدرسة",
        starts_on=datetime.date(2026, 9, 1),
        ends_on=datetime.date(2026, 11, 30),
    )
    charge_discounts_post(charge=charge(enrollment, "200.00", datetime.date(2026, 11, 30)))
    charge_discounts_post(charge=charge(enrollment, "200.00", datetime.date(2026, 12, 1)))
    assert discounts_of(enrollment) == [Decimal("100.00")]
    assert balance(enrollment) == Decimal("-300.00")


def test_a_reversed_charge_takes_its_discount_back(owner, family):
    _group, _children, (_first, second, _third) = family
    rule_save(actor=owner, name="إخوة", kind=DiscountKind.SIBLING, percent=Decimal("25"))
    posted = charge(second, "200.00", NOV)
    charge_discounts_post(charge=posted)
    assert balance(second) == Decimal("-150.00")
    # the cancelled session's reversal of the charge, and our undo beside it
    LedgerEntry.objects.create(
        enrollment=second,
        entry_type=EntryType.REVERSAL,
        amount=posted.amount,
        date=NOV,
        reverses=posted,
        source="system",
    )
    undone = charge_discounts_undo(charges=[posted], reason="الحصة ألغيت")
    assert [entry.entry_type for entry in undone] == [EntryType.ADJUSTMENT]
    assert balance(second) == Decimal("0.00")
    assert DiscountApplication.objects.get().undone_at is not None
    assert charge_discounts(charge_ids=[posted.pk]) == {}
    # taken back once only
    assert charge_discounts_undo(charges=[posted]) == []
    assert discounts_month(month=NOV) == []


def test_the_month_report_sums_rule_discounts_and_hand_discounts(owner, accountant, family):
    _group, _children, (first, second, third) = family
    made = rule_save(actor=owner, name="إخوة", kind=DiscountKind.SIBLING, percent=Decimal("10"))
    for enrollment in (first, second, third):
        charge_discounts_post(charge=charge(enrollment, "200.00", NOV))
    charge_discounts_post(charge=charge(second, "200.00", datetime.date(2026, 12, 2)))  # next month
    in_november = datetime.datetime(2026, 11, 20, 12, tzinfo=datetime.UTC)
    discount_grant(enrollment=first, actor=accountant, amount="5.00", reason="خطأ", now=in_november)
    rows = {row.kind: row for row in discounts_month(month=datetime.date(2026, 11, 1))}
    assert rows["sibling"].rule_id == made.pk
    assert (rows["sibling"].charges, rows["sibling"].total) == (2, Decimal("40.00"))
    assert (rows["manual"].rule_id, rows["manual"].charges, rows["manual"].total) == (None, 1, Decimal("5.00"))
    assert [row.total for row in discounts_month(month=datetime.date(2026, 12, 1))] == [Decimal("20.00")]


def test_a_discount_lowers_what_is_owed_not_the_teachers_share_of_what_was_paid(
    owner, receptionist, accountant, family
):
    group, children, (_first, second, _third) = family
    rule_save(actor=owner, name="إخوة", kind=DiscountKind.SIBLING, percent=Decimal("10"))
    charge_discounts_post(charge=charge(second, "200.00", NOV))
    receipt = payment_record(
        student=children[1],
        cashier=receptionist,
        amount="180.00",
        now=datetime.datetime(2026, 11, 10, 10, tzinfo=datetime.UTC),
    )
    assert [entry.enrollment_id for entry in receipt.entries.all()] == [second.pk]
    assert balance(second) == Decimal("0.00")
    settlement = settlement_run(teacher=group.teacher, month="2026-11", actor=accountant)
    line = settlement.lines.get(group=group)
    assert line.kind == SettlementLine.Kind.PERCENT
    # R9: 70 % of the 180 collected, not of the 200 charged and not less the discount again
    assert (line.collected, line.amount) == (Decimal("180.00"), Decimal("126.00"))


def test_the_door_charge_gets_its_discount_and_a_cancellation_takes_it_back(owner, manager, main_branch, room):
    group = make_group(main_branch, fee="100.00", fee_period=FeePeriod.SESSION, room=room)
    older = make_student(main_branch, guardian_phone="01005550001")
    younger = make_student(main_branch, guardian_phone="01005550001")
    enroll(older, group)
    mine = enroll(younger, group)
    pay(mine, "100.00")
    rule_save(actor=owner, name="إخوة", kind=DiscountKind.SIBLING, percent=Decimal("20"))
    session = make_session(group, room)
    assert scan(younger, cairo(15, 50)).code == "present"
    charge_row = LedgerEntry.objects.get(enrollment=mine, entry_type=EntryType.CHARGE)
    assert [a.amount for a in charge_discounts([charge_row.pk])[charge_row.pk]] == [Decimal("20.00")]
    assert balance(mine) == Decimal("20.00")  # paid 100, charged 100, 20 off
    session_cancel(actor=manager, session=session, reason="الأستاذ مريض")
    assert balance(mine) == Decimal("100.00")  # not charged, and no discount left as credit


def test_the_door_asks_for_what_is_owed_after_the_discount(owner, main_branch, room):
    """A scholarship student who paid his discounted session ahead is let in owing nothing, and
    his unpaid sessions count at the discounted price (R5 grace 2: the third unpaid is refused)."""
    from core.models import CenterSettings
    from core.services.door.rules import money_verdict

    group = make_group(main_branch, fee="100.00", fee_period=FeePeriod.SESSION, room=room)
    student = make_student(main_branch)
    mine = enroll(student, group)
    pay(mine, "40.00")
    rule_save(
        actor=owner,
        name="منحة",
        kind=DiscountKind.SCHOLARSHIP,
        percent=Decimal("60"),
        student=student,
        reason="متفوق",
        ends_on=datetime.date(2027, 6, 30),
    )
    center = CenterSettings.load()
    verdict = money_verdict(mine, today=NOV.replace(day=26), center=center)
    assert (verdict.admitted, verdict.owed, verdict.charge) == (True, Decimal("0.00"), Decimal("100.00"))
    # He prepaid one discounted session (40). After two more sessions one is unpaid (40): the next
    # makes two unpaid (80), still admitted; at the discounted price, not the fee's 100.
    charge_discounts_post(charge=charge(mine, "100.00", NOV))
    charge_discounts_post(charge=charge(mine, "100.00", NOV))
    assert balance(mine) == Decimal("-40.00")
    verdict = money_verdict(mine, today=NOV.replace(day=26), center=center)
    assert (verdict.admitted, verdict.owed) == (True, Decimal("80.00"))
    # One more: the next would be the third unpaid session (120 = 3 × 40), refused. Counted at the
    # fee's price it would have been two (120 / 100) and let in.
    charge_discounts_post(charge=charge(mine, "100.00", NOV))
    verdict = money_verdict(mine, today=NOV.replace(day=26), center=center)
    assert (verdict.admitted, verdict.owed) == (False, Decimal("120.00"))
