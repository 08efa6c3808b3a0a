"""The external-validation report: every number the cohort page shows, as one JSON-able dict.

One path: the page, `GET /cohort/report.json` and the downloadable HTML report are all drawn from
`get(cohort_filter)`. `compute()` runs the statistics (cohort/analysis.py, groups.py,
agreement.py, validation.py: no Django) on the frame cohort/data.py reads; `get()` keeps the
result in the "cohort" cache under the data's version, so a page over 20,000 fractures computes
it once per change of the data, not once per view (bench/cohort.md). The page asks for each plot
by its own URL (`plot()`, drawn once per key too); the download embeds them. The schema is
documented in docs/report-json.md; `SCHEMA` names its version.

Languages (issue 16): the cached report holds no words in a language. What the statistics say is
kept as their English msgid or a `scoring.wording.Text`, and the presenters translate it per
request; the JSON gives it in English (a data contract). A plot is drawn with words, so its cache
key names the active language.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import inspect
import json
import math
from dataclasses import dataclass
from pathlib import Path

from django.core.cache import caches
from django.utils import timezone, translation

from nasovcf_site.i18n import words
from nasovcf_site.version import VERSION
from scoring import paper, rules
from scoring.wording import Text

SCHEMA = "nasovcf-validation-report/1"


@dataclass(frozen=True)
class Report:
    numbers: dict  # the JSON report: every number at full precision
    figures: dict  # the statistics' own results the plots are drawn from (see PLOTS)
    plots: tuple[str, ...]  # the plots there is something to draw for, in PLOTS' order


def _plotters() -> dict:
    """Each plot of the report: its name → a function drawing it (an SVG document) from the figures."""
    from scoring.presenters import GROUP_LABELS

    from . import analysis, groups, validation

    labels = {group: words(label) for group, label in GROUP_LABELS.items()}
    return {
        "rates": lambda f: _draw(analysis.rates_plot, f["rates"], group_labels=labels),
        "course": lambda f: _draw(groups.course_plot, f["course"]),
        "roc": lambda f: _draw(analysis.roc_plot, f["aucs"]),
        "model_roc": lambda f: _draw(analysis.model_roc_plot, f["models"]),
        "calibration": lambda f: _draw(validation.calibration_plot, f["calibration"], group_labels=labels),
        "decision": lambda f: _draw(validation.decision_curve_plot, f["curves"]),
    }


def _draw(plotter, figures, **options) -> str | None:
    """A plot in the active language: its words go through `words` where the plot function takes
    a `translate` (the statistics modules know no language)."""
    if "translate" in inspect.signature(plotter).parameters:
        options["translate"] = words
    return plotter(figures, **options)


PLOTS = ("rates", "course", "roc", "model_roc", "calibration", "decision")


def _drawable(figures: dict) -> tuple[str, ...]:
    """The plots with something to draw (each plot function returns None otherwise), decided from
    the numbers, so that the page knows which images to ask for without drawing them."""
    available = {
        "rates": True,  # the paper's rates are drawn even before this clinic has any
        "course": any(
            q.n for months in figures["course"].values() for c in months.values() for q in c.quartiles.values()
        ),
        "roc": any(auc.auc is not None for auc in figures["aucs"].values()),
        "model_roc": any(fit.auc is not None and fit.auc.auc is not None for fit in figures["models"].values()),
        "calibration": any(g.n for result in figures["calibration"].values() for g in result.groups),
        "decision": any(curve.strategies for curve in figures["curves"].values()),
    }
    return tuple(name for name in PLOTS if available[name])


def plain(value):
    """Dataclasses, tuples, NumPy scalars and NaN made JSON: dicts, lists, numbers, None. A Text
    (words of the statistics) stays a Text, with plain values, for the presenters to translate;
    `english()` makes it a string for the JSON."""
    if isinstance(value, Text):
        return Text(value.msgid, {str(name): plain(item) for name, item in value.params.items()})
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: plain(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # a NumPy scalar
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def english(value):
    """The report with its words (Texts) in English: the JSON's strings do not depend on who asks."""
    if isinstance(value, Text):
        return str(value)
    if isinstance(value, dict):
        return {key: english(item) for key, item in value.items()}
    if isinstance(value, list):
        return [english(item) for item in value]
    return value


