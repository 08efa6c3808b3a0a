"""Small display filters and tags for the scoring templates."""

from decimal import Decimal

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.text import capfirst

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


# Tags, not {% include %}: these are drawn on every row of the long lists, where an include
# (a template looked up and a context pushed per row) was most of the page's time (bench/report.md).
@register.simple_tag
def group_badge(group):
    """The risk group as a badge with its name in words: never colour alone."""
    if not group:
        return ""
    return format_html(
        '<span class="badge risk-badge risk-{}"><span class="risk-dot" aria-hidden="true"></span>{} risk</span>',
        group, capfirst(group),
    )


_OUTCOME_FLAGS = (
    ("Progressive kyphosis: kyphosis angle more than 10° above pretreatment", "Progressive kyphosis"),
    ("Bone non-union at 6 months or later", "Non-union"),
)
_AFTER_CHANGE = mark_safe(' <span class="fw-normal">(after treatment change)</span>')


@register.simple_tag
def outcome_flags(progressive, non_union, progressive_after_change=False, non_union_after_change=False):
    """A badge for each adverse outcome seen (spec §3), marked when seen after a treatment change."""
    flags = []
    for seen, after_change, (title, label) in zip(
        (progressive, non_union), (progressive_after_change, non_union_after_change), _OUTCOME_FLAGS
    ):
        if seen:
            flags.append(format_html('<span class="badge flag-outcome" title="{}">{}{}</span>',
                                     title, label, _AFTER_CHANGE if after_change else ""))
    return mark_safe("\n".join(flags))
