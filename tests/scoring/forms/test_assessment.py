"""AssessmentForm's cross-field clinical rules (scoring/forms/assessment.py), on the form itself:
dates against the patient, the visits and a treatment change, and the second reader."""

import datetime
from decimal import Decimal

import pytest

from scoring.forms import AssessmentForm
from scoring.models import Visit
from tests.scoring.forms.conftest import error_codes

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def saved_with_a_visit(patient, make_fracture, user):
    """The second worked case, assessed and treated from 2025-03-10, seen at one month (2025-04-10)."""
    fracture = make_fracture(patient)
    Visit.objects.create(
        fracture=fracture,
        kind="1m",
        visit_date=datetime.date(2025, 4, 10),
        vas_pain=D(5),
        created_by=user,
        updated_by=user,
    )
    return fracture


def test_the_second_worked_case_is_valid(patient, second_case):
    form = AssessmentForm(second_case, patient=patient)
    assert form.is_valid(), form.errors


# -- dates against the patient and each other ------------------------------------------------------


def test_an_assessment_before_the_date_of_birth_is_refused(patient, second_case):
    # the patient was born on 1953-06-01
    form = AssessmentForm({**second_case, "assessment_date": "1953-05-31", "injury_date": ""}, patient=patient)
    assert error_codes(form) == {"assessment_date": ["before_birth"]}


def test_an_injury_before_the_date_of_birth_is_refused(patient, second_case):
    form = AssessmentForm({**second_case, "injury_date": "1953-05-31"}, patient=patient)
    assert error_codes(form) == {"injury_date": ["before_birth"]}


@pytest.mark.parametrize(
    ("injury_date", "codes"),
    [
        ("2025-03-10", {}),  # injured and assessed the same day
        ("2025-03-11", {"injury_date": ["after_assessment"]}),
    ],
)
def test_the_injury_cannot_come_after_the_assessment(patient, second_case, injury_date, codes):
    form = AssessmentForm({**second_case, "injury_date": injury_date}, patient=patient)
    assert error_codes(form) == codes


@pytest.mark.parametrize(
    ("start", "codes"),
    [
        ("2025-03-10", {}),  # treated from the assessment day
        ("2025-03-09", {"treatment_start_date": ["before_assessment"]}),
    ],
)
def test_treatment_cannot_start_before_the_pretreatment_assessment(patient, second_case, start, codes):
    form = AssessmentForm({**second_case, "treatment_start_date": start}, patient=patient)
    assert error_codes(form) == codes


@pytest.mark.parametrize(
    ("start", "codes"),
    [
        ("2026-03-10", {}),  # a year after the assessment (2025-03-10): the latest start taken
        ("2026-03-11", {"treatment_start_date": ["too_long_after_assessment"]}),
        ("9999-07-05", {"treatment_start_date": ["too_long_after_assessment"]}),  # its 6-month visit: year 10000
        ("9999-12-31", {"treatment_start_date": ["too_long_after_assessment"]}),
    ],
)
def test_treatment_starts_at_most_a_year_after_the_assessment(patient, second_case, start, codes):
    """A start from 9999-07-05 on was accepted, and every page of the fracture failed computing its
    schedule (OverflowError): the start is now held within a year of the assessment."""
    form = AssessmentForm({**second_case, "treatment_start_date": start}, patient=patient)
    assert error_codes(form) == codes


def test_a_start_too_long_after_the_assessment_says_by_when(patient, second_case):
    form = AssessmentForm({**second_case, "treatment_start_date": "9999-12-31"}, patient=patient)
    assert form.errors["treatment_start_date"] == [
        "Treatment starts within a year of the assessment (by 2026-03-10): check the year."
    ]


def test_an_empty_treatment_start_is_the_assessment_date(patient, second_case):
    form = AssessmentForm({**second_case, "treatment_start_date": ""}, patient=patient)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["treatment_start_date"] == datetime.date(2025, 3, 10)


# -- an assessment with visits or a treatment change ---------------------------------------------


def test_the_assessment_cannot_be_moved_after_its_first_visit(saved_with_a_visit, second_case):
    data = {**second_case, "assessment_date": "2025-04-11", "injury_date": ""}
    form = AssessmentForm(data, instance=saved_with_a_visit, patient=saved_with_a_visit.patient)
    # The treatment start follows the assessment date when left empty, so it is after the visit too.
    assert error_codes(form) == {"assessment_date": ["after_visit"], "treatment_start_date": ["after_visit"]}


def test_treatment_cannot_start_after_the_first_visit(saved_with_a_visit, second_case):
    data = {**second_case, "treatment_start_date": "2025-04-11"}
    form = AssessmentForm(data, instance=saved_with_a_visit, patient=saved_with_a_visit.patient)
    assert error_codes(form) == {"treatment_start_date": ["after_visit"]}


@pytest.fixture
def changed(patient, make_fracture):
    """Conservative care from 2025-03-10, abandoned for vertebroplasty on 2025-04-01."""
    return make_fracture(patient, treatment_changed_to="vertebroplasty", treatment_changed_on=datetime.date(2025, 4, 1))


