"""Registering, editing and searching patients."""

from __future__ import annotations

import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from ..locking import VersionedForm
from ..models import (
    Patient,
    RiskGroup,
)
from . import layouts
from .confirm import ConfirmingForm
from .fields import DateInput, not_before_1900, not_in_future, shown_date, visible_name


class PatientForm(ConfirmingForm, VersionedForm, forms.ModelForm):
    date_of_birth = forms.DateField(
        label=_("Date of birth"), widget=DateInput(), validators=[not_in_future, not_before_1900]
    )

    class Meta:
        model = Patient
        fields = ["mrn", "name", "sex", "date_of_birth"]
        labels = {"name": _("Name"), "sex": _("Sex")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._init_version()
        self._init_submission()
        self.fields["name"].help_text = _("Optional.")
        self.fields["name"].validators.append(visible_name)

    @cached_property
    def helper(self):
        """The crispy layout, built when the form is rendered (not for a form only validated)."""
        return layouts.patient(self)

    def clean_mrn(self) -> str:
        return self.cleaned_data["mrn"].strip().upper()

    def clean_date_of_birth(self) -> datetime.date:
        dob = self.cleaned_data["date_of_birth"]
        if self.instance.pk:
            earliest = (
                self.instance.fractures.order_by("assessment_date").values_list("assessment_date", flat=True).first()
            )
            if earliest and earliest < dob:
                raise ValidationError(
                    _("This patient has an assessment dated %(date)s, before this date of birth."),
                    code="after_assessment",
                    params={"date": shown_date(earliest)},
                )
        return dob


class PatientSearchForm(forms.Form):
    q = forms.CharField(
        required=False,
        max_length=100,
        label=_("MRN or name"),
        help_text=_("The start of the MRN, or the start of words of the name (e.g. “chen mar”)."),
        widget=forms.TextInput(
            attrs={"type": "search", "class": "form-control", "autocomplete": "off", "aria-describedby": "id_q_help"}
        ),
    )
    group = forms.ChoiceField(
        required=False,
        choices=[("", _("All risk groups"))] + RiskGroup.choices,
        label=_("Risk group (latest assessment)"),
        widget=forms.Select(attrs={"class": "form-select"}),
    )
