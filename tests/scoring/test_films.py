"""The film files (scoring/films.py, scoring/film_decode.py): every accepted kind of film decodes to
the drawn picture, every refused file is refused in words and leaves nothing, the files are private,
and the renders window and outline correctly."""

import io
import json
import stat
import sys
from decimal import Decimal
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.encaps import encapsulate
from pydicom.uid import (
    MPEG2MPML,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGLSLossless,
    RLELossless,
)

from scoring import film_decode, films
from scoring.films import FilmRefused, ingest, name_words_of_dicom, render_png, sniff, thumbnail_png
from tests.films import (
    WORKED_EXAMPLE_CORNERS,
    dicom_film,
    drawing,
    jpeg_film,
    png_film,
)

# A point inside the drawn fractured vertebra, and one in the background.
BONE_XY = (240, 256)
BACKGROUND_XY = (20, 20)
SYNTAXES = [
    (ExplicitVRLittleEndian, "Explicit VR Little Endian"),
    (ImplicitVRLittleEndian, "Implicit VR Little Endian"),
    (JPEGBaseline8Bit, "JPEG Baseline (Process 1)"),
    (JPEGLSLossless, "JPEG-LS Lossless Image Compression"),
    (JPEG2000Lossless, "JPEG 2000 Image Compression (Lossless Only)"),
    (RLELossless, "RLE Lossless"),
]


@pytest.fixture
def place(tmp_path):
    """Write bytes to an upload file; the film's directory is `tmp_path / "films" / "1"`."""

    def write(content: bytes, name: str = "upload") -> Path:
        path = tmp_path / name
        path.write_bytes(content)
        return path

    write.film_directory = tmp_path / "films" / "1"
    return write


def pixels_of(directory: Path) -> np.ndarray:
    return np.load(directory / "pixels.npy")


def at(pixels: np.ndarray, xy: tuple[int, int]) -> float:
    return float(pixels[xy[1], xy[0]])


def refused(place, content: bytes, declared_name: str = "film.dcm") -> FilmRefused:
    """Ingest that must be refused, leaving no directory behind."""
    with pytest.raises(FilmRefused) as caught:
        ingest(place(content), place.film_directory, declared_name=declared_name)
    assert not place.film_directory.exists()
    return caught.value


def rewritten(content: bytes, change) -> bytes:
    """A DICOM film with `change(dataset)` applied."""
    dataset = pydicom.dcmread(io.BytesIO(content))
    change(dataset)
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def test_the_generator_draws_the_worked_example_corners_bright():
    pixels = drawing(WORKED_EXAMPLE_CORNERS, maximum=4095)
    assert pixels[BONE_XY[1], BONE_XY[0]] == 3481
    assert pixels[BACKGROUND_XY[1], BACKGROUND_XY[0]] == 614


@pytest.mark.parametrize(("syntax", "syntax_name"), SYNTAXES, ids=[name for _, name in SYNTAXES])
def test_each_transfer_syntax_decodes_to_the_drawn_film(place, syntax, syntax_name):
    content = dicom_film(transfer_syntax=syntax, study_uid="1.2.3.4", series_uid="1.2.3.4.5", sop_uid="1.2.3.4.5.6")
    film = ingest(place(content), place.film_directory, declared_name="lateral.dcm")

    assert (film.file_format, film.width, film.height) == ("dicom", 512, 512)
    assert film.transfer_syntax == syntax_name
    assert film.pixel_spacing_mm == (Decimal("0.25"), Decimal("0.25"))
    assert film.spacing_tag == "PixelSpacing"
    assert (film.study_instance_uid, film.series_instance_uid, film.sop_instance_uid) == (
        "1.2.3.4",
        "1.2.3.4.5",
        "1.2.3.4.5.6",
    )
    assert (film.patient_id, film.patient_name) == ("MRN001", "Patient^Test")
    pixels = pixels_of(place.film_directory)
    assert pixels.shape == (512, 512)
    assert pixels.dtype == np.float32
    bone, background = at(pixels, BONE_XY), at(pixels, BACKGROUND_XY)
    if syntax == JPEGBaseline8Bit:  # lossy, 8-bit
        assert bone == pytest.approx(217, abs=3)
        assert background == pytest.approx(38, abs=3)
    else:  # lossless: exactly the drawn 12-bit values
        assert (bone, background) == (3481, 614)
    ringing = 8 if syntax == JPEGBaseline8Bit else 0  # a lossy JPEG overshoots at the edges
    assert (film.value_min, film.value_max) == (
        pytest.approx(background, abs=ringing),
        pytest.approx(bone, abs=ringing),
    )


