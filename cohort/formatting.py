"""How the validation report prints a number: one rounding rule, the paper's precision.

Every figure is rounded half away from zero (Python's ROUND_HALF_UP, the spec's rounding
direction) from the shortest decimal that names the float (its repr), so 8.25 prints 8.3 and
2.45 prints 2.5: the tie rule never depends on how the float happens to be stored in binary.
Pure Python: the page, the downloadable report and the tests use these and nothing else. The few
words (the rule, "to" in an interval) are English msgids (scoring.wording); the presenters pass
`translate` to have them in the reader's language.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal

from scoring.wording import gettext_noop, text

MINUS = "−"  # the true minus sign, as the spec writes T-scores

# The paper's precision for each kind of figure (its tables print these).
PLACES = {
    "percent": 1,  # 61.9 %
    "ratio": 3,  # odds ratios, AUC, ICC, κ, calibration: 1.713, 0.872
    "p": 3,  # P 0.012, or < 0.001
    "median": 3,  # medians and quartiles: 15.1 (11.85, 23), 11.125; trailing zeros dropped
    "net_benefit": 3,
}
RULE = gettext_noop(
    "Figures are rounded half away from zero (8.25 → 8.3, 2.45 → 2.5), at the paper's precision: "
    "percentages to 0.1, odds ratios, AUCs, ICCs, κ and calibration to 0.001, P to 0.001 (smaller "
    "shown as < 0.001), medians and quartiles to at most 0.001 with trailing zeros dropped, as the "
    "paper prints them (15.1 (11.85, 23))."
)
# An interval with a negative bound: "−0.520 to 0.100" (a dash would read as a minus).
NEGATIVE_INTERVAL = gettext_noop("%(low)s to %(high)s")


def decimal(value: float, places: int) -> Decimal:
    """The value rounded half away from zero to `places` decimals, from its shortest decimal form."""
    return Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def number(value: float | None, places: int, *, trim: bool = False) -> str:
    """A figure as printed; "—" when there is none. `trim` drops trailing zeros (11.850 → 11.85)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    rounded = decimal(value, places)
    if rounded == 0:
        rounded = abs(rounded)  # never "−0.0"
    text = f"{rounded:f}"
    if trim and "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace("-", MINUS)


def ratio(value: float | None) -> str:
    return number(value, PLACES["ratio"])


def percent(share: float | None) -> str:
    """A share (0–1) as a percentage: 0.619 → "61.9 %". Multiplied in decimal, so 23/80 prints
    28.8 % (0.2875 × 100 in binary is 28.749…, which would round down)."""
    return "—" if share is None else f"{percentage(share)} %"


def percentage(share: float) -> str:
    """The number of a percentage, without its sign: 0.2875 → "28.8"."""
    return number(float(Decimal(repr(float(share))) * 100), PLACES["percent"])


def median(value: float | None) -> str:
    return number(value, PLACES["median"], trim=True)


def p_value(value: float | None) -> str:
    if value is None:
        return "—"
    return "< 0.001" if value < 0.001 else number(value, PLACES["p"])


def interval(
    low: float | None,
    high: float | None,
    places: int = PLACES["ratio"],
    *,
    trim: bool = False,
    translate: Callable[[str], str] | None = None,
) -> str:
    """A 95 % interval: (1.458–2.013); "to" when a bound is negative, so a minus is never read as a dash."""
    if low is None or high is None:
        return ""
    first, second = number(low, places, trim=trim), number(high, places, trim=trim)
    if MINUS in first + second:
        return f"({text(NEGATIVE_INTERVAL, low=first, high=second).render(translate)})"
    return f"({first}–{second})"


MAX_PLACES = 6


def estimate(
    value: float | None,
    low: float | None,
    high: float | None,
    places: int = PLACES["ratio"],
    *,
    translate: Callable[[str], str] | None = None,
) -> str:
    """A figure with its interval, or the figure alone when it has none: 1.713 (1.458–2.013). An
    interval whose bounds differ but would print alike gets more decimals (up to 6), so a true
    interval never reads as zero-width: 0.99998 (0.99996–0.99999), not 1.000 (1.000–1.000)."""
    if low is not None and high is not None and low != high:
        while places < MAX_PLACES and number(low, places) == number(high, places):
            places += 1
    text = number(value, places)
    bounds = interval(low, high, places, translate=translate)
    return f"{text} {bounds}" if bounds and text != "—" else text


def quartiles(median_value: float | None, q1: float | None, q3: float | None) -> str:
    """Median (Q1, Q3) as the paper prints them: 15.1 (11.85, 23)."""
    if median_value is None:
        return "—"
    return f"{median(median_value)} ({median(q1)}, {median(q3)})"
