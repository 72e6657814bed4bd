"""Writing the planned student rows in bulk: guardians (siblings share one), students, links,
enrollments and one audit row per student, as multi-row INSERTs (core/db.py ``rows_insert``), with
one locked advance of the student code counter for the whole file. Runs inside the import's
transaction: all rows or none.
"""

from django.utils import timezone

from core.db import rows_insert
from core.imports.parsing import StudentRow
from core.imports.results import NEW, UPDATE
from core.models import AuditLog, Counter, Enrollment, Gender, Guardian, Student, StudentGuardian
from core.normalize import search_key
from core.services.students import STUDENT_CODE_COUNTER, STUDENT_CODE_START

BATCH_SIZE = 1000  # rows per bulk_update statement


class StudentWriting:
    """Step 3 of the student import (core/imports/students.py): apply every planned row."""

    def rows_apply(self, rows: list[StudentRow]) -> None:
        new_rows = [row for row in rows if row.outcome.action == NEW]
        update_rows = [row for row in rows if row.outcome.action == UPDATE]
        now = timezone.now()
        today = timezone.localdate()
        self._codes_assign(new_rows)

        # guardians: new phones once (siblings share one), names filled where missing
        new_guardians: dict[str, Guardian] = {}
        named_guardians: dict[str, Guardian] = {}
        for row in new_rows + update_rows:
            for phone, name in ((row.guardian_phone, row.guardian_name), (row.guardian2_phone, row.guardian2_name)):
                if not phone:
                    continue
                guardian = self.guardians.get(phone) or new_guardians.get(phone)
                if guardian is None:
                    new_guardians[phone] = Guardian(phone=phone, full_name=name)
                elif name and not guardian.full_name and guardian.pk:
                    guardian.full_name = name
                    named_guardians[phone] = guardian
        rows_insert(list(new_guardians.values()))
        Guardian.objects.bulk_update(named_guardians.values(), ["full_name"], batch_size=BATCH_SIZE)
        guardians = {**self.guardians, **new_guardians}

        students = [
            Student(
                code=row.code,
                full_name=row.full_name,
                search_key=row.key,
                phone=row.phone,
                branch=self.branch,
                grade=row.grade,
                gender=row.gender or Gender.MALE,
                school=row.school,
                notes=row.notes,
            )
            for row in new_rows
        ]
        rows_insert(students)
        for row, student in zip(new_rows, students, strict=True):
            row.student = student

        changed_students, changed_fields = [], set()
        for row in update_rows:
            for name, value in row.student_changes.items():
                setattr(row.student, name, value)
                changed_fields.add(name)
            if "full_name" in row.student_changes:
                row.student.search_key = search_key(row.student.full_name)
                changed_fields.add("search_key")
            if row.student_changes:
                row.student.updated_at = now
                changed_students.append(row.student)
        if changed_students:
            Student.objects.bulk_update(
                changed_students, [*sorted(changed_fields), "updated_at"], batch_size=BATCH_SIZE
            )

        rows_insert(
            [
                StudentGuardian(student_id=row.student.pk, guardian_id=guardians[phone].pk, is_primary=primary)
                for row in new_rows + update_rows
                for phone, primary in row.new_links
            ]
        )
        rows_insert(
            [
                Enrollment(
                    student_id=row.student.pk,
                    group_id=group.pk,
                    fee_plan=row.fee_plan,
                    custom_fee=row.custom_fee,
                    fee_reason=row.fee_reason,
                    start_date=today,
                    is_active=True,
                )
                for row in new_rows + update_rows
                for group in row.new_groups
            ]
        )
        plan_changes = [enrollment for row in update_rows for enrollment in row.plan_changes]
        Enrollment.objects.bulk_update(plan_changes, ["fee_plan", "custom_fee", "fee_reason"], batch_size=BATCH_SIZE)
        actor_id = self.actor.pk if self.actor else None
        reason = self.reason[:255]
        rows_insert(
            [
                AuditLog(
                    actor_id=actor_id,
                    action=action,
                    model="core.student",
                    object_id=str(row.student.pk),
                    object_repr=str(row.student)[:200],
                    changes=self._audit_changes(row, action),
                    reason=reason,
                )
                for action, group in ((AuditLog.Action.CREATE, new_rows), (AuditLog.Action.UPDATE, update_rows))
                for row in group
            ]
        )

    def _audit_changes(self, row: StudentRow, action: str) -> dict:
        student = row.student
        if action == AuditLog.Action.CREATE:
            changes = {
                "code": [None, student.code],
                "full_name": [None, student.full_name],
                "phone": [None, student.phone],
                "branch": [None, student.branch_id],
                "grade": [None, student.grade],
                "gender": [None, student.gender],
                "school": [None, student.school],
                "notes": [None, student.notes],
                "guardians": [None, [phone for phone, _primary in row.new_links]],
            }
        else:
            changes = {name: [None, value] for name, value in row.student_changes.items()}
            if row.new_links:
                changes["guardians"] = [None, [phone for phone, _primary in row.new_links]]
        if row.new_groups:
            changes["groups"] = [None, [group.code for group in row.new_groups]]
        if row.plan_changes:
            changes["fee_plan"] = [None, {e.group.code: e.fee_plan for e in row.plan_changes}]
        return changes

    def _codes_assign(self, new_rows: list[StudentRow]) -> None:
        """Gap-free codes for the rows without one: one locked advance of the counter for
        the whole file, skipping numbers already taken (typed codes, here or in the file)."""
        wanted = [row for row in new_rows if not row.code]
        if not wanted:
            return
        counter = Counter.objects.select_for_update().filter(key=STUDENT_CODE_COUNTER).first()
        if counter is None:
            Counter.objects.get_or_create(key=STUDENT_CODE_COUNTER, defaults={"value": STUDENT_CODE_START})
            counter = Counter.objects.select_for_update().get(key=STUDENT_CODE_COUNTER)
        typed = {row.code for row in new_rows if row.code}
        next_value = counter.value + 1
        assigned = 0
        while assigned < len(wanted):
            window = [str(value) for value in range(next_value, next_value + len(wanted) - assigned + 50)]
            taken = typed | set(Student.objects.filter(code__in=window).values_list("code", flat=True))
            for code in window:
                next_value += 1
                if code in taken:
                    continue
                wanted[assigned].code = code
                assigned += 1
                if assigned == len(wanted):
                    break
        counter.value = next_value - 1
        counter.save(update_fields=["value"])
