"""What the cohort page prints, from the report's numbers (cohort/report.py) and the paper's figures
(scoring/paper.py): sections of tables, notes and plots, every figure formatted by
cohort/formatting.py. The template (cohort/_report.html) does no arithmetic and knows no statistic.

A section is a dict: id, title, paper_ref (the paper's table or figure it answers), intro (plain
sentences), tables (key, caption, header, rows of label and cells), notes, plot (a plot's name in
the report) and plot_alt.

Every word is in the active language (issue 16): the sentences here are gettext's, and what the
statistics and the paper say (their notes, labels and methods, English msgids or
scoring.wording.Text) goes through `words`. The sections are built per request, never cached.
"""

from __future__ import annotations

import datetime

from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from nasovcf_site.i18n import words
from scoring import paper
from scoring.presenters import GROUP_LABELS, GROUP_RANGES
from scoring.rules import RiskGroup

from . import formatting as fmt

GROUPS = ("low", "medium", "high")
OUTCOMES = {
    "non_union": gettext_lazy("Non-union at 6 months"),
    "progressive_kyphosis": gettext_lazy("Progressive kyphosis (> 10°)"),
}
NOT_RESTATED = gettext_lazy("not restated in the spec")
NOT_REPORTED = gettext_lazy("not reported for the score alone")
# The page's measures, and where the paper's figure for each is: (quantity, time).
PAPER_MEASURES = {
    "vhl_pre": ("vhl_percent", "pretreatment"),
    "vhl_6m": ("vhl_percent", "six_months"),
    "vhl_diff": ("vhl_percent", "difference"),
    "ka_pre": ("kyphosis_angle_deg", "pretreatment"),
    "ka_6m": ("kyphosis_angle_deg", "six_months"),
    "ka_diff": ("kyphosis_angle_deg", "difference"),
}
MEASURE_LABELS = {
    "vhl_pre": gettext_lazy("VHL pretreatment (%)"),
    "vhl_6m": gettext_lazy("VHL at 6 months (%)"),
    "vhl_diff": gettext_lazy("VHL difference"),
    "ka_pre": gettext_lazy("KA pretreatment (°)"),
    "ka_6m": gettext_lazy("KA at 6 months (°)"),
    "ka_diff": gettext_lazy("KA difference"),
}
PAIR_LABELS = {
    ("low", "medium"): gettext_lazy("low–medium"),
    ("low", "high"): gettext_lazy("low–high"),
    ("medium", "high"): gettext_lazy("medium–high"),
}


# -- building blocks ---------------------------------------------------------------------------


def cell(text, *, paper_figure: bool = False, testid: str = "") -> dict:
    return {"text": text, "paper": paper_figure, "testid": testid}


def row(label: str, cells: list, key: str = "") -> dict:
    return {"label": label, "cells": [c if isinstance(c, dict) else cell(c) for c in cells], "key": key}


def table(key: str, caption: str, header: list[str], rows: list[dict], title: str = "") -> dict:
    return {"key": key, "caption": caption, "header": header, "rows": rows, "title": title}


def section(id: str, title: str, *, paper_ref="", intro=(), tables=(), notes=(), plot="", plot_alt="") -> dict:
    return {
        "id": id,
        "title": title,
        "paper_ref": paper_ref,
        "intro": [line for line in intro if line],
        "tables": list(tables),
        "notes": [note for note in notes if note],
        "plot": plot,
        "plot_alt": plot_alt,
    }


def estimate(value, low, high) -> str:
    """A figure with its interval (cohort/formatting.py), its "to" in the active language."""
    return fmt.estimate(value, low, high, translate=words)


def interval(low, high) -> str:
    return fmt.interval(low, high, translate=words)


def labelled(label, value) -> str:
    """ "Label: value", with the active language's colon."""
    return _("%(label)s: %(value)s") % {"label": label, "value": value}


def listed(items, separator: str = ";") -> str:
    """Items joined with "; " (or ", "), with the active language's punctuation."""
    if separator == ",":
        joiner = pgettext("separator between the items of a list", ", ")
    else:
        joiner = pgettext("separator between the items of a list", "; ")
    return joiner.join(str(item) for item in items)


def with_note(value, note) -> str:
    """ "Value (note)", with the active language's parentheses."""
    return _("%(value)s (%(note)s)") % {"value": value, "note": note}


def group_label(group: str) -> str:
    return f"{words(GROUP_LABELS[group])} ({words(GROUP_RANGES[group])})"


def group_header() -> list[str]:
    return [group_label(group) for group in GROUPS]


def events_text(n, events) -> str:
    """The count of a fit or an AUC: "100 (30 events)"."""
    return _("%(n)s (%(events)s events)") % {"n": n, "events": events}


def rate(events: int, n: int, low=None, high=None) -> str:
    """61.9 % (39/63; 49.6–72.9): the percentage, the count and the Wilson interval."""
    if not n:
        return "—"
    bounds = f"; {fmt.percentage(low)}–{fmt.percentage(high)}" if low is not None and high is not None else ""
    return f"{fmt.percent(events / n)} ({events}/{n}{bounds})"


def paper_rate(group: str, outcome: str) -> str:
    published = getattr(paper.DERIVATION_COHORT[RiskGroup(group)], outcome)
    low, high = published.wilson_95
    return rate(published.events, published.n, low, high)


