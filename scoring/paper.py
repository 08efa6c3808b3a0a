"""What the derivation cohort showed (spec §5), with Wilson 95 % intervals.

Pure Python: no Django import. The paper publishes no intercepts, so no individual probability
can be computed: the app shows the observed rates of the patient's group instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .rules import RiskGroup
from .wording import gettext_noop

Z_95 = 1.959963984540054  # two-sided 95 %: the 0.975 quantile of the standard normal

PAPER_CITATION = (
    "Han W, Deng Z, Lin Z, Luo J, Xu J. A novel assessment system for osteoporotic vertebral "
    "compression fractures. Scientific Reports. 2025 (published 14 May 2025)."
)
PAPER_COHORT_SIZE = 208


@dataclass(frozen=True)
class Estimate:
    """A published figure with its 95 % confidence interval."""

    value: float
    ci_low: float
    ci_high: float


# spec §5: the score's AUC for non-union. The paper reports none for progressive kyphosis alone.
SCORE_AUC = {"non_union": Estimate(0.872, 0.816, 0.928)}
PAPER_AUC_NON_UNION = (
    f"{SCORE_AUC['non_union'].value:.3f} "
    f"(95 % CI {SCORE_AUC['non_union'].ci_low:.3f}–{SCORE_AUC['non_union'].ci_high:.3f})"
)

# The texts are msgids (gettext_noop): the pages translate them.
DECISION_SUPPORT_TEXT = {
    RiskGroup.LOW: gettext_noop(
        "In the derivation cohort, almost every low-score fracture united under conservative care."
    ),
    RiskGroup.MEDIUM: gettext_noop(
        "In the derivation cohort, most medium-score fractures united under conservative care; "
        "follow the course of kyphosis and pain at each visit."
    ),
    RiskGroup.HIGH: gettext_noop(
        "The authors report that a high NASOVCF score predicts bone non-union and progressive "
        "kyphosis under conservative treatment, and that vertebral augmentation may be the better "
        "option for patients with high scores."
    ),
}
DECISION_SUPPORT_CAVEAT = gettext_noop(
    "Decision support, not a directive: the clinician decides, with the whole patient in view."
)


@dataclass(frozen=True)
class Proportion:
    events: int
    n: int

    @property
    def rate(self) -> float:
        return self.events / self.n

    @property
    def wilson_95(self) -> tuple[float, float]:
        return wilson_interval(self.events, self.n)


@dataclass(frozen=True)
class GroupOutcomes:
    group: RiskGroup
    n: int
    non_union: Proportion
    progressive_kyphosis: Proportion


# spec §5 table. The low group's kyphosis denominator is 46 in the paper; kept as published.
DERIVATION_COHORT = {
    RiskGroup.LOW: GroupOutcomes(RiskGroup.LOW, 47, Proportion(1, 47), Proportion(1, 46)),
    RiskGroup.MEDIUM: GroupOutcomes(RiskGroup.MEDIUM, 98, Proportion(9, 98), Proportion(17, 98)),
    RiskGroup.HIGH: GroupOutcomes(RiskGroup.HIGH, 63, Proportion(39, 63), Proportion(30, 63)),
}


def wilson_interval(events: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (Wilson 1927)."""
    if n <= 0 or not 0 <= events <= n:
        raise ValueError("need 0 ≤ events ≤ n and n > 0")
    p = events / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half_width = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half_width), min(1.0, centre + half_width)


@dataclass(frozen=True)
class MedianIQR:
    median: float
    q1: float
    q3: float


# spec §5, radiographic course: median (IQR) at pretreatment and at 6 months, per group.
RADIOGRAPHIC_COURSE = {
    "vhl_percent": {
        RiskGroup.LOW: (MedianIQR(2.5, 0.8, 7), MedianIQR(4.8, 1.6, 9.25)),
        RiskGroup.MEDIUM: (MedianIQR(5.4, 2.5, 8.4), MedianIQR(9.35, 6.7, 15.1)),
        RiskGroup.HIGH: (MedianIQR(15.1, 11.85, 23), MedianIQR(28.6, 20.7, 36.1)),
    },
    "kyphosis_angle_deg": {
        RiskGroup.LOW: (MedianIQR(2.4, 1.5, 5.45), MedianIQR(4.1, 2, 6.85)),
        RiskGroup.MEDIUM: (MedianIQR(3.65, 2.7, 5.5), MedianIQR(7.45, 5.2, 11.125)),
        RiskGroup.HIGH: (MedianIQR(12.5, 9.35, 14.85), MedianIQR(22.1, 18.55, 27)),
    },
}

