"""The app's radiograph files: take an upload in (check, decode apart, store), render it, remove it.

A film lives in a directory of its own (0700) holding, each 0600 and created that way:
- `original`: the uploaded bytes, kept as they came;
- `pixels.npy`: the full-resolution values after the DICOM modality LUT, float32, bright = bone;
- `preview.png`: at most 1024 px on its long side, in the default window, 8-bit grey;
- `meta.json`: `DecodedFilm.as_dict()` (plus the preview's size).

The content decides a file's type, never its name. Decoding runs in a child process
(`scoring.film_decode`) under a time limit and an address-space limit, so a hostile or broken
file costs its upload and nothing else. Every refusal is a `FilmRefused` with a message for the
user, in the language of the request that sent the film (the child sends a code and values, the
words are made here); no message names the patient.

Patient names: `DecodedFilm.patient_name` keeps the DICOM's raw Person Name ("Patient^Test"),
since that is what a comparison with the PACS needs; `name_words_of_dicom` gives the words a person
reads ("Test Patient") for showing it next to the app's own patient.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from PIL import Image, ImageDraw

from . import film_decode
from .film_decode import OUT_OF_MEMORY, PRIVATE_FILE_MODE, private_writer, windowed

PRIVATE_DIRECTORY_MODE = 0o700
ORIGINAL = "original"
PIXELS = "pixels.npy"
PREVIEW = "preview.png"
META = "meta.json"
COPY_CHUNK_BYTES = 1 << 20
RENDER_COMPRESS_LEVEL = 1  # speed over size: the film goes to the reader's browser once
OUTLINE = ("anterior_superior", "anterior_inferior", "posterior_inferior", "posterior_superior")

# What each type is called in messages, and the name extensions that claim it.
FORMAT_WORDS = {"dicom": "DICOM", "png": "PNG", "jpeg": "JPEG"}
EXTENSIONS = {
    ".dcm": "dicom",
    ".dicom": "dicom",
    ".dic": "dicom",
    ".png": "png",
    ".jpg": "jpeg",
    ".jpeg": "jpeg",
    ".jpe": "jpeg",
    ".jfif": "jpeg",
}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
DICOM_PREAMBLE_BYTES = 128
DICOM_MAGIC = b"DICM"  # DICOM PS3.10 7.1: "DICM" after a 128-byte preamble
# The first group a DICOM dataset written without its preamble starts with: the file meta
# information (0002,xxxx) or, with no meta either, identifying data (0008,xxxx).
BARE_DICOM_GROUPS = (b"\x02\x00", b"\x08\x00")

# Error codes.
EMPTY = "empty"
TOO_LARGE = "too_large"
NOT_AN_IMAGE = "not_an_image"
NO_PREAMBLE = "no_dicom_preamble"
NAME_CONTRADICTS_CONTENT = "name_contradicts_content"
TIMED_OUT = "timed_out"
UNDECODABLE = "undecodable"

# The decoding child's refusals by reason (scoring.film_decode), with the values it sends.
DECODE_REFUSALS = {
    film_decode.TOO_MANY_PIXELS_REASON: gettext_noop(
        "The film is %(width)s x %(height)s pixels (%(megapixels)s megapixels); "
        "the largest film taken is %(max_megapixels)s megapixels."
    ),
    film_decode.OVER_PILLOW_LIMIT: gettext_noop("The film is larger than the %(max_megapixels)s megapixels taken."),
    film_decode.DAMAGED_DICOM: gettext_noop("The film could not be decoded: the DICOM file is damaged (%(error)s)."),
    film_decode.NO_PIXEL_DATA: gettext_noop("This DICOM holds no image (it has no Pixel Data)."),
    film_decode.NO_DECODER: gettext_noop(
        "This DICOM's transfer syntax (%(syntax)s) is not supported: no decoder here reads it. "
        "Export the film uncompressed, or as JPEG, JPEG-LS, JPEG 2000 or RLE."
    ),
    film_decode.DECODER_NOT_INSTALLED: gettext_noop(
        "This DICOM's transfer syntax (%(syntax)s) is not supported: its decoder is not installed."
    ),
    film_decode.MULTI_FRAME_REASON: gettext_noop(
        "This DICOM holds %(frames)s frames; a lateral film is a single image. Export the one lateral view."
    ),
    film_decode.COLOUR: gettext_noop(
        "This DICOM is a colour image (%(photometric)s); a radiograph is greyscale (MONOCHROME1 or MONOCHROME2)."
    ),
    film_decode.COLOUR_UNNAMED: gettext_noop(
        "This DICOM is a colour image (no photometric interpretation); "
        "a radiograph is greyscale (MONOCHROME1 or MONOCHROME2)."
    ),
    film_decode.DECODER_ERROR: gettext_noop("The film could not be decoded: %(error)s"),
    film_decode.RESCALE_NOT_NUMBERS: gettext_noop(
        "The film's rescale slope or intercept is not a number: its values cannot be read."
    ),
    film_decode.RESCALED_OUT_OF_RANGE: gettext_noop(
        "The film's values are out of range once its rescale slope and intercept are applied."
    ),
    film_decode.VALUES_OUT_OF_RANGE: gettext_noop("The film's values are out of range: it cannot be shown."),
}


class FilmRefused(Exception):
    """A file the app will not take, with a clear, specific message for the user and a code."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class DecodedFilm:
    file_format: str  # "dicom" | "png" | "jpeg"
    width: int  # full-resolution columns
    height: int  # full-resolution rows
    pixel_spacing_mm: tuple[Decimal, Decimal] | None  # (row, column), spec §9
    spacing_tag: str  # "PixelSpacing" | "ImagerPixelSpacing" | ""
    window_center: float  # the DICOM's own first window, else the full range
    window_width: float
    value_min: float  # the values' range, for the window sliders
    value_max: float
    transfer_syntax: str  # the UID's name; "" for PNG/JPEG
    study_instance_uid: str
    series_instance_uid: str
    sop_instance_uid: str
    patient_id: str  # as the DICOM has it; "" for PNG/JPEG
    patient_name: str  # the raw DICOM Person Name ("Patient^Test"); see name_words_of_dicom

    def as_dict(self) -> dict[str, Any]:
        """JSON-able: the spacing as strings, so its Decimal digits survive."""
        data = asdict(self)
        if self.pixel_spacing_mm is not None:
            data["pixel_spacing_mm"] = [str(value) for value in self.pixel_spacing_mm]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DecodedFilm:
        spacing = data.get("pixel_spacing_mm")
        fields = {name: data[name] for name in cls.__dataclass_fields__}
        fields["pixel_spacing_mm"] = (Decimal(spacing[0]), Decimal(spacing[1])) if spacing else None
        return cls(**fields)


