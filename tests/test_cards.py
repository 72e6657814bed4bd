"""Teacher cards: a signed token that cannot be forged and can be revoked (R1)."""

import pytest
from django.core import signing

from core.cards import TEACHER_CARD_SALT, teacher_card_value, teacher_from_card
from core.models import AuditLog, Teacher
from core.services.teachers import teacher_card_revoke


@pytest.fixture
def teacher(db) -> Teacher:
    return Teacher.objects.create(full_name="Mona Adel", search_key="mona adel", subject="Physics")


def test_a_printed_card_finds_its_teacher(teacher):
    value = teacher_card_value(teacher)
    assert value.startswith("T-")
    assert teacher_from_card(value) == teacher


def test_the_card_value_is_short_enough_for_a_small_qr_code(teacher):
    assert len(teacher_card_value(teacher)) <= 64


def test_surrounding_white_space_from_a_scanner_is_ignored(teacher):
    assert teacher_from_card(f"  {teacher_card_value(teacher)}\n") == teacher


def test_a_forged_signature_is_refused(teacher):
    value = teacher_card_value(teacher)
    forged = value[:-4] + ("AAAA" if not value.endswith("AAAA") else "BBBB")
    assert teacher_from_card(forged) is None


def test_a_card_signed_with_another_salt_is_refused(teacher):
    other = signing.Signer(salt="another.purpose").sign(f"{teacher.pk}.{teacher.card_version}")
    assert teacher_from_card("T-" + other) is None


def test_changing_the_teacher_id_breaks_the_signature(teacher):
    other = Teacher.objects.create(full_name="Sami Fawzy", search_key="sami fawzy")
    value = teacher_card_value(teacher)
    signature = value.split(":", 1)[1]
    assert teacher_from_card(f"T-{other.pk}.{other.card_version}:{signature}") is None


def test_a_student_code_is_not_a_teacher_card(teacher):
    assert teacher_from_card("1001") is None
    assert teacher_from_card(str(teacher.pk)) is None


def test_a_revoked_card_is_refused_and_the_new_one_works(teacher, owner):
    old_card = teacher_card_value(teacher)
    teacher_card_revoke(actor=owner, teacher=teacher, reason="Card lost")
    teacher.refresh_from_db()
    assert teacher.card_version == 2
    assert teacher_from_card(old_card) is None
    assert teacher_from_card(teacher_card_value(teacher)) == teacher


def test_revoking_a_card_is_audited(teacher, owner):
    teacher_card_revoke(actor=owner, teacher=teacher, reason="Card lost")
    entry = AuditLog.objects.get(model="core.teacher", object_id=str(teacher.pk))
    assert entry.actor == owner
    assert entry.changes == {"card_version": [1, 2]}
    assert entry.reason == "Card lost"


def test_an_inactive_teachers_card_is_refused(teacher):
    value = teacher_card_value(teacher)
    teacher.is_active = False
    teacher.save()
    assert teacher_from_card(value) is None


def test_a_deleted_teachers_card_is_refused(teacher):
    value = teacher_card_value(teacher)
    teacher.delete()
    assert teacher_from_card(value) is None


def test_a_correctly_signed_but_malformed_payload_is_refused(db):
    for payload in ("abc.1", "1", "1.x", "-1.1", "١.١", ""):
        value = "T-" + signing.Signer(salt=TEACHER_CARD_SALT).sign(payload)
        assert teacher_from_card(value) is None


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "   ",
        "T-",
        "T-:",
        "T-1.1",
        "T-1.1:",
        "T-1.1:not-a-signature",
        "T-١.١:x",
        "ت-١٢٣",
        "T-\x00\x01:\u202e",
        "T-" + "9" * 5000,
        "T-1.1:" + "A" * 10_000,
        "😀" * 100,
        "t-1.1:abc",
    ],
)
def test_garbage_never_raises_and_finds_nobody(db, garbage):
    assert teacher_from_card(garbage) is None


def test_values_that_are_not_text_find_nobody(db):
    assert teacher_from_card(None) is None
    assert teacher_from_card(b"T-1.1:abc") is None