def test_imager_pixel_spacing_is_taken_when_pixel_spacing_is_absent(place):
    """Spec §9: ImagerPixelSpacing (0018,1164) for a projection radiograph without PixelSpacing."""
    content = dicom_film(spacing_tag="ImagerPixelSpacing", spacing_mm=(Decimal("0.139"), Decimal("0.14")))
    film = ingest(place(content), place.film_directory, declared_name="x.dcm")
    assert film.pixel_spacing_mm == (Decimal("0.139"), Decimal("0.14"))
    assert film.spacing_tag == "ImagerPixelSpacing"


def test_a_dicom_without_a_spacing_has_none(place):
    film = ingest(place(dicom_film(spacing_tag=None)), place.film_directory, declared_name="x.dcm")
    assert (film.pixel_spacing_mm, film.spacing_tag) == (None, "")


def test_the_dicom_window_is_its_own_first_window(place):
    film = ingest(place(dicom_film(window=(1500, 3000))), place.film_directory, declared_name="x.dcm")
    assert (film.window_center, film.window_width) == (1500, 3000)


def test_without_a_window_the_default_is_the_full_range(place):
    film = ingest(place(dicom_film()), place.film_directory, declared_name="x.dcm")
    assert (film.window_center, film.window_width) == ((614 + 3481) / 2, 3481 - 614)


def test_rescale_slope_and_intercept_are_applied(place):
    """DICOM PS3.3 C.11.1: modality value = stored × slope + intercept."""
    ingest(place(dicom_film(rescale=(2, -100))), place.film_directory, declared_name="x.dcm")
    pixels = pixels_of(place.film_directory)
    assert (at(pixels, BONE_XY), at(pixels, BACKGROUND_XY)) == (3481 * 2 - 100, 614 * 2 - 100)


def test_monochrome1_is_inverted_so_bone_is_bright_and_its_window_mirrors(place):
    """The generator stores MONOCHROME1 inverted (bone low); once read, bone is bright again, and
    the window's centre mirrors within the values' range: 614 + 3481 − 1000 = 3095."""
    content = dicom_film(photometric="MONOCHROME1", window=(1000, 2000))
    film = ingest(place(content), place.film_directory, declared_name="x.dcm")
    pixels = pixels_of(place.film_directory)
    assert (at(pixels, BONE_XY), at(pixels, BACKGROUND_XY)) == (3481, 614)
    assert (film.window_center, film.window_width) == (3095, 2000)


@pytest.mark.parametrize(("make", "name", "file_format"), [(png_film, "x.png", "png"), (jpeg_film, "x.jpg", "jpeg")])
def test_png_and_jpeg_decode_without_a_spacing_or_uids(place, make, name, file_format):
    film = ingest(place(make(size=(600, 512))), place.film_directory, declared_name=name)
    assert (film.file_format, film.width, film.height) == (file_format, 600, 512)
    assert (film.pixel_spacing_mm, film.spacing_tag, film.transfer_syntax, film.sop_instance_uid) == (None, "", "", "")
    assert (film.patient_id, film.patient_name) == ("", "")
    pixels = pixels_of(place.film_directory)
    assert at(pixels, BONE_XY) == pytest.approx(217, abs=3)
    assert at(pixels, BACKGROUND_XY) == pytest.approx(38, abs=3)


