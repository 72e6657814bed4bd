"""Notes and books from a spreadsheet (issue 18): the same reader, header finding, preview and row
errors as the other imports. A row names an item (title, and the teacher whose notes they are, or
none for the center's own); an item already there with that title and teacher is updated, else
it is made. A number of copies on the row is received into the importing branch's stock through
``stock_receive`` (a movement and an audit row). Each row runs in a savepoint: nothing is written
unless every row is valid.
"""

from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.imports.columns import Column
from core.imports.parsing import RowValues, cell_decimal, cell_whole
from core.imports.results import ERROR, NEW, UNCHANGED, UPDATE
from core.imports.teachers_groups import RowwiseImporter
from core.models import Group, ImportJob, Item, Teacher
from core.normalize import name_clean, search_key
from core.services.records import record_save
from core.services.stock import stock_receive

ITEM_KIND = ImportJob.Kind.ITEMS
ITEM_FIELDS = ("group", "price", "cost", "teacher_share_percent", "low_stock_at")

ITEM_COLUMNS: tuple[Column, ...] = (
    Column(
        "title",
        gettext_lazy("Title"),
        "العنوان",
        ("اسم المذكرة", "المذكرة", "الكتاب", "title", "item"),
        required=True,
        example="مذكرة الجبر - الباب الأول",
    ),
    Column("teacher", gettext_lazy("Teacher"), "المدرس", ("اسم المدرس", "الأستاذ", "teacher"), example="أحمد علي"),
    Column("group", gettext_lazy("Group code"), "كود المجموعة", ("المجموعة", "group", "group code"), example=""),
    Column("price", gettext_lazy("Price"), "السعر", ("سعر البيع", "price"), required=True, example="45"),
    Column("cost", gettext_lazy("Cost"), "التكلفة", ("سعر التكلفة", "cost"), example="20"),
    Column(
        "share",
        gettext_lazy("Teacher share (%)"),
        "نصيب المدرس %",
        ("نسبة المدرس", "نصيب المدرس", "share", "teacher share"),
        example="30",
    ),
    Column("low", gettext_lazy("Low stock at"), "حد التنبيه", ("حد المخزون", "low stock", "low stock at"), example="5"),
    Column(
        "quantity",
        gettext_lazy("Copies received"),
        "الكمية",
        ("عدد النسخ", "النسخ", "quantity", "copies"),
        example="50",
    ),
)


class ItemImporter(RowwiseImporter):
    kind = ITEM_KIND
    columns = ITEM_COLUMNS
    column_for = {
        "title": "title",
        "teacher": "teacher",
        "group": "group",
        "price": "price",
        "cost": "cost",
        "teacher_share_percent": "share",
        "low_stock_at": "low",
    }

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.teachers: dict[str, list[Teacher]] = {}
        for teacher in Teacher.objects.filter(is_active=True):
            self.teachers.setdefault(teacher.search_key, []).append(teacher)
        self.groups = {group.code.upper(): group for group in Group.objects.filter(branch=self.branch)}

    def _teacher(self, values: RowValues) -> Teacher | None:
        name = name_clean(values["teacher"])
        if not name:
            return None
        found = self.teachers.get(search_key(name), [])
        if len(found) != 1:
            values.outcome.error(
                self.title("teacher"),
                _("No teacher is named “%(name)s”.") % {"name": name}
                if not found
                else _("Several teachers are named “%(name)s”; rename one first.") % {"name": name},
            )
        return found[0] if len(found) == 1 else None

    def _number(self, values: RowValues, key: str, default: str) -> Decimal | None:
        number = cell_decimal(values[key], default=default)
        if number is None or number < 0:
            values.outcome.error(self.title(key), _("Enter a number, 0 or more."))
        return number

    def row_apply(self, values: RowValues) -> str:
        outcome = values.outcome
        title = name_clean(values["title"])
        outcome.label = title
        if not title:
            outcome.error(self.title("title"), _("The title is required."))
        teacher = self._teacher(values)
        group = None
        if values["group"]:
            group = self.groups.get(values["group"].strip().upper())
            if group is None:
                outcome.error(
                    self.title("group"),
                    _("No group of this branch has the code “%(code)s”.") % {"code": values["group"]},
                )
            elif teacher is not None and group.teacher_id != teacher.pk:
                outcome.error(self.title("group"), _("Group %(code)s is another teacher's.") % {"code": group.code})
        price = self._number(values, "price", "")
        cost = self._number(values, "cost", "0")
        share = self._number(values, "share", "0")
        low = cell_whole(values["low"], default=5)
        if low is None:
            outcome.error(self.title("low"), _("Enter a whole number of copies."))
        copies = cell_whole(values["quantity"], default=0)
        if copies is None:
            outcome.error(self.title("quantity"), _("Enter a whole number of copies."))
        if outcome.errors:
            return ERROR
        item = Item.objects.filter(title=title, teacher=teacher).first()
        action = UPDATE if item is not None else NEW
        item = item or Item(title=title, teacher=teacher)
        wanted = {"group": group, "price": price, "cost": cost, "teacher_share_percent": share, "low_stock_at": low}
        changed = action == NEW or any(getattr(item, name) != value for name, value in wanted.items())
        if changed:
            for name, value in wanted.items():
                setattr(item, name, value)
            record_save(actor=self.actor, instance=item)  # validation (share only with a teacher) + audit row
        if copies:
            stock_receive(
                item=item, branch=self.branch, quantity=copies, actor=self.actor, reason=_("Imported from a sheet")
            )
        return action if changed or copies else UNCHANGED
