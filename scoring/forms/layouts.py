"""How the forms are laid out on the page (crispy-forms), apart from what they validate."""

from __future__ import annotations

from crispy_forms.bootstrap import InlineRadios, StrictButton
from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Column, Div, Fieldset, Layout, Row, Submit
from django.utils.html import escape
from django.utils.translation import gettext as _

from .fields import HEIGHT_FORM_FIELDS
from .readings import ODI_SECTION_FIELDS


def odi_layout() -> list:
    """The ODI field and its questionnaire, folded away unless used (a <details>, no script)."""
    return [
        "odi_percent",
        HTML(
            '<details class="odi-sections mb-3"{% if form.odi_sections_given %} open{% endif %}><summary>'
            + escape(_("Score the ten ODI sections instead (choose each answer; leave unanswered ones empty)"))
            + '</summary><div class="row mt-2">'
        ),
        *(Column(name, css_class="col-sm-6 col-lg-4") for name in ODI_SECTION_FIELDS),
        HTML("</div></details>"),
    ]


def vhl_layout(legend: str) -> Fieldset:
    return Fieldset(
        legend,
        "vhl_percent",
        HTML(
            '<p class="text-body-secondary small mb-2">{}</p>'.format(
                escape(
                    _(
                        "— or from the six heights on the lateral radiograph: "
                        "VHL = [(c+d+e+f)/4 − (a+b)/2] / [(c+d+e+f)/4] × 100 —"
                    )
                )
            )
        ),
        Row(*(Column(name, css_class="col-md-4") for name in HEIGHT_FORM_FIELDS)),
        HTML(
            '{% if form.computed_vhl is not None %}<p class="computed-vhl" id="computed-vhl">'
            + escape(_("VHL computed from the six heights:"))
            + " <strong>{{ form.computed_vhl }} %</strong></p>"
            "{% endif %}{% for error in form.vhl_group_errors %}"
            '<div class="invalid-feedback d-block" role="alert">{{ error }}</div>{% endfor %}'
        ),
        notices_layout(),
        css_class="vhl-fieldset",
    )


def readers_layout(summary: str) -> list:
    """The film's readers: a second reader's VHL and angle, folded away unless used."""
    return [
        HTML(
            '<details class="second-reader mb-3"{% if form.second_reader_given %} open{% endif %}>'
            f'<summary>{escape(summary)}</summary><div class="mt-2">'
        ),
        Row(Column("first_reader_name", css_class="col-md-6"), Column("second_reader_name", css_class="col-md-6")),
        Row(
            Column("second_vhl_percent", css_class="col-md-6"),
            Column("second_kyphosis_angle_deg", css_class="col-md-6"),
        ),
        Row(*(Column(f"second_{name}", css_class="col-md-4") for name in HEIGHT_FORM_FIELDS)),
        HTML(
            '{% if form.reader_summary %}<p class="small" id="reader-summary">{{ form.reader_summary }}</p>{% endif %}'
            "</div></details>"
        ),
    ]


def notices_layout() -> HTML:
    """What is worth a second look but not an error (a negative VHL): said, and saved anyway."""
    return HTML(
        '{% for notice in form.notices %}<div class="alert alert-warning py-2" role="status" data-notice>'
        "{{ notice }}</div>{% endfor %}"
    )


def calculator(form) -> FormHelper:
    helper = FormHelper(form)
    helper.form_tag = False
    helper.disable_csrf = True  # the page's <form> carries the token once
    helper.layout = Layout(
        Row(
            Column("fracture_type", css_class="col-md-4"),
            Column("t2_signal", css_class="col-md-4"),
            Column("level", css_class="col-md-4"),
        ),
        vhl_layout(_("Vertebral height loss")),
        Row(
            Column("kyphosis_angle_deg", css_class="col-md-4"),
            Column("bmd_t_score", css_class="col-md-4"),
            Column("age_years", css_class="col-md-4"),
        ),
        "low_energy_trauma",
        Div(
            StrictButton(_("Calculate score"), type="submit", name="calculate", value="1", css_class="btn btn-primary"),
            css_class="d-flex justify-content-end",
        ),
    )
    return helper