def test_a_colour_png_is_converted_to_grey(place):
    grey = Image.open(io.BytesIO(png_film()))
    buffer = io.BytesIO()
    grey.convert("RGB").save(buffer, format="PNG")
    ingest(place(buffer.getvalue()), place.film_directory, declared_name="colour.png")
    pixels = pixels_of(place.film_directory)
    assert pixels.shape == (512, 512)
    assert at(pixels, BONE_XY) == 217


def test_a_name_without_a_known_extension_is_judged_by_content(place):
    film = ingest(place(dicom_film()), place.film_directory, declared_name="IM000001")
    assert film.file_format == "dicom"


def test_the_files_are_private_from_their_creation(place):
    ingest(place(dicom_film()), place.film_directory, declared_name="x.dcm")
    assert stat.S_IMODE(place.film_directory.stat().st_mode) == 0o700
    names = sorted(path.name for path in place.film_directory.iterdir())
    assert names == ["meta.json", "original", "pixels.npy", "preview.png"]
    for path in place.film_directory.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name


def test_the_original_is_kept_byte_for_byte_and_meta_json_reads_back(place):
    content = dicom_film()
    film = ingest(place(content), place.film_directory, declared_name="x.dcm")
    assert (place.film_directory / "original").read_bytes() == content
    meta = films.read_meta(place.film_directory)
    assert films.DecodedFilm.from_dict(meta) == film
    assert meta["pixel_spacing_mm"] == ["0.25", "0.25"]


def test_the_preview_is_at_most_1024_px_on_its_long_side(place):
    ingest(place(dicom_film(rows=1500, columns=2100)), place.film_directory, declared_name="x.dcm")
    with Image.open(place.film_directory / "preview.png") as preview:
        assert (preview.width, preview.height, preview.mode) == (1024, 731, "L")


# Refusals: each in words, each leaving nothing.


def test_a_file_over_the_size_limit_is_refused(place, settings):
    settings.NASOVCF_FILM_MAX_MB = 1
    error = refused(place, dicom_film(rows=1024, columns=1024))
    assert error.message == "The file is 2.1 MB; the largest film taken is 1 MB."
    assert error.code == "too_large"


def test_an_empty_file_is_refused(place):
    error = refused(place, b"")
    assert error.message == "The file is empty (0 bytes): choose the film again."


@pytest.mark.parametrize(
    ("content", "name", "words"),
    [
        (png_film(), "x.dcm", "ends in .dcm, which says DICOM, but its content is a PNG file"),
        (jpeg_film(), "film.png", "ends in .png, which says PNG, but its content is a JPEG file"),
        (dicom_film(), "film.JPG", "ends in .JPG, which says JPEG, but its content is a DICOM file"),
    ],
)
def test_a_name_whose_extension_claims_another_type_is_refused(place, content, name, words):
    error = refused(place, content, name)
    assert words in error.message
    assert error.code == "name_contradicts_content"


def test_a_file_that_is_not_an_image_is_refused(place):
    error = refused(place, b"%PDF-1.7\n" + b"x" * 500, "film.pdf")
    assert error.message == "This is not a DICOM, PNG or JPEG file."


def test_a_dicom_without_its_preamble_is_refused_saying_so(place):
    error = refused(place, dicom_film(preamble=False), "film.dcm")
    assert "without the DICOM file preamble" in error.message
    assert error.code == "no_dicom_preamble"


