"""Validation for the HTML pages and the JSON API alike: one set of fields, ranges and messages.

`ScoreForm` holds what the score reads and is what `POST /api/score/` validates; the assessment
page's `AssessmentForm` is the same form with the fracture's own details added, so the page and
the API can never disagree (spec §7).
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from decimal import Decimal

from crispy_forms.bootstrap import InlineRadios, StrictButton
from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Column, Div, Fieldset, Layout, Row, Submit
from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils import timezone

from . import measurements, presenters, rules
from .locking import VersionedForm
from .models import (
    SPINE_LEVEL_CHOICES,
    BoneUnion,
    Fracture,
    OFClass,
    visit_schedule,
    FractureType,
    Patient,
    RiskGroup,
    T2Signal,
    Treatment,
    Visit,
    VisitKind,
)

MAX_NUMBER_TEXT_LENGTH = 32  # longer than any honest measurement: refuse before parsing
MAX_MAGNITUDE_EXPONENT = 6  # |value| < 10^7
PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", re.ASCII)
EARLIEST_DATE = datetime.date(1900, 1, 1)

HEIGHT_FORM_FIELDS = tuple(f"{name}_mm" for name in measurements.HEIGHT_FIELDS)
HEIGHT_LABELS = {
    "fractured_anterior_mm": "a · fractured, anterior (mm)",
    "fractured_posterior_mm": "b · fractured, posterior (mm)",
    "cranial_anterior_mm": "c · vertebra above, anterior (mm)",
    "cranial_posterior_mm": "d · vertebra above, posterior (mm)",
    "caudal_anterior_mm": "e · vertebra below, anterior (mm)",
    "caudal_posterior_mm": "f · vertebra below, posterior (mm)",
}

# Error codes the JSON API maps onto its own field names (api.py).
VHL_BOTH = "vhl_both"
VHL_MISSING = "vhl_missing"
VHL_COMPUTED_OUT_OF_RANGE = "vhl_computed_out_of_range"


class MeasuredDecimalField(forms.DecimalField):
    """A decimal number typed by a person or sent by a client: bounded length, finite."""

    def __init__(self, *, unit: str = "", **kwargs):
        self.unit = unit
        kwargs.setdefault("widget", forms.NumberInput(attrs={"step": "0.1", "inputmode": "decimal"}))
        super().__init__(**kwargs)
        escaped_unit = unit.replace("%", "%%")  # the messages are %-formatted
        self.error_messages["min_value"] = f"Must be at least %(limit_value)s{escaped_unit}."
        self.error_messages["max_value"] = f"Must be at most %(limit_value)s{escaped_unit}."

    def to_python(self, value):
        if isinstance(value, str):
            value = value.strip()
            if value and (len(value) > MAX_NUMBER_TEXT_LENGTH or not PLAIN_NUMBER.fullmatch(value)):
                # Decimal() would also take "1_5", non-ASCII digits or "NaN": not a measurement.
                raise ValidationError(self.error_messages["invalid"], code="invalid")
        value = super().to_python(value)
        if value is not None and value.is_finite() and value.adjusted() > MAX_MAGNITUDE_EXPONENT:
            # No measurement here reaches a million; refusing early keeps arithmetic on huge
            # exponents (which overflows or takes minutes) away from the rest of the code.
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return value


class TenthDecimalField(MeasuredDecimalField):
    """A value recorded to 0.1: rounded half-up before the range is checked (spec §1, Decision)."""

    def to_python(self, value):
        value = super().to_python(value)
        if value is not None and value.is_finite():
            value = rules.round_to_tenth(value)
        return value


class HeightField(MeasuredDecimalField):
    """One of the six vertebral heights: over 0 and at most 100 mm (spec §2, Decision)."""

    def __init__(self, **kwargs):
        super().__init__(
            unit=" mm",
            required=False,
            max_value=measurements.HEIGHT_MAX_MM,
            max_digits=5,
            decimal_places=2,
            widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
            **kwargs,
        )

    def validate(self, value):
        super().validate(value)
        if value is not None and value.is_finite() and value <= measurements.HEIGHT_MIN_EXCLUSIVE_MM:
            raise ValidationError("Must be greater than 0 mm.", code="min_value")


class VhlFields(forms.Form):
    """Vertebral height loss as a percentage or from the six heights, never both (spec §2).

    Shared by the score (where VHL is required) and the follow-up visit (films are optional).
    """

    vhl_required = True

    vhl_percent = TenthDecimalField(
        label="Vertebral height loss (%)",
        unit=" %",
        required=False,
        min_value=measurements.VHL_MIN_PERCENT,
        max_value=measurements.VHL_MAX_PERCENT,
        help_text="Enter the percentage, or the six heights below to compute it.",
    )
    fractured_anterior_mm = HeightField(label=HEIGHT_LABELS["fractured_anterior_mm"])
    fractured_posterior_mm = HeightField(label=HEIGHT_LABELS["fractured_posterior_mm"])
    cranial_anterior_mm = HeightField(label=HEIGHT_LABELS["cranial_anterior_mm"])
    cranial_posterior_mm = HeightField(label=HEIGHT_LABELS["cranial_posterior_mm"])
    caudal_anterior_mm = HeightField(label=HEIGHT_LABELS["caudal_anterior_mm"])
    caudal_posterior_mm = HeightField(label=HEIGHT_LABELS["caudal_posterior_mm"])

    computed_vhl: Decimal | None = None

    def _resolve_vhl(self, cleaned: dict, prefix: str = "", required: bool | None = None) -> Decimal | None:
        """Exactly one of the VHL percentage and the six heights; compute VHL from heights.

        `prefix` names another reader's fields ("second_"); returns the VHL computed from heights.
        """
        required = self.vhl_required if required is None else required
        percent_field = f"{prefix}vhl_percent"
        height_fields = [f"{prefix}{name}" for name in HEIGHT_FORM_FIELDS]
        percent_given = cleaned.get(percent_field) is not None or percent_field in self.errors
        heights_given = [name for name in height_fields if cleaned.get(name) is not None or name in self.errors]
        if percent_given and heights_given:
            self.add_error(
                percent_field,
                ValidationError(
                    "Enter either the VHL percentage or the six heights, not both.", code=VHL_BOTH
                ),
            )
            return None
        if not percent_given and not heights_given:
            if required:
                self.add_error(
                    percent_field,
                    ValidationError(
                        "Enter the VHL percentage, or all six heights to compute it.", code=VHL_MISSING
                    ),
                )
            return None
        if not heights_given:
            return None
        for name in height_fields:
            if name not in heights_given:
                self.add_error(
                    name,
                    ValidationError("Enter this height too: the VHL needs all six.", code="required"),
                )
        if any(name in self.errors for name in height_fields):
            return None
        heights = measurements.VertebralHeights(*(cleaned[name] for name in height_fields))
        vhl = measurements.vhl_from_heights(heights)
        if not prefix:
            self.computed_vhl = vhl
        if not measurements.vhl_in_accepted_range(vhl):
            self.add_error(
                percent_field if prefix else None,  # the second reader's beside its own fields
                ValidationError(
                    "The VHL computed from %(whose)s six heights is %(vhl)s %%, outside −50 … 100 %%: "
                    "check the heights for a measurement error.",
                    code=VHL_COMPUTED_OUT_OF_RANGE,
                    params={"vhl": rules.format_signed(vhl), "whose": "the second reader's" if prefix else "the"},
                ),
            )
            return None
        cleaned[percent_field] = vhl
        return vhl

    @property
    def vhl_from_heights(self) -> bool:
        return self.computed_vhl is not None

    @property
    def vhl_group_errors(self) -> list[str]:
        """Errors about the six heights together, shown beside them rather than on one field."""
        return [
            message
            for error in self.errors.as_data().get(NON_FIELD_ERRORS, [])
            if error.code == VHL_COMPUTED_OUT_OF_RANGE
            for message in error.messages
        ]

    def vhl_entered(self) -> Decimal | None:
        """The percentage as typed, or None when it was computed from heights (or not given)."""
        return None if self.vhl_from_heights else self.cleaned_data.get("vhl_percent")


ODI_SECTION_CHOICES = [("", "not answered")] + [(str(n), str(n)) for n in range(measurements.ODI_SECTION_MAX + 1)]
ODI_SECTION_FIELDS = tuple(f"odi_section_{n}" for n in range(1, len(measurements.ODI_SECTIONS) + 1))


def _odi_section_field(number: int) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=f"{number} · {measurements.ODI_SECTIONS[number - 1]}",
        choices=ODI_SECTION_CHOICES,
        coerce=int,
        empty_value=None,
        required=False,
    )


class OdiFields(forms.Form):
    """ODI typed as a percentage, or computed from the ten questionnaire sections (spec §2)."""

    odi_percent = TenthDecimalField(
        label="ODI (%)",
        unit=" %",
        required=False,
        min_value=measurements.ODI_MIN_PERCENT,
        max_value=measurements.ODI_MAX_PERCENT,
        help_text="Oswestry Disability Index, 0–100 %: type it, or score the ten sections below.",
    )
    odi_section_1 = _odi_section_field(1)
    odi_section_2 = _odi_section_field(2)
    odi_section_3 = _odi_section_field(3)
    odi_section_4 = _odi_section_field(4)
    odi_section_5 = _odi_section_field(5)
    odi_section_6 = _odi_section_field(6)
    odi_section_7 = _odi_section_field(7)
    odi_section_8 = _odi_section_field(8)
    odi_section_9 = _odi_section_field(9)
    odi_section_10 = _odi_section_field(10)

    odi_sections: list[int | None] | None = None

    def _initial_odi_sections(self, sections: list[int | None] | None) -> None:
        for name, score in zip(ODI_SECTION_FIELDS, sections or (), strict=False):
            if score is not None:
                self.initial[name] = str(score)

    def _resolve_odi(self, cleaned: dict) -> None:
        """Either the percentage or the sections; from sections, ODI by spec §2's formula."""
        sections = [cleaned.get(name) for name in ODI_SECTION_FIELDS]
        if all(score is None for score in sections):
            self.odi_sections = None
            return
        if cleaned.get("odi_percent") is not None:
            self.add_error(
                "odi_percent",
                ValidationError(
                    "Type the ODI or score the sections, not both: clear one of them.", code="odi_both"
                ),
            )
            return
        self.odi_sections = sections
        cleaned["odi_percent"] = measurements.odi_from_sections(sections)

    @property
    def odi_sections_given(self) -> bool:
        return any(self[name].value() not in (None, "") for name in ODI_SECTION_FIELDS)


