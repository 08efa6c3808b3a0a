"""The baseline assessment of a fracture: the score's inputs, two readers and the episode's details."""

from __future__ import annotations

import dataclasses
import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.utils import formats, timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .. import measurements, rules
from ..locking import VersionedForm
from ..models import (
    SPINE_LEVEL_CHOICES,
    Fracture,
    FractureType,
    OFClass,
    Patient,
    T2Signal,
    Treatment,
)
from . import layouts
from .confirm import ConfirmingForm
from .fields import (
    HEIGHT_FORM_FIELDS,
    YES_NO,
    DateInput,
    TenthDecimalField,
    not_before_1900,
    not_in_future,
    shown_date,
)
from .readings import OdiFields
from .score import ScoreForm

# Conservative care starts at the assessment; another treatment is planned there and given within
# weeks. A start more than a year later is a mistyped year (and past the calendar's end, 9999,
# the visits' due dates cannot be computed at all).
TREATMENT_START_MAX_DAYS_AFTER_ASSESSMENT = 365


class AssessmentForm(ScoreForm, OdiFields, ConfirmingForm, VersionedForm, forms.ModelForm):
    """The baseline assessment of one fracture: the score's inputs plus the episode's details."""

    reader_names_required = True  # the assessment keeps who read the film

    assessment_date = forms.DateField(
        widget=DateInput(), validators=[not_in_future, not_before_1900], label=_("Assessment date")
    )
    injury_date = forms.DateField(
        required=False,
        widget=DateInput(),
        validators=[not_in_future, not_before_1900],
        label=_("Injury date"),
        help_text=_("Leave empty when unknown."),
    )
    level = forms.ChoiceField(label=_("Fractured level"), choices=[("", "—")] + SPINE_LEVEL_CHOICES)
    low_energy_trauma = forms.TypedChoiceField(
        label=_("Low-energy trauma?"),
        choices=YES_NO,
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
    )
    vas_pain = TenthDecimalField(
        label=_("VAS pain (0–10)"), required=False, min_value=measurements.VAS_MIN, max_value=measurements.VAS_MAX
    )
    height_cm = TenthDecimalField(label=_("Height (cm)"), unit=" cm", required=False, min_value=100, max_value=230)
    weight_kg = TenthDecimalField(label=_("Weight (kg)"), unit=" kg", required=False, min_value=20, max_value=250)
    treatment = forms.ChoiceField(label=_("Treatment chosen"), choices=[("", "—")] + Treatment.choices)
    treatment_start_date = forms.DateField(
        required=False,
        widget=DateInput(),
        validators=[not_before_1900],
        label=_("Treatment start date"),
        help_text=_(
            "Leave empty when treatment starts on the assessment date; at most a year after it. "
            "Visits fall due 1, 3 and 6 months after it."
        ),
    )
    age_years = None  # the page takes age from the patient's date of birth

    of_class = forms.ChoiceField(
        label=_("AO Spine-DGOU class (optional)"),
        required=False,
        choices=[("", _("not recorded"))] + OFClass.choices,
        widget=forms.RadioSelect,
        help_text=_("Schnake et al., Global Spine J 2018: recorded by the clinician, not computed."),
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
        self._init_submission()
        # No item preselected: a forgotten T2 pattern must not score "diffuse low" unnoticed.
        self.fields["fracture_type"].choices = [("", "—")] + FractureType.choices
        self.fields["t2_signal"].choices = [("", "—")] + T2Signal.choices
        if self.instance.pk:
            # The percentage as typed; a row without heights (made outside the form) shows its VHL.
            if self.instance.heights is None:
                entered = self.instance.vhl_entered_percent
                self.initial["vhl_percent"] = entered if entered is not None else self.instance.vhl_percent
            self._initial_readers(self.instance)
            self.initial["low_energy_trauma"] = "yes" if self.instance.low_energy_trauma else "no"
            self._initial_odi_sections(self.instance.odi_sections)
            if self.instance.odi_sections:
                self.initial["odi_percent"] = None
        else:
            self.initial.setdefault("assessment_date", timezone.localdate())

    @cached_property
    def helper(self):
        """The crispy layout, built when the form is rendered (not for a form only validated)."""
        return layouts.assessment(self)

    def age_for_warnings(self, cleaned: dict) -> int | None:
        assessment_date = cleaned.get("assessment_date")
        return self.patient.age_on(assessment_date) if assessment_date else None

    # What the quick calculator may hand on to a new assessment (views.patient_create).
    CARRIED_FIELDS = (
        "fracture_type",
        "vhl_percent",
        *HEIGHT_FORM_FIELDS,
        "kyphosis_angle_deg",
        "t2_signal",
        "bmd_t_score",
        "level",
        "low_energy_trauma",
    )

    def score_inputs(self, cleaned: dict) -> rules.ScoreInputs:
        inputs = super().score_inputs(cleaned)
        treatment = cleaned.get("treatment")
        return dataclasses.replace(
            inputs,
            conservative_treatment=(treatment == Treatment.CONSERVATIVE) if treatment else None,
        )

    def clean(self):
        cleaned = self.cleaned_data
        assessment_date = cleaned.get("assessment_date")
        injury_date = cleaned.get("injury_date")
        dob = self.patient.date_of_birth
        if assessment_date and assessment_date < dob:
            self.add_error(
                "assessment_date",
                ValidationError(_("This is before the patient's date of birth."), code="before_birth"),
            )
        if injury_date and injury_date < dob:
            self.add_error(
                "injury_date",
                ValidationError(_("This is before the patient's date of birth."), code="before_birth"),
            )
        if injury_date and assessment_date and injury_date > assessment_date:
            self.add_error(
                "injury_date",
                ValidationError(_("The injury cannot come after the assessment."), code="after_assessment"),
            )
        if assessment_date and self.instance.pk:
            first_visit = self.instance.visits.order_by("visit_date").values_list("visit_date", flat=True).first()
            if first_visit and first_visit < assessment_date:
                self.add_error(
                    "assessment_date",
                    ValidationError(
                        _("A follow-up visit is dated %(date)s, before this: the assessment comes first."),
                        code="after_visit",
                        params={"date": shown_date(first_visit)},
                    ),
                )
        start = cleaned.get("treatment_start_date")
        if assessment_date and "treatment_start_date" not in self.errors:
            latest = assessment_date + datetime.timedelta(days=TREATMENT_START_MAX_DAYS_AFTER_ASSESSMENT)
            if start is None:
                cleaned["treatment_start_date"] = assessment_date
            elif start < assessment_date:
                self.add_error(
                    "treatment_start_date",
                    ValidationError(
                        _("Treatment starts after the pretreatment assessment, not before."), code="before_assessment"
                    ),
                )
            elif start > latest:
                self.add_error(
                    "treatment_start_date",
                    ValidationError(
                        _("Treatment starts within a year of the assessment (by %(date)s): check the year."),
                        code="too_long_after_assessment",
                        params={"date": shown_date(latest)},
                    ),
                )
        changed_on = self.instance.treatment_changed_on if self.instance.pk else None
        start = cleaned.get("treatment_start_date")
        if changed_on and start and start > changed_on:
            self.add_error(
                "treatment_start_date",
                ValidationError(
                    _("Treatment changed on %(date)s: it started before that."),
                    code="after_change",
                    params={"date": shown_date(changed_on)},
                ),
            )
        if (
            self.instance.pk
            and self.instance.treatment_changed_to
            and cleaned.get("treatment") != self.instance.treatment
        ):
            self.add_error(
                "treatment",
                ValidationError(
                    _("A treatment change is recorded: the treatment first chosen stays as it was."),
                    code="treatment_locked",
                ),
            )
        if self.instance.pk and start:
            first_visit = self.instance.visits.order_by("visit_date").values_list("visit_date", flat=True).first()
            if first_visit and first_visit < start:
                self.add_error(
                    "treatment_start_date",
                    ValidationError(
                        _("A follow-up visit is dated %(date)s: treatment started before it."),
                        code="after_visit",
                        params={"date": shown_date(first_visit)},
                    ),
                )
        self._resolve_odi(cleaned)
        cleaned = super().clean()
        self._confirm_not_a_duplicate(cleaned)
        return cleaned

    def _confirm_not_a_duplicate(self, cleaned: dict) -> None:
        """A second assessment of the same patient, level and date is most likely the first one
        entered twice: ask before saving it."""
        level, assessment_date = cleaned.get("level"), cleaned.get("assessment_date")
        if self.errors or not level or not assessment_date or self.patient.pk is None:
            return  # a patient not yet saved (a new one being imported) has no assessments
        twin = (
            Fracture.objects.filter(
                patient=self.patient, level=level, assessment_date=assessment_date, archived_at__isnull=True
            )
            .exclude(pk=self.instance.pk)
            .first()
        )
        if twin is None:
            return
        key = self.confirmation_key("duplicate", str(twin.pk))
        if not self.is_confirmed(key):
            self.ask_to_confirm(
                key,
                gettext(
                    "Not saved yet: this patient already has an assessment of %(level)s dated %(date)s "
                    "(NASOVCF %(score)s, entered %(entered)s). If this is that fracture, leave this page and "
                    "open it instead; if it is a different one, save again to record it."
                )
                % {
                    "level": level,
                    "date": formats.date_format(assessment_date, "SHORT_DATE_FORMAT"),
                    "score": twin.total_score,
                    "entered": formats.date_format(timezone.localtime(twin.created_at), "SHORT_DATETIME_FORMAT"),
                },
            )

    def save(self, commit: bool = False) -> Fracture:
        """The fracture with the inputs as validated, not yet scored nor saved: scoring and saving
        are services.save_assessment's (against the patient as stored at that moment)."""
        if commit:
            raise ValueError("Save an assessment through services.save_assessment.")
        fracture = super().save(commit=False)
        fracture.patient = self.patient
        self.apply_readers(fracture)
        fracture.odi_sections = self.odi_sections
        fracture.apply_genant()
        return fracture