def test_text(test: dict | None) -> str:
    """A test across groups: "Kruskal–Wallis H, P 0.004", or why none was made."""
    if not test:
        return "—"
    if test.get("p_value") is None:
        return _("no test: %(reason)s") % {"reason": words(test.get("note")) or _("not computable")}
    text = _("%(method)s, P %(p)s") % {"method": words(test["method"]), "p": fmt.p_value(test["p_value"])}
    return with_note(text, words(test["note"])) if test.get("note") else text


def pairwise_text(tests: list[dict]) -> str:
    """Pairwise comparisons with Bonferroni-adjusted P: "low–high P 0.003; …"."""
    parts = []
    for test in tests:
        pair = PAIR_LABELS.get((test["first"], test["second"]), f"{test['first']}–{test['second']}")
        if test.get("p_adjusted") is None:
            parts.append(labelled(pair, words(test.get("note")) or _("not tested")))
        else:
            parts.append(f"{pair} P {fmt.p_value(test['p_adjusted'])}")
    return listed(parts) or "—"


def quartiles_text(q: dict | None) -> str:
    if not q or q.get("median") is None:
        return "—"
    return f"{fmt.quartiles(q['median'], q['q1'], q['q3'])}, n {q['n']}"


def paper_median(measure: str, group: str) -> str:
    """The paper's median (IQR) of a measure in a group, as printed: "15.1 (11.85, 23)"."""
    quantity, time = PAPER_MEASURES[measure]
    risk_group = RiskGroup(group)
    if time == "difference":
        figure = paper.RADIOGRAPHIC_DIFFERENCE[quantity][risk_group]
    else:
        before, six_months = paper.RADIOGRAPHIC_COURSE[quantity][risk_group]
        figure = before if time == "pretreatment" else six_months
    return fmt.quartiles(figure.median, figure.q1, figure.q3)


def paper_auc(outcome: str) -> str:
    auc = paper.SCORE_AUC.get(outcome)
    return estimate(auc.value, auc.ci_low, auc.ci_high) if auc else str(NOT_REPORTED)


def paper_model(outcome: str) -> str:
    """The paper's model for an outcome, in a line: each odds ratio, then the model's AUC."""
    model = paper.LOGISTIC_MODELS[outcome]
    terms = []
    for term in model.odds_ratios:
        values = {
            "term": words(term.term),
            "ratio": fmt.ratio(term.estimate.value),
            "unit": words(term.per),
            "interval": interval(term.estimate.ci_low, term.estimate.ci_high),
        }
        if term.per:
            line = _("%(term)s OR %(ratio)s per %(unit)s %(interval)s") % values
        else:
            line = _("%(term)s OR %(ratio)s %(interval)s") % values
        terms.append(f"{line}, P {term.p_value}" if term.p_value else line)
    auc = estimate(model.auc.value, model.auc.ci_low, model.auc.ci_high)
    return listed([*terms, _("model AUC %(auc)s") % {"auc": auc}])


def auc_text(auc: dict | None) -> str:
    """0.872 (0.816–0.928), or why there is no AUC or no interval."""
    if not auc:
        return "—"
    if auc.get("auc") is None:
        return words(auc.get("note")) or _("not computable")
    text = estimate(auc["auc"], auc.get("ci_low"), auc.get("ci_high"))
    if auc.get("ci_low") is None and auc.get("note"):
        return _("%(value)s (no interval: %(reason)s)") % {"value": text, "reason": words(auc["note"])}
    return text


def odds_ratio_text(term: dict) -> str:
    if term.get("odds_ratio") is None:
        return words(term.get("note")) or _("not estimable")
    return estimate(term["odds_ratio"], term.get("ci_low"), term.get("ci_high"))


# -- sections --------------------------------------------------------------------------------------


def baseline_section(numbers: dict) -> dict:
    """The paper's Table 3: who the patients of each group are."""
    rows = []
    for variable in numbers["baseline"]:
        test = test_text(variable["test"])
        if variable["kind"] == "continuous":
            cells = [quartiles_text(variable["quartiles"].get(group)) for group in GROUPS]
            label = _("%(variable)s (%(unit)s), median (IQR)") % {
                "variable": words(variable["label"]),
                "unit": words(variable["unit"]),
            }
            rows.append(row(label, [*cells, test], variable["key"]))
            continue
        for number, category in enumerate(variable["categories"]):
            counts = [category["counts"][group] for group in GROUPS]
            cells = [f"{c['count']}/{c['n']} ({fmt.number(c['percent'], 1)} %)" if c["n"] else "—" for c in counts]
            if len(variable["categories"]) == 1:  # a yes/no variable: its row is the "yes" count
                label = words(variable["label"])
            elif number == 0:
                label = labelled(words(variable["label"]), words(category["label"]))
            else:
                label = f"… {words(category['label'])}"
            rows.append(row(label, [*cells, test if number == 0 else ""], f"{variable['key']}-{category['key']}"))
    return section(
        "baseline",
        _("Who the patients are, by group"),
        paper_ref=_("the paper's Table 3"),
        intro=[
            _(
                "Continuous variables as median (IQR) with the Kruskal–Wallis test; categories as n/known (%) "
                "with χ² (Fisher's exact test for two categories when an expected count is below 5)."
            ),
            _("The paper's Table 3 figures are not restated in the spec (§5), so they are not printed beside these."),
        ],
        tables=[
            table(
                "baseline",
                _("Baseline by risk group"),
                [_("Variable"), *group_header(), _("Test across groups")],
                rows,
            )
        ],
    )


