"""Registering students: codes, names, phones, guardians and the audit trail."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections

from core.models import AuditLog, Counter, Guardian, Student, StudentGuardian
from core.services.students import GuardianInput, guardian_link, guardian_unlink, student_register, student_update
from tests.factories import make_student


@pytest.fixture
def branch(main_branch):
    return main_branch


def test_codes_are_consecutive_from_1001(branch, receptionist):
    first = make_student(branch, actor=receptionist)
    second = make_student(branch, actor=receptionist)
    assert (first.code, second.code) == ("1001", "1002")


def test_typed_code_is_kept_and_the_counter_skips_it(branch, receptionist):
    typed = make_student(branch, actor=receptionist, code="١٠٠٢")  # Arabic-Indic digits
    assert typed.code == "1002"
    assert [make_student(branch).code for _ in range(2)] == ["1001", "1003"]


def test_duplicate_typed_code_is_refused_naming_the_field(branch):
    make_student(branch, code="A-77")
    count = Student.objects.count()
    with pytest.raises(ValidationError) as error:
        make_student(branch, code="a-77")
    assert "code" in error.value.message_dict
    assert Student.objects.count() == count


def test_teacher_card_prefix_is_not_a_student_code(branch):
    with pytest.raises(ValidationError) as error:
        make_student(branch, code="T-12")
    assert "code" in error.value.message_dict


def test_name_is_cleaned_and_search_key_folds_arabic_variants(branch):
    student = make_student(branch, name="  أحمد   محمد  ")
    assert student.full_name == "أحمد محمد"
    assert student.search_key == "احمد محمد"
    fatma = make_student(branch, name="فاطمة")
    assert fatma.search_key == make_student(branch, name="فاطمه").search_key


def test_invalid_guardian_phone_is_refused_and_nothing_is_saved(branch):
    with pytest.raises(ValidationError) as error:
        student_register(actor=None, full_name="سارة", branch=branch, guardians=[GuardianInput(phone="12345")])
    assert "guardians" in error.value.message_dict
    assert not Student.objects.exists()
    assert not Counter.objects.filter(value__gt=1000).exists()


def test_a_student_needs_a_guardian(branch):
    with pytest.raises(ValidationError) as error:
        student_register(actor=None, full_name="سارة", branch=branch, guardians=[])
    assert "guardians" in error.value.message_dict


def test_siblings_share_one_guardian_by_phone(branch):
    first = make_student(branch, guardian_phone="+20 100 123 4567")
    second = make_student(branch, guardian_phone="01001234567")
    assert Guardian.objects.count() == 1
    guardian = Guardian.objects.get()
    assert guardian.phone == "+201001234567"
    assert set(guardian.students.all()) == {first, second}


def test_first_guardian_becomes_primary(branch):
    student = student_register(
        actor=None,
        full_name="منى",
        branch=branch,
        guardians=[
            GuardianInput("01001112233", "الأب"),
            GuardianInput("01201112233", "الأم", Guardian.Relation.MOTHER),
        ],
    )
    links = StudentGuardian.objects.filter(student=student).order_by("id")
    assert [link.is_primary for link in links] == [True, False]


def test_registration_writes_an_audit_row(branch, receptionist):
    student = make_student(branch, actor=receptionist)
    entry = AuditLog.objects.get(model="core.student", object_id=str(student.pk))
    assert entry.actor == receptionist and entry.action == AuditLog.Action.CREATE
    assert entry.changes["code"] == [None, student.code]


def test_update_records_before_and_after(branch, receptionist):
    student = make_student(branch, name="عمر")
    student_update(actor=receptionist, student=student, full_name="عمر خالد", school="مدرسة النيل")
    student.refresh_from_db()
    assert student.search_key == "عمر خالد"
    entry = AuditLog.objects.filter(action=AuditLog.Action.UPDATE).get()
    assert entry.changes["full_name"] == ["عمر", "عمر خالد"]
    assert entry.actor == receptionist


def test_update_without_changes_writes_nothing(branch):
    student = make_student(branch, name="عمر")
    student_update(actor=None, student=student, full_name="عمر")
    assert not AuditLog.objects.filter(action=AuditLog.Action.UPDATE).exists()


def test_update_refuses_a_taken_code(branch):
    make_student(branch, code="5000")
    other = make_student(branch)
    with pytest.raises(ValidationError) as error:
        student_update(actor=None, student=other, code="5000")
    assert "code" in error.value.message_dict


def test_update_refuses_an_invalid_phone(branch):
    student = make_student(branch)
    with pytest.raises(ValidationError) as error:
        student_update(actor=None, student=student, phone="abc")
    assert "phone" in error.value.message_dict


def test_guardian_link_moves_primary_and_unlink_keeps_one(branch):
    student = make_student(branch, guardian_phone="01001112233")
    link = guardian_link(actor=None, student=student, phone="01112223344", full_name="الأم", is_primary=True)
    assert link.is_primary
    assert StudentGuardian.objects.filter(student=student, is_primary=True).count() == 1
    guardian_unlink(actor=None, student=student, guardian=link.guardian)
    remaining = StudentGuardian.objects.get(student=student)
    assert remaining.is_primary
    with pytest.raises(ValidationError):
        guardian_unlink(actor=None, student=student, guardian=remaining.guardian)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_fifty_concurrent_registrations_get_fifty_consecutive_codes(main_branch):
    """On PostgreSQL the threads really race; on SQLite writes serialize. Either way: no gaps, no twins."""
    workers = 50 if connection.vendor == "postgresql" else 10
    barrier = threading.Barrier(workers)
    errors = []

    def register(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            make_student(main_branch, guardian_phone=f"0101{index:07d}")
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=register, args=(index,)) for index in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    codes = sorted(int(code) for code in Student.objects.values_list("code", flat=True))
    assert codes == list(range(1001, 1001 + workers))


# --- R12: the same child registered twice -------------------------------------------------------


def test_registering_the_same_child_twice_is_refused_with_the_existing_student(branch, receptionist):
    first = make_student(branch, name="أحمد محمد", guardian_phone="01001112233", actor=receptionist)
    count, audits = Student.objects.count(), AuditLog.objects.count()
    with pytest.raises(ValidationError) as error:
        make_student(branch, name="أحمد  محمد", guardian_phone="+20 100 111 2233", actor=receptionist)
    assert error.value.code == "duplicate"
    assert error.value.params["student_id"] == first.pk
    message = error.value.messages[0]
    assert first.full_name in message and first.code in message
    assert (Student.objects.count(), AuditLog.objects.count()) == (count, audits)


def test_registering_a_same_named_child_anyway_creates_a_second_student_and_audits_it(branch, receptionist):
    first = make_student(branch, name="أحمد محمد", guardian_phone="01001112233")
    second = make_student(
        branch, name="أحمد محمد", guardian_phone="01001112233", actor=receptionist, allow_duplicate=True
    )
    assert second.pk != first.pk and second.code != first.code
    assert Student.objects.filter(search_key=first.search_key).count() == 2
    entry = AuditLog.objects.get(model="core.student", object_id=str(second.pk))
    assert entry.actor == receptionist and entry.action == AuditLog.Action.CREATE
    assert entry.changes["duplicate_warning_overridden"] == [None, first.code]
    assert first.code in entry.reason
    plain = AuditLog.objects.get(model="core.student", object_id=str(first.pk))
    assert "duplicate_warning_overridden" not in plain.changes and plain.reason == ""


@pytest.mark.parametrize(
    ("registered", "typed"),
    [
        ("أحمد علي", "احمد علي"),  # hamza on the alef
        ("إسراء علي", "اسراء علي"),
        ("فاطمة علي", "فاطمه علي"),  # taa marbuta
        ("منى علي", "مني علي"),  # alef maqsura
        ("مُحَمَّد علي", "محمد علي"),  # diacritics
        ("محمـــد علي", "محمد علي"),  # tatweel
    ],
)
def test_spelling_variants_of_the_name_are_the_same_child(branch, registered, typed):
    make_student(branch, name=registered, guardian_phone="01001112233")
    with pytest.raises(ValidationError) as error:
        make_student(branch, name=typed, guardian_phone="01001112233")
    assert error.value.code == "duplicate"
    assert Student.objects.count() == 1


def test_a_different_guardian_phone_is_a_different_child(branch):
    make_student(branch, name="أحمد محمد", guardian_phone="01001112233")
    other = make_student(branch, name="احمد محمد", guardian_phone="01201112233")
    assert Student.objects.filter(search_key=other.search_key).count() == 2
    assert "duplicate_warning_overridden" not in AuditLog.objects.get(object_id=str(other.pk)).changes


def test_any_guardian_of_the_existing_student_matches_either_phone_typed(branch):
    existing = student_register(
        actor=None,
        full_name="منى حسن",
        branch=branch,
        guardians=[GuardianInput("01001112233"), GuardianInput("01201112233", relation=Guardian.Relation.MOTHER)],
    )
    with pytest.raises(ValidationError) as error:
        student_register(
            actor=None,
            full_name="منى حسن",
            branch=branch,
            guardians=[GuardianInput("01501112233"), GuardianInput("٠١٢٠١١١٢٢٣٣")],  # the mother, second
        )
    assert error.value.params["code"] == existing.code


def test_a_sibling_with_the_same_guardian_is_not_a_twin(branch):
    make_student(branch, name="سارة علي", guardian_phone="01001112233")
    make_student(branch, name="عمر علي", guardian_phone="01001112233")
    assert Student.objects.count() == 2
