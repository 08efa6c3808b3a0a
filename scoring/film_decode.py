"""Decode one radiograph in a child process: `python -m scoring.film_decode SOURCE DIRECTORY FORMAT
MAX_MEGAPIXELS`.

Why a child: a film is untrusted input handed to C decoders (libjpeg, OpenJPEG, CharLS). Run apart,
under a time limit and an address-space limit (set by `scoring.films`), a decoder that hangs, eats
memory or crashes costs the upload, not a web worker. No Django here: pydicom, numpy and Pillow
only, so the child starts quickly and imports nothing it does not need.

It writes, into DIRECTORY, `pixels.npy` (the full-resolution values after the modality LUT, as
float32, bright = bone) and `preview.png` (at most PREVIEW_MAX_SIDE_PX on its long side, in the
default window), each 0600 and created exclusively; and prints one line of JSON on stdout: either
{"ok": true, "film": {...}} or {"ok": false, "code": ..., "reason": ..., "params": {...}}. A refusal is a
code, the reason (which of its sentences) and the sentence's values: the parent (`scoring.films`) says
it in the words and language of the request that sent the film. No value names a patient.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from PIL import Image
from pydicom.errors import InvalidDicomError
from pydicom.pixels import apply_modality_lut, get_decoder

PREVIEW_MAX_SIDE_PX = 1024
PRIVATE_FILE_MODE = 0o600
# The photometric interpretations of a greyscale image (DICOM PS3.3 C.7.6.3.1.2).
GREYSCALE = ("MONOCHROME1", "MONOCHROME2")

# Error codes.
TOO_MANY_PIXELS = "too_many_pixels"
MULTI_FRAME = "multi_frame"
COLOUR_DICOM = "colour_dicom"
UNSUPPORTED_SYNTAX = "unsupported_transfer_syntax"
NO_PIXELS = "no_pixels"
UNDECODABLE = "undecodable"
OUT_OF_MEMORY = "out_of_memory"
NOT_NUMBERS = "values_not_numbers"

# Reasons: which sentence of scoring.films.DECODE_REFUSALS says the refusal.
TOO_MANY_PIXELS_REASON = "too_many_pixels"
OVER_PILLOW_LIMIT = "over_pillow_limit"
DAMAGED_DICOM = "damaged_dicom"
NO_PIXEL_DATA = "no_pixel_data"
NO_DECODER = "no_decoder"
DECODER_NOT_INSTALLED = "decoder_not_installed"
MULTI_FRAME_REASON = "multi_frame"
COLOUR = "colour"
COLOUR_UNNAMED = "colour_unnamed"
DECODER_ERROR = "decoder_error"
RESCALE_NOT_NUMBERS = "rescale_not_numbers"
RESCALED_OUT_OF_RANGE = "rescaled_out_of_range"
VALUES_OUT_OF_RANGE = "values_out_of_range"
REASONS = (
    TOO_MANY_PIXELS_REASON,
    OVER_PILLOW_LIMIT,
    DAMAGED_DICOM,
    NO_PIXEL_DATA,
    NO_DECODER,
    DECODER_NOT_INSTALLED,
    MULTI_FRAME_REASON,
    COLOUR,
    COLOUR_UNNAMED,
    DECODER_ERROR,
    RESCALE_NOT_NUMBERS,
    RESCALED_OUT_OF_RANGE,
    VALUES_OUT_OF_RANGE,
)  # and OUT_OF_MEMORY, whose sentence names the parent's own memory limit

# A pixel wider than this is no radiograph's (scoring.radiograph.MAX_PIXEL_SPACING_MM, which the
# measuring refuses); the film model keeps a spacing to 8 decimal places.
MAX_PIXEL_SPACING_MM = 100.0
SPACING_DECIMAL_PLACES = 8
# A DICOM UID (PS3.5 9.1): digits and dots, at most 64 characters.
UID = re.compile(r"^[0-9.]{1,64}$")


class Refusal(Exception):
    """A film refused: its code, the reason (which sentence) and that sentence's values."""

    def __init__(self, code: str, reason: str, **params: Any):
        super().__init__(code, reason, params)
        self.code, self.reason, self.params = code, reason, params