def outcomes_section(numbers: dict) -> dict:
    """Non-union and progressive kyphosis by group, each with its own denominator, beside the paper."""
    rows = []
    for group in GROUPS:
        cells = []
        for outcome in OUTCOMES:
            r = numbers["outcomes"][outcome]["rates"][group]
            cells += [
                cell(rate(r["events"], r["n"], r["ci_low"], r["ci_high"]), testid=f"rate-{outcome}"),
                cell(paper_rate(group, outcome), paper_figure=True),
            ]
        rows.append(row(group_label(group), cells, group))
    notes = []
    for outcome, label in OUTCOMES.items():
        result = numbers["outcomes"][outcome]
        pairs = [{**pair["test"]} for pair in result["pairwise"]]
        notes.append(
            _("%(outcome)s: across groups %(test)s; pairwise (Fisher's exact, Bonferroni-adjusted): %(pairwise)s.")
            % {"outcome": label, "test": test_text(result["test"]), "pairwise": pairwise_text(pairs)}
        )
    header = [_("Group")]
    for label in OUTCOMES.values():
        header += [_("%(label)s — here") % {"label": label}, pgettext("column of the published figures", "paper")]
    return section(
        "outcomes",
        _("Outcomes by risk group"),
        paper_ref=_("the paper's Fig. 1 and results"),
        intro=[
            _(
                "Rate (events/n; Wilson 95 %% interval). Each outcome has its own denominator: the fractures whose "
                "outcome is known (the paper's low group: 1/47 non-union, 1/46 kyphosis, as published)."
            )
            % {}  # "95 % interval" reads as a format to xgettext: the percent sign is escaped
        ],
        tables=[table("rates", _("Outcomes by risk group, beside the paper"), header, rows)],
        notes=notes,
        plot="rates",
        plot_alt=_(
            "Bar chart: non-union and progressive kyphosis rates by risk group here, with 95 %% intervals, "
            "beside the paper's rates. The numbers are in the table above."
        )
        % {},
    )


def radiographic_section(numbers: dict) -> dict:
    """The paper's Table 4: VHL and KA medians by group, with Kruskal–Wallis and pairwise tests."""
    rows, pairwise = [], []
    for measure, label in MEASURE_LABELS.items():
        comparison = numbers["radiographic"][measure]
        cells = []
        for group in GROUPS:
            q = comparison["quartiles"][group]
            cells += [
                cell(fmt.quartiles(q["median"], q["q1"], q["q3"]) + (f" (n {q['n']})" if q["n"] else "")),
                cell(paper_median(measure, group), paper_figure=True),
            ]
        cells.append(test_text(comparison["across"]))
        rows.append(row(label, cells, measure))
        pairwise.append(_("%(label)s: %(value)s.") % {"label": label, "value": pairwise_text(comparison["pairwise"])})
    header = [_("Measure")]
    for group in GROUPS:
        name = words(GROUP_LABELS[group])
        header += [_("%(label)s — here") % {"label": name}, _("%(label)s — paper") % {"label": name}]
    return section(
        "radiographic",
        _("Radiographic course, median (IQR)"),
        paper_ref=_("the paper's Table 4"),
        intro=[
            _(
                "Quartiles as SPSS computes them (weighted average, the paper's 11.125 is one). Across groups the "
                "Kruskal–Wallis test; pairwise the Mann–Whitney U test, P Bonferroni-adjusted (× the number of pairs "
                "compared: 3 when every group has values)."
            )
        ],
        tables=[table("radiographic", _("VHL and KA by risk group"), [*header, _("Across groups")], rows)],
        notes=[_("Pairwise (Mann–Whitney U, Bonferroni-adjusted P):"), *pairwise],
    )


MONTH_LABELS = {
    "0": gettext_lazy("pretreatment"),
    "1": gettext_lazy("1 month"),
    "3": gettext_lazy("3 months"),
    "6": gettext_lazy("6 months"),
}


def course_section(numbers: dict) -> dict:
    """The paper's Fig. 3: VAS and ODI at 0, 1, 3 and 6 months by group."""
    tables = []
    for measure, label in (("vas", _("VAS pain (0–10)")), ("odi", _("ODI (%)"))):
        rows = []
        for month, month_label in MONTH_LABELS.items():
            comparison = numbers["clinical_course"][measure][month]
            cells = [quartiles_text(comparison["quartiles"][group]) for group in GROUPS]
            rows.append(
                row(month_label, [*cells, test_text(comparison["across"]), pairwise_text(comparison["pairwise"])])
            )
        tables.append(
            table(
                f"course-{measure}",
                _("%(measure)s by risk group over the visits") % {"measure": label},
                [_("Visit"), *group_header(), _("Across groups"), _("Pairwise")],
                rows,
                title=label,
            )
        )
    return section(
        "course",
        _("Pain and disability over the visits"),
        paper_ref=_("the paper's Fig. 3"),
        intro=[
            _(
                "Median (IQR) and n at each visit; the groups compared at each visit by the Kruskal–Wallis test, "
                "pairwise by Mann–Whitney U with Bonferroni-adjusted P."
            ),
            _(
                "The paper reports higher VAS and ODI in the high group (P < 0.05); its figure's values are "
                "not restated in the spec."
            ),
        ],
        tables=tables,
        plot="course",
        plot_alt=_(
            "Line chart: median VAS and ODI by risk group at 0, 1, 3 and 6 months, with IQR bars. "
            "The numbers are in the tables above."
        ),
    )


