"""The group comparisons (cohort/groups.py) against answers computed by hand on small tables:
ranks, hypergeometric sums, the normal approximation written out, χ² from its definition."""

import dataclasses
import json
import math

import numpy as np
import pandas as pd
import pytest

from cohort import groups
from tests.cohort.test_analysis import in_english


def frame_of(**columns_by_group) -> pd.DataFrame:
    """One row per value: frame_of(low=[...], high=[...]) for a single column "x"."""
    rows = [{"group": group, "x": value} for group, values in columns_by_group.items() for value in values]
    return pd.DataFrame(rows, columns=["group", "x"])


def normal_p(x, y) -> float:
    """Two-sided Mann–Whitney P by the normal approximation, written out: U of x, the tie-corrected
    variance, a continuity correction of ½, and the normal tail by erfc."""
    pooled = np.concatenate([x, y])
    ranks = pd.Series(pooled).rank().to_numpy()
    n1, n2, total = len(x), len(y), len(pooled)
    u = ranks[:n1].sum() - n1 * (n1 + 1) / 2
    ties = pd.Series(pooled).value_counts().to_numpy()
    variance = n1 * n2 / 12 * ((total + 1) - (ties**3 - ties).sum() / (total * (total - 1)))
    z = (abs(u - n1 * n2 / 2) - 0.5) / math.sqrt(variance)
    return math.erfc(z / math.sqrt(2))


# -- quartiles -------------------------------------------------------------------------------------


def test_quartiles_are_the_weighted_averages_spss_reports():
    # Position p·(n + 1): n = 5 → q1 at 1.5, median at 3, q3 at 4.5.
    assert groups.summary(pd.Series([1, 2, 3, 4, 5, None])) == groups.Quartiles(5, 3.0, 1.5, 4.5)


def test_quartiles_give_the_papers_11_125():
    # n = 6: q3 at position 5.25 → 11 + 0.25 × (11.5 − 11) = 11.125, as the paper's KA at 6 months.
    assert groups.summary([1, 2, 3, 4, 11, 11.5]).q3 == 11.125


def test_quartiles_of_nothing_are_none_not_nan():
    assert groups.summary([]) == groups.Quartiles(0, None, None, None)
    assert groups.summary(pd.Series([np.nan, np.nan])) == groups.Quartiles(0, None, None, None)


def test_quartiles_are_not_rounded():
    assert groups.summary([0.1, 0.2, 0.3, 0.4]).median == pytest.approx(0.25, abs=1e-15)
    assert groups.summary([8.2, 8.3]).median == pytest.approx(8.25)


def test_mean_and_sample_sd():
    result = groups.mean_sd([2, 4, 4, 4, 5, 5, 7, 9, None])
    assert result.mean == 5.0
    assert result.sd == pytest.approx(math.sqrt(32 / 7))  # Σ(x − 5)² = 32, n − 1 = 7
    assert groups.mean_sd([3.0]).sd is None and groups.mean_sd([3.0]).note
    assert groups.mean_sd([]) == groups.MeanSd(0, None, None, "no value recorded")


# -- Kruskal–Wallis and Mann–Whitney ---------------------------------------------------------------


def test_kruskal_wallis_and_exact_mann_whitney_on_separated_groups():
    result = groups.compare_groups(frame_of(low=[1, 2, 3], medium=[4, 5, 6], high=[7, 8, 9]), "x")
    # Ranks 1..9, rank sums 6, 15, 24: H = 12 / (9·10) · (36 + 225 + 576) / 3 − 3·10 = 7.2.
    assert result.across.method == groups.KRUSKAL_WALLIS
    assert result.across.statistic == pytest.approx(7.2)
    assert result.across.df == 2
    assert result.across.p_value == pytest.approx(math.exp(-7.2 / 2))  # χ² with 2 df: P = e^(−H/2)
    # Exact U: each pair fully separated, U = 0, two-sided P = 2 / C(6, 3) = 0.1; Bonferroni × 3.
    assert [(p.first, p.second) for p in result.pairwise] == [("low", "medium"), ("low", "high"), ("medium", "high")]
    for pair in result.pairwise:
        assert pair.method == groups.MANN_WHITNEY_EXACT
        assert pair.statistic == 0.0
        assert pair.p_value == pytest.approx(0.1)
        assert pair.p_adjusted == pytest.approx(0.3)
    assert result.quartiles["medium"] == groups.Quartiles(3, 5.0, 4.0, 6.0)


