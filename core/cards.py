"""What is printed on a card and read back at the door, now ``core.services.door.cards``.

Kept so callers and operators' scripts keep working: the public names re-exported from there.
"""

from core.services.door.cards import (
    TEACHER_CARD_MAX_LENGTH,
    TEACHER_CARD_PREFIX,
    TEACHER_CARD_SALT,
    teacher_card_masked,
    teacher_card_payload,
    teacher_card_value,
    teacher_from_card,
)

__all__ = [
    "TEACHER_CARD_MAX_LENGTH",
    "TEACHER_CARD_PREFIX",
    "TEACHER_CARD_SALT",
    "teacher_card_masked",
    "teacher_card_payload",
    "teacher_card_value",
    "teacher_from_card",
]
