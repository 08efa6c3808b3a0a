"""Calibration and decision curves against answers computed independently: by hand on small
tables, by solving the score equation with SciPy, by scikit-learn's logistic regression, and by the
net-benefit formula (no database)."""

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, special

from cohort import validation
from tests.cohort.test_analysis import in_english

PAPER_NON_UNION = {"low": (1, 47), "medium": (9, 98), "high": (39, 63)}
PAPER_KYPHOSIS = {"low": (1, 46), "medium": (17, 98), "high": (30, 63)}


def cohort(counts, outcome="non_union", unknown=0):
    """One row per fracture: `events` of `n` in each group with the outcome, `unknown` more rows
    per group whose outcome is not known (NaN)."""
    rows = []
    for group, (events, n) in counts.items():
        rows += [{"group": group, outcome: 1.0 if i < events else 0.0} for i in range(n)]
        rows += [{"group": group, outcome: math.nan} for _ in range(unknown)]
    return pd.DataFrame(rows)


def paper_cohort():
    """The derivation cohort rebuilt: 208 fractures, both outcomes; the low group's kyphosis is
    unknown for one fracture (the paper's 1/46)."""
    rows = []
    for group, (nu_events, n) in PAPER_NON_UNION.items():
        ky_events, _ = PAPER_KYPHOSIS[group]
        for i in range(n):
            kyphosis = 1.0 if i < ky_events else 0.0
            if group == "low" and i == n - 1:
                kyphosis = math.nan
            rows.append({"group": group, "non_union": 1.0 if i < nu_events else 0.0, "progressive_kyphosis": kyphosis})
    return pd.DataFrame(rows)


# -- calibration -----------------------------------------------------------------------------------


@pytest.mark.parametrize("outcome", ["non_union", "progressive_kyphosis"])
def test_the_paper_s_own_rates_are_perfectly_calibrated(outcome):
    # Rule: observed = predicted in every group ⇒ CITL 0, slope 1, E/O 1 (the score equations hold
    # at intercept 0 and slope 1 group by group).
    result = validation.calibration(paper_cohort(), outcome)
    assert result.in_the_large.estimate == pytest.approx(0, abs=1e-9)
    assert result.slope.estimate == pytest.approx(1, abs=1e-9)
    assert result.expected_over_observed == pytest.approx(1)
    assert result.in_the_large.ci_low < 0 < result.in_the_large.ci_high
    assert result.slope.ci_low < 1 < result.slope.ci_high
    assert result.in_the_large.p_value == pytest.approx(1) and result.slope.p_value == pytest.approx(1)
    for group in result.groups:
        assert group.observed == pytest.approx(group.predicted)


def test_each_outcome_has_its_own_denominator():
    frame = paper_cohort()
    non_union = validation.calibration(frame, "non_union")
    kyphosis = validation.calibration(frame, "progressive_kyphosis")
    assert (non_union.n, non_union.events) == (208, 49)
    assert (kyphosis.n, kyphosis.events) == (207, 48)
    assert [(g.events, g.n) for g in kyphosis.groups] == [(1, 46), (17, 98), (30, 63)]
    assert [(g.events, g.n) for g in non_union.groups] == [(1, 47), (9, 98), (39, 63)]


def test_rows_with_the_outcome_unknown_are_ignored():
    with_unknown = validation.calibration(cohort(PAPER_NON_UNION, unknown=5), "non_union")
    without = validation.calibration(cohort(PAPER_NON_UNION), "non_union")
    assert with_unknown == without
    assert with_unknown.n == 208


def test_doubled_odds_give_an_intercept_of_log_2_and_a_slope_of_1():
    # Rule: observed odds = 2 × the paper's odds in every group ⇒ logit(observed) = logit(predicted)
    # + ln 2 everywhere: CITL = ln 2 exactly, slope 1. Odds 1/46, 9/89, 39/24 doubled: 2/46, 18/89, 39/12.
    result = validation.calibration(cohort({"low": (2, 48), "medium": (18, 107), "high": (39, 51)}), "non_union")
    assert result.in_the_large.estimate == pytest.approx(math.log(2), abs=1e-9)
    assert result.slope.estimate == pytest.approx(1, abs=1e-9)
    assert result.in_the_large.p_value < 0.05


