"""The door's one read, now ``core.services.door.read``.

Kept so callers and operators' scripts keep working: the public names re-exported from there.
"""

from core.services.door.read import DoorCandidate, DoorRead, door_read
from core.services.door.rules import Place

__all__ = ["DoorCandidate", "DoorRead", "Place", "door_read"]
