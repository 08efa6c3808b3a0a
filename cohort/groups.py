"""The paper's comparisons between the score groups, on a clinic's own patients (spec §5, issue 14):
quartiles as the paper prints them, the radiographic course (its Table 4) and the clinical course
(its Fig. 3) with Kruskal–Wallis and Bonferroni-adjusted pairwise Mann–Whitney tests, the outcome
rates compared pairwise with Fisher's exact test, and the baseline table by group (its Table 3).

No Django here: every function takes the analysed frame (one row per fracture, cohort/data.py)
and returns frozen dataclasses of plain values, at full precision (the presentation rounds).
A statistic that cannot be computed is None with a `note` saying why, never NaN; notes and labels
are msgids or `scoring.wording.Text`s (issue 16), translated by the presentation. The tests come
from scipy; nothing is drawn at random, so the same frame always gives the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats

from scoring.wording import Text, gettext_noop, text

from .analysis import GROUPS, MIN_EXPECTED_FOR_CHI2, group_difference_test, pyplot, svg

PAIRS = tuple(combinations(GROUPS, 2))  # (low, medium), (low, high), (medium, high): the paper's order
MONTHS = (0, 1, 3, 6)
CLINICAL_MEASURES = {"vas": gettext_noop("VAS pain (0–10)"), "odi": gettext_noop("ODI (%)")}
RADIOGRAPHIC_MEASURES = ("vhl_pre", "vhl_6m", "vhl_diff", "ka_pre", "ka_6m", "ka_diff")
MAX_EXACT_MANN_WHITNEY = 8  # scipy's own rule: exact U distribution when a sample is this small and nothing ties

# The tests' names (msgids, scoring.wording); "none" (no test made) is a code, never shown.
KRUSKAL_WALLIS = gettext_noop("Kruskal–Wallis H")
MANN_WHITNEY_EXACT = gettext_noop("Mann–Whitney U (exact)")
MANN_WHITNEY_NORMAL = gettext_noop("Mann–Whitney U (normal approximation, tie- and continuity-corrected)")
FISHER = gettext_noop("Fisher's exact")
CHI2 = gettext_noop("chi-squared")


# -- quartiles -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Quartiles:
    """Median and quartiles of the recorded values; None when nothing was recorded."""

    n: int
    median: float | None
    q1: float | None
    q3: float | None


def _known(values: Iterable) -> np.ndarray:
    """The recorded values as floats: None, NaN and anything not a number left out."""
    if isinstance(values, np.ndarray) and values.dtype.kind == "f":
        array = values
    else:
        series = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
        array = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return array[~np.isnan(array)]


def summary(values: Iterable) -> Quartiles:
    """The weighted-average quartiles SPSS reports (numpy's "weibull" method, position p·(n + 1)):
    the paper's medians and quartiles are these (its 11.125 is one). Missing values are left out."""
    known = _known(values)
    if known.size == 0:
        return Quartiles(0, None, None, None)
    q1, median, q3 = np.percentile(known, [25, 50, 75], method="weibull")
    return Quartiles(int(known.size), float(median), float(q1), float(q3))


@dataclass(frozen=True)
class MeanSd:
    """Mean and sample standard deviation (n − 1), for a plot that needs one line per group."""

    n: int
    mean: float | None
    sd: float | None
    note: str = ""  # a msgid (scoring.wording)


def mean_sd(values: Iterable) -> MeanSd:
    known = _known(values)
    if known.size == 0:
        return MeanSd(0, None, None, gettext_noop("no value recorded"))
    if known.size == 1:
        return MeanSd(1, float(known[0]), None, gettext_noop("one value: no standard deviation"))
    return MeanSd(int(known.size), float(known.mean()), float(known.std(ddof=1)))


# -- tests -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AcrossGroups:
    """One test of "do the groups differ?"; statistic and P are None when no test was made."""

    method: str  # KRUSKAL_WALLIS, CHI2, FISHER, or "none"
    statistic: float | None  # H, or χ²; None for Fisher's exact test
    df: int | None
    p_value: float | None
    note: str | Text = ""  # a msgid or a Text (scoring.wording), "" when there is nothing to say


@dataclass(frozen=True)
class Pairwise:
    """One pair of groups compared: the raw P and the Bonferroni-adjusted P (raw × the number of
    pairs tested, at most 1)."""

    first: str
    second: str
    method: str  # MANN_WHITNEY_EXACT / MANN_WHITNEY_NORMAL / FISHER, or "none"
    statistic: float | None  # Mann–Whitney: U of `first`; Fisher: the sample odds ratio (first vs second)
    p_value: float | None
    p_adjusted: float | None
    note: str = ""  # a msgid (scoring.wording)


def bonferroni(tests: list[Pairwise]) -> list[Pairwise]:
    """Bonferroni over the pairs actually tested (3 when every group has values; a pair with an
    empty group is no test and does not count), capped at 1."""
    tested = sum(test.p_value is not None for test in tests)
    return [
        test if test.p_value is None else replace(test, p_adjusted=min(1.0, test.p_value * tested)) for test in tests
    ]


def kruskal_wallis(samples: dict[str, np.ndarray]) -> AcrossGroups:
    """Kruskal–Wallis H across the groups that have a value (scipy, corrected for ties; P from the
    χ² distribution with groups − 1 degrees of freedom)."""
    present = [values for values in samples.values() if values.size]
    if len(present) < 2:
        return AcrossGroups("none", None, None, None, gettext_noop("needs values in at least two groups"))
    if np.unique(np.concatenate(present)).size < 2:
        return AcrossGroups("none", None, None, None, gettext_noop("every value is the same: nothing to rank"))
    result = stats.kruskal(*present)
    return AcrossGroups(KRUSKAL_WALLIS, float(result.statistic), len(present) - 1, float(result.pvalue))


def mann_whitney(first: str, second: str, x: np.ndarray, y: np.ndarray) -> Pairwise:
    """Two-sided Mann–Whitney U (scipy). The method is chosen as scipy's "auto" would, but stated:
    the exact distribution when a sample has at most 8 values and nothing ties, otherwise the
    normal approximation with the tie and continuity corrections. Both are deterministic."""
    if not x.size or not y.size:
        return Pairwise(first, second, "none", None, None, None, gettext_noop("a group has no value"))
    pooled = np.concatenate([x, y])
    if np.unique(pooled).size < 2:
        return Pairwise(
            first, second, "none", None, None, None, gettext_noop("every value is the same: nothing to rank")
        )
    ties = np.unique(pooled).size < pooled.size
    exact = min(x.size, y.size) <= MAX_EXACT_MANN_WHITNEY and not ties
    result = stats.mannwhitneyu(x, y, alternative="two-sided", method="exact" if exact else "asymptotic")
    method = MANN_WHITNEY_EXACT if exact else MANN_WHITNEY_NORMAL
    return Pairwise(first, second, method, float(result.statistic), float(result.pvalue), None)


# -- one measure by group (Table 4, Fig. 3) --------------------------------------------------------


@dataclass(frozen=True)
class GroupComparison:
    """A measure by group: quartiles (and mean, SD) per group, Kruskal–Wallis across the groups,
    and the three pairs by Mann–Whitney with Bonferroni's adjustment."""

    column: str
    quartiles: dict[str, Quartiles]  # group → quartiles, in the order low, medium, high
    means: dict[str, MeanSd]
    across: AcrossGroups
    pairwise: list[Pairwise] = field(default_factory=list)


def _samples(frame: pd.DataFrame, column: str) -> dict[str, np.ndarray]:
    return {group: _known(frame.loc[frame["group"] == group, column]) for group in GROUPS}


def compare_groups(frame: pd.DataFrame, column: str) -> GroupComparison:
    """The same comparison for every measure: VHL and KA (Table 4), VAS and ODI (Fig. 3),
    the baseline's continuous rows (Table 3). Rows where `column` is missing are left out."""
    samples = _samples(frame, column)
    pairwise = bonferroni([mann_whitney(a, b, samples[a], samples[b]) for a, b in PAIRS])
    return GroupComparison(
        column=column,
        quartiles={group: summary(values) for group, values in samples.items()},
        means={group: mean_sd(values) for group, values in samples.items()},
        across=kruskal_wallis(samples),
        pairwise=pairwise,
    )


def radiographic_course(frame: pd.DataFrame) -> dict[str, GroupComparison]:
    """The paper's Table 4: VHL and KA at pretreatment, 6 months and their difference, by group."""
    return {column: compare_groups(frame, column) for column in RADIOGRAPHIC_MEASURES}


def clinical_column(measure: str, month: int) -> str:
    """vas_pre / vas_1m / vas_3m / vas_6m (and odi_…): month 0 is the pretreatment visit."""
    return f"{measure}_pre" if month == 0 else f"{measure}_{month}m"


def clinical_course(frame: pd.DataFrame) -> dict[str, dict[int, GroupComparison]]:
    """The paper's Fig. 3: VAS and ODI at 0, 1, 3 and 6 months by group (measure → month →
    comparison), each time point tested as Table 4 is. Each time point has its own denominator:
    the fractures with that visit's value."""
    return {
        measure: {month: compare_groups(frame, clinical_column(measure, month)) for month in MONTHS}
        for measure in CLINICAL_MEASURES
    }


# -- outcome rates, pairwise -----------------------------------------------------------------------


@dataclass(frozen=True)
class RatePair:
    """Two groups' event rates compared by Fisher's exact test (two-sided)."""

    first_events: int
    first_n: int
    second_events: int
    second_n: int
    test: Pairwise


def pairwise_rates(frame: pd.DataFrame, outcome: str) -> list[RatePair]:
    """Each pair of groups, on the fractures whose `outcome` is known (its own denominator, never
    dropping a row for the other outcome): Fisher's exact test on the 2 × 2 table (scipy), with
    Bonferroni's adjustment over the pairs tested. The statistic is the sample odds ratio of the
    first group against the second, None when a zero cell makes it 0 or infinite."""
    known = frame.dropna(subset=[outcome])
    counts = {}
    for group in GROUPS:
        values = known.loc[known["group"] == group, outcome].astype(float)
        counts[group] = (int((values == 1).sum()), len(values))
    tests = []
    for first, second in PAIRS:
        (a, n_a), (b, n_b) = counts[first], counts[second]
        if not n_a or not n_b:
            tests.append(
                Pairwise(
                    first,
                    second,
                    "none",
                    None,
                    None,
                    None,
                    gettext_noop("a group has no fracture with this outcome known"),
                )
            )
            continue
        if a + b in (0, n_a + n_b):
            note = (
                gettext_noop("no event in either group: nothing to compare")
                if a + b == 0
                else gettext_noop("every fracture of both groups had the event: nothing to compare")
            )
            tests.append(Pairwise(first, second, "none", None, None, None, note))
            continue
        result = stats.fisher_exact([[a, n_a - a], [b, n_b - b]], alternative="two-sided")
        # With a zero cell the sample odds ratio is 0, infinite or 0/0: no estimate worth printing.
        finite = min(a, n_a - a, b, n_b - b) > 0
        odds_ratio = float(result.statistic) if finite else None
        note = "" if finite else gettext_noop("no odds ratio: a zero cell makes it 0 or infinite")
        tests.append(Pairwise(first, second, FISHER, odds_ratio, float(result.pvalue), None, note))
    tests = bonferroni(tests)
    return [
        RatePair(counts[test.first][0], counts[test.first][1], counts[test.second][0], counts[test.second][1], test)
        for test in tests
    ]


# -- Table 3: baseline by group --------------------------------------------------------------------


@dataclass(frozen=True)
class Count:
    """A category's count among the group's fractures with the variable known."""

    count: int
    n: int
    percent: float | None  # 100 × count / n; None when n is 0


@dataclass(frozen=True)
class Category:
    key: str
    label: str  # a msgid (scoring.wording), or a level's name (T11 …) as it is
    counts: dict[str, Count]  # group → count


@dataclass(frozen=True)
class BaselineRow:
    """One variable of the baseline table: quartiles per group (continuous) or counts per category
    and group (categorical), and the test across the groups."""

    key: str
    label: str  # a msgid (scoring.wording)
    unit: str  # "years" (a msgid), "kg/m²", … for a continuous row; "n (%)" for a categorical one
    kind: str  # "continuous" or "categorical"
    test: AcrossGroups
    quartiles: dict[str, Quartiles] = field(default_factory=dict)
    categories: list[Category] = field(default_factory=list)

    @property
    def method(self) -> str:
        return self.test.method


CONTINUOUS_BASELINE = (
    ("age", gettext_noop("Age"), gettext_noop("years")),
    ("bmi", "BMI", "kg/m²"),
    ("bmd_t_score", gettext_noop("BMD T-score"), "SD"),
    ("vas_pre", gettext_noop("Pretreatment VAS"), "0–10"),
    ("odi_pre", gettext_noop("Pretreatment ODI"), "%"),
    ("vhl_pre", gettext_noop("Pretreatment VHL"), "%"),
    ("ka_pre", gettext_noop("Pretreatment KA"), "°"),
)
LEVELS = ("T11", "T12", "L1", "L2")
T2_SIGNALS = {
    "diffuse_low": gettext_noop("Diffuse low T2 signal"),
    "confined_low": gettext_noop("Confined low T2 signal"),
    "diffuse_high": gettext_noop("Diffuse high T2 signal"),
    "confined_high": gettext_noop("Confined high T2 signal"),
}


@dataclass(frozen=True)
class _Categorical:
    key: str
    label: str
    values: pd.Series  # the category of each fracture, NaN when not known
    shown: dict[str, str]  # category → label, the categories listed (a yes/no variable lists "yes")
    order: tuple[str, ...]  # every category, for the test


def _categoricals(frame: pd.DataFrame) -> list[_Categorical]:
    def binary(column: str) -> pd.Series:
        values = frame[column]
        known = values.notna()
        answers = pd.Series(np.where(known & (values == 1), "yes", "no"), index=frame.index, dtype=object)
        return answers.where(known)

    recorded = frame["level"].notna() & (frame["level"].astype(str) != "")
    level = frame["level"].where(frame["level"].isin(LEVELS), "other").where(recorded)
    fracture_type = frame["fracture_type"].where(frame["fracture_type"].isin(["compression", "burst"]))
    t2 = frame["t2_signal"].where(frame["t2_signal"].isin(list(T2_SIGNALS)))
    return [
        _Categorical(
            "female", gettext_noop("Female sex"), binary("female"), {"yes": gettext_noop("Female")}, ("yes", "no")
        ),
        _Categorical(
            "level",
            gettext_noop("Level"),
            level,
            {**{v: v for v in LEVELS}, "other": gettext_noop("Other level")},
            (*LEVELS, "other"),
        ),
        _Categorical(
            "fracture_type",
            gettext_noop("Fracture type"),
            fracture_type,
            {"compression": gettext_noop("Compression"), "burst": gettext_noop("Burst")},
            ("compression", "burst"),
        ),
        _Categorical("t2_signal", gettext_noop("T2 signal"), t2, T2_SIGNALS, tuple(T2_SIGNALS)),
        _Categorical(
            "low_energy_trauma",
            gettext_noop("Low-energy trauma"),
            binary("low_energy_trauma"),
            {"yes": gettext_noop("Low-energy trauma")},
            ("yes", "no"),
        ),
    ]


def categorical_test(table: np.ndarray) -> AcrossGroups:
    """Groups × categories. Two categories: `analysis.group_difference_test` (χ², or Fisher's exact
    test when an expected count is below 5). More: χ² (scipy, no continuity correction), with a note
    when an expected count is below 5; no Monte Carlo, as the exact R × C test would need.
    Empty groups and categories nobody has are left out first."""
    table = np.asarray(table, dtype=int)
    table = table[table.sum(axis=1) > 0]
    table = table[:, table.sum(axis=0) > 0] if table.size else table
    if table.shape[0] < 2 or table.ndim < 2 or table.shape[1] < 2:
        return AcrossGroups(
            "none", None, None, None, gettext_noop("needs two groups with fractures and two categories present")
        )
    df = (table.shape[0] - 1) * (table.shape[1] - 1)
    if table.shape[1] == 2:
        test = group_difference_test(table)
        if test.method == CHI2:
            return AcrossGroups(CHI2, test.statistic, df, test.p_value)
        return AcrossGroups(test.method, test.statistic, None, test.p_value, test.note)
    chi2, p, dof, expected = stats.chi2_contingency(table, correction=False)
    small = int((expected < MIN_EXPECTED_FOR_CHI2).sum())
    note = (
        text(
            gettext_noop("%(small)s of %(cells)s expected counts are below %(minimum)s: the χ² P is approximate"),
            small=small,
            cells=int(expected.size),
            minimum=MIN_EXPECTED_FOR_CHI2,
        )
        if small
        else ""
    )
    return AcrossGroups(CHI2, float(chi2), int(dof), float(p), note)


def _categorical_row(variable: _Categorical, frame: pd.DataFrame) -> BaselineRow:
    known = variable.values.notna()
    by_group = {group: variable.values[known & (frame["group"] == group)] for group in GROUPS}
    table = np.array([[int((values == c).sum()) for c in variable.order] for values in by_group.values()])

    def count(values: pd.Series, category: str) -> Count:
        events, n = int((values == category).sum()), len(values)
        return Count(events, n, 100 * events / n if n else None)

    categories = [
        Category(category, label, {group: count(values, category) for group, values in by_group.items()})
        for category, label in variable.shown.items()
    ]
    return BaselineRow(
        variable.key, variable.label, "n (%)", "categorical", categorical_test(table), categories=categories
    )


def baseline(frame: pd.DataFrame) -> list[BaselineRow]:
    """The paper's Table 3 on these patients: the continuous variables as median (quartiles) with
    Kruskal–Wallis, the categorical ones as n (%) of the group's fractures with the variable
    known, with χ² or Fisher's exact test (`categorical_test`)."""
    rows = []
    for column, label, unit in CONTINUOUS_BASELINE:
        samples = _samples(frame, column)
        rows.append(
            BaselineRow(
                column,
                label,
                unit,
                "continuous",
                kruskal_wallis(samples),
                quartiles={group: summary(values) for group, values in samples.items()},
            )
        )
    rows.extend(_categorical_row(variable, frame) for variable in _categoricals(frame))
    return rows


# -- Fig. 3, drawn ---------------------------------------------------------------------------------


GROUP_COLOURS = {"low": "#2a7f62", "medium": "#c9a227", "high": "#b23a48"}
GROUP_STYLES = {"low": ("o", "-"), "medium": ("s", "--"), "high": ("^", "-.")}  # tell groups apart in grey print


CLINICAL_TITLES = {"vas": gettext_noop("VAS pain"), "odi": gettext_noop("ODI")}  # a panel's title
GROUP_LINES = {
    "low": gettext_noop("low score group"),
    "medium": gettext_noop("medium score group"),
    "high": gettext_noop("high score group"),
}


def _identity(message: str) -> str:
    return message


def course_plot(
    course: dict[str, dict[int, GroupComparison]], *, translate: Callable[[str], str] = _identity
) -> str | None:
    """VAS and ODI over the visits by group, as the paper's Fig. 3: median with its interquartile
    range as error bars, one line per group (offset a little sideways so the bars do not hide
    each other). An SVG document, or None when no group has a value at any visit. `translate`
    (a gettext) turns every text of the plot into the reader's language."""
    plt = pyplot()

    if not any(q.n for points in course.values() for c in points.values() for q in c.quartiles.values()):
        return None
    figure, panels = plt.subplots(1, len(CLINICAL_MEASURES), figsize=(7.4, 3.4))
    # Room for the second panel's axis label; no layout engine, which doubles the drawing time.
    figure.subplots_adjust(wspace=0.3)
    offsets = dict(zip(GROUPS, (-0.12, 0.0, 0.12), strict=True))
    for panel, (measure, label) in zip(np.atleast_1d(panels), CLINICAL_MEASURES.items(), strict=True):
        points = course.get(measure, {})
        for group in GROUPS:
            drawn = [(month, c.quartiles[group]) for month, c in sorted(points.items()) if c.quartiles[group].n]
            if not drawn:
                continue
            x = [month + offsets[group] for month, _ in drawn]
            medians = [q.median for _, q in drawn]
            errors = [[q.median - q.q1 for _, q in drawn], [q.q3 - q.median for _, q in drawn]]
            panel.errorbar(
                x,
                medians,
                yerr=errors,
                marker=GROUP_STYLES[group][0],
                linestyle=GROUP_STYLES[group][1],
                markersize=4,
                capsize=3,
                linewidth=1.6,
                color=GROUP_COLOURS[group],
                label=translate(GROUP_LINES[group]),
            )
        panel.set_xticks(MONTHS, [str(month) for month in MONTHS])
        panel.set_xlabel(translate(gettext_noop("Months after the start of treatment")))
        panel.set_ylabel(translate(gettext_noop("%(measure)s, median (IQR)")) % {"measure": translate(label)})
        panel.set_ylim(0, 10.5 if measure == "vas" else 100)
        panel.set_title(translate(CLINICAL_TITLES[measure]), fontsize=10)
    handles, labels = np.atleast_1d(panels)[0].get_legend_handles_labels()
    if not handles:  # only ODI recorded
        handles, labels = np.atleast_1d(panels)[-1].get_legend_handles_labels()
    figure.legend(
        handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.06), ncols=len(GROUPS), fontsize=8, frameon=False
    )
    return svg(figure)