def test_bonferroni_is_capped_at_1():
    # low [1, 3, 5] against medium [2, 4, 6]: U = 3; P(U ≤ 3) = (1 + 1 + 2 + 3) / 20, two-sided 0.7.
    result = groups.compare_groups(frame_of(low=[1, 3, 5], medium=[2, 4, 6], high=[10, 11, 12]), "x")
    low_medium = result.pairwise[0]
    assert low_medium.statistic == 3.0
    assert low_medium.p_value == pytest.approx(0.7)
    assert low_medium.p_adjusted == 1.0  # 0.7 × 3 = 2.1, capped


def test_ties_use_the_tie_corrected_normal_approximation():
    low, high = [1, 2, 2, 3, 3, 3], [2, 3, 4, 4, 5, 5, 6, 7, 8, 9]
    result = groups.compare_groups(frame_of(low=low, high=high), "x")
    pair = result.pairwise[1]
    assert pair.method == groups.MANN_WHITNEY_NORMAL
    assert pair.p_value == pytest.approx(normal_p(np.array(low, float), np.array(high, float)), rel=1e-12)


def test_an_empty_group_is_left_out_and_bonferroni_counts_only_the_pairs_tested():
    result = groups.compare_groups(frame_of(low=[1, 2, 3], high=[7, 8, 9]), "x")
    assert result.quartiles["medium"] == groups.Quartiles(0, None, None, None)
    assert result.means["medium"].mean is None
    # Two groups: H = 12 / (6·7) · (36 + 225) / 3 − 3·7 = 3.857…, 1 df.
    assert result.across.df == 1
    assert result.across.statistic == pytest.approx(12 / 42 * (36 + 225) / 3 - 21)
    low_medium, low_high, medium_high = result.pairwise
    assert low_medium.p_value is None and low_medium.method == "none" and low_medium.note
    assert medium_high.p_value is None
    assert low_high.p_value == pytest.approx(0.1)
    assert low_high.p_adjusted == pytest.approx(0.1)  # one test made: × 1


def test_missing_values_leave_only_their_own_rows():
    result = groups.compare_groups(frame_of(low=[1, np.nan, 2, 3], medium=[4, 5, np.nan, 6], high=[7, 8, 9]), "x")
    assert [q.n for q in result.quartiles.values()] == [3, 3, 3]
    assert result.across.statistic == pytest.approx(7.2)


def test_no_test_when_every_value_is_the_same_or_one_group_has_values():
    same = groups.compare_groups(frame_of(low=[2, 2], medium=[2], high=[2, 2, 2]), "x")
    assert same.across.p_value is None and same.across.statistic is None and "same" in str(same.across.note)
    assert all(pair.p_value is None for pair in same.pairwise)
    alone = groups.compare_groups(frame_of(high=[1, 2, 3]), "x")
    assert alone.across.method == "none" and "two groups" in str(alone.across.note)
    assert all(pair.p_adjusted is None for pair in alone.pairwise)


def test_results_are_plain_json():
    result = groups.compare_groups(frame_of(low=[1, 2], medium=[], high=[np.nan]), "x")
    text = json.dumps(dataclasses.asdict(result), allow_nan=False)
    assert "NaN" not in text


# -- Table 4 and Fig. 3 ----------------------------------------------------------------------------


def course_frame() -> pd.DataFrame:
    rows = []
    for group, base in (("low", 2.0), ("medium", 4.0), ("high", 6.0)):
        for i in range(4):
            rows.append(
                {
                    "group": group,
                    "vas_pre": base + i,
                    "vas_1m": base + i - 1,
                    "vas_3m": np.nan if i == 0 else base,
                    "vas_6m": base - 1,
                    "odi_pre": 10 * base + i,
                    "odi_1m": 10 * base,
                    "odi_3m": 10 * base - i,
                    "odi_6m": np.nan,
                    **dict.fromkeys(groups.RADIOGRAPHIC_MEASURES, base + i),
                }
            )
    return pd.DataFrame(rows)


