"""Synthetic lateral films for the radiograph tests: three vertebrae drawn as bright filled
quadrilaterals on a darker background, with corners known exactly.

The default corners are spec §9's worked example scaled by 2 and shifted to sit in the middle of a
512 x 512 film; with a spacing of 0.25 mm both ways its millimetres are unchanged (a = 10, b = 15,
c = d = e = f = 15 mm, VHL 16.7 %, KA 0.0°, Genant grade 2), so a test that clicks the drawn
corners knows the answer.
"""

import io
from decimal import Decimal

import numpy as np
from PIL import Image, ImageDraw
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import (
    UID,
    ExplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGLSLossless,
    RLELossless,
    generate_uid,
)

CORNERS = ("anterior_superior", "anterior_inferior", "posterior_superior", "posterior_inferior")
VERTEBRAE = ("cranial", "fractured", "caudal")

# Spec §9's worked example (corners in pixels at 0.5 mm spacing).
_SPEC_WORKED_EXAMPLE = {
    "cranial": {
        "anterior_superior": (100, 100),
        "anterior_inferior": (100, 130),
        "posterior_superior": (140, 100),
        "posterior_inferior": (140, 130),
    },
    "fractured": {
        "anterior_superior": (100, 140),
        "anterior_inferior": (100, 160),
        "posterior_superior": (140, 138),
        "posterior_inferior": (140, 168),
    },
    "caudal": {
        "anterior_superior": (100, 170),
        "anterior_inferior": (100, 200),
        "posterior_superior": (140, 170),
        "posterior_inferior": (140, 200),
    },
}
_SCALE = 2
_SHIFT_XY = (16, -44)  # centres the scaled drawing (x 200-280, y 200-400) on (256, 256)

WORKED_EXAMPLE_CORNERS: dict[str, dict[str, tuple[int, int]]] = {
    vertebra: {corner: (x * _SCALE + _SHIFT_XY[0], y * _SCALE + _SHIFT_XY[1]) for corner, (x, y) in corners.items()}
    for vertebra, corners in _SPEC_WORKED_EXAMPLE.items()
}
WORKED_EXAMPLE_SPACING_MM = (Decimal("0.25"), Decimal("0.25"))
# What spec §9 gives for the default film at WORKED_EXAMPLE_SPACING_MM.
WORKED_EXAMPLE_RESULT = {
    "heights_mm": {
        "fractured_anterior": Decimal("10.00"),
        "fractured_posterior": Decimal("15.00"),
        "cranial_anterior": Decimal("15.00"),
        "cranial_posterior": Decimal("15.00"),
        "caudal_anterior": Decimal("15.00"),
        "caudal_posterior": Decimal("15.00"),
    },
    "vhl_percent": Decimal("16.7"),
    "kyphosis_angle_deg": Decimal("0.0"),
    "genant_grade": 2,
}

# Grey levels as a fraction of the full range: bone bright, soft tissue dark.
BACKGROUND_LEVEL = 0.15
BONE_LEVEL = 0.85
DICOM_BACKGROUND_16 = round(BACKGROUND_LEVEL * 4095)  # 12 bits stored, as a detector gives
DICOM_BONE_16 = round(BONE_LEVEL * 4095)

DIGITAL_XRAY_FOR_PRESENTATION = UID("1.2.840.10008.5.1.4.1.1.1.1")


def outline(corners: dict[str, tuple[int, int]]) -> list[tuple[int, int]]:
    """A vertebra's outline in spec §9's order: AS → AI → PI → PS."""
    return [
        corners["anterior_superior"],
        corners["anterior_inferior"],
        corners["posterior_inferior"],
        corners["posterior_superior"],
    ]


def drawing(corners=WORKED_EXAMPLE_CORNERS, *, rows: int = 512, columns: int = 512, maximum: int = 255) -> np.ndarray:
    """The film's pixels (uint16): background at BACKGROUND_LEVEL, vertebrae at BONE_LEVEL of `maximum`."""
    image = Image.new("L", (columns, rows), 0)
    draw = ImageDraw.Draw(image)
    for vertebra in corners.values():
        draw.polygon(outline(vertebra), fill=255, outline=255)
    mask = np.asarray(image) > 0
    pixels = np.full((rows, columns), round(BACKGROUND_LEVEL * maximum), dtype=np.uint16)
    pixels[mask] = round(BONE_LEVEL * maximum)
    return pixels


def _encoded(image: Image.Image, format_name: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format_name, **options)
    return buffer.getvalue()


def png_film(*, corners=WORKED_EXAMPLE_CORNERS, size: tuple[int, int] = (512, 512)) -> bytes:
    """An 8-bit grey PNG of the film; `size` is (width, height)."""
    width, height = size
    pixels = drawing(corners, rows=height, columns=width).astype(np.uint8)
    return _encoded(Image.fromarray(pixels, mode="L"), "PNG")


def jpeg_film(*, corners=WORKED_EXAMPLE_CORNERS, size: tuple[int, int] = (512, 512)) -> bytes:
    """An 8-bit grey baseline JPEG of the film; `size` is (width, height)."""
    width, height = size
    pixels = drawing(corners, rows=height, columns=width).astype(np.uint8)
    return _encoded(Image.fromarray(pixels, mode="L"), "JPEG", quality=95)


