"""Outcomes (spec §3, scoring/outcomes.py), without a database: every boundary by name."""

import datetime
from decimal import Decimal

import pytest

from scoring import outcomes
from scoring.outcomes import BoneUnion, VisitOutcome

D = Decimal
day = datetime.date.fromisoformat


# -- differences and progressive kyphosis ------------------------------------------------------


def test_ka_difference_of_exactly_10_0_is_not_progressive_kyphosis():
    assert outcomes.is_progressive_kyphosis(D("10.0")) is False


def test_ka_difference_of_10_1_is_progressive_kyphosis():
    assert outcomes.is_progressive_kyphosis(D("10.1")) is True


def test_ka_difference_of_10_04_rounds_to_10_0_and_is_not_progressive():
    assert outcomes.is_progressive_kyphosis(D("10.04")) is False


def test_first_worked_case_ka_difference_is_1_7_and_not_progressive():
    difference = outcomes.kyphosis_difference(D("6.3"), D("4.6"))
    assert difference == D("1.7")
    assert outcomes.is_progressive_kyphosis(difference) is False


def test_second_worked_case_ka_difference_is_6_4_and_vhl_difference_20_3():
    assert outcomes.kyphosis_difference(D("26.0"), D("19.6")) == D("6.4")
    assert outcomes.height_loss_difference(D("38.1"), D("17.8")) == D("20.3")


def test_kyphosis_that_lessens_gives_a_negative_difference():
    assert outcomes.kyphosis_difference(D("8.0"), D("12.5")) == D("-4.5")


@pytest.mark.parametrize(
    ("union", "non_union"),
    [(BoneUnion.NON_UNION, True), (BoneUnion.UNITED, False), (BoneUnion.NOT_ASSESSED, None), (None, None)],
)
def test_non_union_only_when_recorded_as_such(union, non_union):
    assert outcomes.is_non_union(union) is non_union


# -- the fracture's course ---------------------------------------------------------------------


def visit(date, ka_diff=None, six=False, union=None):
    return VisitOutcome(day(date), None if ka_diff is None else D(ka_diff), six, union)


def test_course_is_unknown_without_visits():
    course = outcomes.fracture_outcome([])
    assert (course.progressive_kyphosis, course.non_union) == (None, None)


def test_course_before_six_months_without_progression_is_still_unknown():
    course = outcomes.fracture_outcome([visit("2025-02-01", "3.0"), visit("2025-04-01", "6.0")])
    assert course.progressive_kyphosis is None


def test_the_fracture_outcome_waits_for_the_six_month_film_as_spec_3_defines_it():
    # a 3-month film at +10.5° is flagged on its visit, but the outcome is the 6-month film's
    course = outcomes.fracture_outcome(
        [visit("2025-04-01", "10.5"), visit("2025-08-01", "9.0", six=True, union=BoneUnion.UNITED)]
    )
    assert course.progressive_kyphosis is False
    assert course.progressive_kyphosis_on == day("2025-08-01")
    assert course.non_union is False


def test_progressive_kyphosis_on_the_six_month_film():
    course = outcomes.fracture_outcome([visit("2025-04-01", "3.0"), visit("2025-08-01", "10.1", six=True)])
    assert course.progressive_kyphosis is True
    assert course.progressive_kyphosis_on == day("2025-08-01")


def test_the_first_film_at_six_months_or_later_decides_not_a_later_one():
    course = outcomes.fracture_outcome([visit("2025-08-01", "4.0", six=True), visit("2025-12-01", "12.0", six=True)])
    assert course.progressive_kyphosis is False


def test_an_early_film_alone_leaves_the_outcome_unknown():
    assert outcomes.fracture_outcome([visit("2025-04-01", "15.0")]).progressive_kyphosis is None


def test_six_month_film_within_10_degrees_means_no_progressive_kyphosis():
    course = outcomes.fracture_outcome([visit("2025-08-01", "10.0", six=True)])
    assert course.progressive_kyphosis is False
    assert course.progressive_kyphosis_on == day("2025-08-01")


def test_union_status_is_the_first_assessed_at_six_months_or_later():
    course = outcomes.fracture_outcome(
        [
            visit("2025-08-01", six=True, union=BoneUnion.NOT_ASSESSED),
            visit("2025-09-01", six=True, union=BoneUnion.NON_UNION),
            visit("2026-03-01", six=True, union=BoneUnion.UNITED),  # a later union does not undo the 6-month finding
        ]
    )
    assert course.non_union is True and course.non_union_on == day("2025-09-01")


def test_union_recorded_before_six_months_does_not_count():
    assert outcomes.fracture_outcome([visit("2025-04-01", union=BoneUnion.NON_UNION)]).non_union is None