def assessment(form) -> FormHelper:
    helper = FormHelper(form)
    helper.form_tag = False
    helper.disable_csrf = True  # the page's <form> carries the token once
    helper.layout = Layout(
        "version",
        "submission",
        "confirmed",
        Fieldset(
            _("Fracture"),
            Row(
                Column("assessment_date", css_class="col-md-4"),
                Column("level", css_class="col-md-4"),
                Column("injury_date", css_class="col-md-4"),
            ),
            Row(
                Column("fracture_type", css_class="col-md-4"),
                Column("treatment", css_class="col-md-4"),
                Column("treatment_start_date", css_class="col-md-4"),
            ),
            InlineRadios("low_energy_trauma"),
        ),
        vhl_layout(_("Vertebral height loss")),
        Fieldset(
            _("Kyphosis, MRI and bone density"),
            Row(
                Column("kyphosis_angle_deg", css_class="col-md-4"),
                Column("t2_signal", css_class="col-md-4"),
                Column("bmd_t_score", css_class="col-md-4"),
            ),
        ),
        *readers_layout(_("A second reader measured the film too (the mean of the two is scored)")),
        Fieldset(_("AO Spine-DGOU osteoporotic fracture classification"), "of_class"),
        Fieldset(
            _("Pain, disability and body size (pretreatment)"),
            Row(
                Column("vas_pain", css_class="col-md-4"),
                Column("height_cm", css_class="col-md-4"),
                Column("weight_kg", css_class="col-md-4"),
            ),
            *odi_layout(),
        ),
        Div(
            StrictButton(
                _("Calculate score"), type="submit", name="preview", value="1", css_class="btn btn-outline-primary"
            ),
            StrictButton(_("Save assessment"), type="submit", name="save", value="1", css_class="btn btn-primary"),
            css_class="d-flex gap-2 justify-content-end",
        ),
    )
    return helper


def visit(form) -> FormHelper:
    helper = FormHelper(form)
    helper.form_tag = False
    helper.disable_csrf = True  # the page's <form> carries the token once
    helper.layout = Layout(
        "version",
        "submission",
        "confirmed",
        Fieldset(
            _("Visit"),
            Row(Column("kind", css_class="col-md-6"), Column("visit_date", css_class="col-md-6")),
        ),
        Fieldset(_("Pain and disability"), "vas_pain", *odi_layout()),
        Fieldset(_("Films (where taken)"), "kyphosis_angle_deg"),
        vhl_layout(_("Vertebral height loss (where films were taken)")),
        *readers_layout(_("A second reader measured this film too (the mean of the two is compared)")),
        Fieldset(
            _("Bone union (6 months or later)"),
            "bone_union",
            HTML(
                '<p class="small text-body-secondary mb-1">{}</p>'.format(
                    escape(_("For a non-union, tick the evidence:"))
                )
            ),
            "vacuum_cleft_mri",
            "vacuum_cleft_ct",
            "anterior_height_change",
        ),
        "notes",
        Div(
            StrictButton(_("Save visit"), type="submit", name="save", value="1", css_class="btn btn-primary"),
            css_class="d-flex justify-content-end",
        ),
    )
    return helper


def treatment_change(form) -> FormHelper:
    helper = FormHelper(form)
    helper.form_tag = False
    helper.disable_csrf = True  # the page's <form> carries the token once
    helper.layout = Layout(
        "version",
        "submission",
        "confirmed",
        Row(Column("treatment", css_class="col-md-6"), Column("changed_on", css_class="col-md-6")),
        "reason",
        Div(
            StrictButton(_("Record the change"), type="submit", css_class="btn btn-primary"),
            css_class="d-flex justify-content-end",
        ),
    )
    return helper


def patient(form) -> FormHelper:
    helper = FormHelper(form)
    helper.form_tag = False
    helper.disable_csrf = True  # the page's <form> carries the token once
    helper.layout = Layout(
        "version",
        "submission",
        "confirmed",
        Row(Column("mrn", css_class="col-md-6"), Column("name", css_class="col-md-6")),
        Row(Column("sex", css_class="col-md-6"), Column("date_of_birth", css_class="col-md-6")),
        Div(Submit("save", _("Save patient"), css_class="btn-primary"), css_class="d-flex justify-content-end"),
    )
    return helper