def test_more_events_than_predicted_gives_a_positive_intercept_and_e_over_o_below_1():
    # The low and medium rates doubled (2/47, 18/98), the high group as in the paper: more events
    # than the paper predicts (CITL > 0, E/O < 1), and the groups closer together (slope < 1).
    result = validation.calibration(cohort({"low": (2, 47), "medium": (18, 98), "high": (39, 63)}), "non_union")
    assert result.in_the_large.estimate > 0
    assert result.expected_over_observed < 1
    assert result.slope.estimate < 1


def test_fewer_events_than_predicted_gives_a_negative_intercept_and_e_over_o_above_1():
    result = validation.calibration(cohort({"low": (0, 47), "medium": (4, 98), "high": (20, 63)}), "non_union")
    assert result.in_the_large.estimate < 0
    assert result.expected_over_observed > 1


def test_expected_over_observed_by_hand():
    frame = cohort({"low": (2, 20), "medium": (5, 30), "high": (6, 10)})
    expected = 20 * (1 / 47) + 30 * (9 / 98) + 10 * (39 / 63)
    result = validation.calibration(frame, "non_union")
    assert result.expected == pytest.approx(expected)
    assert result.expected_over_observed == pytest.approx(expected / 13)


def test_in_the_large_solves_its_score_equation():
    # Independent answer: the intercept a with the logit of the paper's rate as offset is the root
    # of Σ y − Σ expit(a + logit p) = 0 (SciPy's brentq).
    counts = {"low": (4, 31), "medium": (11, 77), "high": (19, 40)}
    frame = cohort(counts)
    p = np.concatenate(
        [[e / n for e, n in PAPER_NON_UNION.values()][i] * np.ones(n) for i, (_, n) in enumerate(counts.values())]
    )
    events = sum(e for e, _ in counts.values())
    a = optimize.brentq(lambda a: events - special.expit(a + special.logit(p)).sum(), -5, 5, xtol=1e-14)
    # Its Wald standard error: 1 / sqrt(Σ μ(1 − μ)).
    mu = special.expit(a + special.logit(p))
    se = 1 / math.sqrt((mu * (1 - mu)).sum())
    result = validation.calibration(frame, "non_union").in_the_large
    assert result.estimate == pytest.approx(a, abs=1e-8)
    assert result.ci_low == pytest.approx(a - 1.959963984540054 * se, abs=1e-7)
    assert result.ci_high == pytest.approx(a + 1.959963984540054 * se, abs=1e-7)


def test_slope_equals_scikit_learn_s_unpenalised_logistic_regression():
    from sklearn.linear_model import LogisticRegression

    counts = {"low": (4, 31), "medium": (11, 77), "high": (19, 40)}
    frame = cohort(counts)
    x = frame["group"].map({g: math.log(e / (n - e)) for g, (e, n) in PAPER_NON_UNION.items()}).to_numpy()
    model = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(x.reshape(-1, 1), frame["non_union"])
    assert validation.calibration(frame, "non_union").slope.estimate == pytest.approx(model.coef_[0][0], abs=1e-6)


@pytest.mark.parametrize(("events", "estimated"), [(9, False), (10, True)])
def test_calibration_needs_ten_events(events, estimated):
    frame = cohort({"low": (1, 40), "medium": (3, 60), "high": (events - 4, 30)})
    result = validation.calibration(frame, "non_union")
    assert result.events == events
    assert (result.in_the_large.estimate is not None) is estimated
    assert (result.slope.estimate is not None) is estimated
    if not estimated:
        assert str(result.in_the_large.note).startswith("Too few events (9 of 130)")
        assert result.in_the_large.ci_low is None and result.slope.p_value is None


