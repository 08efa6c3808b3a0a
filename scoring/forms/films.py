"""A film's upload, its PACS pick, a reader's twelve corners, and the values a reading hands to the
assessment's or visit's form (the same fields and ranges a reader who typed them meets)."""

from __future__ import annotations

import json
from decimal import Decimal

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from .. import radiograph
from ..models import Film, FilmReading
from .fields import HEIGHT_FORM_FIELDS, visible_name


class FilmUploadForm(forms.Form):
    """The lateral film as a file: DICOM (uncompressed, JPEG, JPEG-LS, JPEG 2000, RLE), PNG or JPEG.
    The content decides what it is (scoring.films.ingest); here only its presence and size."""

    file = forms.FileField(
        label="Lateral radiograph",
        help_text="A DICOM file (.dcm), a PNG or a JPEG. A DICOM keeps its pixel spacing: heights in mm.",
        widget=forms.ClearableFileInput(attrs={"accept": ".dcm,.dicom,application/dicom,image/png,image/jpeg"}),
        error_messages={"required": "Choose the film's file.", "empty": "The file is empty."},
    )

    def clean_file(self):
        file = self.cleaned_data["file"]
        limit_mb = settings.NASOVCF_FILM_MAX_MB
        if file.size > limit_mb * 1024 * 1024:
            raise ValidationError(
                "The file is %(size)s MB; the largest film taken is %(limit)s MB.",
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
        label="Reader (name)",
        max_length=100,
        validators=[visible_name],
        error_messages={"required": "Name the reader: the values are kept with who measured them."},
    )
    points = forms.CharField(widget=forms.HiddenInput, error_messages={"required": "Place the twelve corners."})
    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)

    def __init__(self, *args, film: Film, **kwargs):
        self.film = film
        super().__init__(*args, **kwargs)
        self.measurement: radiograph.Measurement | None = None

    def clean_points(self) -> dict:
        try:
            points = json.loads(self.cleaned_data["points"])
        except ValueError:
            raise ValidationError("The corners could not be read: place them again.", code="invalid") from None
        if not isinstance(points, dict):
            raise ValidationError("The corners could not be read: place them again.", code="invalid")
        try:
            self.measurement = radiograph.measure(
                points, self.film.pixel_spacing_mm, (self.film.width, self.film.height)
            )
        except radiograph.ImplausibleMeasurement as refused:
            raise ValidationError(
                [ValidationError(problem.message, code=problem.code) for problem in refused.problems]
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
