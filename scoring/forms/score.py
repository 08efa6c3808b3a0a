"""What the NASOVCF score reads (spec §1, §2, §7): the API's form and the quick calculator's."""

from __future__ import annotations

from django import forms
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from .. import measurements, rules
from ..models import (
    SPINE_LEVEL_CHOICES,
    FractureType,
    T2Signal,
)
from . import layouts
from .fields import HEIGHT_FORM_FIELDS, OneDecimalField, TenthDecimalField
from .readings import TwoReaderFields


class ScoreForm(TwoReaderFields):
    """What the NASOVCF score reads, validated once for every caller (spec §1, §2, §7): with a
    second reader's VHL or angle, the mean of the two readers is scored (spec §2)."""

    reader_names_required = False

    fracture_type = forms.ChoiceField(label=_("Fracture type"), choices=FractureType.choices)
    kyphosis_angle_deg = TenthDecimalField(
        label=_("Local kyphosis angle (°)"),
        unit="°",
        min_value=measurements.KYPHOSIS_MIN_DEG,
        max_value=measurements.KYPHOSIS_MAX_DEG,
        help_text=_("Inferior endplate above to superior endplate below; positive is kyphotic."),
    )
    t2_signal = forms.ChoiceField(label=_("MRI T2 signal (mid-sagittal)"), choices=T2Signal.choices)
    bmd_t_score = OneDecimalField(
        label=_("BMD T-score"),
        min_value=measurements.T_SCORE_MIN,
        max_value=measurements.T_SCORE_MAX,
        help_text=_("DXA, mean of L1–L4 excluding the fractured vertebra."),
    )
    # Only for the validated-population warnings (spec §4).
    age_years = forms.IntegerField(required=False, min_value=0, max_value=130)
    level = forms.ChoiceField(required=False, choices=[("", "—")] + SPINE_LEVEL_CHOICES)
    low_energy_trauma = forms.NullBooleanField(required=False)

    inputs: rules.ScoreInputs | None = None

    def clean(self):
        cleaned = super().clean()
        self._resolve_vhl(cleaned)
        self.combine_readers(cleaned)
        if not self.errors:
            self.inputs = self.score_inputs(cleaned)
        return cleaned

    @property
    def result(self) -> rules.ScoreResult:
        """The score of the validated inputs, for what shows a score without saving it (the
        preview, the calculator, the API). A save scores in services.save_assessment instead."""
        assert self.inputs is not None, "score a valid form only"
        return rules.score(self.inputs)

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
            vhl_is_mean_of_readers=cleaned.get("second_vhl_percent") is not None,
            kyphosis_is_mean_of_readers=cleaned.get("second_kyphosis_angle_deg") is not None,
        )


class CalculatorForm(ScoreForm):
    """The quick calculator: the score's inputs only (the API's form), nothing saved."""

    age_years = forms.IntegerField(label=_("Age (years, optional)"), required=False, min_value=0, max_value=130)
    level = forms.ChoiceField(
        label=_("Fractured level (optional)"), required=False, choices=[("", "—")] + SPINE_LEVEL_CHOICES
    )
    low_energy_trauma = forms.NullBooleanField(
        label=_("Low-energy trauma? (optional)"),
        required=False,
        widget=forms.Select(choices=[("unknown", "—"), ("true", _("Yes")), ("false", _("No"))]),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["fracture_type"].choices = [("", "—")] + FractureType.choices
        self.fields["t2_signal"].choices = [("", "—")] + T2Signal.choices

    @cached_property
    def helper(self):
        """The crispy layout, built when the form is rendered (not for a form only validated)."""
        return layouts.calculator(self)

    def carry_over(self) -> str:
        """The values as a query string for the new-assessment form, once a patient is registered."""
        from django.http import QueryDict

        carry = QueryDict(mutable=True)
        for name in (
            "fracture_type",
            "vhl_percent",
            *HEIGHT_FORM_FIELDS,
            "kyphosis_angle_deg",
            "t2_signal",
            "bmd_t_score",
            "level",
        ):
            value = self.data.get(name)
            if value not in (None, ""):
                carry[name] = value
        trauma = self.cleaned_data.get("low_energy_trauma")
        if trauma is not None:
            carry["low_energy_trauma"] = "yes" if trauma else "no"
        return carry.urlencode()