@pytest.mark.parametrize(("non_events", "estimated"), [(9, False), (10, True)])
def test_calibration_needs_ten_non_events(non_events, estimated):
    frame = cohort({"medium": (10, 12), "high": (30, 30 + non_events - 2)})
    assert (validation.calibration(frame, "non_union").in_the_large.estimate is not None) is estimated


def test_no_slope_with_a_single_group():
    result = validation.calibration(cohort({"high": (30, 63)}), "non_union")
    assert result.in_the_large.estimate is not None
    assert result.slope.estimate is None
    assert "two risk groups" in str(result.slope.note)
    assert [g.observed for g in result.groups][:2] == [None, None]  # no NaN for an empty group


def test_no_slope_under_separation():
    # Every low fracture united, every high one did not: the slope runs to infinity.
    result = validation.calibration(cohort({"low": (0, 20), "high": (20, 20)}), "non_union")
    assert result.slope.estimate is None
    assert "separation" in str(result.slope.note)


def test_calibration_is_json_without_nan():
    for frame in (paper_cohort(), cohort({"high": (3, 5)}, outcome="progressive_kyphosis")):
        for outcome in ("non_union", "progressive_kyphosis"):
            if outcome in frame:
                json.dumps(in_english(validation.calibration(frame, outcome)), allow_nan=False)


def test_no_event_gives_no_e_over_o():
    result = validation.calibration(cohort({"low": (0, 30)}), "non_union")
    assert result.expected_over_observed is None
    assert "No event" in str(result.note)


# -- decision curves -------------------------------------------------------------------------------


def net_benefit(treated_events, treated_non_events, n, threshold):
    """Vickers & Elkin 2006: NB = TP/n − FP/n × pt / (1 − pt)."""
    return treated_events / n - treated_non_events / n * threshold / (1 - threshold)


SMALL = {"low": (1, 10), "medium": (4, 15), "high": (9, 15)}  # n 40, 14 events, 26 non-events


@pytest.mark.parametrize("threshold", [0.05, 0.09, 0.1, 0.2, 0.33, 0.5, 0.6])
def test_dcurves_net_benefit_equals_the_formula_by_hand(threshold):
    curve = validation.decision_curve(cohort(SMALL), "non_union")
    nb = {s.key: dict(s.points)[threshold] for s in curve.strategies}
    assert nb["high"] == pytest.approx(net_benefit(9, 6, 40, threshold), abs=1e-12)
    assert nb["all"] == pytest.approx(net_benefit(14, 26, 40, threshold), abs=1e-12)
    assert nb["none"] == 0


def test_decision_curve_spans_5_to_60_percent_in_steps_of_1():
    curve = validation.decision_curve(cohort(SMALL), "non_union")
    assert [s.key for s in curve.strategies] == ["high", "all", "none"]
    for strategy in curve.strategies:
        assert [t for t, _ in strategy.points] == pytest.approx([i / 100 for i in range(5, 61)])


def test_summary_range_is_where_the_formula_says_augmenting_high_wins():
    # The paper's cohort: high beats "all" when 39 − 24w > 49 − 159w, w = pt/(1 − pt) > 10/135,
    # i.e. pt > 0.0690; and beats "none" while 39 − 24w > 0, pt < 0.619. So 7 % to 60 %.
    curve = validation.decision_curve(paper_cohort(), "non_union")
    assert curve.high_beats_defaults == [(0.07, 0.6)]
    assert "7 % to 60 %" in str(curve.summary)


def test_summary_when_augmenting_high_never_wins():
    # Everyone is high: "augment when high" is "augment all", a tie, never a win.
    curve = validation.decision_curve(cohort({"high": (30, 60)}), "non_union")
    assert curve.high_beats_defaults == []
    assert str(curve.summary).startswith("At no threshold")


