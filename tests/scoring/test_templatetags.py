"""The scoring template tags and filters, rendered on their own: the badge, the flags, the patient
list's rows, the course charts, and the signed-number filters."""

from decimal import Decimal

import pytest
from django.core.paginator import Paginator
from django.template import engines
from django.template.loader import render_to_string

from scoring import charts
from scoring.forms.patient import PatientSearchForm
from scoring.presenters import PartialsOnce, PatientRow
from scoring.templatetags.scoring_extras import signed, signed_delta

HOSTILE = '<script>alert("x")</script>'
HOSTILE_ESCAPED = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"


def render(source: str, **context) -> str:
    return engines["django"].from_string("{% load scoring_extras %}" + source).render(context)


# -- the risk badge ------------------------------------------------------------------------------


@pytest.mark.parametrize(("group", "words"), [("low", "Low risk"), ("medium", "Medium risk"), ("high", "High risk")])
def test_risk_badge_names_the_group_in_words_beside_its_colour_class(group, words):
    assert render("{% risk_badge group %}", group=group) == (
        f'<span class="badge risk-badge risk-{group}"><span class="risk-dot" aria-hidden="true"></span>{words}</span>'
    )


@pytest.mark.parametrize("group", ["", None])
def test_risk_badge_draws_nothing_without_a_group(group):
    assert render("{% risk_badge group %}", group=group) == ""


def test_risk_badge_refuses_a_group_that_is_not_one_of_the_three():
    with pytest.raises(KeyError):
        render("{% risk_badge group %}", group="<b>")


def test_risk_groups_lists_the_groups_in_order():
    assert render("{% risk_groups as groups %}{{ groups|join:',' }}") == "low,medium,high"


def test_the_live_result_holds_each_groups_badge_for_the_script_to_copy():
    panel = render_to_string("scoring/_live_result.html")
    template = panel[panel.index("<template data-live-badges>") : panel.index("</template>")]
    for group in ("low", "medium", "high"):
        assert render("{% risk_badge group %}", group=group) in template


# -- the outcome flags ---------------------------------------------------------------------------

PROGRESSIVE = (
    '<span class="badge flag-outcome" title="Progressive kyphosis: kyphosis angle more than 10° above '
    'pretreatment">Progressive kyphosis'
)
NON_UNION = '<span class="badge flag-outcome" title="Bone non-union at 6 months or later">Non-union'
AFTER_CHANGE = ' <span class="fw-normal">(after treatment change)</span>'


def flags(progressive=False, non_union=False, progressive_after_change=False, non_union_after_change=False) -> str:
    return render(
        "{% outcome_flags p n pa na %}",
        p=progressive,
        n=non_union,
        pa=progressive_after_change,
        na=non_union_after_change,
    )


def test_no_outcome_seen_draws_no_flag():
    assert flags() == ""
    assert flags(progressive_after_change=True, non_union_after_change=True) == ""


def test_each_outcome_seen_has_its_flag_with_a_title():
    assert flags(progressive=True) == PROGRESSIVE + "</span>"
    assert flags(non_union=True) == NON_UNION + "</span>"
    assert flags(progressive=True, non_union=True) == f"{PROGRESSIVE}</span> {NON_UNION}</span>"


def test_an_outcome_seen_after_a_treatment_change_says_so():
    assert flags(progressive=True, progressive_after_change=True) == PROGRESSIVE + AFTER_CHANGE + "</span>"
    assert flags(non_union=True, non_union_after_change=True) == NON_UNION + AFTER_CHANGE + "</span>"
    both = flags(progressive=True, non_union=True, non_union_after_change=True)
    assert both == f"{PROGRESSIVE}</span> {NON_UNION}{AFTER_CHANGE}</span>"


# -- the patient list's rows ---------------------------------------------------------------------


def patient_row(**values) -> PatientRow:
    row = {
        "url": "/patients/1/",
        "mrn": "MRN001",
        "name": "Ada Li",
        "sex": "Female",
        "date_of_birth": "1950-04-02",
        "latest_url": "/assessments/7/",
        "latest_date": "2025-03-10",
        "latest_total": 10,
        "latest_group": "high",
        "progressive": False,
        "non_union": True,
        "progressive_after_change": False,
        "non_union_after_change": False,
    }
    row = {**row, **values}
    partials = PartialsOnce()  # as presenters.patient_rows draws them
    row["badge"] = partials.badge(row["latest_group"])
    row["flags"] = partials.flags(
        row["progressive"], row["non_union"], row["progressive_after_change"], row["non_union_after_change"]
    )
    return PatientRow(**row)


def patient_list(*rows: PatientRow) -> str:
    page = render_to_string(
        "scoring/patient_list.html",
        {
            "rows": rows,
            "page": Paginator(rows, 25).page(1),
            "search": PatientSearchForm(),
            "filtered": False,
            "show_archived": False,
        },
    )
    return page[page.index("<tbody>") : page.index("</tbody>")]


@pytest.mark.django_db
def test_a_patient_row_shows_the_latest_assessment_its_score_badge_and_flags():
    body = patient_list(patient_row())
    assert '<a class="fw-semibold" href="/patients/1/">MRN001</a>' in body
    assert "<td>Ada Li</td>" in body and ">Female</td>" in body and ">1950-04-02</td>" in body
    assert '<a href="/assessments/7/">2025-03-10</a>' in body
    assert '<td class="text-end fw-semibold">10</td>' in body
    assert render("{% risk_badge 'high' %}") in body
    assert NON_UNION + "</span>" in body


