"""Server-drawn line charts of a fracture's course (VAS, ODI, KA, VHL over time) as SVG geometry.

Pure Python: this module computes coordinates and labels; the template only draws them, so the
charts need no script and no chart library from the internet. The labels it writes itself (the x
axis's ticks, each point's "label: value") are English message ids, put into the page's language by
the `translate` callable `build` is given (gettext; the identity, English, by default).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .followup import OFFSET_DAYS
from .wording import Text, gettext_noop, text

WIDTH, HEIGHT = 360, 200
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 14, 34
# The scheduled visits on the x axis (days from the treatment start), from the one schedule.
TICK_DAYS: tuple[tuple[int, Text], ...] = tuple(
    (days, text(gettext_noop("%(months)s mo"), months=kind.removesuffix("m"))) for kind, days in OFFSET_DAYS.items()
)
LAST_VISIT_DAY = max(OFFSET_DAYS.values())
# Day 0 is the start of treatment: "Pre" when the assessment was that day, else "Start".
PRETREATMENT_TICK = gettext_noop("Pre")
START_TICK = gettext_noop("Start")
MARKER_TEXT = gettext_noop("%(label)s: %(value)s%(unit)s")  # a point's text: "1 month (2025-04-10): 5.5 %"


def _identity(message: str) -> str:
    return message


@dataclass(frozen=True)
class Point:
    day: int
    value: float
    label: str


@dataclass(frozen=True)
class Reference:
    """The derivation cohort's median (and IQR) for the patient's group at two times."""

    label: str
    points: tuple[tuple[int, float, float, float], ...]  # (day, median, q1, q3)


@dataclass
class Chart:
    title: str
    unit: str
    points: list[Point]
    y_min: float
    y_max: float
    reference: Reference | None = None
    x_min: int = 0
    x_max: int = LAST_VISIT_DAY
    svg: dict[str, Any] = field(default_factory=dict)


def _nice_range(values: list[float], floor: float | None, ceiling: float | None) -> tuple[float, float]:
    low, high = min(values), max(values)
    if floor is not None:
        low = min(low, floor)
    if ceiling is not None:
        high = max(high, ceiling)
    if high - low < 1:
        high = low + 1
    pad = (high - low) * 0.1
    return (low if floor is not None and low == floor else low - pad), high + pad


def build(
    title: str,
    unit: str,
    points: list[Point],
    *,
    floor: float | None = None,
    ceiling: float | None = None,
    reference: Reference | None = None,
    translate: Callable[[str], str] = _identity,
) -> Chart | None:
    """Lay out one chart; None when there is nothing to draw. The chart's own labels go through
    `translate` (pass gettext for the page's language); the title, the points' and the
    reference's labels are written as given."""
    if not points:
        return None
    values = [p.value for p in points]
    if reference:
        values += [v for _, median, q1, q3 in reference.points for v in (median, q1, q3)]
    y_min, y_max = _nice_range(values, floor, ceiling)
    x_min = min(0, *(p.day for p in points))
    x_max = max(LAST_VISIT_DAY, *(p.day for p in points))
    chart = Chart(title, unit, sorted(points, key=lambda p: p.day), y_min, y_max, reference, x_min, x_max)
    chart.svg = _geometry(chart, translate)
    return chart


def _geometry(chart: Chart, translate: Callable[[str], str] = _identity) -> dict[str, Any]:
    """The drawing's coordinates, as text: SVG wants them plain (a dot, no thousands
    separator), and the template then prints them as they are, without localising each one."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(day: float) -> str:
        return f"{LEFT + plot_w * (day - chart.x_min) / (chart.x_max - chart.x_min):.1f}"

    def y(value: float) -> str:
        return f"{TOP + plot_h * (1 - (value - chart.y_min) / (chart.y_max - chart.y_min)):.1f}"

    step = _tick_step(chart.y_max - chart.y_min)
    first = step * -(-chart.y_min // step)
    y_ticks = []
    value = first
    while value <= chart.y_max:
        y_ticks.append({"y": y(value), "label": _fmt(value)})
        value += step
    reference = None
    if chart.reference:
        ref_points = chart.reference.points
        reference = {
            "label": chart.reference.label,
            "line": " ".join(f"{x(day)},{y(median)}" for day, median, _, _ in ref_points),
            "bars": [
                {
                    "x": x(day),
                    "y1": y(q3),
                    "y2": y(q1),
                    "median_y": y(median),
                    "text": f"{_published(median)} ({_published(q1)}–{_published(q3)})",
                }
                for day, median, q1, q3 in ref_points
            ],
        }
    return {
        "width": str(WIDTH),
        "height": str(HEIGHT),
        "plot_left": str(LEFT),
        "label_x": str(LEFT - 6),
        "plot_right": str(WIDTH - RIGHT),
        "plot_top": str(TOP),
        "plot_bottom": str(HEIGHT - BOTTOM),
        "x_ticks": [{"x": x(0), "label": translate(PRETREATMENT_TICK if chart.x_min == 0 else START_TICK)}]
        + [{"x": x(day), "label": label.render(translate)} for day, label in TICK_DAYS if day <= chart.x_max],
        "y_ticks": y_ticks,
        "line": " ".join(f"{x(p.day)},{y(p.value)}" for p in chart.points),
        "markers": [
            {
                "x": x(p.day),
                "y": y(p.value),
                "text": translate(MARKER_TEXT) % {"label": p.label, "value": _fmt(p.value), "unit": chart.unit},
            }
            for p in chart.points
        ],
        "reference": reference,
        "label_y": str(HEIGHT - 6),
    }


def _tick_step(span: float) -> float:
    for step in (0.5, 1, 2, 5, 10, 20, 25, 50):
        if span / step <= 6:
            return step
    return 100


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".").replace("-", "−")


def _published(value: float) -> str:
    """A cohort figure as the paper prints it (9.35, 11.125): no rounding."""
    return f"{value:g}".replace("-", "−")
