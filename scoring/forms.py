"""Validation for the HTML pages and the JSON API alike: one set of fields, ranges and messages.

`ScoreForm` holds what the score reads and is what `POST /api/score/` validates; the assessment
page's `AssessmentForm` is the same form with the fracture's own details added, so the page and
the API can never disagree (spec §7).
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from crispy_forms.bootstrap import InlineRadios, StrictButton
from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Column, Div, Fieldset, Layout, Row, Submit
from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from . import measurements, rules
from .models import Fracture, FractureType, Patient, RiskGroup, SPINE_LEVEL_CHOICES, T2Signal, Treatment

MAX_NUMBER_TEXT_LENGTH = 32  # longer than any honest measurement: refuse before parsing
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
        if isinstance(value, str) and len(value.strip()) > MAX_NUMBER_TEXT_LENGTH:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


class TenthDecimalField(MeasuredDecimalField):
    """A value recorded to 0.1: rounded half-up before the range is checked (spec §1, Decision)."""

    def to_python(self, value):
        value = super().to_python(value)
        if value is not None and value.is_finite() and abs(value) < 10**6:
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


class ScoreForm(forms.Form):
    """What the NASOVCF score reads, validated once for every caller (spec §1, §2, §7)."""

    fracture_type = forms.ChoiceField(choices=FractureType.choices)
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

    computed_vhl: Decimal | None = None
    result: rules.ScoreResult | None = None

    def clean(self):
        cleaned = super().clean()
        self._resolve_vhl(cleaned)
        if not self.errors:
            inputs = self.score_inputs(cleaned)
            self.result = rules.score(inputs)
        return cleaned

    def _resolve_vhl(self, cleaned: dict) -> None:
        """Exactly one of the VHL percentage and the six heights; compute VHL from heights."""
        percent_given = cleaned.get("vhl_percent") is not None or "vhl_percent" in self.errors
        heights_given = [
            name for name in HEIGHT_FORM_FIELDS if cleaned.get(name) is not None or name in self.errors
        ]
        if percent_given and heights_given:
            self.add_error(
                "vhl_percent",
                ValidationError(
                    "Enter either the VHL percentage or the six heights, not both.", code=VHL_BOTH
                ),
            )
            return
        if not percent_given and not heights_given:
            self.add_error(
                "vhl_percent",
                ValidationError(
                    "Enter the VHL percentage, or all six heights to compute it.", code=VHL_MISSING
                ),
            )
            return
        if not heights_given:
            return
        for name in HEIGHT_FORM_FIELDS:
            if name not in heights_given:
                self.add_error(
                    name,
                    ValidationError("Enter this height too: the VHL needs all six.", code="required"),
                )
        if any(name in self.errors for name in HEIGHT_FORM_FIELDS):
            return
        heights = measurements.VertebralHeights(*(cleaned[name] for name in HEIGHT_FORM_FIELDS))
        vhl = measurements.vhl_from_heights(heights)
        self.computed_vhl = vhl
        if not measurements.vhl_in_accepted_range(vhl):
            self.add_error(
                None,
                ValidationError(
                    "The VHL computed from the six heights is %(vhl)s %%, outside −50 … 100 %%: "
                    "check the heights for a measurement error.",
                    code=VHL_COMPUTED_OUT_OF_RANGE,
                    params={"vhl": rules.format_signed(vhl)},
                ),
            )
            return
        cleaned["vhl_percent"] = vhl

    @property
    def vhl_from_heights(self) -> bool:
        return self.computed_vhl is not None

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


class AssessmentForm(ScoreForm, forms.ModelForm):
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
    odi_percent = TenthDecimalField(
        label="ODI (%)",
        unit=" %",
        required=False,
        min_value=measurements.ODI_MIN_PERCENT,
        max_value=measurements.ODI_MAX_PERCENT,
        help_text="Oswestry Disability Index, 0–100 %.",
    )
    height_cm = TenthDecimalField(label="Height (cm)", unit=" cm", required=False, min_value=100, max_value=230)
    weight_kg = TenthDecimalField(label="Weight (kg)", unit=" kg", required=False, min_value=20, max_value=250)
    treatment = forms.ChoiceField(label="Treatment chosen", choices=[("", "—")] + Treatment.choices)
    age_years = None  # the page takes age from the patient's date of birth

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
        ]

    def __init__(self, *args, patient: Patient, **kwargs):
        self.patient = patient
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["vhl_percent"] = self.instance.vhl_entered_percent
            self.initial["low_energy_trauma"] = "yes" if self.instance.low_energy_trauma else "no"
        else:
            self.initial.setdefault("assessment_date", timezone.localdate())
        self.helper = FormHelper(self)
        self.helper.form_tag = False
        self.helper.layout = Layout(
            Fieldset(
                "Fracture",
                Row(Column("assessment_date", css_class="col-md-4"), Column("level", css_class="col-md-4"),
                    Column("injury_date", css_class="col-md-4")),
                Row(Column("fracture_type", css_class="col-md-6"), Column("treatment", css_class="col-md-6")),
                InlineRadios("low_energy_trauma"),
            ),
            Fieldset(
                "Vertebral height loss",
                "vhl_percent",
                HTML('<p class="text-body-secondary small mb-2">— or from the six heights on the '
                     "lateral radiograph: VHL = [(c+d+e+f)/4 − (a+b)/2] / [(c+d+e+f)/4] × 100 —</p>"),
                Row(*(Column(name, css_class="col-md-4") for name in HEIGHT_FORM_FIELDS)),
                HTML('{% if form.computed_vhl is not None %}<p class="computed-vhl" id="computed-vhl">'
                     "VHL computed from the six heights: <strong>{{ form.computed_vhl }} %</strong></p>"
                     "{% endif %}"),
                css_class="vhl-fieldset",
            ),
            Fieldset(
                "Kyphosis, MRI and bone density",
                Row(Column("kyphosis_angle_deg", css_class="col-md-4"), Column("t2_signal", css_class="col-md-4"),
                    Column("bmd_t_score", css_class="col-md-4")),
            ),
            Fieldset(
                "Pain, disability and body size (pretreatment)",
                Row(Column("vas_pain", css_class="col-md-3"), Column("odi_percent", css_class="col-md-3"),
                    Column("height_cm", css_class="col-md-3"), Column("weight_kg", css_class="col-md-3")),
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

    def clean(self):
        assessment_date = self.cleaned_data.get("assessment_date")
        injury_date = self.cleaned_data.get("injury_date")
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
        return super().clean()

    def save(self, commit: bool = True) -> Fracture:
        fracture = super().save(commit=False)
        fracture.patient = self.patient
        fracture.vhl_entered_percent = None if self.vhl_from_heights else self.cleaned_data["vhl_percent"]
        fracture.apply_score(self.result, self.age_for_warnings(self.cleaned_data))
        if commit:
            fracture.save()
        return fracture


class PatientForm(forms.ModelForm):
    date_of_birth = forms.DateField(widget=DateInput(), validators=[_not_in_future, _not_before_1900])

    class Meta:
        model = Patient
        fields = ["mrn", "name", "sex", "date_of_birth"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["name"].help_text = "Optional."
        self.helper = FormHelper(self)
        self.helper.form_tag = False
        self.helper.layout = Layout(
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
        widget=forms.TextInput(attrs={"type": "search", "class": "form-control", "autocomplete": "off"}),
    )
    group = forms.ChoiceField(
        required=False,
        choices=[("", "All risk groups")] + RiskGroup.choices,
        label="Risk group (latest assessment)",
        widget=forms.Select(attrs={"class": "form-select"}),
    )
