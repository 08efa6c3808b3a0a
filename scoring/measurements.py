"""Derived measurements: VHL from six heights, the mean of two readers, age, BMI (spec §2).

Pure Python: no Django import. A single reading, and a VHL from one reader's heights, is rounded
half-up to 0.1 before any threshold sees it (spec §1, Decision on precision); the mean of two
readers is kept as it is, on 0.05 steps (spec §2, revised Decision).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from .rules import as_recorded, round_to_tenth
from .wording import gettext_noop

# spec §2, Decisions: the accepted ranges of what is measured.
HEIGHT_MIN_EXCLUSIVE_MM = Decimal("0")
HEIGHT_MAX_MM = Decimal("100")
VHL_MIN_PERCENT = Decimal("-50")
VHL_MAX_PERCENT = Decimal("100")
KYPHOSIS_MIN_DEG = Decimal("-45")
KYPHOSIS_MAX_DEG = Decimal("90")
T_SCORE_MIN = Decimal("-7.0")
T_SCORE_MAX = Decimal("4.0")
VAS_MIN = Decimal("0")
VAS_MAX = Decimal("10")
ODI_MIN_PERCENT = Decimal("0")
ODI_MAX_PERCENT = Decimal("100")

HEIGHT_FIELDS = (
    "fractured_anterior",
    "fractured_posterior",
    "cranial_anterior",
    "cranial_posterior",
    "caudal_anterior",
    "caudal_posterior",
)


@dataclass(frozen=True)
class VertebralHeights:
    """The six heights on the lateral radiograph, in millimetres (spec §2: a … f)."""

    fractured_anterior: Decimal  # a
    fractured_posterior: Decimal  # b
    cranial_anterior: Decimal  # c
    cranial_posterior: Decimal  # d
    caudal_anterior: Decimal  # e
    caudal_posterior: Decimal  # f

    @property
    def reference_mean_mm(self) -> Decimal:
        """(c + d + e + f) / 4: the neighbours' mean height."""
        return (self.cranial_anterior + self.cranial_posterior + self.caudal_anterior + self.caudal_posterior) / 4

    @property
    def fractured_mean_mm(self) -> Decimal:
        """(a + b) / 2: the fractured vertebra's mean height."""
        return (self.fractured_anterior + self.fractured_posterior) / 2


def vhl_from_heights(heights: VertebralHeights) -> Decimal:
    """VHL (%) = [(c+d+e+f)/4 − (a+b)/2] / [(c+d+e+f)/4] × 100, rounded half-up to 0.1."""
    reference = heights.reference_mean_mm
    return round_to_tenth((reference - heights.fractured_mean_mm) / reference * 100)


def vhl_in_accepted_range(vhl_percent: Decimal) -> bool:
    """A VHL outside −50 … 100 % is a measurement error (spec §2, Decision)."""
    return VHL_MIN_PERCENT <= vhl_percent <= VHL_MAX_PERCENT


def mean_of_readers(first: Decimal, second: Decimal | None) -> Decimal:
    """The recorded value of a film: one reader's value rounded half-up to 0.1, or the mean of two
    readers' values (each to 0.1) as it is, not rounded: on 0.05 steps, 14.95 stays 14.95 (spec §2,
    revised Decision)."""
    if second is None:
        return round_to_tenth(first)
    return as_recorded((round_to_tenth(first) + round_to_tenth(second)) / 2)


def age_in_years(date_of_birth: datetime.date, on: datetime.date) -> int:
    """Completed years of age on a given date."""
    before_birthday = (on.month, on.day) < (date_of_birth.month, date_of_birth.day)
    return on.year - date_of_birth.year - int(before_birthday)


def body_mass_index(height_cm: Decimal, weight_kg: Decimal) -> Decimal:
    """BMI in kg/m², to 0.1."""
    height_m = height_cm / 100
    return (weight_kg / (height_m * height_m)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


# spec §2: the Oswestry Disability Index questionnaire, ten sections each scored 0–5 (msgids: the
# pages translate them).
ODI_SECTIONS = (
    gettext_noop("Pain intensity"),
    gettext_noop("Personal care"),
    gettext_noop("Lifting"),
    gettext_noop("Walking"),
    gettext_noop("Sitting"),
    gettext_noop("Standing"),
    gettext_noop("Sleeping"),
    gettext_noop("Sex life"),
    gettext_noop("Social life"),
    gettext_noop("Travelling"),
)
ODI_SECTION_MAX = 5


def odi_from_sections(sections: Sequence[int | None]) -> Decimal | None:
    """ODI (%) = sum of the answered sections / (5 × sections answered) × 100, to 0.1 (spec §2).

    Unanswered sections (None) leave the denominator; with none answered there is no ODI.
    """
    answered = [score for score in sections if score is not None]
    if not answered:
        return None
    if any(not 0 <= score <= ODI_SECTION_MAX for score in answered):
        raise ValueError("each ODI section scores 0 to 5")
    return round_to_tenth(Decimal(sum(answered)) / (ODI_SECTION_MAX * len(answered)) * 100)


# spec §8, Genant's semiquantitative grade approximated from the six heights.
GENANT_GRADE_1_FROM = Decimal("20.0")
GENANT_GRADE_2_FROM = Decimal("25.0")
GENANT_GRADE_3_ABOVE = Decimal("40.0")
GENANT_LABEL = gettext_noop("Genant grade (height-based approximation)")


@dataclass(frozen=True)
class GenantResult:
    anterior_reduction_percent: Decimal
    posterior_reduction_percent: Decimal
    reduction_percent: Decimal  # the larger of the two: what is graded
    grade: int


def genant_grade(reduction_percent: Decimal) -> int:
    """Grade 0 below 20.0 %, 1 from 20.0 to below 25.0, 2 from 25.0 to 40.0 inclusive, 3 above 40.0
    (spec §8, Decision on band edges)."""
    if reduction_percent > GENANT_GRADE_3_ABOVE:
        return 3
    if reduction_percent >= GENANT_GRADE_2_FROM:
        return 2
    if reduction_percent >= GENANT_GRADE_1_FROM:
        return 1
    return 0


def genant_from_heights(heights: VertebralHeights) -> GenantResult:
    """Anterior reduction 1 − a/((c+e)/2), posterior 1 − b/((d+f)/2); the larger, in %, rounded
    half-up to 0.1, is graded (spec §8)."""
    anterior = round_to_tenth(
        (1 - heights.fractured_anterior / ((heights.cranial_anterior + heights.caudal_anterior) / 2)) * 100
    )
    posterior = round_to_tenth(
        (1 - heights.fractured_posterior / ((heights.cranial_posterior + heights.caudal_posterior) / 2)) * 100
    )
    larger = max(anterior, posterior)
    return GenantResult(anterior, posterior, larger, genant_grade(larger))


# spec §2: two readers; a large disagreement is flagged for a second look (issue: > 5 % or > 5°).
READER_DISAGREEMENT_VHL_PERCENT = Decimal("5.0")
READER_DISAGREEMENT_KYPHOSIS_DEG = Decimal("5.0")


def readers_disagree(first: Decimal | None, second: Decimal | None, threshold: Decimal) -> bool:
    """True when both readers measured and they differ by more than the threshold (strictly)."""
    if first is None or second is None:
        return False
    return abs(first - second) > threshold
