"""The VHL (percentage or six heights) and the ODI (percentage or ten sections): fields and rules
shared by the score, the assessment and the visit."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.functional import lazy
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from nasovcf_site.i18n import words

from .. import measurements, presenters, rules
from .fields import (
    HEIGHT_FORM_FIELDS,
    HEIGHT_LABELS,
    VHL_BOTH,
    VHL_COMPUTED_OUT_OF_RANGE,
    VHL_MISSING,
    HeightField,
    TenthDecimalField,
    visible_name,
)


class VhlFields(forms.Form):
    """Vertebral height loss as a percentage or from the six heights, never both (spec §2).

    Shared by the score (where VHL is required) and the follow-up visit (films are optional).
    """

    vhl_required = True

    vhl_percent = TenthDecimalField(
        label=gettext_lazy("Vertebral height loss (%)"),
        unit=" %",
        required=False,
        min_value=measurements.VHL_MIN_PERCENT,
        max_value=measurements.VHL_MAX_PERCENT,
        help_text=gettext_lazy("Enter the percentage, or the six heights below to compute it."),
    )
    fractured_anterior_mm = HeightField(label=gettext_lazy(HEIGHT_LABELS["fractured_anterior_mm"]))
    fractured_posterior_mm = HeightField(label=gettext_lazy(HEIGHT_LABELS["fractured_posterior_mm"]))
    cranial_anterior_mm = HeightField(label=gettext_lazy(HEIGHT_LABELS["cranial_anterior_mm"]))
    cranial_posterior_mm = HeightField(label=gettext_lazy(HEIGHT_LABELS["cranial_posterior_mm"]))
    caudal_anterior_mm = HeightField(label=gettext_lazy(HEIGHT_LABELS["caudal_anterior_mm"]))
    caudal_posterior_mm = HeightField(label=gettext_lazy(HEIGHT_LABELS["caudal_posterior_mm"]))

    computed_vhl: Decimal | None = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Things worth a second look that are not errors (a negative VHL): shown, saved anyway.
        self.notices: list[str] = []

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
                ValidationError(_("Enter either the VHL percentage or the six heights, not both."), code=VHL_BOTH),
            )
            return None
        if not percent_given and not heights_given:
            if required:
                self.add_error(
                    percent_field,
                    ValidationError(_("Enter the VHL percentage, or all six heights to compute it."), code=VHL_MISSING),
                )
            return None
        if not heights_given:
            return None
        for name in height_fields:
            if name not in heights_given:
                self.add_error(
                    name,
                    ValidationError(_("Enter this height too: the VHL needs all six."), code="required"),
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
                    _(
                        "The VHL computed from the second reader's six heights is %(vhl)s %%, outside −50 … 100 %%: "
                        "check the heights for a measurement error."
                    )
                    if prefix
                    else _(
                        "The VHL computed from the six heights is %(vhl)s %%, outside −50 … 100 %%: "
                        "check the heights for a measurement error."
                    ),
                    code=VHL_COMPUTED_OUT_OF_RANGE,
                    params={"vhl": rules.format_signed(vhl)},
                ),
            )
            return None
        if vhl < 0:
            notice = (
                _(
                    "The VHL from the second reader's six heights is %(vhl)s %%: the fractured vertebra "
                    "measures taller than its neighbours' mean. It is kept as measured and scores 0; check the "
                    "heights if that is not so."
                )
                if prefix
                else _(
                    "The VHL from the six heights is %(vhl)s %%: the fractured vertebra "
                    "measures taller than its neighbours' mean. It is kept as measured and scores 0; check the "
                    "heights if that is not so."
                )
            )
            self.notices.append(notice % {"vhl": rules.format_signed(vhl)})
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


SECOND_PREFIX = "second_"
SECOND_HEIGHT_FIELDS = tuple(f"{SECOND_PREFIX}{name}" for name in HEIGHT_FORM_FIELDS)


class TwoReaderFields(VhlFields):
    """A second reader of the same lateral film (spec §2): their VHL (typed, or from their own six
    heights) and kyphosis angle. The film's value is then the mean of the two readers, kept as it
    is (not rounded: 14.95 % stays 14.95 %); each reader's own value is kept beside it. Shared by
    the baseline assessment and the follow-up visit."""

    first_reader_name = forms.CharField(
        label=gettext_lazy("First reader (name)"), max_length=100, required=False, validators=[visible_name]
    )
    second_reader_name = forms.CharField(
        label=gettext_lazy("Second reader (name)"), max_length=100, required=False, validators=[visible_name]
    )
    second_vhl_percent = TenthDecimalField(
        label=gettext_lazy("Second reader: VHL (%)"),
        unit=" %",
        required=False,
        min_value=measurements.VHL_MIN_PERCENT,
        max_value=measurements.VHL_MAX_PERCENT,
        help_text=gettext_lazy("Or the second reader's six heights below."),
    )
    second_fractured_anterior_mm = HeightField(label=gettext_lazy("Second reader: a · fractured, anterior (mm)"))
    second_fractured_posterior_mm = HeightField(label=gettext_lazy("Second reader: b · fractured, posterior (mm)"))
    second_cranial_anterior_mm = HeightField(label=gettext_lazy("Second reader: c · vertebra above, anterior (mm)"))
    second_cranial_posterior_mm = HeightField(label=gettext_lazy("Second reader: d · vertebra above, posterior (mm)"))
    second_caudal_anterior_mm = HeightField(label=gettext_lazy("Second reader: e · vertebra below, anterior (mm)"))
    second_caudal_posterior_mm = HeightField(label=gettext_lazy("Second reader: f · vertebra below, posterior (mm)"))
    second_kyphosis_angle_deg = TenthDecimalField(
        label=gettext_lazy("Second reader: kyphosis angle (°)"),
        unit="°",
        required=False,
        min_value=measurements.KYPHOSIS_MIN_DEG,
        max_value=measurements.KYPHOSIS_MAX_DEG,
    )

    # The pages keep who read the film; the scoring API (and the calculator) only the values.
    reader_names_required = True

    # The model fields the readers' part of a ModelForm saves as they are.
    READER_MODEL_FIELDS = (
        "first_reader_name",
        "second_reader_name",
        *SECOND_HEIGHT_FIELDS,
        "second_kyphosis_angle_deg",
    )
    SECOND_READER_FIELDS = ("second_vhl_percent", "second_kyphosis_angle_deg", *SECOND_HEIGHT_FIELDS)

    first_vhl: Decimal | None = None
    first_kyphosis: Decimal | None = None
    reader_summary = ""

    def _initial_readers(self, record) -> None:
        """An edit shows each reader's own values, never the mean that was scored or compared."""
        if record.first_vhl_percent is not None and record.heights is None:
            self.initial["vhl_percent"] = record.first_vhl_percent
        if record.first_kyphosis_angle_deg is not None:
            self.initial["kyphosis_angle_deg"] = record.first_kyphosis_angle_deg
        self.initial["second_vhl_percent"] = record.second_vhl_entered_percent

    @property
    def second_reader_given(self) -> bool:
        return any(self[name].value() not in (None, "") for name in (*self.SECOND_READER_FIELDS, "second_reader_name"))

    def combine_readers(self, cleaned: dict) -> None:
        """The first reader's values as given; with a second reader, the film's value is the mean
        of the two, not rounded (spec §2, revised Decision)."""
        self.first_vhl = cleaned.get("vhl_percent")
        self.first_kyphosis = cleaned.get("kyphosis_angle_deg")
        self._resolve_vhl(cleaned, prefix=SECOND_PREFIX, required=False)
        second_vhl = cleaned.get("second_vhl_percent")
        second_kyphosis = cleaned.get("second_kyphosis_angle_deg")
        if (
            self.reader_names_required
            and (second_vhl is not None or second_kyphosis is not None)
            and not cleaned.get("second_reader_name")
        ):
            self.add_error("second_reader_name", ValidationError(_("Name the second reader."), code="required"))
        for first, second, field, message in (
            (
                self.first_vhl,
                second_vhl,
                "second_vhl_percent",
                gettext_lazy("Enter the first reader's VHL too: the film's value is the mean of the two readers."),
            ),
            (
                self.first_kyphosis,
                second_kyphosis,
                "second_kyphosis_angle_deg",
                gettext_lazy(
                    "Enter the first reader's kyphosis angle too: the film's value is the mean of the two readers."
                ),
            ),
        ):
            if second is not None and first is None and not self.has_error(field.removeprefix(SECOND_PREFIX)):
                self.add_error(field, ValidationError(str(message), code="second_without_first"))
        if self.first_vhl is not None and second_vhl is not None:
            cleaned["vhl_percent"] = measurements.mean_of_readers(self.first_vhl, second_vhl)
        if self.first_kyphosis is not None and second_kyphosis is not None:
            cleaned["kyphosis_angle_deg"] = measurements.mean_of_readers(self.first_kyphosis, second_kyphosis)
        if second_vhl is not None or second_kyphosis is not None:
            self.reader_summary = presenters.reader_summary(
                self.first_vhl,
                second_vhl,
                cleaned.get("vhl_percent"),
                self.first_kyphosis,
                second_kyphosis,
                cleaned.get("kyphosis_angle_deg"),
            )

    def apply_readers(self, record) -> None:
        """Put each reader's own values and the film's value (their mean) on the record."""
        cleaned = self.cleaned_data
        record.vhl_percent = cleaned.get("vhl_percent")  # the readers' mean where two measured
        # The percentage the first reader typed (cleaned_data holds the readers' mean).
        record.vhl_entered_percent = None if self.vhl_from_heights else self.first_vhl
        record.first_vhl_percent = self.first_vhl
        record.first_kyphosis_angle_deg = self.first_kyphosis
        record.second_vhl_percent = cleaned.get("second_vhl_percent")
        record.second_vhl_entered_percent = (
            cleaned.get("second_vhl_percent") if record.second_fractured_anterior_mm is None else None
        )


