"""The paper's analyses on a clinic's own patients (spec §5): rates by group with Wilson intervals,
a test across groups, the score's discrimination (ROC, AUC with DeLong intervals, the Youden cut,
the paper's fixed cuts), a paired comparison of AUCs, logistic regression. The group comparisons
and descriptive tables are in cohort/groups.py, reader agreement in cohort/agreement.py,
calibration and decision curves in cohort/validation.py.

No Django here: the cohort arrives as a pandas DataFrame (one row per fracture) and results leave
as frozen dataclasses of plain values. Statistics come from libraries (statsmodels for the logistic
models, scipy for the tests and the normal distribution) and from the pure core (the Wilson
interval, scoring/paper.py). Written here by hand, because none of them provides it: DeLong's
variance of an AUC and the covariance of two AUCs measured on the same patients (DeLong, DeLong &
Clarke-Pearson 1988, the paired test comparing NASOVCF with Genant and OF; scikit-learn, scipy,
statsmodels and pingouin have no DeLong), and the Youden cut, decided in exact integer
arithmetic so that a tie is settled by a stated rule and not by floating-point noise.

Each outcome has its own denominator (the rows where it is known); nothing computed here is shown
below a stated minimum of events, and an interval that is not one (zero width, or reaching past
the range of its estimate) is replaced by a note saying why. The paper's own figures are in
scoring/paper.py.

Words (issue 16): every note, label and name of a test is English, as a gettext msgid marked with
`gettext_noop` or a `scoring.wording.Text` (a sentence with values), never a sentence built here
in one language; the presentation translates it (`nasovcf_site.i18n.words`). The plots take a
`translate` (a gettext) for their texts, and their font draws Chinese.
"""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import stats

from scoring import paper, rules
from scoring.wording import Text, gettext_noop, text

from . import formatting

GROUPS = tuple(group.value for group in rules.RiskGroup)
MIN_EVENTS_PER_VARIABLE = 10  # below this a logistic fit is not reported (Peduzzi et al. 1996)
MAX_PATTERNS_PER_ROW = 0.5  # more covariate patterns per row than this: a logistic model is fitted on the rows
MIN_EVENTS_FOR_AUC = 10  # fewer events, or fewer non-events: no AUC, interval or cut is reported
MIN_EXPECTED_FOR_CHI2 = 5  # below this, Fisher's exact test instead of χ²
Z_95 = paper.Z_95
YOUDEN_TIE_RULE = gettext_noop(
    "When two cuts of the score give the same Youden index, the higher cut is taken (fewer patients called positive)."
)

OUTCOMES = {
    "non_union": gettext_noop("Non-union at 6 months"),
    "progressive_kyphosis": gettext_noop("Progressive kyphosis (> 10°)"),
}


@dataclass(frozen=True)
class Rate:
    events: int
    n: int
    rate: float | None  # None when n is 0 (note says why)
    ci_low: float | None
    ci_high: float | None
    note: str = ""  # a msgid (scoring.wording), "" when there is nothing to say


def wilson(events: int, n: int, *, empty: str = gettext_noop("no patients")) -> Rate:
    """A proportion with its Wilson 95 % interval (the pure core's, scoring/paper.py). With no
    patient there is no proportion: None, and `empty` (a msgid) says why."""
    if n == 0:
        return Rate(0, 0, None, None, None, empty)
    low, high = paper.wilson_interval(int(events), int(n))
    return Rate(int(events), int(n), events / n, low, high)


@dataclass(frozen=True)
class GroupTest:
    method: str  # "chi-squared" or "Fisher's exact" (msgids), or "none"
    statistic: float | None
    p_value: float | None
    note: str | Text = ""  # a msgid or a Text (scoring.wording), "" when there is nothing to say


def group_difference_test(table: np.ndarray) -> GroupTest:
    """Do the groups differ? χ² on the groups × (event, no event) table, Fisher's exact test when an
    expected count is below 5. Groups with no patient are left out."""
    table = np.asarray(table, dtype=int)
    table = table[table.sum(axis=1) > 0]
    if table.shape[0] < 2 or (table.sum(axis=0) == 0).any():
        return GroupTest("none", None, None, gettext_noop("needs two groups with patients and both outcomes present"))
    expected = stats.contingency.expected_freq(table)
    if (expected < MIN_EXPECTED_FOR_CHI2).any():
        return GroupTest(
            gettext_noop("Fisher's exact"),
            None,
            fisher_exact_r_by_2(table),
            gettext_noop("some expected counts are below 5"),
        )
    chi2, p, dof, _ = stats.chi2_contingency(table, correction=False)
    return GroupTest(
        gettext_noop("chi-squared"),
        float(chi2),
        float(p),
        text(gettext_noop("%(dof)s degrees of freedom"), dof=int(dof)),
    )


def fisher_exact_r_by_2(table: np.ndarray) -> float:
    """Fisher's exact test (Freeman–Halton) for an R×2 table: the probability, with the margins
    fixed, of every table no more likely than the one observed. Exact, by enumerating the first
    column (SciPy's R×C version is a Monte Carlo estimate that changes on every call)."""
    table = np.asarray(table, dtype=int)
    if table.shape[0] == 2:
        return float(stats.fisher_exact(table).pvalue)
    rows, first_column, total = table.sum(axis=1), int(table[:, 0].sum()), int(table.sum())

    def log_probability(column: tuple[int, ...]) -> float:
        # multivariate hypergeometric: Π C(r_i, x_i) / C(N, c1)
        return float(sum(_log_comb(r, x) for r, x in zip(rows, column, strict=True)) - _log_comb(total, first_column))

    observed = log_probability(tuple(table[:, 0]))
    p_value = 0.0
    for column in _columns(rows.tolist(), first_column):
        log_p = log_probability(column)
        if log_p <= observed + 1e-7:
            p_value += math.exp(log_p)
    return min(1.0, p_value)


