# Importing the modules registers their admins.
from core.admin import (  # noqa: F401
    backups,
    catalog,
    center,
    channels,
    discounts,
    door,
    imports,
    kiosks,
    message_templates,
    messaging,
    money,
    org,
    people,
    schedule,
    third_party,
    treasury,
)
