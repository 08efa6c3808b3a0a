"""Small display filters and tags for the scoring templates."""

from decimal import Decimal

from django import template
from django.utils.html import format_html, format_html_join
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


# The long tables' rows are built here, as Django's admin builds its change list
# (admin_list.items_for_result): a row of a dozen cells through the template engine cost about
# 0.1 ms, most of the list page's time (bench/report.md). Everything goes through format_html.
@register.simple_tag
def patient_table_rows(rows):
    """The patient list's rows (presenters.PatientRow)."""
    return format_html_join("\n", "{}", ((_patient_row(row),) for row in rows))


def _patient_row(row) -> str:
    if row.latest_url:
        latest = format_html('<a href="{}">{}</a>', row.latest_url, row.latest_date)
    else:
        latest = mark_safe('<span class="text-body-secondary">none yet</span>')
    return format_html(
        '<tr><td class="text-nowrap"><a class="fw-semibold" href="{}">{}</a></td><td>{}</td>'
        '<td class="d-none d-lg-table-cell">{}</td><td class="text-nowrap d-none d-lg-table-cell">{}</td>'
        '<td class="text-nowrap">{}</td><td class="text-end fw-semibold">{}</td><td class="text-nowrap">{}</td>'
        "<td>{}</td></tr>",
        row.url, row.mrn, row.name or "—", row.sex, row.date_of_birth, latest,
        "—" if row.latest_total is None else row.latest_total, group_badge(row.latest_group),
        outcome_flags(row.progressive, row.non_union, row.progressive_after_change, row.non_union_after_change),
    )


@register.simple_tag
def worklist_table_rows(rows, record_url):
    """The worklist's rows (presenters.WorklistRow); record_url has {} for the fracture's key."""
    return format_html_join("\n", "{}", ((_worklist_row(row, record_url),) for row in rows))


def _worklist_row(row, record_url: str) -> str:
    fracture = row.fracture
    name = format_html('<br><span class="small">{}</span>', fracture.name) if fracture.name else ""
    return format_html(
        '<tr data-row="{}-{}"><td><span class="badge status-{}">{}</span></td>'
        '<td class="text-nowrap">{}<br><span class="small text-body-secondary">window {} to {}</span></td>'
        '<td>{}</td><td><a class="fw-semibold" href="{}">{}</a>{}</td><td><a href="{}">{} · {}</a></td>'
        '<td class="text-nowrap">{} {}</td><td class="text-end"><a class="btn btn-sm btn-primary" href="{}?kind={}">'
        'Record<span class="visually-hidden"> the {} visit of {}</span></a></td></tr>',
        fracture.mrn, row.kind, row.status, row.status_label,
        row.due.isoformat(), row.window_opens.strftime("%m-%d"), row.window_closes.strftime("%m-%d"),
        row.kind_label, fracture.patient_url, fracture.mrn, name, fracture.get_absolute_url(),
        fracture.level, fracture.assessment_date.isoformat(),
        fracture.total_score, group_badge(fracture.risk_group), record_url.format(fracture.pk), row.kind,
        row.kind_label, fracture.mrn,
    )