# The code that computes what is cached: a change to any of these files (a deployment) makes new
# keys, so a report pickled by other code is never read back.
CODE = hashlib.sha256(
    b"".join(
        (Path(__file__).parent / name).read_bytes()
        for name in ("report.py", "data.py", "analysis.py", "groups.py", "agreement.py", "validation.py")
    )
).hexdigest()[:16]


def cache_key(cohort_filter, version: str) -> str:
    filters = json.dumps(filter_record(cohort_filter), sort_keys=True)
    digest = hashlib.sha256(f"{VERSION}|{SCHEMA}|{CODE}|{version}|{filters}".encode()).hexdigest()
    return f"cohort-report:{digest}"


def plot_cache_key(cohort_filter, version: str, name: str) -> str:
    """A plot's key: the report's, the plot's name and the language its words are drawn in."""
    return f"{cache_key(cohort_filter, version)}:{name}:{translation.get_language() or 'default'}"


def filter_record(cohort_filter) -> dict:
    return {key: plain(value) for key, value in cohort_filter.as_dict().items()}


def get(cohort_filter, version: str | None = None) -> Report:
    """The report for this filter, from the cache when the data has not changed since."""
    from . import data

    cache = caches["cohort"]
    version = version or data.data_version()
    key = cache_key(cohort_filter, version)
    report = cache.get(key)
    if report is None:
        report = compute(cohort_filter, version)
        cache.set(key, report)
    return report


def plot(cohort_filter, name: str) -> str | None:
    """One plot of the report as an SVG document, drawn once per version of the data and language.
    The page asks for each by its own URL, so its first computation does not wait for six drawings
    (about 2 s at 20,000 fractures); the downloadable report embeds them all."""
    from . import data

    cache = caches["cohort"]
    version = data.data_version()
    key = plot_cache_key(cohort_filter, version, name)
    svg = cache.get(key)
    if svg is None:
        report = get(cohort_filter, version)
        svg = _plotters()[name](report.figures) if name in report.plots else ""
        cache.set(key, svg)
    return svg or None


def meta(cohort_filter, version: str) -> dict:
    return {
        "schema": SCHEMA,
        "app_version": VERSION,
        "rules_version": rules.RULES_VERSION,
        "generated_at": timezone.now().isoformat(timespec="seconds"),
        "data_version": version,
        "filters": filter_record(cohort_filter),
        "paper": paper.PAPER_CITATION,
    }