def name_words_of_dicom(name: str) -> str:
    """A DICOM Person Name (PS3.5 6.2: family^given^middle^prefix^suffix, maybe with "=" ideographic
    groups) as words in reading order: "Patient^Test" → "Test Patient"."""
    alphabetic = name.split("=", 1)[0]
    family, given, middle, prefix, suffix = ([*alphabetic.split("^"), "", "", "", ""])[:5]
    return " ".join(part.strip() for part in (prefix, given, middle, family, suffix) if part.strip())


def sniff(head: bytes) -> str | None:
    """The type the content says, by its magic bytes: "dicom", "png", "jpeg", or None."""
    if head[DICOM_PREAMBLE_BYTES : DICOM_PREAMBLE_BYTES + 4] == DICOM_MAGIC:
        return "dicom"
    if head.startswith(PNG_MAGIC):
        return "png"
    if head.startswith(JPEG_MAGIC):
        return "jpeg"
    return None


def _looks_like_bare_dicom(head: bytes) -> bool:
    """A DICOM dataset written without the Part 10 preamble: a first tag of group 0002 or 0008
    followed by an explicit VR (two capital letters) or an implicit 4-byte length."""
    if head[:2] not in BARE_DICOM_GROUPS or len(head) < 8:
        return False
    return (head[4:6].isalpha() and head[4:6].isupper()) or head[6:8] == b"\x00\x00"


def _megabytes(size_bytes: int) -> str:
    return f"{size_bytes / 1_000_000:.1f}"


def check_file(source: Path, declared_name: str) -> str:
    """The file's type by its content, or FilmRefused: empty, too large, not an image, a DICOM
    without its preamble, or a name whose extension claims another type."""
    size_bytes = source.stat().st_size
    if size_bytes == 0:
        raise FilmRefused(_("The file is empty (0 bytes): choose the film again."), EMPTY)
    max_mb = settings.NASOVCF_FILM_MAX_MB
    if size_bytes > max_mb * 1_000_000:
        raise FilmRefused(
            _("The file is %(size)s MB; the largest film taken is %(limit)s MB.")
            % {"size": _megabytes(size_bytes), "limit": max_mb},
            TOO_LARGE,
        )
    with source.open("rb") as file:
        head = file.read(DICOM_PREAMBLE_BYTES + 4)
    found = sniff(head)
    if found is None:
        if _looks_like_bare_dicom(head):
            raise FilmRefused(
                _(
                    'This looks like a DICOM file without the DICOM file preamble ("DICM" at byte 128, '
                    "DICOM PS3.10). Export the film from the PACS as a DICOM file (Part 10)."
                ),
                NO_PREAMBLE,
            )
        raise FilmRefused(_("This is not a DICOM, PNG or JPEG file."), NOT_AN_IMAGE)
    claimed = EXTENSIONS.get(Path(declared_name).suffix.lower())
    if claimed is not None and claimed != found:
        raise FilmRefused(
            _(
                "The file's name ends in %(suffix)s, which says %(claimed)s, but its content is a %(found)s file. "
                "Check that this is the film you meant."
            )
            % {"suffix": Path(declared_name).suffix, "claimed": FORMAT_WORDS[claimed], "found": FORMAT_WORDS[found]},
            NAME_CONTRADICTS_CONTENT,
        )
    return found


