"""Registering students, changing them, and linking their guardians."""

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from core.models import AuditLog, Branch, Counter, Gender, Guardian, Student, StudentGuardian
from core.normalize import name_clean, phone_e164, search_key
from core.ops.storage import uploads_written_first
from core.services.audit import audit_record, changes_between, snapshot
from core.services.counters import counter_next

STUDENT_CODE_COUNTER = "student_code"
STUDENT_CODE_START = 1000  # the first automatic code is 1001
_CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,19}$")
STUDENT_FIELDS = [
    "code",
    "full_name",
    "phone",
    "gender",
    "branch",
    "grade",
    "school",
    "notes",
    "photo",
    "is_active",
]


@dataclass(frozen=True)
class GuardianInput:
    phone: str
    full_name: str = ""
    relation: str = Guardian.Relation.FATHER
    is_primary: bool = False


def student_code_clean(value: str) -> str:
    """A typed code: digits made ASCII, upper case; raises ValidationError when malformed."""
    code = name_clean(value).replace(" ", "").upper()
    code = code.translate(str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789"))
    if not _CODE_PATTERN.match(code) or code.startswith("T-"):
        raise ValidationError(
            {"code": _("A code is up to 20 letters, digits or dashes, and may not start with “T-”.")}, code="invalid"
        )
    return code


def _code_taken(code: str, *, exclude_pk=None) -> bool:
    return Student.objects.filter(code=code).exclude(pk=exclude_pk).exists()


def _next_free_code() -> str:
    # A typed code may already hold the next number: skip it, so codes never clash.
    while True:
        code = str(counter_next(STUDENT_CODE_COUNTER, start=STUDENT_CODE_START))
        if not _code_taken(code):
            return code


def student_twin_find(*, full_name: str, guardian_phones: Iterable[str]) -> Student | None:
    """R12: the existing student with the same folded name and any of these guardian phones (E.164).

    The folding is ``search_key`` (أحمد = احمد, فاطمة = فاطمه, diacritics dropped), so spelling
    variants of one child are one child; a different guardian phone is a different child.
    """
    key = search_key(full_name)
    phones = {phone for phone in guardian_phones if phone}
    if not key or not phones:
        return None
    return (
        Student.objects.filter(search_key=key, guardian_links__guardian__phone__in=phones)
        .select_related("branch")
        .order_by("pk")
        .first()
    )


def student_registrations_lock() -> None:
    """Serialize registrations (form and import) on the student code counter's row, so two
    clerks saving the same child at once cannot both miss the other (R12). Held to commit."""
    if Counter.objects.select_for_update().filter(key=STUDENT_CODE_COUNTER).first() is None:
        try:
            with transaction.atomic():
                Counter.objects.create(key=STUDENT_CODE_COUNTER, value=STUDENT_CODE_START)
        except IntegrityError:
            pass  # another transaction created it first; lock theirs below
        Counter.objects.select_for_update().get(key=STUDENT_CODE_COUNTER)


def _guardian_for_phone(phone: str, *, full_name: str, relation: str) -> Guardian:
    """The guardian with this phone (siblings share one), created if new; race-safe."""
    guardian = Guardian.objects.filter(phone=phone).first()
    if guardian is None:
        try:
            with transaction.atomic():
                guardian = Guardian.objects.create(phone=phone, full_name=full_name, relation=relation)
        except IntegrityError:
            guardian = Guardian.objects.get(phone=phone)
    elif full_name and not guardian.full_name:
        guardian.full_name = full_name
        guardian.save(update_fields=["full_name"])
    return guardian


def _clean_guardians(guardians: Sequence[GuardianInput]) -> list[GuardianInput]:
    if not guardians:
        raise ValidationError({"guardians": _("Add at least one guardian with a phone number.")})
    cleaned, seen = [], set()
    for index, guardian in enumerate(guardians, start=1):
        try:
            phone = phone_e164(guardian.phone)
        except ValidationError as exc:
            raise ValidationError(
                {"guardians": _("Guardian %(number)s: %(error)s") % {"number": index, "error": exc.messages[0]}}
            ) from exc
        if phone in seen:
            continue
        seen.add(phone)
        cleaned.append(GuardianInput(phone, name_clean(guardian.full_name), guardian.relation, guardian.is_primary))
    if not any(guardian.is_primary for guardian in cleaned):
        first = cleaned[0]
        cleaned[0] = GuardianInput(first.phone, first.full_name, first.relation, True)
    elif sum(guardian.is_primary for guardian in cleaned) > 1:
        raise ValidationError({"guardians": _("Only one guardian can be the primary one.")})
    return cleaned


def student_register(
    *,
    actor,
    full_name: str,
    branch: Branch,
    guardians: Sequence[GuardianInput],
    code: str = "",
    phone: str = "",
    grade: str = "",
    school: str = "",
    notes: str = "",
    photo=None,
    allow_duplicate: bool = False,
    gender: str = "",
) -> Student:
    """Create a student with a gap-free code (or the typed one if unused) and link guardians.

    R12: when a student with the same folded name and one of these guardian phones exists, nothing
    is created: ``ValidationError`` with code ``"duplicate"`` (its params name the existing
    student: ``student_id``, ``code``, ``name``), unless ``allow_duplicate`` says this is a
    different child with the same name; the audit row then records the overridden warning.
    """
    errors: dict[str, list[str]] = {}
    name = name_clean(full_name)
    if not name:
        errors.setdefault("full_name", []).append(_("Enter the student's full name."))
    student_phone = ""
    if name_clean(phone):
        try:
            student_phone = phone_e164(phone)
        except ValidationError as exc:
            errors.setdefault("phone", []).extend(exc.messages)
    typed_code = ""
    if name_clean(code):
        try:
            typed_code = student_code_clean(code)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    try:
        guardian_inputs = _clean_guardians(guardians)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)

    with transaction.atomic():
        student_registrations_lock()
        twin = student_twin_find(full_name=name, guardian_phones=[guardian.phone for guardian in guardian_inputs])
        if twin is not None and not allow_duplicate:
            raise ValidationError(
                _(
                    "%(name)s (code %(code)s) is already registered with this name and guardian phone. "
                    "Open that student instead, or confirm that this is a different child with the same name."
                ),
                code="duplicate",
                params={"name": twin.full_name, "code": twin.code, "student_id": twin.pk},
            )
        if typed_code and _code_taken(typed_code):
            raise ValidationError(
                {"code": _("The code %(code)s is already used by another student.") % {"code": typed_code}}
            )
        student = Student(
            code=typed_code or _next_free_code(),
            full_name=name,
            search_key=search_key(name),
            phone=student_phone,
            gender=gender or Gender.MALE,
            branch=branch,
            grade=grade,
            school=name_clean(school),
            notes=notes.strip(),
        )
        if photo:
            student.photo = photo
        student.full_clean(exclude=["search_key"], validate_unique=False)
        # The photo is written before the row: a refused write (full or read-only disk) raises
        # UploadFailed here and this transaction creates nothing; a failure after it deletes the file.
        with uploads_written_first(student):
            try:
                with transaction.atomic():
                    student.save()
            except IntegrityError as exc:  # a concurrent registration took the typed code
                raise ValidationError(
                    {"code": _("The code %(code)s is already used by another student.") % {"code": student.code}}
                ) from exc
            for guardian_input in guardian_inputs:
                guardian = _guardian_for_phone(
                    guardian_input.phone, full_name=guardian_input.full_name, relation=guardian_input.relation
                )
                StudentGuardian.objects.create(student=student, guardian=guardian, is_primary=guardian_input.is_primary)
            changes = {
                **{field: [None, value] for field, value in snapshot(student, STUDENT_FIELDS).items()},
                "guardians": [None, [guardian.phone for guardian in guardian_inputs]],
            }
            reason = ""
            if twin is not None:
                changes["duplicate_warning_overridden"] = [None, twin.code]
                reason = _("Registered although %(code)s has the same name and guardian phone: a different child.") % {
                    "code": twin.code
                }
            audit_record(actor=actor, action=AuditLog.Action.CREATE, instance=student, changes=changes, reason=reason)
    return student


