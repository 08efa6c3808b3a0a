"""Small display filters and tags for the scoring templates."""

from decimal import Decimal

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from nasovcf_site.i18n import words as _words
from scoring import presenters
from scoring.presenters import GROUP_LABELS
from scoring.rules import format_signed

register = template.Library()


@register.filter
def words(value):
    """What the pure core said (a scoring.wording.Text or a marked English msgid) in the active language."""
    return _words(value)


@register.filter
def signed(value):
    """A signed number with a true minus sign (−3.6), as clinical texts write T-scores."""
    if value is None or value == "":
        return value
    return format_signed(Decimal(str(value)))


@register.filter
def person(user):
    """A user by their full name where one is recorded, else the username ("Dr Anna Smith")."""
    return presenters.person(user)


@register.filter
def signed_delta(value):
    """A difference with its sign always shown: +1.7, −6.4, 0.0."""
    if value is None or value == "":
        return "—"
    number = Decimal(str(value))
    return f"+{number}" if number > 0 else format_signed(number)


# The markup lives in the templates/scoring/_*.html partials these tags render; Django's
# autoescape escapes every value.


@register.inclusion_tag("scoring/_risk_badge.html")
def risk_badge(group):
    """The risk group as a badge with its name in words; nothing for no group."""
    return {"group": group, "label": GROUP_LABELS[group] if group else ""}


@register.simple_tag
def risk_groups():
    """The risk groups in order, for drawing a badge of each (the live score's to clone)."""
    return list(GROUP_LABELS)


@register.inclusion_tag("scoring/_outcome_flags.html")
def outcome_flags(progressive, non_union, progressive_after_change=False, non_union_after_change=False):
    """A badge for each adverse outcome seen (spec §3), marked when seen after a treatment change."""
    return {
        "progressive": progressive,
        "non_union": non_union,
        "progressive_after_change": progressive_after_change,
        "non_union_after_change": non_union_after_change,
    }


# The two long lists' rows are written with format_html, as Django's admin writes its change list
# (admin_list.items_for_result): every value escaped, and about ten times quicker than the same
# row as template markup, which was most of these pages' time (bench/report.md). The badge and
# the flags come drawn from their partials (presenters.PartialsOnce).


@register.simple_tag
def patient_rows(rows):
    """The patient list's rows (presenters.PatientRow)."""
    none_yet = format_html('<span class="text-body-secondary">{}</span>', _("none yet"))
    return format_html_join("\n", PATIENT_ROW, (_patient_row(row, none_yet) for row in rows))


PATIENT_ROW = (
    '<tr><td class="text-nowrap"><a class="fw-semibold" href="{}">{}</a></td><td>{}</td>'
    '<td class="d-none d-lg-table-cell">{}</td><td class="text-nowrap d-none d-lg-table-cell">{}</td>'
    '<td class="text-nowrap">{}</td><td class="text-end fw-semibold">{}</td>'
    '<td class="text-nowrap">{}</td><td>{}</td></tr>'
)


def _patient_row(row, none_yet) -> tuple:
    latest = format_html('<a href="{}">{}</a>', row.latest_url, row.latest_date) if row.latest_url else none_yet
    total = "—" if row.latest_total is None else row.latest_total
    return (row.url, row.mrn, row.name or "—", row.sex, row.date_of_birth, latest, total, row.badge, row.flags)


@register.simple_tag
def worklist_rows(rows, can_record):
    """The worklist's rows (presenters.WorklistRow); the Record button only for who may record."""
    phrases = {
        "window": _("window %(opens)s to %(closes)s"),
        "opens": _("opens %(date)s"),
        "record": _("Record"),
        "record_hidden": _("the %(visit)s visit of %(mrn)s"),
    }
    return format_html_join("\n", WORKLIST_ROW, (_worklist_row(row, can_record, phrases) for row in rows))


WORKLIST_ROW = (
    '<tr data-row="{}-{}"><td><span class="badge status-{}">{}</span></td>'
    '<td class="text-nowrap">{}<br><span class="small text-body-secondary">{}</span></td>'
    '<td>{}</td><td><a class="fw-semibold text-nowrap" href="{}">{}</a>{}</td>'
    '<td><a href="{}">{}</a></td><td class="text-nowrap">{} {}</td><td class="text-end">{}</td></tr>'
)