def test_radiographic_course_compares_every_measure_of_table_4():
    course = groups.radiographic_course(course_frame())
    assert list(course) == ["vhl_pre", "vhl_6m", "vhl_diff", "ka_pre", "ka_6m", "ka_diff"]
    assert course["ka_6m"].quartiles["high"] == groups.summary([6, 7, 8, 9])


def test_clinical_course_has_each_visit_with_its_own_denominator():
    course = groups.clinical_course(course_frame())
    assert list(course) == ["vas", "odi"] and list(course["vas"]) == [0, 1, 3, 6]
    assert course["vas"][0].column == "vas_pre" and course["odi"][6].column == "odi_6m"
    assert course["vas"][3].quartiles["low"].n == 3  # one low-group fracture missed the 3-month visit
    assert course["vas"][0].means["medium"].mean == pytest.approx(5.5)  # 4, 5, 6, 7
    assert course["vas"][0].means["medium"].sd == pytest.approx(math.sqrt(5 / 3))
    assert course["odi"][6].across.method == "none"  # nobody reached 6 months
    # Constant within each group at 3 months (2, 4, 6), still ranks across groups: the test is made.
    assert course["vas"][3].across.method == groups.KRUSKAL_WALLIS


def test_course_plot_draws_both_panels_with_a_legend_per_group():
    svg = groups.course_plot(groups.clinical_course(course_frame()))
    assert svg.startswith("<?xml") and "<svg" in svg
    for text in ("low score group", "medium score group", "high score group", "Months after the start of treatment"):
        assert text in svg  # matplotlib writes each text as a comment beside its outline
    assert "VAS pain (0–10), median (IQR)" in svg and "ODI (%), median (IQR)" in svg


def test_course_plot_draws_nothing_without_values():
    empty = course_frame().iloc[0:0]
    assert groups.course_plot(groups.clinical_course(empty)) is None


# -- outcome rates pairwise ------------------------------------------------------------------------


def fisher_two_sided(a: int, b: int, c: int, d: int) -> float:
    """Σ of the hypergeometric probabilities no larger than the observed table's (margins fixed)."""
    row1, col1, n = a + b, a + c, a + b + c + d

    def probability(x: int) -> float:
        return math.comb(row1, x) * math.comb(n - row1, col1 - x) / math.comb(n, col1)

    observed = probability(a)
    support = range(max(0, col1 - (n - row1)), min(row1, col1) + 1)
    return min(1.0, sum(probability(x) for x in support if probability(x) <= observed * (1 + 1e-7)))


def outcome_frame() -> pd.DataFrame:
    rows = (
        [{"group": "low", "non_union": 0.0, "progressive_kyphosis": 0.0}] * 9
        + [{"group": "low", "non_union": 1.0, "progressive_kyphosis": np.nan}]
        + [{"group": "medium", "non_union": 0.0, "progressive_kyphosis": 0.0}] * 7
        + [{"group": "medium", "non_union": 1.0, "progressive_kyphosis": 1.0}] * 3
        + [{"group": "high", "non_union": 1.0, "progressive_kyphosis": 1.0}] * 6
        + [{"group": "high", "non_union": np.nan, "progressive_kyphosis": 0.0}] * 2
    )
    return pd.DataFrame(rows)


def test_pairwise_rates_by_fishers_exact_test_on_each_outcomes_own_denominator():
    pairs = groups.pairwise_rates(outcome_frame(), "non_union")
    low_medium, low_high, medium_high = pairs
    assert (low_high.first_events, low_high.first_n, low_high.second_events, low_high.second_n) == (1, 10, 6, 6)
    assert low_high.test.p_value == pytest.approx(fisher_two_sided(1, 9, 6, 0))
    assert low_medium.test.p_value == pytest.approx(fisher_two_sided(1, 9, 3, 7))
    assert medium_high.test.p_value == pytest.approx(fisher_two_sided(3, 7, 6, 0))
    assert low_high.test.p_adjusted == pytest.approx(3 * fisher_two_sided(1, 9, 6, 0))
    assert low_medium.test.p_adjusted == 1.0  # capped
    assert low_medium.test.statistic == pytest.approx((1 * 7) / (9 * 3))  # sample odds ratio, low vs medium
    assert low_high.test.statistic is None and low_high.test.note  # a zero cell: OR 1·0 / (9·6) = 0
    kyphosis = groups.pairwise_rates(outcome_frame(), "progressive_kyphosis")
    # The low fracture with non-union but unknown kyphosis counts for non-union only; the high ones
    # with unknown non-union count for kyphosis.
    assert (kyphosis[1].first_n, kyphosis[1].second_n) == (9, 8)
    assert kyphosis[1].test.p_value == pytest.approx(fisher_two_sided(0, 9, 6, 2))


