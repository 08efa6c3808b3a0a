"""Which fractures the cohort page and the exports look at."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

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
