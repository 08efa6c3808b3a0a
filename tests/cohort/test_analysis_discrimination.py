"""The score's discrimination (issue 14, D1, D2, D5): the AUC only above a stated minimum of events,
no DeLong interval when it is not one, the Youden cut by exact arithmetic, the paper's fixed cuts,
and DeLong's paired test of two AUCs, each against an answer computed by hand or by brute force."""

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score
from statsmodels.stats.proportion import proportion_confint

from cohort import analysis
from scoring import paper

Z = paper.Z_95


def psi(x, y):
    """A positive scored x against a negative scored y: 1 above, ½ tied, 0 below (DeLong's ψ)."""
    return 1.0 if x > y else 0.5 if x == y else 0.0


def components(scores, outcome):
    """DeLong's V10 and V01 by brute force over every pair of patients."""
    scores, outcome = np.asarray(scores, dtype=float), np.asarray(outcome, dtype=bool)
    positives, negatives = scores[outcome], scores[~outcome]
    v10 = np.array([np.mean([psi(x, y) for y in negatives]) for x in positives])
    v01 = np.array([np.mean([psi(x, y) for x in positives]) for y in negatives])
    return v10, v01


# -- D2: a minimum of events ----------------------------------------------------------------------


def test_the_minimum_of_events_for_an_auc_is_ten():
    assert analysis.MIN_EVENTS_FOR_AUC == 10


@pytest.mark.parametrize(("events", "shown"), [(9, False), (10, True)])
def test_auc_needs_ten_events(events, shown):
    scores = list(range(events)) + [x + 0.5 for x in range(30)]
    outcome = [1] * events + [0] * 30
    result = analysis.roc(scores, outcome)
    assert (result.n, result.events) == (events + 30, events)  # always carried, shown or not
    assert (result.auc is not None) is shown
    if not shown:
        assert result.ci_low is result.ci_high is result.youden_cut is None
        assert str(result.note) == "too few events: 9 with the outcome and 30 without; at least 10 of each are needed"
        assert result.fpr == result.tpr == []
    else:
        assert result.auc == pytest.approx(roc_auc_score(outcome, scores))


@pytest.mark.parametrize(("non_events", "shown"), [(9, False), (10, True)])
def test_auc_needs_ten_non_events(non_events, shown):
    scores = [x + 0.5 for x in range(20)] + list(range(non_events))
    outcome = [1] * 20 + [0] * non_events
    result = analysis.roc(scores, outcome)
    assert (result.auc is not None) is shown
    if not shown:
        assert "9 without" in str(result.note)


def test_roc_counts_only_the_patients_whose_outcome_is_known():
    scores = [0, 2, 4, 6] * 5 + [8, 8]
    outcome = [0, 0, 1, 1] * 5 + [np.nan, np.nan]
    result = analysis.roc(scores, outcome)
    assert (result.n, result.events) == (20, 10)


# -- D1: no interval when it is not one ------------------------------------------------------------


def test_perfect_separation_has_no_interval_and_says_why():
    result = analysis.roc([0] * 10 + [6] * 10, [0] * 10 + [1] * 10)
    assert result.auc == 1.0
    assert result.ci_low is result.ci_high is result.se is None
    assert str(result.note) == "the score separates the outcomes perfectly, so the DeLong variance is 0"


def test_every_score_tied_has_no_interval_and_no_cut():
    result = analysis.roc([4] * 20, [0] * 10 + [1] * 10)
    assert result.auc == 0.5
    assert result.ci_low is result.ci_high is None
    assert str(result.note) == "every score is tied, so the DeLong variance is 0"
    assert result.youden_cut is None and "Youden index is 0 or below" in result.youden_note


