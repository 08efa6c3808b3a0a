"""Reader agreement (cohort/agreement.py): ICC(2,1) at full precision against Shrout & Fleiss's
published example, psych's published interval and pingouin; κ against hand-computed tables and
scikit-learn."""

import dataclasses
import json
import math

import numpy as np
import pandas as pd
import pingouin
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import cohen_kappa_score

from cohort import agreement

# Shrout & Fleiss (1979), Psychol Bull 86:420, Table 2: six targets, four judges.
SHROUT_FLEISS = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]


def long_of(wide) -> pd.DataFrame:
    return pd.DataFrame(
        [{"target": t, "rater": j, "value": float(v)} for t, row in enumerate(wide) for j, v in enumerate(row)]
    )


def pingouin_icc(long: pd.DataFrame):
    table = pingouin.intraclass_corr(data=long, targets="target", raters="rater", ratings="value").set_index("Type")
    row = table.loc["ICC(A,1)"]
    return float(row["ICC"]), [float(x) for x in row["CI95"]]


# -- ICC(2,1) --------------------------------------------------------------------------------------


def test_icc_2_1_on_shrout_and_fleiss_published_example():
    result = agreement.icc_2_1(long_of(SHROUT_FLEISS))
    assert result.icc == pytest.approx(0.29, abs=0.005)  # their Table 4: ICC(2,1) = .29
    # The mean squares of their Table 3: BMS 11.24, JMS 32.49, EMS 1.02.
    ms = agreement.mean_squares(np.array(SHROUT_FLEISS))
    assert (ms.rows, ms.columns, ms.error) == pytest.approx((11.24, 32.49, 1.02), abs=0.005)
    # R's psych::ICC on the same data prints the interval 0.019 to 0.76 for ICC2.
    assert result.ci_low == pytest.approx(0.019, abs=0.0005)
    assert result.ci_high == pytest.approx(0.76, abs=0.005)
    assert (result.n, result.raters, result.note) == (6, 4, "")


def test_icc_by_hand_equals_pingouin_and_its_interval_rounded_to_2_decimals():
    rng = np.random.default_rng(7)
    for targets in (3, 5, 12, 40):
        truth = rng.normal(15, 6, targets)
        wide = np.column_stack([truth + rng.normal(0, 1, targets), truth + 0.5 + rng.normal(0, 1, targets)]).round(1)
        long = long_of(wide)
        ours = agreement.icc_2_1(long)
        icc, (low, high) = pingouin_icc(long)
        assert ours.icc == pytest.approx(icc, rel=1e-12)
        assert (round(ours.ci_low, 2), round(ours.ci_high, 2)) == (low, high)


def test_the_interval_is_not_rounded():
    """The issue's D3: pingouin printed "0.989 (0.99–0.99)". This interval keeps every digit, and
    the point is inside it."""
    rng = np.random.default_rng(3)
    truth = rng.normal(20, 8, 30)
    wide = np.column_stack([truth, truth + rng.normal(0, 0.8, 30)])
    result = agreement.icc_2_1(long_of(wide))
    assert result.icc > 0.98
    assert result.ci_low < result.icc < result.ci_high
    assert round(result.ci_low, 2) != result.ci_low and round(result.ci_high, 3) != result.ci_high


@settings(max_examples=60, deadline=None)
@given(
    st.integers(min_value=3, max_value=30).flatmap(
        lambda n: st.lists(
            st.tuples(st.integers(0, 400), st.integers(0, 400)),  # readings to 0.1 of 0–40
            min_size=n,
            max_size=n,
        )
    )
)
def test_the_point_always_lies_inside_its_interval(pairs):
    result = agreement.icc_2_1(long_of([[a / 10, b / 10] for a, b in pairs]))
    if result is None:  # every reading the same
        assert len({v for pair in pairs for v in pair}) == 1
        return
    assert math.isfinite(result.icc)
    if result.ci_low is None:
        assert result.note
        return
    assert result.ci_low <= result.icc <= result.ci_high
    assert result.ci_high <= 1


def test_an_interval_that_excludes_its_own_point_is_given_as_none_with_a_note():
    """Hypothesis found it: 4 pairs, ICC −0.63, McGraw & Wong's bounds −0.676 to −0.660."""
    result = agreement.icc_2_1(long_of([[0, 0.3], [0, 0.3], [0, 0.3], [0.2, 0]]))
    assert result.icc == pytest.approx(-0.6316, abs=1e-4)
    assert (result.ci_low, result.ci_high) == (None, None)
    assert "excludes the estimate itself" in result.note


def test_too_few_targets_or_no_variation_gives_no_icc():
    assert agreement.icc_2_1(long_of([[1, 2], [3, 4]])) is None  # 2 < MIN_PAIRS
    assert agreement.icc_2_1(long_of([[5, 5], [5, 5], [5, 5]])) is None
    assert agreement.MIN_PAIRS == 3


