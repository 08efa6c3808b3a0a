"""The cohort statistics against answers computed independently (no database)."""

import dataclasses
import itertools
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from cohort import analysis
from scoring import paper
from scoring.presenters import GROUP_LABELS
from scoring.wording import Text


def in_english(value):
    """A statistic's result as JSON's values, its words (scoring.wording.Text) in English, as the
    report's JSON gives them: the statistics return no NaN for the JSON to choke on."""
    if isinstance(value, Text):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: in_english(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {key: in_english(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [in_english(item) for item in value]
    return value


@pytest.mark.parametrize(
    ("events", "n"), [(0, 1), (0, 10), (1, 46), (1, 47), (9, 98), (39, 63), (81, 263), (63, 63), (7, 2000)]
)
def test_the_pure_wilson_interval_equals_statsmodels(events, n):
    from statsmodels.stats.proportion import proportion_confint

    low, high = proportion_confint(events, n, alpha=0.05, method="wilson")
    assert paper.wilson_interval(events, n) == (pytest.approx(low, abs=1e-12), pytest.approx(high, abs=1e-12))


def test_cohort_rates_use_the_pure_wilson_interval():
    rate = analysis.wilson(39, 63)
    assert rate.rate == pytest.approx(39 / 63)
    assert (rate.ci_low, rate.ci_high) == paper.wilson_interval(39, 63)
    empty = analysis.wilson(0, 0)  # an empty group has no rate (None, never NaN), and no error
    assert (empty.rate, empty.ci_low, empty.ci_high, empty.note) == (None, None, None, "no patients")


def test_chi_squared_on_a_hand_computable_2x2_table():
    # [[10, 20], [20, 10]]: χ² = N(ad − bc)² / (r1 r2 c1 c2) = 60 · 300² / 30⁴ = 6.667, 1 df.
    result = analysis.group_difference_test(np.array([[10, 20], [20, 10]]))
    assert result.method == "chi-squared"
    assert result.statistic == pytest.approx(60 * 300**2 / 30**4)
    assert result.p_value == pytest.approx(stats.chi2.sf(20 / 3, 1))


def test_fisher_exact_when_counts_are_small_on_a_hand_computable_table():
    # [[3, 0], [0, 3]]: only this table and its mirror are as extreme: P = 2 / C(6, 3) = 0.1.
    result = analysis.group_difference_test(np.array([[3, 0], [0, 3]]))
    assert result.method == "Fisher's exact"
    assert result.p_value == pytest.approx(2 / math.comb(6, 3))


def test_groups_without_patients_are_left_out_of_the_test():
    result = analysis.group_difference_test(np.array([[10, 20], [0, 0], [20, 10]]))
    assert result.statistic == pytest.approx(60 * 300**2 / 30**4)


def test_auc_equals_the_mann_whitney_statistic():
    scores = np.array([0, 2, 2, 4, 4, 4, 6, 8, 10, 2, 0, 6] * 2)
    outcome = np.array([0, 0, 1, 0, 1, 1, 1, 1, 1, 0, 0, 0] * 2, dtype=bool)
    u = stats.mannwhitneyu(scores[outcome], scores[~outcome]).statistic
    auc = analysis.roc(scores, outcome)
    assert auc.auc == pytest.approx(u / (outcome.sum() * (~outcome).sum()))


def test_delong_variance_equals_its_structural_components_computed_directly():
    rng = np.random.default_rng(7)
    scores = rng.choice([0, 2, 4, 6, 8, 10, 12], size=40).astype(float)
    outcome = rng.random(40) < 0.4
    positives, negatives = scores[outcome], scores[~outcome]

    def psi(x, y):
        return 1.0 if x > y else 0.5 if x == y else 0.0

    v10 = np.array([np.mean([psi(x, y) for y in negatives]) for x in positives])
    v01 = np.array([np.mean([psi(x, y) for x in positives]) for y in negatives])
    expected = np.var(v10, ddof=1) / len(positives) + np.var(v01, ddof=1) / len(negatives)
    auc, variance = analysis.delong_variance(scores, outcome)
    assert auc == pytest.approx(np.mean([psi(x, y) for x, y in itertools.product(positives, negatives)]))
    assert variance == pytest.approx(expected)


def test_youden_cut_on_a_perfectly_separating_score():
    result = analysis.roc([0, 0, 2, 2, 6, 8, 8] * 4, [0, 0, 0, 0, 1, 1, 1] * 4)
    assert result.auc == 1.0
    assert (result.youden_cut, result.sensitivity, result.specificity) == (6.0, 1.0, 1.0)


def test_logistic_fit_on_a_binary_predictor_equals_the_closed_form_odds_ratio():
    # 2×2: exposed 30 events / 20 not; unexposed 15 events / 35 not. The logistic MLE of the odds
    # ratio is ad/bc and its Wald SE of log OR is √(1/a + 1/b + 1/c + 1/d).
    a, b, c, d = 30, 20, 15, 35
    frame = pd.DataFrame(
        {
            "x": [1] * (a + b) + [0] * (c + d),
            "y": [1] * a + [0] * b + [1] * c + [0] * d,
        }
    )
    fit = analysis.logistic(frame, "y", {"x": "exposed"})
    (term,) = fit.terms
    odds_ratio = a * d / (b * c)
    se = math.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    assert term.odds_ratio == pytest.approx(odds_ratio, rel=1e-6)
    assert term.ci_low == pytest.approx(math.exp(math.log(odds_ratio) - 1.959964 * se), rel=1e-4)
    assert term.ci_high == pytest.approx(math.exp(math.log(odds_ratio) + 1.959964 * se), rel=1e-4)
    assert term.p_value == pytest.approx(2 * stats.norm.sf(math.log(odds_ratio) / se), rel=1e-4)


def test_too_few_events_per_variable_gives_a_plain_message_not_a_number():
    frame = pd.DataFrame({"x": range(40), "y": [1] * 9 + [0] * 31})
    fit = analysis.logistic(frame, "y", {"x": "score"})
    assert not fit.fitted
    assert "Too few events to fit: 9" in str(fit.note)


def test_perfect_separation_is_reported_not_fitted():
    frame = pd.DataFrame({"x": list(range(60)), "y": [0] * 30 + [1] * 30})
    fit = analysis.logistic(frame, "y", {"x": "score"})
    assert not fit.fitted and "separation" in fit.note


def test_the_whole_analysis_on_a_small_cohort():
    rng = np.random.default_rng(1)
    groups = rng.choice(["low", "medium", "high"], size=300, p=[0.25, 0.45, 0.30])
    score = np.select([groups == "low", groups == "medium"], [0, rng.choice([2, 4], 300)], rng.choice([6, 8, 10], 300))
    risk = {"low": 0.05, "medium": 0.15, "high": 0.6}
    frame = pd.DataFrame(
        {
            "score": score,
            "group": groups,
            "non_union": [rng.random() < risk[g] for g in groups],
            "progressive_kyphosis": [rng.random() < risk[g] * 0.8 for g in groups],
            "female": rng.integers(0, 2, 300).astype(float),
            "vas_pre": rng.uniform(3, 9, 300),
            "odi_pre": rng.uniform(30, 80, 300),
            "vhl_pre": rng.uniform(0, 30, 300),
            "vhl_diff": rng.uniform(0, 10, 300),
            "ka_pre": rng.uniform(0, 25, 300),
            "ka_diff": rng.uniform(0, 15, 300),
        }
    )
    result = analysis.analyse(frame)
    assert sum(result.group_n.values()) == result.n == 300
    assert result.rates["non_union"]["high"].rate > result.rates["non_union"]["low"].rate
    assert result.aucs["non_union"].auc > 0.7
    assert result.models["non_union"].fitted
    assert result.tests["non_union"].p_value < 0.001
    assert analysis.roc_plot(result.aucs).startswith("<?xml")
    assert "<svg" in analysis.model_roc_plot(result.models)
    assert "<svg" in analysis.rates_plot(result.rates, group_labels=GROUP_LABELS)


def test_fisher_exact_on_a_3x2_table_is_exact_and_repeatable():
    table = np.array([[1, 30], [5, 40], [6, 12]])
    first = analysis.group_difference_test(table)
    assert first.method == "Fisher's exact"
    assert analysis.group_difference_test(table).p_value == first.p_value  # no Monte Carlo
    # Brute force over every table with these margins, independently of the enumeration used.
    from math import comb

    rows, c1, n = table.sum(axis=1), table[:, 0].sum(), table.sum()

    def prob(x):
        return comb(int(rows[0]), x[0]) * comb(int(rows[1]), x[1]) * comb(int(rows[2]), x[2]) / comb(int(n), int(c1))

    observed = prob(table[:, 0])
    expected = sum(
        prob((a, b, int(c1) - a - b))
        for a in range(rows[0] + 1)
        for b in range(rows[1] + 1)
        if 0 <= c1 - a - b <= rows[2] and prob((a, b, int(c1) - a - b)) <= observed * (1 + 1e-7)
    )
    assert first.p_value == pytest.approx(expected)


def test_a_constant_predictor_is_left_out_and_said_so():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {"score": rng.choice([0, 2, 4, 6, 8], 400), "female": 1.0, "odi_pre": rng.uniform(20, 80, 400)}
    )
    frame["y"] = rng.random(400) < 0.1 + frame["score"] / 12
    fit = analysis.logistic(frame, "y", {"score": "score", "female": "female sex", "odi_pre": "ODI"})
    assert [t.term for t in fit.terms] == ["score", "ODI"]
    assert str(fit.note) == "Left out, as it does not vary here: female sex."


@pytest.mark.parametrize(("events", "fitted"), [(29, False), (30, True)])
def test_events_per_variable_boundary_with_three_predictors(events, fitted):
    rng = np.random.default_rng(events)
    n = 200
    frame = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "c": rng.normal(size=n)})
    frame["y"] = [1] * events + [0] * (n - events)
    fit = analysis.logistic(frame, "y", {"a": "a", "b": "b", "c": "c"})
    assert fit.fitted is fitted


