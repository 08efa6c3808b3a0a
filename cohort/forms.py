"""Which fractures the cohort page and the exports look at."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.functional import lazy
from django.utils.translation import gettext, gettext_lazy, pgettext_lazy

from scoring import rules
from scoring.forms.fields import DateInput, at_most_a_year_ahead, not_before_1900
from scoring.models import SPINE_LEVEL_CHOICES


def _eligible_help() -> str:
    """The eligibility box's help, with the pure core's thresholds, in the active language."""
    return gettext(
        "Spec §4: age ≥ %(age)s, %(first_level)s–%(last_level)s, low-energy, T ≤ %(t_score)s, one fracture per patient."
    ) % {
        "age": rules.MINIMUM_VALIDATED_AGE_YEARS,
        "first_level": rules.VALIDATED_LEVELS[0],
        "last_level": rules.VALIDATED_LEVELS[-1],
        "t_score": rules.format_signed(rules.T_SCORE_OSTEOPENIA_UPPER),
    }


class CohortFilterForm(forms.Form):
    """Which fractures the cohort page and the exports look at."""

    date_from = forms.DateField(
        required=False,
        widget=DateInput(),
        label=gettext_lazy("Assessed from"),
        validators=[not_before_1900, at_most_a_year_ahead],
    )
    date_to = forms.DateField(
        required=False,
        widget=DateInput(),
        label=pgettext_lazy("a range of dates", "to"),
        validators=[not_before_1900, at_most_a_year_ahead],
    )
    level = forms.ChoiceField(
        required=False, choices=[("", gettext_lazy("All levels"))] + SPINE_LEVEL_CHOICES, label=gettext_lazy("Level")
    )
    sex = forms.ChoiceField(
        required=False,
        choices=[("", gettext_lazy("Both sexes")), ("F", gettext_lazy("Female")), ("M", gettext_lazy("Male"))],
        label=gettext_lazy("Sex"),
    )
    eligible = forms.BooleanField(
        required=False,
        label=gettext_lazy("Only the paper's eligible population"),
        # Short: the page lists every criterion. Conservative care and a 6-month outcome are the
        # counting rule itself, so they are not repeated here.
        help_text=lazy(_eligible_help, str)(),
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
            self.add_error("date_to", ValidationError(gettext_lazy("The end comes before the start."), code="reversed"))
        return cleaned


class ImportUploadForm(forms.Form):
    """The table to import: its size checked here, its content by the import's check."""

    file = forms.FileField(
        label=gettext_lazy("CSV or XLSX file"),
        help_text=gettext_lazy(
            "The identified export's columns, or the template's. Nothing is written until you confirm the preview."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,text/csv", "class": "form-control"}),
    )

    def clean_file(self):
        from django.conf import settings

        file = self.cleaned_data["file"]
        limit = settings.NASOVCF_IMPORT_MAX_MB
        if file.size > limit * 1024 * 1024:
            raise ValidationError(
                gettext_lazy(
                    "The file is %(size)s MB; this page takes up to %(limit)s MB. Split it, or import it with "
                    "`manage.py import_cohort FILE` (the README says how)."
                ),
                code="too_large",
                params={"size": f"{file.size / 1024 / 1024:.1f}", "limit": limit},
            )
        return file
