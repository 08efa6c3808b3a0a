"""Conservative care abandoned: the treatment change."""

from __future__ import annotations

import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from ..locking import VersionedForm
from ..models import (
    Fracture,
    Treatment,
)
from . import layouts
from .confirm import ConfirmingForm
from .fields import DateInput, not_before_1900, not_in_future, shown_date, visible_notes


class TreatmentChangeForm(ConfirmingForm, VersionedForm):
    """Conservative care abandoned: the new treatment and when (spec §3)."""

    FIELDS = ["treatment_changed_to", "treatment_changed_on", "treatment_change_reason"]

    treatment = forms.ChoiceField(
        label=_("Changed to"),
        choices=[("", "—")] + [choice for choice in Treatment.choices if choice[0] != Treatment.CONSERVATIVE],
    )
    changed_on = forms.DateField(
        widget=DateInput(), validators=[not_in_future, not_before_1900], label=_("Date of the change")
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        validators=[visible_notes],
    )

    def __init__(self, *args, fracture: Fracture, **kwargs):
        self.fracture = fracture
        self.instance = fracture
        super().__init__(*args, **kwargs)
        self._init_version()
        self._init_submission()

    @cached_property
    def helper(self):
        """The crispy layout, built when the form is rendered (not for a form only validated)."""
        return layouts.treatment_change(self)

    def clean_changed_on(self) -> datetime.date:
        changed_on = self.cleaned_data["changed_on"]
        if changed_on < self.fracture.treatment_start_date:
            raise ValidationError(
                _("Conservative care started on %(date)s: the change comes after it."),
                code="before_start",
                params={"date": shown_date(self.fracture.treatment_start_date)},
            )
        return changed_on