def student_update(*, actor, student: Student, **changes) -> Student:
    """Change a student's own fields; the code may change to an unused one. Audited."""
    unknown = set(changes) - set(STUDENT_FIELDS)
    if unknown:
        raise TypeError(f"student_update got unknown fields: {sorted(unknown)}")
    errors: dict[str, list[str]] = {}
    if "full_name" in changes:
        changes["full_name"] = name_clean(changes["full_name"])
        if not changes["full_name"]:
            errors.setdefault("full_name", []).append(_("Enter the student's full name."))
    if "phone" in changes:
        try:
            changes["phone"] = phone_e164(changes["phone"]) if name_clean(changes["phone"] or "") else ""
        except ValidationError as exc:
            errors.setdefault("phone", []).extend(exc.messages)
    if "code" in changes:
        try:
            changes["code"] = student_code_clean(changes["code"])
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if "school" in changes:
        changes["school"] = name_clean(changes["school"])
    if errors:
        raise ValidationError(errors)

    with transaction.atomic():
        locked = Student.objects.select_for_update().get(pk=student.pk)
        before = snapshot(locked, STUDENT_FIELDS)
        if "code" in changes and changes["code"] != locked.code and _code_taken(changes["code"], exclude_pk=locked.pk):
            raise ValidationError(
                {"code": _("The code %(code)s is already used by another student.") % {"code": changes["code"]}}
            )
        for field, value in changes.items():
            setattr(locked, field, value)
        locked.search_key = search_key(locked.full_name)
        locked.full_clean(exclude=["search_key"], validate_unique=False)
        with uploads_written_first(locked):  # a new photo: written first, so the audit names the stored file
            diff = changes_between(before, snapshot(locked, STUDENT_FIELDS))
            if diff:
                locked.save()
                audit_record(actor=actor, action=AuditLog.Action.UPDATE, instance=locked, changes=diff)
    return locked