def test_targets_missing_a_reading_are_left_out():
    long = long_of(SHROUT_FLEISS + [[1, 2, 3, np.nan]])
    result = agreement.icc_2_1(long)
    assert result.n == 6
    assert result.icc == agreement.icc_2_1(long_of(SHROUT_FLEISS)).icc


def test_readers_differing_by_a_constant_get_an_icc_without_an_interval():
    # No residual variance: F = MSR / MSE is infinite, so the F-based interval is not defined.
    result = agreement.icc_2_1(long_of([[1, 2], [3, 4], [6, 7]]))
    # MSR = 2·var(1.5, 3.5, 6.5) = 12.667, MSC = 3·2·0.25 = 1.5, MSE = 0:
    # ICC = MSR / (MSR + 2·MSC / 3) = 12.667 / 13.667
    assert result.icc == pytest.approx((38 / 3) / (38 / 3 + 1))
    assert result.ci_low is None and result.ci_high is None and "not defined" in result.note
    same = agreement.icc_2_1(long_of([[1, 1], [3, 3], [6, 6]]))
    assert same.icc == 1.0 and same.ci_low is None


# -- κ ---------------------------------------------------------------------------------------------


def test_cohen_kappa_on_a_hand_computable_table_with_its_standard_error():
    # 10 items, agreement on 8 (4 high, 4 low), po = 0.8, pe = 0.5: κ = 0.6.
    first = ["high"] * 5 + ["low"] * 5
    second = ["high"] * 4 + ["low"] + ["high"] + ["low"] * 4
    result = agreement.cohen_kappa(first, second)
    assert result.kappa == pytest.approx(0.6)
    assert (result.n, result.agreement, result.weighting) == (10, 0.8, "none")
    # Fleiss, Cohen & Everitt (1969): [Σ p_ii (1 − (p_i. + p_.i)(1 − κ))² + (1 − κ)² Σ_{i≠j} p_ij (p_.i + p_j.)²
    #   − (κ − pe(1 − κ))²] / (n (1 − pe)²) = (2·0.4·0.6² + 0.4²·0.2 − 0.4²) / (10·0.25) = 0.064.
    assert result.se == pytest.approx(math.sqrt(0.064))
    z = 1.959963984540054
    assert (result.ci_low, result.ci_high) == pytest.approx((0.6 - z * math.sqrt(0.064), 0.6 + z * math.sqrt(0.064)))
    assert "past the range" in result.note  # 1.096: kept as computed, said so


def test_linearly_weighted_kappa_on_a_hand_computable_table():
    # Pairs (first, second): (low, low), (low, medium), (medium, medium), (high, medium), (high, high).
    first = ["low", "low", "medium", "high", "high"]
    second = ["low", "medium", "medium", "medium", "high"]
    # Disagreement weights |i − j| / 2. Observed: (0.5 + 0.5) / 5 = 0.2. Margins: first (.4, .2, .4),
    # second (.2, .6, .2); expected: .4(.6·.5 + .2) + .2(.2·.5 + .2·.5) + .4(.2 + .6·.5) = 0.44.
    weighted = agreement.cohen_kappa(first, second, weighting="linear")
    assert weighted.kappa == pytest.approx(1 - 0.2 / 0.44)  # 6/11
    assert weighted.weighting == "linear"
    # Unweighted: po = 0.6, pe = .4·.2 + .2·.6 + .4·.2 = 0.28, κ = 0.32 / 0.72 = 4/9.
    assert agreement.cohen_kappa(first, second).kappa == pytest.approx(4 / 9)


def test_kappa_equals_scikit_learn():
    rng = np.random.default_rng(5)
    for size in (12, 40, 200):
        first = rng.choice(agreement.GROUPS, size).tolist()
        second = [g if rng.random() < 0.6 else rng.choice(agreement.GROUPS) for g in first]
        assert agreement.cohen_kappa(first, second).kappa == pytest.approx(cohen_kappa_score(first, second))
        weighted = agreement.cohen_kappa(first, second, weighting="linear")
        assert weighted.kappa == pytest.approx(
            cohen_kappa_score(first, second, weights="linear", labels=list(agreement.GROUPS))
        )
        assert weighted.ci_low < weighted.kappa < weighted.ci_high


def test_linear_weights_follow_the_order_of_the_groups_not_the_alphabet():
    # Every disagreement is one step (low–medium): each counts half under linear weights.
    first = ["low", "medium", "low", "medium"]
    second = ["medium", "low", "low", "medium"]
    result = agreement.cohen_kappa(first, second, weighting="linear")
    expected = cohen_kappa_score(first, second, weights="linear", labels=["low", "medium", "high"])
    assert result.kappa == pytest.approx(expected)