def _copy_private(source: Path, target: Path) -> None:
    with source.open("rb") as reading, private_writer(target) as writing:
        shutil.copyfileobj(reading, writing, COPY_CHUNK_BYTES)


def _decode_command(source: Path, directory: Path, file_format: str) -> list[str]:
    """The child's command line (a seam the tests replace to stand in a decoder that hangs)."""
    return [
        sys.executable,
        "-m",
        "scoring.film_decode",
        str(source),
        str(directory),
        file_format,
        str(settings.NASOVCF_FILM_MAX_MEGAPIXELS),
    ]


def _child_environment() -> dict[str, str]:
    """One thread per numeric library: each thread pool reserves address space of its own, which
    would count against the child's limit before any film is read."""
    environment = dict(os.environ)
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
        environment[name] = "1"
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(settings.BASE_DIR), os.environ.get("PYTHONPATH")]))
    return environment


def _limit_memory(memory_mb: int):
    def limit() -> None:
        import resource

        limit_bytes = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))

    return limit


def _memory_refusal(memory_mb: int) -> FilmRefused:
    return FilmRefused(
        _("The film could not be decoded: it needs more memory than the %(memory)s MB allowed for decoding one film.")
        % {"memory": memory_mb},
        OUT_OF_MEMORY,
    )


def _undecodable(status: int) -> FilmRefused:
    return FilmRefused(
        _("The film could not be decoded: the decoder stopped unexpectedly (exit status %(status)s).")
        % {"status": status},
        UNDECODABLE,
    )


def _decode_refusal(answer: dict[str, Any], status: int) -> FilmRefused:
    """The child's refusal (a code, a reason and its values) in words, in the request's language."""
    message = DECODE_REFUSALS.get(answer.get("reason"))
    params = answer.get("params")
    if message is None or not isinstance(params, dict):
        return _undecodable(status)  # an answer this version of the child never gives
    try:
        return FilmRefused(_(message) % params, str(answer["code"]))
    except (KeyError, TypeError, ValueError):
        return _undecodable(status)