ODI_SECTION_FIELDS = tuple(f"odi_section_{n}" for n in range(1, len(measurements.ODI_SECTIONS) + 1))

# The six answers of each ODI section (version 2.1a), shortened, from 0 (no problem) to 5 (worst):
# the clinician picks the patient's answer in words, not a bare number. The keys are the sections'
# English names (measurements.ODI_SECTIONS, msgids); the answers are translated where they are shown.
ODI_ANSWERS = {
    "Pain intensity": (
        gettext_lazy("no pain at the moment"),
        gettext_lazy("very mild pain"),
        gettext_lazy("moderate pain"),
        gettext_lazy("fairly severe pain"),
        gettext_lazy("very severe pain"),
        gettext_lazy("the worst imaginable pain"),
    ),
    "Personal care": (
        gettext_lazy("looks after self normally, no extra pain"),
        gettext_lazy("normally, but very painful"),
        gettext_lazy("painful: slow and careful"),
        gettext_lazy("needs some help, manages most"),
        gettext_lazy("needs help every day in most care"),
        gettext_lazy("cannot dress, washes with difficulty, stays in bed"),
    ),
    "Lifting": (
        gettext_lazy("heavy weights, no extra pain"),
        gettext_lazy("heavy weights, with extra pain"),
        gettext_lazy("not heavy weights off the floor; can if conveniently placed"),
        gettext_lazy("light to medium weights if conveniently placed"),
        gettext_lazy("only very light weights"),
        gettext_lazy("cannot lift or carry anything"),
    ),
    "Walking": (
        gettext_lazy("pain does not limit walking"),
        gettext_lazy("not more than 1 km"),
        gettext_lazy("not more than 500 m"),
        gettext_lazy("not more than 100 m"),
        gettext_lazy("only with a stick or crutches"),
        gettext_lazy("in bed most of the time"),
    ),
    "Sitting": (
        gettext_lazy("any chair, as long as liked"),
        gettext_lazy("favourite chair only, as long as liked"),
        gettext_lazy("not more than 1 hour"),
        gettext_lazy("not more than 30 minutes"),
        gettext_lazy("not more than 10 minutes"),
        gettext_lazy("cannot sit at all"),
    ),
    "Standing": (
        gettext_lazy("as long as liked, no extra pain"),
        gettext_lazy("as long as liked, with extra pain"),
        gettext_lazy("not more than 1 hour"),
        gettext_lazy("not more than 30 minutes"),
        gettext_lazy("not more than 10 minutes"),
        gettext_lazy("cannot stand at all"),
    ),
    "Sleeping": (
        gettext_lazy("never disturbed by pain"),
        gettext_lazy("occasionally disturbed by pain"),
        gettext_lazy("less than 6 hours' sleep"),
        gettext_lazy("less than 4 hours' sleep"),
        gettext_lazy("less than 2 hours' sleep"),
        gettext_lazy("pain prevents sleep altogether"),
    ),
    "Sex life": (
        gettext_lazy("normal, no extra pain"),
        gettext_lazy("normal, some extra pain"),
        gettext_lazy("nearly normal, very painful"),
        gettext_lazy("severely restricted by pain"),
        gettext_lazy("nearly absent because of pain"),
        gettext_lazy("prevented by pain"),
    ),
    "Social life": (
        gettext_lazy("normal, no extra pain"),
        gettext_lazy("normal, but increases pain"),
        gettext_lazy("only energetic interests limited"),
        gettext_lazy("restricted: does not go out as often"),
        gettext_lazy("restricted to home"),
        gettext_lazy("no social life because of pain"),
    ),
    "Travelling": (
        gettext_lazy("anywhere, no pain"),
        gettext_lazy("anywhere, with extra pain"),
        gettext_lazy("manages journeys over 2 hours"),
        gettext_lazy("less than 1 hour"),
        gettext_lazy("short necessary journeys under 30 minutes"),
        gettext_lazy("only to receive treatment"),
    ),
}