def odi_layout() -> list:
    """The ODI field and its questionnaire, folded away unless used (a <details>, no script)."""
    return [
        "odi_percent",
        HTML(
            '<details class="odi-sections mb-3"{% if form.odi_sections_given %} open{% endif %}>'
            "<summary>Score the ten ODI sections instead (0–5 each; leave unanswered ones empty)</summary>"
            '<div class="row mt-2">'
        ),
        *(Column(name, css_class="col-sm-6 col-lg-4") for name in ODI_SECTION_FIELDS),
        HTML("</div></details>"),
    ]


def vhl_layout(legend: str) -> Fieldset:
    return Fieldset(
        legend,
        "vhl_percent",
        HTML('<p class="text-body-secondary small mb-2">— or from the six heights on the '
             "lateral radiograph: VHL = [(c+d+e+f)/4 − (a+b)/2] / [(c+d+e+f)/4] × 100 —</p>"),
        Row(*(Column(name, css_class="col-md-4") for name in HEIGHT_FORM_FIELDS)),
        HTML('{% if form.computed_vhl is not None %}<p class="computed-vhl" id="computed-vhl">'
             "VHL computed from the six heights: <strong>{{ form.computed_vhl }} %</strong></p>"
             "{% endif %}{% for error in form.vhl_group_errors %}"
             '<div class="invalid-feedback d-block" role="alert">{{ error }}</div>{% endfor %}'),
        css_class="vhl-fieldset",
    )


