"""Logistic models as the paper fitted them (issue 14, D6) and each outcome on its own denominator
(D7): univariable odds ratios of the items and covariates (Tables 1, 5, 6), the paper's
multivariable models with their AUCs, and the whole analysis, against independent answers."""

import json
import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from sklearn.metrics import roc_auc_score

from cohort import analysis
from scoring import paper
from tests.cohort.test_analysis import in_english

Z = paper.Z_95


def cohort(n=400, seed=2):
    """A synthetic analysed frame (frame14 contract): items drive the score, the score the outcomes."""
    rng = np.random.default_rng(seed)
    points = {
        "type_points": rng.choice([0, 2], n, p=[0.7, 0.3]),
        "vhl_points": rng.choice([0, 2], n, p=[0.6, 0.4]),
        "ka_points": rng.choice([0, 2], n, p=[0.75, 0.25]),
        "t2_points": rng.choice([0, 2], n, p=[0.6, 0.4]),
        "bmd_points": rng.choice([0, 2, 4], n, p=[0.4, 0.4, 0.2]),
    }
    score = sum(points.values())
    group = np.where(score < 2, "low", np.where(score <= 4, "medium", "high"))
    risk = 1 / (1 + np.exp(-(score - 6) * 0.6))
    frame = pd.DataFrame(
        {
            "id": range(n),
            "score": score,
            "group": group,
            **points,
            "non_union": (rng.random(n) < risk).astype(float),
            "progressive_kyphosis": (rng.random(n) < risk * 0.8).astype(float),
            "female": rng.integers(0, 2, n).astype(float),
            "age": rng.uniform(60, 90, n),
            "bmi": rng.uniform(18, 32, n),
            "vas_pre": rng.uniform(3, 9, n),
            "odi_pre": rng.uniform(30, 80, n),
            "vhl_pre": rng.uniform(0, 30, n),
            "vhl_diff": rng.uniform(0, 10, n),
            "ka_pre": rng.uniform(0, 25, n),
            "ka_diff": rng.uniform(0, 15, n),
        }
    )
    frame["vhl_6m"] = frame["vhl_pre"] + frame["vhl_diff"]
    frame["ka_6m"] = frame["ka_pre"] + frame["ka_diff"]
    return frame


def two_by_two(a, b, c, d, *, column="type_points", present=2):
    """a events / b non-events with the item present; c / d without it."""
    return pd.DataFrame(
        {
            column: [present] * (a + b) + [0] * (c + d),
            "non_union": [1.0] * a + [0.0] * b + [1.0] * c + [0.0] * d,
            "score": 0,
        }
    )


def test_univariable_or_of_a_binary_item_equals_the_closed_form_2x2_odds_ratio():
    # Burst fracture: 30 events / 20 not; compression 15 / 35. OR = ad / bc, SE(log OR) = √Σ1/cell.
    a, b, c, d = 30, 20, 15, 35
    fit = analysis.univariable(two_by_two(a, b, c, d), "non_union")["burst"]
    (term,) = fit.terms
    odds_ratio, se = a * d / (b * c), math.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    assert (term.key, term.term) == ("burst", "Burst fracture")
    assert (fit.n, fit.events) == (100, 45)
    assert term.odds_ratio == pytest.approx(odds_ratio, rel=1e-6)
    assert term.ci_low == pytest.approx(math.exp(math.log(odds_ratio) - Z * se), rel=1e-6)
    assert term.ci_high == pytest.approx(math.exp(math.log(odds_ratio) + Z * se), rel=1e-6)
    assert term.p_value == pytest.approx(2 * stats.norm.sf(math.log(odds_ratio) / se), rel=1e-4)


@pytest.mark.parametrize(
    ("key", "column"), [("vhl_15", "vhl_points"), ("ka_15", "ka_points"), ("t2_diffuse_low", "t2_points")]
)
def test_each_item_is_its_2_point_indicator(key, column):
    a, b, c, d = 25, 25, 12, 38
    fit = analysis.univariable(two_by_two(a, b, c, d, column=column), "non_union")[key]
    assert fit.terms[0].odds_ratio == pytest.approx(a * d / (b * c), rel=1e-6)