def test_a_truncated_dicom_is_refused(place):
    content = dicom_film()
    error = refused(place, content[: len(content) // 2])
    assert error.message.startswith("The film could not be decoded")
    assert error.code == "undecodable"


def test_a_dicom_claiming_60000_by_60000_pixels_is_refused_before_decoding(place):
    def claim(dataset):
        dataset.Rows = dataset.Columns = 60000

    error = refused(place, rewritten(dicom_film(), claim))
    assert (
        error.message == "The film is 60000 x 60000 pixels (3,600 megapixels); the largest film taken is 60 megapixels."
    )


def test_a_png_over_the_megapixel_limit_is_refused(place, settings):
    settings.NASOVCF_FILM_MAX_MEGAPIXELS = 1
    error = refused(place, png_film(size=(1200, 1000)), "x.png")
    assert error.message == "The film is 1200 x 1000 pixels (1.2 megapixels); the largest film taken is 1 megapixels."
    error = refused(place, png_film(size=(2000, 1500)), "x.png")  # Pillow's own bomb check
    assert error.message == "The film is larger than the 1 megapixels taken."


def test_a_decoder_error_is_refused_in_words(place):
    def corrupt(dataset):
        dataset.PixelData = encapsulate([b"\xff\x4f\xff\x51" + b"\x07" * 200])

    error = refused(place, rewritten(dicom_film(transfer_syntax=JPEG2000Lossless), corrupt))
    assert error.message.startswith("The film could not be decoded: ")
    assert error.code == "undecodable"


def test_a_transfer_syntax_without_a_decoder_is_refused_naming_it(place):
    def as_mpeg2(dataset):
        dataset.file_meta.TransferSyntaxUID = MPEG2MPML
        dataset.PixelData = encapsulate([b"\x00\x00\x01\xb3" + b"\x00" * 64])
        dataset["PixelData"].VR = "OB"

    error = refused(place, rewritten(dicom_film(), as_mpeg2))
    assert error.message.startswith("This DICOM's transfer syntax (MPEG2 Main Profile / Main Level) is not supported: ")


def test_a_multi_frame_dicom_is_refused(place):
    error = refused(place, dicom_film(frames=2))
    assert error.message.startswith("This DICOM holds 2 frames; a lateral film is a single image.")


def test_a_colour_dicom_is_refused(place):
    def as_rgb(dataset):
        dataset.SamplesPerPixel = 3
        dataset.PhotometricInterpretation = "RGB"
        dataset.PlanarConfiguration = 0
        dataset.BitsAllocated, dataset.BitsStored, dataset.HighBit = 8, 8, 7
        dataset.PixelData = bytes(512 * 512 * 3)

    error = refused(place, rewritten(dicom_film(), as_rgb))
    assert error.message.startswith("This DICOM is a colour image (RGB)")


def test_a_decoder_that_takes_too_long_is_stopped_and_refused(place, settings, monkeypatch):
    """The seam `_decode_command` stands in a decoder that never finishes; the limit stops it."""
    settings.NASOVCF_FILM_DECODE_SECONDS = 1
    monkeypatch.setattr(films, "_decode_command", lambda *_: [sys.executable, "-c", "import time; time.sleep(600)"])
    error = refused(place, dicom_film())
    assert error.message.startswith("Decoding the film took longer than 1 s, so it was stopped.")
    assert error.code == "timed_out"


def test_a_decoder_that_dies_without_an_answer_is_refused(place, monkeypatch):
    monkeypatch.setattr(films, "_decode_command", lambda *_: [sys.executable, "-c", "raise SystemExit(3)"])
    error = refused(place, dicom_film())
    assert error.message == "The film could not be decoded: the decoder stopped unexpectedly (exit status 3)."


def test_a_film_needing_more_memory_than_the_limit_is_refused(place, settings):
    """4000 x 4000 16-bit: 32 MB read, 32 MB decoded, 64 MB as float32, beyond 220 MB of address
    space with the child's own (some 150 MB for Python, numpy, pydicom and Pillow)."""
    settings.NASOVCF_FILM_DECODE_MEMORY_MB = 220
    error = refused(place, dicom_film(rows=4000, columns=4000))
    assert error.message == (
        "The film could not be decoded: it needs more memory than the 220 MB allowed for decoding one film."
    )
    assert error.code == "out_of_memory"


def test_the_decoding_child_answers_a_refusal_in_codes_and_values_never_in_words(place, capsys):
    """The child knows no language: it sends the code, which sentence, and the sentence's values;
    the parent (scoring.films) says it in the language of the request."""
    source = place(dicom_film(frames=2))
    place.film_directory.mkdir(parents=True)
    film_decode.main([str(source), str(place.film_directory), "dicom", "60"])
    answer = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert answer == {"ok": False, "code": "multi_frame", "reason": "multi_frame", "params": {"frames": 2}}
    assert answer["reason"] in films.DECODE_REFUSALS


def test_every_reason_the_child_can_give_has_its_sentence():
    assert set(films.DECODE_REFUSALS) == set(film_decode.REASONS)


def test_a_refusal_is_said_through_gettext_in_the_parent(place, monkeypatch):
    monkeypatch.setattr(films, "_", lambda message: f"«{message}»")
    error = refused(place, dicom_film(frames=2))
    assert error.message == (
        "«This DICOM holds %(frames)s frames; a lateral film is a single image. Export the one lateral view.»"
    ).replace("%(frames)s", "2")
    assert error.code == "multi_frame"
    error = refused(place, b"")
    assert error.message == "«The file is empty (0 bytes): choose the film again.»"


# Sniffing and names.


def test_sniff_reads_the_magic_bytes():
    assert sniff(dicom_film()[:132]) == "dicom"
    assert sniff(png_film()[:132]) == "png"
    assert sniff(jpeg_film()[:132]) == "jpeg"
    assert sniff(b"GIF89a" + bytes(200)) is None
    assert sniff(dicom_film(preamble=False)[:132]) is None


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("Patient^Test", "Test Patient"),
        ("Doe^Jane^Q^Dr^III", "Dr Jane Q Doe III"),
        ("Yamada^Tarou=山田^太郎", "Tarou Yamada"),
        ("Single", "Single"),
        ("", ""),
    ],
)
def test_name_words_of_dicom_reads_a_person_name_in_reading_order(name, words):
    assert name_words_of_dicom(name) == words