def private_writer(path: Path):
    """A new file opened for writing, 0600 from its first byte; an existing one is an error."""
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE), "wb")


def one_decimal(number: float) -> str:
    """1.2 → "1.2", 3600.0 → "3,600": a tenth where there is one."""
    return f"{number:,.1f}".removesuffix(".0")


def check_size(width: int, height: int, samples: int, max_megapixels: int) -> None:
    """Refuse a film too large to decode before allocating anything for it."""
    megapixels = width * height * samples / 1_000_000
    if megapixels > max_megapixels:
        raise Refusal(
            TOO_MANY_PIXELS,
            TOO_MANY_PIXELS_REASON,
            width=width,
            height=height,
            megapixels=one_decimal(megapixels),
            max_megapixels=max_megapixels,
        )


def first_number(value: Any) -> float | None:
    """The first of a possibly multi-valued DICOM number (WindowCenter may hold several); None
    when there is none, or it is not a finite number."""
    if value is None or value == "":
        return None
    if isinstance(value, pydicom.multival.MultiValue):
        if not len(value):
            return None
        value = value[0]
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _usable_spacing(value: Any) -> bool:
    """A spacing a film can be measured with: a finite number of mm above 0 (still above 0 at the
    8 decimal places kept) and at most MAX_PIXEL_SPACING_MM."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return False
    return math.isfinite(number) and round(number, SPACING_DECIMAL_PLACES) > 0 and number <= MAX_PIXEL_SPACING_MM


def spacing_of(dataset: pydicom.Dataset) -> tuple[list[str] | None, str]:
    """(row, column) spacing in mm as the DICOM writes it, and its tag: PixelSpacing (0028,0030),
    else ImagerPixelSpacing (0018,1164) for a projection radiograph (spec §9). A spacing that is
    not one a film can be measured with (zero, negative, not a number, above 100 mm) counts as
    none: the heights are then in pixels."""
    for tag in ("PixelSpacing", "ImagerPixelSpacing"):
        value = dataset.get(tag)
        if value is not None and len(value) == 2 and all(_usable_spacing(v) for v in value):
            return [str(round(float(v), SPACING_DECIMAL_PLACES)) for v in value], tag
    return None, ""


def uid_of(dataset: pydicom.Dataset, keyword: str) -> str:
    """A UID as the DICOM has it, or "" when it is not a UID (PS3.5 9.1: digits and dots, ≤ 64)."""
    value = str(dataset.get(keyword, "")).strip().rstrip("\x00")
    return value if UID.match(value) else ""


def decode_dicom(source: Path, max_megapixels: int) -> tuple[np.ndarray, dict[str, Any], tuple[float, float] | None]:
    """The pixels (float32, bright = bone), the film's facts, and its own first window if any."""
    try:
        dataset = pydicom.dcmread(source)
    except (InvalidDicomError, EOFError, ValueError, KeyError, OSError) as error:
        raise Refusal(UNDECODABLE, DAMAGED_DICOM, error=str(error)) from error
    if "PixelData" not in dataset:
        raise Refusal(NO_PIXELS, NO_PIXEL_DATA)
    syntax = dataset.file_meta.get("TransferSyntaxUID")
    syntax_name = getattr(syntax, "name", str(syntax))
    try:
        decoder = get_decoder(syntax)
    except NotImplementedError as error:
        raise Refusal(UNSUPPORTED_SYNTAX, NO_DECODER, syntax=syntax_name) from error
    if not decoder.is_available:
        raise Refusal(UNSUPPORTED_SYNTAX, DECODER_NOT_INSTALLED, syntax=syntax_name)
    rows, columns = int(dataset.get("Rows", 0)), int(dataset.get("Columns", 0))
    samples = int(dataset.get("SamplesPerPixel", 1))
    check_size(columns, rows, samples, max_megapixels)
    frames = int(dataset.get("NumberOfFrames", 1) or 1)
    if frames > 1:
        # Refused rather than taking the first frame: a lateral film is one image, and measuring
        # an arbitrary frame of a series would give a number about the wrong picture.
        raise Refusal(MULTI_FRAME, MULTI_FRAME_REASON, frames=frames)
    photometric = str(dataset.get("PhotometricInterpretation", ""))
    if samples != 1 or photometric not in GREYSCALE:
        if photometric:
            raise Refusal(COLOUR_DICOM, COLOUR, photometric=photometric)
        raise Refusal(COLOUR_DICOM, COLOUR_UNNAMED)
    try:
        stored = dataset.pixel_array
    except MemoryError:
        raise
    except Exception as error:  # a decoder's error, whichever library raised it
        raise Refusal(UNDECODABLE, DECODER_ERROR, error=str(error)) from error
    pixels = modality_values(stored, dataset)
    del stored
    window = (first_number(dataset.get("WindowCenter")), first_number(dataset.get("WindowWidth")))
    own_window = (window[0], window[1]) if window[0] is not None and window[1] and window[1] > 0 else None
    if photometric == "MONOCHROME1":
        pixels, own_window = invert(pixels, own_window)
    spacing, spacing_tag = spacing_of(dataset)
    facts = {
        "file_format": "dicom",
        "pixel_spacing_mm": spacing,
        "spacing_tag": spacing_tag,
        "transfer_syntax": syntax_name,
        "study_instance_uid": uid_of(dataset, "StudyInstanceUID"),
        "series_instance_uid": uid_of(dataset, "SeriesInstanceUID"),
        "sop_instance_uid": uid_of(dataset, "SOPInstanceUID"),
        "patient_id": str(dataset.get("PatientID", "")),
        "patient_name": str(dataset.get("PatientName", "")),
    }
    return pixels, facts, own_window


