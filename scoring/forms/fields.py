"""Form fields for measured values and dates: bounded, finite, rounded as the spec says."""

from __future__ import annotations

import datetime
import re
import unicodedata

from django import forms
from django.core.exceptions import ValidationError
from django.utils import formats, timezone
from django.utils.functional import lazy
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from .. import measurements, rules

MAX_NUMBER_TEXT_LENGTH = 32  # longer than any honest measurement: refuse before parsing
MAX_MAGNITUDE_EXPONENT = 6  # |value| < 10^7
PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", re.ASCII)
EARLIEST_DATE = datetime.date(1900, 1, 1)
# Searches and filters may look ahead (visits due, a planned start), never to year 9999.
LATEST_DAYS_AHEAD = 365

HEIGHT_FORM_FIELDS = tuple(f"{name}_mm" for name in measurements.HEIGHT_FIELDS)
# The English labels (msgids, as the browser tests find the fields): a form translates them with
# gettext_lazy(HEIGHT_LABELS[name]).
HEIGHT_LABELS = {
    "fractured_anterior_mm": gettext_noop("a · fractured, anterior (mm)"),
    "fractured_posterior_mm": gettext_noop("b · fractured, posterior (mm)"),
    "cranial_anterior_mm": gettext_noop("c · vertebra above, anterior (mm)"),
    "cranial_posterior_mm": gettext_noop("d · vertebra above, posterior (mm)"),
    "caudal_anterior_mm": gettext_noop("e · vertebra below, anterior (mm)"),
    "caudal_posterior_mm": gettext_noop("f · vertebra below, posterior (mm)"),
}

# Error codes the JSON API maps onto its own field names (api.py).
VHL_BOTH = "vhl_both"
VHL_MISSING = "vhl_missing"
VHL_COMPUTED_OUT_OF_RANGE = "vhl_computed_out_of_range"

# The range messages of a measured value: the unit (" mm", "°", " %": not translated) goes into the
# sentence, the limit stays a placeholder the field's validator fills in.
MIN_VALUE_MESSAGE = gettext_noop("Must be at least %(limit_value)s%(unit)s.")
MAX_VALUE_MESSAGE = gettext_noop("Must be at most %(limit_value)s%(unit)s.")


def _range_message(message: str, unit: str) -> str:
    # The unit's own "%" is doubled: the message is %-formatted again with the limit.
    return gettext(message) % {"limit_value": "%(limit_value)s", "unit": unit.replace("%", "%%")}


range_message = lazy(_range_message, str)


def _short_date(value: datetime.date) -> str:
    return formats.date_format(value, "SHORT_DATE_FORMAT")


# A date in a message: formatted when the message is shown, in that moment's language (Y-m-d in
# English, as the messages always read).
shown_date = lazy(_short_date, str)


class MeasuredDecimalField(forms.DecimalField):
    """A decimal number typed by a person or sent by a client: bounded length, finite."""

    def __init__(self, *, unit: str = "", **kwargs):
        self.unit = unit
        kwargs.setdefault("widget", forms.NumberInput(attrs={"step": "0.1", "inputmode": "decimal"}))
        super().__init__(**kwargs)
        self.error_messages["min_value"] = range_message(MIN_VALUE_MESSAGE, unit)
        self.error_messages["max_value"] = range_message(MAX_VALUE_MESSAGE, unit)

    def to_python(self, value):
        if isinstance(value, str):
            value = value.strip()
            if value and (len(value) > MAX_NUMBER_TEXT_LENGTH or not PLAIN_NUMBER.fullmatch(value)):
                # Decimal() would also take "1_5", non-ASCII digits or "NaN": not a measurement.
                raise ValidationError(self.error_messages["invalid"], code="invalid")
        value = super().to_python(value)
        if value is not None and value.is_finite() and value.adjusted() > MAX_MAGNITUDE_EXPONENT:
            # No measurement here reaches a million; refusing early keeps arithmetic on huge
            # exponents (which overflows or takes minutes) away from the rest of the code.
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return value


class TenthDecimalField(MeasuredDecimalField):
    """A value recorded to 0.1: rounded half-up before the range is checked (spec §1, Decision)."""

    def to_python(self, value):
        value = super().to_python(value)
        if value is not None and value.is_finite():
            value = rules.round_to_tenth(value)
        return value