def test_an_interval_reaching_past_1_is_not_clipped_but_withheld_with_its_raw_bounds():
    # Ten positives scored 1; nine negatives 0 and one 1. By hand: each positive outranks 9 negatives
    # and ties 1: V10 = 9.5 / 10 = 0.95 for all (variance 0), AUC 0.95; V01 = 1 (×9) and 0.5: sample
    # variance (9 · 0.05² + 0.45²) / 9 = 0.025; var = 0 / 10 + 0.025 / 10 = 0.0025, SE 0.05;
    # raw interval 0.95 ± 1.96 · 0.05 = 0.852 to 1.048.
    result = analysis.roc([1] * 10 + [0] * 9 + [1], [1] * 10 + [0] * 10)
    assert result.auc == pytest.approx(0.95)
    assert result.se == pytest.approx(0.05)
    assert result.ci_low is result.ci_high is None
    low, high = 0.95 - Z * 0.05, 0.95 + Z * 0.05
    assert f"{low:.3f} to {high:.3f}" == "0.852 to 1.048"
    assert str(result.note) == "the normal (DeLong) interval, 0.852 to 1.048, reaches past 0 to 1, so it is not shown"


def test_an_ordinary_interval_is_the_delong_one_unclipped():
    rng = np.random.default_rng(5)
    outcome = np.array([1] * 25 + [0] * 35, dtype=bool)
    scores = np.where(outcome, rng.choice([2, 4, 6, 8], 60), rng.choice([0, 2, 4, 6], 60)).astype(float)
    v10, v01 = components(scores, outcome)
    se = math.sqrt(np.var(v10, ddof=1) / 25 + np.var(v01, ddof=1) / 35)
    auc = v10.mean()
    result = analysis.roc(scores, outcome)
    assert result.auc == pytest.approx(auc)
    assert (result.ci_low, result.ci_high) == (pytest.approx(auc - Z * se), pytest.approx(auc + Z * se))
    assert result.note == ""


def test_roc_points_run_from_0_0_to_1_1_one_per_cut():
    # Cuts ≥ 4, ≥ 2, ≥ 0 on this table: (FP, TP) = (0, 5), (3, 8), (10, 10).
    result = analysis.roc([4] * 5 + [2] * 3 + [0] * 2 + [2] * 3 + [0] * 7, [1] * 10 + [0] * 10)
    assert result.fpr == [0.0, 0.0, 0.3, 1.0]
    assert result.tpr == [0.0, 0.5, 0.8, 1.0]


# -- D5: the Youden cut ----------------------------------------------------------------------------


def test_youden_tie_goes_to_the_higher_cut():
    # P = N = 10. Cut ≥ 4: TP 5, FP 0, J = 0.5. Cut ≥ 2: TP 8, FP 3, J = 0.5. Equal: the higher, 4.
    scores = [4] * 5 + [2] * 3 + [0] * 2 + [2] * 3 + [0] * 7
    result = analysis.roc(scores, [1] * 10 + [0] * 10)
    assert (result.youden_cut, result.sensitivity, result.specificity) == (4.0, 0.5, 1.0)
    assert result.youden_index == 0.5


def test_youden_tie_is_decided_exactly_not_by_floating_point_noise():
    # Cut ≥ 4: TP 7, FP 2; cut ≥ 2: TP 8, FP 3. Both J = 0.5 exactly (7·10 − 2·10 = 8·10 − 3·10), but
    # in floats 0.7 − 0.2 < 0.8 − 0.3, which would pick the lower cut. The rule picks the higher.
    assert 0.7 - 0.2 < 0.8 - 0.3
    scores = [4] * 7 + [2] * 1 + [0] * 2 + [4] * 2 + [2] * 1 + [0] * 7
    result = analysis.roc(scores, [1] * 10 + [0] * 10)
    assert (result.youden_cut, result.sensitivity, result.specificity) == (4.0, 0.7, 0.8)
    assert "higher cut" in analysis.YOUDEN_TIE_RULE


def test_youden_cut_is_the_strict_maximum_when_there_is_one():
    # Cut ≥ 4: J = 0.5 − 0 = 0.5; cut ≥ 2: J = 0.9 − 0.3 = 0.6: the lower cut wins outright.
    scores = [4] * 5 + [2] * 4 + [0] + [2] * 3 + [0] * 7
    result = analysis.roc(scores, [1] * 10 + [0] * 10)
    assert (result.youden_cut, result.sensitivity, result.specificity) == (2.0, 0.9, 0.7)


# -- the paper's fixed cuts ------------------------------------------------------------------------


