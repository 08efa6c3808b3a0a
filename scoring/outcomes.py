"""Outcomes of a fracture under treatment (spec §3): differences against pretreatment,
progressive kyphosis, bone non-union. Pure Python: no Django import."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from .rules import as_recorded, round_to_tenth

PROGRESSIVE_KYPHOSIS_THRESHOLD_DEG = Decimal("10.0")  # spec §3: strictly greater than 10°


class BoneUnion(StrEnum):
    UNITED = "united"
    NON_UNION = "non_union"
    NOT_ASSESSED = "not_assessed"


def kyphosis_difference(kyphosis_at_visit_deg: Decimal, kyphosis_pretreatment_deg: Decimal) -> Decimal:
    """KA difference = KA at the visit − KA at pretreatment (spec §3), exact: each is one reader's
    value to 0.1° or the mean of two on 0.05° steps (spec §2), so is their difference."""
    return as_recorded(kyphosis_at_visit_deg - kyphosis_pretreatment_deg)


def height_loss_difference(vhl_at_visit_percent: Decimal, vhl_pretreatment_percent: Decimal) -> Decimal:
    """VHL difference = VHL at the visit − VHL at pretreatment (spec §3), exact as the KA's."""
    return as_recorded(vhl_at_visit_percent - vhl_pretreatment_percent)


def is_progressive_kyphosis(kyphosis_difference_deg: Decimal) -> bool:
    """Progressive kyphosis: a KA difference of more than 10°, strictly (spec §3)."""
    return round_to_tenth(kyphosis_difference_deg) > PROGRESSIVE_KYPHOSIS_THRESHOLD_DEG


def is_non_union(union: BoneUnion | None) -> bool | None:
    """Non-union as recorded at 6 months or later; None while not assessed (spec §3)."""
    if union is None or union is BoneUnion.NOT_ASSESSED:
        return None
    return union is BoneUnion.NON_UNION


@dataclass(frozen=True)
class VisitOutcome:
    """What one visit showed, in the order the visits happened."""

    visit_date: datetime.date
    kyphosis_difference_deg: Decimal | None
    at_or_after_six_months: bool
    union: BoneUnion | None
    vhl_difference_percent: Decimal | None = None


@dataclass(frozen=True)
class FractureOutcome:
    """The fracture's course so far: None means not known yet."""

    progressive_kyphosis: bool | None
    progressive_kyphosis_on: datetime.date | None
    non_union: bool | None
    non_union_on: datetime.date | None
    # spec §3: the differences at 6 months (the first film at 6 months or later), for the cohort.
    kyphosis_difference_six_months_deg: Decimal | None = None
    vhl_difference_six_months_percent: Decimal | None = None


def fracture_outcome(visits: Iterable[VisitOutcome]) -> FractureOutcome:
    """The course as spec §3 defines it: progressive kyphosis by the KA difference of the first
    film at 6 months or later (earlier films are flagged on their own visit, but the fracture's
    outcome waits for the 6-month film); union status as first assessed at 6 months or later."""
    progressive: bool | None = None
    progressive_on: datetime.date | None = None
    non_union: bool | None = None
    non_union_on: datetime.date | None = None
    ka_difference: Decimal | None = None
    vhl_difference: Decimal | None = None
    for visit in sorted(visits, key=lambda v: v.visit_date):
        if not visit.at_or_after_six_months:
            continue
        if visit.kyphosis_difference_deg is not None and progressive is None:
            progressive = is_progressive_kyphosis(visit.kyphosis_difference_deg)
            progressive_on = visit.visit_date
            ka_difference = visit.kyphosis_difference_deg
        if visit.vhl_difference_percent is not None and vhl_difference is None:
            vhl_difference = visit.vhl_difference_percent
        status = is_non_union(visit.union)
        if status is not None and non_union is None:  # spec §3: assessed at 6 months: the first assessment
            non_union, non_union_on = status, visit.visit_date
    return FractureOutcome(progressive, progressive_on, non_union, non_union_on, ka_difference, vhl_difference)


class CourseOutcome(StrEnum):
    PROGRESSIVE_KYPHOSIS = "progressive_kyphosis"
    NON_UNION = "non_union"


@dataclass(frozen=True)
class CourseChange:
    """An outcome of the fracture's course that a change would move (spec §2: a new or changed
    reader of a film the outcome depends on is announced before it is saved)."""

    outcome: CourseOutcome
    before: bool | None
    after: bool | None
    # For progressive kyphosis, the KA difference at 6 months it was decided on.
    difference_before_deg: Decimal | None = None
    difference_after_deg: Decimal | None = None


def course_changes(before: FractureOutcome, after: FractureOutcome) -> tuple[CourseChange, ...]:
    """The outcomes that differ between two states of a course (a difference that moves without
    changing the outcome is not a change of outcome)."""
    changes = []
    if before.progressive_kyphosis != after.progressive_kyphosis:
        changes.append(
            CourseChange(
                CourseOutcome.PROGRESSIVE_KYPHOSIS,
                before.progressive_kyphosis,
                after.progressive_kyphosis,
                before.kyphosis_difference_six_months_deg,
                after.kyphosis_difference_six_months_deg,
            )
        )
    if before.non_union != after.non_union:
        changes.append(CourseChange(CourseOutcome.NON_UNION, before.non_union, after.non_union))
    return tuple(changes)
