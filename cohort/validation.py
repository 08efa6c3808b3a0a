"""External validation of the paper's risk groups on a clinic's own patients (TRIPOD): calibration
and decision curve analysis.

The paper publishes no intercept, so the only prediction it makes for a new patient is the
observed rate of the patient's group in the derivation cohort (spec §5, scoring/paper.py). These
functions ask whether those rates come true here (calibration) and whether acting on the group
("augment when high") does more good than harm over a range of thresholds (net benefit).

No Django here: a cohort arrives as the analysed frame (one row per fracture, cohort/data.py) and
results leave as frozen dataclasses of plain values (JSON, once their words are made strings:
notes and summaries are msgids or `scoring.wording.Text`s, translated by the presentation). The
logistic models are statsmodels' GLM, the Wilson interval the pure core's, the net benefit
dcurves'; written here is only the reading of the threshold ranges off the curves for the summary.
"""

from __future__ import annotations

import contextlib
import io
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from cohort.analysis import GROUPS, OUTCOMES, pyplot, svg, wilson
from scoring import paper, rules
from scoring.wording import Text, gettext_noop, text

MIN_EVENTS = 10  # fewer events (or non-events) than this: no calibration model, no decision curve
THRESHOLDS = tuple(i / 100 for i in range(5, 61))  # threshold probabilities 5 %, 6 %, … 60 %
TIE_TOLERANCE = 1e-12  # net benefits closer than this are a tie: a tie is not "beating" a default
DECISION_PLOT_FLOOR = -0.05  # the decision curve plot's y axis starts here

CALIBRATION_EXPLANATION = gettext_noop(
    "Calibration asks whether the paper's rates come true here: a group the paper gave 62 % "
    "non-union should show about 62 % here."
)
EXPECTED_OVER_OBSERVED_EXPLANATION = gettext_noop(
    "Expected over observed (E/O) divides the events the paper's rates predict for these patients "
    "by the events that happened: 1 is perfect, above 1 the paper over-predicts, below 1 it "
    "under-predicts."
)
IN_THE_LARGE_EXPLANATION = gettext_noop(
    "Calibration-in-the-large is how far, on the log-odds scale, the outcome here is more (above 0) "
    "or less (below 0) frequent overall than the paper's rates predict: 0 is perfect."
)
SLOPE_EXPLANATION = gettext_noop(
    "The calibration slope asks whether the groups differ here as much as in the paper: 1 is perfect, "
    "below 1 the groups differ less here than the paper's rates say, above 1 more."
)
DECISION_CURVE_EXPLANATION = gettext_noop(
    "Net benefit counts the patients correctly augmented, minus the needless augmentations weighted "
    "by the threshold (at 20 %, four needless augmentations weigh as much as one patient correctly "
    "augmented), per patient: at each threshold, the higher line does more good."
)
TIE_RULE = gettext_noop(
    "A strategy beats another only with a net benefit higher by more than 10⁻¹²; equal net benefits "
    "(as when every patient is in the high group) are a tie, not a win."
)

STRATEGIES = {
    "high": gettext_noop("Augment when the group is high"),
    "all": gettext_noop("Augment all"),
    "none": gettext_noop("Treat all conservatively"),
}


def predicted_risk(group: str, outcome: str) -> float:
    """The paper's prediction for a fracture of this group: the group's rate in the derivation
    cohort (spec §5; the low group's kyphosis rate is 1/46, as published)."""
    proportion: paper.Proportion = getattr(paper.DERIVATION_COHORT[rules.RiskGroup(group)], outcome)
    return proportion.rate


def _known(frame: pd.DataFrame, outcome: str) -> tuple[pd.DataFrame, int]:
    """The rows where this outcome is known (its own denominator) and in one of the three groups,
    with the paper's predicted risk and the outcome as 0/1; and how many rows were left out."""
    data = frame.dropna(subset=[outcome])
    grouped = data["group"].isin(GROUPS)
    left_out = int((~grouped).sum())
    data = data[grouped]
    risks = {group: predicted_risk(group, outcome) for group in GROUPS}
    data = pd.DataFrame(
        {
            "group": data["group"].astype(str).to_numpy(),
            "predicted": data["group"].map(risks).astype(float).to_numpy(),
            "outcome": data[outcome].astype(int).to_numpy(),
        }
    )
    return data, left_out