def modality_values(stored: np.ndarray, dataset: pydicom.Dataset) -> np.ndarray:
    """Stored values → modality values (DICOM PS3.3 C.11.1: Rescale Slope/Intercept, or a Modality
    LUT Sequence), as float32 to halve the memory of pydicom's float64."""
    if "ModalityLUTSequence" in dataset:
        pixels = np.asarray(apply_modality_lut(stored, dataset), dtype=np.float32)
    else:
        slope_given, intercept_given = dataset.get("RescaleSlope"), dataset.get("RescaleIntercept")
        slope = 1.0 if slope_given in (None, "") else first_number(slope_given)
        intercept = 0.0 if intercept_given in (None, "") else first_number(intercept_given)
        if slope is None or intercept is None:
            raise Refusal(NOT_NUMBERS, RESCALE_NOT_NUMBERS)
        slope = slope or 1.0  # a slope of 0 would make every pixel the same: read as no rescale
        pixels = stored.astype(np.float32)
        with np.errstate(over="ignore", invalid="ignore"):
            if slope != 1:
                pixels *= np.float32(slope)
            if intercept != 0:
                pixels += np.float32(intercept)
    if not np.isfinite(pixels).all():
        raise Refusal(NOT_NUMBERS, RESCALED_OUT_OF_RANGE)
    return pixels


def invert(pixels: np.ndarray, window: tuple[float, float] | None) -> tuple[np.ndarray, tuple[float, float] | None]:
    """MONOCHROME1 shows low values bright (DICOM PS3.3 C.7.6.3.1.2): mirror the values within
    their own range, v → min + max − v, so bright is bone like every other film; the window's
    centre mirrors the same way and its width is unchanged."""
    low, high = float(pixels.min()), float(pixels.max())
    np.subtract(np.float32(low + high), pixels, out=pixels)
    if window is None:
        return pixels, None
    return pixels, (low + high - window[0], window[1])


