"""One rounding rule for every figure of the validation report (issue 14, D4)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cohort import formatting


@pytest.mark.parametrize(
    ("value", "places", "printed"),
    [
        (8.25, 1, "8.3"),  # D4: was 8.2 (binary float below the tie)
        (2.45, 1, "2.5"),
        (-2.45, 1, "−2.5"),  # half away from zero, the spec's direction
        (0.8725, 3, "0.873"),
        (1.0005, 3, "1.001"),
        (-0.0004, 3, "0.000"),  # never a negative zero
    ],
)
def test_ties_round_half_away_from_zero_from_the_shortest_decimal(value, places, printed):
    assert formatting.number(value, places) == printed


def test_medians_print_as_the_paper_prints_them():
    assert formatting.quartiles(15.1, 11.85, 23.0) == "15.1 (11.85, 23)"
    assert formatting.quartiles(7.45, 5.2, 11.125) == "7.45 (5.2, 11.125)"
    assert formatting.quartiles(None, None, None) == "—"


def test_p_values_and_percentages_at_the_papers_precision():
    assert formatting.p_value(0.0004) == "< 0.001"
    assert formatting.p_value(0.0125) == "0.013"
    assert formatting.p_value(None) == "—"
    assert formatting.percent(39 / 63) == "61.9 %"


def test_an_interval_with_a_negative_bound_reads_with_to():
    assert formatting.interval(1.458, 2.013) == "(1.458–2.013)"
    assert formatting.interval(-0.52, 0.1) == "(−0.520 to 0.100)"
    assert formatting.estimate(0.5, None, None) == "0.500"


@given(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), st.integers(min_value=0, max_value=4))
def test_a_printed_figure_is_within_half_a_unit_of_the_value(value, places):
    printed = formatting.number(value, places).replace("−", "-")
    assert abs(float(printed) - value) <= 0.5 * 10**-places + 1e-9 * max(1.0, abs(value))


def test_a_percentage_is_rounded_from_its_decimal_value():
    assert formatting.percent(23 / 80) == "28.8 %"  # 28.75: 0.2875 × 100 is 28.749… in binary
    assert formatting.percentage(0.0125) == "1.3"


def test_a_true_interval_never_prints_as_zero_width():
    assert formatting.estimate(0.99998, 0.99996, 0.99999) == "0.99998 (0.99996–0.99999)"
    assert formatting.estimate(0.5, 0.5, 0.5) == "0.500 (0.500–0.500)"  # equal bounds: the caller says why