class ScoreForm(VhlFields):
    """What the NASOVCF score reads, validated once for every caller (spec §1, §2, §7)."""

    fracture_type = forms.ChoiceField(choices=FractureType.choices)
    kyphosis_angle_deg = TenthDecimalField(
        label="Local kyphosis angle (°)",
        unit="°",
        min_value=measurements.KYPHOSIS_MIN_DEG,
        max_value=measurements.KYPHOSIS_MAX_DEG,
        help_text="Inferior endplate above to superior endplate below; positive is kyphotic.",
    )
    t2_signal = forms.ChoiceField(label="MRI T2 signal (mid-sagittal)", choices=T2Signal.choices)
    bmd_t_score = TenthDecimalField(
        label="BMD T-score",
        min_value=measurements.T_SCORE_MIN,
        max_value=measurements.T_SCORE_MAX,
        help_text="DXA, mean of L1–L4 excluding the fractured vertebra.",
    )
    # Only for the validated-population warnings (spec §4).
    age_years = forms.IntegerField(required=False, min_value=0, max_value=130)
    level = forms.ChoiceField(required=False, choices=[("", "—")] + SPINE_LEVEL_CHOICES)
    low_energy_trauma = forms.NullBooleanField(required=False)

    result: rules.ScoreResult | None = None

    def clean(self):
        cleaned = super().clean()
        self._resolve_vhl(cleaned)
        self.combine_readers(cleaned)
        if not self.errors:
            inputs = self.score_inputs(cleaned)
            self.result = rules.score(inputs)
        return cleaned

    def combine_readers(self, cleaned: dict) -> None:
        """Where a second reader measured too, the scored value is the mean (AssessmentForm)."""

    def age_for_warnings(self, cleaned: dict) -> int | None:
        return cleaned.get("age_years")

    def score_inputs(self, cleaned: dict) -> rules.ScoreInputs:
        return rules.ScoreInputs(
            fracture_type=rules.FractureType(cleaned["fracture_type"]),
            vhl_percent=cleaned["vhl_percent"],
            kyphosis_angle_deg=cleaned["kyphosis_angle_deg"],
            t2_signal=rules.T2Signal(cleaned["t2_signal"]),
            bmd_t_score=cleaned["bmd_t_score"],
            age_years=self.age_for_warnings(cleaned),
            level=cleaned.get("level") or None,
            low_energy_trauma=cleaned.get("low_energy_trauma"),
        )


def _not_in_future(value: datetime.date) -> None:
    if value > timezone.localdate():
        raise ValidationError("This date is in the future.", code="future_date")


def _not_before_1900(value: datetime.date) -> None:
    if value < EARLIEST_DATE:
        raise ValidationError("Enter a date from 1900 on.", code="date_too_early")


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


YES_NO = [("yes", "Yes: a fall from standing height or less, or no trauma"), ("no", "No: high-energy trauma")]


