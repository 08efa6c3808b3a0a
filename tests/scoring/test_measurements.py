"""Derived measurements of spec §2, without a database."""

import datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scoring import measurements
from scoring.measurements import VertebralHeights

D = Decimal


def heights(a, b, c, d, e, f) -> VertebralHeights:
    return VertebralHeights(*(D(str(x)) for x in (a, b, c, d, e, f)))


def test_vhl_worked_example_of_spec_2_is_16_7_percent():
    # a = 20, b = 30, c = d = e = f = 30 mm: reference 30, fractured mean 25.
    h = heights(20, 30, 30, 30, 30, 30)
    assert h.reference_mean_mm == D("30")
    assert h.fractured_mean_mm == D("25")
    assert measurements.vhl_from_heights(h) == D("16.7")


def test_vhl_from_heights_is_rounded_half_up_so_14_96_becomes_15_0():
    # reference 25, fractured mean 21.26 → 14.96 % → recorded and scored as 15.0 %.
    h = heights("21.26", "21.26", 25, 25, 25, 25)
    assert measurements.vhl_from_heights(h) == D("15.0")


def test_a_taller_fractured_body_gives_a_negative_vhl_kept_as_measured():
    assert measurements.vhl_from_heights(heights(33, 33, 30, 30, 30, 30)) == D("-10.0")


@pytest.mark.parametrize(
    ("vhl", "accepted"),
    [("-50", True), ("-50.1", False), ("100", True), ("100.1", False), ("0", True)],
)
def test_vhl_outside_minus_50_to_100_is_a_measurement_error(vhl, accepted):
    assert measurements.vhl_in_accepted_range(D(vhl)) is accepted


def test_mean_of_two_readers_is_not_rounded():
    """spec §2, revised Decision: each reading to 0.1, their mean kept on 0.05 steps."""
    assert measurements.mean_of_readers(D("14.9"), D("15.0")) == D("14.95")
    assert measurements.mean_of_readers(D("14.0"), D("16.2")) == D("15.1")
    assert measurements.mean_of_readers(D("-2.4"), D("-2.5")) == D("-2.45")


def test_one_readers_value_is_rounded_half_up_to_a_tenth():
    assert measurements.mean_of_readers(D("12.34"), None) == D("12.3")
    assert measurements.mean_of_readers(D("14.95"), None) == D("15.0")


def test_a_mean_is_written_to_a_tenth_when_its_second_decimal_is_0():
    assert str(measurements.mean_of_readers(D("16.6"), D("16.8"))) == "16.7"
    assert str(measurements.mean_of_readers(D("16.6"), D("16.7"))) == "16.65"


@pytest.mark.parametrize(
    ("born", "on", "age"),
    [
        ("1946-05-14", "2025-05-13", 78),
        ("1946-05-14", "2025-05-14", 79),
        ("1960-02-29", "2020-02-28", 59),
        ("1960-02-29", "2020-02-29", 60),
    ],
)
def test_age_in_completed_years(born, on, age):
    assert measurements.age_in_years(datetime.date.fromisoformat(born), datetime.date.fromisoformat(on)) == age


def test_body_mass_index():
    assert measurements.body_mass_index(D("160"), D("64")) == D("25.0")


positive_heights = st.decimals(min_value=D("0.01"), max_value=100, places=2)


@given(st.lists(positive_heights, min_size=6, max_size=6))
def test_vhl_is_never_above_100_percent_and_is_rounded_to_a_tenth(values):
    vhl = measurements.vhl_from_heights(VertebralHeights(*values))
    assert vhl <= 100
    assert vhl == vhl.quantize(D("0.1"))


# -- spec §8: Genant grade from the six heights ----------------------------------------------------


@pytest.mark.parametrize(
    ("reduction", "grade"),
    [("0.0", 0), ("19.9", 0), ("20.0", 1), ("24.9", 1), ("25.0", 2), ("40.0", 2), ("40.1", 3), ("80.0", 3)],
)
def test_genant_band_edges(reduction, grade):
    assert measurements.genant_grade(D(reduction)) == grade


def test_genant_takes_the_larger_of_anterior_and_posterior_reduction():
    # a = 22.5 against (30 + 30)/2 = 30 → 25.0 % anterior; b = 28.5 against 30 → 5.0 % posterior.
    result = measurements.genant_from_heights(heights("22.5", "28.5", 30, 30, 30, 30))
    assert (result.anterior_reduction_percent, result.posterior_reduction_percent) == (D("25.0"), D("5.0"))
    assert (result.reduction_percent, result.grade) == (D("25.0"), 2)


def test_genant_reduction_is_rounded_half_up_before_grading():
    # 1 − 24.015/30 = 19.95 % → 20.0 % → grade 1
    result = measurements.genant_from_heights(heights("24.015", 30, 30, 30, 30, 30))
    assert (result.reduction_percent, result.grade) == (D("20.0"), 1)


# -- two readers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second", "flag"), [("10.0", "15.0", False), ("10.0", "15.1", True), ("10.0", None, False)]
)
def test_readers_disagree_when_more_than_5_apart(first, second, flag):
    assert measurements.readers_disagree(D(first), D(second) if second else None, D("5.0")) is flag


# -- ODI from the questionnaire (spec §2) ------------------------------------------------------


def test_odi_with_all_ten_sections_answered():
    assert measurements.odi_from_sections([2] * 10) == D("40.0")


def test_odi_with_unanswered_sections_leaves_them_out_of_the_denominator():
    # 9 answered, sum 17: 17 / 45 × 100 = 37.777… → 37.8
    assert measurements.odi_from_sections([2, 2, 2, 2, 2, 2, 2, None, 2, 1]) == D("37.8")


def test_odi_with_no_section_answered_is_none():
    assert measurements.odi_from_sections([None] * 10) is None


def test_odi_refuses_a_section_above_5():
    with pytest.raises(ValueError, match="each ODI section scores 0 to 5"):
        measurements.odi_from_sections([6] + [0] * 9)


@given(st.lists(st.one_of(st.none(), st.integers(0, 5)), min_size=10, max_size=10))
def test_odi_is_always_between_0_and_100(sections):
    odi = measurements.odi_from_sections(sections)
    assert odi is None or D(0) <= odi <= D(100)