def guardian_link(
    *,
    actor,
    student: Student,
    phone: str,
    full_name: str = "",
    relation: str = Guardian.Relation.FATHER,
    is_primary: bool = False,
) -> StudentGuardian:
    """Link a guardian (found or created by phone) to a student; a student keeps one primary."""
    normalized = phone_e164(phone) if phone else None
    if normalized is None:
        raise ValidationError({"phone": _("Enter a phone number.")})
    with transaction.atomic():
        Student.objects.select_for_update().filter(pk=student.pk).first()  # serialize changes to this student's links
        guardian = _guardian_for_phone(normalized, full_name=name_clean(full_name), relation=relation)
        links = StudentGuardian.objects.filter(student=student)
        has_primary = links.filter(is_primary=True).exclude(guardian=guardian).exists()
        make_primary = is_primary or not has_primary
        if make_primary:
            links.filter(is_primary=True).exclude(guardian=guardian).update(is_primary=False)
        link, created = StudentGuardian.objects.get_or_create(
            student=student, guardian=guardian, defaults={"is_primary": make_primary}
        )
        if not created and link.is_primary != make_primary and make_primary:
            link.is_primary = True
            link.save(update_fields=["is_primary"])
        audit_record(
            actor=actor,
            action=AuditLog.Action.CREATE if created else AuditLog.Action.UPDATE,
            instance=student,
            changes={"guardian": [None, guardian.phone], "primary": [None, link.is_primary]},
        )
    return link


def guardian_unlink(*, actor, student: Student, guardian: Guardian) -> None:
    """Remove a guardian from a student; the last guardian cannot be removed."""
    with transaction.atomic():
        Student.objects.select_for_update().filter(pk=student.pk).first()
        links = StudentGuardian.objects.filter(student=student)
        link = links.filter(guardian=guardian).first()
        if link is None:
            return
        if links.count() == 1:
            raise ValidationError(_("A student needs at least one guardian."))
        link.delete()
        if link.is_primary:
            successor = links.order_by("id").first()
            successor.is_primary = True
            successor.save(update_fields=["is_primary"])
        audit_record(
            actor=actor, action=AuditLog.Action.DELETE, instance=student, changes={"guardian": [guardian.phone, None]}
        )