def test_bmd_is_one_fit_of_two_categories_against_t_above_minus_2_5():
    # Saturated: each category's OR is its crude OR against 0 points. 0 points: 10 events / 40 not;
    # 2 points: 20 / 30 → OR (20/30)/(10/40) = 2.667; 4 points: 25 / 10 → OR (25/10)/(10/40) = 10.
    frame = pd.DataFrame(
        {
            "bmd_points": [0] * 50 + [2] * 50 + [4] * 35,
            "non_union": [1.0] * 10 + [0.0] * 40 + [1.0] * 20 + [0.0] * 30 + [1.0] * 25 + [0.0] * 10,
        }
    )
    fit = analysis.univariable(frame, "non_union")["bmd"]
    assert [t.key for t in fit.terms] == ["bmd_2", "bmd_4"]
    assert fit.terms[0].odds_ratio == pytest.approx((20 / 30) / (10 / 40), rel=1e-6)
    assert fit.terms[1].odds_ratio == pytest.approx((25 / 10) / (10 / 40), rel=1e-6)
    se_4 = math.sqrt(1 / 25 + 1 / 10 + 1 / 10 + 1 / 40)
    assert fit.terms[1].ci_low == pytest.approx(10 * math.exp(-Z * se_4), rel=1e-5)
    assert (fit.n, fit.events, fit.variables) == (135, 55, 2)


def test_bmd_without_its_reference_category_is_not_fitted():
    frame = pd.DataFrame({"bmd_points": [2] * 60 + [4] * 60, "non_union": [1.0, 0.0] * 60})
    fit = analysis.univariable(frame, "non_union")["bmd"]
    assert not fit.fitted and "no fracture in the reference category" in str(fit.note)


def test_univariable_has_every_term_of_the_paper_with_a_stable_key_and_label():
    fits = analysis.univariable(cohort(), "non_union")
    assert list(fits) == [
        "burst",
        "vhl_15",
        "ka_15",
        "t2_diffuse_low",
        "bmd",
        "score",
        "age",
        "female",
        "vas_pre",
        "odi_pre",
        "bmi",
    ]
    keys = [t.key for fit in fits.values() for t in fit.terms]
    assert keys == list(analysis.TERM_LABELS)
    assert all(fit.fitted for fit in fits.values())


def test_each_univariable_fit_uses_the_rows_where_its_term_and_the_outcome_are_known():
    frame = cohort()
    frame.loc[:49, "age"] = np.nan
    frame.loc[40:59, "non_union"] = np.nan
    fits = analysis.univariable(frame, "non_union")
    assert fits["age"].n == 400 - 60  # 0–49 no age, 40–59 no outcome
    assert fits["burst"].n == fits["score"].n == 380
    known = frame.dropna(subset=["non_union", "age"])
    direct = sm.Logit(known["non_union"], sm.add_constant(known["age"])).fit(disp=0)
    assert fits["age"].terms[0].odds_ratio == pytest.approx(math.exp(direct.params["age"]))


def test_a_continuous_covariate_or_is_per_unit():
    frame = cohort()
    fit = analysis.univariable(frame, "non_union")["score"]
    direct = sm.Logit(frame["non_union"], sm.add_constant(frame["score"].astype(float))).fit(disp=0)
    assert fit.terms[0].odds_ratio == pytest.approx(math.exp(direct.params["score"]))
    assert fit.terms[0].term == "NASOVCF score (per point)"


def test_univariable_refusals_say_why():
    enough = analysis.univariable(two_by_two(9, 41, 5, 45), "non_union")["burst"]  # 14 events, 1 variable
    assert enough.fitted
    separated = analysis.univariable(two_by_two(20, 0, 15, 35), "non_union")["burst"]
    assert not separated.fitted and "separation" in str(separated.note) and "Burst fracture" in str(separated.note)
    rare = analysis.univariable(two_by_two(5, 45, 4, 46), "non_union")["burst"]
    assert not rare.fitted and str(rare.note).startswith("Too few events to fit: 9")
    constant = analysis.univariable(two_by_two(10, 20, 0, 0), "non_union")["burst"]
    assert not constant.fitted and "does not vary here: Burst fracture" in str(constant.note)
    missing = analysis.univariable(two_by_two(20, 20, 20, 20), "non_union")["bmi"]  # no BMI column
    assert not missing.fitted and missing.n == 0 and "No fracture" in str(missing.note)


def test_the_paper_covariates():
    assert analysis.PAPER_COVARIATES == {
        "non_union": ("score", "vas_pre", "odi_pre"),
        "progressive_kyphosis": ("score", "female", "odi_pre"),
    }


@pytest.mark.parametrize("outcome", ["non_union", "progressive_kyphosis"])
def test_multivariable_uses_exactly_the_paper_covariates_on_complete_cases(outcome):
    frame = cohort()
    frame.loc[:29, "vas_pre"] = np.nan
    frame.loc[30:39, outcome] = np.nan
    frame["age"] = frame[outcome].fillna(0) * 10 + 60  # would dominate any model that used it
    fit = analysis.multivariable(frame, outcome)
    covariates = list(analysis.PAPER_COVARIATES[outcome])
    assert [t.key for t in fit.terms] == covariates == fit.predictors
    known = frame.dropna(subset=[outcome, *covariates])
    direct = sm.Logit(known[outcome], sm.add_constant(known[covariates].astype(float))).fit(disp=0)
    assert (fit.n, fit.events) == (len(known), int(known[outcome].sum()))
    assert [t.odds_ratio for t in fit.terms] == pytest.approx(np.exp(direct.params[covariates]).tolist())
    # The model's AUC from its in-sample fitted probabilities (sklearn computes it independently).
    assert fit.auc.auc == pytest.approx(roc_auc_score(known[outcome], direct.predict()))
    assert (fit.auc.n, fit.auc.events) == (fit.n, fit.events)
    assert fit.auc.ci_low < fit.auc.auc < fit.auc.ci_high


