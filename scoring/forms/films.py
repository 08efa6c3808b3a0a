"""A film's upload, its PACS pick, a reader's twelve corners, and the values a reading hands to the
assessment's or visit's form (the same fields and ranges a reader who typed them meets)."""

from __future__ import annotations

import json
from decimal import Decimal

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from .. import presenters, radiograph
from ..models import Film, FilmReading
from .fields import HEIGHT_FORM_FIELDS, visible_name

# The English messages (gettext msgids); measure_body_errors says them in the active language.
REQUIRED = gettext_noop("This field is required.")
MEASURE_FIELDS = {"points", "pixel_spacing_mm"}
POINTS_SHAPE = gettext_noop("Must be an object with the cranial, fractured and caudal vertebrae.")
CORNERS_SHAPE = gettext_noop("Must be an object with the four corners: %(corners)s.")
POINT_SHAPE = gettext_noop("Must be a pair [x, y] of JSON numbers, each 0 or more.")
SPACING_SHAPE = gettext_noop("Must be two positive JSON numbers of millimetres: [row spacing, column spacing].")


def _is_pair_of_numbers(value: object) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, (int, float, Decimal)) and not isinstance(v, bool) for v in value)
    )


def measure_body_errors(body: dict) -> dict[str, list[str]]:
    """What JSON itself can get wrong in twelve corners (and a spacing), each under its path: the
    check POST /api/measure/ and the measuring page's form share. Ranges and the plausibility of
    the outlines are `radiograph.measure`'s."""
    errors = {key: [_("Unknown field.")] for key in body if key not in MEASURE_FIELDS}
    spacing = body.get("pixel_spacing_mm")
    if spacing is not None and not _is_pair_of_numbers(spacing):
        errors["pixel_spacing_mm"] = [_(SPACING_SHAPE)]
    points = body.get("points")
    if not isinstance(points, dict):
        errors["points"] = [_(REQUIRED) if points is None else _(POINTS_SHAPE)]
        return errors
    for name in points:
        if name not in radiograph.VERTEBRAE:
            errors[f"points.{name}"] = [_("Unknown vertebra.")]
    for vertebra in radiograph.VERTEBRAE:
        corners = points.get(vertebra)
        if not isinstance(corners, dict):
            corners_shape = _(CORNERS_SHAPE) % {"corners": ", ".join(radiograph.CORNERS)}  # JSON keys: as they are
            errors[f"points.{vertebra}"] = [_(REQUIRED) if corners is None else corners_shape]
            continue
        for name in corners:
            if name not in radiograph.CORNERS:
                errors[f"points.{vertebra}.{name}"] = [_("Unknown corner.")]
        for corner in radiograph.CORNERS:
            point = corners.get(corner)
            if point is None:
                errors[f"points.{vertebra}.{corner}"] = [_(REQUIRED)]
            elif not _is_pair_of_numbers(point):
                errors[f"points.{vertebra}.{corner}"] = [_(POINT_SHAPE)]
    return errors


def _not_a_json_constant(name: str):
    raise ValueError(name)  # NaN, Infinity: not JSON


class FilmUploadForm(forms.Form):
    """The lateral film as a file: DICOM (uncompressed, JPEG, JPEG-LS, JPEG 2000, RLE), PNG or JPEG.
    The content decides what it is (scoring.films.ingest); here only its presence and size."""

    file = forms.FileField(
        label=gettext_lazy("Lateral radiograph"),
        help_text=gettext_lazy("A DICOM file (.dcm), a PNG or a JPEG. A DICOM keeps its pixel spacing: heights in mm."),
        widget=forms.ClearableFileInput(attrs={"accept": ".dcm,.dicom,application/dicom,image/png,image/jpeg"}),
        error_messages={
            "required": gettext_lazy("Choose the film's file."),
            "empty": gettext_lazy("The file is empty."),
        },
    )

    def clean_file(self):
        file = self.cleaned_data["file"]
        limit_mb = settings.NASOVCF_FILM_MAX_MB
        if file.size > limit_mb * 1024 * 1024:
            raise ValidationError(
                _("The file is %(size)s MB; the largest film taken is %(limit)s MB."),
                code="too_large",
                params={"size": f"{file.size / 1024 / 1024:.1f}", "limit": limit_mb},
            )
        return file


class PacsPickForm(forms.Form):
    """One instance of the patient's studies, as the PACS search listed it."""

    study = forms.RegexField(regex=r"^[0-9.]{1,64}$")
    series = forms.RegexField(regex=r"^[0-9.]{1,64}$")
    instance = forms.RegexField(regex=r"^[0-9.]{1,64}$")


class ReadingForm(forms.Form):
    """One reader's twelve corners (spec §9), measured by radiograph.measure on the film's own
    spacing and size: the computation the live values and POST /api/measure/ use."""

    reader_name = forms.CharField(
        label=gettext_lazy("Reader (name)"),
        max_length=100,
        validators=[visible_name],
        error_messages={"required": gettext_lazy("Name the reader: the values are kept with who measured them.")},
    )
    # Twelve pairs of numbers in JSON fit in well under 4,000 characters.
    points = forms.CharField(
        widget=forms.HiddenInput,
        max_length=4000,
        error_messages={
            "required": gettext_lazy("Place the twelve corners."),
            "max_length": gettext_lazy("The corners could not be read: place them again."),
        },
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)

    def __init__(self, *args, film: Film, **kwargs):
        self.film = film
        super().__init__(*args, **kwargs)
        self.measurement: radiograph.Measurement | None = None

    def clean_points(self) -> dict:
        unreadable = ValidationError(_("The corners could not be read: place them again."), code="invalid")
        try:
            points = json.loads(self.cleaned_data["points"], parse_float=Decimal, parse_constant=_not_a_json_constant)
        except (ValueError, RecursionError):
            raise unreadable from None
        if not isinstance(points, dict):
            raise unreadable
        shape = measure_body_errors({"points": points})
        if shape:
            raise ValidationError(
                [
                    _("%(path)s: %(problems)s") % {"path": path, "problems": " ".join(messages)}
                    for path, messages in shape.items()
                ],
                code="invalid",
            )
        try:
            self.measurement = radiograph.measure(
                points, self.film.pixel_spacing_mm, (self.film.width, self.film.height)
            )
        except radiograph.ImplausibleMeasurement as refused:
            raise ValidationError(
                [ValidationError(presenters.problem_text(problem), code=problem.code) for problem in refused.problems]
            ) from None
        return points


def reading_values(reading: FilmReading) -> dict[str, Decimal | str | None]:
    """What a reading fills in the assessment's or visit's form, by field name: the first reader's
    six heights (mm) or, measured in pixels, their VHL (a ratio needs no spacing), their kyphosis
    angle and name; the second reader's into the second reader's fields."""
    prefix = "" if reading.reader == FilmReading.Reader.FIRST else "second_"
    in_mm = reading.unit == "mm"
    values: dict[str, Decimal | str | None] = {
        f"{prefix}{name}": (getattr(reading, name.removesuffix("_mm")) if in_mm else None)
        for name in HEIGHT_FORM_FIELDS
    }
    values[f"{prefix}vhl_percent"] = None if in_mm else reading.vhl_percent
    values[f"{prefix}kyphosis_angle_deg"] = reading.kyphosis_angle_deg
    values["first_reader_name" if not prefix else "second_reader_name"] = reading.reader_name
    return values
