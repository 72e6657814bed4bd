"""The student import (SPEC.md §4): students with their guardians and enrollments, from one sheet.

1. ``row_parse``: normalize and check each row on its own (here, with core/imports/parsing.py);
2. ``rows_plan``: plan every row against the database (core/imports/planning.py);
3. ``rows_apply``: write every planned row in bulk (core/imports/writing.py).

``run`` does the three for a file read by core/imports/reader.py; core/imports/engine.py wraps it in
the transaction (all rows or none).
"""

from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from core.imports.cells import Sheet, header_key
from core.imports.columns import FEE_PLAN_ALIASES, GENDER_ALIASES, GRADE_ALIASES, STUDENT_COLUMNS, choice_map
from core.imports.headers import sheet_data_rows
from core.imports.parsing import RowValues, StudentRow, cell_phone, codes_split, money_text
from core.imports.planning import StudentPlanning
from core.imports.results import ImportResult, RowOutcome
from core.imports.writing import StudentWriting
from core.models import Branch, FeePlan, Grade, ImportJob
from core.normalize import name_clean, search_key
from core.services.enrollments import fee_plan_clean
from core.services.students import student_code_clean, student_registrations_lock

PROGRESS_EVERY = 500  # rows between two progress reports of a background check


class StudentImporter(StudentPlanning, StudentWriting):
    """Students with their guardians and enrollments (SPEC.md §4)."""

    kind = ImportJob.Kind.STUDENTS
    columns = STUDENT_COLUMNS

    def __init__(self, *, branch: Branch, actor=None, reason: str = ""):
        self.branch = branch
        self.actor = actor if getattr(actor, "pk", None) else None
        self.reason = reason
        self.grades = choice_map(Grade.choices, GRADE_ALIASES)
        self.fee_plans = choice_map(FeePlan.choices, FEE_PLAN_ALIASES)

    # --- 1. normalize and check each row on its own -----------------------------------------

    def row_parse(self, values: RowValues) -> StudentRow:
        outcome = values.outcome
        row = StudentRow(outcome=outcome)
        row.full_name = name_clean(values["full_name"])
        row.key = search_key(row.full_name)
        raw_code = values["code"]
        if raw_code:
            try:
                row.code = student_code_clean(raw_code)
            except ValidationError as exc:
                outcome.error(values.title("code"), exc.message_dict["code"][0])
        outcome.label = row.full_name
        if not row.full_name and "full_name" not in values.formulas:
            outcome.error(values.title("full_name"), _("Enter the student's full name."))
        row.phone = cell_phone(values, "phone", required=False)
        row.guardian_name = name_clean(values["guardian_name"])
        row.guardian_phone = cell_phone(values, "guardian_phone", required=True)
        row.guardian2_name = name_clean(values["guardian2_name"])
        row.guardian2_phone = cell_phone(values, "guardian2_phone", required=False)
        if row.guardian2_phone == row.guardian_phone:
            row.guardian2_phone = ""
        raw_grade = values["grade"]
        if raw_grade:
            row.grade = self.grades.get(header_key(raw_grade), "")
            if not row.grade:
                outcome.error(
                    values.title("grade"),
                    _("Unknown grade “%(value)s”. Use one of: %(choices)s.")
                    % {"value": raw_grade, "choices": "، ".join(str(label) for _v, label in Grade.choices)},
                )
        if values["gender"]:
            row.gender = GENDER_ALIASES.get(header_key(values["gender"]), "")
            if not row.gender:
                outcome.error(
                    values.title("gender"),
                    _("Unknown gender “%(value)s”. Write ذكر or أنثى.") % {"value": values["gender"]},
                )
        row.school = name_clean(values["school"])
        row.notes = values["notes"].strip()
        row.group_codes = codes_split(values["groups"])
        raw_plan = values["fee_plan"]
        row.plan_given = bool(raw_plan)
        plan = self.fee_plans.get(header_key(raw_plan), "") if raw_plan else FeePlan.NORMAL
        if not plan:
            outcome.error(
                values.title("fee_plan"),
                _("Unknown fee plan “%(value)s”. Use one of: %(choices)s.")
                % {"value": raw_plan, "choices": "، ".join(str(label) for _v, label in FeePlan.choices)},
            )
        elif row.group_codes or raw_plan:
            try:
                row.fee_plan, row.custom_fee, row.fee_reason = fee_plan_clean(
                    plan, money_text(values["custom_fee"]), values["fee_reason"]
                )
            except ValidationError as exc:
                for name, messages in exc.message_dict.items():
                    column = {"custom_fee": "custom_fee", "fee_reason": "fee_reason"}.get(name, "fee_plan")
                    outcome.error(values.title(column), messages[0])
        return row

    # --- the whole run -----------------------------------------------------------------------

    def run(self, sheet: Sheet, *, apply: bool, progress: Callable[[int, int], None] | None = None) -> ImportResult:
        result = ImportResult()
        data_rows = sheet_data_rows(self, sheet, result)
        if apply:
            student_registrations_lock()  # plan and write with no registration in between (R12)
        parsed: list[StudentRow] = []
        total = len(data_rows)
        for index, (sheet_name, header, number, cells) in enumerate(data_rows, start=1):
            if not any(cells):
                result.blank_rows += 1
                continue
            outcome = RowOutcome(number=number, sheet=sheet_name)
            parsed.append(self.row_parse(RowValues(cells, header, outcome)))
            if progress and index % PROGRESS_EVERY == 0:
                progress(index, total)
        self.rows_plan(parsed)
        result.rows = [row.outcome for row in parsed]
        if apply and result.ok and parsed:
            self.rows_apply(parsed)
            result.applied = True
        return result
