"""Archiving a patient or an assessment: the reason, asked on the confirmation page."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .fields import visible_notes


class ArchiveForm(forms.Form):
    """Why the record is hidden: kept on the record and in its history (services.set_archived)."""

    reason = forms.CharField(
        label=_("Reason for archiving"),
        max_length=500,
        help_text=_("Kept with the record and in its history, e.g. “registered twice: see MRN 12345”."),
        widget=forms.Textarea(attrs={"rows": 2}),
        validators=[visible_notes],
        error_messages={"required": _("Say why this record is archived.")},
    )
