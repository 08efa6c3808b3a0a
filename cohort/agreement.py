"""How far two readers agree (spec §2, "Two readers"; the paper names inter-rater reliability as
not yet measured): ICC(2,1) for each reader's VHL and kyphosis angle, and Cohen's κ, unweighted
and linearly weighted, for the risk group each reader's readings give.

No Django here: the cohort arrives as the analysed frame (cohort/data.py) and results leave as
frozen dataclasses of plain values at full precision (the presentation rounds). What cannot be
computed is None with a `note` (a msgid, translated by the presentation), never NaN. The ICC and
its interval are computed here from the two-way ANOVA mean squares (see `icc_2_1` for why not by
pingouin); κ and its interval come from statsmodels.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pandas as pd
from scipy import stats

from scoring import rules
from scoring.wording import gettext_noop

from .analysis import GROUPS

MIN_PAIRS = 3  # fewer fractures measured by both readers: no ICC or kappa is computed
ALPHA = 0.05  # two-sided 95 % intervals
RELATIVE_ZERO = 1e-12  # a residual mean square this small beside the others is 0 left by floating-point sums


# -- ICC(2,1) --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Icc:
    icc: float
    ci_low: float | None  # None (with a note) when the interval is not defined
    ci_high: float | None
    n: int  # targets (fractures) rated by every reader
    raters: int = 2
    note: str = ""  # a msgid (scoring.wording)


@dataclass(frozen=True)
class MeanSquares:
    """The two-way ANOVA (targets × raters, one rating per cell) that the ICCs are built from."""

    n: int  # targets
    k: int  # raters
    rows: float  # MSR, between targets
    columns: float  # MSC, between raters
    error: float  # MSE, residual


def mean_squares(wide: np.ndarray) -> MeanSquares:
    """Targets in rows, raters in columns, no missing cell."""
    wide = np.asarray(wide, dtype=float)
    n, k = wide.shape
    grand = wide.mean()
    row_means, column_means = wide.mean(axis=1), wide.mean(axis=0)
    residuals = wide - row_means[:, None] - column_means[None, :] + grand
    return MeanSquares(
        n=n,
        k=k,
        rows=float(k * ((row_means - grand) ** 2).sum() / (n - 1)),
        columns=float(n * ((column_means - grand) ** 2).sum() / (k - 1)),
        error=float((residuals**2).sum() / ((n - 1) * (k - 1))),
    )


def icc_a1(ms: MeanSquares) -> float:
    """ICC(A,1) of McGraw & Wong (1996), Shrout & Fleiss's (1979) ICC(2,1): two-way random effects,
    absolute agreement, single rater."""
    n, k = ms.n, ms.k
    return (ms.rows - ms.error) / (ms.rows + (k - 1) * ms.error + k * (ms.columns - ms.error) / n)


def icc_a1_interval(ms: MeanSquares, icc: float, alpha: float = ALPHA) -> tuple[float, float] | None:
    """The (1 − α) interval of ICC(A,1): McGraw & Wong (1996), Table 7 (case 2A), from Shrout &
    Fleiss (1979), with Satterthwaite's degrees of freedom v for the denominator. The same formula
    pingouin uses; None when it is not defined (no residual variance, or v not positive)."""
    n, k = ms.n, ms.k
    if ms.error <= RELATIVE_ZERO * max(ms.rows, ms.columns):  # 0, up to the rounding of the sums of squares
        return None
    with np.errstate(all="ignore"):
        fj = ms.columns / ms.error
        b = n * (1 + (k - 1) * icc) - k * icc
        denominator = (n - 1) * k**2 * icc**2 * fj**2 + b**2
        if denominator == 0:  # e.g. readers in exact mirror image: no Satterthwaite degrees of freedom
            return None
        v = (n - 1) * (k - 1) * (k * icc * fj + b) ** 2 / denominator
        if not (math.isfinite(v) and v > 0):
            return None
        f_upper = stats.f.ppf(1 - alpha / 2, n - 1, v)
        f_lower = stats.f.ppf(1 - alpha / 2, v, n - 1)
        spread = k * ms.columns + (k * n - k - n) * ms.error
        low = n * (ms.rows - f_upper * ms.error) / (f_upper * spread + n * ms.rows)
        high = n * (f_lower * ms.rows - ms.error) / (spread + n * f_lower * ms.rows)
    if not (math.isfinite(low) and math.isfinite(high)):
        return None
    return float(low), float(high)


def icc_2_1(long: pd.DataFrame) -> Icc | None:
    """ICC(2,1) (Shrout & Fleiss 1979; ICC(A,1) of McGraw & Wong 1996) with its 95 % interval.
    `long` has the columns target, rater, value; targets not rated by every rater are left out.

    Computed here, at full precision, from the mean squares of the two-way ANOVA, with the F-based
    interval of McGraw & Wong (the one pingouin uses): pingouin rounds its interval to 2 decimals,
    which printed "0.989 (0.99–0.99)", the point outside its own interval. None when fewer than
    MIN_PAIRS targets or the readings do not vary at all; the interval is None, with a note, when the
    readers differ by nothing but a constant, 0 included (no residual variance, so no F ratio), and
    when the approximation fails: with few pairs and a strongly negative ICC, Satterthwaite's degrees
    of freedom can give bounds that exclude the point itself (4 pairs, ICC −0.63, "interval" −0.68
    to −0.66), which is no interval for it."""
    complete = long.dropna()
    if complete.empty:
        return None
    wide = complete.pivot_table(index="target", columns="rater", values="value", aggfunc="first").dropna()
    n, k = wide.shape
    if n < MIN_PAIRS or k < 2 or np.unique(wide.to_numpy()).size < 2:
        return None
    ms = mean_squares(wide.to_numpy())
    icc = icc_a1(ms)
    interval = icc_a1_interval(ms, icc)
    if interval is None:
        note = gettext_noop(
            "the F-based interval is not defined here (the readers differ by nothing but a constant, "
            "or the pairs are too few and too discordant for its degrees of freedom)"
        )
        return Icc(float(icc), None, None, int(n), int(k), note)
    if not interval[0] <= icc <= interval[1]:
        note = gettext_noop(
            "the F-based interval is not defined here: with so few pairs and a negative ICC its "
            "approximation excludes the estimate itself"
        )
        return Icc(float(icc), None, None, int(n), int(k), note)
    return Icc(float(icc), interval[0], interval[1], int(n), int(k))


# -- Cohen's κ -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kappa:
    kappa: float | None  # None: undefined, both readers gave a single category throughout
    n: int
    agreement: float  # share of pairs in the same category
    ci_low: float | None = None  # 95 %, asymptotic (statsmodels); None with a note when not defined
    ci_high: float | None = None
    se: float | None = None
    weighting: str = "none"  # "none" (Cohen's κ) or "linear" (weights 1 − |i − j| / (categories − 1))
    note: str = ""  # a msgid (scoring.wording)


def contingency(first: list, second: list, categories: tuple[str, ...]) -> np.ndarray:
    """First reader in rows, second in columns, the categories in their order."""
    index = {category: i for i, category in enumerate(categories)}
    table = np.zeros((len(categories), len(categories)), dtype=int)
    for a, b in zip(first, second, strict=True):
        table[index[a], index[b]] += 1
    return table


def cohen_kappa(
    first: list, second: list, *, weighting: str = "none", categories: tuple[str, ...] = GROUPS
) -> Kappa | None:
    """Cohen's κ between two readers' categories, unweighted or linearly weighted (for ordered
    categories: low < medium < high, a disagreement by one step counts half), with its 95 %
    interval from the asymptotic standard error (Fleiss, Cohen & Everitt 1969), by statsmodels.
    None under MIN_PAIRS pairs; κ None when it is undefined (both readers used one and the same
    category: no disagreement was possible by chance); the interval None when its standard error
    is 0 (e.g. perfect agreement). An interval reaching past ±1 is kept as computed, with a note."""
    from statsmodels.stats.inter_rater import cohens_kappa

    if len(first) < MIN_PAIRS:
        return None
    agreement = float(np.mean([a == b for a, b in zip(first, second, strict=True)]))
    n = len(first)
    if len(set(first) | set(second)) < 2:
        return Kappa(
            None,
            n,
            agreement,
            weighting=weighting,
            note=gettext_noop("undefined: both readers gave one category throughout"),
        )
    table = contingency(first, second, categories)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # its z test divides by a null SE that may be 0
        result = cohens_kappa(table, wt="linear" if weighting == "linear" else None)
    kappa, se = float(result.kappa), float(result.std_kappa)
    if not (math.isfinite(se) and se > 0):
        return Kappa(
            kappa, n, agreement, weighting=weighting, note=gettext_noop("no interval: its standard error is 0")
        )
    z = stats.norm.isf(ALPHA / 2)
    low, high = float(kappa - z * se), float(kappa + z * se)
    note = (
        gettext_noop("the asymptotic interval reaches past the range of κ (−1 to 1): shown as computed")
        if low < -1 or high > 1
        else ""
    )
    return Kappa(kappa, n, agreement, low, high, se, weighting, note)


# -- the two readers on the cohort -----------------------------------------------------------------


def reader_groups(frame: pd.DataFrame) -> tuple[list[str], list[str]]:
    """The risk group each reader's own VHL and kyphosis angle give, on the fractures both readers
    measured: the saved total with the points of the film's VHL and angle (the readers' mean,
    as the saved score gave them) replaced by the points the rules give each reader's reading.

    What the readers did not measure is read from the saved score, not scored again, so a reader
    whose values score as the mean did gets the recorded group, whatever rules version recorded
    it. A reader's value is one reading: scored as one (rules.film_value, rounded to 0.1), never
    as a mean of two, whose 14.95 % would score 0. Each distinct reading goes through the rules
    once (readings fall on 0.1 steps: a few hundred values, however many fractures)."""
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


@dataclass(frozen=True)
class ReaderAgreement:
    vhl: Icc | None
    kyphosis: Icc | None
    group_kappa: Kappa | None  # unweighted
    # Fractures both readers measured, counted whether or not a statistic could be computed.
    vhl_pairs: int = 0
    kyphosis_pairs: int = 0
    group_pairs: int = 0
    group_weighted_kappa: Kappa | None = None  # linear weights: low < medium < high


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
        group_weighted_kappa=cohen_kappa(first_groups, second_groups, weighting="linear"),
    )