def calibration_section(numbers: dict, explanations: dict) -> dict:
    """Do the paper's group rates come true here? (TRIPOD: external validation)"""
    tables, notes = [], []
    for outcome, label in OUTCOMES.items():
        result = numbers["calibration"][outcome]
        rows = [
            row(
                group_label(g["group"]),
                [
                    fmt.percent(g["predicted"]),
                    rate(g["events"], g["n"], g["ci_low"], g["ci_high"]),
                ],
                g["group"],
            )
            for g in result["groups"]
        ]

        def coefficient(c: dict) -> str:
            if c["estimate"] is None:
                return words(c["note"]) or _("not estimable")
            return f"{estimate(c['estimate'], c['ci_low'], c['ci_high'])}, Wald P {fmt.p_value(c['p_value'])}"

        eo = result["expected_over_observed"]
        rows += [
            row(
                _("Expected / observed"),
                [
                    fmt.ratio(eo) if eo is not None else "—",
                    _("n %(n)s, %(events)s events") % {"n": result["n"], "events": result["events"]},
                ],
                "eo",
            ),
            row(_("Calibration-in-the-large (0 is perfect)"), [coefficient(result["in_the_large"]), ""], "citl"),
            row(_("Calibration slope (1 is perfect)"), [coefficient(result["slope"]), ""], "slope"),
        ]
        tables.append(
            table(
                f"calibration-{outcome}",
                _("%(outcome)s: the paper's group rate (predicted) against the rate here (observed)")
                % {"outcome": label},
                [_("Group"), _("Predicted (paper)"), _("Observed here (Wilson 95 %)")],
                rows,
                title=label,
            )
        )
        if result.get("note"):
            notes.append(labelled(label, words(result["note"])))
    return section(
        "calibration",
        _("Calibration: do the paper's rates come true here?"),
        paper_ref=_("beyond the paper (TRIPOD)"),
        intro=[
            words(explanations["calibration"]),
            words(explanations["expected_over_observed"]),
            words(explanations["in_the_large"]),
            words(explanations["slope"]),
        ],
        tables=tables,
        notes=notes,
        plot="calibration",
        plot_alt=_(
            "Calibration plot: each group's observed rate here (with its 95 %% interval) against the paper's "
            "rate, with the diagonal of perfect calibration. The numbers are in the tables above."
        )
        % {},
    )


def decision_section(numbers: dict, explanations: dict) -> dict:
    """Net benefit of augmenting the high group against augmenting all or none."""
    notes = []
    for outcome, label in OUTCOMES.items():
        curve = numbers["decision_curve"][outcome]
        notes.append(
            _("%(outcome)s (n %(n)s, %(events)s events): %(summary)s")
            % {"outcome": label, "n": curve["n"], "events": curve["events"], "summary": words(curve["summary"])}
        )
    return section(
        "decision",
        _("Decision curves: does acting on the high group do more good than harm?"),
        paper_ref=_("beyond the paper (tests its recommendation)"),
        intro=[words(explanations["decision_curve"]), words(explanations["tie_rule"])],
        notes=notes,
        plot="decision",
        plot_alt=_(
            "Decision curves: net benefit against the threshold probability of augmenting the high group, "
            "augmenting all and treating all conservatively, for each outcome. The summary is in the text above."
        ),
    )