def _worklist_row(row, can_record: bool, phrases: dict) -> tuple:
    name = format_html('<br><span class="small">{}</span>', row.name) if row.name else ""
    record = ""
    if can_record and not row.recordable:
        record = format_html(
            '<span class="small text-body-secondary">{}</span>',
            phrases["opens"] % {"date": presenters.short_date(row.window_opens)},
        )
    elif can_record:
        record = format_html(
            '<a class="btn btn-sm btn-primary" href="{}">{}<span class="visually-hidden"> {}</span></a>',
            row.record_url,
            phrases["record"],
            phrases["record_hidden"] % {"visit": row.kind_label, "mrn": row.mrn},
        )
    window = phrases["window"] % {"opens": f"{row.window_opens:%m-%d}", "closes": f"{row.window_closes:%m-%d}"}
    return (
        row.mrn, row.kind, row.status, row.status_label, presenters.short_date(row.due), window,
        row.kind_label, row.patient_url, row.mrn, name, row.fracture_url,
        row.fracture_label, row.total_score, row.badge, record,
    )  # fmt: skip


@register.simple_tag
def chart_figure(chart, number):
    """One course chart (charts.Chart) as an SVG figure with a text alternative; number keeps the
    ids of the page's charts apart.

    Written with format_html (every value escaped, as the admin's change list writes its rows), not
    a template: some 300 elements a page, which the template engine drew about twenty times slower.
    """
    svg = chart.svg
    title_id, desc_id = f"chart-{number}-title", f"chart-{number}-desc"
    reference = svg["reference"]
    description = format_html_join("", "{}. ", ((marker["text"],) for marker in svg["markers"]))
    if reference:
        bars = format_html_join(
            pgettext("chart reference bars", ", then "), "{}", ((bar["text"],) for bar in reference["bars"])
        )
        description = format_html("{}{}: {}.", description, reference["label"], bars)
        reference_lines = format_html(
            '{}<polyline class="chart-ref-line" points="{}"/>\n',
            format_html_join(
                "",
                '<line class="chart-ref-iqr" x1="{}" x2="{}" y1="{}" y2="{}"/>\n',
                ((bar["x"], bar["x"], bar["y1"], bar["y2"]) for bar in reference["bars"]),
            ),
            reference["line"],
        )
        key = format_html(
            ' · <span class="chart-ref-key">{}</span>', _("dashed: %(label)s") % {"label": reference["label"]}
        )
    else:
        reference_lines = key = ""
    y_ticks = format_html_join(
        "",
        '<line class="chart-grid" x1="{}" x2="{}" y1="{}" y2="{}"/><text class="chart-label" x="{}" y="{}" '
        'text-anchor="end" dominant-baseline="middle">{}</text>\n',
        (
            (svg["plot_left"], svg["plot_right"], tick["y"], tick["y"], svg["label_x"], tick["y"], tick["label"])
            for tick in svg["y_ticks"]
        ),
    )
    x_ticks = format_html_join(
        "",
        '<line class="chart-grid chart-grid-x" x1="{}" x2="{}" y1="{}" y2="{}"/><text class="chart-label" '
        'x="{}" y="{}" text-anchor="middle">{}</text>\n',
        (
            (tick["x"], tick["x"], svg["plot_top"], svg["plot_bottom"], tick["x"], svg["label_y"], tick["label"])
            for tick in svg["x_ticks"]
        ),
    )
    markers = format_html_join(
        "",
        '<circle class="chart-point" cx="{}" cy="{}" r="4"><title>{}</title></circle>\n',
        ((marker["x"], marker["y"], marker["text"]) for marker in svg["markers"]),
    )
    unit = format_html(" ({})", chart.unit.replace(" ", "")) if chart.unit else ""
    return format_html(
        '<figure class="chart mb-3">\n<svg viewBox="0 0 {} {}" class="chart-svg" role="img" aria-labelledby="{} {}">\n'
        '<title id="{}">{}</title>\n<desc id="{}">{}</desc>\n{}{}{}'
        '<polyline class="chart-line" points="{}"/>\n{}</svg><figcaption class="small"><strong>{}</strong>{}{}'
        "</figcaption></figure>",
        svg["width"],
        svg["height"],
        title_id,
        desc_id,
        title_id,
        _("%(title)s over time") % {"title": chart.title},
        desc_id,
        description,
        y_ticks,
        x_ticks,
        reference_lines,
        svg["line"],
        markers,
        chart.title,
        unit,
        key,
    )