class AssessmentForm(ScoreForm, OdiFields, VersionedForm, forms.ModelForm):
    """The baseline assessment of one fracture: the score's inputs plus the episode's details."""

    assessment_date = forms.DateField(
        widget=DateInput(), validators=[_not_in_future, _not_before_1900], label="Assessment date"
    )
    injury_date = forms.DateField(
        required=False,
        widget=DateInput(),
        validators=[_not_in_future, _not_before_1900],
        help_text="Leave empty when unknown.",
    )
    level = forms.ChoiceField(label="Fractured level", choices=[("", "—")] + SPINE_LEVEL_CHOICES)
    low_energy_trauma = forms.TypedChoiceField(
        label="Low-energy trauma?",
        choices=YES_NO,
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
    )
    vas_pain = TenthDecimalField(
        label="VAS pain (0–10)", required=False, min_value=measurements.VAS_MIN, max_value=measurements.VAS_MAX
    )
    height_cm = TenthDecimalField(label="Height (cm)", unit=" cm", required=False, min_value=100, max_value=230)
    weight_kg = TenthDecimalField(label="Weight (kg)", unit=" kg", required=False, min_value=20, max_value=250)
    treatment = forms.ChoiceField(label="Treatment chosen", choices=[("", "—")] + Treatment.choices)
    treatment_start_date = forms.DateField(
        required=False,
        widget=DateInput(),
        validators=[_not_before_1900],
        label="Treatment start date",
        help_text="Leave empty when treatment starts on the assessment date. Visits fall due 1, 3 and 6 months after it.",
    )
    age_years = None  # the page takes age from the patient's date of birth

    # A second reader (spec §2): the mean of the two readers is what is scored.
    first_reader_name = forms.CharField(label="First reader (name)", max_length=100, required=False)
    second_reader_name = forms.CharField(label="Second reader (name)", max_length=100, required=False)
    second_vhl_percent = TenthDecimalField(
        label="Second reader: VHL (%)", unit=" %", required=False,
        min_value=measurements.VHL_MIN_PERCENT, max_value=measurements.VHL_MAX_PERCENT,
        help_text="Or the second reader's six heights below.",
    )
    second_fractured_anterior_mm = HeightField(label="Second reader: " + HEIGHT_LABELS["fractured_anterior_mm"])
    second_fractured_posterior_mm = HeightField(label="Second reader: " + HEIGHT_LABELS["fractured_posterior_mm"])
    second_cranial_anterior_mm = HeightField(label="Second reader: " + HEIGHT_LABELS["cranial_anterior_mm"])
    second_cranial_posterior_mm = HeightField(label="Second reader: " + HEIGHT_LABELS["cranial_posterior_mm"])
    second_caudal_anterior_mm = HeightField(label="Second reader: " + HEIGHT_LABELS["caudal_anterior_mm"])
    second_caudal_posterior_mm = HeightField(label="Second reader: " + HEIGHT_LABELS["caudal_posterior_mm"])
    second_kyphosis_angle_deg = TenthDecimalField(
        label="Second reader: kyphosis angle (°)", unit="°", required=False,
        min_value=measurements.KYPHOSIS_MIN_DEG, max_value=measurements.KYPHOSIS_MAX_DEG,
    )
    of_class = forms.ChoiceField(
        label="AO Spine-DGOU class (optional)", required=False, choices=[("", "not recorded")] + OFClass.choices,
        widget=forms.RadioSelect,
        help_text="Schnake et al., Global Spine J 2018: recorded by the clinician, not computed.",
    )

    class Meta:
        model = Fracture
        fields = [
            "assessment_date",
            "level",
            "injury_date",
            "low_energy_trauma",
            "fracture_type",
            *HEIGHT_FORM_FIELDS,
            "kyphosis_angle_deg",
            "t2_signal",
            "bmd_t_score",
            "vas_pain",
            "odi_percent",
            "height_cm",
            "weight_kg",
            "treatment",
            "treatment_start_date",
            "of_class",
            "first_reader_name",
            "second_reader_name",
            *(f"second_{name}" for name in HEIGHT_FORM_FIELDS),
            "second_kyphosis_angle_deg",
        ]

    def __init__(self, *args, patient: Patient, **kwargs):
        self.patient = patient
        super().__init__(*args, **kwargs)
        self._init_version()
        # No item preselected: a forgotten T2 pattern must not score "diffuse low" unnoticed.
        self.fields["fracture_type"].choices = [("", "—")] + FractureType.choices
        self.fields["t2_signal"].choices = [("", "—")] + T2Signal.choices
        if self.instance.pk:
            # The percentage as typed; a row without heights (made outside the form) shows its VHL.
            if self.instance.heights is None:
                # The first reader's own percentage, never the readers' mean that was scored.
                own = self.instance.first_vhl_percent
                self.initial["vhl_percent"] = own if own is not None else (
                    self.instance.vhl_entered_percent or self.instance.vhl_percent
                )
            self.initial["low_energy_trauma"] = "yes" if self.instance.low_energy_trauma else "no"
            if self.instance.first_kyphosis_angle_deg is not None:  # the first reader's own angle
                self.initial["kyphosis_angle_deg"] = self.instance.first_kyphosis_angle_deg
            self.initial["second_vhl_percent"] = self.instance.second_vhl_entered_percent
            self._initial_odi_sections(self.instance.odi_sections)
            if self.instance.odi_sections:
                self.initial["odi_percent"] = None
        else:
            self.initial.setdefault("assessment_date", timezone.localdate())
        self.helper = FormHelper(self)
        self.helper.form_tag = False
        self.helper.layout = Layout(
            "version",
            Fieldset(
                "Fracture",
                Row(Column("assessment_date", css_class="col-md-4"), Column("level", css_class="col-md-4"),
                    Column("injury_date", css_class="col-md-4")),
                Row(Column("fracture_type", css_class="col-md-4"), Column("treatment", css_class="col-md-4"),
                    Column("treatment_start_date", css_class="col-md-4")),
                InlineRadios("low_energy_trauma"),
            ),
            vhl_layout("Vertebral height loss"),
            Fieldset(
                "Kyphosis, MRI and bone density",
                Row(Column("kyphosis_angle_deg", css_class="col-md-4"), Column("t2_signal", css_class="col-md-4"),
                    Column("bmd_t_score", css_class="col-md-4")),
            ),
            HTML('<details class="second-reader mb-3"{% if form.second_reader_given %} open{% endif %}>'
                 "<summary>A second reader measured the film too (the mean is scored)</summary><div class=\"mt-2\">"),
            Row(Column("first_reader_name", css_class="col-md-6"), Column("second_reader_name", css_class="col-md-6")),
            Row(Column("second_vhl_percent", css_class="col-md-6"), Column("second_kyphosis_angle_deg", css_class="col-md-6")),
            Row(*(Column(f"second_{name}", css_class="col-md-4") for name in HEIGHT_FORM_FIELDS)),
            HTML("{% if form.reader_summary %}<p class=\"small\" id=\"reader-summary\">{{ form.reader_summary }}</p>{% endif %}"
                 "</div></details>"),
            Fieldset("AO Spine-DGOU osteoporotic fracture classification", "of_class"),
            Fieldset(
                "Pain, disability and body size (pretreatment)",
                Row(Column("vas_pain", css_class="col-md-4"), Column("height_cm", css_class="col-md-4"),
                    Column("weight_kg", css_class="col-md-4")),
                *odi_layout(),
            ),
            Div(
                StrictButton(
                    "Calculate score", type="submit", name="preview", value="1", css_class="btn btn-outline-primary"
                ),
                StrictButton("Save assessment", type="submit", name="save", value="1", css_class="btn btn-primary"),
                css_class="d-flex gap-2 justify-content-end",
            ),
        )

    def age_for_warnings(self, cleaned: dict) -> int | None:
        assessment_date = cleaned.get("assessment_date")
        return self.patient.age_on(assessment_date) if assessment_date else None

    # What the quick calculator may hand on to a new assessment (views.patient_create).
    CARRIED_FIELDS = ("fracture_type", "vhl_percent", *HEIGHT_FORM_FIELDS, "kyphosis_angle_deg", "t2_signal",
                      "bmd_t_score", "level", "low_energy_trauma")

    SECOND_READER_FIELDS = ("second_vhl_percent", "second_kyphosis_angle_deg",
                            *(f"second_{name}" for name in HEIGHT_FORM_FIELDS))
    first_vhl: Decimal | None = None
    first_kyphosis: Decimal | None = None
    reader_summary = ""

    @property
    def second_reader_given(self) -> bool:
        return any(self[name].value() not in (None, "") for name in (*self.SECOND_READER_FIELDS, "second_reader_name"))

    def combine_readers(self, cleaned: dict) -> None:
        """The first reader's values as given; with a second reader, the mean is scored (spec §2)."""
        self.first_vhl = cleaned.get("vhl_percent")
        self.first_kyphosis = cleaned.get("kyphosis_angle_deg")
        self._resolve_vhl(cleaned, prefix="second_", required=False)
        second_vhl = cleaned.get("second_vhl_percent")
        second_kyphosis = cleaned.get("second_kyphosis_angle_deg")
        if (second_vhl is not None or second_kyphosis is not None) and not cleaned.get("second_reader_name"):
            self.add_error("second_reader_name", ValidationError("Name the second reader.", code="required"))
        if self.first_vhl is not None and second_vhl is not None:
            cleaned["vhl_percent"] = measurements.mean_of_readers(self.first_vhl, second_vhl)
        if self.first_kyphosis is not None and second_kyphosis is not None:
            cleaned["kyphosis_angle_deg"] = measurements.mean_of_readers(self.first_kyphosis, second_kyphosis)
        if second_vhl is not None or second_kyphosis is not None:
            self.reader_summary = presenters.reader_summary(
                self.first_vhl, second_vhl, cleaned.get("vhl_percent"),
                self.first_kyphosis, second_kyphosis, cleaned.get("kyphosis_angle_deg"),
            )

    def score_inputs(self, cleaned: dict) -> rules.ScoreInputs:
        inputs = super().score_inputs(cleaned)
        treatment = cleaned.get("treatment")
        return dataclasses.replace(
            inputs, conservative_treatment=(treatment == Treatment.CONSERVATIVE) if treatment else None
        )

    def clean(self):
        cleaned = self.cleaned_data
        assessment_date = cleaned.get("assessment_date")
        injury_date = cleaned.get("injury_date")
        dob = self.patient.date_of_birth
        if assessment_date and assessment_date < dob:
            self.add_error(
                "assessment_date",
                ValidationError("This is before the patient's date of birth.", code="before_birth"),
            )
        if injury_date and injury_date < dob:
            self.add_error(
                "injury_date",
                ValidationError("This is before the patient's date of birth.", code="before_birth"),
            )
        if injury_date and assessment_date and injury_date > assessment_date:
            self.add_error(
                "injury_date",
                ValidationError("The injury cannot come after the assessment.", code="after_assessment"),
            )
        if assessment_date and self.instance.pk:
            first_visit = self.instance.visits.order_by("visit_date").values_list("visit_date", flat=True).first()
            if first_visit and first_visit < assessment_date:
                self.add_error(
                    "assessment_date",
                    ValidationError(
                        "A follow-up visit is dated %(date)s, before this: the assessment comes first.",
                        code="after_visit",
                        params={"date": first_visit.isoformat()},
                    ),
                )
        start = cleaned.get("treatment_start_date")
        if assessment_date and "treatment_start_date" not in self.errors:
            if start is None:
                cleaned["treatment_start_date"] = assessment_date
            elif start < assessment_date:
                self.add_error(
                    "treatment_start_date",
                    ValidationError(
                        "Treatment starts after the pretreatment assessment, not before.", code="before_assessment"
                    ),
                )
        changed_on = self.instance.treatment_changed_on if self.instance.pk else None
        start = cleaned.get("treatment_start_date")
        if changed_on and start and start > changed_on:
            self.add_error(
                "treatment_start_date",
                ValidationError(
                    "Treatment changed on %(date)s: it started before that.",
                    code="after_change",
                    params={"date": changed_on.isoformat()},
                ),
            )
        if self.instance.pk and self.instance.treatment_changed_to and cleaned.get("treatment") != self.instance.treatment:
            self.add_error(
                "treatment",
                ValidationError(
                    "A treatment change is recorded: the treatment first chosen stays as it was.",
                    code="treatment_locked",
                ),
            )
        if self.instance.pk and start:
            first_visit = self.instance.visits.order_by("visit_date").values_list("visit_date", flat=True).first()
            if first_visit and first_visit < start:
                self.add_error(
                    "treatment_start_date",
                    ValidationError(
                        "A follow-up visit is dated %(date)s: treatment started before it.",
                        code="after_visit",
                        params={"date": first_visit.isoformat()},
                    ),
                )
        self._resolve_odi(cleaned)
        return super().clean()

    def save(self, commit: bool = True) -> Fracture:
        fracture = super().save(commit=False)
        fracture.patient = self.patient
        # The percentage the first reader typed (cleaned_data now holds the readers' mean).
        fracture.vhl_entered_percent = None if self.vhl_from_heights else self.first_vhl
        fracture.odi_sections = self.odi_sections
        fracture.first_vhl_percent = self.first_vhl
        fracture.first_kyphosis_angle_deg = self.first_kyphosis
        fracture.second_vhl_percent = self.cleaned_data.get("second_vhl_percent")
        fracture.second_vhl_entered_percent = (
            self.cleaned_data.get("second_vhl_percent") if fracture.second_fractured_anterior_mm is None else None
        )
        fracture.apply_genant()
        fracture.apply_score(self.result, self.age_for_warnings(self.cleaned_data))
        if commit:
            fracture.save()
        return fracture


