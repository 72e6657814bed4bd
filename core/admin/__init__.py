"""The admin is the product's UI (django-unfold): one module per group of screens, each showing,
filtering and calling services, never writing a model itself. ``money/`` is a package with one
module per screen; ``dashboard`` is the front page; ``base`` holds the shared mixins."""

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