def agreement_section(numbers: dict, min_pairs: int) -> dict:
    """Two readers: ICC(2,1) for VHL and KA, Cohen's κ and linearly weighted κ for the group."""
    agreement = numbers["agreement"]

    def too_few(pairs: int) -> str:
        return _("too few to compute: %(pairs)s measured by both, %(needed)s needed") % {
            "pairs": pairs or pgettext("no pairs of readings", "none"),
            "needed": min_pairs,
        }

    def icc(value: dict | None, pairs: int) -> str:
        if not value:
            return too_few(pairs) if pairs < min_pairs else _("not computable: the readings do not vary")
        point, low, high = value["icc"], value.get("ci_low"), value.get("ci_high")
        if not -1 <= point <= 1:  # ICC(2,1) of two readers lies in −1 … 1; outside, the estimate fails
            return _("not computable: the estimate (%(icc)s) falls outside −1 to 1 with %(pairs)s pairs") % {
                "icc": fmt.ratio(point),
                "pairs": pairs,
            }
        if low is None or high is None:
            return _("%(value)s (no interval: %(reason)s)") % {
                "value": fmt.ratio(point),
                "reason": words(value.get("note")) or _("not defined"),
            }
        if low < -1 or high > 1 or low == high:
            return _("%(value)s (no interval: the F-based interval is not one here, raw %(low)s to %(high)s)") % {
                "value": fmt.ratio(point),
                "low": fmt.ratio(low),
                "high": fmt.ratio(high),
            }
        return estimate(point, low, high)

    def kappa(value: dict | None, pairs: int) -> str:
        if not value:
            return too_few(pairs)
        agree = _("%(percent)s agree") % {"percent": fmt.percent(value["agreement"])}
        if value["kappa"] is None:
            return _("undefined: %(reason)s (%(agree)s)") % {
                "reason": words(value.get("note")) or _("one group only"),
                "agree": agree,
            }
        low, high = value.get("ci_low"), value.get("ci_high")
        if low is None or high is None:
            reason = words(value.get("note")) or _("not computable")
            return _("%(value)s (no interval: %(reason)s; %(agree)s)") % {
                "value": fmt.ratio(value["kappa"]),
                "reason": reason,
                "agree": agree,
            }
        if low < -1 or high > 1:  # an interval past κ's range is not an interval: say so, with its bounds
            return _(
                "%(value)s (no interval: the asymptotic interval reaches past κ's range, raw %(low)s to %(high)s; "
                "%(agree)s)"
            ) % {"value": fmt.ratio(value["kappa"]), "low": fmt.ratio(low), "high": fmt.ratio(high), "agree": agree}
        return with_note(estimate(value["kappa"], low, high), agree)

    rows = [
        row(
            "VHL",
            [
                _("ICC(2,1), 95 % CI"),
                cell(icc(agreement["vhl"], agreement["vhl_pairs"]), testid="agreement"),
                agreement["vhl_pairs"],
            ],
        ),
        row(
            _("Kyphosis angle"),
            [
                _("ICC(2,1), 95 % CI"),
                cell(icc(agreement["kyphosis"], agreement["kyphosis_pairs"]), testid="agreement"),
                agreement["kyphosis_pairs"],
            ],
        ),
        row(
            _("Risk group each reader's values give"),
            [
                _("Cohen's κ, 95 % CI (raw agreement)"),
                cell(kappa(agreement["group_kappa"], agreement["group_pairs"]), testid="agreement"),
                agreement["group_pairs"],
            ],
        ),
        row(
            _("… the same, ordered low < medium < high"),
            [
                _("linearly weighted κ, 95 % CI"),
                cell(kappa(agreement["group_weighted_kappa"], agreement["group_pairs"]), testid="agreement"),
                agreement["group_pairs"],
            ],
        ),
    ]
    return section(
        "agreement",
        _("Two readers: agreement"),
        paper_ref=_("the paper names it as a limit"),
        intro=[
            _(
                "The paper averaged two radiologists but did not measure their agreement. Every fracture measured by "
                "two readers here, archived ones aside, whatever its treatment, outcome or the filter's eligibility "
                "(agreement is the readers', not the cohort's); n counts them, and a statistic needs at least "
                "%(min_pairs)s. Each reader's group is the saved score with that reader's own VHL and angle in place "
                "of the readers' mean. The ICC's interval is the F-based one of McGraw & Wong (1996), computed at "
                "full precision."
            )
            % {"min_pairs": min_pairs}
        ],
        tables=[
            table(
                "agreement",
                _("Two readers: agreement"),
                [_("Measure"), _("Statistic"), _("Value"), "n"],
                rows,
            )
        ],
    )


def _rate_text(r: dict) -> str:
    """A proportion of the fixed-cut table: 85.0 % (17/20; 64.0–94.8), or why there is none."""
    if r.get("rate") is None:
        return words(r.get("note")) or "—"
    return rate(r["events"], r["n"], r["ci_low"], r["ci_high"])


def discrimination_section(numbers: dict, rules_text: dict) -> dict:
    """The score's ROC per outcome (the paper's AUC 0.872), the Youden cut, and the fixed cuts."""
    rows = []
    for outcome, label in OUTCOMES.items():
        auc = numbers["discrimination"][outcome]["auc"]
        if auc.get("youden_cut") is not None:
            cut = _("score ≥ %(cut)s: sensitivity %(sensitivity)s, specificity %(specificity)s") % {
                "cut": fmt.number(auc["youden_cut"], 0),
                "sensitivity": fmt.percent(auc["sensitivity"]),
                "specificity": fmt.percent(auc["specificity"]),
            }
        else:
            cut = words(auc.get("youden_note")) or "—"
        rows.append(
            row(
                label,
                [
                    cell(auc_text(auc), testid="auc"),
                    events_text(auc["n"], auc["events"]),
                    cut,
                    cell(paper_auc(outcome), paper_figure=True),
                ],
                outcome,
            )
        )
    cut_rows = []
    for outcome, label in OUTCOMES.items():
        for cut in numbers["discrimination"][outcome]["fixed_cuts"].values():
            cut_rows.append(
                row(
                    labelled(label, words(cut["label"])),
                    [
                        f"{cut['tp']} / {cut['fp']} / {cut['fn']} / {cut['tn']}",
                        _rate_text(cut["sensitivity"]),
                        _rate_text(cut["specificity"]),
                        _rate_text(cut["ppv"]),
                        _rate_text(cut["npv"]),
                    ],
                    f"{outcome}-{cut['key']}",
                )
            )
    return section(
        "discrimination",
        _("Discrimination: ROC of the score"),
        paper_ref=_("the paper's Fig. 4 (ROC) and its cut"),
        intro=[
            _(
                "AUC with its DeLong 95 %% interval, shown only with at least %(min_events)s patients with the "
                "outcome and as many without; no interval when it is not one (a DeLong variance of 0, or a normal "
                "interval reaching past 0 or 1: the raw bounds are then given instead)."
            )
            % {"min_events": rules_text["min_events_for_auc"]},
            _("The Youden-optimal cut is chosen on these patients (in-sample, optimistic). %(tie_rule)s")
            % {"tie_rule": words(rules_text["youden_tie_rule"])},
            _(
                "The paper's cuts (score ≥ 2: medium or high; score > 4: high) are fixed in advance: their "
                "sensitivity, specificity and predictive values are the honest ones. Wilson 95 %% intervals."
            )
            % {},
        ],
        tables=[
            table(
                "auc",
                _("AUC of the NASOVCF score"),
                [_("Outcome"), _("AUC (95 % CI, DeLong)"), "n", _("Youden-optimal cut (in-sample)"), _("Paper")],
                rows,
            ),
            table(
                "fixed-cuts",
                _("The paper's cuts: TP / FP / FN / TN, then each proportion (events/n; Wilson 95 %)"),
                [
                    _("Outcome and cut"),
                    "TP / FP / FN / TN",
                    _("Sensitivity"),
                    _("Specificity"),
                    _("PPV"),
                    _("NPV"),
                ],
                cut_rows,
                title=_("At the paper's fixed cuts"),
            ),
        ],
        plot="roc",
        plot_alt=_(
            "ROC curves of the NASOVCF score for non-union and progressive kyphosis; the AUCs are in the table."
        ),
    )