def test_treatment_cannot_start_after_it_was_changed(changed, second_case):
    form = AssessmentForm(
        {**second_case, "treatment_start_date": "2025-04-05"}, instance=changed, patient=changed.patient
    )
    assert error_codes(form) == {"treatment_start_date": ["after_change"]}


def test_after_a_treatment_change_the_first_treatment_stays_as_it_was(changed, second_case):
    form = AssessmentForm({**second_case, "treatment": "kyphoplasty"}, instance=changed, patient=changed.patient)
    assert error_codes(form) == {"treatment": ["treatment_locked"]}


# -- the second reader (spec §2) and the ODI ---------------------------------------------------------


@pytest.mark.parametrize("field", ["second_vhl_percent", "second_kyphosis_angle_deg"])
def test_a_second_readers_measurement_needs_the_readers_name(patient, second_case, field):
    form = AssessmentForm({**second_case, field: "18.0"}, patient=patient)
    assert error_codes(form) == {"second_reader_name": ["required"]}


def test_with_a_second_reader_the_mean_is_scored_and_the_first_readers_values_kept(patient, second_case):
    data = {
        **second_case,
        "vhl_percent": "12.0",
        "kyphosis_angle_deg": "12.0",
        "second_reader_name": "Dr B",
        "second_vhl_percent": "18.0",
        "second_kyphosis_angle_deg": "18.1",
    }
    form = AssessmentForm(data, patient=patient)
    assert form.is_valid(), form.errors
    # spec §2, revised Decision: the mean is kept as it is, on 0.05 steps (15.05, not 15.1).
    assert (form.cleaned_data["vhl_percent"], form.cleaned_data["kyphosis_angle_deg"]) == (D("15.0"), D("15.05"))
    assert (form.first_vhl, form.first_kyphosis) == (D("12.0"), D("12.0"))
    assert form.result.vertebral_height_loss.points == 2  # the mean, 15.0, is what is scored
    assert form.result.kyphosis_angle.value == D("15.05")


def test_two_readers_mean_of_14_95_is_not_rounded_and_scores_0(patient, second_case):
    """spec §2, revised Decision: 14.9 % and 15.0 % give 14.95 %, shown and scored as 14.95 (0 points)."""
    data = {
        **second_case,
        "vhl_percent": "14.9",
        "kyphosis_angle_deg": "14.9",
        "second_reader_name": "Dr B",
        "second_vhl_percent": "15.0",
        "second_kyphosis_angle_deg": "15.0",
    }
    form = AssessmentForm(data, patient=patient)
    assert form.is_valid(), form.errors
    assert form.result.vertebral_height_loss.value == D("14.95")
    assert form.result.vertebral_height_loss.points == 0
    assert form.result.kyphosis_angle.value == D("14.95")
    assert form.result.kyphosis_angle.points == 0


def test_one_readers_typed_14_95_is_rounded_to_15_0_and_scores_2(patient, second_case):
    """spec §1: a single reader's value is rounded half-up to 0.1 before it is compared."""
    form = AssessmentForm({**second_case, "vhl_percent": "14.95", "kyphosis_angle_deg": "14.95"}, patient=patient)
    assert form.is_valid(), form.errors
    assert form.result.vertebral_height_loss.value == D("15.0")
    assert form.result.vertebral_height_loss.points == 2
    assert form.result.kyphosis_angle.points == 2


@pytest.mark.parametrize("typed", ["-2.55", "-3.45", "-1.05"])
def test_a_t_score_with_two_decimals_is_refused_not_rounded(patient, second_case, typed):
    """spec §2, revised Decision: a T-score takes at most one decimal."""
    form = AssessmentForm({**second_case, "bmd_t_score": typed}, patient=patient)
    assert error_codes(form) == {"bmd_t_score": ["too_many_decimals"]}


def test_a_t_score_written_with_a_trailing_zero_is_one_decimal(patient, second_case):
    form = AssessmentForm({**second_case, "bmd_t_score": "-2.50"}, patient=patient)
    assert form.is_valid(), form.errors
    assert form.result.bmd.points == 2


def test_a_second_readers_percentage_and_heights_both_given_is_refused(patient, second_case):
    data = {
        **second_case,
        "second_reader_name": "Dr B",
        "second_vhl_percent": "18.0",
        "second_fractured_anterior_mm": "20",
    }
    form = AssessmentForm(data, patient=patient)
    assert error_codes(form) == {"second_vhl_percent": ["vhl_both"]}


def test_a_second_readers_heights_outside_the_accepted_range_are_refused_beside_that_reader(patient, second_case):
    heights = {
        "second_fractured_anterior_mm": "60",
        "second_fractured_posterior_mm": "60",
        **{
            f"second_{name}": "30"
            for name in ("cranial_anterior_mm", "cranial_posterior_mm", "caudal_anterior_mm", "caudal_posterior_mm")
        },
    }
    form = AssessmentForm({**second_case, "second_reader_name": "Dr B", **heights}, patient=patient)
    assert error_codes(form) == {"second_vhl_percent": ["vhl_computed_out_of_range"]}


def test_odi_typed_and_scored_from_sections_is_refused(patient, second_case):
    form = AssessmentForm({**second_case, "odi_percent": "40", "odi_section_1": "2"}, patient=patient)
    assert error_codes(form) == {"odi_percent": ["odi_both"]}