def test_pairwise_rates_with_an_empty_group_or_no_event():
    frame = outcome_frame()
    frame = frame[frame["group"] != "medium"]
    low_medium, low_high, medium_high = groups.pairwise_rates(frame, "non_union")
    assert low_medium.test.p_value is None and medium_high.test.p_value is None
    assert low_high.test.p_adjusted == pytest.approx(low_high.test.p_value)  # one test: × 1
    none = pd.DataFrame({"group": ["low", "high"] * 3, "non_union": 0.0})
    assert all(pair.test.p_value is None for pair in groups.pairwise_rates(none, "non_union"))


# -- Table 3 ---------------------------------------------------------------------------------------


def baseline_frame() -> pd.DataFrame:
    spec = {
        "low": [("T12", "compression", "confined_high", 1.0, True)] * 6
        + [("L1", "burst", "diffuse_low", 0.0, True)] * 2,
        "medium": [("L1", "compression", "diffuse_low", 1.0, True)] * 5
        + [("L4", "burst", "confined_low", 0.0, False)] * 3,
        "high": [("T11", "burst", "diffuse_low", 1.0, False)] * 4
        + [("L2", "compression", "diffuse_high", np.nan, True)] * 4,
    }
    rows = []
    for group, items in spec.items():
        for i, (level, fracture_type, t2, female, low_energy) in enumerate(items):
            rows.append(
                {
                    "group": group,
                    "level": level,
                    "fracture_type": fracture_type,
                    "t2_signal": t2,
                    "female": female,
                    "low_energy_trauma": low_energy,
                    "age": 60 + i + {"low": 0, "medium": 5, "high": 10}[group],
                    "bmi": np.nan if i == 0 else 20 + i,
                    "bmd_t_score": -2.5 - i / 10,
                    "vas_pre": 5.0,
                    "odi_pre": 40 + i,
                    "vhl_pre": 10.0 + i,
                    "ka_pre": 5.0 + i,
                }
            )
    return pd.DataFrame(rows)


def chi2_by_hand(table) -> float:
    table = np.asarray(table, float)
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / table.sum()
    return float(((table - expected) ** 2 / expected).sum())


def test_baseline_rows_in_the_papers_order_with_keys_units_and_methods():
    rows = groups.baseline(baseline_frame())
    assert [row.key for row in rows] == [
        "age",
        "bmi",
        "bmd_t_score",
        "vas_pre",
        "odi_pre",
        "vhl_pre",
        "ka_pre",
        "female",
        "level",
        "fracture_type",
        "t2_signal",
        "low_energy_trauma",
    ]
    by_key = {row.key: row for row in rows}
    assert by_key["age"].unit == "years" and by_key["age"].kind == "continuous"
    assert by_key["age"].method == groups.KRUSKAL_WALLIS
    assert by_key["age"].quartiles["low"] == groups.summary(range(60, 68))
    assert by_key["bmi"].quartiles["low"].n == 7  # the missing BMI is not counted
    assert by_key["vas_pre"].test.p_value is None and "same" in str(by_key["vas_pre"].test.note)
    age = groups.compare_groups(baseline_frame(), "age").across  # the same Kruskal–Wallis as Table 4's
    assert (by_key["age"].test.statistic, by_key["age"].test.p_value) == (age.statistic, age.p_value)
    json.dumps(in_english(rows), allow_nan=False)


