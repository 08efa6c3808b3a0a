"""The VHL (percentage or six heights) and the ODI (percentage or ten sections): fields and rules
shared by the score, the assessment and the visit."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from .. import measurements, rules
from .fields import (
    HEIGHT_FORM_FIELDS,
    HEIGHT_LABELS,
    VHL_BOTH,
    VHL_COMPUTED_OUT_OF_RANGE,
    VHL_MISSING,
    HeightField,
    TenthDecimalField,
)


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
                ValidationError("Enter either the VHL percentage or the six heights, not both.", code=VHL_BOTH),
            )
            return None
        if not percent_given and not heights_given:
            if required:
                self.add_error(
                    percent_field,
                    ValidationError("Enter the VHL percentage, or all six heights to compute it.", code=VHL_MISSING),
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
                ValidationError("Type the ODI or score the sections, not both: clear one of them.", code="odi_both"),
            )
            return
        self.odi_sections = sections
        cleaned["odi_percent"] = measurements.odi_from_sections(sections)

    @property
    def odi_sections_given(self) -> bool:
        return any(self[name].value() not in (None, "") for name in ODI_SECTION_FIELDS)