def cut_frame():
    # Counted by hand. score ≥ 2 calls the last seven: TP 4, FP 3, FN 1, TN 2.
    # score > 4 calls the last four: TP 3, FP 1, FN 2, TN 4. The row with no outcome is not counted.
    return pd.DataFrame(
        {
            "score": [0, 0, 0, 2, 2, 4, 6, 6, 8, 10, 12],
            "non_union": [0, 0, 1, 0, 1, 0, 1, 1, 0, 1, np.nan],
        }
    )


def wilson(events, n):
    return tuple(proportion_confint(events, n, alpha=0.05, method="wilson"))


def test_fixed_cuts_on_a_hand_counted_table():
    cuts = analysis.fixed_cuts(cut_frame(), "non_union")
    assert list(cuts) == ["score_ge_2", "score_gt_4"]
    medium_or_high, high = cuts["score_ge_2"], cuts["score_gt_4"]
    assert (medium_or_high.n, medium_or_high.events) == (10, 5)
    assert (medium_or_high.tp, medium_or_high.fp, medium_or_high.fn, medium_or_high.tn) == (4, 3, 1, 2)
    assert (high.tp, high.fp, high.fn, high.tn) == (3, 1, 2, 4)
    expected = {"sensitivity": (4, 5), "specificity": (2, 5), "ppv": (4, 7), "npv": (2, 3)}
    for name, (events, n) in expected.items():
        rate = getattr(medium_or_high, name)
        assert (rate.events, rate.n, rate.rate) == (events, n, events / n)
        assert (rate.ci_low, rate.ci_high) == pytest.approx(wilson(events, n), abs=1e-12)
    assert (high.sensitivity.rate, high.specificity.rate, high.ppv.rate, high.npv.rate) == (3 / 5, 4 / 5, 3 / 4, 4 / 6)


def test_a_proportion_with_no_denominator_is_none_with_its_reason():
    nobody_positive = pd.DataFrame({"score": [0, 0, 2, 2], "non_union": [0, 1, 0, 1]})
    high = analysis.fixed_cuts(nobody_positive, "non_union")["score_gt_4"]
    assert (high.ppv.rate, high.ppv.ci_low, high.ppv.ci_high) == (None, None, None)
    assert str(high.ppv.note) == "no patient is called positive at this cut"
    no_events = pd.DataFrame({"score": [0, 2, 6], "non_union": [0, 0, 0]})
    cut = analysis.fixed_cuts(no_events, "non_union")["score_ge_2"]
    assert cut.sensitivity.rate is None and str(cut.sensitivity.note) == "no patient with the outcome"
    assert cut.specificity.rate == 1 / 3


# -- DeLong's paired test ---------------------------------------------------------------------------


def paired_example():
    rng = np.random.default_rng(14)
    outcome = np.array([1] * 14 + [0] * 18, dtype=bool)
    score_a = np.where(outcome, rng.choice([2, 4, 6, 8, 10], 32), rng.choice([0, 2, 4, 6], 32)).astype(float)
    score_b = np.where(outcome, rng.choice([0, 1, 2, 3], 32), rng.choice([0, 1, 2], 32)).astype(float)
    return score_a, score_b, outcome


def test_paired_delong_equals_the_structural_components_by_brute_force():
    score_a, score_b, outcome = paired_example()
    m, n = int(outcome.sum()), int((~outcome).sum())
    v10_a, v01_a = components(score_a, outcome)
    v10_b, v01_b = components(score_b, outcome)
    s10 = np.cov(np.vstack([v10_a, v10_b]))  # 2 × 2, ddof 1
    s01 = np.cov(np.vstack([v01_a, v01_b]))
    s = s10 / m + s01 / n
    variance = s[0, 0] + s[1, 1] - 2 * s[0, 1]
    auc_a = np.mean([psi(x, y) for x, y in itertools.product(score_a[outcome], score_a[~outcome])])
    auc_b = np.mean([psi(x, y) for x, y in itertools.product(score_b[outcome], score_b[~outcome])])
    z = (auc_a - auc_b) / math.sqrt(variance)

    result = analysis.paired_delong(score_a, score_b, outcome)
    assert (result.n, result.events) == (32, 14)
    assert (result.auc_a, result.auc_b) == (pytest.approx(auc_a), pytest.approx(auc_b))
    assert result.difference == pytest.approx(auc_a - auc_b)
    assert result.se == pytest.approx(math.sqrt(variance))
    assert result.z == pytest.approx(z)
    assert result.p_value == pytest.approx(2 * stats.norm.sf(abs(z)))
    assert result.ci_low == pytest.approx(auc_a - auc_b - Z * math.sqrt(variance))
    assert result.ci_high == pytest.approx(auc_a - auc_b + Z * math.sqrt(variance))
    # Each AUC's own variance is the diagonal: the same as the single-score DeLong variance.
    assert s[0, 0] == pytest.approx(analysis.delong_variance(score_a, outcome)[1])