def test_categorical_rows_count_the_groups_known_values():
    by_key = {row.key: row for row in groups.baseline(baseline_frame())}
    female = by_key["female"]
    assert [c.key for c in female.categories] == ["yes"]
    high = female.categories[0].counts["high"]
    assert (high.count, high.n, high.percent) == (4, 4, 100.0)  # sex unknown in 4: not in the denominator
    assert female.categories[0].counts["low"] == groups.Count(6, 8, 75.0)
    level = by_key["level"]
    assert [c.key for c in level.categories] == ["T11", "T12", "L1", "L2", "other"]
    assert level.categories[-1].counts["medium"] == groups.Count(3, 8, 37.5)  # L4 is "other"
    assert [c.key for c in by_key["t2_signal"].categories] == list(groups.T2_SIGNALS)
    assert [c.key for c in by_key["fracture_type"].categories] == ["compression", "burst"]


def test_two_category_rows_use_fishers_exact_test_when_an_expected_count_is_small():
    by_key = {row.key: row for row in groups.baseline(baseline_frame())}
    # Fracture type: low 6/2, medium 5/3, high 4/4 compression/burst; expected burst 3 < 5.
    test = by_key["fracture_type"].test
    assert test.method == "Fisher's exact"
    from cohort import analysis

    assert test.p_value == pytest.approx(analysis.fisher_exact_r_by_2(np.array([[6, 2], [5, 3], [4, 4]])))


def test_two_category_rows_use_chi_squared_when_every_expected_count_is_5_or_more():
    frame = pd.DataFrame(
        {
            "group": ["low"] * 20 + ["medium"] * 20 + ["high"] * 20,
            "female": [1.0] * 15 + [0.0] * 5 + [1.0] * 10 + [0.0] * 10 + [1.0] * 5 + [0.0] * 15,
        }
    ).assign(level="L1", fracture_type="burst", t2_signal="diffuse_low", low_energy_trauma=True)
    for column in ("age", "bmi", "bmd_t_score", "vas_pre", "odi_pre", "vhl_pre", "ka_pre"):
        frame[column] = np.nan
    by_key = {row.key: row for row in groups.baseline(frame)}
    test = by_key["female"].test
    assert test.method == "chi-squared" and test.df == 2
    assert test.statistic == pytest.approx(chi2_by_hand([[15, 5], [10, 10], [5, 15]]))  # = 10
    assert test.p_value == pytest.approx(math.exp(-10 / 2))
    assert by_key["level"].test.method == "none"  # one level only
    assert by_key["age"].test.method == "none" and by_key["age"].quartiles["low"].n == 0


def test_many_category_rows_use_chi_squared_and_say_when_expected_counts_are_small():
    by_key = {row.key: row for row in groups.baseline(baseline_frame())}
    test = by_key["level"].test
    # Levels: low T12 6, L1 2; medium L1 5, other 3; high T11 4, L2 4 (every column present).
    table = [[0, 6, 2, 0, 0], [0, 0, 5, 0, 3], [4, 0, 0, 4, 0]]
    assert test.method == "chi-squared" and test.df == 8
    assert test.statistic == pytest.approx(chi2_by_hand(table))
    assert "below 5" in str(test.note)
    t2 = by_key["t2_signal"].test
    # Patterns present: confined_high, diffuse_low, confined_low, diffuse_high → 3 × 4 table, 6 df.
    assert t2.df == 6


def test_categorical_test_leaves_out_empty_groups_and_absent_categories():
    result = groups.categorical_test(np.array([[3, 0, 4], [0, 0, 0], [5, 0, 1]]))
    assert result.method == "Fisher's exact"  # two categories left, an expected count under 5
    assert groups.categorical_test(np.array([[3, 0], [0, 0], [0, 0]])).method == "none"


def test_unrecorded_level_and_trauma_leave_the_denominator():
    frame = baseline_frame().astype({"level": object, "low_energy_trauma": object})
    frame.loc[0, "low_energy_trauma"] = None
    frame.loc[1, "level"] = None
    frame.loc[2, "level"] = ""
    by_key = {row.key: row for row in groups.baseline(frame)}
    assert by_key["low_energy_trauma"].categories[0].counts["low"] == groups.Count(7, 7, 100.0)
    t12 = by_key["level"].categories[1]
    assert t12.key == "T12" and t12.counts["low"] == groups.Count(4, 6, 400 / 6)