# The section's name (a msgid of the pure core) in the language of the request that shows it.
_words_lazy = lazy(words, str)


def _odi_section_field(number: int) -> forms.TypedChoiceField:
    section = measurements.ODI_SECTIONS[number - 1]
    return forms.TypedChoiceField(
        label=format_lazy("{} · {}", number, _words_lazy(section)),
        choices=[("", gettext_lazy("not answered"))]
        + [(str(score), format_lazy("{} · {}", score, answer)) for score, answer in enumerate(ODI_ANSWERS[section])],
        coerce=int,
        empty_value=None,
        required=False,
    )


class OdiFields(forms.Form):
    """ODI typed as a percentage, or computed from the ten questionnaire sections (spec §2)."""

    odi_percent = TenthDecimalField(
        label=gettext_lazy("ODI (%)"),
        unit=" %",
        required=False,
        min_value=measurements.ODI_MIN_PERCENT,
        max_value=measurements.ODI_MAX_PERCENT,
        help_text=gettext_lazy("Oswestry Disability Index, 0–100 %: type it, or score the ten sections below."),
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
                ValidationError(_("Type the ODI or score the sections, not both: clear one of them."), code="odi_both"),
            )
            return
        self.odi_sections = sections
        cleaned["odi_percent"] = measurements.odi_from_sections(sections)

    @property
    def odi_sections_given(self) -> bool:
        return any(self[name].value() not in (None, "") for name in ODI_SECTION_FIELDS)