def test_a_refused_multivariable_model_has_no_auc():
    frame = cohort(n=200).assign(progressive_kyphosis=[1.0] * 25 + [0.0] * 175)  # 25 < 10 · 3
    fit = analysis.multivariable(frame, "progressive_kyphosis")
    assert not fit.fitted and fit.auc is None and "Too few events" in str(fit.note)


def test_each_outcome_has_its_own_denominator():
    # The paper's low group: 1/47 non-union, 1/46 kyphosis (one patient's kyphosis unknown).
    frame = cohort()
    low = frame.index[frame["group"] == "low"]
    unknown = low[:1]
    before = analysis.analyse(frame)
    frame.loc[unknown, "progressive_kyphosis"] = np.nan
    after = analysis.analyse(frame)
    assert after.n == 400 and after.outcome_n == {"non_union": 400, "progressive_kyphosis": 399}
    assert after.rates["non_union"]["low"].n == len(low)
    assert after.rates["progressive_kyphosis"]["low"].n == len(low) - 1
    # Non-union's analyses are untouched by the other outcome's gap.
    assert after.aucs["non_union"] == before.aucs["non_union"]
    assert after.models["non_union"] == before.models["non_union"]
    assert after.fixed_cuts["non_union"] == before.fixed_cuts["non_union"]
    assert after.univariable["non_union"] == before.univariable["non_union"]
    assert after.aucs["progressive_kyphosis"].n == 399
    assert after.fixed_cuts["progressive_kyphosis"]["score_ge_2"].n == 399


def test_the_whole_analysis_is_json_without_nan():
    frame = cohort()
    frame.loc[frame["group"] == "low", "non_union"] = np.nan  # an empty group for one outcome
    result = analysis.analyse(frame)
    assert result.rates["non_union"]["low"].rate is None
    text = json.dumps(in_english(result), allow_nan=False)
    assert '"score_gt_4"' in text and '"bmd_4"' in text


def test_model_roc_plot_draws_the_fitted_models_with_their_auc():
    result = analysis.analyse(cohort())
    svg = analysis.model_roc_plot(result.models)
    assert svg.startswith("<?xml")
    assert f"AUC {result.models['non_union'].auc.auc:.3f}" in svg
    refused = analysis.LogisticFit("non_union", 10, 2, 3, [], "Too few events")
    assert analysis.model_roc_plot({"non_union": refused}) is None


# -- the fits on covariate patterns (issue 14: the page's first computation at 20,000 fractures) ----


def recorded_cohort(n=2000, seed=14):
    """A frame with the ties a clinic records: 0/2/4 points, whole years, VAS 0–10, ODI in steps of
    2 %, BMI from height and weight in whole cm and kg (nearly one value per fracture)."""
    frame = cohort(n=n, seed=seed)
    rng = np.random.default_rng(seed + 1)
    height, weight = rng.integers(145, 185, n), rng.integers(40, 95, n)
    return frame.assign(
        age=rng.integers(60, 95, n).astype(float),
        vas_pre=rng.integers(0, 11, n).astype(float),
        odi_pre=2.0 * rng.integers(5, 45, n),
        bmi=weight / (height / 100) ** 2,
    )


def row_level_logit(frame, outcome, keys):
    """The fit on every row, as the page computed it before (statsmodels Logit, Wald, normal P)."""
    terms = analysis.term_frame(frame).dropna(subset=[outcome])[[outcome, *keys]].dropna()
    result = sm.Logit(terms[outcome].astype(int), sm.add_constant(terms[list(keys)])).fit(disp=0, maxiter=100)
    return result, terms


def assert_same_terms(fit, result, keys):
    conf = np.exp(result.conf_int().loc[list(keys)].to_numpy())
    for term, key, (low, high) in zip(fit.terms, keys, conf, strict=True):
        assert term.key == key
        assert term.odds_ratio == pytest.approx(math.exp(result.params[key]), rel=1e-8, abs=0)
        assert (term.ci_low, term.ci_high) == (
            pytest.approx(low, rel=1e-8, abs=0),
            pytest.approx(high, rel=1e-8, abs=0),
        )
        assert term.p_value == pytest.approx(result.pvalues[key], rel=1e-8, abs=1e-300)


