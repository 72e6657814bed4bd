"""Expenses from a spreadsheet (issue 18): the same reader, header finding, preview and row errors
as the other imports. Each row goes through ``expense_record`` in a savepoint, so every rule of
the service (the desk's limit, closed days of the cash book, permissions) is reported on its row,
and nothing is written unless every row is valid. Each imported expense takes the next voucher
number of its branch and year, in the order of the file.
"""

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.imports.cells import header_key
from core.imports.columns import Column, choice_map
from core.imports.parsing import RowValues, cell_decimal
from core.imports.results import ERROR, NEW
from core.imports.teachers_groups import RowwiseImporter
from core.models import ExpenseCategory, ImportJob, PaymentMethod
from core.normalize import digits_ascii, name_clean
from core.services.expenses import expense_record

EXPENSE_KIND = ImportJob.Kind.EXPENSES

EXPENSE_COLUMNS: tuple[Column, ...] = (
    Column(
        "date", gettext_lazy("Date"), "التاريخ", ("تاريخ المصروف", "اليوم", "date"), required=True, example="2026-11-10"
    ),
    Column(
        "category",
        gettext_lazy("Category"),
        "البند",
        ("الفئة", "نوع المصروف", "بند المصروف", "category", "expense category"),
        required=True,
        example="إيجار",
    ),
    Column("amount", gettext_lazy("Amount"), "المبلغ", ("القيمة", "amount", "total"), required=True, example="1500"),
    Column("method", gettext_lazy("Method"), "طريقة الدفع", ("الطريقة", "method", "payment method"), example="نقدا"),
    Column("payee", gettext_lazy("Paid to"), "المدفوع له", ("المستفيد", "payee", "paid to"), example="صاحب العقار"),
    Column("note", gettext_lazy("Note"), "ملاحظة", ("ملاحظات", "البيان", "note", "notes"), example="إيجار نوفمبر"),
)

METHOD_ALIASES = {
    PaymentMethod.CASH: ("نقدي", "نقدا", "كاش", "cash"),
    PaymentMethod.WALLET: ("فودافون كاش", "محفظة", "wallet", "vodafone cash"),
    PaymentMethod.INSTAPAY: ("انستاباي", "انستا باي", "instapay"),
    PaymentMethod.CARD: ("فيزا", "بطاقة", "card", "visa"),
    PaymentMethod.BANK: ("تحويل بنكي", "بنك", "bank", "bank transfer"),
}

_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%Y/%m/%d")


def cell_date(raw: str) -> datetime.date | None:
    """A date as a spreadsheet gives it (ISO from a date cell) or as people type it (10/11/2026)."""
    text = digits_ascii(str(raw or "")).strip()[:10]
    for form in _DATE_FORMATS:
        try:
            return datetime.datetime.strptime(text, form).date()
        except ValueError:
            continue
    return None


class ExpenseImporter(RowwiseImporter):
    kind = EXPENSE_KIND
    columns = EXPENSE_COLUMNS
    column_for = {"amount": "amount", "date": "date", "category": "category", "method": "method"}

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.methods = choice_map(PaymentMethod.choices, METHOD_ALIASES)
        self.categories: dict[str, ExpenseCategory] = {}
        for category in ExpenseCategory.objects.filter(is_active=True):
            for name in (category.name_ar, category.name_en):
                if name:
                    self.categories[header_key(name)] = category

    def row_apply(self, values: RowValues) -> str:
        if self.actor is None:  # every expense names who recorded it
            raise PermissionDenied(_("You may not record expenses."))
        outcome = values.outcome
        date = cell_date(values["date"])
        if date is None:
            outcome.error(self.title("date"), _("Enter the date as YYYY-MM-DD or DD/MM/YYYY."))
        category_name = name_clean(values["category"])
        category = self.categories.get(header_key(category_name)) if category_name else None
        outcome.label = category_name
        if category is None:
            outcome.error(
                self.title("category"),
                _("Unknown category “%(value)s”. Use one of: %(choices)s.")
                % {"value": category_name, "choices": "، ".join(sorted({str(c) for c in self.categories.values()}))},
            )
        amount = cell_decimal(values["amount"])
        if amount is None or amount <= 0:
            outcome.error(self.title("amount"), _("The amount must be more than zero."))
        raw_method = values["method"]
        method = self.methods.get(header_key(raw_method), "") if raw_method else PaymentMethod.CASH
        if not method:
            outcome.error(
                self.title("method"),
                _("Unknown payment method “%(value)s”. Use one of: %(choices)s.")
                % {"value": raw_method, "choices": "، ".join(str(label) for _v, label in PaymentMethod.choices)},
            )
        if outcome.errors:
            return ERROR
        try:
            expense_record(
                branch=self.branch,
                category=category,
                amount=amount,
                actor=self.actor,
                date=date,
                method=method,
                payee=name_clean(values["payee"]),
                note=(values["note"] or "").strip(),
            )
        except ValidationError as error:
            for message in error.messages:
                outcome.error("", message)
            return ERROR
        return NEW
