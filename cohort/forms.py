"""Which fractures the cohort page and the exports look at."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from scoring import rules
from scoring.forms.fields import DateInput, at_most_a_year_ahead, not_before_1900
from scoring.models import SPINE_LEVEL_CHOICES


class CohortFilterForm(forms.Form):
    """Which fractures the cohort page and the exports look at."""

    date_from = forms.DateField(
        required=False, widget=DateInput(), label="Assessed from", validators=[not_before_1900, at_most_a_year_ahead]
    )
    date_to = forms.DateField(
        required=False, widget=DateInput(), label="to", validators=[not_before_1900, at_most_a_year_ahead]
    )
    level = forms.ChoiceField(required=False, choices=[("", "All levels")] + SPINE_LEVEL_CHOICES, label="Level")
    sex = forms.ChoiceField(required=False, choices=[("", "Both sexes"), ("F", "Female"), ("M", "Male")], label="Sex")
    eligible = forms.BooleanField(
        required=False,
        label="Only the paper's eligible population",
        # Short: the page lists every criterion. Conservative care and a 6-month outcome are the
        # counting rule itself, so they are not repeated here.
        help_text=(
            f"Spec §4: age ≥ {rules.MINIMUM_VALIDATED_AGE_YEARS}, "
            f"{rules.VALIDATED_LEVELS[0]}–{rules.VALIDATED_LEVELS[-1]}, low-energy, "
            f"T ≤ {rules.format_signed(rules.T_SCORE_OSTEOPENIA_UPPER)}, one fracture per patient."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field.widget, forms.CheckboxInput):
                css = "form-check-input"
            else:
                css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs["class"] = css

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("date_from") and cleaned.get("date_to") and cleaned["date_from"] > cleaned["date_to"]:
            self.add_error("date_to", ValidationError("The end comes before the start.", code="reversed"))
        return cleaned


class ImportUploadForm(forms.Form):
    """The table to import: its size checked here, its content by the import's check."""

    file = forms.FileField(
        label="CSV or XLSX file",
        help_text="The identified export's columns, or the template's. Nothing is written until you confirm the preview.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,text/csv", "class": "form-control"}),
    )

    def clean_file(self):
        from django.conf import settings

        file = self.cleaned_data["file"]
        limit = settings.NASOVCF_IMPORT_MAX_MB
        if file.size > limit * 1024 * 1024:
            raise ValidationError(
                "The file is %(size)s MB; this page takes up to %(limit)s MB. Split it, or import it with "
                "`manage.py import_cohort FILE` (the README says how).",
                code="too_large",
                params={"size": f"{file.size / 1024 / 1024:.1f}", "limit": limit},
            )
        return file
