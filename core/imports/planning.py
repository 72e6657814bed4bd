"""Planning the student rows against the database: which existing student each row is (its code,
else folded name + guardian phone), what it changes, which rows repeat an earlier one (R12), which
groups are unknown, inactive or full. One look-up per kind of record for the whole file (groups by
code, guardians by phone, students by identity and by code, active enrollments, group loads), in
chunks under SQLite's limit on query parameters.
"""

from collections import defaultdict

from django.db.models import Count
from django.db.models.functions import Upper
from django.utils.translation import gettext as _

from core.access.scoping import branch_ids_visible
from core.imports.parsing import StudentRow
from core.imports.results import DUPLICATE, ERROR, NEW, UNCHANGED, UPDATE, RowOutcome
from core.models import Enrollment, Group, Guardian, Student, StudentGuardian

CHUNK = 5000  # values per IN (...) look-up


def in_chunks(queryset, field_name: str, values, size: int = CHUNK):
    """``queryset.filter(field__in=values)`` in chunks (SQLite's limit on query parameters)."""
    values = list(values)
    for start in range(0, len(values), size):
        yield from queryset.filter(**{f"{field_name}__in": values[start : start + size]})


class StudentPlanning:
    """Step 2 of the student import (core/imports/students.py): plan each parsed row as new,
    update, unchanged, duplicate or error."""

    def rows_plan(self, rows: list[StudentRow]) -> None:
        live = rows
        phones = {row.guardian_phone for row in live if row.guardian_phone}
        phones |= {row.guardian2_phone for row in live if row.guardian2_phone}
        codes = {row.code for row in live if row.code}
        group_codes = {code for row in live for code in row.group_codes}

        self.guardians = {guardian.phone: guardian for guardian in in_chunks(Guardian.objects.all(), "phone", phones)}
        # existing students reachable from these guardians: (folded name, guardian phone) → student id
        by_identity: dict[tuple[str, str], int] = {}
        student_phones: dict[int, set[str]] = defaultdict(set)
        links = in_chunks(
            StudentGuardian.objects.values_list("student_id", "student__search_key", "guardian__phone"),
            "guardian__phone",
            phones,
        )
        for student_id, key, phone in links:
            by_identity.setdefault((key, phone), student_id)
            # only phones of this file matter when a row is compared with its student
            student_phones[student_id].add(phone)
        by_code = dict(in_chunks(Student.objects.values_list("code", "pk"), "code", codes))
        student_ids = set(by_identity.values()) | set(by_code.values())
        self.students = {student.pk: student for student in in_chunks(Student.objects.all(), "pk", student_ids)}
        self.has_primary = {
            student_id
            for student_id, is_primary in in_chunks(
                StudentGuardian.objects.filter(is_primary=True).values_list("student_id", "is_primary"),
                "student_id",
                student_ids,
            )
        }
        enrollments: dict[tuple[int, int], Enrollment] = {
            (enrollment.student_id, enrollment.group_id): enrollment
            for enrollment in in_chunks(Enrollment.objects.filter(is_active=True), "student_id", student_ids)
        }
        groups_query = Group.objects.annotate(code_upper=Upper("code"))  # codes match whatever their case
        visible = branch_ids_visible(self.actor) if self.actor else None
        if visible is not None:
            groups_query = groups_query.filter(branch__in=visible)
        groups = {group.code_upper: group for group in in_chunks(groups_query, "code_upper", group_codes)}
        group_load = dict(
            Enrollment.objects.filter(is_active=True, group__in=list(groups.values()))
            .values_list("group_id")
            .annotate(total=Count("id"))
            .values_list("group_id", "total")
        )

        # R12: the first row naming a student (folded name + guardian phone, or code, or the existing
        # student they resolve to) is planned; a later row naming him again is a duplicate, skipped.
        seen_identity: dict[tuple[str, str], int] = {}
        seen_code: dict[str, int] = {}
        seen_student: dict[int, int] = {}
        for row in rows:
            outcome = row.outcome
            identity = (row.key, row.guardian_phone)
            earlier = [
                seen[value] for seen, value in ((seen_identity, identity), (seen_code, row.code)) if value in seen
            ]
            # A row with its own errors stays an error: what is wrong in it is shown, not hidden.
            if earlier and outcome.action != ERROR:
                self._duplicate(outcome, min(earlier))
                continue
            if row.key and row.guardian_phone:
                seen_identity.setdefault(identity, outcome.number)
            if row.code:
                seen_code.setdefault(row.code, outcome.number)
            # which existing student is this? the typed code first (when the guardian matches), else name + phone
            student = None
            if row.code and row.code in by_code:
                holder = self.students[by_code[row.code]]
                if row.guardian_phone in student_phones.get(holder.pk, set()) or holder.search_key == row.key:
                    student = holder
                else:
                    outcome.error(
                        self.title("code"),
                        _("The code %(code)s is already used by another student (%(name)s).")
                        % {"code": row.code, "name": holder.full_name},
                    )
            if student is None and identity in by_identity:
                student = self.students[by_identity[identity]]
                if row.code and student.code != row.code and row.code in by_code:
                    student = None  # the clash is reported above
            if student is not None and outcome.action != ERROR:
                if student.pk in seen_student:  # an earlier row already updates this student
                    self._duplicate(outcome, seen_student[student.pk])
                    continue
                seen_student[student.pk] = outcome.number
            if student is not None and visible is not None and student.branch_id not in visible:
                outcome.error(
                    self.title("full_name"),
                    _("This student belongs to a branch you do not work in (code %(code)s).") % {"code": student.code},
                )
            for code in row.group_codes:
                group = groups.get(code)
                if group is None:
                    outcome.error(self.title("groups"), _("There is no group with the code %(code)s.") % {"code": code})
                elif not group.is_active:
                    outcome.error(self.title("groups"), _("The group %(group)s is not active.") % {"group": code})
            if outcome.action == ERROR:
                continue
            row.student = student
            if student is None:
                outcome.action = NEW
                outcome.label = f"{row.full_name} ({row.code})" if row.code else row.full_name
                row.new_links = [(row.guardian_phone, True)] + (
                    [(row.guardian2_phone, False)] if row.guardian2_phone else []
                )
                row.new_groups = [groups[code] for code in row.group_codes]
            else:
                self._student_diff(row, student, student_phones.get(student.pk, set()), groups, enrollments)
                if row.new_groups and not student.is_active:
                    outcome.error(
                        self.title("groups"),
                        _("%(student)s is not active: activate the student before enrolling.")
                        % {"student": student.full_name},
                    )
                    continue
                outcome.label = f"{student.full_name} ({student.code})"
                outcome.note = _("same student as %(code)s — %(name)s") % {
                    "code": student.code,
                    "name": student.full_name,
                }
            for group in row.new_groups:
                group_load[group.pk] = group_load.get(group.pk, 0) + 1
                if group_load[group.pk] > group.capacity:
                    outcome.error(
                        self.title("groups"),
                        _("The group %(group)s is full (%(capacity)s students).")
                        % {"group": group.code, "capacity": group.capacity},
                    )

    def title(self, key: str) -> str:
        return self.header.titles[key]

    @staticmethod
    def _duplicate(outcome: RowOutcome, earlier_row: int) -> None:
        outcome.action = DUPLICATE
        outcome.note = _("duplicate of row %(row)s") % {"row": earlier_row}

    def _student_diff(self, row: StudentRow, student: Student, phones: set[str], groups, enrollments) -> None:
        changes = {}
        for name in ("phone", "grade", "gender", "school", "notes"):
            value = getattr(row, name)
            if value and value != getattr(student, name):
                changes[name] = value
        if row.key != student.search_key:  # a spelling variant (أيمن / ايمن) keeps the stored spelling
            changes["full_name"] = row.full_name
        if row.code and row.code != student.code:
            changes["code"] = row.code
        row.student_changes = changes
        primary_taken = student.pk in self.has_primary
        for phone in (row.guardian_phone, row.guardian2_phone):
            if phone and phone not in phones:
                row.new_links.append((phone, not primary_taken))
                primary_taken = True
        for code in row.group_codes:
            group = groups[code]
            enrollment = enrollments.get((student.pk, group.pk))
            if enrollment is None:
                row.new_groups.append(group)
            elif row.plan_given and (enrollment.fee_plan, enrollment.custom_fee, enrollment.fee_reason) != (
                row.fee_plan,
                row.custom_fee,
                row.fee_reason,
            ):
                enrollment.fee_plan, enrollment.custom_fee, enrollment.fee_reason = (
                    row.fee_plan,
                    row.custom_fee,
                    row.fee_reason,
                )
                row.plan_changes.append(enrollment)
        described = [str(Student._meta.get_field(name).verbose_name) for name in changes]
        if row.new_links:
            described.append(str(_("guardians")))
        if row.new_groups:
            described.append(str(_("groups")))
        if row.plan_changes:
            described.append(str(_("fee plan")))
        row.outcome.changes = described
        row.outcome.action = UPDATE if described else UNCHANGED