BONE_UNION_CHOICES = [("", "not recorded at this visit")] + BoneUnion.choices


class VisitForm(VhlFields, OdiFields, VersionedForm, forms.ModelForm):
    """A follow-up visit: VAS, ODI, films where taken, bone union from 6 months on (spec §3)."""

    vhl_required = False  # films are not taken at every visit

    kind = forms.ChoiceField(label="Visit", choices=VisitKind.choices)
    visit_date = forms.DateField(widget=DateInput(), validators=[_not_in_future, _not_before_1900], label="Visit date")
    vas_pain = TenthDecimalField(
        label="VAS pain (0–10)", required=False, min_value=measurements.VAS_MIN, max_value=measurements.VAS_MAX
    )
    kyphosis_angle_deg = TenthDecimalField(
        label="Local kyphosis angle (°)",
        unit="°",
        required=False,
        min_value=measurements.KYPHOSIS_MIN_DEG,
        max_value=measurements.KYPHOSIS_MAX_DEG,
        help_text="Where films were taken. Progressive kyphosis: more than 10° above pretreatment.",
    )
    bone_union = forms.ChoiceField(
        label="Bone union",
        choices=BONE_UNION_CHOICES,
        required=False,
        help_text="Assessed at the 6-month visit or later.",
    )

    class Meta:
        model = Visit
        fields = [
            "kind",
            "visit_date",
            "vas_pain",
            "odi_percent",
            "kyphosis_angle_deg",
            *HEIGHT_FORM_FIELDS,
            "bone_union",
            "vacuum_cleft_mri",
            "vacuum_cleft_ct",
            "anterior_height_change",
            "notes",
        ]
        widgets = {"notes": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, fracture: Fracture, **kwargs):
        self.fracture = fracture
        super().__init__(*args, **kwargs)
        self._init_version()
        if self.instance.pk:
            self.initial["vhl_percent"] = self.instance.vhl_entered_percent
            self._initial_odi_sections(self.instance.odi_sections)
            if self.instance.odi_sections:
                self.initial["odi_percent"] = None
        else:
            self.initial.setdefault("visit_date", timezone.localdate())
        self.helper = FormHelper(self)
        self.helper.form_tag = False
        self.helper.layout = Layout(
            "version",
            Fieldset(
                "Visit",
                Row(Column("kind", css_class="col-md-6"), Column("visit_date", css_class="col-md-6")),
            ),
            Fieldset("Pain and disability", "vas_pain", *odi_layout()),
            Fieldset("Films (where taken)", "kyphosis_angle_deg"),
            vhl_layout("Vertebral height loss (where films were taken)"),
            Fieldset(
                "Bone union (6 months or later)",
                "bone_union",
                HTML('<p class="small text-body-secondary mb-1">For a non-union, tick the evidence:</p>'),
                "vacuum_cleft_mri",
                "vacuum_cleft_ct",
                "anterior_height_change",
            ),
            "notes",
            Div(StrictButton("Save visit", type="submit", name="save", value="1", css_class="btn btn-primary"),
                css_class="d-flex justify-content-end"),
        )

    EVIDENCE_FIELDS = ("vacuum_cleft_mri", "vacuum_cleft_ct", "anterior_height_change")

    def clean(self):
        cleaned = super().clean()
        self._resolve_vhl(cleaned)
        self._resolve_odi(cleaned)
        fracture = self.fracture
        kind, visit_date = cleaned.get("kind"), cleaned.get("visit_date")
        if visit_date and visit_date < fracture.assessment_date:
            self.add_error(
                "visit_date",
                ValidationError(
                    "The visit cannot come before the pretreatment assessment (%(date)s).",
                    code="before_assessment",
                    params={"date": fracture.assessment_date.isoformat()},
                ),
            )
        if visit_date and visit_date < fracture.treatment_start_date:
            self.add_error(
                "visit_date",
                ValidationError(
                    "Follow-up visits come after treatment starts (%(date)s).",
                    code="before_treatment",
                    params={"date": fracture.treatment_start_date.isoformat()},
                ),
            )
        if kind and kind != VisitKind.UNSCHEDULED and visit_date:
            self._check_scheduled_date(kind, visit_date)
        if kind and kind != VisitKind.UNSCHEDULED:
            twin = fracture.visits.filter(kind=kind).exclude(pk=self.instance.pk).first()
            if twin:
                self.add_error(
                    "kind",
                    ValidationError(
                        "This fracture already has its %(kind)s visit (%(date)s): edit that one, or "
                        "record this as an unscheduled visit.",
                        code="duplicate_visit",
                        params={"kind": VisitKind(kind).label, "date": twin.visit_date.isoformat()},
                    ),
                )
        union = cleaned.get("bone_union")
        evidence = [name for name in self.EVIDENCE_FIELDS if cleaned.get(name)]
        if union and kind and visit_date:
            probe = Visit(kind=kind, visit_date=visit_date)
            if not probe.at_or_after_six_months(fracture):
                self.add_error(
                    "bone_union",
                    ValidationError(
                        "Bone union is assessed at the 6-month visit or later (from %(date)s for this fracture).",
                        code="union_too_early",
                        params={"date": fracture.six_month_assessment_from().isoformat()},
                    ),
                )
        if union == BoneUnion.NON_UNION and not evidence:
            self.add_error(
                "bone_union",
                ValidationError(
                    "A non-union needs its evidence: a vacuum cleft on MRI or CT, or a change of anterior "
                    "height between standing and supine films.",
                    code="non_union_without_evidence",
                ),
            )
        if evidence and union != BoneUnion.NON_UNION:
            for name in evidence:
                self.add_error(
                    name, ValidationError("Evidence of non-union goes with a non-union only.", code="evidence_without_non_union")
                )
        if not any(
            cleaned.get(name) is not None for name in ("vas_pain", "odi_percent", "kyphosis_angle_deg", "vhl_percent")
        ) and not union and not self.errors:
            raise ValidationError(
                "Record at least one finding: VAS, ODI, a film measurement or bone union.", code="empty_visit"
            )
        return cleaned

    def _check_scheduled_date(self, kind: str, visit_date: datetime.date) -> None:
        """A scheduled visit is dated from its window's opening until the next one's opens."""
        schedule = visit_schedule()
        kinds = [visit.kind for visit in schedule]
        visit = schedule[kinds.index(kind)]
        start = self.fracture.treatment_start_date
        following = schedule[kinds.index(kind) + 1] if kinds.index(kind) + 1 < len(schedule) else None
        too_early = visit_date < visit.window_opens(start)
        too_late = following is not None and visit_date >= following.window_opens(start)
        if too_early or too_late:
            until = f" to {(following.window_opens(start) - datetime.timedelta(days=1)).isoformat()}" if following else " on"
            self.add_error(
                "visit_date",
                ValidationError(
                    "A %(label)s visit is dated from %(opens)s%(until)s (due %(due)s, ±%(window)s days from the "
                    "treatment start): record this visit as the visit it is, or as unscheduled.",
                    code="outside_window",
                    params={"label": VisitKind(kind).label, "opens": visit.window_opens(start).isoformat(),
                            "until": until, "due": visit.due(start).isoformat(), "window": visit.window_days},
                ),
            )

    def save(self, commit: bool = True) -> Visit:
        visit = super().save(commit=False)
        visit.fracture = self.fracture
        visit.vhl_entered_percent = self.vhl_entered()
        visit.vhl_percent = self.cleaned_data.get("vhl_percent")
        visit.odi_sections = self.odi_sections
        visit.compute_outcomes(self.fracture)
        if commit:
            visit.save()
        return visit