# Rendering.


def test_render_png_windows_the_full_resolution_film(place):
    ingest(place(dicom_film(rows=512, columns=600)), place.film_directory, declared_name="x.dcm")
    rendered = Image.open(io.BytesIO(render_png(place.film_directory, center=3481, width=1000)))
    assert (rendered.format, rendered.mode, rendered.size) == ("PNG", "L", (600, 512))
    assert rendered.getpixel(BONE_XY) in (127, 128)  # the window's centre is mid-grey
    assert rendered.getpixel(BACKGROUND_XY) == 0  # below the window: black
    rendered = Image.open(io.BytesIO(render_png(place.film_directory, center=0, width=1000)))
    assert rendered.getpixel(BACKGROUND_XY) == 255  # above the window: white


def test_thumbnail_draws_each_outline_in_its_colour(place):
    ingest(place(dicom_film(rows=1024, columns=1024)), place.film_directory, declared_name="x.dcm")
    red, green = (255, 0, 0), (0, 200, 0)
    square = {
        "anterior_superior": (100, 100),
        "anterior_inferior": (100, 900),
        "posterior_inferior": (900, 900),
        "posterior_superior": (900, 100),
    }
    three = {
        name: {corner: (x + shift, y + shift) for corner, (x, y) in square.items()}
        for name, shift in (("cranial", 40), ("fractured", 80))
    }
    thumbnail = Image.open(io.BytesIO(thumbnail_png(place.film_directory, outlines=[(red, square), (green, three)])))
    assert thumbnail.size == (320, 320)
    # 100 full-resolution px = 31.25 thumbnail px; the red left edge runs down x = 31.
    assert thumbnail.getpixel((31, 160))[:3] == red
    assert thumbnail.getpixel((44, 160))[:3] == green  # the shifted square: 140 / 3.2 = 43.75
    assert thumbnail.getpixel((5, 5))[:3] != red  # away from the outlines, the film
