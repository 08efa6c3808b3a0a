"""The paper's analyses on a clinic's own patients (spec §5): rates by group with Wilson intervals,
a test across groups, medians (IQR), ROC with DeLong intervals, logistic regression.

No Django here: the cohort arrives as a pandas DataFrame (one row per fracture) and results leave
as plain dataclasses. Statistics come from libraries (statsmodels, scipy, scikit-learn) and from
the pure core (the Wilson interval, scoring/paper.py); the one formula written here is DeLong's
variance of the AUC, which none of them provides. The paper's own figures are in scoring/paper.py.
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import roc_auc_score, roc_curve

from scoring import paper, rules

GROUPS = tuple(group.value for group in rules.RiskGroup)
MIN_EVENTS_PER_VARIABLE = 10  # below this a logistic fit is not reported (Peduzzi et al. 1996)
MIN_EXPECTED_FOR_CHI2 = 5  # below this, Fisher's exact test instead of χ²
Z_95 = paper.Z_95
MIN_PAIRS = 3  # fewer fractures measured by both readers: no ICC or kappa is computed

OUTCOMES = {"non_union": "Non-union at 6 months", "progressive_kyphosis": "Progressive kyphosis (> 10°)"}
MEASURES = {
    "vhl_pre": "VHL pretreatment (%)",
    "vhl_6m": "VHL at 6 months (%)",
    "vhl_diff": "VHL difference",
    "ka_pre": "KA pretreatment (°)",
    "ka_6m": "KA at 6 months (°)",
    "ka_diff": "KA difference",
}


@dataclass(frozen=True)
class Rate:
    events: int
    n: int
    rate: float
    ci_low: float
    ci_high: float


def wilson(events: int, n: int) -> Rate:
    """A proportion with its Wilson 95 % interval (the pure core's, scoring/paper.py)."""
    if n == 0:
        return Rate(0, 0, math.nan, math.nan, math.nan)
    low, high = paper.wilson_interval(int(events), int(n))
    return Rate(int(events), int(n), events / n, low, high)


@dataclass(frozen=True)
class GroupTest:
    method: str  # "chi-squared" or "Fisher's exact"
    statistic: float | None
    p_value: float | None
    note: str = ""


def group_difference_test(table: np.ndarray) -> GroupTest:
    """Do the groups differ? χ² on the groups × (event, no event) table, Fisher's exact test when an
    expected count is below 5. Groups with no patient are left out."""
    table = np.asarray(table, dtype=int)
    table = table[table.sum(axis=1) > 0]
    if table.shape[0] < 2 or (table.sum(axis=0) == 0).any():
        return GroupTest("none", None, None, "needs two groups with patients and both outcomes present")
    expected = stats.contingency.expected_freq(table)
    if (expected < MIN_EXPECTED_FOR_CHI2).any():
        return GroupTest("Fisher's exact", None, fisher_exact_r_by_2(table), "some expected counts are below 5")
    chi2, p, dof, _ = stats.chi2_contingency(table, correction=False)
    return GroupTest("chi-squared", float(chi2), float(p), f"{dof} degrees of freedom")


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


@dataclass(frozen=True)
class Auc:
    auc: float
    ci_low: float
    ci_high: float
    n: int
    events: int
    youden_cut: float | None  # the score at or above which a patient is called positive
    sensitivity: float | None
    specificity: float | None
    fpr: list[float] = field(default_factory=list)
    tpr: list[float] = field(default_factory=list)


def delong_variance(scores: np.ndarray, outcome: np.ndarray) -> tuple[float, float]:
    """AUC and its variance by DeLong, DeLong & Clarke-Pearson (1988), with the midrank
    computation of Sun & Xu (2014): O(n log n), ties counted one half."""
    scores = np.asarray(scores, dtype=float)
    outcome = np.asarray(outcome, dtype=bool)
    positives, negatives = scores[outcome], scores[~outcome]
    m, n = len(positives), len(negatives)
    ranks_all = stats.rankdata(np.concatenate([positives, negatives]))
    ranks_pos = stats.rankdata(positives)
    ranks_neg = stats.rankdata(negatives)
    auc = (ranks_all[:m].sum() - m * (m + 1) / 2) / (m * n)
    v10 = (ranks_all[:m] - ranks_pos) / n  # each positive: share of negatives it outranks
    v01 = 1 - (ranks_all[m:] - ranks_neg) / m  # each negative: share of positives that outrank it
    variance = np.var(v10, ddof=1) / m + np.var(v01, ddof=1) / n
    return float(auc), float(variance)


def roc(scores, outcome) -> Auc | None:
    """ROC curve, AUC with a DeLong 95 % interval, and the Youden-optimal cut of the score."""
    scores = np.asarray(scores, dtype=float)
    outcome = np.asarray(outcome, dtype=bool)
    events = int(outcome.sum())
    if events < 2 or len(outcome) - events < 2:
        return None
    _, variance = delong_variance(scores, outcome)
    auc = float(roc_auc_score(outcome, scores))  # equals DeLong's (tests/cohort/test_analysis.py)
    se = math.sqrt(max(variance, 0.0))
    fpr, tpr, thresholds = roc_curve(outcome, scores)
    youden = tpr - fpr
    best = int(np.argmax(youden))
    cut = float(thresholds[best]) if np.isfinite(thresholds[best]) else None
    return Auc(
        auc=auc,
        ci_low=max(0.0, auc - Z_95 * se),
        ci_high=min(1.0, auc + Z_95 * se),
        n=len(outcome),
        events=events,
        youden_cut=cut,
        sensitivity=float(tpr[best]),
        specificity=float(1 - fpr[best]),
        fpr=[float(x) for x in fpr],
        tpr=[float(x) for x in tpr],
    )


@dataclass(frozen=True)
class OddsRatio:
    term: str
    odds_ratio: float
    ci_low: float
    ci_high: float
    p_value: float


@dataclass(frozen=True)
class LogisticFit:
    outcome: str
    n: int
    events: int
    variables: int
    terms: list[OddsRatio]
    note: str = ""  # why no fit is shown, when none is

    @property
    def fitted(self) -> bool:
        return bool(self.terms)


def logistic(frame: pd.DataFrame, outcome: str, predictors: dict[str, str]) -> LogisticFit:
    """Logistic regression of `outcome` on the predictors (statsmodels), as odds ratios with 95 %
    intervals and P. Refuses to report a fit with fewer than 10 events per variable, or one that
    does not converge, rather than print a meaningless number."""
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

    columns = list(predictors)
    data = frame[[outcome, *columns]].dropna()
    y = data[outcome].astype(int).to_numpy()
    n, events = len(y), int(y.sum())
    limiting = min(events, n - events)
    # A predictor that does not vary (e.g. sex, when the filter keeps one sex) cannot be estimated.
    constant = [c for c in columns if data[c].nunique() < 2]
    columns = [c for c in columns if c not in constant]
    dropped = f"Left out, as it does not vary here: {', '.join(predictors[c] for c in constant)}. " if constant else ""
    if not columns:
        return LogisticFit(outcome, n, events, 0, [], dropped + "No predictor left to fit.")
    base = LogisticFit(outcome, n, events, len(columns), [], dropped)
    if limiting < MIN_EVENTS_PER_VARIABLE * len(columns):
        return LogisticFit(
            outcome,
            n,
            events,
            len(columns),
            [],
            dropped + f"Too few events to fit: {limiting} in the rarer outcome for {len(columns)} variable(s); "
            f"at least {MIN_EVENTS_PER_VARIABLE} per variable are needed.",
        )
    x = sm.add_constant(data[columns].astype(float).to_numpy(), has_constant="add")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        warnings.simplefilter("error", PerfectSeparationWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            result = sm.Logit(y, x).fit(disp=0, maxiter=100)
        except (ConvergenceWarning, PerfectSeparationWarning, np.linalg.LinAlgError, ValueError) as error:
            return LogisticFit(
                **{**base.__dict__, "note": dropped + f"The model could not be fitted ({error.__class__.__name__})."}
            )
    conf = result.conf_int()
    terms = [
        OddsRatio(
            term=predictors[column],
            odds_ratio=float(np.exp(result.params[i + 1])),
            ci_low=float(np.exp(conf[i + 1][0])),
            ci_high=float(np.exp(conf[i + 1][1])),
            p_value=float(result.pvalues[i + 1]),
        )
        for i, column in enumerate(columns)
    ]
    if not all(math.isfinite(t.odds_ratio) and math.isfinite(t.ci_high) for t in terms):
        return LogisticFit(**{**base.__dict__, "note": dropped + "The model could not be fitted (infinite estimates)."})
    return LogisticFit(outcome, n, events, len(columns), terms, dropped)


def median_iqr(values: pd.Series) -> str:
    values = values.dropna()
    if values.empty:
        return "—"
    # The weighted-average quartiles SPSS reports (the paper's 11.125 is one of them).
    q1, median, q3 = np.percentile(values.to_numpy(dtype=float), [25, 50, 75], method="weibull")
    return f"{median:.1f} ({q1:.1f}, {q3:.1f})"


@dataclass
class CohortAnalysis:
    n: int
    rates: dict[str, dict[str, Rate]]  # outcome → group → rate
    group_n: dict[str, int]
    tests: dict[str, GroupTest]
    medians: dict[str, dict[str, str]]  # measure → group → "median (q1, q3)"
    aucs: dict[str, Auc | None]
    models: dict[str, LogisticFit]


def analyse(cohort: pd.DataFrame) -> CohortAnalysis:
    """Everything the cohort page shows, from one row per included fracture with the columns
    score, group, non_union, progressive_kyphosis, female, odi_pre, vhl_pre, vhl_diff, ka_pre, ka_diff."""
    frame = cohort.copy()
    frame["vhl_6m"] = frame["vhl_pre"] + frame["vhl_diff"]
    frame["ka_6m"] = frame["ka_pre"] + frame["ka_diff"]
    by_group = {group: frame[frame["group"] == group] for group in GROUPS}
    rates = {
        outcome: {group: wilson(int(rows[outcome].sum()), len(rows)) for group, rows in by_group.items()}
        for outcome in OUTCOMES
    }
    tests = {}
    for outcome in OUTCOMES:
        table = np.array([[r.events, r.n - r.events] for r in rates[outcome].values()])
        tests[outcome] = group_difference_test(table)
    medians = {measure: {group: median_iqr(rows[measure]) for group, rows in by_group.items()} for measure in MEASURES}
    aucs = {outcome: roc(frame["score"], frame[outcome]) for outcome in OUTCOMES}
    models = {
        "non_union": logistic(frame, "non_union", {"score": "NASOVCF score (per point)"}),
        "progressive_kyphosis": logistic(
            frame,
            "progressive_kyphosis",
            {"score": "NASOVCF score (per point)", "female": "female sex", "odi_pre": "pretreatment ODI (per point)"},
        ),
    }
    return CohortAnalysis(len(frame), rates, {g: len(r) for g, r in by_group.items()}, tests, medians, aucs, models)


# -- plots (matplotlib, drawn on the server as SVG) ------------------------------------------------


def _svg(figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(figure)
    return buffer.getvalue()


def roc_plot(aucs: dict[str, Auc | None]) -> str | None:
    """Both ROC curves with the chance line: an SVG document."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    drawn = {outcome: auc for outcome, auc in aucs.items() if auc is not None}
    if not drawn:
        return None
    figure, axes = plt.subplots(figsize=(4.6, 4.2))
    axes.plot([0, 1], [0, 1], linestyle=":", color="#888888", label="chance")
    for (outcome, auc), style in zip(drawn.items(), ("-", "--"), strict=False):
        axes.plot(auc.fpr, auc.tpr, style, linewidth=2, label=f"{OUTCOMES[outcome]}: AUC {auc.auc:.3f}")
    axes.set_xlabel("1 − specificity")
    axes.set_ylabel("Sensitivity")
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.02)
    axes.legend(loc="lower right", fontsize=8)
    axes.set_title("ROC of the NASOVCF score", fontsize=10)
    return _svg(figure)


def rates_plot(rates: dict[str, dict[str, Rate]], *, group_labels: dict[str, str]) -> str | None:
    """Observed rates by group with Wilson intervals, beside the paper's: an SVG document."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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
        panel.bar(positions - 0.18, heights, width=0.36, yerr=errors, capsize=3, color="#0b4f6c", label="this clinic")
        panel.bar(
            positions + 0.18, published, width=0.36, color="#c9a227", label=f"paper (n = {paper.PAPER_COHORT_SIZE})"
        )
        panel.set_xticks(positions, [group_labels[g] for g in GROUPS])
        panel.set_title(OUTCOMES[outcome], fontsize=10)
        panel.set_ylim(0, 100)
    panels[0].set_ylabel("% of patients (95 % CI)")
    panels[0].legend(fontsize=8, loc="upper left")
    return _svg(figure)


# -- readers and other classifications (issue: agreement and head-to-head) ------------------------


@dataclass(frozen=True)
class Icc:
    icc: float
    ci_low: float
    ci_high: float
    n: int


def icc_2_1(long: pd.DataFrame) -> Icc | None:
    """ICC(2,1): two-way random effects, absolute agreement, single rater (Shrout & Fleiss 1979),
    with its 95 % interval, by pingouin. `long` has the columns target, rater, value."""
    import pingouin

    complete = long.dropna()
    counts = complete.groupby("target")["rater"].nunique()
    complete = complete[complete["target"].isin(counts[counts == complete["rater"].nunique()].index)]
    targets = complete["target"].nunique()
    if targets < MIN_PAIRS or complete["rater"].nunique() < 2 or complete["value"].nunique() < 2:
        return None
    table = pingouin.intraclass_corr(data=complete, targets="target", raters="rater", ratings="value")
    table = table.set_index("Type")
    # ICC(2,1), absolute agreement: pingouin 0.7 calls it "ICC(A,1)" (earlier versions "ICC2").
    row = table.loc["ICC(A,1)"] if "ICC(A,1)" in table.index else table.loc["ICC2"]
    low, high = row["CI95"] if "CI95" in row else row["CI95%"]
    return Icc(float(row["ICC"]), float(low), float(high), int(targets))


@dataclass(frozen=True)
class Kappa:
    kappa: float | None  # None: undefined, both readers gave a single category throughout
    n: int
    agreement: float


def cohen_kappa(first: list, second: list) -> Kappa | None:
    """Cohen's kappa between two raters' categories (scikit-learn)."""
    from sklearn.metrics import cohen_kappa_score

    if len(first) < MIN_PAIRS:
        return None
    agreement = float(np.mean([a == b for a, b in zip(first, second, strict=True)]))
    if len(set(first) | set(second)) < 2:
        return Kappa(None, len(first), agreement)
    return Kappa(float(cohen_kappa_score(first, second)), len(first), agreement)


def reader_groups(frame: pd.DataFrame) -> tuple[list[str], list[str]]:
    """The risk group each reader's own VHL and kyphosis angle give, on the fractures both readers
    measured: the saved total with the points of the film's VHL and angle (the readers' mean,
    as the saved score gave them) replaced by the points the rules give each reader's reading.

    What the readers did not measure is read from the saved score, not scored again, so a reader
    whose values score as the mean did gets the recorded group, whatever rules version recorded
    it. A reader's value is one reading: scored as one (rules.film_value, rounded to 0.1), never
    as a mean of two, whose 14.95 % would score 0. Each distinct reading goes through the rules
    once (readings fall on 0.1 steps: a few hundred values, however many fractures)."""
    from decimal import Decimal

    both = frame.dropna(subset=["first_vhl", "second_vhl", "first_ka", "second_ka", "score", "vhl_points", "ka_points"])
    unmeasured = both["score"].astype(int) - both["vhl_points"].astype(int) - both["ka_points"].astype(int)

    def points(readings: pd.Series, rule) -> pd.Series:
        scored = {
            value: rule(rules.film_value(Decimal(str(value)), mean_of_two_readers=False)) for value in readings.unique()
        }
        return readings.map(scored).astype(int)

    def groups(vhl: str, ka: str) -> list[str]:
        totals = unmeasured + points(both[vhl], rules.height_loss_points) + points(both[ka], rules.kyphosis_points)
        group_of = {total: rules.risk_group(int(total)).value for total in totals.unique()}
        return totals.map(group_of).tolist()

    return groups("first_vhl", "first_ka"), groups("second_vhl", "second_ka")


@dataclass
class ReaderAgreement:
    vhl: Icc | None
    kyphosis: Icc | None
    group_kappa: Kappa | None
    # Fractures both readers measured, counted whether or not a statistic could be computed.
    vhl_pairs: int = 0
    kyphosis_pairs: int = 0
    group_pairs: int = 0


def reader_agreement(frame: pd.DataFrame) -> ReaderAgreement:
    def long(first: str, second: str) -> pd.DataFrame:
        pairs = frame[["id", first, second]].dropna()
        return pd.concat(
            [
                pd.DataFrame({"target": pairs["id"], "rater": "first", "value": pairs[first]}),
                pd.DataFrame({"target": pairs["id"], "rater": "second", "value": pairs[second]}),
            ]
        )

    def pairs(first: str, second: str) -> int:
        return int((frame[first].notna() & frame[second].notna()).sum())

    first_groups, second_groups = reader_groups(frame)
    return ReaderAgreement(
        vhl=icc_2_1(long("first_vhl", "second_vhl")),
        kyphosis=icc_2_1(long("first_ka", "second_ka")),
        group_kappa=cohen_kappa(first_groups, second_groups),
        vhl_pairs=pairs("first_vhl", "second_vhl"),
        kyphosis_pairs=pairs("first_ka", "second_ka"),
        group_pairs=len(first_groups),
    )


OF_ORDER = {"OF1": 1, "OF2": 2, "OF3": 3, "OF4": 4, "OF5": 5}
CLASSIFIERS = {
    "score": "NASOVCF score",
    "genant_grade": "Genant grade (height-based approximation)",
    "of_rank": "AO Spine-DGOU class (OF 1–5)",
}


@dataclass
class HeadToHead:
    n: int
    aucs: dict[str, dict[str, Auc | None]]  # outcome → classifier → AUC


def head_to_head(frame: pd.DataFrame) -> HeadToHead:
    """AUC of NASOVCF, Genant grade and the OF class on the same patients: those with all three."""
    data = frame.assign(of_rank=frame["of_class"].map(OF_ORDER)).dropna(subset=["genant_grade", "of_rank"])
    return HeadToHead(
        n=len(data),
        aucs={outcome: {name: roc(data[name], data[outcome]) for name in CLASSIFIERS} for outcome in OUTCOMES},
    )
