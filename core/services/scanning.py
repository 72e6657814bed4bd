"""The door's scan services, now in ``core.services.door`` (see its ``__init__``).

Kept so callers and operators' scripts keep working: the public names re-exported from there.
"""

from core.services.door.cards import TEACHER_CARD_PREFIX
from core.services.door.charges import post_charge
from core.services.door.notify import notify_guardians
from core.services.door.outcomes import ADMITTED, COLOURS, ScanOutcome
from core.services.door.rules import TOO_EARLY_HORIZON, MoneyVerdict, money_verdict, teacher_window
from core.services.door.scan import scan_process
from core.services.door.teacher import teacher_check_in

__all__ = [
    "ADMITTED",
    "COLOURS",
    "TEACHER_CARD_PREFIX",
    "TOO_EARLY_HORIZON",
    "MoneyVerdict",
    "ScanOutcome",
    "money_verdict",
    "notify_guardians",
    "post_charge",
    "scan_process",
    "teacher_check_in",
    "teacher_window",
]