def test_paired_delong_is_symmetric():
    score_a, score_b, outcome = paired_example()
    ab = analysis.paired_delong(score_a, score_b, outcome)
    ba = analysis.paired_delong(score_b, score_a, outcome)
    assert (ba.auc_a, ba.auc_b) == (ab.auc_b, ab.auc_a)
    assert ba.difference == pytest.approx(-ab.difference)
    assert (ba.se, ba.p_value) == (pytest.approx(ab.se), pytest.approx(ab.p_value))
    assert (ba.ci_low, ba.ci_high) == (pytest.approx(-ab.ci_high), pytest.approx(-ab.ci_low))


def test_paired_delong_has_no_test_when_the_scores_place_every_patient_alike():
    score_a, _, outcome = paired_example()
    result = analysis.paired_delong(score_a, score_a * 2 + 1, outcome)  # the same order
    assert result.difference == 0.0
    assert result.se is result.z is result.p_value is result.ci_low is None
    assert str(result.note) == "the two scores place every patient alike, so the DeLong variance of the difference is 0"


def test_paired_delong_needs_ten_events():
    outcome = [1] * 9 + [0] * 20
    result = analysis.paired_delong(range(29), range(29), outcome)
    assert result.auc_a is result.p_value is None
    assert str(result.note).startswith("too few events: 9 with the outcome")


def test_paired_delong_uses_the_patients_with_both_scores_and_the_outcome():
    score_a, score_b, outcome = paired_example()
    a = np.append(score_a, [np.nan, 4.0, 4.0])
    b = np.append(score_b, [1.0, np.nan, 1.0])
    y = np.append(outcome.astype(float), [1.0, 1.0, np.nan])
    assert analysis.paired_delong(a, b, y) == analysis.paired_delong(score_a, score_b, outcome)


def test_head_to_head_compares_nasovcf_with_genant_and_of_on_the_same_patients_per_outcome():
    score_a, score_b, outcome = paired_example()
    frame = pd.DataFrame(
        {
            "score": score_a,
            "genant_grade": score_b,
            "of_class": [f"OF{1 + int(s) // 3}" for s in score_a],
            "non_union": outcome.astype(float),
            "progressive_kyphosis": outcome.astype(float),
        }
    )
    frame.loc[:3, "progressive_kyphosis"] = np.nan  # not known for four: non-union keeps them
    frame.loc[len(frame)] = {"score": 4, "genant_grade": np.nan, "of_class": "OF2", "non_union": 1}
    result = analysis.head_to_head(frame)
    assert result.n == 32
    non_union, kyphosis = result.outcomes["non_union"], result.outcomes["progressive_kyphosis"]
    assert (non_union.n, kyphosis.n) == (32, 28)
    assert non_union.comparisons["genant_grade"] == analysis.paired_delong(score_a, score_b, outcome)
    of_rank = frame["of_class"].map(analysis.OF_ORDER)[:32]
    assert non_union.aucs["of_rank"].auc == pytest.approx(roc_auc_score(outcome, of_rank))
    assert non_union.comparisons["of_rank"].difference == pytest.approx(
        non_union.aucs["score"].auc - non_union.aucs["of_rank"].auc
    )
    assert result.aucs["non_union"] is non_union.aucs


def test_roc_plot_draws_only_the_curves_with_enough_events():
    enough = analysis.roc([0] * 10 + [6] * 10, [0] * 10 + [1] * 10)
    too_few = analysis.roc([0] * 10 + [6] * 3, [0] * 10 + [1] * 3)
    svg = analysis.roc_plot({"non_union": enough, "progressive_kyphosis": too_few})
    assert "AUC 1.000" in svg and "Progressive kyphosis" not in svg
    assert analysis.roc_plot({"non_union": too_few}) is None
