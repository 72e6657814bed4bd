"""What is printed on a card and read back at the door.

A student card holds the student's code. A teacher card holds ``T-`` and a signed token
(R1): the teacher's id and card version signed with the project's SECRET_KEY, so a card
cannot be forged or guessed, and bumping ``Teacher.card_version`` revokes every card
printed before. The token is a plain ``Signer`` value ("12.1:signature", about 50
characters), short enough for a small QR code.
"""

from django.core import signing

from core.models import Teacher

TEACHER_CARD_PREFIX = "T-"
TEACHER_CARD_SALT = "syseducore.teacher-card"
# A real card value is about 50 characters; anything much longer is not one of ours.
TEACHER_CARD_MAX_LENGTH = 200


def _signer() -> signing.Signer:
    return signing.Signer(salt=TEACHER_CARD_SALT)


def teacher_card_value(teacher: Teacher) -> str:
    """The text the teacher's QR code holds: ``T-<id>.<card version>:<signature>``."""
    return TEACHER_CARD_PREFIX + _signer().sign(f"{teacher.pk}.{teacher.card_version}")


def teacher_card_masked(value: str) -> str:
    """A card value fit for logs and screens: ``T-<id>.<version>:…``. The signature is all a
    working card needs, so it is never stored or shown; other values come back unchanged."""
    head, colon, _signature = value.partition(":")
    if colon and head.strip().upper().startswith(TEACHER_CARD_PREFIX):
        return f"{head}:…"
    return value


def teacher_card_payload(value: str) -> tuple[int, int] | None:
    """(teacher id, card version) from a card value whose signature is good, else None."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not value.startswith(TEACHER_CARD_PREFIX) or len(value) > TEACHER_CARD_MAX_LENGTH:
        return None
    try:
        payload = _signer().unsign(value[len(TEACHER_CARD_PREFIX) :])
    except signing.BadSignature:
        return None
    teacher_id, _dot, version = payload.partition(".")
    if not (teacher_id.isascii() and teacher_id.isdigit() and version.isascii() and version.isdigit()):
        return None
    return int(teacher_id), int(version)


def teacher_from_card(value: str) -> Teacher | None:
    """The active teacher a card belongs to; None for a forged, malformed, revoked or unknown card."""
    payload = teacher_card_payload(value)
    if payload is None:
        return None
    teacher_id, version = payload
    return Teacher.objects.filter(pk=teacher_id, card_version=version, is_active=True).first()