def compute(cohort_filter, version: str) -> Report:
    """Read the filtered cohort and run every analysis of the page (no cache)."""
    from . import agreement, analysis, data, formatting, groups, validation

    frame = data.read(cohort_filter, data.ANALYSIS_COLUMNS)
    counted = data.analysed(frame)
    result = analysis.analyse(counted)
    comparison = analysis.head_to_head(counted)
    calibration = {outcome: validation.calibration(counted, outcome) for outcome in analysis.OUTCOMES}
    curves = {outcome: validation.decision_curve(counted, outcome) for outcome in analysis.OUTCOMES}
    course = groups.clinical_course(counted)
    single = data.one_per_patient(counted)
    several, their_fractures = data.patients_with_several(counted)
    single_result = {
        "n": len(single),
        "patients_with_several": several,
        "fractures_of_those": their_fractures,
        "rates": {
            outcome: {
                group: analysis.wilson(int(rows[outcome].sum()), len(rows))
                for group in analysis.GROUPS
                for rows in [single[(single["group"] == group) & single[outcome].notna()]]
            }
            for outcome in analysis.OUTCOMES
        },
        "aucs": {
            outcome: _without_curve(analysis.roc(single["score"], single[outcome])) for outcome in analysis.OUTCOMES
        },
    }
    numbers = {
        "meta": meta(cohort_filter, version),
        "paper": published(),
        "population": {
            "total": len(frame),
            "counted": len(counted),
            "eligible_only": bool(cohort_filter.eligible),
            "exclusions": data.exclusion_counts(frame),
            "outcomes": data.outcome_counts(frame),
            "eligibility": {
                "criteria": [label for _, label in data.ELIGIBILITY] + list(data.COUNTED_CRITERIA),
                "failing": data.eligibility_counts(frame),
                "not_recorded": list(data.NOT_RECORDED_CRITERIA),
            },
        },
        "baseline": groups.baseline(counted),
        "outcomes": {
            outcome: {
                "n": result.outcome_n[outcome],
                "events": result.outcome_events[outcome],
                "rates": result.rates[outcome],
                "test": result.tests[outcome],
                "pairwise": groups.pairwise_rates(counted, outcome),
            }
            for outcome in analysis.OUTCOMES
        },
        "radiographic": groups.radiographic_course(counted),
        "clinical_course": course,
        "discrimination": {
            outcome: {"auc": result.aucs[outcome], "fixed_cuts": result.fixed_cuts[outcome]}
            for outcome in analysis.OUTCOMES
        },
        "univariable": result.univariable,
        "multivariable": result.models,
        "calibration": calibration,
        "decision_curve": curves,
        "head_to_head": comparison,
        "agreement": agreement.reader_agreement(frame[frame["exclusion"] != "archived"]),
        "one_per_patient": single_result,
        "methods": {
            "rounding": formatting.RULE,
            "min_events_for_auc": analysis.MIN_EVENTS_FOR_AUC,
            "min_events_per_variable": analysis.MIN_EVENTS_PER_VARIABLE,
            "min_events_for_calibration": validation.MIN_EVENTS,
            "min_pairs": agreement.MIN_PAIRS,
            "youden_tie_rule": analysis.YOUDEN_TIE_RULE,
            "paper_covariates": analysis.PAPER_COVARIATES,
            "explanations": {
                "calibration": validation.CALIBRATION_EXPLANATION,
                "expected_over_observed": validation.EXPECTED_OVER_OBSERVED_EXPLANATION,
                "in_the_large": validation.IN_THE_LARGE_EXPLANATION,
                "slope": validation.SLOPE_EXPLANATION,
                "decision_curve": validation.DECISION_CURVE_EXPLANATION,
                "tie_rule": validation.TIE_RULE,
            },
        },
    }
    figures = {
        "rates": result.rates,
        "course": course,
        "aucs": result.aucs,
        "models": result.models,
        "calibration": calibration,
        "curves": curves,
    }
    return Report(plain(numbers), figures, _drawable(figures))


def published() -> dict:
    """The paper's figures the page sets beside this clinic's (scoring/paper.py, spec §1 and §5)."""
    from . import analysis

    return {
        "n": paper.PAPER_COHORT_SIZE,
        "outcomes": paper.DERIVATION_COHORT,
        "outcome_rates": {
            group.value: {
                outcome: analysis.wilson(getattr(figures, outcome).events, getattr(figures, outcome).n)
                for outcome in analysis.OUTCOMES
            }
            for group, figures in paper.DERIVATION_COHORT.items()
        },
        "radiographic_course": paper.RADIOGRAPHIC_COURSE,
        "radiographic_difference": paper.RADIOGRAPHIC_DIFFERENCE,
        "score_auc": paper.SCORE_AUC,
        "univariable_non_union": paper.UNIVARIABLE_NON_UNION,
        "multivariable": paper.LOGISTIC_MODELS,
    }


def _without_curve(auc):
    """An AUC without its ROC points: the sensitivity analysis prints the figure, not the curve."""
    return dataclasses.replace(auc, fpr=[], tpr=[])