@pytest.mark.django_db
def test_a_patient_without_an_assessment_shows_none_yet_and_no_score():
    body = patient_list(
        patient_row(name="", latest_url=None, latest_date="", latest_total=None, latest_group="", non_union=False)
    )
    assert "<td>—</td>" in body  # no name
    assert '<span class="text-body-secondary">none yet</span>' in body
    assert '<td class="text-end fw-semibold">—</td>' in body
    assert "risk-badge" not in body and "flag-outcome" not in body


@pytest.mark.django_db
def test_a_score_of_zero_is_shown_as_zero_not_as_missing():
    assert '<td class="text-end fw-semibold">0</td>' in patient_list(patient_row(latest_total=0, latest_group="low"))


@pytest.mark.django_db
def test_html_in_a_patient_row_is_escaped():
    body = patient_list(patient_row(mrn="<b>MRN</b>", name=HOSTILE, latest_url="/assessments/7/?a=1&b=2"))
    assert HOSTILE not in body and "<b>" not in body
    assert f"<td>{HOSTILE_ESCAPED}</td>" in body
    assert "&lt;b&gt;MRN&lt;/b&gt;" in body
    assert 'href="/assessments/7/?a=1&amp;b=2"' in body


# -- the course charts ---------------------------------------------------------------------------


def chart_points(label: str = "1 month (2025-04-10)") -> list[charts.Point]:
    return [charts.Point(0, 7.0, "Pretreatment"), charts.Point(30, 5.5, label), charts.Point(92, 2.0, "3 months")]


def test_a_chart_is_an_svg_figure_named_by_its_title_and_described_in_words():
    chart = charts.build("VAS pain", "", chart_points(), floor=0, ceiling=10)
    figure = render("{% chart_figure chart 2 %}", chart=chart)
    assert 'role="img" aria-labelledby="chart-2-title chart-2-desc"' in figure
    assert '<title id="chart-2-title">VAS pain over time</title>' in figure
    assert '<desc id="chart-2-desc">Pretreatment: 7. 1 month (2025-04-10): 5.5. 3 months: 2. </desc>' in figure
    assert figure.count('<circle class="chart-point"') == 3
    assert 'r="4"><title>1 month (2025-04-10): 5.5</title></circle>' in figure  # each point named on hover
    assert '<figcaption class="small"><strong>VAS pain</strong></figcaption>' in figure  # no unit, no reference


def test_a_chart_with_the_cohort_reference_describes_it_and_keys_the_dashed_line():
    reference = charts.Reference("Cohort median (IQR), high group", ((0, 15.1, 11.85, 23.0), (180, 28.6, 20.7, 36.1)))
    chart = charts.build("Kyphosis angle", "°", chart_points(), reference=reference)
    figure = render("{% chart_figure chart 3 %}", chart=chart)
    assert (
        '<desc id="chart-3-desc">Pretreatment: 7°. 1 month (2025-04-10): 5.5°. 3 months: 2°. '
        "Cohort median (IQR), high group: 15.1 (11.85–23), then 28.6 (20.7–36.1).</desc>"
    ) in figure
    assert figure.count('<line class="chart-ref-iqr"') == 2 and '<polyline class="chart-ref-line"' in figure
    assert (
        '<strong>Kyphosis angle</strong> (°) · <span class="chart-ref-key">dashed: Cohort median (IQR), high '
        "group</span>"
    ) in figure


def test_a_unit_with_a_space_is_printed_tight_in_the_caption():
    figure = render("{% chart_figure chart 1 %}", chart=charts.build("ODI", " %", chart_points(), floor=0))
    assert "<strong>ODI</strong> (%)</figcaption>" in figure


def test_html_in_a_chart_title_and_labels_is_escaped():
    chart = charts.build(HOSTILE, "", chart_points(label="<i>1 month</i>"), floor=0, ceiling=10)
    figure = render("{% chart_figure chart 1 %}", chart=chart)
    assert HOSTILE not in figure and "<i>" not in figure
    assert f'<title id="chart-1-title">{HOSTILE_ESCAPED} over time</title>' in figure
    assert "&lt;i&gt;1 month&lt;/i&gt;: 5.5" in figure
    assert f"<strong>{HOSTILE_ESCAPED}</strong>" in figure


# -- signed numbers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (None, None),
        ("", ""),
        (0, "0"),
        (Decimal("0.0"), "0.0"),
        (Decimal("2.5"), "2.5"),
        (Decimal("-2.5"), "−2.5"),  # U+2212, the true minus sign
        (-3.6, "−3.6"),
        ("-0.5", "−0.5"),
    ],
)
def test_signed_writes_a_negative_with_the_true_minus_sign(value, shown):
    assert signed(value) == shown


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (None, "—"),
        ("", "—"),
        (0, "0"),
        (Decimal("0.0"), "0.0"),
        (Decimal("0.1"), "+0.1"),
        (Decimal("1.7"), "+1.7"),
        (Decimal("-0.1"), "−0.1"),
        (Decimal("-6.4"), "−6.4"),
    ],
)
def test_signed_delta_always_shows_the_sign_of_a_difference(value, shown):
    assert signed_delta(value) == shown


def test_the_filters_never_print_an_ascii_hyphen_for_minus():
    assert "-" not in render("{{ a|signed }} {{ b|signed_delta }}", a=Decimal("-3.6"), b=Decimal("-6.4"))
    assert render("{{ a|signed }} {{ b|signed_delta }}", a=Decimal("-3.6"), b=Decimal("-6.4")) == "\u22123.6 \u22126.4"
