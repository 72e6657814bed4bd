"""Stock of notes and books per branch (issue 18): received, adjusted with a reason, never below
zero, every change a movement with the count after it and an audit row, the low-stock list,
and two desks selling the last copy at once selling it once (PostgreSQL races them for real)."""

import threading
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connections

from core.models import AuditLog, Item, ItemSale, ItemStock, StockMovement
from core.selectors.catalog import stock_low, stock_rows
from core.services.sales import sale_record
from core.services.stock import stock_adjust, stock_receive
from tests.factories import make_branch, make_student, make_teacher


def make_item(title: str = "مذكرة الجبر", **fields) -> Item:
    fields.setdefault("price", Decimal("50.00"))
    fields.setdefault("cost", Decimal("20.00"))
    return Item.objects.create(title=title, **fields)


def count(item, branch) -> int:
    return ItemStock.objects.get(item=item, branch=branch).quantity


@pytest.mark.django_db
def test_received_copies_are_counted_per_branch_with_a_movement_and_an_audit_row(main_branch, manager):
    item = make_item()
    other = make_branch()
    movement = stock_receive(item=item, branch=main_branch, quantity=30, actor=manager, reason="من المطبعة")
    stock_receive(item=item, branch=other, quantity="5", actor=manager)
    assert (count(item, main_branch), count(item, other)) == (30, 5)
    assert (movement.kind, movement.quantity, movement.balance_after) == ("received", 30, 30)
    audit = AuditLog.objects.get(model="core.stockmovement", object_id=str(movement.pk))
    assert audit.changes == {"quantity": [None, 30], "in_stock": [None, 30]}


@pytest.mark.django_db
def test_an_adjustment_needs_a_reason_and_cannot_go_below_zero(main_branch, manager):
    item = make_item()
    stock_receive(item=item, branch=main_branch, quantity=3, actor=manager)
    with pytest.raises(ValidationError) as error:
        stock_adjust(item=item, branch=main_branch, change=-1, actor=manager, reason=" ")
    assert error.value.code == "reason"
    with pytest.raises(ValidationError) as error:
        stock_adjust(item=item, branch=main_branch, change=-4, actor=manager, reason="تالفة")
    assert error.value.code == "not_enough"
    assert "3" in error.value.messages[0] and "مذكرة الجبر" in error.value.messages[0]
    stock_adjust(item=item, branch=main_branch, change=-2, actor=manager, reason="تالفة")
    assert count(item, main_branch) == 1
    assert list(StockMovement.objects.order_by("pk").values_list("kind", "quantity", "balance_after")) == [
        ("received", 3, 3),
        ("adjusted", -2, 1),
    ]


@pytest.mark.django_db
def test_only_who_holds_adjust_stock_receives_or_adjusts(main_branch, receptionist, accountant, teacher_user):
    item = make_item()
    for user in (receptionist, accountant, teacher_user):
        with pytest.raises(PermissionDenied):
            stock_receive(item=item, branch=main_branch, quantity=1, actor=user)
        with pytest.raises(PermissionDenied):
            stock_adjust(item=item, branch=main_branch, change=1, actor=user, reason="x")
    assert not StockMovement.objects.exists()


@pytest.mark.django_db
def test_bad_quantities_are_refused_in_words(main_branch, manager):
    item = make_item()
    for bad in ("0", "abc", "1.5", 1_000_000):
        with pytest.raises(ValidationError):
            stock_receive(item=item, branch=main_branch, quantity=bad, actor=manager)
    with pytest.raises(ValidationError):
        stock_receive(item=item, branch=main_branch, quantity=-3, actor=manager)


@pytest.mark.django_db
def test_low_stock_lists_active_items_at_or_under_their_level_and_teachers_see_their_own(
    main_branch, manager, teacher_user
):
    mine = make_item("مذكرتي", teacher=make_teacher(user=teacher_user), low_stock_at=5)
    other = make_item("كتاب آخر", low_stock_at=5)
    retired = make_item("قديم", low_stock_at=5, is_active=False)
    stock_receive(item=mine, branch=main_branch, quantity=5, actor=manager)
    stock_receive(item=other, branch=main_branch, quantity=6, actor=manager)
    stock_receive(item=retired, branch=main_branch, quantity=1, actor=manager)
    assert [row.item.title for row in stock_low()] == ["مذكرتي"]
    assert stock_low()[0].is_low
    assert [row.item.title for row in stock_rows(teacher_user=teacher_user)] == ["مذكرتي"]
    assert list(stock_low(branch_ids=[make_branch().pk])) == []


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_desks_selling_the_last_copy_at_once_sell_it_once(main_branch, manager, receptionist):
    """The stock row is locked (select_for_update): the second sale waits, finds none left, is refused."""
    item = make_item()
    stock_receive(item=item, branch=main_branch, quantity=1, actor=manager)
    students = [make_student(main_branch) for _ in range(2)]
    barrier = threading.Barrier(2)
    sold, refused, errors = [], [], []

    def sell(student):
        try:
            barrier.wait(timeout=30)
            sold.append(sale_record(student=student, seller=receptionist, items=[(item, 1)]).pk)
        except ValidationError as error:
            refused.append(error.code)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sell, args=(student,)) for student in students]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert (len(sold), refused) == (1, ["not_enough"])
    assert ItemSale.objects.count() == 1
    assert count(item, main_branch) == 0
    assert StockMovement.objects.filter(kind="sold").count() == 1