def test_kappa_undefined_with_one_category_and_no_interval_for_perfect_agreement():
    one = agreement.cohen_kappa(["high"] * 4, ["high"] * 4)
    assert one.kappa is None and one.ci_low is None and "one category" in one.note
    perfect = agreement.cohen_kappa(["low", "high", "low"], ["low", "high", "low"])
    assert perfect.kappa == 1.0 and perfect.ci_low is None and "standard error is 0" in perfect.note
    assert agreement.cohen_kappa(["low", "high"], ["low", "high"]) is None  # fewer than MIN_PAIRS


# -- the cohort's two readers (moved from analysis.py) ---------------------------------------------


def reader_row(**fields) -> dict:
    """A two-reader fracture as the cohort frame holds it: each reader's own readings, and the
    saved score (compression 0, diffuse low T2 2, T-score −3.0 2) with the points the film's
    VHL and angle got."""
    return {
        "fracture_type": "compression",
        "t2_signal": "diffuse_low",
        "bmd_t_score": -3.0,
        "first_vhl": 14.9,
        "second_vhl": 15.0,
        "first_ka": 10.0,
        "second_ka": 10.0,
        **fields,
    }


def test_reader_groups_score_each_reading_by_the_rules():
    frame = pd.DataFrame([reader_row(score=4, vhl_points=0, ka_points=0)])
    assert agreement.reader_groups(frame) == (["medium"], ["high"])  # 0+0+0+2+2 = 4 and 0+2+0+2+2 = 6


def test_a_reader_reading_is_one_reading_never_a_mean():
    frame = pd.DataFrame([reader_row(first_vhl=14.95, second_vhl=14.94, score=4, vhl_points=0, ka_points=0)])
    assert agreement.reader_groups(frame) == (["high"], ["medium"])


def test_reader_agreement_needs_both_readers_on_both_measures():
    frame = pd.DataFrame(
        [reader_row(score=4, vhl_points=0, ka_points=0), reader_row(second_ka=None, score=4, vhl_points=0, ka_points=0)]
    )
    result = agreement.reader_agreement(frame.assign(id=[1, 2]))
    assert (result.vhl_pairs, result.kyphosis_pairs, result.group_pairs) == (2, 1, 1)
    assert result.vhl is result.kyphosis is result.group_kappa is result.group_weighted_kappa is None


def test_reader_agreement_on_a_cohort():
    rows = []
    readings = [(14.9, 15.0, 10.0, 10.2), (3.0, 3.4, 2.0, 2.5), (20.0, 21.0, 16.0, 15.0), (8.0, 16.0, 5.0, 5.5)]
    for i, (v1, v2, k1, k2) in enumerate(readings * 2):
        rows.append(
            reader_row(
                id=i,
                first_vhl=v1,
                second_vhl=v2 + i % 2 / 10,
                first_ka=k1,
                second_ka=k2,
                score=4,
                vhl_points=0,
                ka_points=0,
            )
        )
    frame = pd.DataFrame(rows)
    result = agreement.reader_agreement(frame)
    first, second = agreement.reader_groups(frame)
    assert result.group_pairs == 8 and result.vhl_pairs == 8
    assert result.group_kappa.kappa == pytest.approx(cohen_kappa_score(first, second))
    assert result.group_weighted_kappa.kappa == pytest.approx(
        cohen_kappa_score(first, second, weights="linear", labels=["low", "medium", "high"])
    )
    assert result.vhl.icc == pytest.approx(
        pingouin_icc(
            pd.DataFrame(
                [
                    {"target": r["id"], "rater": rater, "value": r[f"{rater}_vhl"]}
                    for r in rows
                    for rater in ("first", "second")
                ]
            )
        )[0]
    )
    json.dumps(dataclasses.asdict(result), allow_nan=False)


def test_readers_in_exact_mirror_image_give_no_interval_and_no_error():
    """Found by issue 16's review: pairs (1, 5), (5, 1), (2, 4), (4, 2) make Satterthwaite's
    denominator 0 (a ZeroDivisionError, a 500 on the cohort page); the ICC now comes with no
    interval and its note."""
    import pandas as pd

    from cohort.agreement import icc_2_1

    rows = []
    for target, (first, second) in enumerate([(1, 5), (5, 1), (2, 4), (4, 2)]):
        rows += [
            {"target": target, "rater": 1, "value": first},
            {"target": target, "rater": 2, "value": second},
        ]
    icc = icc_2_1(pd.DataFrame(rows))
    assert icc is not None and icc.n == 4
    assert icc.ci_low is None and icc.ci_high is None
    assert "not defined" in str(icc.note)
