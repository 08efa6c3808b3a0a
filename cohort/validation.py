"""External validation of the paper's risk groups on a clinic's own patients (TRIPOD): calibration
and decision curve analysis.

The paper publishes no intercept, so the only prediction it makes for a new patient is the
observed rate of the patient's group in the derivation cohort (spec §5, scoring/paper.py). These
functions ask whether those rates come true here (calibration) and whether acting on the group
("augment when high") does more good than harm over a range of thresholds (net benefit).

No Django here: a cohort arrives as the analysed frame (one row per fracture, cohort/data.py) and
results leave as frozen dataclasses of plain values (`dataclasses.asdict` gives JSON). The
logistic models are statsmodels' GLM, the Wilson interval the pure core's, the net benefit
dcurves'; written here is only the reading of the threshold ranges off the curves for the summary.
"""

from __future__ import annotations

import contextlib
import io
import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from cohort.analysis import GROUPS, OUTCOMES, pyplot, svg, wilson
from scoring import paper, rules

MIN_EVENTS = 10  # fewer events (or non-events) than this: no calibration model, no decision curve
THRESHOLDS = tuple(i / 100 for i in range(5, 61))  # threshold probabilities 5 %, 6 %, … 60 %
TIE_TOLERANCE = 1e-12  # net benefits closer than this are a tie: a tie is not "beating" a default
DECISION_PLOT_FLOOR = -0.05  # the decision curve plot's y axis starts here

CALIBRATION_EXPLANATION = (
    "Calibration asks whether the paper's rates come true here: a group the paper gave 62 % "
    "non-union should show about 62 % here."
)
EXPECTED_OVER_OBSERVED_EXPLANATION = (
    "Expected over observed (E/O) divides the events the paper's rates predict for these patients "
    "by the events that happened: 1 is perfect, above 1 the paper over-predicts, below 1 it "
    "under-predicts."
)
IN_THE_LARGE_EXPLANATION = (
    "Calibration-in-the-large is how far, on the log-odds scale, the outcome here is more (above 0) "
    "or less (below 0) frequent overall than the paper's rates predict: 0 is perfect."
)
SLOPE_EXPLANATION = (
    "The calibration slope asks whether the groups differ here as much as in the paper: 1 is perfect, "
    "below 1 the groups differ less here than the paper's rates say, above 1 more."
)
DECISION_CURVE_EXPLANATION = (
    "Net benefit counts the patients correctly augmented, minus the needless augmentations weighted "
    "by the threshold (at 20 %, four needless augmentations weigh as much as one patient correctly "
    "augmented), per patient: at each threshold, the higher line does more good."
)
TIE_RULE = (
    "A strategy beats another only with a net benefit higher by more than 10⁻¹²; equal net benefits "
    "(as when every patient is in the high group) are a tie, not a win."
)

STRATEGIES = {
    "high": "Augment when the group is high",
    "all": "Augment all",
    "none": "Treat all conservatively",
}


def predicted_risk(group: str, outcome: str) -> float:
    """The paper's prediction for a fracture of this group: the group's rate in the derivation
    cohort (spec §5; the low group's kyphosis rate is 1/46, as published)."""
    proportion: paper.Proportion = getattr(paper.DERIVATION_COHORT[rules.RiskGroup(group)], outcome)
    return proportion.rate


def _known(frame: pd.DataFrame, outcome: str) -> tuple[pd.DataFrame, str]:
    """The rows where this outcome is known (its own denominator) and in one of the three groups,
    with the paper's predicted risk and the outcome as 0/1; and a note on rows left out."""
    data = frame.dropna(subset=[outcome])
    grouped = data["group"].isin(GROUPS)
    note = f"{int((~grouped).sum())} fracture(s) without a risk group left out. " if not grouped.all() else ""
    data = data[grouped]
    risks = {group: predicted_risk(group, outcome) for group in GROUPS}
    data = pd.DataFrame(
        {
            "group": data["group"].astype(str).to_numpy(),
            "predicted": data["group"].map(risks).astype(float).to_numpy(),
            "outcome": data[outcome].astype(int).to_numpy(),
        }
    )
    return data, note


def _too_few_events(n: int, events: int) -> str:
    if min(events, n - events) < MIN_EVENTS:
        return (
            f"Too few events ({events} of {n}): at least {MIN_EVENTS} patients with and "
            f"{MIN_EVENTS} without the outcome are needed."
        )
    return ""