class TreatmentChangeForm(VersionedForm):
    """Conservative care abandoned: the new treatment and when (spec §3)."""

    FIELDS = ["treatment_changed_to", "treatment_changed_on", "treatment_change_reason"]

    treatment = forms.ChoiceField(
        label="Changed to",
        choices=[("", "—")] + [choice for choice in Treatment.choices if choice[0] != Treatment.CONSERVATIVE],
    )
    changed_on = forms.DateField(widget=DateInput(), validators=[_not_in_future, _not_before_1900], label="Date of the change")
    reason = forms.CharField(max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, fracture: Fracture, **kwargs):
        self.fracture = fracture
        self.instance = fracture
        super().__init__(*args, **kwargs)
        self._init_version()
        self.helper = FormHelper(self)
        self.helper.form_tag = False
        self.helper.layout = Layout(
            "version",
            Row(Column("treatment", css_class="col-md-6"), Column("changed_on", css_class="col-md-6")),
            "reason",
            Div(StrictButton("Record the change", type="submit", css_class="btn btn-primary"),
                css_class="d-flex justify-content-end"),
        )

    def clean_changed_on(self) -> datetime.date:
        changed_on = self.cleaned_data["changed_on"]
        if changed_on < self.fracture.treatment_start_date:
            raise ValidationError(
                "Conservative care started on %(date)s: the change comes after it.",
                code="before_start",
                params={"date": self.fracture.treatment_start_date.isoformat()},
            )
        return changed_on

    def apply(self) -> None:
        self.fracture.treatment_changed_to = self.cleaned_data["treatment"]
        self.fracture.treatment_changed_on = self.cleaned_data["changed_on"]
        self.fracture.treatment_change_reason = self.cleaned_data["reason"]


