"""Twelve corners on the lateral radiograph → the six heights, VHL, kyphosis angle and Genant grade
(spec §9).

Pure Python: no Django import. The page's live measuring and `POST /api/measure/` both call
`measure`, so there is one computation. Heights are computed in Decimal and rounded half-up to 0.01
first; VHL and Genant come from those rounded heights through `measurements` (so the heights stored
reproduce the VHL stored); the kyphosis angle comes from the unrounded points (spec §9, Rounding).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal, DivisionByZero, InvalidOperation, Overflow, localcontext

from .measurements import GenantResult, VertebralHeights, genant_from_heights, vhl_from_heights
from .wording import Text, gettext_noop, text

VERTEBRAE = ("cranial", "fractured", "caudal")
CORNERS = ("anterior_superior", "anterior_inferior", "posterior_superior", "posterior_inferior")
# The outline whose self-crossing betrays swapped corners (spec §9, Plausibility).
OUTLINE = ("anterior_superior", "anterior_inferior", "posterior_inferior", "posterior_superior")

# Not in spec §9: bounds that keep the arithmetic finite and cheap on any input (a JSON number may
# be 1e999999). No radiograph is a million pixels wide (DICOM Rows/Columns stop at 65,535), and no
# pixel is 100 mm.
MAX_COORDINATE_PX = Decimal(1_000_000)
MAX_PIXEL_SPACING_MM = Decimal(100)

HUNDREDTH = Decimal("0.01")
TENTH = Decimal("0.1")
# Exact enough that a product of two coordinates (each ≤ 10⁶, with the digits JSON gave) is exact.
_EXACT = Context(prec=60, traps=[InvalidOperation, DivisionByZero, Overflow])

Number = Decimal | int | float
Point = tuple[Decimal, Decimal]

# Error codes, one per rule.
INVALID_POINT = "invalid_point"
INVALID_SPACING = "invalid_spacing"
ZERO_HEIGHT = "zero_height"
OUTSIDE_IMAGE = "outside_image"
OUTLINE_CROSSES = "outline_crosses"


@dataclass(frozen=True)
class MeasurementProblem:
    path: str  # "points.fractured.posterior_inferior", "points.caudal", "pixel_spacing_mm"
    text: Text  # the message naming the corner, for the pages to say in the reader's language
    code: str

    @property
    def message(self) -> str:
        """The message in English."""
        return str(self.text)


class ImplausibleMeasurement(ValueError):
    """Every problem found, raised together so the reader sees them all at once."""

    def __init__(self, problems: Sequence[MeasurementProblem]):
        self.problems = tuple(problems)
        super().__init__("; ".join(f"{p.path}: {p.message}" for p in self.problems))


@dataclass(frozen=True)
class Measurement:
    heights: VertebralHeights  # rounded half-up to 0.01, in `unit`
    unit: str  # "mm" with a pixel spacing, "px" without
    vhl_percent: Decimal
    kyphosis_angle_deg: Decimal
    genant: GenantResult


# The vertebrae and corners in words (msgids): "The %(vertebra)s's %(corner)s …" reads "The cranial
# vertebra's anterior superior corner …" in English.
VERTEBRA_WORDS = {
    "cranial": gettext_noop("cranial vertebra"),
    "fractured": gettext_noop("fractured vertebra"),
    "caudal": gettext_noop("caudal vertebra"),
}
CORNER_WORDS = {
    "anterior_superior": gettext_noop("anterior superior corner"),
    "anterior_inferior": gettext_noop("anterior inferior corner"),
    "posterior_superior": gettext_noop("posterior superior corner"),
    "posterior_inferior": gettext_noop("posterior inferior corner"),
}
# A zero height, by the side of the vertebra whose two corners coincide.
ZERO_HEIGHT_MESSAGES = {
    "anterior": gettext_noop(
        "The %(vertebra)s's anterior superior and anterior inferior corners coincide: its anterior height is zero."
    ),
    "posterior": gettext_noop(
        "The %(vertebra)s's posterior superior and posterior inferior corners coincide: its posterior height is zero."
    ),
}


def _vertebra(vertebra: str) -> Text:
    return text(VERTEBRA_WORDS[vertebra])


def _corner(corner: str) -> Text:
    return text(CORNER_WORDS[corner])


def _decimal(value: Number) -> Decimal | None:
    """The number as a Decimal (a float as it is written, 0.1 → 0.1), None when not finite."""
    if isinstance(value, bool) or not isinstance(value, (Decimal, int, float)):
        return None
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    return number if number.is_finite() else None


def _read_points(
    points: Mapping[str, Mapping[str, Sequence[Number]]], problems: list[MeasurementProblem]
) -> dict[str, dict[str, Point]]:
    read: dict[str, dict[str, Point]] = {}
    for vertebra in VERTEBRAE:
        read[vertebra] = {}
        for corner in CORNERS:
            path = f"points.{vertebra}.{corner}"
            raw = points.get(vertebra, {}).get(corner)
            pair = [_decimal(v) for v in raw] if raw is not None and len(raw) == 2 else []
            x, y = pair if len(pair) == 2 else (None, None)
            if x is None or y is None:
                message = text(
                    gettext_noop("The %(vertebra)s's %(corner)s must be a pair [x, y] of finite numbers."),
                    vertebra=_vertebra(vertebra),
                    corner=_corner(corner),
                )
                problems.append(MeasurementProblem(path, message, INVALID_POINT))
            elif not (0 <= x <= MAX_COORDINATE_PX and 0 <= y <= MAX_COORDINATE_PX):
                message = text(
                    gettext_noop("The %(vertebra)s's %(corner)s must have x and y from 0 to %(max)s pixels."),
                    vertebra=_vertebra(vertebra),
                    corner=_corner(corner),
                    max=f"{MAX_COORDINATE_PX:,}",
                )
                problems.append(MeasurementProblem(path, message, INVALID_POINT))
            else:
                read[vertebra][corner] = (x, y)
    return read


def _read_spacing(
    pixel_spacing_mm: Sequence[Number] | None, problems: list[MeasurementProblem]
) -> tuple[Decimal, Decimal] | None:
    if pixel_spacing_mm is None:
        return None
    pair = [_decimal(v) for v in pixel_spacing_mm] if len(pixel_spacing_mm) == 2 else []
    if len(pair) == 2 and all(s is not None and 0 < s <= MAX_PIXEL_SPACING_MM for s in pair):
        row, column = pair
        assert row is not None and column is not None
        return row, column
    message = text(
        gettext_noop("The pixel spacing must be two positive numbers of millimetres (row, column), at most %(max)s."),
        max=str(MAX_PIXEL_SPACING_MM),
    )
    problems.append(MeasurementProblem("pixel_spacing_mm", message, INVALID_SPACING))
    return None


def _in_mm(p: Point, q: Point, spacing: tuple[Decimal, Decimal]) -> tuple[Decimal, Decimal]:
    """The vector p → q in mm (or px): (Δx·Δc, Δy·Δr), the spacing given as (row Δr, column Δc)."""
    row, column = spacing
    return (q[0] - p[0]) * column, (q[1] - p[1]) * row


def _distance(p: Point, q: Point, spacing: tuple[Decimal, Decimal]) -> Decimal:
    """√((Δx·Δc)² + (Δy·Δr)²), computed exactly enough that half-up rounding to 0.01 is faithful."""
    dx, dy = _in_mm(p, q, spacing)
    with localcontext(_EXACT):
        return (dx * dx + dy * dy).sqrt()


def _height(p: Point, q: Point, spacing: tuple[Decimal, Decimal]) -> Decimal:
    return _distance(p, q, spacing).quantize(HUNDREDTH, rounding=ROUND_HALF_UP)


def _orientation(a: Point, b: Point, c: Point) -> int:
    with localcontext(_EXACT):
        cross = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
    return (cross > 0) - (cross < 0)


def _on_segment(a: Point, b: Point, p: Point) -> bool:
    return min(a[0], b[0]) <= p[0] <= max(a[0], b[0]) and min(a[1], b[1]) <= p[1] <= max(a[1], b[1])


def _segments_meet(a: Point, b: Point, c: Point, d: Point) -> bool:
    """Whether segment ab meets segment cd, touching included (exact: orientation signs in Decimal)."""
    o1, o2, o3, o4 = _orientation(a, b, c), _orientation(a, b, d), _orientation(c, d, a), _orientation(c, d, b)
    if o1 != o2 and o3 != o4 and 0 not in (o1, o2, o3, o4):
        return True
    return (
        (o1 == 0 and _on_segment(a, b, c))
        or (o2 == 0 and _on_segment(a, b, d))
        or (o3 == 0 and _on_segment(c, d, a))
        or (o4 == 0 and _on_segment(c, d, b))
    )


def _check_vertebra(
    vertebra: str, corners: dict[str, Point], spacing: tuple[Decimal, Decimal]
) -> list[MeasurementProblem]:
    problems = []
    for side in ("anterior", "posterior"):
        superior, inferior = f"{side}_superior", f"{side}_inferior"
        if _height(corners[superior], corners[inferior], spacing).is_zero():
            message = text(ZERO_HEIGHT_MESSAGES[side], vertebra=_vertebra(vertebra))
            problems.append(MeasurementProblem(f"points.{vertebra}.{inferior}", message, ZERO_HEIGHT))
    if not problems:
        a, b, c, d = (corners[name] for name in OUTLINE)  # AS, AI, PI, PS
        if _segments_meet(a, b, c, d) or _segments_meet(b, c, d, a):
            message = text(
                gettext_noop(
                    "The %(vertebra)s's outline (anterior superior → anterior inferior → posterior inferior "
                    "→ posterior superior) crosses itself: are two of its corners swapped?"
                ),
                vertebra=_vertebra(vertebra),
            )
            problems.append(MeasurementProblem(f"points.{vertebra}", message, OUTLINE_CROSSES))
    return problems


def _check_inside(points: dict[str, dict[str, Point]], image_size: tuple[Number, Number]) -> list[MeasurementProblem]:
    width, height = (Decimal(repr(v)) if isinstance(v, float) else Decimal(v) for v in image_size)
    problems = []
    for vertebra in VERTEBRAE:
        for corner, (x, y) in points[vertebra].items():
            if not (0 <= x <= width and 0 <= y <= height):
                message = text(
                    gettext_noop("The %(vertebra)s's %(corner)s is outside the image (%(width)s × %(height)s)."),
                    vertebra=_vertebra(vertebra),
                    corner=_corner(corner),
                    width=str(width),
                    height=str(height),
                )
                problems.append(MeasurementProblem(f"points.{vertebra}.{corner}", message, OUTSIDE_IMAGE))
    return problems


def _kyphosis_angle(points: dict[str, dict[str, Point]], spacing: tuple[Decimal, Decimal]) -> Decimal:
    """The angle between the cranial inferior endplate (PI → AI) and the caudal superior endplate
    (PS → AS), in mm space; positive (kyphotic) when the endplates converge anteriorly: the anterior
    corners closer than the posterior ones (spec §9). A tie between non-parallel endplates (only
    when they cross) counts as kyphotic."""
    cranial, caudal = points["cranial"], points["caudal"]
    ux, uy = (float(v) for v in _in_mm(cranial["posterior_inferior"], cranial["anterior_inferior"], spacing))
    vx, vy = (float(v) for v in _in_mm(caudal["posterior_superior"], caudal["anterior_superior"], spacing))
    degrees = math.degrees(math.atan2(abs(ux * vy - uy * vx), ux * vx + uy * vy))
    anterior = _distance(cranial["anterior_inferior"], caudal["anterior_superior"], spacing)
    posterior = _distance(cranial["posterior_inferior"], caudal["posterior_superior"], spacing)
    signed = -degrees if anterior > posterior else degrees
    # To 1e-9 first, so floating noise (44.99999999999999) cannot decide the half-up rounding.
    angle = Decimal(repr(signed)).quantize(Decimal("1e-9"), rounding=ROUND_HALF_UP)
    return angle.quantize(TENTH, rounding=ROUND_HALF_UP) + 0  # never −0.0


def measure(
    points: Mapping[str, Mapping[str, Sequence[Number]]],
    pixel_spacing_mm: Sequence[Number] | None = None,
    image_size: tuple[Number, Number] | None = None,
) -> Measurement:
    """The six heights, VHL, kyphosis angle and Genant grade from the twelve corners (spec §9).

    `points[vertebra][corner]` is `[x, y]` in the image's pixels (x right, y down, origin top-left);
    `pixel_spacing_mm` is (row spacing, column spacing) as DICOM writes it, None for pixels;
    `image_size` is (width, height) in pixels, None when unknown. Raises ImplausibleMeasurement
    with every problem found.
    """
    problems: list[MeasurementProblem] = []
    read = _read_points(points, problems)
    spacing = _read_spacing(pixel_spacing_mm, problems)
    if problems:
        raise ImplausibleMeasurement(problems)
    scale = spacing or (Decimal(1), Decimal(1))
    for vertebra in VERTEBRAE:
        problems.extend(_check_vertebra(vertebra, read[vertebra], scale))
    if image_size is not None:
        problems.extend(_check_inside(read, image_size))
    if problems:
        raise ImplausibleMeasurement(problems)

    def height(vertebra: str, side: str) -> Decimal:
        return _height(read[vertebra][f"{side}_superior"], read[vertebra][f"{side}_inferior"], scale)

    heights = VertebralHeights(
        fractured_anterior=height("fractured", "anterior"),
        fractured_posterior=height("fractured", "posterior"),
        cranial_anterior=height("cranial", "anterior"),
        cranial_posterior=height("cranial", "posterior"),
        caudal_anterior=height("caudal", "anterior"),
        caudal_posterior=height("caudal", "posterior"),
    )
    return Measurement(
        heights=heights,
        unit="mm" if spacing is not None else "px",
        vhl_percent=vhl_from_heights(heights),
        kyphosis_angle_deg=_kyphosis_angle(read, scale),
        genant=genant_from_heights(heights),
    )
