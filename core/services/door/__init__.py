"""The door (SPEC.md R1–R7), in one package. Pure rules apart from the writes:

- ``rules``: where a scan is (``Place``, which yields its own session filter), which session it
  is for, the teacher's window, the money verdict (R2, R4–R6). No writes.
- ``read``: the one read a student's scan decides on (one SQL statement, prepared on PostgreSQL);
  ``read_orm``: the same read with the ORM, the reference it is tested against (not run by the door).
- ``outcomes``: the answers (``ScanOutcome``) and their wording.
- ``scan``: ``scan_process``, the one entry point (kiosk, desk), and the admission's writes.
- ``teacher``: the teacher's card and check-in. ``cards``: what a card holds.
- ``charges``: the charge an admission posts, and its reversal or move when the attendance goes.
- ``jobs``: auto-cancel (R6) and absences (R7). ``manual``: attendance by hand, follow-ups.
- ``notify``: the one helper that queues a message to a student's guardians.
- ``roster``: the kiosk's roster and the day's sessions board.
"""

from .charges import post_charge, session_charges_reverse
from .jobs import LOOKBACK, sessions_auto_cancel, sessions_mark_absent
from .manual import attendance_set, door_follow_up_resolve
from .notify import notify_guardians
from .outcomes import ScanOutcome
from .rules import MoneyVerdict, Place, money_verdict, teacher_window
from .scan import scan_process
from .teacher import teacher_check_in

__all__ = [
    "LOOKBACK",
    "MoneyVerdict",
    "Place",
    "ScanOutcome",
    "attendance_set",
    "door_follow_up_resolve",
    "money_verdict",
    "notify_guardians",
    "post_charge",
    "scan_process",
    "session_charges_reverse",
    "sessions_auto_cancel",
    "sessions_mark_absent",
    "teacher_check_in",
    "teacher_window",
]