def test_ranges_read_off_separate_stretches():
    thresholds = [0.05, 0.06, 0.07, 0.08, 0.09]
    assert validation._ranges(thresholds, [True, True, False, True, False]) == [(0.05, 0.06), (0.08, 0.08)]
    assert validation._ranges(thresholds, [False, False, True, True, True]) == [(0.07, 0.09)]
    assert str(validation._summary([(0.05, 0.06), (0.08, 0.08)])).count("%") >= 3


@pytest.mark.parametrize(("events", "drawn"), [(9, False), (10, True)])
def test_decision_curve_needs_ten_events(events, drawn):
    curve = validation.decision_curve(
        cohort({"low": (1, 40), "medium": (3, 60), "high": (events - 4, 30)}), "non_union"
    )
    assert bool(curve.strategies) is drawn
    if not drawn:
        assert str(curve.summary).startswith("Too few events (9 of 130)")


def test_decision_curve_ignores_rows_with_the_outcome_unknown():
    assert validation.decision_curve(cohort(SMALL, unknown=3), "non_union") == validation.decision_curve(
        cohort(SMALL), "non_union"
    )


def test_dcurves_is_silenced_in_the_call_only(capsys, monkeypatch):
    # dcurves 1.1.7 prints and warns under some pandas versions: make it do both here.
    import dcurves

    original = dcurves.dca

    def noisy(*args, **kwargs):
        print("dcurves talking")
        warnings.warn("dcurves warning", FutureWarning, stacklevel=1)
        return original(*args, **kwargs)

    monkeypatch.setattr(dcurves, "dca", noisy)
    filters = list(warnings.filters)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        curve = validation.decision_curve(cohort(SMALL), "non_union")
        warnings.warn("still heard", UserWarning, stacklevel=1)
    assert curve.strategies
    assert [str(w.message) for w in caught] == ["still heard"]
    assert warnings.filters == filters
    assert capsys.readouterr() == ("", "")


def test_decision_curve_is_json_without_nan():
    for frame in (cohort(SMALL), cohort({"low": (1, 5)})):
        json.dumps(in_english(validation.decision_curve(frame, "non_union")), allow_nan=False)


# -- plots -----------------------------------------------------------------------------------------


def test_calibration_plot_draws_both_outcomes():
    frame = paper_cohort()
    svg = validation.calibration_plot({o: validation.calibration(frame, o) for o in validation.OUTCOMES})
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert "Non-union at 6 months" in svg and "Progressive kyphosis" in svg
    assert "30/63" in svg and "1/46" in svg  # the group counts beside their points


def test_calibration_plot_with_no_patient_is_none():
    empty = pd.DataFrame({"group": pd.Series([], dtype=str), "non_union": pd.Series([], dtype=float)})
    assert validation.calibration_plot({"non_union": validation.calibration(empty, "non_union")}) is None


def test_decision_curve_plot_says_where_the_y_axis_is_cut():
    frame = paper_cohort()
    svg = validation.decision_curve_plot({o: validation.decision_curve(frame, o) for o in validation.OUTCOMES})
    assert "<svg" in svg and "Augment when the group is high" in svg
    assert "y axis cut at −0.05" in svg  # "augment all" reaches −0.91 at 60 %


def test_decision_curve_plot_with_too_few_events_is_none():
    assert (
        validation.decision_curve_plot({"non_union": validation.decision_curve(cohort({"low": (1, 5)}), "non_union")})
        is None
    )


def test_a_slope_under_quasi_separation_is_refused_not_printed():
    # Every event in the high group, none in low or medium (the paper's own low group had 1/46):
    # the slope runs to infinity while statsmodels reports a huge interval, not a separation.
    frame = cohort({"low": (0, 50), "medium": (0, 97), "high": (42, 52)})
    result = validation.calibration(frame, "non_union")
    assert result.slope.estimate is None and "separation" in str(result.slope.note)
    assert result.in_the_large.estimate is not None  # the overall rate is still a figure


def test_too_few_events_leave_no_expected_over_observed_either():
    result = validation.calibration(cohort({"low": (0, 50), "medium": (1, 50), "high": (1, 50)}), "non_union")
    assert result.expected_over_observed is None
