"""The NASOVCF rules of spec §1 and §4, without a database: every boundary by name."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scoring import rules
from scoring.rules import FractureType, RiskGroup, ScoreInputs, T2Signal

D = Decimal


def inputs(**overrides) -> ScoreInputs:
    """A fracture scoring 0 on every item, with the given items changed."""
    values = {
        "fracture_type": FractureType.COMPRESSION,
        "vhl_percent": D("0.5"),
        "kyphosis_angle_deg": D("4.6"),
        "t2_signal": T2Signal.DIFFUSE_HIGH,
        "bmd_t_score": D("-1.5"),
    }
    values.update(overrides)
    return ScoreInputs(**values)


# -- each item --------------------------------------------------------------------------------


def test_compression_fracture_scores_0():
    assert rules.fracture_type_points(FractureType.COMPRESSION) == 0


def test_burst_fracture_scores_2():
    assert rules.fracture_type_points(FractureType.BURST) == 2


def test_vhl_of_exactly_15_0_scores_2():
    assert rules.height_loss_points(D("15.0")) == 2


def test_vhl_of_14_9_scores_0():
    assert rules.height_loss_points(D("14.9")) == 0


def test_kyphosis_of_exactly_15_0_scores_2():
    assert rules.kyphosis_points(D("15.0")) == 2


def test_kyphosis_of_14_9_scores_0():
    assert rules.kyphosis_points(D("14.9")) == 0


@pytest.mark.parametrize("signal", [T2Signal.CONFINED_LOW, T2Signal.DIFFUSE_HIGH, T2Signal.CONFINED_HIGH])
def test_t2_signal_other_than_diffuse_low_scores_0(signal):
    assert rules.t2_signal_points(signal) == 0


def test_diffuse_low_t2_signal_scores_2():
    assert rules.t2_signal_points(T2Signal.DIFFUSE_LOW) == 2


@pytest.mark.parametrize(
    ("t_score", "points", "boundary"),
    [
        ("-0.9", 0, "T above −1.0: 0 points (outside the validated population)"),
        ("-1.0", 0, "T exactly −1.0: 0 points"),
        ("-2.4", 0, "T −2.4: still above −2.5"),
        ("-2.5", 2, "T exactly −2.5: 2 points"),
        ("-3.4", 2, "T −3.4: still above −3.5"),
        ("-3.5", 4, "T exactly −3.5: 4 points"),
        ("-3.6", 4, "T below −3.5"),
        ("-7.0", 4, "lowest accepted T"),
        ("4.0", 0, "highest accepted T"),
    ],
)
def test_bmd_points_at_every_t_score_boundary(t_score, points, boundary):
    assert rules.bmd_points(D(t_score)) == points, boundary


def test_t_score_of_exactly_minus_2_5_scores_2():
    assert rules.score(inputs(bmd_t_score=D("-2.5"))).bmd.points == 2


def test_t_score_of_exactly_minus_3_5_scores_4():
    assert rules.score(inputs(bmd_t_score=D("-3.5"))).bmd.points == 4


def test_t_score_of_exactly_minus_1_0_scores_0_without_a_warning():
    result = rules.score(inputs(bmd_t_score=D("-1.0")))
    assert result.bmd.points == 0
    assert result.warnings == ()


def test_t_score_of_minus_0_9_scores_0_and_warns_outside_the_validated_population():
    result = rules.score(inputs(bmd_t_score=D("-0.9")))
    assert result.bmd.points == 0
    assert [w.code for w in result.warnings] == ["bmd_above_inclusion"]
    assert "−0.9" in result.warnings[0].message


def test_a_warning_keeps_its_code_its_english_message_and_the_values_its_sentence_names():
    # The pages say the warning in the reader's language from the code and the values (issue 16).
    result = rules.score(inputs(bmd_t_score=D("-0.9"), age_years=58, level="L4"))
    assert result.warnings_record() == [
        {
            "code": "bmd_above_inclusion",
            "message": "T-score −0.9 is above −1.0: the score was validated only in patients with T ≤ −1.0.",
            "params": {"t_score": "−0.9"},
        },
        {
            "code": "age_below_inclusion",
            "message": "Age 58 is below 60: the score was validated only in patients aged 60 or over.",
            "params": {"age": 58},
        },
        {
            "code": "level_outside_validated",
            "message": "Level L4 is outside T11–L2, the only levels in the validation cohort.",
            "params": {"level": "L4"},
        },
    ]


def test_the_category_words_are_the_english_msgids_an_assessment_keeps():
    result = rules.score(inputs(fracture_type=FractureType.BURST, t2_signal=T2Signal.CONFINED_LOW))
    assert result.fracture_type.category == "burst fracture"
    assert result.t2_signal.category == "not diffuse low"
    assert rules.score(inputs(bmd_t_score=D("-0.5"))).bmd.category == "T > −1.0 (outside the validated range)"


# -- risk groups --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "group"),
    [
        (0, RiskGroup.LOW),
        (1, RiskGroup.LOW),
        (2, RiskGroup.MEDIUM),
        (4, RiskGroup.MEDIUM),
        (5, RiskGroup.HIGH),
        (6, RiskGroup.HIGH),
        (12, RiskGroup.HIGH),
    ],
)
def test_risk_group_low_below_2_medium_2_to_4_high_above_4(total, group):
    assert rules.risk_group(total) is group


# -- the precision Decision ------------------------------------------------------------------------


def test_vhl_of_14_96_is_rounded_to_15_0_before_scoring_and_scores_2():
    result = rules.score(inputs(vhl_percent=D("14.96")))
    assert result.vertebral_height_loss.value == D("15.0")
    assert result.vertebral_height_loss.points == 2


def test_vhl_of_14_94_is_rounded_to_14_9_and_scores_0():
    result = rules.score(inputs(vhl_percent=D("14.94")))
    assert result.vertebral_height_loss.value == D("14.9")
    assert result.vertebral_height_loss.points == 0


def test_rounding_is_half_up_not_half_even():
    assert rules.round_to_tenth(D("14.95")) == D("15.0")
    assert rules.round_to_tenth(D("14.85")) == D("14.9")  # banker's rounding would give 14.8
    assert rules.round_to_tenth(D("-2.45")) == D("-2.5")  # half away from zero


def test_kyphosis_of_14_95_is_rounded_to_15_0_and_scores_2():
    result = rules.score(inputs(kyphosis_angle_deg=D("14.95")))
    assert result.kyphosis_angle.value == D("15.0")
    assert result.kyphosis_angle.points == 2


def test_t_score_of_minus_2_45_is_rounded_to_minus_2_5_and_scores_2():
    result = rules.score(inputs(bmd_t_score=D("-2.45")))
    assert result.bmd.value == D("-2.5")
    assert result.bmd.points == 2


# -- the paper's worked cases (spec §6) -------------------------------------------------------------


def test_first_worked_case_scores_0_low():
    result = rules.score(
        ScoreInputs(
            FractureType.COMPRESSION,
            D("0.5"),
            D("4.6"),
            T2Signal.DIFFUSE_HIGH,
            D("-1.5"),
            age_years=79,
            level="L2",
            low_energy_trauma=True,
        )
    )
    assert result.total == 0
    assert result.group is RiskGroup.LOW
    assert result.warnings == ()


def test_second_worked_case_scores_10_high():
    result = rules.score(
        ScoreInputs(
            FractureType.COMPRESSION,
            D("17.8"),
            D("19.6"),
            T2Signal.DIFFUSE_LOW,
            D("-3.6"),
            age_years=71,
            level="T11",
            low_energy_trauma=True,
        )
    )
    assert [c.points for c in result.components.values()] == [0, 2, 2, 2, 4]
    assert result.total == 10
    assert result.group is RiskGroup.HIGH
    assert result.rules_version == "NASOVCF-2025.2"


def test_second_worked_case_as_a_burst_fracture_scores_12_the_maximum():
    result = rules.score(ScoreInputs(FractureType.BURST, D("17.8"), D("19.6"), T2Signal.DIFFUSE_LOW, D("-3.6")))
    assert result.total == 12 == rules.MAX_TOTAL
    assert result.group is RiskGroup.HIGH


def test_breakdown_names_each_category():
    result = rules.score(ScoreInputs(FractureType.COMPRESSION, D("17.8"), D("19.6"), T2Signal.DIFFUSE_LOW, D("-3.6")))
    record = result.components_record()
    assert record["vertebral_height_loss"] == {"value": D("17.8"), "category": "≥ 15 %", "points": 2}
    assert record["bmd"]["category"] == "T ≤ −3.5"
    assert record["fracture_type"] == {"value": "compression", "category": "compression fracture", "points": 0}


# -- validated-population warnings (spec §4) ---------------------------------------------------------


def test_age_59_warns_and_age_60_does_not():
    assert [w.code for w in rules.score(inputs(age_years=59)).warnings] == ["age_below_inclusion"]
    assert rules.score(inputs(age_years=60)).warnings == ()


@pytest.mark.parametrize("level", ["T11", "T12", "L1", "L2"])
def test_levels_t11_to_l2_do_not_warn(level):
    assert rules.score(inputs(level=level)).warnings == ()


@pytest.mark.parametrize("level", ["T10", "L3", "T1", "L5"])
def test_levels_outside_t11_to_l2_warn(level):
    assert [w.code for w in rules.score(inputs(level=level)).warnings] == ["level_outside_validated"]


def test_high_energy_trauma_warns_and_unknown_trauma_does_not():
    assert [w.code for w in rules.score(inputs(low_energy_trauma=False)).warnings] == ["high_energy_trauma"]
    assert rules.score(inputs(low_energy_trauma=None)).warnings == ()
    assert rules.score(inputs(low_energy_trauma=True)).warnings == ()


def test_every_criterion_outside_gives_one_warning_each():
    result = rules.score(inputs(bmd_t_score=D("0.5"), age_years=45, level="L4", low_energy_trauma=False))
    assert [w.code for w in result.warnings] == [
        "bmd_above_inclusion",
        "age_below_inclusion",
        "level_outside_validated",
        "high_energy_trauma",
    ]


# -- properties --------------------------------------------------------------------------------------

tenths = st.decimals(min_value=-100, max_value=100, places=2, allow_nan=False, allow_infinity=False)
score_inputs = st.builds(
    ScoreInputs,
    fracture_type=st.sampled_from(FractureType),
    vhl_percent=st.decimals(min_value=-50, max_value=100, places=2),
    kyphosis_angle_deg=st.decimals(min_value=-45, max_value=90, places=2),
    t2_signal=st.sampled_from(T2Signal),
    bmd_t_score=st.decimals(min_value=-7, max_value=4, places=2),
)


@given(score_inputs)
def test_total_is_always_an_even_number_from_0_to_12(case):
    result = rules.score(case)
    assert result.total in {0, 2, 4, 6, 8, 10, 12}
    assert result.total == sum(c.points for c in result.components.values())
    assert result.group is rules.risk_group(result.total)


@given(score_inputs, st.decimals(min_value=0, max_value=50, places=1))
def test_no_single_worse_input_lowers_the_score(case, worse_by):
    base = rules.score(case).total
    worse_cases = [
        ScoreInputs(FractureType.BURST, case.vhl_percent, case.kyphosis_angle_deg, case.t2_signal, case.bmd_t_score),
        ScoreInputs(
            case.fracture_type, case.vhl_percent + worse_by, case.kyphosis_angle_deg, case.t2_signal, case.bmd_t_score
        ),
        ScoreInputs(
            case.fracture_type, case.vhl_percent, case.kyphosis_angle_deg + worse_by, case.t2_signal, case.bmd_t_score
        ),
        ScoreInputs(
            case.fracture_type, case.vhl_percent, case.kyphosis_angle_deg, T2Signal.DIFFUSE_LOW, case.bmd_t_score
        ),
        ScoreInputs(
            case.fracture_type, case.vhl_percent, case.kyphosis_angle_deg, case.t2_signal, case.bmd_t_score - worse_by
        ),
    ]
    for worse in worse_cases:
        assert rules.score(worse).total >= base


@given(tenths)
def test_rounding_is_idempotent_and_within_half_a_tenth(value):
    rounded = rules.round_to_tenth(value)
    assert rules.round_to_tenth(rounded) == rounded
    assert abs(rounded - value) <= D("0.05")


def test_a_mean_of_two_readers_of_14_95_is_kept_and_scores_0():
    """spec §2, revised Decision: the mean of two readers is compared as it is."""
    result = rules.score(inputs(vhl_percent=D("14.95"), vhl_is_mean_of_readers=True))
    assert result.vertebral_height_loss.value == D("14.95")
    assert result.vertebral_height_loss.points == 0
    result = rules.score(inputs(kyphosis_angle_deg=D("14.95"), kyphosis_is_mean_of_readers=True))
    assert result.kyphosis_angle.value == D("14.95")
    assert result.kyphosis_angle.points == 0


def test_a_mean_of_two_readers_of_15_00_scores_2():
    result = rules.score(inputs(vhl_percent=D("15.00"), vhl_is_mean_of_readers=True))
    assert str(result.vertebral_height_loss.value) == "15.0"
    assert result.vertebral_height_loss.points == 2
