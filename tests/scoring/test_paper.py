"""The derivation cohort's figures (spec §5) and the Wilson interval, without a database."""

import pytest

from scoring import paper
from scoring.rules import RiskGroup


def test_cohort_figures_are_the_papers():
    low, medium, high = (paper.DERIVATION_COHORT[g] for g in RiskGroup)
    assert (low.n, medium.n, high.n) == (47, 98, 63)
    assert low.n + medium.n + high.n == paper.PAPER_COHORT_SIZE == 208
    assert (low.non_union.events, medium.non_union.events, high.non_union.events) == (1, 9, 39)
    assert (low.progressive_kyphosis.events, low.progressive_kyphosis.n) == (1, 46)  # as published
    assert (medium.progressive_kyphosis.events, high.progressive_kyphosis.events) == (17, 30)


def test_wilson_interval_matches_a_published_reference_value():
    # Newcombe (1998), Stat Med 17:857, Table I example: 81/263 → 0.2553 to 0.3662.
    low, high = paper.wilson_interval(81, 263)
    assert low == pytest.approx(0.2553, abs=1e-4)
    assert high == pytest.approx(0.3662, abs=1e-4)


def test_wilson_interval_of_zero_events_starts_at_zero():
    # Newcombe's example 0/10: 0 to 0.2775.
    low, high = paper.wilson_interval(0, 10)
    assert low == 0.0
    assert high == pytest.approx(0.2775, abs=1e-4)


def test_high_group_non_union_rate_and_interval():
    proportion = paper.DERIVATION_COHORT[RiskGroup.HIGH].non_union
    assert proportion.rate == pytest.approx(0.619, abs=5e-4)
    low, high = proportion.wilson_95
    assert low < proportion.rate < high
    assert (round(low, 3), round(high, 3)) == (0.496, 0.729)  # by hand: centre 0.6122 ± 0.1166


def test_wilson_interval_refuses_impossible_counts():
    with pytest.raises(ValueError, match="need 0 ≤ events ≤ n and n > 0"):
        paper.wilson_interval(5, 4)
    with pytest.raises(ValueError, match="need 0 ≤ events ≤ n and n > 0"):
        paper.wilson_interval(0, 0)
