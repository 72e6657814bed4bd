"""``{% load dashboard_tags %}``: counts as people read them on the dashboard."""

from django import template
from django.utils.formats import number_format

from core.models import Channel

register = template.Library()


@register.filter
def grouped(value) -> str:
    """12345 → "12,345" with the active language's separators; None → "—"."""
    if value is None or value == "":
        return "—"
    return number_format(value, force_grouping=True)


@register.filter
def percent(value) -> str:
    """An attendance rate: 87 → "87%"; None (nothing marked yet) → "—"."""
    return "—" if value is None else f"{value}%"


@register.filter
def channel_name(value) -> str:
    """A sending channel's name in the reader's language ("whatsapp" → "WhatsApp" / "واتساب"):
    the cached states carry the value, labels are translated when the page is drawn."""
    return str(Channel(value).label) if value in Channel.values else str(value)