def _too_few_events(n: int, events: int, left_out: int = 0) -> Text | None:
    """Why there is no model: too few events (or non-events), after the fractures left out, if any."""
    if min(events, n - events) >= MIN_EVENTS:
        return None
    if left_out:
        return text(
            gettext_noop(
                "%(left_out)s fracture(s) without a risk group left out. Too few events (%(events)s of %(n)s): "
                "at least %(minimum)s patients with and %(minimum)s without the outcome are needed."
            ),
            left_out=left_out,
            events=events,
            n=n,
            minimum=MIN_EVENTS,
        )
    return text(
        gettext_noop(
            "Too few events (%(events)s of %(n)s): at least %(minimum)s patients with and "
            "%(minimum)s without the outcome are needed."
        ),
        events=events,
        n=n,
        minimum=MIN_EVENTS,
    )


def _left_out_note(left_out: int) -> str | Text:
    """The fractures without a risk group left out, if any."""
    if not left_out:
        return ""
    return text(gettext_noop("%(left_out)s fracture(s) without a risk group left out."), left_out=left_out)


def _calibration_note(left_out: int, events: int) -> str | Text:
    """What a calibration says of its rows: the fractures left out, and that no E/O ratio is given
    when no event happened here."""
    if events:
        return _left_out_note(left_out)
    if left_out:
        return text(
            gettext_noop("%(left_out)s fracture(s) without a risk group left out. No event here, so no E/O ratio."),
            left_out=left_out,
        )
    return gettext_noop("No event here, so no E/O ratio.")


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
    note: str | Text = ""  # a msgid or a Text (scoring.wording)


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
    note: str | Text = ""  # a msgid or a Text (scoring.wording)


def _not_estimated(note: str | Text) -> Coefficient:
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
                gettext_noop("Not estimable: the outcome separates the risk groups completely (perfect separation).")
            )
        except ConvergenceWarning:
            return _not_estimated(gettext_noop("Not estimable: the model did not converge."))
        except (np.linalg.LinAlgError, ValueError) as error:
            return _not_estimated(
                text(
                    gettext_noop("Not estimable: the model could not be fitted (%(error)s)."),
                    error=error.__class__.__name__,
                )
            )
    if not result.converged:
        return _not_estimated(gettext_noop("Not estimable: the model did not converge."))
    estimate = float(result.params[term])
    se = float(result.bse[term])
    low, high = (float(v) for v in np.asarray(result.conf_int())[term])
    if not all(math.isfinite(v) for v in (estimate, se, low, high)) or se <= 0:
        return _not_estimated(gettext_noop("Not estimable: the model gives infinite or degenerate estimates."))
    contrast = np.zeros((1, x.shape[1]))
    contrast[0, term] = 1.0
    p_value = float(np.asarray(result.t_test((contrast, np.array([null]))).pvalue).item())
    return Coefficient(estimate, low, high, p_value)