class OneDecimalField(MeasuredDecimalField):
    """A value its instrument reports to 0.1 (a densitometer's T-score, spec §2): at most one
    decimal is accepted, never rounded: −2.55 is refused, not read as −2.6 or −2.5."""

    def to_python(self, value):
        value = super().to_python(value)
        if value is not None and value.is_finite() and value == value.quantize(rules.TENTH):
            value = value.quantize(rules.TENTH)  # −2.50 is −2.5
        return value

    def validate(self, value):
        super().validate(value)
        if value is not None and value.is_finite() and value != value.quantize(rules.TENTH):
            raise ValidationError(
                _("Enter at most one decimal (e.g. −2.5): %(value)s has more; a T-score is reported to 0.1."),
                code="too_many_decimals",
                params={"value": rules.format_signed(value.normalize())},
            )


class HeightField(MeasuredDecimalField):
    """One of the six vertebral heights: over 0 and at most 100 mm (spec §2, Decision)."""

    def __init__(self, **kwargs):
        super().__init__(
            unit=" mm",
            required=False,
            max_value=measurements.HEIGHT_MAX_MM,
            max_digits=5,
            decimal_places=2,
            widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
            **kwargs,
        )

    def validate(self, value):
        super().validate(value)
        if value is not None and value.is_finite() and value <= measurements.HEIGHT_MIN_EXCLUSIVE_MM:
            raise ValidationError(_("Must be greater than 0 mm."), code="min_value")


def not_in_future(value: datetime.date) -> None:
    if value > timezone.localdate():
        raise ValidationError(_("This date is in the future."), code="future_date")


def not_before_1900(value: datetime.date) -> None:
    if value < EARLIEST_DATE:
        raise ValidationError(_("Enter a date from 1900 on."), code="date_too_early")


def at_most_a_year_ahead(value: datetime.date) -> None:
    latest = timezone.localdate() + datetime.timedelta(days=LATEST_DAYS_AHEAD)
    if value > latest:
        raise ValidationError(
            _("Enter a date up to a year from today (%(date)s)."),
            code="date_too_late",
            params={"date": shown_date(latest)},
        )


# What a line of text may not hide: format characters (category Cf: the bidirectional overrides
# and isolates U+202A-202E, U+2066-2069, zero-width spaces and joiners, U+FEFF, the soft hyphen),
# control characters (Cc) and the line and paragraph separators (Zl, Zp). Printed back, an
# override reverses the rest of its line ("86 years" reads "68"), and invisible characters make
# two names that look the same differ.
INVISIBLE_CATEGORIES = frozenset({"Cf", "Cc", "Zl", "Zp"})
LINE_BREAKS = frozenset("\t\n\r")  # kept in text typed on several lines (notes, a reason)


def _character_name(character: str) -> str:
    """The code point and Unicode name, e.g. U+202E RIGHT-TO-LEFT OVERRIDE (a control has none)."""
    name = unicodedata.name(character, "") or (
        "CONTROL CHARACTER" if unicodedata.category(character) == "Cc" else "UNNAMED CHARACTER"
    )
    return f"U+{ord(character):04X} {name}"


class VisibleText:
    """Refuse text with an invisible or control character: every free text a person types that is
    printed back (names, notes, reasons) goes through one of these, in the forms the pages and the
    import share. `multiline` keeps tab and line breaks (a textarea)."""

    def __init__(self, subject: str = _("The text"), *, multiline: bool = False):
        self.subject = subject
        self.allowed = LINE_BREAKS if multiline else frozenset()

    def __call__(self, value: str) -> None:
        for character in value:
            if character == "\x00":
                continue  # Django's own validator refuses NUL ("Null characters are not allowed.")
            if character not in self.allowed and unicodedata.category(character) in INVISIBLE_CATEGORIES:
                raise ValidationError(
                    _("%(subject)s contains an invisible control character (%(character)s): retype it."),
                    code="invisible_character",
                    params={"subject": self.subject, "character": _character_name(character)},
                )


visible_name = VisibleText(_("The name"))
visible_notes = VisibleText(_("The text"), multiline=True)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


YES_NO = [
    ("yes", _("Yes: a fall from standing height or less, or no trauma")),
    ("no", _("No: high-energy trauma")),
]
