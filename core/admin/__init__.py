# Importing the modules registers their admins.
from core.admin import (  # noqa: F401
    backups,
    center,
    channels,
    door,
    imports,
    kiosks,
    messaging,
    money,
    org,
    people,
    schedule,
    third_party,
    treasury,
)
