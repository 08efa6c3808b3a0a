"""Small display filters and tags for the scoring templates."""

from decimal import Decimal
from html import escape

from django import template
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
# They build HTML as Django's admin builds its change list (admin_list.items_for_result), every
# value of a record through _e (the standard library's html.escape, quotes included), the rest
# fixed markup; format_html would do the same at several times the cost on a 25-row page.
def _e(value) -> str:
    return escape("" if value is None else str(value), quote=True)


@register.simple_tag
def group_badge(group):
    """The risk group as a badge with its name in words: never colour alone."""
    if not group:
        return ""
    return mark_safe(
        f'<span class="badge risk-badge risk-{_e(group)}"><span class="risk-dot" aria-hidden="true"></span>'
        f"{_e(capfirst(group))} risk</span>"
    )


_AFTER_CHANGE = ' <span class="fw-normal">(after treatment change)</span>'
_PROGRESSIVE = ('<span class="badge flag-outcome" title="Progressive kyphosis: kyphosis angle more than 10° above '
                'pretreatment">Progressive kyphosis{}</span>')
_NON_UNION = '<span class="badge flag-outcome" title="Bone non-union at 6 months or later">Non-union{}</span>'


@register.simple_tag
def outcome_flags(progressive, non_union, progressive_after_change=False, non_union_after_change=False):
    """A badge for each adverse outcome seen (spec §3), marked when seen after a treatment change."""
    flags = []
    if progressive:
        flags.append(_PROGRESSIVE.format(_AFTER_CHANGE if progressive_after_change else ""))
    if non_union:
        flags.append(_NON_UNION.format(_AFTER_CHANGE if non_union_after_change else ""))
    return mark_safe("\n".join(flags))


@register.simple_tag
def patient_table_rows(rows):
    """The patient list's rows (presenters.PatientRow)."""
    return mark_safe("\n".join(_patient_row(row) for row in rows))


def _patient_row(row) -> str:
    if row.latest_url:
        latest = f'<a href="{_e(row.latest_url)}">{_e(row.latest_date)}</a>'
    else:
        latest = '<span class="text-body-secondary">none yet</span>'
    total = "—" if row.latest_total is None else _e(row.latest_total)
    flags = outcome_flags(row.progressive, row.non_union, row.progressive_after_change, row.non_union_after_change)
    return (
        f'<tr><td class="text-nowrap"><a class="fw-semibold" href="{_e(row.url)}">{_e(row.mrn)}</a></td>'
        f"<td>{_e(row.name or '—')}</td>"
        f'<td class="d-none d-lg-table-cell">{_e(row.sex)}</td>'
        f'<td class="text-nowrap d-none d-lg-table-cell">{_e(row.date_of_birth)}</td>'
        f'<td class="text-nowrap">{latest}</td><td class="text-end fw-semibold">{total}</td>'
        f'<td class="text-nowrap">{group_badge(row.latest_group)}</td><td>{flags}</td></tr>'
    )


@register.simple_tag
def worklist_table_rows(rows, record_url):
    """The worklist's rows (presenters.WorklistRow); record_url has {} for the fracture's key."""
    return mark_safe("\n".join(_worklist_row(row, record_url) for row in rows))


def _worklist_row(row, record_url: str) -> str:
    fracture = row.fracture
    mrn, kind_label = _e(fracture.mrn), _e(row.kind_label)
    name = f'<br><span class="small">{_e(fracture.name)}</span>' if fracture.name else ""
    return (
        f'<tr data-row="{mrn}-{_e(row.kind)}"><td><span class="badge status-{_e(row.status)}">{_e(row.status_label)}'
        f'</span></td><td class="text-nowrap">{row.due.isoformat()}<br><span class="small text-body-secondary">window '
        f'{row.window_opens:%m-%d} to {row.window_closes:%m-%d}</span></td><td>{kind_label}</td>'
        f'<td><a class="fw-semibold text-nowrap" href="{_e(fracture.patient_url)}">{mrn}</a>{name}</td>'
        f'<td><a href="{_e(fracture.get_absolute_url())}">{_e(fracture.level)} · {fracture.assessment_date.isoformat()}'
        f'</a></td><td class="text-nowrap">{_e(fracture.total_score)} {group_badge(fracture.risk_group)}</td>'
        f'<td class="text-end"><a class="btn btn-sm btn-primary" href="{_e(record_url.format(fracture.pk))}?kind='
        f'{_e(row.kind)}">Record<span class="visually-hidden"> the {kind_label} visit of {mrn}</span></a></td></tr>'
    )


@register.simple_tag
def chart_figure(chart, number):
    """One course chart (charts.Chart) as an SVG figure with a text alternative. Written out here,
    not by a template: some 300 elements a page, drawn whenever a fracture's page is drawn afresh."""
    svg = chart.svg
    title_id, desc_id = f"chart-{number}-title", f"chart-{number}-desc"
    reference = svg["reference"]
    description = "".join(f"{_e(marker['text'])}. " for marker in svg["markers"])
    if reference:
        description += f"{_e(reference['label'])}: " + ", then ".join(_e(bar["text"]) for bar in reference["bars"]) + "."
    parts = [
        '<figure class="chart mb-3">',
        f'<svg viewBox="0 0 {svg["width"]} {svg["height"]}" class="chart-svg" role="img" '
        f'aria-labelledby="{title_id} {desc_id}">',
        f'<title id="{title_id}">{_e(chart.title)} over time</title>',
        f'<desc id="{desc_id}">{description}</desc>',
    ]
    for tick in svg["y_ticks"]:
        parts.append(
            f'<line class="chart-grid" x1="{svg["plot_left"]}" x2="{svg["plot_right"]}" y1="{tick["y"]}" y2="{tick["y"]}"/>'
            f'<text class="chart-label" x="{svg["label_x"]}" y="{tick["y"]}" text-anchor="end" '
            f'dominant-baseline="middle">{_e(tick["label"])}</text>'
        )
    for tick in svg["x_ticks"]:
        parts.append(
            f'<line class="chart-grid chart-grid-x" x1="{tick["x"]}" x2="{tick["x"]}" y1="{svg["plot_top"]}" '
            f'y2="{svg["plot_bottom"]}"/><text class="chart-label" x="{tick["x"]}" y="{svg["label_y"]}" '
            f'text-anchor="middle">{_e(tick["label"])}</text>'
        )
    if reference:
        parts += [f'<line class="chart-ref-iqr" x1="{bar["x"]}" x2="{bar["x"]}" y1="{bar["y1"]}" y2="{bar["y2"]}"/>'
                  for bar in reference["bars"]]
        parts.append(f'<polyline class="chart-ref-line" points="{_e(reference["line"])}"/>')
    parts.append(f'<polyline class="chart-line" points="{_e(svg["line"])}"/>')
    parts += [f'<circle class="chart-point" cx="{marker["x"]}" cy="{marker["y"]}" r="4"><title>{_e(marker["text"])}'
              "</title></circle>" for marker in svg["markers"]]
    unit = f" ({_e(chart.unit.replace(' ', ''))})" if chart.unit else ""
    key = f' · <span class="chart-ref-key">dashed: {_e(reference["label"])}</span>' if reference else ""
    parts.append(f'</svg><figcaption class="small"><strong>{_e(chart.title)}</strong>{unit}{key}</figcaption></figure>')
    return mark_safe("\n".join(parts))