# -- calibration ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupCalibration:
    """One risk group: the paper's predicted risk beside what happened here."""

    group: str
    predicted: float  # the group's rate in the derivation cohort
    n: int  # fractures of this group with the outcome known
    events: int
    observed: float | None  # None when the group has no patient here
    ci_low: float | None  # Wilson 95 %
    ci_high: float | None


@dataclass(frozen=True)
class Coefficient:
    """A calibration coefficient with its Wald 95 % interval, or None and why."""

    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None  # against perfect calibration: intercept 0, slope 1
    note: str = ""


@dataclass(frozen=True)
class Calibration:
    outcome: str
    n: int  # fractures with this outcome known
    events: int
    expected: float  # events the paper's rates predict: the sum of the predicted risks
    expected_over_observed: float | None  # None when no event happened here
    groups: list[GroupCalibration]
    in_the_large: Coefficient  # intercept, logit(predicted) as offset
    slope: Coefficient  # coefficient of logit(predicted)
    note: str = ""


def _not_estimated(note: str) -> Coefficient:
    return Coefficient(None, None, None, None, note)


def _glm(y: np.ndarray, x: np.ndarray, offset: np.ndarray | None, term: int, null: float) -> Coefficient:
    """Fit a binomial GLM (statsmodels) and report one coefficient, its Wald 95 % interval and the
    Wald P against `null`; refuse when the fit does not converge, separates or is not finite."""
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationError, PerfectSeparationWarning

    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        warnings.simplefilter("error", PerfectSeparationWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            result = sm.GLM(y, x, family=sm.families.Binomial(), offset=offset).fit()
        except (PerfectSeparationWarning, PerfectSeparationError):
            return _not_estimated(
                "Not estimable: the outcome separates the risk groups completely (perfect separation)."
            )
        except ConvergenceWarning:
            return _not_estimated("Not estimable: the model did not converge.")
        except (np.linalg.LinAlgError, ValueError) as error:
            return _not_estimated(f"Not estimable: the model could not be fitted ({error.__class__.__name__}).")
    if not result.converged:
        return _not_estimated("Not estimable: the model did not converge.")
    estimate = float(result.params[term])
    se = float(result.bse[term])
    low, high = (float(v) for v in np.asarray(result.conf_int())[term])
    if not all(math.isfinite(v) for v in (estimate, se, low, high)) or se <= 0:
        return _not_estimated("Not estimable: the model gives infinite or degenerate estimates.")
    contrast = np.zeros((1, x.shape[1]))
    contrast[0, term] = 1.0
    p_value = float(np.asarray(result.t_test((contrast, np.array([null]))).pvalue).item())
    return Coefficient(estimate, low, high, p_value)


def calibration(frame: pd.DataFrame, outcome: str) -> Calibration:
    """The paper's group rates against what happened here, on the fractures whose `outcome` is
    known: per group, E/O, calibration-in-the-large and the calibration slope (statsmodels GLM)."""
    data, note = _known(frame, outcome)
    n, events = len(data), int(data["outcome"].sum())
    groups = []
    for group in GROUPS:
        rows = data[data["group"] == group]
        group_events = int(rows["outcome"].sum())
        rate = wilson(group_events, len(rows)) if len(rows) else None
        groups.append(
            GroupCalibration(
                group=group,
                predicted=predicted_risk(group, outcome),
                n=len(rows),
                events=group_events,
                observed=rate.rate if rate else None,
                ci_low=rate.ci_low if rate else None,
                ci_high=rate.ci_high if rate else None,
            )
        )
    expected = float(data["predicted"].sum())
    ratio = expected / events if events else None
    if not events:
        note += "No event here, so no E/O ratio. "
    too_few = _too_few_events(n, events)
    if too_few:
        # E/O too: a ratio of a handful of events is no more a figure than the model's.
        return Calibration(
            outcome, n, events, expected, None, groups, _not_estimated(too_few), _not_estimated(too_few), note.strip()
        )
    y = data["outcome"].to_numpy(dtype=float)
    logit = special.logit(data["predicted"].to_numpy())
    in_the_large = _glm(y, np.ones((n, 1)), logit, term=0, null=0.0)
    if sum(1 for g in groups if g.n) < 2:
        slope = _not_estimated("A slope needs patients in at least two risk groups.")
    elif logit[y == 0].max() <= logit[y == 1].min() or logit[y == 1].max() <= logit[y == 0].min():
        # Every event in groups the paper rated at or above every non-event's (or below): the slope
        # runs off to infinity, and statsmodels warns only when the separation is complete.
        slope = _not_estimated(
            "Not estimable: separation, every event is in a group the paper rates at or above every "
            "patient without it (the slope would be infinite)."
        )
    else:
        slope = _glm(y, np.column_stack([np.ones(n), logit]), None, term=1, null=1.0)
    return Calibration(outcome, n, events, expected, ratio, groups, in_the_large, slope, note.strip())


# -- decision curve analysis ---------------------------------------------------------------------


@dataclass(frozen=True)
class StrategyCurve:
    key: str  # "high", "all", "none" (STRATEGIES)
    label: str
    points: list[tuple[float, float]]  # (threshold probability, net benefit per patient)


@dataclass(frozen=True)
class DecisionCurve:
    outcome: str
    n: int  # fractures with this outcome known
    events: int
    strategies: list[StrategyCurve]  # empty when too few events
    # Threshold ranges (first, last) where "augment when high" beats both augmenting all and none.
    high_beats_defaults: list[tuple[float, float]]
    summary: str
    note: str = ""


def _net_benefit(data: pd.DataFrame) -> pd.DataFrame:
    """dcurves' net benefit of each strategy at each threshold. dcurves prints and warns on its
    own; both are silenced here, for this call only."""
    import dcurves

    with (
        warnings.catch_warnings(),
        contextlib.redirect_stdout(io.StringIO()),
        contextlib.redirect_stderr(io.StringIO()),
    ):
        warnings.simplefilter("ignore")
        return dcurves.dca(data=data, outcome="outcome", modelnames=["high"], thresholds=list(THRESHOLDS))


def _ranges(thresholds: list[float], wins: list[bool]) -> list[tuple[float, float]]:
    ranges: list[tuple[float, float]] = []
    start = None
    for i, (threshold, win) in enumerate(zip(thresholds, wins, strict=True)):
        if win and start is None:
            start = threshold
        if start is not None and (not win or i == len(thresholds) - 1):
            ranges.append((start, threshold if win else thresholds[i - 1]))
            start = None
    return ranges


def _summary(ranges: list[tuple[float, float]]) -> str:
    def percent(value: float) -> str:
        return f"{value * 100:.0f} %"

    span = f"{percent(THRESHOLDS[0])} to {percent(THRESHOLDS[-1])}"
    if not ranges:
        return (
            f"At no threshold from {span} did augmenting the high group do more good than both "
            "augmenting all and treating all conservatively."
        )
    parts = [percent(a) if a == b else f"{percent(a)} to {percent(b)}" for a, b in ranges]
    joined = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return (
        f"Augmenting the high group did more good than both augmenting all and treating all "
        f"conservatively at thresholds of {joined} (of {span} examined)."
    )


def decision_curve(frame: pd.DataFrame, outcome: str) -> DecisionCurve:
    """Net benefit (dcurves) over threshold probabilities of 5–60 % of augmenting the high group
    (the paper's recommendation), of augmenting all and of treating all conservatively, on the
    fractures whose `outcome` is known."""
    data, note = _known(frame, outcome)
    n, events = len(data), int(data["outcome"].sum())
    too_few = _too_few_events(n, events)
    if too_few:
        return DecisionCurve(outcome, n, events, [], [], too_few, (note + too_few).strip())
    data = pd.DataFrame(
        {
            "outcome": data["outcome"].astype(bool),
            "high": (data["group"] == "high").astype(int),
        }
    )
    table = _net_benefit(data)
    curves = []
    for key, label in STRATEGIES.items():
        rows = table[table["model"] == key].sort_values("threshold")
        points = [(float(t), float(nb)) for t, nb in zip(rows["threshold"], rows["net_benefit"], strict=True)]
        curves.append(StrategyCurve(key, label, points))
    by_key = {curve.key: dict(curve.points) for curve in curves}
    thresholds = [t for t, _ in curves[0].points]
    wins = [by_key["high"][t] > max(by_key["all"][t], by_key["none"][t]) + TIE_TOLERANCE for t in thresholds]
    ranges = _ranges(thresholds, wins)
    return DecisionCurve(outcome, n, events, curves, ranges, _summary(ranges), note.strip())


# -- plots (matplotlib, drawn on the server as SVG) ------------------------------------------------


GROUP_MARKERS = {"low": "o", "medium": "s", "high": "^"}
GROUP_COLOURS = {"low": "#2a7f62", "medium": "#c9a227", "high": "#0b4f6c"}


def calibration_plot(results: dict[str, Calibration], *, group_labels: dict[str, str] | None = None) -> str | None:
    """Observed (with Wilson 95 % intervals) against the paper's predicted rate per group, with the
    line of perfect calibration, one panel per outcome: an SVG document, or None with nothing to draw."""
    labels = group_labels or {group: group.capitalize() for group in GROUPS}
    drawn = {outcome: result for outcome, result in results.items() if any(g.n for g in result.groups)}
    if not drawn:
        return None
    plt = pyplot()
    figure, panels = plt.subplots(1, len(drawn), figsize=(3.6 * len(drawn), 4.2), squeeze=False)
    for panel, (outcome, result) in zip(panels[0], drawn.items(), strict=True):
        panel.plot([0, 100], [0, 100], linestyle=":", color="#888888", label="perfect calibration")
        # One marker per group, named with its counts in the panel's legend: no label can collide.
        for group in result.groups:
            if group.observed is None:
                continue
            # max(0, …): at 0 or 100 % the Wilson bound meets the rate, give or take a rounding error.
            errors = [[max(0.0, group.observed - group.ci_low) * 100], [max(0.0, group.ci_high - group.observed) * 100]]
            panel.errorbar(
                [group.predicted * 100],
                [group.observed * 100],
                yerr=errors,
                fmt=GROUP_MARKERS[group.group],
                markersize=6,
                capsize=3,
                color=GROUP_COLOURS[group.group],
                label=f"{labels[group.group]}: {group.events}/{group.n}",
            )
        panel.legend(fontsize=7, loc="upper left", title="95 % CI (Wilson)", title_fontsize=7)
        panel.set_xlim(0, 100)
        panel.set_ylim(0, 100)
        panel.set_aspect("equal")
        panel.set_xlabel("Predicted: the paper's group rate (%)", fontsize=9)
        panel.set_ylabel("Observed here (%)", fontsize=9)
        panel.set_title(f"{OUTCOMES.get(outcome, outcome)}\n(n = {result.n}, {result.events} events)", fontsize=9)
    figure.tight_layout()
    return svg(figure)


def decision_curve_plot(curves: dict[str, DecisionCurve]) -> str | None:
    """Net benefit against the threshold probability for each strategy, one panel per outcome, the
    y axis from −0.05 to just above the highest curve (the legend says so when a line leaves it):
    an SVG document, or None with nothing to draw."""
    drawn = {outcome: curve for outcome, curve in curves.items() if curve.strategies}
    if not drawn:
        return None
    plt = pyplot()
    styles = {
        "high": {"color": "#0b4f6c", "linewidth": 2.4},
        "all": {"color": "#7a3b69", "linewidth": 1.4, "linestyle": "-."},
        "none": {"color": "#555555", "linewidth": 1.2, "linestyle": ":"},
    }
    figure, panels = plt.subplots(1, len(drawn), figsize=(4.0 * len(drawn), 4.2), squeeze=False)
    clipped = False
    for panel, (outcome, curve) in zip(panels[0], drawn.items(), strict=True):
        top = max(nb for strategy in curve.strategies for _, nb in strategy.points)
        for strategy in curve.strategies:
            clipped = clipped or any(nb < DECISION_PLOT_FLOOR for _, nb in strategy.points)
            thresholds = [t * 100 for t, _ in strategy.points]
            panel.plot(thresholds, [nb for _, nb in strategy.points], label=strategy.label, **styles[strategy.key])
        panel.set_xlim(THRESHOLDS[0] * 100, THRESHOLDS[-1] * 100)
        panel.set_ylim(DECISION_PLOT_FLOOR, max(top, 0.0) * 1.1 + 0.02)
        panel.set_xlabel("Threshold probability (%)", fontsize=9)
        panel.set_ylabel("Net benefit (per patient)", fontsize=9)
        panel.set_title(f"{OUTCOMES.get(outcome, outcome)}\n(n = {curve.n}, {curve.events} events)", fontsize=9)
    handles, labels = panels[0][0].get_legend_handles_labels()
    title = None
    if clipped:
        floor = f"{DECISION_PLOT_FLOOR:.2f}".replace("-", "−")
        title = f"y axis cut at {floor}: lines that leave it continue below"
    figure.legend(handles, labels, loc="lower center", ncol=2, fontsize=8, frameon=False, title=title, title_fontsize=8)
    figure.tight_layout(rect=(0, 0.14, 1, 1))
    return svg(figure)