def calibration(frame: pd.DataFrame, outcome: str) -> Calibration:
    """The paper's group rates against what happened here, on the fractures whose `outcome` is
    known: per group, E/O, calibration-in-the-large and the calibration slope (statsmodels GLM)."""
    data, left_out = _known(frame, outcome)
    n, events = len(data), int(data["outcome"].sum())
    note = _calibration_note(left_out, events)
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
    too_few = _too_few_events(n, events)
    if too_few:
        # E/O too: a ratio of a handful of events is no more a figure than the model's.
        return Calibration(
            outcome, n, events, expected, None, groups, _not_estimated(too_few), _not_estimated(too_few), note
        )
    y = data["outcome"].to_numpy(dtype=float)
    logit = special.logit(data["predicted"].to_numpy())
    in_the_large = _glm(y, np.ones((n, 1)), logit, term=0, null=0.0)
    if sum(1 for g in groups if g.n) < 2:
        slope = _not_estimated(gettext_noop("A slope needs patients in at least two risk groups."))
    elif logit[y == 0].max() <= logit[y == 1].min() or logit[y == 1].max() <= logit[y == 0].min():
        # Every event in groups the paper rated at or above every non-event's (or below): the slope
        # runs off to infinity, and statsmodels warns only when the separation is complete.
        slope = _not_estimated(
            gettext_noop(
                "Not estimable: separation, every event is in a group the paper rates at or above every "
                "patient without it (the slope would be infinite)."
            )
        )
    else:
        slope = _glm(y, np.column_stack([np.ones(n), logit]), None, term=1, null=1.0)
    return Calibration(outcome, n, events, expected, ratio, groups, in_the_large, slope, note)


# -- decision curve analysis ---------------------------------------------------------------------


@dataclass(frozen=True)
class StrategyCurve:
    key: str  # "high", "all", "none" (STRATEGIES)
    label: str  # a msgid (scoring.wording)
    points: list[tuple[float, float]]  # (threshold probability, net benefit per patient)


@dataclass(frozen=True)
class DecisionCurve:
    outcome: str
    n: int  # fractures with this outcome known
    events: int
    strategies: list[StrategyCurve]  # empty when too few events
    # Threshold ranges (first, last) where "augment when high" beats both augmenting all and none.
    high_beats_defaults: list[tuple[float, float]]
    summary: Text  # scoring.wording
    note: str | Text = ""  # a Text (scoring.wording), "" when there is nothing to say


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


def _summary(ranges: list[tuple[float, float]]) -> Text:
    def percent(value: float) -> str:
        return f"{value * 100:.0f} %"

    def span(low: float, high: float) -> Text:
        return text(gettext_noop("%(low)s to %(high)s"), low=percent(low), high=percent(high))

    examined = span(THRESHOLDS[0], THRESHOLDS[-1])
    if not ranges:
        return text(
            gettext_noop(
                "At no threshold from %(examined)s did augmenting the high group do more good than both "
                "augmenting all and treating all conservatively."
            ),
            examined=examined,
        )
    parts: list[str | Text] = [percent(a) if a == b else span(a, b) for a, b in ranges]
    return text(
        gettext_noop(
            "Augmenting the high group did more good than both augmenting all and treating all "
            "conservatively at thresholds of %(thresholds)s (of %(examined)s examined)."
        ),
        thresholds=_series(parts),
        examined=examined,
    )


def _series(parts: list[str | Text]) -> str | Text:
    """Items in a sentence: "a", "a and b", "a, b and c" (each a value or a Text), as Texts the
    reader's language joins its own way."""
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        return text(gettext_noop("%(first)s and %(last)s"), first=parts[0], last=parts[1])
    return text(gettext_noop("%(first)s, %(rest)s"), first=parts[0], rest=_series(parts[1:]))


def decision_curve(frame: pd.DataFrame, outcome: str) -> DecisionCurve:
    """Net benefit (dcurves) over threshold probabilities of 5–60 % of augmenting the high group
    (the paper's recommendation), of augmenting all and of treating all conservatively, on the
    fractures whose `outcome` is known."""
    data, left_out = _known(frame, outcome)
    n, events = len(data), int(data["outcome"].sum())
    too_few = _too_few_events(n, events)
    if too_few:
        return DecisionCurve(outcome, n, events, [], [], too_few, _too_few_events(n, events, left_out) or "")
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
    return DecisionCurve(outcome, n, events, curves, ranges, _summary(ranges), _left_out_note(left_out))


# -- plots (matplotlib, drawn on the server as SVG) ------------------------------------------------


GROUP_MARKERS = {"low": "o", "medium": "s", "high": "^"}
GROUP_COLOURS = {"low": "#2a7f62", "medium": "#c9a227", "high": "#0b4f6c"}


