"""Small display filters for the scoring templates."""

from decimal import Decimal

from django import template

from scoring.rules import format_signed

register = template.Library()


@register.filter
def signed(value):
    """A signed number with a true minus sign (−3.6), as clinical texts write T-scores."""
    if value is None or value == "":
        return value
    return format_signed(Decimal(str(value)))
