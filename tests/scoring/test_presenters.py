"""What the pages print, prepared in Python: the group labels, recorded values with their units,
the ODI sections answered and the patient list's rows."""

import datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.template.loader import render_to_string

from scoring import measurements, presenters, rules
from scoring.models import RiskGroup


def test_every_risk_group_has_its_name_in_words():
    assert presenters.GROUP_LABELS == {"low": "Low risk", "medium": "Medium risk", "high": "High risk"}
    assert set(presenters.GROUP_LABELS) == {group.value for group in rules.RiskGroup}


def test_the_models_choices_show_the_same_words_as_the_pages():
    # The patient list's filter and the admin list these choices.
    assert dict(RiskGroup.choices) == presenters.GROUP_LABELS


def test_the_score_card_and_the_cohort_rows_take_the_group_labels():
    result = rules.score(
        rules.ScoreInputs(
            fracture_type=rules.FractureType.COMPRESSION,
            vhl_percent=Decimal("17.8"),
            kyphosis_angle_deg=Decimal("19.6"),
            t2_signal=rules.T2Signal.DIFFUSE_LOW,
            bmd_t_score=Decimal("-3.6"),
        )
    )
    card = presenters.score_card_from_result(result)
    assert card["group_label"] == "High risk"
    assert [row.label for row in card["cohort_rows"]] == ["Low risk", "Medium risk", "High risk"]


@pytest.mark.parametrize(
    ("name", "value", "shown"),
    [
        ("vertebral_height_loss", Decimal("17.8"), "17.8 %"),
        ("vertebral_height_loss", "3", "3 %"),
        ("kyphosis_angle", Decimal("19.6"), "19.6°"),
        ("kyphosis_angle", Decimal("-2.5"), "−2.5°"),  # lordotic: the true minus sign
        ("bmd", Decimal("-3.6"), "−3.6"),
        ("bmd", Decimal("0.4"), "0.4"),
        ("fracture_type", "compression", "Compression"),
        ("t2_signal", "diffuse_low", "Diffuse low"),
    ],
)
def test_display_value_writes_a_component_as_the_clinician_wrote_it(name, value, shown):
    assert presenters.display_value(name, value) == shown


@pytest.mark.parametrize("sections", [None, []])
def test_odi_answered_says_nothing_when_the_odi_was_not_from_sections(sections):
    assert presenters.odi_answered(sections) is None


def test_odi_answered_from_every_section():
    assert presenters.odi_answered([1] * len(measurements.ODI_SECTIONS)) == "from 10 of 10 sections"


def test_odi_answered_names_every_section_left_out_in_the_questionnaires_order():
    sections = [None, 2, 2, 2, 2, 2, 2, 2, 2, None]
    assert presenters.odi_answered(sections) == "from 8 of 10 sections; not answered: Pain intensity, Travelling"


def test_odi_answered_counts_a_score_of_zero_as_answered():
    assert presenters.odi_answered([0] * 10) == "from 10 of 10 sections"


def patient(pk, sex="F", **values):
    return SimpleNamespace(
        pk=pk, mrn=f"MRN{pk:03}", name=f"Patient {pk}", sex=sex, date_of_birth=datetime.date(1950, 4, 2), **values
    )


def fracture(pk, **values):
    row = {
        "assessment_date": datetime.date(2025, 3, 10),
        "total_score": 10,
        "risk_group": "high",
        "progressive_kyphosis": None,
        "non_union": True,
        "progressive_kyphosis_after_change": False,
        "non_union_after_change": True,
    }
    return SimpleNamespace(pk=pk, **{**row, **values})


def test_patient_rows_carry_the_latest_assessment_ready_to_print():
    [row] = presenters.patient_rows(
        [patient(3)], {3: fracture(40)}, {"F": "Female", "M": "Male"}, "/patients/{}/", "/assessments/{}/"
    )
    assert row.badge == render_to_string("scoring/_risk_badge.html", {"group": "high", "label": "High risk"})
    assert row.flags == render_to_string(
        "scoring/_outcome_flags.html",
        {"progressive": False, "non_union": True, "progressive_after_change": False, "non_union_after_change": True},
    )
    assert row == presenters.PatientRow(
        badge=row.badge,
        flags=row.flags,
        url="/patients/3/",
        mrn="MRN003",
        name="Patient 3",
        sex="Female",
        date_of_birth="1950-04-02",
        latest_url="/assessments/40/",
        latest_date="2025-03-10",
        latest_total=10,
        latest_group="high",
        progressive=False,
        non_union=True,
        progressive_after_change=False,
        non_union_after_change=True,
    )


def test_a_patient_without_an_assessment_has_an_empty_latest_and_no_flag():
    [row] = presenters.patient_rows([patient(5, sex="X")], {}, {"F": "Female"}, "/patients/{}/", "/assessments/{}/")
    assert row.url == "/patients/5/" and row.sex == ""  # a sex without a label prints nothing
    assert (row.latest_url, row.latest_date, row.latest_total, row.latest_group) == (None, "", None, "")
    assert not any((row.progressive, row.non_union, row.progressive_after_change, row.non_union_after_change))


