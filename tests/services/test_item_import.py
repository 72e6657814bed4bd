"""Notes and books from a spreadsheet (issue 18): the preview writes nothing, a good sheet makes or
updates items and receives their copies into the branch's stock (movements and audit rows),
errors name the row and the column and nothing is written, and who may not receive stock is told
on his row."""

from decimal import Decimal

import pytest

from core.imports.items import ItemImporter
from core.imports.reader import sheet_read
from core.imports.results import ERROR, NEW, UNCHANGED, UPDATE
from core.models import AuditLog, Item, ItemStock, StockMovement
from tests.factories import make_group, make_teacher

pytestmark = pytest.mark.django_db
HEADER = "العنوان,المدرس,كود المجموعة,السعر,التكلفة,نصيب المدرس %,حد التنبيه,الكمية\n"


def run(text: str, *, branch, actor, apply: bool):
    return ItemImporter(branch=branch, actor=actor).run(sheet_read(text.encode("utf-8-sig"), "items.csv"), apply=apply)


@pytest.fixture
def author(main_branch):
    teacher = make_teacher("أحمد علي")
    group = make_group(main_branch, teacher=teacher, code="ALG-1")
    return teacher, group


def test_a_good_sheet_previews_then_imports_items_and_their_copies(main_branch, manager, author):
    teacher, group = author
    text = HEADER + "مذكرة الجبر,أحمد علي,alg-1,٤٥,20,30,5,50\nكتاب المركز,,,100,70,,,\n"
    preview = run(text, branch=main_branch, actor=manager, apply=False)
    assert preview.ok and not preview.applied
    assert [row.action for row in preview.rows] == [NEW, NEW]
    assert not Item.objects.exists() and not StockMovement.objects.exists()
    result = run(text, branch=main_branch, actor=manager, apply=True)
    assert result.applied
    notes = Item.objects.get(title="مذكرة الجبر")
    assert (notes.teacher, notes.group, notes.price, notes.cost, notes.teacher_share_percent) == (
        teacher,
        group,
        Decimal("45.00"),
        Decimal("20.00"),
        Decimal("30.00"),
    )
    assert ItemStock.objects.get(item=notes, branch=main_branch).quantity == 50
    assert Item.objects.get(title="كتاب المركز").teacher is None
    assert AuditLog.objects.filter(model="core.item").count() == 2
    assert AuditLog.objects.filter(model="core.stockmovement").count() == 1
    # The same sheet again: the items are there (copies received again), a price change updates.
    again = run(
        HEADER + "مذكرة الجبر,أحمد علي,ALG-1,50,20,30,5,10\nكتاب المركز,,,100,70,,,\n",
        branch=main_branch,
        actor=manager,
        apply=True,
    )
    assert [row.action for row in again.rows] == [UPDATE, UNCHANGED]
    notes.refresh_from_db()
    assert notes.price == Decimal("50.00") and ItemStock.objects.get(item=notes).quantity == 60


def test_errors_name_the_row_and_column_and_nothing_is_written(main_branch, manager, author):
    make_group(main_branch, code="OTHER")
    text = (
        HEADER
        + "مذكرة الجبر,أحمد علي,,45,,,,5\n"
        + ",محمود,NOPE,-3,,,x,خمسة\n"
        + "كتاب,,,20,,10,,\n"  # a share for a center item
        + "مذكرة,أحمد علي,OTHER,20,,,,\n"
    )
    result = run(text, branch=main_branch, actor=manager, apply=True)
    assert not result.applied and not Item.objects.exists() and not StockMovement.objects.exists()
    assert [row.action for row in result.rows] == [NEW, ERROR, ERROR, ERROR]
    where = {(number, column) for number, column, _message in result.issues()}
    assert {(3, "العنوان"), (3, "المدرس"), (3, "كود المجموعة"), (3, "السعر"), (3, "حد التنبيه"), (3, "الكمية")} <= where
    assert (5, "كود المجموعة") in where
    assert any(number == 4 for number, _column, _message in result.issues())


def test_who_may_not_receive_stock_is_told_on_his_row(main_branch, receptionist, author):
    result = run(HEADER + "مذكرة الجبر,أحمد علي,,45,,,,5\n", branch=main_branch, actor=receptionist, apply=True)
    assert not result.applied and [row.action for row in result.rows] == [ERROR]
    assert not Item.objects.exists()