def decode_picture(source: Path, file_format: str, max_megapixels: int) -> np.ndarray:
    """A PNG or JPEG as float32 grey; colour converted to grey (ITU-R 601 luma, Pillow's "L"),
    16-bit grey PNGs kept at 16 bits."""
    Image.MAX_IMAGE_PIXELS = max_megapixels * 1_000_000
    try:
        with Image.open(source) as image:
            check_size(image.width, image.height, 1, max_megapixels)
            if image.mode in ("I;16", "I;16B", "I;16L", "I"):
                return np.asarray(image, dtype=np.float32)
            return np.asarray(image.convert("L"), dtype=np.float32)
    except (Refusal, MemoryError):
        raise
    except Image.DecompressionBombError as error:  # over twice the limit: Pillow stops at the header
        raise Refusal(TOO_MANY_PIXELS, OVER_PILLOW_LIMIT, max_megapixels=max_megapixels) from error
    except Exception as error:  # Pillow's errors for a damaged or truncated file, or a bomb
        raise Refusal(UNDECODABLE, DECODER_ERROR, error=str(error)) from error


def full_range_window(pixels: np.ndarray) -> tuple[float, float, float, float]:
    """(value_min, value_max, centre, width) of the values' full range: the default window."""
    low, high = float(pixels.min()), float(pixels.max())
    if not (math.isfinite(high - low) and math.isfinite(low + high)):
        raise Refusal(NOT_NUMBERS, VALUES_OUT_OF_RANGE)
    return low, high, (low + high) / 2, max(high - low, 1.0)


def windowed(pixels: np.ndarray, center: float, width: float) -> np.ndarray:
    """Values → 8-bit grey through a linear window: centre − width/2 is black, centre + width/2
    white (DICOM PS3.3 C.11.2.1.2, simplified to the continuous form)."""
    width = max(width, 1e-6)
    low = center - width / 2
    # In float64: a window far outside the values (the view keeps it near them) must not overflow.
    scaled = (pixels.astype(np.float64) - low) * (255.0 / width)
    np.clip(scaled, 0, 255, out=scaled)
    return (scaled + np.float32(0.5)).astype(np.uint8)


def write_preview(pixels: np.ndarray, center: float, width: float, path: Path) -> tuple[int, int]:
    """The film at most PREVIEW_MAX_SIDE_PX on its long side, in its default window."""
    image = Image.fromarray(windowed(pixels, center, width), mode="L")
    scale = PREVIEW_MAX_SIDE_PX / max(image.width, image.height)
    if scale < 1:
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.BOX)
    with private_writer(path) as out:
        image.save(out, format="PNG", compress_level=3)
    return image.width, image.height


def decode(source: Path, directory: Path, file_format: str, max_megapixels: int) -> dict[str, Any]:
    """Decode the film, write pixels.npy and preview.png, and return its facts."""
    if file_format == "dicom":
        pixels, facts, own_window = decode_dicom(source, max_megapixels)
    else:
        pixels = decode_picture(source, file_format, max_megapixels)
        facts = {"file_format": file_format, "pixel_spacing_mm": None, "spacing_tag": ""}
        facts |= dict.fromkeys(("transfer_syntax", "study_instance_uid", "series_instance_uid", "sop_instance_uid"), "")
        facts |= {"patient_id": "", "patient_name": ""}
        own_window = None
    value_min, value_max, center, width = full_range_window(pixels)
    if own_window is not None:
        center, width = own_window
    height_px, width_px = pixels.shape
    with private_writer(directory / "pixels.npy") as out:
        np.save(out, pixels, allow_pickle=False)
    preview_width, preview_height = write_preview(pixels, center, width, directory / "preview.png")
    return facts | {
        "width": int(width_px),
        "height": int(height_px),
        "window_center": center,
        "window_width": width,
        "value_min": value_min,
        "value_max": value_max,
        "preview_width": preview_width,
        "preview_height": preview_height,
    }


def main(arguments: list[str]) -> int:
    source, directory, file_format, max_megapixels = arguments
    try:
        film = decode(Path(source), Path(directory), file_format, int(max_megapixels))
        answer: dict[str, Any] = {"ok": True, "film": film}
    except Refusal as refusal:
        answer = {"ok": False, "code": refusal.code, "reason": refusal.reason, "params": refusal.params}
    except MemoryError:
        answer = {"ok": False, "code": OUT_OF_MEMORY, "reason": OUT_OF_MEMORY, "params": {}}
    sys.stdout.write("\n" + json.dumps(answer) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