def dicom_film(
    *,
    corners=WORKED_EXAMPLE_CORNERS,
    rows: int = 512,
    columns: int = 512,
    spacing_mm=WORKED_EXAMPLE_SPACING_MM,
    spacing_tag: str | None = "PixelSpacing",
    bits: int = 16,
    transfer_syntax: str = ExplicitVRLittleEndian,
    patient_id: str = "MRN001",
    patient_name: str = "Patient^Test",
    study_uid: str | None = None,
    series_uid: str | None = None,
    sop_uid: str | None = None,
    photometric: str = "MONOCHROME2",
    window: tuple[float, float] | None = None,
    rescale: tuple[float, float] | None = None,
    frames: int = 1,
    preamble: bool = True,
) -> bytes:
    """A DICOM Part 10 file of a lateral projection radiograph (DX, ViewPosition LL, Digital X-Ray
    Image Storage - For Presentation). `bits` 16 stores 12-bit values in 16-bit words; 8 stores
    bytes (JPEG Baseline is always 8). MONOCHROME1 stores the drawing inverted, so that once the
    reader inverts it the vertebrae are bright again. `rescale` is (slope, intercept);
    `window` is (center, width). `preamble=False` drops the 128-byte preamble and "DICM"
    (as some old systems write files)."""
    transfer_syntax = UID(transfer_syntax)
    if transfer_syntax == JPEGBaseline8Bit:
        bits = 8
    maximum = 4095 if bits == 16 else 255
    pixels = drawing(corners, rows=rows, columns=columns, maximum=maximum)
    if photometric == "MONOCHROME1":
        pixels = (maximum - pixels).astype(np.uint16)
    pixels = pixels.astype(np.uint16 if bits == 16 else np.uint8)

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = DIGITAL_XRAY_FOR_PRESENTATION
    meta.MediaStorageSOPInstanceUID = sop_uid or generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dataset = FileDataset(None, {}, file_meta=meta, preamble=b"\0" * 128)
    dataset.SOPClassUID = DIGITAL_XRAY_FOR_PRESENTATION
    dataset.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    dataset.StudyInstanceUID = study_uid or generate_uid()
    dataset.SeriesInstanceUID = series_uid or generate_uid()
    dataset.PatientID = patient_id
    dataset.PatientName = patient_name
    dataset.Modality = "DX"
    dataset.ViewPosition = "LL"
    dataset.PresentationIntentType = "FOR PRESENTATION"
    dataset.StudyDate = "20250310"
    dataset.Rows = rows
    dataset.Columns = columns
    dataset.SamplesPerPixel = 1
    dataset.PhotometricInterpretation = photometric
    dataset.BitsAllocated = bits
    dataset.BitsStored = 12 if bits == 16 else 8
    dataset.HighBit = dataset.BitsStored - 1
    dataset.PixelRepresentation = 0
    if spacing_tag and spacing_mm is not None:
        setattr(dataset, spacing_tag, [str(value) for value in spacing_mm])
    if window is not None:
        dataset.WindowCenter, dataset.WindowWidth = window
    if rescale is not None:
        dataset.RescaleSlope, dataset.RescaleIntercept = rescale
    if frames > 1:
        dataset.NumberOfFrames = frames
        pixels = np.stack([pixels] * frames)

    _set_pixels(dataset, pixels, transfer_syntax)
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue() if preamble else buffer.getvalue()[132:]


def _set_pixels(dataset: FileDataset, pixels: np.ndarray, transfer_syntax: UID) -> None:
    """Store the pixels under the transfer syntax: raw, or compressed by pydicom's encoders (RLE,
    JPEG-LS via pyjpegls, JPEG 2000 via pylibjpeg-openjpeg), or a Pillow JPEG encapsulated."""
    if transfer_syntax == JPEGBaseline8Bit:
        frames = pixels if pixels.ndim == 3 else pixels[np.newaxis]
        fragments = [_encoded(Image.fromarray(frame, mode="L"), "JPEG", quality=95) for frame in frames]
        dataset.PixelData = encapsulate(fragments)
        dataset["PixelData"].VR = "OB"
        dataset.file_meta.TransferSyntaxUID = transfer_syntax
        dataset.LossyImageCompression = "01"
        return
    dataset.PixelData = pixels.tobytes()
    dataset["PixelData"].VR = "OW" if pixels.dtype == np.uint16 else "OB"
    if transfer_syntax in (JPEGLSLossless, JPEG2000Lossless, RLELossless):
        dataset.compress(transfer_syntax, pixels, generate_instance_uid=False)
    else:
        dataset.file_meta.TransferSyntaxUID = transfer_syntax


__all__ = [
    "CORNERS",
    "VERTEBRAE",
    "WORKED_EXAMPLE_CORNERS",
    "WORKED_EXAMPLE_RESULT",
    "WORKED_EXAMPLE_SPACING_MM",
    "dicom_film",
    "drawing",
    "jpeg_film",
    "outline",
    "png_film",
]