# -- words (issue 16) ------------------------------------------------------------------------------

CHINESE = {
    "this clinic": "本中心",
    "Non-union at 6 months": "6 个月骨不连",
    "% of patients (95 % CI)": "患者比例（%，95% 置信区间）",
    "Low risk": "低危",
}


def test_a_plot_drawn_in_chinese_has_every_glyph():
    # matplotlib warns "Glyph … missing from font(s) DejaVu Sans" and draws a box when no font of
    # the family has the character: the family falls back to Noto Sans CJK SC (fonts-noto-cjk).
    rates = {
        outcome: {group: analysis.wilson(events, 10) for group, events in zip(analysis.GROUPS, (1, 3, 6), strict=True)}
        for outcome in analysis.OUTCOMES
    }
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        svg = analysis.rates_plot(rates, group_labels=GROUP_LABELS, translate=lambda s: CHINESE.get(s, s))
    for chinese in CHINESE.values():
        assert chinese in svg  # matplotlib writes each text as a comment beside its outline
    assert "this clinic" not in svg


def test_the_statistics_words_are_msgids_and_texts_in_english():
    fit = analysis.logistic(pd.DataFrame({"x": range(40), "y": [1] * 9 + [0] * 31}), "y", {"x": "score"})
    assert isinstance(fit.note, Text) and "%(events)s" in fit.note.msgid  # the catalogue's sentence
    assert fit.note.render(lambda message: message.replace("Too few events to fit", "事件过少")).startswith(
        "事件过少: 9"
    )
    assert analysis.TERM_LABELS["burst"] == "Burst fracture"  # a plain label is its own msgid