class PatientForm(VersionedForm, forms.ModelForm):
    date_of_birth = forms.DateField(widget=DateInput(), validators=[_not_in_future, _not_before_1900])

    class Meta:
        model = Patient
        fields = ["mrn", "name", "sex", "date_of_birth"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._init_version()
        self.fields["name"].help_text = "Optional."
        self.helper = FormHelper(self)
        self.helper.form_tag = False
        self.helper.layout = Layout(
            "version",
            Row(Column("mrn", css_class="col-md-6"), Column("name", css_class="col-md-6")),
            Row(Column("sex", css_class="col-md-6"), Column("date_of_birth", css_class="col-md-6")),
            Div(Submit("save", "Save patient", css_class="btn-primary"), css_class="d-flex justify-content-end"),
        )

    def clean_mrn(self) -> str:
        return self.cleaned_data["mrn"].strip().upper()

    def clean_date_of_birth(self) -> datetime.date:
        dob = self.cleaned_data["date_of_birth"]
        if self.instance.pk:
            earliest = self.instance.fractures.order_by("assessment_date").values_list(
                "assessment_date", flat=True
            ).first()
            if earliest and earliest < dob:
                raise ValidationError(
                    "This patient has an assessment dated %(date)s, before this date of birth.",
                    code="after_assessment",
                    params={"date": earliest.isoformat()},
                )
        return dob


class PatientSearchForm(forms.Form):
    q = forms.CharField(
        required=False,
        max_length=100,
        label="MRN or name",
        help_text="The start of the MRN, or the start of words of the name (e.g. “chen mar”).",
        widget=forms.TextInput(attrs={"type": "search", "class": "form-control", "autocomplete": "off",
                                      "aria-describedby": "id_q_help"}),
    )
    group = forms.ChoiceField(
        required=False,
        choices=[("", "All risk groups")] + RiskGroup.choices,
        label="Risk group (latest assessment)",
        widget=forms.Select(attrs={"class": "form-select"}),
    )


class CohortFilterForm(forms.Form):
    """Which fractures the cohort page and the exports look at."""

    date_from = forms.DateField(required=False, widget=DateInput(), label="Assessed from", validators=[_not_before_1900])
    date_to = forms.DateField(required=False, widget=DateInput(), label="to", validators=[_not_before_1900])
    level = forms.ChoiceField(required=False, choices=[("", "All levels")] + SPINE_LEVEL_CHOICES, label="Level")
    sex = forms.ChoiceField(required=False, choices=[("", "Both sexes"), ("F", "Female"), ("M", "Male")], label="Sex")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs["class"] = css

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("date_from") and cleaned.get("date_to") and cleaned["date_from"] > cleaned["date_to"]:
            self.add_error("date_to", ValidationError("The end comes before the start.", code="reversed"))
        return cleaned


class CalculatorForm(ScoreForm):
    """The quick calculator: the score's inputs only (the API's form), nothing saved."""

    age_years = forms.IntegerField(label="Age (years, optional)", required=False, min_value=0, max_value=130)
    level = forms.ChoiceField(label="Fractured level (optional)", required=False, choices=[("", "—")] + SPINE_LEVEL_CHOICES)
    low_energy_trauma = forms.NullBooleanField(
        label="Low-energy trauma? (optional)", required=False,
        widget=forms.Select(choices=[("unknown", "—"), ("true", "Yes"), ("false", "No")]),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["fracture_type"].choices = [("", "—")] + FractureType.choices
        self.fields["t2_signal"].choices = [("", "—")] + T2Signal.choices
        self.helper = FormHelper(self)
        self.helper.form_tag = False
        self.helper.layout = Layout(
            Row(Column("fracture_type", css_class="col-md-4"), Column("t2_signal", css_class="col-md-4"),
                Column("level", css_class="col-md-4")),
            vhl_layout("Vertebral height loss"),
            Row(Column("kyphosis_angle_deg", css_class="col-md-4"), Column("bmd_t_score", css_class="col-md-4"),
                Column("age_years", css_class="col-md-4")),
            "low_energy_trauma",
            Div(StrictButton("Calculate score", type="submit", name="calculate", value="1", css_class="btn btn-primary"),
                css_class="d-flex justify-content-end"),
        )

    def carry_over(self) -> str:
        """The values as a query string for the new-assessment form, once a patient is registered."""
        from django.http import QueryDict

        carry = QueryDict(mutable=True)
        for name in ("fracture_type", "vhl_percent", *HEIGHT_FORM_FIELDS, "kyphosis_angle_deg", "t2_signal",
                     "bmd_t_score", "level"):
            value = self.data.get(name)
            if value not in (None, ""):
                carry[name] = value
        trauma = self.cleaned_data.get("low_energy_trauma")
        if trauma is not None:
            carry["low_energy_trauma"] = "yes" if trauma else "no"
        return carry.urlencode()
