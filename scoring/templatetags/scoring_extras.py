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


@register.filter
def signed_delta(value):
    """A difference with its sign always shown: +1.7, −6.4, 0.0."""
    if value is None or value == "":
        return "—"
    number = Decimal(str(value))
    return f"+{number}" if number > 0 else format_signed(number)
