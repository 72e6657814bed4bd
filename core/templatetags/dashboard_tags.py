"""``{% load dashboard_tags %}``: counts as people read them on the dashboard."""

from django import template
from django.utils.formats import number_format

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