def _fit_rows(fit: dict, outcome: str, key: str) -> list[dict]:
    published = paper.UNIVARIABLE_NON_UNION if outcome == "non_union" else {}
    n = events_text(fit["n"], fit["events"])
    if not fit["terms"]:
        keys = list(fit.get("predictors") or [key])
        return [
            row(
                " / ".join(_term_label(k) for k in keys),
                [
                    words(fit["note"]) or _("not fitted"),
                    "—",
                    n,
                    cell(_paper_or(published, keys[0]), paper_figure=True),
                ],
                f"{outcome}-{key}",
            )
        ]
    rows = []
    for term in fit["terms"]:
        rows.append(
            row(
                words(term["term"]),
                [
                    odds_ratio_text(term),
                    fmt.p_value(term["p_value"]),
                    n,
                    cell(_paper_or(published, term["key"]), paper_figure=True),
                ],
                f"{outcome}-{term['key']}",
            )
        )
    return rows


def _term_label(key: str) -> str:
    from .analysis import TERM_LABELS

    return words(TERM_LABELS.get(key, key))


def _paper_or(published: dict, key: str) -> str:
    figure = published.get(key)
    if figure is None:
        return str(NOT_RESTATED)
    text = estimate(figure.value, figure.ci_low, figure.ci_high)
    return f"{text}, P {figure.p_value}" if figure.p_value else text


def univariable_section(numbers: dict, rules_text: dict) -> dict:
    tables = []
    for outcome, label in OUTCOMES.items():
        rows = []
        for key, fit in numbers["univariable"][outcome].items():
            rows += _fit_rows(fit, outcome, key)
        tables.append(
            table(
                f"univariable-{outcome}",
                _("%(outcome)s: univariable odds ratios (95 %% CI), each from its own logistic regression")
                % {"outcome": label},
                [_("Term"), _("OR (95 % Wald CI)"), _("P (Wald)"), _("n (events)"), _("Paper")],
                rows,
                title=label,
            )
        )
    return section(
        "univariable",
        _("Each item and covariate alone: univariable odds ratios"),
        paper_ref=_("the paper's Tables 1, 5 and 6"),
        intro=[
            _(
                "The five items as the saved score counted them (spec §1), then the score and the covariates. Each "
                "fit uses the fractures where its outcome and its term are known, and is shown only with at least "
                "%(min_events)s events (and non-events) per variable. The paper's Table 1 gives the items' odds "
                "ratios for non-union (the points were assigned from them); the spec restates no univariable figure "
                "for progressive kyphosis."
            )
            % {"min_events": rules_text["min_events_per_variable"]},
        ],
        tables=tables,
    )


def multivariable_section(numbers: dict, rules_text: dict) -> dict:
    rows = []
    for outcome, label in OUTCOMES.items():
        fit = numbers["multivariable"][outcome]
        n = events_text(fit["n"], fit["events"])
        if fit["terms"]:
            terms = listed(
                f"{words(term['term'])} OR {odds_ratio_text(term)}, P {fmt.p_value(term['p_value'])}"
                for term in fit["terms"]
            )
        else:
            terms = words(fit["note"]) or _("not fitted")
        rows.append(
            row(
                label,
                [
                    terms,
                    cell(auc_text(fit.get("auc")), testid="model-auc"),
                    n,
                    cell(paper_model(outcome), paper_figure=True),
                ],
                outcome,
            )
        )
    covariates = listed(
        labelled(label, listed((_term_label(k) for k in rules_text["paper_covariates"][outcome]), ","))
        for outcome, label in OUTCOMES.items()
    )
    return section(
        "multivariable",
        _("Multivariable models with the paper's covariates"),
        paper_ref=_("the paper's Tables 5 and 6, Fig. 4"),
        intro=[
            _(
                "The paper's covariates, fitted on the fractures where all are known: %(covariates)s. The model's "
                "AUC is in-sample, from its fitted probabilities (DeLong 95 %% interval). Compare the score's odds "
                "ratio here with the paper's multivariable one; the score alone (above) compares with its "
                "univariable 1.754."
            )
            % {"covariates": covariates},
            _("The paper publishes no intercept, so no patient's probability is computed from these models."),
        ],
        tables=[
            table(
                "multivariable",
                _("Multivariable logistic regression, beside the paper's models"),
                [
                    _("Outcome"),
                    _("Odds ratios (95 % Wald CI), Wald P"),
                    _("Model AUC (95 % CI)"),
                    _("n (events)"),
                    _("Paper"),
                ],
                rows,
            )
        ],
        plot="model_roc",
        plot_alt=_("ROC curves of the two multivariable models; their AUCs are in the table."),
    )