def test_patient_rows_keep_the_pages_order_and_match_each_patient_to_their_own_assessment():
    rows = presenters.patient_rows(
        [patient(2), patient(1)],
        {1: fracture(11, total_score=0, risk_group="low")},
        {},
        "/patients/{}/",
        "/assessments/{}/",
    )
    assert [row.mrn for row in rows] == ["MRN002", "MRN001"]
    assert rows[0].latest_url is None
    assert (rows[1].latest_url, rows[1].latest_total, rows[1].latest_group) == ("/assessments/11/", 0, "low")


def test_a_page_of_rows_draws_each_badge_and_flag_combination_once(monkeypatch):
    drawn = []
    real = presenters.render_to_string
    monkeypatch.setattr(presenters, "render_to_string", lambda name, context: drawn.append(name) or real(name, context))
    latest = {n: fracture(100 + n, risk_group="high" if n % 2 else "low") for n in range(1, 11)}
    rows = presenters.patient_rows(
        [patient(n) for n in range(1, 11)], latest, {"F": "Female"}, "/patients/{}/", "/assessments/{}/"
    )
    assert len(rows) == 10
    assert drawn.count("scoring/_risk_badge.html") == 2  # low and high, not ten
    assert drawn.count("scoring/_outcome_flags.html") == 1
    assert "High risk" in rows[0].badge and "Low risk" in rows[1].badge


# -- population warnings and radiograph problems in the reader's language (issue 16) ---------------


def test_a_stored_warning_is_said_from_its_code_and_values():
    record = {"code": "age_below_inclusion", "message": "anything stored", "params": {"age": 58}}
    assert presenters.warning_text(record) == (
        "Age 58 is below 60: the score was validated only in patients aged 60 or over."
    )


def test_a_warning_saved_before_its_values_were_kept_has_them_read_back_from_its_message():
    message = "T-score −0.4 is above −1.0: the score was validated only in patients with T ≤ −1.0."
    assert presenters.warning_text({"code": "bmd_above_inclusion", "message": message}) == message
    level = "Level C7 is outside T11–L2, the only levels in the validation cohort."
    assert presenters.warning_text({"code": "level_outside_validated", "message": level}) == level


def test_a_warning_whose_code_or_message_is_unknown_keeps_its_stored_message():
    assert presenters.warning_text({"code": "retired_code", "message": "Said once."}) == "Said once."
    assert presenters.warning_text({"code": "age_below_inclusion", "message": "Edited by hand."}) == "Edited by hand."


def test_the_score_card_says_each_warning_with_its_code():
    result = rules.score(
        rules.ScoreInputs(
            fracture_type=rules.FractureType.BURST,
            vhl_percent=Decimal("10"),
            kyphosis_angle_deg=Decimal("5"),
            t2_signal=rules.T2Signal.CONFINED_LOW,
            bmd_t_score=Decimal("-2.0"),
            age_years=55,
        )
    )
    card = presenters.score_card_from_result(result)
    assert card["warnings"] == [
        {
            "code": "age_below_inclusion",
            "message": "Age 55 is below 60: the score was validated only in patients aged 60 or over.",
        }
    ]
    assert [item["category"] for item in card["components"]][::4] == ["burst fracture", "−2.5 < T ≤ −1.0"]


def test_a_radiograph_problem_is_said_in_words():
    from scoring import radiograph

    with pytest.raises(radiograph.ImplausibleMeasurement) as refused:
        radiograph.measure({}, [0, 1])
    texts = [presenters.problem_text(problem) for problem in refused.value.problems]
    assert texts[0] == "The cranial vertebra's anterior superior corner must be a pair [x, y] of finite numbers."
    assert texts[-1] == ("The pixel spacing must be two positive numbers of millimetres (row, column), at most 100.")


@pytest.mark.django_db
def test_a_treatment_in_a_course_sentence_keeps_its_abbreviations_in_chinese(case_two):
    """The course and the schedule's note named the treatment lower-cased: harmless in English,
    but in Chinese it spoilt 椎体后凸成形术（PKP） into "（pkp）". The in-sentence names are used."""
    from django.utils import translation

    case_two.treatment_changed_to = "kyphoplasty"
    case_two.treatment_changed_on = datetime.date(2025, 4, 1)
    with translation.override("en-gb"):
        assert presenters.fracture_course(case_two)[1] == "Treatment changed to kyphoplasty on 2025-04-01"
    with translation.override("zh-hans"):
        assert "（PKP）" in presenters.fracture_course(case_two)[1]
    case_two.treatment_changed_to = ""
    case_two.treatment = "vertebroplasty"
    with translation.override("en-gb"):
        assert presenters.fracture_course(case_two)[1].startswith("Not conservative: vertebroplasty from ")
    with translation.override("zh-hans"):
        assert "（PVP）" in presenters.fracture_course(case_two)[1]
        assert "（PVP）" in presenters.schedule_note(case_two)