@pytest.mark.parametrize("outcome", ["non_union", "progressive_kyphosis"])
def test_every_univariable_fit_equals_the_logit_on_every_row(outcome):
    # Grouped binomial data have the likelihood of the rows times a constant (McCullagh & Nelder
    # 1989, ch. 4): the same estimates, standard errors, Wald intervals and P, to rounding.
    frame = recorded_cohort()
    frame.loc[:99, "bmi"] = np.nan  # each fit on its own complete cases
    fits = analysis.univariable(frame, outcome)
    for key, keys in analysis.UNIVARIABLE_FITS.items():
        result, terms = row_level_logit(frame, outcome, keys)
        assert (fits[key].n, fits[key].events) == (len(terms), int(terms[outcome].sum()))
        assert_same_terms(fits[key], result, keys)


@pytest.mark.parametrize("outcome", ["non_union", "progressive_kyphosis"])
def test_each_multivariable_model_and_its_auc_equal_the_logit_on_every_row(outcome):
    frame = recorded_cohort()
    keys = analysis.PAPER_COVARIATES[outcome]
    fit = analysis.multivariable(frame, outcome)
    result, terms = row_level_logit(frame, outcome, keys)
    assert_same_terms(fit, result, keys)
    # The model's AUC from each row's fitted probability (sklearn, independently), and its interval.
    assert fit.auc.auc == pytest.approx(roc_auc_score(terms[outcome], result.predict()), rel=1e-8)
    reference = analysis.roc(result.predict(), terms[outcome].to_numpy())
    assert (fit.auc.ci_low, fit.auc.ci_high) == (pytest.approx(reference.ci_low), pytest.approx(reference.ci_high))


@pytest.mark.parametrize("outcome", ["non_union", "progressive_kyphosis"])
def test_the_fit_on_patterns_equals_the_logit_on_rows_for_every_model_of_the_page(outcome):
    # Whichever of the two the page uses for a model (the rows when the patterns are more than half
    # of them), the fit on the patterns gives the same numbers.
    frame = recorded_cohort()
    models = [*analysis.UNIVARIABLE_FITS.values(), analysis.PAPER_COVARIATES[outcome]]
    for keys in models:
        result, terms = row_level_logit(frame, outcome, keys)
        patterns = analysis.covariate_patterns(terms[list(keys)].to_numpy(), terms[outcome].to_numpy().astype(int))
        x = sm.add_constant(patterns.values, has_constant="add")
        estimates = analysis._fit_patterns(x, patterns)
        assert estimates.params == pytest.approx(result.params.to_numpy(), rel=1e-8)
        assert estimates.conf == pytest.approx(result.conf_int().to_numpy(), rel=1e-8)
        assert estimates.p_values == pytest.approx(result.pvalues.to_numpy(), rel=1e-8, abs=1e-300)


def test_covariate_patterns_group_equal_rows_and_count_their_outcomes():
    frame = analysis.term_frame(recorded_cohort())
    y = frame["non_union"].to_numpy().astype(int)
    for keys, expected in [(["burst"], 2), (["bmd_2", "bmd_4"], 3), (["score"], 7), (["vas_pre"], 11)]:
        x = frame[keys].to_numpy()
        patterns = analysis.covariate_patterns(x, y)
        assert len(patterns.values) == expected == len(frame[keys].drop_duplicates())
        assert (patterns.values[patterns.rows] == x).all()  # each row is its pattern
        assert (patterns.events + patterns.non_events).sum() == len(y) and patterns.events.sum() == y.sum()
        for i, values in enumerate(patterns.values):
            rows = (x == values).all(axis=1)
            assert (patterns.events[i], patterns.non_events[i]) == (y[rows].sum(), (1 - y[rows]).sum())


def test_a_quasi_separated_score_is_refused_as_on_the_rows():
    # Every event at score ≥ 6, every non-event at ≤ 6: no finite estimate. Logit on the rows stops
    # unconverged with the events on one side; the fit on the 6 patterns hands over to it.
    score = np.repeat([0, 2, 4, 6, 6, 8, 10], [40, 40, 40, 20, 20, 30, 30])
    y = np.repeat([0, 0, 0, 0, 1, 1, 1], [40, 40, 40, 20, 20, 30, 30])
    frame = pd.DataFrame({"score": score, "non_union": y.astype(float)})
    fit = analysis.univariable(frame, "non_union")["score"]
    assert not fit.fitted
    assert str(fit.note) == "Not fitted: separation, the predictors separate the outcomes perfectly."
    assert (fit.n, fit.events, fit.variables) == (220, 80, 1)