def _run_decoder(source: Path, directory: Path, file_format: str) -> dict[str, Any]:
    """Run the child and read its answer; every way it can fail becomes a FilmRefused."""
    seconds = settings.NASOVCF_FILM_DECODE_SECONDS
    memory_mb = settings.NASOVCF_FILM_DECODE_MEMORY_MB
    try:
        finished = subprocess.run(
            _decode_command(source, directory, file_format),
            capture_output=True,
            timeout=seconds,
            env=_child_environment(),
            cwd=settings.BASE_DIR,
            preexec_fn=_limit_memory(memory_mb),
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise FilmRefused(
            _(
                "Decoding the film took longer than %(seconds)s s, so it was stopped. "
                "Export it uncompressed or at a smaller size and try again."
            )
            % {"seconds": seconds},
            TIMED_OUT,
        ) from error
    answer = _answer_of(finished.stdout)
    if answer is None:
        if finished.returncode < 0 or b"MemoryError" in finished.stderr:
            raise _memory_refusal(memory_mb)  # killed by a signal, or no memory left to answer
        raise _undecodable(finished.returncode)
    if not answer["ok"]:
        if answer["code"] == OUT_OF_MEMORY:
            raise _memory_refusal(memory_mb)
        raise _decode_refusal(answer, finished.returncode)
    return answer["film"]


def _answer_of(stdout: bytes) -> dict[str, Any] | None:
    """The child's JSON answer: its last line of output."""
    lines = stdout.strip().splitlines()
    if not lines:
        return None
    try:
        answer = json.loads(lines[-1])
    except ValueError:
        return None
    return answer if isinstance(answer, dict) and "ok" in answer else None


def _decoded_film(facts: dict[str, Any]) -> DecodedFilm:
    spacing = facts.get("pixel_spacing_mm")
    numbers = [float(facts[name]) for name in ("window_center", "window_width", "value_min", "value_max")]
    if not all(math.isfinite(number) for number in numbers):
        raise FilmRefused(_(DECODE_REFUSALS[film_decode.VALUES_OUT_OF_RANGE]), film_decode.NOT_NUMBERS)
    return DecodedFilm(
        file_format=facts["file_format"],
        width=int(facts["width"]),
        height=int(facts["height"]),
        pixel_spacing_mm=(Decimal(spacing[0]), Decimal(spacing[1])) if spacing else None,
        spacing_tag=facts["spacing_tag"],
        window_center=float(facts["window_center"]),
        window_width=float(facts["window_width"]),
        value_min=float(facts["value_min"]),
        value_max=float(facts["value_max"]),
        transfer_syntax=facts["transfer_syntax"],
        study_instance_uid=facts["study_instance_uid"],
        series_instance_uid=facts["series_instance_uid"],
        sop_instance_uid=facts["sop_instance_uid"],
        patient_id=facts["patient_id"],
        patient_name=facts["patient_name"],
    )


def ingest(source: Path, directory: Path, *, declared_name: str) -> DecodedFilm:
    """Check, copy, decode and store one uploaded film in `directory` (which must not exist yet).
    On any refusal or error nothing is left behind."""
    file_format = check_file(source, declared_name)
    directory.parent.mkdir(mode=PRIVATE_DIRECTORY_MODE, parents=True, exist_ok=True)
    directory.mkdir(mode=PRIVATE_DIRECTORY_MODE)
    try:
        _copy_private(source, directory / ORIGINAL)
        facts = _run_decoder(directory / ORIGINAL, directory, file_format)
        film = _decoded_film(facts)
        meta = film.as_dict() | {"preview_width": facts["preview_width"], "preview_height": facts["preview_height"]}
        with private_writer(directory / META) as out:
            out.write(json.dumps(meta).encode())
    except BaseException:
        remove(directory)
        raise
    return film


def read_meta(directory: Path) -> dict[str, Any]:
    return json.loads((directory / META).read_bytes())


def render_png(directory: Path, *, center: float, width: float) -> bytes:
    """The full-resolution film through a window, as an 8-bit grey PNG; quick to encode."""
    pixels = np.load(directory / PIXELS, mmap_mode="r", allow_pickle=False)
    image = Image.fromarray(windowed(pixels, center, width), mode="L")
    return _png_bytes(image, RENDER_COMPRESS_LEVEL)


def _png_bytes(image: Image.Image, compress_level: int) -> bytes:
    import io

    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=compress_level)
    return buffer.getvalue()


def thumbnail_png(directory: Path, *, outlines: list[tuple[tuple[int, int, int], dict]], max_side: int = 320) -> bytes:
    """A small colour PNG of the preview with each vertebra's outline (a spec §9 points dict in
    full-resolution pixels, with its RGB colour) drawn as the closed quadrilateral AS → AI → PI → PS.
    The outline is drawn after shrinking, so its lines stay a visible width."""
    meta = read_meta(directory)
    with Image.open(directory / PREVIEW) as preview:
        image = preview.convert("RGB")
    scale = min(1.0, max_side / max(image.width, image.height))
    if scale < 1:
        image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.BOX)
    to_thumbnail = image.width / meta["width"]
    draw = ImageDraw.Draw(image)
    for colour, points in outlines:
        for corners in _vertebrae(points):
            polygon = [(float(x) * to_thumbnail, float(y) * to_thumbnail) for x, y in corners]
            draw.line([*polygon, polygon[0]], fill=tuple(colour), width=2, joint="curve")
    return _png_bytes(image, 6)


def _vertebrae(points: dict) -> list[list[tuple[Any, Any]]]:
    """Each vertebra's four corners in outline order; a points dict may hold one vertebra's
    corners or all three vertebrae."""
    if "anterior_superior" in points:
        return [[points[corner] for corner in OUTLINE]]
    return [[vertebra[corner] for corner in OUTLINE] for vertebra in points.values()]


def remove(directory: Path) -> None:
    """Delete a film's directory and everything in it; a missing one is already gone."""
    shutil.rmtree(directory, ignore_errors=True)


__all__ = [
    "PRIVATE_FILE_MODE",
    "DecodedFilm",
    "FilmRefused",
    "ingest",
    "name_words_of_dicom",
    "remove",
    "render_png",
    "sniff",
    "thumbnail_png",
]