# spec §5, radiographic course: median (IQR) of the difference from pretreatment to 6 months.
RADIOGRAPHIC_DIFFERENCE = {
    "vhl_percent": {
        RiskGroup.LOW: MedianIQR(0.9, 0.5, 1.4),
        RiskGroup.MEDIUM: MedianIQR(3.5, 2.3, 6.25),
        RiskGroup.HIGH: MedianIQR(13.1, 5.35, 18.65),
    },
    "kyphosis_angle_deg": {
        RiskGroup.LOW: MedianIQR(0.9, 0.5, 1.5),
        RiskGroup.MEDIUM: MedianIQR(2.95, 1.5, 5.3),
        RiskGroup.HIGH: MedianIQR(9.5, 5.05, 15.55),
    },
}


@dataclass(frozen=True)
class OddsRatio:
    """One term of a published logistic model."""

    term: str  # a msgid (gettext_noop): the pages translate it
    per: str  # the unit the odds ratio is for ("point"), or "" for a yes/no term
    estimate: Estimate
    p_value: str = ""  # as printed ("< 0.001"), where the paper gives it


@dataclass(frozen=True)
class LogisticModel:
    """A published multivariate model: its odds ratios and the model's AUC (no intercept)."""

    odds_ratios: tuple[OddsRatio, ...]
    auc: Estimate


# spec §5, multivariate logistic regression, keyed by outcome.
LOGISTIC_MODELS = {
    "non_union": LogisticModel(
        (
            OddsRatio(
                gettext_noop("NASOVCF score"), gettext_noop("point"), Estimate(1.713, 1.458, 2.013), p_value="< 0.001"
            ),
        ),
        auc=Estimate(0.895, 0.841, 0.949),
    ),
    "progressive_kyphosis": LogisticModel(
        (
            OddsRatio(gettext_noop("NASOVCF score"), gettext_noop("point"), Estimate(1.373, 1.203, 1.568)),
            OddsRatio(gettext_noop("female sex"), "", Estimate(4.326, 1.324, 14.138)),
            OddsRatio(gettext_noop("pretreatment ODI"), gettext_noop("point"), Estimate(1.096, 1.023, 1.174)),
        ),
        auc=Estimate(0.835, 0.768, 0.903),
    ),
}


@dataclass(frozen=True)
class PublishedOddsRatio:
    """A univariable odds ratio the spec restates, with its interval where the spec gives one."""

    value: float
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: str = ""


# Univariable odds ratios for bone non-union (n = 208). The five items are the paper's Table 1,
# from which the points were assigned (spec §1); the score, VAS and ODI are its univariable
# analysis beside the multivariable model (spec §5, which restates no interval for VAS and ODI).
# Keyed like cohort.analysis's univariable terms. The spec restates none for progressive kyphosis.
UNIVARIABLE_NON_UNION = {
    "burst": PublishedOddsRatio(5.677, 2.781, 11.586, "< 0.001"),
    "vhl_15": PublishedOddsRatio(9.162, 4.181, 20.080, "< 0.001"),
    "ka_15": PublishedOddsRatio(7.382, 2.567, 21.226, "< 0.001"),
    "t2_diffuse_low": PublishedOddsRatio(6.427, 2.919, 14.151, "< 0.001"),
    "bmd_2": PublishedOddsRatio(5.826, 2.083, 16.294, "< 0.001"),
    "bmd_4": PublishedOddsRatio(35.964, 11.354, 113.909, "< 0.001"),
    "score": PublishedOddsRatio(1.754, 1.504, 2.046),
    "vas_pre": PublishedOddsRatio(1.817),
    "odi_pre": PublishedOddsRatio(1.093),
}
