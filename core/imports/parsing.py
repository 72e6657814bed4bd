"""Reading one data row: its cells by column key, each normalized with core/normalize.py (the rules
the forms use). A formula, or a date where a code belongs, is reported on its row and column,
never guessed back; phones, money, whole numbers and lists of codes are read as people type them
("١٥٠ جنيه", "010-1234-5678", "A1، B2")."""

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from core.imports.cells import ExcelDate, Formula
from core.imports.headers import HeaderMap
from core.imports.results import RowOutcome
from core.models import Enrollment, FeePlan, Group, Student
from core.normalize import digits_ascii, phone_e164

CODE_KEYS = frozenset({"code", "groups"})


class RowValues:
    """The cells of one data row by column key, with formula cells (and dates where a code
    belongs) reported as errors."""

    def __init__(self, cells: list[str], header: HeaderMap, outcome: RowOutcome):
        self.cells = cells
        self.header = header
        self.outcome = outcome
        self.formulas: set[str] = set()

    def __getitem__(self, key: str) -> str:
        index = self.header.columns.get(key)
        if index is None or index >= len(self.cells):
            return ""
        value = self.cells[index]
        if isinstance(value, ExcelDate) and key in CODE_KEYS:
            # Excel turns "1-2" or "3/4" into a date; the import never guesses the code back.
            if key not in self.formulas:
                self.formulas.add(key)
                self.outcome.error(
                    self.header.titles[key],
                    _(
                        "Excel changed what was typed here into a date (it shows “%(shown)s”). Format the column "
                        "as Text, type the code again and upload the file."
                    )
                    % {"shown": value.shown},
                )
            return ""
        if isinstance(value, Formula):
            if key in self.formulas:
                return ""
            self.formulas.add(key)
            self.outcome.error(
                self.header.titles[key],
                _("This cell holds a formula (%(formula)s): type the value itself.") % {"formula": value[:40]},
            )
            return ""
        return value

    def title(self, key: str) -> str:
        return self.header.titles[key]


def cell_phone(values: RowValues, key: str, *, required: bool) -> str:
    raw = values[key]
    if not raw:
        if required and key not in values.formulas:
            values.outcome.error(values.title(key), _("Enter a phone number."))
        return ""
    try:
        return phone_e164(raw)
    except ValidationError as exc:
        values.outcome.error(values.title(key), exc.messages[0])
        return ""


def money_text(raw: str) -> str:
    """A fee as typed ("150", "150.5", "١٥٠", "150 جنيه") → a plain decimal string, or the raw text."""
    text = digits_ascii(raw).replace("٫", ".").replace(",", "")
    text = "".join(ch for ch in text if ch.isdigit() or ch in ".-")
    try:
        return str(Decimal(text)) if text else ""
    except InvalidOperation:
        return raw


def codes_split(raw: str) -> list[str]:
    text = digits_ascii(raw).upper()
    for separator in ("،", "؛", ";", "/", "|", "\n", " "):
        text = text.replace(separator, ",")
    codes: list[str] = []
    for part in text.split(","):
        code = part.strip()
        if code and code not in codes:
            codes.append(code)
    return codes


def cell_decimal(raw: str, *, default: str | None = None) -> Decimal | None:
    text = money_text(raw) if raw else (default or "")
    try:
        return Decimal(text).quantize(Decimal("0.01")) if text else None
    except InvalidOperation:
        return None


def cell_whole(raw: str, *, default: int) -> int | None:
    text = digits_ascii(raw).strip()
    if not text:
        return default
    return int(text) if text.isdigit() else None


@dataclass
class StudentRow:
    outcome: RowOutcome
    code: str = ""
    full_name: str = ""
    key: str = ""
    phone: str = ""
    guardian_name: str = ""
    guardian_phone: str = ""
    guardian2_name: str = ""
    guardian2_phone: str = ""
    grade: str = ""
    gender: str = ""  # empty: male for a new student, unchanged for an existing one
    school: str = ""
    notes: str = ""
    group_codes: list[str] = field(default_factory=list)
    fee_plan: str = FeePlan.NORMAL
    plan_given: bool = False  # a blank fee plan cell leaves existing enrollments' plans alone
    custom_fee: Decimal | None = None
    fee_reason: str = ""
    student: Student | None = None  # the existing student this row updates
    student_changes: dict = field(default_factory=dict)
    new_links: list[tuple[str, bool]] = field(default_factory=list)  # (guardian phone, primary)
    new_groups: list[Group] = field(default_factory=list)
    plan_changes: list[Enrollment] = field(default_factory=list)