CLASSIFIER_LABELS = {
    "score": gettext_lazy("NASOVCF score"),
    "genant_grade": gettext_lazy("Genant grade (height-based approximation)"),
    "of_rank": gettext_lazy("AO Spine-DGOU class (OF 1–5)"),
}


def head_to_head_section(numbers: dict) -> dict:
    comparison = numbers["head_to_head"]
    rows = []
    for outcome, label in OUTCOMES.items():
        result = comparison["outcomes"][outcome]
        for name, classifier in CLASSIFIER_LABELS.items():
            paired = result["comparisons"].get(name)
            if paired is None:
                test = "—"
            elif paired.get("difference") is None:
                test = words(paired.get("note")) or _("not computable")
            else:
                test = _("NASOVCF − this: %(difference)s, P %(p)s") % {
                    "difference": estimate(paired["difference"], paired["ci_low"], paired["ci_high"]),
                    "p": fmt.p_value(paired["p_value"]),
                }
                if paired.get("note"):
                    test = with_note(test, words(paired["note"]))
            rows.append(
                row(
                    labelled(label, classifier),
                    [auc_text(result["aucs"][name]), events_text(result["n"], result["events"]), test],
                    f"{outcome}-{name}",
                )
            )
    return section(
        "head-to-head",
        _("NASOVCF beside Genant and AO Spine-DGOU"),
        paper_ref=_("beyond the paper"),
        intro=[
            _(
                "AUC (DeLong 95 %% CI) on the same counted fractures that have all three (%(n)s): the six heights "
                "(for the Genant grade, a height-based approximation) and an OF class, each outcome on those where "
                "it is known (n below); NASOVCF against each by the paired DeLong test (DeLong et al. 1988)."
            )
            % {"n": comparison["n"]}
        ],
        tables=[
            table(
                "head-to-head",
                _("AUC of each classification, paired tests"),
                [_("Outcome and classification"), "AUC", _("n (events)"), _("Paired DeLong test")],
                rows,
            )
        ],
    )


def one_per_patient_section(numbers: dict) -> dict:
    """The sensitivity analysis: one fracture per patient (several of one patient are not independent)."""
    result = numbers["one_per_patient"]
    rows = []
    for group in GROUPS:
        cells = []
        for outcome in OUTCOMES:
            r = result["rates"][outcome][group]
            cells.append(rate(r["events"], r["n"], r["ci_low"], r["ci_high"]))
        rows.append(row(group_label(group), cells, group))
    rows.append(
        row(
            _("AUC of the score (n, events)"),
            [
                _("%(auc)s; n %(n)s, %(events)s events")
                % {
                    "auc": auc_text(result["aucs"][outcome]),
                    "n": result["aucs"][outcome]["n"],
                    "events": result["aucs"][outcome]["events"],
                }
                for outcome in OUTCOMES
            ],
            "auc",
        )
    )
    return section(
        "one-per-patient",
        _("Sensitivity analysis: one fracture per patient"),
        paper_ref=_("independence"),
        intro=[
            _(
                "%(patients)s patients have more than one counted fracture (%(fractures)s fractures): a patient's "
                "fractures are not independent, so every figure above counts some patients more than once. Here "
                "each patient counts once, with their first assessed fracture (%(n)s fractures)."
            )
            % {
                "patients": result["patients_with_several"],
                "fractures": result["fractures_of_those"],
                "n": result["n"],
            }
            if result["patients_with_several"]
            else _(
                "No patient has more than one counted fracture: every figure above already counts each patient once "
                "(a patient's fractures would not be independent). The same figures follow."
            )
        ],
        tables=[
            table(
                "one-per-patient",
                _("Outcomes and AUC, one fracture per patient"),
                [_("Group"), *OUTCOMES.values()],
                rows,
            )
        ],
    )