DEFAULT_GROUP_LABELS = {"low": gettext_noop("Low"), "medium": gettext_noop("Medium"), "high": gettext_noop("High")}


def _identity(message: str) -> str:
    return message


def calibration_plot(
    results: dict[str, Calibration],
    *,
    group_labels: dict[str, str] | None = None,
    translate: Callable[[str], str] = _identity,
) -> str | None:
    """Observed (with Wilson 95 % intervals) against the paper's predicted rate per group, with the
    line of perfect calibration, one panel per outcome: an SVG document, or None with nothing to draw.
    `translate` (a gettext) turns every text of the plot, `group_labels` too, into the reader's language."""
    labels = group_labels or DEFAULT_GROUP_LABELS
    drawn = {outcome: result for outcome, result in results.items() if any(g.n for g in result.groups)}
    if not drawn:
        return None
    plt = pyplot()
    figure, panels = plt.subplots(1, len(drawn), figsize=(3.6 * len(drawn), 4.2), squeeze=False)
    for panel, (outcome, result) in zip(panels[0], drawn.items(), strict=True):
        panel.plot(
            [0, 100], [0, 100], linestyle=":", color="#888888", label=translate(gettext_noop("perfect calibration"))
        )
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
                label=translate(gettext_noop("%(group)s: %(events)s/%(n)s"))
                % {"group": translate(str(labels[group.group])), "events": group.events, "n": group.n},
            )
        panel.legend(fontsize=7, loc="upper left", title=translate(gettext_noop("95 % CI (Wilson)")), title_fontsize=7)
        panel.set_xlim(0, 100)
        panel.set_ylim(0, 100)
        panel.set_aspect("equal")
        panel.set_xlabel(translate(gettext_noop("Predicted: the paper's group rate (%)")), fontsize=9)
        panel.set_ylabel(translate(gettext_noop("Observed here (%)")), fontsize=9)
        panel.set_title(_panel_title(outcome, result.n, result.events, translate), fontsize=9)
    figure.tight_layout()
    return svg(figure)


def _panel_title(outcome: str, n: int, events: int, translate: Callable[[str], str]) -> str:
    """A panel's title: the outcome, and under it its patients and events."""
    return translate(gettext_noop("%(outcome)s\n(n = %(n)s, %(events)s events)")) % {
        "outcome": translate(OUTCOMES.get(outcome, outcome)),
        "n": n,
        "events": events,
    }


def decision_curve_plot(curves: dict[str, DecisionCurve], *, translate: Callable[[str], str] = _identity) -> str | None:
    """Net benefit against the threshold probability for each strategy, one panel per outcome, the
    y axis from −0.05 to just above the highest curve (the legend says so when a line leaves it):
    an SVG document, or None with nothing to draw. `translate` (a gettext) turns every text of the
    plot into the reader's language."""
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
            panel.plot(
                thresholds,
                [nb for _, nb in strategy.points],
                label=translate(str(strategy.label)),
                **styles[strategy.key],
            )
        panel.set_xlim(THRESHOLDS[0] * 100, THRESHOLDS[-1] * 100)
        panel.set_ylim(DECISION_PLOT_FLOOR, max(top, 0.0) * 1.1 + 0.02)
        panel.set_xlabel(translate(gettext_noop("Threshold probability (%)")), fontsize=9)
        panel.set_ylabel(translate(gettext_noop("Net benefit (per patient)")), fontsize=9)
        panel.set_title(_panel_title(outcome, curve.n, curve.events, translate), fontsize=9)
    handles, labels = panels[0][0].get_legend_handles_labels()
    title = None
    if clipped:
        floor = f"{DECISION_PLOT_FLOOR:.2f}".replace("-", "−")
        title = translate(gettext_noop("y axis cut at %(floor)s: lines that leave it continue below")) % {
            "floor": floor
        }
    figure.legend(handles, labels, loc="lower center", ncol=2, fontsize=8, frameon=False, title=title, title_fontsize=8)
    figure.tight_layout(rect=(0, 0.14, 1, 1))
    return svg(figure)