def _log_comb(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def _columns(rows: list[int], total: int):
    """Every first column with these row sums that adds up to `total`."""
    if len(rows) == 1:
        if 0 <= total <= rows[0]:
            yield (total,)
        return
    for first in range(max(0, total - sum(rows[1:])), min(rows[0], total) + 1):
        for rest in _columns(rows[1:], total - first):
            yield (first, *rest)


# -- discrimination: ROC, AUC, DeLong, the Youden cut ---------------------------------------------


@dataclass(frozen=True)
class Auc:
    """The ROC of a score for one outcome. `auc` is None below MIN_EVENTS_FOR_AUC events or
    non-events; `ci_low`/`ci_high` are None when the DeLong interval is not an interval (zero
    variance, or the normal interval reaches past 0–1): `note` says which. The Youden cut is
    "score ≥ youden_cut", chosen by YOUDEN_TIE_RULE; `youden_note` says why there is none."""

    n: int
    events: int
    auc: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    se: float | None = None  # DeLong standard error of the AUC
    note: str | Text = ""  # a msgid or a Text (scoring.wording), "" when there is nothing to say
    youden_cut: float | None = None
    youden_index: float | None = None  # sensitivity + specificity − 1 at the cut
    sensitivity: float | None = None  # at the Youden cut, in-sample
    specificity: float | None = None
    youden_note: str = ""  # a msgid
    fpr: list[float] = field(default_factory=list)  # ROC points, (0, 0) to (1, 1), for the plot
    tpr: list[float] = field(default_factory=list)


def _known(scores, outcome) -> tuple[np.ndarray, np.ndarray]:
    """The pairs where both the score and the outcome are known; the outcome as booleans."""
    scores = np.asarray(scores, dtype=float)
    outcome = np.asarray(outcome, dtype=float)
    keep = np.isfinite(scores) & np.isfinite(outcome)
    return scores[keep], outcome[keep] == 1


def _placement_counts(scores: np.ndarray, outcome: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DeLong's structural components as counts, by the midranks of Sun & Xu (2014), O(n log n):
    for each patient with the outcome, the patients without it that score lower (ties one half);
    for each patient without it, the patients with it that score higher. Midranks are whole or
    half numbers, so these counts are exact in floating point: a zero variance is found exactly."""
    positives, negatives = scores[outcome], scores[~outcome]
    m = len(positives)
    ranks_all = stats.rankdata(np.concatenate([positives, negatives]))
    above = ranks_all[:m] - stats.rankdata(positives)
    below = m - (ranks_all[m:] - stats.rankdata(negatives))
    return above, below


def delong_variance(scores: np.ndarray, outcome: np.ndarray) -> tuple[float, float]:
    """AUC and its variance by DeLong, DeLong & Clarke-Pearson (1988): the variance of the
    structural components V10 (per patient with the outcome) over m plus that of V01 over n."""
    scores = np.asarray(scores, dtype=float)
    outcome = np.asarray(outcome, dtype=bool)
    above, below = _placement_counts(scores, outcome)
    m, n = len(above), len(below)
    auc = above.sum() / (m * n)
    variance = np.var(above / n, ddof=1) / m + np.var(below / m, ddof=1) / n
    return float(auc), float(variance)


def _too_few_events(events: int, non_events: int) -> Text:
    return text(
        gettext_noop(
            "too few events: %(events)s with the outcome and %(non_events)s without; "
            "at least %(minimum)s of each are needed"
        ),
        events=events,
        non_events=non_events,
        minimum=MIN_EVENTS_FOR_AUC,
    )


def _zero_variance_note(scores: np.ndarray, auc: float) -> str:
    if np.unique(scores).size == 1:
        return gettext_noop("every score is tied, so the DeLong variance is 0")
    if auc == 1.0:
        return gettext_noop("the score separates the outcomes perfectly, so the DeLong variance is 0")
    if auc == 0.0:
        return gettext_noop("the score separates the outcomes perfectly, in reverse, so the DeLong variance is 0")
    return gettext_noop("every patient is placed alike, so the DeLong variance is 0")


def _outside_note(low: float, high: float, bounds: tuple[float, float]) -> Text:
    return text(
        gettext_noop(
            "the normal (DeLong) interval, %(low)s to %(high)s, reaches past %(lower)s to %(upper)s, so it is not shown"
        ),
        low=formatting.ratio(low),
        high=formatting.ratio(high),
        lower=f"{bounds[0]:g}",
        upper=f"{bounds[1]:g}",
    )


def roc(scores, outcome) -> Auc:
    """ROC curve, AUC with a DeLong 95 % interval, and the Youden cut of the score, on the
    patients whose score and outcome are known."""
    scores, outcome = _known(scores, outcome)
    events = int(outcome.sum())
    non_events = len(outcome) - events
    if min(events, non_events) < MIN_EVENTS_FOR_AUC:
        return Auc(n=len(outcome), events=events, note=_too_few_events(events, non_events))
    above, below = _placement_counts(scores, outcome)
    auc = float(above.sum() / (events * non_events))
    ci_low = ci_high = se = None
    if (above == above[0]).all() and (below == below[0]).all():
        note = _zero_variance_note(scores, auc)
    else:
        se = math.sqrt(np.var(above / non_events, ddof=1) / events + np.var(below / events, ddof=1) / non_events)
        low, high = auc - Z_95 * se, auc + Z_95 * se
        if low < 0 or high > 1:
            note = _outside_note(low, high, (0, 1))
        else:
            ci_low, ci_high, note = low, high, ""
    cuts = _cut_counts(scores, outcome)
    return Auc(
        n=len(outcome),
        events=events,
        auc=auc,
        ci_low=ci_low,
        ci_high=ci_high,
        se=se,
        note=note,
        **_youden(cuts, events, non_events),
        **_roc_points(cuts, events, non_events),
    )


def _roc_points(cuts: list[tuple[float, int, int]], events: int, non_events: int) -> dict[str, list[float]]:
    """The ROC curve from (0, 0) through every cut to (1, 1), without a point that lies between two
    equal steps, on the line joining its neighbours (scikit-learn's drop_intermediate, compared in
    exact counts), so a model's fitted probabilities do not give one point per patient."""
    fp = np.array([0, *(f for _, _, f in cuts)])
    tp = np.array([0, *(t for _, t, _ in cuts)])
    keep = np.r_[True, (np.diff(fp, 2) != 0) | (np.diff(tp, 2) != 0), True]
    return {"fpr": (fp[keep] / non_events).tolist(), "tpr": (tp[keep] / events).tolist()}


def _cut_counts(scores: np.ndarray, outcome: np.ndarray) -> list[tuple[float, int, int]]:
    """For each observed score c, highest first: (c, TP, FP) when "score ≥ c" is called positive."""
    values = np.unique(scores)[::-1]
    positives, negatives = np.sort(scores[outcome]), np.sort(scores[~outcome])
    tp = len(positives) - np.searchsorted(positives, values, side="left")
    fp = len(negatives) - np.searchsorted(negatives, values, side="left")
    return [(float(c), int(t), int(f)) for c, t, f in zip(values, tp, fp, strict=True)]


def _youden(cuts: list[tuple[float, int, int]], events: int, non_events: int) -> dict:
    """The cut maximising J = sensitivity + specificity − 1, compared exactly: J·P·N = TP·N − FP·P
    in integers. Cuts come highest first and only a strictly greater J replaces the best, so a tie
    keeps the higher cut (YOUDEN_TIE_RULE)."""
    best, best_j = None, 0
    for cut, tp, fp in cuts:
        j = tp * non_events - fp * events
        if j > best_j:
            best, best_j = (cut, tp, fp), j
    if best is None:
        return {
            "youden_note": gettext_noop(
                "the Youden index is 0 or below at every cut (the score does not separate the outcomes)"
            )
        }
    cut, tp, fp = best
    return {
        "youden_cut": cut,
        "youden_index": best_j / (events * non_events),
        "sensitivity": tp / events,
        "specificity": (non_events - fp) / non_events,
    }


# -- the paper's fixed cuts -----------------------------------------------------------------------

# key → (label, threshold, inclusive): the paper's groups, "medium or high" is score ≥ 2, "high" > 4.
FIXED_CUTS = {
    "score_ge_2": (gettext_noop("score ≥ 2 (medium or high group)"), 2, True),
    "score_gt_4": (gettext_noop("score > 4 (high group)"), 4, False),
}


@dataclass(frozen=True)
class CutPerformance:
    key: str
    label: str  # a msgid
    n: int
    events: int
    tp: int
    fp: int
    fn: int
    tn: int
    sensitivity: Rate  # TP / (TP + FN)
    specificity: Rate  # TN / (TN + FP)
    ppv: Rate  # TP / (TP + FP)
    npv: Rate  # TN / (TN + FN)


def fixed_cuts(frame: pd.DataFrame, outcome: str) -> dict[str, CutPerformance]:
    """Sensitivity, specificity, PPV and NPV of the paper's cuts, each with its Wilson interval, on
    the fractures whose outcome is known. A proportion with no denominator is None, with why."""
    data = frame.dropna(subset=[outcome, "score"])
    y = data[outcome].to_numpy(dtype=float) == 1
    score = data["score"].to_numpy(dtype=float)
    results = {}
    for key, (label, threshold, inclusive) in FIXED_CUTS.items():
        called = score >= threshold if inclusive else score > threshold
        tp, fp = int((called & y).sum()), int((called & ~y).sum())
        fn, tn = int((~called & y).sum()), int((~called & ~y).sum())
        results[key] = CutPerformance(
            key=key,
            label=label,
            n=len(y),
            events=int(y.sum()),
            tp=tp,
            fp=fp,
            fn=fn,
            tn=tn,
            sensitivity=wilson(tp, tp + fn, empty=gettext_noop("no patient with the outcome")),
            specificity=wilson(tn, tn + fp, empty=gettext_noop("no patient without the outcome")),
            ppv=wilson(tp, tp + fp, empty=gettext_noop("no patient is called positive at this cut")),
            npv=wilson(tn, tn + fn, empty=gettext_noop("no patient is called negative at this cut")),
        )
    return results


# -- two AUCs on the same patients: DeLong's paired test -------------------------------------------


@dataclass(frozen=True)
class PairedAuc:
    """AUC(a) − AUC(b) on the same patients, by DeLong's covariance of the structural components.
    None (with `note`) below MIN_EVENTS_FOR_AUC, and no z, P or interval when the variance of the
    difference is 0."""

    n: int
    events: int
    auc_a: float | None = None
    auc_b: float | None = None
    difference: float | None = None  # auc_a − auc_b
    se: float | None = None
    z: float | None = None
    p_value: float | None = None  # two-sided
    ci_low: float | None = None  # 95 % interval of the difference
    ci_high: float | None = None
    note: str | Text = ""  # a msgid or a Text (scoring.wording), "" when there is nothing to say


def paired_delong(score_a, score_b, outcome) -> PairedAuc:
    """Compare two scores' AUCs on the patients for whom both scores and the outcome are known
    (DeLong, DeLong & Clarke-Pearson 1988): var(Â − B̂) = S_aa + S_bb − 2 S_ab, with S the
    covariance of the components V10 over m plus that of V01 over n; z = (Â − B̂) / SE."""
    a = np.asarray(score_a, dtype=float)
    b = np.asarray(score_b, dtype=float)
    y = np.asarray(outcome, dtype=float)
    keep = np.isfinite(a) & np.isfinite(b) & np.isfinite(y)
    a, b, y = a[keep], b[keep], y[keep] == 1
    events = int(y.sum())
    non_events = len(y) - events
    if min(events, non_events) < MIN_EVENTS_FOR_AUC:
        return PairedAuc(n=len(y), events=events, note=_too_few_events(events, non_events))
    above_a, below_a = _placement_counts(a, y)
    above_b, below_b = _placement_counts(b, y)
    auc_a = float(above_a.sum() / (events * non_events))
    auc_b = float(above_b.sum() / (events * non_events))
    base = {"n": len(y), "events": events, "auc_a": auc_a, "auc_b": auc_b, "difference": auc_a - auc_b}
    # The variance of the difference is that of the components' differences: exact counts, so
    # a difference that does not vary is found exactly, not as a rounding residue.
    above_d, below_d = above_a - above_b, below_a - below_b
    if (above_d == above_d[0]).all() and (below_d == below_d[0]).all():
        alike = (above_d == 0).all() and (below_d == 0).all()
        note = (
            gettext_noop("the two scores place every patient alike, so the DeLong variance of the difference is 0")
            if alike
            else gettext_noop("the DeLong variance of the difference is 0")
        )
        return PairedAuc(**base, note=note)
    s10 = np.cov(np.vstack([above_a, above_b]) / non_events, ddof=1)
    s01 = np.cov(np.vstack([below_a, below_b]) / events, ddof=1)
    covariance = s10 / events + s01 / non_events
    variance = float(covariance[0, 0] + covariance[1, 1] - 2 * covariance[0, 1])
    se = math.sqrt(max(variance, 0.0))
    if se == 0.0:
        return PairedAuc(**base, note=gettext_noop("the DeLong variance of the difference is 0"))
    difference = base["difference"]
    z = difference / se
    low, high = difference - Z_95 * se, difference + Z_95 * se
    interval = {"ci_low": low, "ci_high": high, "note": ""}
    if low < -1 or high > 1:
        interval = {"note": _outside_note(low, high, (-1, 1))}
    return PairedAuc(**base, se=se, z=z, p_value=float(2 * stats.norm.sf(abs(z))), **interval)


# -- logistic regression (Tables 1, 5, 6) ---------------------------------------------------------

TERM_LABELS = {
    "burst": gettext_noop("Burst fracture"),
    "vhl_15": gettext_noop("VHL ≥ 15 %"),
    "ka_15": gettext_noop("KA ≥ 15°"),
    "t2_diffuse_low": gettext_noop("Diffuse low T2 signal"),
    "bmd_2": gettext_noop("T-score −3.5 < T ≤ −2.5 (against T > −2.5)"),
    "bmd_4": gettext_noop("T-score ≤ −3.5 (against T > −2.5)"),
    "score": gettext_noop("NASOVCF score (per point)"),
    "age": gettext_noop("Age (per year)"),
    "female": gettext_noop("Female sex"),
    "vas_pre": gettext_noop("Pretreatment VAS (per point)"),
    "odi_pre": gettext_noop("Pretreatment ODI (per point)"),
    "bmi": gettext_noop("BMI (per kg/m²)"),
}
# An item's indicator: (the frame's points column, the points that mean "present"); spec §1.
ITEM_INDICATORS = {
    "burst": ("type_points", 2),
    "vhl_15": ("vhl_points", 2),
    "ka_15": ("ka_points", 2),
    "t2_diffuse_low": ("t2_points", 2),
    "bmd_2": ("bmd_points", 2),
    "bmd_4": ("bmd_points", 4),
}
COVARIATES = ("score", "age", "female", "vas_pre", "odi_pre", "bmi")
BINARY_TERMS = (*ITEM_INDICATORS, "female")
# Table 1 and the covariates: one fit each; BMD is one fit of its two categories against 0 points.
UNIVARIABLE_FITS = {
    "burst": ("burst",),
    "vhl_15": ("vhl_15",),
    "ka_15": ("ka_15",),
    "t2_diffuse_low": ("t2_diffuse_low",),
    "bmd": ("bmd_2", "bmd_4"),
    **{covariate: (covariate,) for covariate in COVARIATES},
}
# The paper's multivariable models (spec §5): the covariates it kept for each outcome.
PAPER_COVARIATES = {
    "non_union": ("score", "vas_pre", "odi_pre"),
    "progressive_kyphosis": ("score", "female", "odi_pre"),
}


@dataclass(frozen=True)
class OddsRatio:
    term: str  # the label (a msgid)
    odds_ratio: float
    ci_low: float
    ci_high: float
    p_value: float
    key: str = ""  # the stable key (TERM_LABELS)


@dataclass(frozen=True)
class LogisticFit:
    outcome: str
    n: int  # complete cases: the outcome and every predictor known
    events: int
    variables: int
    terms: list[OddsRatio]
    # Why no fit is shown, when none is, or what was left out: a msgid or a Text (scoring.wording).
    note: str | Text = ""
    predictors: list[str] = field(default_factory=list)  # the keys asked for
    auc: Auc | None = None  # the model's in-sample AUC (multivariable models)

    @property
    def fitted(self) -> bool:
        return bool(self.terms)


def term_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The regression terms from the analysed frame: the items as 0/1 indicators, the covariates as
    numbers; NaN where the source is not recorded (or the column is absent). One float array
    underneath, which each fit's selection of columns and complete cases reads without copying
    the analysed frame's many columns."""

    def numbers(column: str) -> np.ndarray:
        if column not in frame:
            return np.full(len(frame), np.nan)
        return frame[column].to_numpy(dtype=float, na_value=np.nan)

    def indicator(column: str, points: int) -> np.ndarray:
        values = numbers(column)
        return np.where(np.isnan(values), np.nan, values == points)

    terms = {key: indicator(column, points) for key, (column, points) in ITEM_INDICATORS.items()}
    terms.update({key: numbers(key) for key in COVARIATES})
    terms.update({outcome: numbers(outcome) for outcome in OUTCOMES if outcome in frame})
    if "bmd_points" in frame:
        terms["bmd_reference"] = indicator("bmd_points", 0)
    return pd.DataFrame(np.column_stack(list(terms.values())), index=frame.index, columns=list(terms))


def logistic(frame: pd.DataFrame, outcome: str, predictors: dict[str, str], *, model_auc: bool = False) -> LogisticFit:
    """Logistic regression of `outcome` on the predictors (statsmodels), on the complete cases, as
    odds ratios with Wald 95 % intervals and P. Refuses to report a fit rather than print a
    meaningless number: fewer than 10 events per variable, a binary predictor with an empty cell
    of its 2×2 table (separation: the odds ratio is infinite or 0), a fit that does not converge.
    A predictor that does not vary is left out, and said so. No intercept is reported.

    Fitted on the covariate patterns rather than on every row (`_fit_patterns`), the quicker fit
    when the fractures share few patterns (an item has 2, the score 7): the estimates, standard
    errors, intervals and P are those of the fit on the rows. On the rows (`_fit_rows`, statsmodels'
    Logit) when the patterns are more than half the rows (BMI, from height and weight, has nearly
    one per fracture: grouping saves nothing there), or when the fit on the patterns does not end
    cleanly: the rows then decide whether and why the fit is refused, as they always did."""
    import statsmodels.api as sm

    columns = list(predictors)
    table = frame[[outcome, *columns]].to_numpy(dtype=float, na_value=np.nan)
    table = table[~np.isnan(table).any(axis=1)]  # the complete cases
    y = table[:, 0].astype(int)
    n, events = len(y), int(y.sum())
    asked = {"predictors": columns}
    if not n:
        return LogisticFit(
            outcome, 0, 0, 0, [], gettext_noop("No fracture has the outcome and every predictor recorded."), **asked
        )
    limiting = min(events, n - events)
    patterns = covariate_patterns(table[:, 1:], y)
    # A predictor that does not vary (e.g. sex, when the filter keeps one sex) cannot be estimated.
    # Leaving it out leaves the patterns as they are: it has the one value in all of them.
    varies = [np.unique(patterns.values[:, i]).size > 1 for i in range(len(columns))]
    constant = [c for c, v in zip(columns, varies, strict=True) if not v]
    columns = [c for c, v in zip(columns, varies, strict=True) if v]
    values = patterns.values[:, varies]
    dropped = [predictors[c] for c in constant]
    if not columns:
        return LogisticFit(
            outcome, n, events, 0, [], _left_out(dropped, gettext_noop("No predictor left to fit.")), **asked
        )

    def refused(why: str | Text) -> LogisticFit:
        return LogisticFit(outcome, n, events, len(columns), [], _left_out(dropped, why), **asked)

    if limiting < MIN_EVENTS_PER_VARIABLE * len(columns):
        return refused(
            text(
                gettext_noop(
                    "Too few events to fit: %(events)s in the rarer outcome for %(variables)s variable(s); "
                    "at least %(minimum)s per variable are needed."
                ),
                events=limiting,
                variables=len(columns),
                minimum=MIN_EVENTS_PER_VARIABLE,
            )
        )
    separated = [c for i, c in enumerate(columns) if c in BINARY_TERMS and _has_empty_cell(values[:, i], patterns)]
    if separated:
        return refused(
            text(
                gettext_noop(
                    "Not fitted: separation, %(terms)s has an empty cell in its 2×2 table with the outcome "
                    "(the odds ratio would be infinite or 0)."
                ),
                terms=_names(predictors[c] for c in separated),
            )
        )
    x = sm.add_constant(values, has_constant="add")  # one row per pattern
    estimates = _fit_patterns(x, patterns) if len(x) <= n * MAX_PATTERNS_PER_ROW else None
    if estimates is None:
        estimates = _fit_rows(x[patterns.rows], y)
    if isinstance(estimates, (str, Text)):
        return refused(estimates)
    params, conf, p_values = estimates
    terms = [
        OddsRatio(
            key=column,
            term=predictors[column],
            odds_ratio=float(np.exp(params[i + 1])),
            ci_low=float(np.exp(conf[i + 1][0])),
            ci_high=float(np.exp(conf[i + 1][1])),
            p_value=float(p_values[i + 1]),
        )
        for i, column in enumerate(columns)
    ]
    if not all(math.isfinite(value) for t in terms for value in (t.odds_ratio, t.ci_low, t.ci_high, t.p_value)):
        return refused(gettext_noop("The model could not be fitted (infinite estimates)."))
    # Each row's fitted probability is its pattern's.
    auc = roc(_expit(x @ params)[patterns.rows], y) if model_auc else None
    return LogisticFit(outcome, n, events, len(columns), terms, _left_out(dropped, ""), auc=auc, **asked)


def _names(labels) -> list[Text]:
    """Terms' labels (msgids) as a list a Text names them by: each translated, joined with ", "."""
    return [text(label) for label in labels]


def _left_out(dropped: list[str], why: str | Text) -> str | Text:
    """A fit's note: the predictors left out because they do not vary (their labels), then why
    there is no fit (a msgid or a Text; "" when there is one)."""
    if not dropped:
        return why
    if not why:
        return text(gettext_noop("Left out, as it does not vary here: %(terms)s."), terms=_names(dropped))
    return text(
        gettext_noop("Left out, as it does not vary here: %(terms)s. %(why)s"),
        terms=_names(dropped),
        why=why if isinstance(why, Text) else text(why),
    )


class CovariatePatterns(NamedTuple):
    """The distinct rows of a predictor matrix, each with its events and non-events."""

    values: np.ndarray  # one row per pattern: the predictors' values
    events: np.ndarray  # per pattern: its rows with the outcome
    non_events: np.ndarray  # per pattern: its rows without
    rows: np.ndarray  # per row of the matrix: the index of its pattern


class _Estimates(NamedTuple):
    params: np.ndarray  # the intercept first
    conf: np.ndarray  # Wald 95 % interval of each, one row each
    p_values: np.ndarray


def covariate_patterns(x: np.ndarray, y: np.ndarray) -> CovariatePatterns:
    """Group the rows of `x` (no NaN) by their exact values, counting the 0/1 outcome `y` in each:
    nothing is rounded or binned, rows share a pattern only when every predictor is equal. Each
    column is coded by its distinct values (hashing, no sort) and the codes combined column by
    column, recoded at each step so that the key stays below the number of rows."""
    key, size = np.zeros(len(x), dtype=np.int64), 1
    for column in x.T:
        codes, levels = pd.factorize(column)
        key, unique = pd.factorize(key * levels.size + codes)
        size = unique.size
    values = np.empty((size, x.shape[1]))
    values[key] = x  # the rows of a pattern are equal: any of them gives its values
    totals = np.bincount(key, minlength=size)
    events = np.bincount(key[y == 1], minlength=size)
    return CovariatePatterns(values=values, events=events, non_events=totals - events, rows=key)


def _fit_patterns(x: np.ndarray, patterns: CovariatePatterns) -> _Estimates | None:
    """The logistic model as a binomial GLM on the covariate patterns (`x`, one row each with the
    constant): each pattern is one binomial observation, its events out of its fractures. Its
    likelihood is the rows' Bernoulli likelihood times a constant (the binomial coefficients), so
    the maximum-likelihood estimates and the information matrix, hence the standard errors, Wald
    intervals and P, are those of the fit on the rows (McCullagh & Nelder, Generalized Linear
    Models, 2nd ed. 1989, ch. 4, binary data; Agresti, Categorical Data Analysis, grouped and
    ungrouped binary data); the deviance and likelihood are not, and neither is reported. A 0/1
    item has 2 patterns and the score 7, where the rows are thousands.

    Fitted as statsmodels' Logit fits the rows: Newton's method from zero, with its tolerance and
    iteration limit, and its check after each step that no row's fitted probability equals its
    outcome (done on the patterns: one with both outcomes cannot). None when the fit does not end
    cleanly (no convergence, a perfect prediction, an error, an estimate or interval that is not
    finite): GLM's Newton steps break down where fitted probabilities reach 0 or 1 in floating
    point, which Logit's do not, so the rows are then fitted and decide, exactly as before."""
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    perfect = []

    def check_perfect_prediction(params: np.ndarray) -> None:
        probability = _expit(x @ params)
        with_events, with_non_events = probability[patterns.events > 0], probability[patterns.non_events > 0]
        if np.all(np.abs(with_events - 1) <= 1e-8) and np.all(np.abs(with_non_events) <= 1e-8):
            perfect.append(params)

    model = sm.GLM(np.column_stack([patterns.events, patterns.non_events]), x, family=sm.families.Binomial())
    with warnings.catch_warnings(record=True) as caught, np.errstate(all="ignore"):
        warnings.simplefilter("always", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            result = model.fit(
                method="newton",
                start_params=np.zeros(x.shape[1]),
                max_start_irls=0,
                maxiter=100,
                disp=0,
                callback=check_perfect_prediction,
            )
        except (np.linalg.LinAlgError, ValueError):
            return None
        estimates = _Estimates(np.asarray(result.params), np.asarray(result.conf_int()), np.asarray(result.pvalues))
        finite = np.isfinite(np.exp(estimates.conf[1:])).all() and np.isfinite(estimates.p_values[1:]).all()
    if perfect or any(w.category is ConvergenceWarning for w in caught) or not finite:
        return None
    return estimates


def _fit_rows(x: np.ndarray, y: np.ndarray) -> _Estimates | str | Text:
    """statsmodels' Logit on the rows (`x` with the constant): the estimates, or why none is
    reported (separation, no convergence, an error)."""
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        warnings.simplefilter("always", PerfectSeparationWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            result = sm.Logit(y, x).fit(disp=0, maxiter=100)
        except (np.linalg.LinAlgError, ValueError) as error:
            return text(gettext_noop("The model could not be fitted (%(error)s)."), error=error.__class__.__name__)
    kinds = {warning.category for warning in caught}
    if PerfectSeparationWarning in kinds or (ConvergenceWarning in kinds and _separates(x @ result.params, y)):
        return gettext_noop("Not fitted: separation, the predictors separate the outcomes perfectly.")
    if ConvergenceWarning in kinds:
        return gettext_noop("Not fitted: the model did not converge.")
    return _Estimates(np.asarray(result.params), np.asarray(result.conf_int()), np.asarray(result.pvalues))


def _has_empty_cell(column: np.ndarray, patterns: CovariatePatterns) -> bool:
    """Has the predictor's table with the outcome an empty cell: a value of the predictor with no
    event, or with no non-event (counted over the patterns with that value)?"""
    _, level = np.unique(column, return_inverse=True)
    level = level.reshape(-1)
    events, non_events = np.bincount(level, weights=patterns.events), np.bincount(level, weights=patterns.non_events)
    return bool(min(events.min(), non_events.min()) == 0)


def _expit(linear_predictor: np.ndarray) -> np.ndarray:
    """The logistic function, as statsmodels' Logit computes its fitted probabilities."""
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-linear_predictor))


def _separates(linear_predictor: np.ndarray, y: np.ndarray) -> bool:
    """Does the fitted linear predictor put every event on one side of every non-event (complete
    separation, where the estimates run off to infinity and the fit stops unconverged)?"""
    events, non_events = linear_predictor[y == 1], linear_predictor[y == 0]
    return bool(events.min() >= non_events.max() or events.max() <= non_events.min())


def univariable(frame: pd.DataFrame, outcome: str) -> dict[str, LogisticFit]:
    """The paper's Table 1 and the covariates' univariable odds ratios: one fit per entry of
    UNIVARIABLE_FITS, each on the fractures where the outcome and that term are known. BMD is one
    fit with two indicators against the reference T > −2.5 (0 points)."""
    terms = term_frame(frame).dropna(subset=[outcome])  # the terms first: fewer columns to copy
    fits = {}
    for key, keys in UNIVARIABLE_FITS.items():
        if key == "bmd" and "bmd_reference" in terms:
            known = terms.dropna(subset=["bmd_reference"])
            if len(known) and not known["bmd_reference"].any():
                fits[key] = LogisticFit(
                    outcome,
                    len(known),
                    int(known[outcome].sum()),
                    0,
                    [],
                    gettext_noop("Not fitted: no fracture in the reference category (T-score above −2.5, 0 points)."),
                    predictors=list(keys),
                )
                continue
        fits[key] = logistic(terms, outcome, {k: TERM_LABELS[k] for k in keys})
    return fits


def multivariable(frame: pd.DataFrame, outcome: str) -> LogisticFit:
    """The paper's multivariable model for the outcome (PAPER_COVARIATES) on the complete cases,
    with the model's in-sample AUC from its fitted probabilities (DeLong, as `roc`)."""
    terms = term_frame(frame).dropna(subset=[outcome])  # the terms first: fewer columns to copy
    return logistic(terms, outcome, {k: TERM_LABELS[k] for k in PAPER_COVARIATES[outcome]}, model_auc=True)


# -- the whole page ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CohortAnalysis:
    """Everything the cohort page shows of the score's validation. Each outcome has its own
    denominator: outcome_n[outcome] fractures with that outcome known, of n."""

    n: int  # fractures analysed
    group_n: dict[str, int]  # fractures per group
    outcome_n: dict[str, int]  # outcome → fractures with it known
    outcome_events: dict[str, int]
    rates: dict[str, dict[str, Rate]]  # outcome → group → rate, on the fractures with it known
    tests: dict[str, GroupTest]
    aucs: dict[str, Auc]  # outcome → the score's ROC
    fixed_cuts: dict[str, dict[str, CutPerformance]]  # outcome → cut → performance
    univariable: dict[str, dict[str, LogisticFit]]  # outcome → UNIVARIABLE_FITS key → fit
    models: dict[str, LogisticFit]  # outcome → the paper's multivariable model


def analyse(cohort: pd.DataFrame) -> CohortAnalysis:
    """Everything the cohort page shows, from the analysed frame (one row per counted fracture,
    cohort/data.py): each outcome on the fractures where it is known."""
    frame = cohort
    by_group = {group: frame[frame["group"] == group] for group in GROUPS}
    rates, tests, aucs, cuts, univariable_fits, models = {}, {}, {}, {}, {}, {}
    for outcome in OUTCOMES:
        known = frame.dropna(subset=[outcome])
        rates[outcome] = {}
        for group in GROUPS:
            values = known.loc[known["group"] == group, outcome]
            rates[outcome][group] = wilson(int((values == 1).sum()), len(values))
        table = np.array([[r.events, r.n - r.events] for r in rates[outcome].values()])
        tests[outcome] = group_difference_test(table)
        aucs[outcome] = roc(known["score"], known[outcome])
        cuts[outcome] = fixed_cuts(known, outcome)
        univariable_fits[outcome] = univariable(known, outcome)
        models[outcome] = multivariable(known, outcome)
    return CohortAnalysis(
        n=len(frame),
        group_n={group: len(rows) for group, rows in by_group.items()},
        outcome_n={outcome: int(frame[outcome].notna().sum()) for outcome in OUTCOMES},
        outcome_events={outcome: int((frame[outcome] == 1).sum()) for outcome in OUTCOMES},
        rates=rates,
        tests=tests,
        aucs=aucs,
        fixed_cuts=cuts,
        univariable=univariable_fits,
        models=models,
    )


# -- plots (matplotlib, drawn on the server as SVG) ------------------------------------------------


def _identity(message: str) -> str:
    return message


# Each plot's font: DejaVu Sans (matplotlib's own) for Latin letters, falling back glyph by glyph
# (matplotlib ≥ 3.6) to Noto Sans CJK SC (Debian's fonts-noto-cjk) for the Chinese labels.
FONT_FAMILY = ["DejaVu Sans", "Noto Sans CJK SC"]


def pyplot():
    """matplotlib's pyplot on the Agg backend (no display on a server), with a font that draws
    Chinese too: every plot of the report."""
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["font.family"] = FONT_FAMILY
    import matplotlib.pyplot as plt

    return plt


def svg(figure) -> str:
    """The figure as an SVG document, and the figure closed: every plot of the report. No date in
    the file, so the same data draws the same SVG."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    pyplot().close(figure)
    return buffer.getvalue()


def _roc_axes(curves: dict[str, Auc], title: str, translate: Callable[[str], str]) -> str | None:
    """ROC curves (those with an AUC) with the chance line, each legend with its AUC: an SVG."""
    plt = pyplot()

    drawn = {outcome: auc for outcome, auc in curves.items() if auc is not None and auc.auc is not None}
    if not drawn:
        return None
    figure, axes = plt.subplots(figsize=(4.6, 4.2))
    axes.plot([0, 1], [0, 1], linestyle=":", color="#888888", label=translate(gettext_noop("chance")))
    for (outcome, auc), style in zip(drawn.items(), ("-", "--"), strict=False):
        label = translate(gettext_noop("%(outcome)s: AUC %(auc)s (n = %(n)s, %(events)s events)")) % {
            "outcome": translate(OUTCOMES[outcome]),
            "auc": formatting.ratio(auc.auc),
            "n": auc.n,
            "events": auc.events,
        }
        axes.plot(auc.fpr, auc.tpr, style, linewidth=2, label=label)
    axes.set_xlabel(translate(gettext_noop("1 − specificity")))
    axes.set_ylabel(translate(gettext_noop("Sensitivity")))
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.02)
    axes.legend(
        loc="upper center", bbox_to_anchor=(0.5, -0.15), fontsize=7, frameon=False
    )  # below: the curves stay clear
    axes.set_title(translate(title), fontsize=10)
    return svg(figure)


def roc_plot(aucs: dict[str, Auc], *, translate: Callable[[str], str] = _identity) -> str | None:
    """Fig. 1: the score's ROC curve per outcome (outcomes with too few events are not drawn).
    `translate` (a gettext) turns every text of the plot into the reader's language."""
    return _roc_axes(aucs, gettext_noop("ROC of the NASOVCF score"), translate)


def model_roc_plot(models: dict[str, LogisticFit], *, translate: Callable[[str], str] = _identity) -> str | None:
    """Fig. 4: the ROC curves of the paper's multivariable models, fitted here (in-sample)."""
    return _roc_axes(
        {outcome: fit.auc for outcome, fit in models.items()},
        gettext_noop("ROC of the multivariable models"),
        translate,
    )


def rates_plot(
    rates: dict[str, dict[str, Rate]],
    *,
    group_labels: dict[str, str],
    translate: Callable[[str], str] = _identity,
) -> str | None:
    """Observed rates by group with Wilson intervals, beside the paper's: an SVG document.
    `group_labels` are passed through `translate` too (msgids or already translated words)."""
    plt = pyplot()

    figure, panels = plt.subplots(1, 2, figsize=(7.2, 3.4), sharey=True)
    positions = np.arange(len(GROUPS))
    for panel, outcome in zip(panels, OUTCOMES, strict=True):
        ours = [rates[outcome][g] for g in GROUPS]
        heights = [r.rate * 100 if r.n else 0 for r in ours]
        errors = [
            [max(0.0, r.rate - r.ci_low) * 100 if r.n else 0 for r in ours],
            [max(0.0, r.ci_high - r.rate) * 100 if r.n else 0 for r in ours],
        ]
        published = [getattr(paper.DERIVATION_COHORT[rules.RiskGroup(g)], outcome).rate * 100 for g in GROUPS]
        panel.bar(
            positions - 0.18,
            heights,
            width=0.36,
            yerr=errors,
            capsize=3,
            color="#0b4f6c",
            label=translate(gettext_noop("this clinic")),
        )
        panel.bar(
            positions + 0.18,
            published,
            width=0.36,
            color="#c9a227",
            label=translate(gettext_noop("paper (n = %(n)s)")) % {"n": paper.PAPER_COHORT_SIZE},
        )
        panel.set_xticks(positions, [translate(str(group_labels[g])) for g in GROUPS])
        panel.set_title(translate(OUTCOMES[outcome]), fontsize=10)
        panel.set_ylim(0, 100)
    # xgettext:no-python-format
    panels[0].set_ylabel(translate(gettext_noop("% of patients (95 % CI)")))
    panels[0].legend(fontsize=8, loc="upper left")
    return svg(figure)


# -- other classifications: NASOVCF beside Genant and AO Spine-DGOU ------------------------------

OF_ORDER = {"OF1": 1, "OF2": 2, "OF3": 3, "OF4": 4, "OF5": 5}
CLASSIFIERS = {
    "score": gettext_noop("NASOVCF score"),
    "genant_grade": gettext_noop("Genant grade (height-based approximation)"),
    "of_rank": gettext_noop("AO Spine-DGOU class (OF 1–5)"),
}


@dataclass(frozen=True)
class HeadToHeadOutcome:
    n: int  # fractures with all three classifications and this outcome known
    events: int
    aucs: dict[str, Auc]  # classifier → its ROC
    comparisons: dict[str, PairedAuc]  # "genant_grade" / "of_rank" → NASOVCF minus that classifier


@dataclass(frozen=True)
class HeadToHead:
    n: int  # fractures with all three classifications
    outcomes: dict[str, HeadToHeadOutcome]

    @property
    def aucs(self) -> dict[str, dict[str, Auc]]:
        """outcome → classifier → AUC (the shape the page read before the paired tests)."""
        return {outcome: result.aucs for outcome, result in self.outcomes.items()}


def head_to_head(frame: pd.DataFrame) -> HeadToHead:
    """AUC of NASOVCF, Genant grade and the OF class on the same patients (those with all three and
    the outcome known), and DeLong's paired tests of NASOVCF against each of the others."""
    data = frame.assign(of_rank=frame["of_class"].map(OF_ORDER)).dropna(subset=["score", "genant_grade", "of_rank"])
    outcomes = {}
    for outcome in OUTCOMES:
        known = data.dropna(subset=[outcome])
        outcomes[outcome] = HeadToHeadOutcome(
            n=len(known),
            events=int((known[outcome] == 1).sum()),
            aucs={name: roc(known[name], known[outcome]) for name in CLASSIFIERS},
            comparisons={
                name: paired_delong(known["score"], known[name], known[outcome]) for name in ("genant_grade", "of_rank")
            },
        )
    return HeadToHead(n=len(data), outcomes=outcomes)