def population_section(numbers: dict) -> dict:
    """Who is counted: the fractures, the exclusions, each outcome's denominator, the eligibility."""
    population = numbers["population"]
    intro = [
        _(
            "%(counted)s of %(total)s fractures counted: not archived, under conservative care, with at least one "
            "6-month outcome known."
        )
        % {"counted": population["counted"], "total": population["total"]}
    ]
    notes = [
        _("%(count)s not counted: %(reason)s") % {"count": count, "reason": words(label)}
        for label, count in population["exclusions"]
    ]
    for outcome, label in OUTCOMES.items():
        counts = population["outcomes"][outcome]
        missing = listed(f"{count} {words(reason)}" for reason, count in counts["missing"])
        values = {"outcome": label, "known": counts["known"], "missing": missing}
        if missing:
            notes.append(_("%(outcome)s: known for %(known)s; not known for %(missing)s.") % values)
        else:
            notes.append(_("%(outcome)s: known for %(known)s.") % values)
    eligibility = population["eligibility"]
    if population["eligible_only"]:
        intro.append(
            _(
                "Only the paper's eligible population (spec §4): %(criteria)s. Fractures outside any of these are left out."
            )
            % {"criteria": listed(words(criterion) for criterion in eligibility["criteria"])}
        )
    failing = listed(
        _("%(count)s outside %(criterion)s") % {"count": count, "criterion": words(label)}
        for label, count in eligibility["failing"]
        if count
    )
    if failing and population["eligible_only"]:
        note = _("The paper's eligibility criteria (spec §4): %(failing)s (left out by the filter).")
    elif failing:
        note = _(
            "The paper's eligibility criteria (spec §4): %(failing)s (tick “Only the paper's eligible population” "
            "to leave them out)."
        )
    elif population["eligible_only"]:
        note = _(
            "The paper's eligibility criteria (spec §4): every counted fracture meets those the app records (left "
            "out by the filter)."
        )
    else:
        note = _(
            "The paper's eligibility criteria (spec §4): every counted fracture meets those the app records (tick "
            "“Only the paper's eligible population” to leave them out)."
        )
    notes.append(note % {"failing": failing} if failing else note)
    notes.append(
        _("Not recorded by the app, so to be checked by hand before a paper: %(criteria)s.")
        % {"criteria": listed(words(criterion) for criterion in eligibility["not_recorded"])}
    )
    notes.append(_("Demo data (MRNs DEMO-…) is counted like any other: do not mix it with real patients."))
    return section("counts", _("Who is counted"), intro=intro, notes=notes)


def methods_section(numbers: dict) -> dict:
    methods = numbers["methods"]
    return section(
        "methods",
        _("How these figures are computed"),
        intro=[
            words(methods["rounding"]),
            _(
                "An AUC needs at least %(auc)s patients with the outcome and as many without; a logistic fit at "
                "least %(per_variable)s of the rarer outcome per variable (Peduzzi et al. 1996); calibration and "
                "decision curves at least %(calibration)s of each. Below these, the page says “too few events” with "
                "the counts rather than print an unstable number."
            )
            % {
                "auc": methods["min_events_for_auc"],
                "per_variable": methods["min_events_per_variable"],
                "calibration": methods["min_events_for_calibration"],
            },
            words(methods["youden_tie_rule"]),
            _(
                "Tests: χ² across groups (Fisher's exact test, exact Freeman–Halton for more than two groups, when an "
                "expected count is below 5); Kruskal–Wallis and Mann–Whitney U for medians; Bonferroni for pairwise "
                "comparisons; DeLong for AUCs and paired AUCs; Wilson intervals for proportions; statsmodels for logistic "
                "regression and calibration (Wald intervals and P); dcurves for decision curves; ICC(2,1) from the "
                "two-way ANOVA with its F-based interval (checked against pingouin); statsmodels' Cohen's κ."
            ),
            _(
                "Written here because no library of the stack provides them: DeLong's variance and the paired DeLong "
                "test, the exact Fisher test for R×2 tables (SciPy's is a Monte Carlo estimate), and the ICC interval "
                "(pingouin rounds it to 2 decimals)."
            ),
        ],
    )


def page(numbers: dict) -> list[dict]:
    """Every section of the report, in the order a reader of the paper expects them."""
    rules_text = numbers["methods"]
    explanations = numbers["methods"]["explanations"]
    return [
        population_section(numbers),
        baseline_section(numbers),
        outcomes_section(numbers),
        radiographic_section(numbers),
        course_section(numbers),
        discrimination_section(numbers, rules_text),
        univariable_section(numbers, rules_text),
        multivariable_section(numbers, rules_text),
        calibration_section(numbers, explanations),
        decision_section(numbers, explanations),
        head_to_head_section(numbers),
        agreement_section(numbers, rules_text["min_pairs"]),
        one_per_patient_section(numbers),
        methods_section(numbers),
    ]


def filter_text(filters: dict) -> str:
    """The filter in words, for the report's stamp: "assessed from 2021-01-01; level L1; …"."""
    parts = []
    dates = {"start": _shown_date(filters.get("date_from")), "end": _shown_date(filters.get("date_to"))}
    if dates["start"] and dates["end"]:
        parts.append(_("assessed from %(start)s to %(end)s") % dates)
    elif dates["start"]:
        parts.append(_("assessed from %(start)s") % dates)
    elif dates["end"]:
        parts.append(_("assessed to %(end)s") % dates)
    if filters.get("level"):
        parts.append(_("level %(level)s") % {"level": filters["level"]})
    if filters.get("sex"):
        parts.append({"F": _("women"), "M": _("men")}.get(filters["sex"], filters["sex"]))
    if filters.get("eligible"):
        parts.append(_("only the paper's eligible population (spec §4)"))
    return listed(parts) or _("none (every fracture)")


def _shown_date(value) -> str:
    """A filter's date (ISO in the report) as the active language writes it."""
    if not value:
        return ""
    try:
        return date_format(datetime.date.fromisoformat(str(value)), "SHORT_DATE_FORMAT")
    except ValueError:
        return str(value)
