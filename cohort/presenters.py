"""What the cohort page prints, from the analyses and the paper's figures: labels, percentages,
intervals. The template does no arithmetic."""

from __future__ import annotations

from scoring import paper
from scoring.rules import RiskGroup

from . import analysis

NOT_REPORTED = "not reported for the score alone"
# The page's measures, and where the paper's figure for each is: (quantity, time).
PAPER_MEASURES = {
    "vhl_pre": ("vhl_percent", "pretreatment"),
    "vhl_6m": ("vhl_percent", "six_months"),
    "vhl_diff": ("vhl_percent", "difference"),
    "ka_pre": ("kyphosis_angle_deg", "pretreatment"),
    "ka_6m": ("kyphosis_angle_deg", "six_months"),
    "ka_diff": ("kyphosis_angle_deg", "difference"),
}


def _pct(rate) -> str:
    if not rate.n:
        return "—"
    return f"{rate.rate * 100:.1f} % ({rate.events}/{rate.n}; {rate.ci_low * 100:.1f}–{rate.ci_high * 100:.1f})"


def _p(value: float | None) -> str:
    if value is None:
        return "—"
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def _interval(estimate: paper.Estimate) -> str:
    """A published interval as the paper prints it, no rounding: (1.458–2.013)."""
    return f"({estimate.ci_low:g}–{estimate.ci_high:g})"


def paper_median(measure: str, group: str) -> str:
    """The paper's median (IQR) of a measure in a group, as printed: "15.1 (11.85, 23)"."""
    quantity, time = PAPER_MEASURES[measure]
    risk_group = RiskGroup(group)
    if time == "difference":
        figure = paper.RADIOGRAPHIC_DIFFERENCE[quantity][risk_group]
    else:
        before, six_months = paper.RADIOGRAPHIC_COURSE[quantity][risk_group]
        figure = before if time == "pretreatment" else six_months
    return f"{figure.median:g} ({figure.q1:g}, {figure.q3:g})"


def paper_auc(outcome: str) -> str:
    auc = paper.SCORE_AUC.get(outcome)
    return f"{auc.value:.3f} ({auc.ci_low:.3f}–{auc.ci_high:.3f})" if auc else NOT_REPORTED


def paper_model(outcome: str) -> str:
    """The paper's model for an outcome, in a line: each odds ratio, then the model's AUC."""
    model = paper.LOGISTIC_MODELS[outcome]
    terms = [
        f"{term.term} OR {term.estimate.value:g}{f' per {term.per}' if term.per else ''} {_interval(term.estimate)}"
        f"{f', P {term.p_value}' if term.p_value else ''}"
        for term in model.odds_ratios
    ]
    return "; ".join([*terms, f"model AUC {model.auc.value:g} {_interval(model.auc)}"])


def cohort_table(result) -> list[dict]:
    """Per group: this clinic's n and rates beside the paper's (spec §5)."""
    rows = []
    for group in analysis.GROUPS:
        published = paper.DERIVATION_COHORT[RiskGroup(group)]
        rows.append(
            {
                "group": group,
                "n": result.group_n[group],
                "paper_n": published.n,
                "outcomes": [
                    {
                        "ours": _pct(result.rates[outcome][group]),
                        "paper": _pct(
                            analysis.wilson(getattr(published, outcome).events, getattr(published, outcome).n)
                        ),
                    }
                    for outcome in analysis.OUTCOMES
                ],
            }
        )
    return rows


def test_rows(result) -> list[dict]:
    return [
        {
            "outcome": label,
            "method": result.tests[outcome].method,
            "p": _p(result.tests[outcome].p_value),
            "note": result.tests[outcome].note,
        }
        for outcome, label in analysis.OUTCOMES.items()
    ]


def median_table(result) -> list[dict]:
    return [
        {
            "label": label,
            "groups": [
                {"ours": result.medians[measure][group], "paper": paper_median(measure, group)}
                for group in analysis.GROUPS
            ],
        }
        for measure, label in analysis.MEASURES.items()
    ]


def auc_rows(result) -> list[dict]:
    rows = []
    for outcome, label in analysis.OUTCOMES.items():
        auc = result.aucs[outcome]
        rows.append(
            {
                "outcome": label,
                "auc": f"{auc.auc:.3f} ({auc.ci_low:.3f}–{auc.ci_high:.3f})" if auc else "—",
                "n": f"{auc.n} ({auc.events} events)" if auc else "too few events",
                "cut": (
                    f"score ≥ {auc.youden_cut:g}: sensitivity {auc.sensitivity * 100:.0f} %, "
                    f"specificity {auc.specificity * 100:.0f} %"
                )
                if auc and auc.youden_cut is not None
                else "—",
                "paper": paper_auc(outcome),
            }
        )
    return rows


def model_rows(result) -> list[dict]:
    rows = []
    for outcome, label in analysis.OUTCOMES.items():
        fit = result.models[outcome]
        rows.append(
            {
                "outcome": label,
                "n": f"{fit.n} patients, {fit.events} events",
                "terms": [
                    {"term": t.term, "or": f"{t.odds_ratio:.3f} ({t.ci_low:.3f}–{t.ci_high:.3f})", "p": _p(t.p_value)}
                    for t in fit.terms
                ],
                "note": fit.note,
                "paper": paper_model(outcome),
            }
        )
    return rows


def _too_few(pairs: int) -> str:
    return f"too few to compute: {pairs or 'none'} measured by both, {analysis.MIN_PAIRS} needed"


def agreement_rows(agreement) -> list[dict]:
    """Inter-reader agreement on the cohort page: ICC(2,1) for VHL and KA, kappa for the group.
    n is the fractures both readers measured, shown also when they are too few for a statistic."""

    def icc(value, pairs: int) -> str:
        if value:
            return f"{value.icc:.3f} ({value.ci_low:.2f}–{value.ci_high:.2f})"
        return _too_few(pairs) if pairs < analysis.MIN_PAIRS else "not computable: the readings do not vary"

    def kappa(value, pairs: int) -> str:
        if not value:
            return _too_few(pairs)
        if value.kappa is None:
            return f"undefined: one group only ({value.agreement * 100:.0f} % agree)"
        return f"{value.kappa:.3f} ({value.agreement * 100:.0f} % agree)"

    return [
        {
            "measure": "VHL",
            "statistic": "ICC(2,1), 95 % CI",
            "value": icc(agreement.vhl, agreement.vhl_pairs),
            "n": agreement.vhl_pairs,
        },
        {
            "measure": "Kyphosis angle",
            "statistic": "ICC(2,1), 95 % CI",
            "value": icc(agreement.kyphosis, agreement.kyphosis_pairs),
            "n": agreement.kyphosis_pairs,
        },
        {
            "measure": "Risk group each reader's values give",
            "statistic": "Cohen's κ (raw agreement)",
            "value": kappa(agreement.group_kappa, agreement.group_pairs),
            "n": agreement.group_pairs,
        },
    ]


def head_to_head_rows(comparison) -> list[dict]:
    rows = []
    for outcome, label in analysis.OUTCOMES.items():
        for name, classifier in analysis.CLASSIFIERS.items():
            auc = comparison.aucs[outcome][name]
            rows.append(
                {
                    "outcome": label,
                    "classifier": classifier,
                    "auc": f"{auc.auc:.3f} ({auc.ci_low:.3f}–{auc.ci_high:.3f})" if auc else "too few patients",
                }
            )
    return rows
