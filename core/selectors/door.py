"""The door's rosters and sessions board, now ``core.services.door.roster``.

Kept so callers and operators' scripts keep working: the public names re-exported from there.
"""

from core.services.door.roster import (
    REFUSALS,
    BoardRow,
    SessionCounts,
    SessionRoster,
    door_roster,
    door_sessions_now,
    rosters_for,
    session_counts,
    sessions_board,
)

__all__ = [
    "REFUSALS",
    "BoardRow",
    "SessionCounts",
    "SessionRoster",
    "door_roster",
    "door_sessions_now",
    "rosters_for",
    "session_counts",
    "sessions_board",
]
