"""ScoreForm (scoring/forms/score.py): what the score reads, and the VHL rules of
scoring/forms/readings.py it applies, checked on the form itself without a request."""

from decimal import Decimal

from scoring.forms import ScoreForm
from tests.scoring.forms.conftest import error_codes

D = Decimal

# spec §6, second worked case, as the API's form reads it.
SECOND_CASE = {
    "fracture_type": "compression",
    "vhl_percent": "17.8",
    "kyphosis_angle_deg": "19.6",
    "t2_signal": "diffuse_low",
    "bmd_t_score": "-3.6",
    "age_years": "71",
    "level": "T11",
    "low_energy_trauma": "true",
}
# spec §2's worked example: a = 20, b = 30, c … f = 30 mm → VHL 16.7 %.
HEIGHTS = {
    "fractured_anterior_mm": "20",
    "fractured_posterior_mm": "30",
    "cranial_anterior_mm": "30",
    "cranial_posterior_mm": "30",
    "caudal_anterior_mm": "30",
    "caudal_posterior_mm": "30",
}


def without_vhl(**extra):
    return {**{k: v for k, v in SECOND_CASE.items() if k != "vhl_percent"}, **extra}


def test_a_valid_form_scores_its_inputs():
    form = ScoreForm(SECOND_CASE)
    assert form.is_valid(), form.errors
    assert (form.result.total, form.result.group.value) == (10, "high")


def test_vhl_percentage_and_six_heights_both_given_is_refused_on_the_percentage():
    form = ScoreForm({**SECOND_CASE, **HEIGHTS})
    assert error_codes(form) == {"vhl_percent": ["vhl_both"]}


def test_one_height_with_the_percentage_is_already_both():
    form = ScoreForm({**SECOND_CASE, "fractured_anterior_mm": "20"})
    assert error_codes(form) == {"vhl_percent": ["vhl_both"]}


def test_neither_vhl_percentage_nor_heights_is_refused():
    form = ScoreForm(without_vhl())
    assert error_codes(form) == {"vhl_percent": ["vhl_missing"]}


def test_five_of_the_six_heights_name_the_missing_one():
    heights = {k: v for k, v in HEIGHTS.items() if k != "caudal_posterior_mm"}
    form = ScoreForm(without_vhl(**heights))
    assert error_codes(form) == {"caudal_posterior_mm": ["required"]}


def test_six_heights_compute_the_vhl_that_is_scored():
    form = ScoreForm(without_vhl(**HEIGHTS))
    assert form.is_valid(), form.errors
    assert form.cleaned_data["vhl_percent"] == D("16.7")
    assert form.vhl_from_heights and form.vhl_entered() is None


def test_heights_giving_a_vhl_outside_the_accepted_range_are_refused_beside_the_heights():
    # reference 30 mm, fractured mean 60 mm: VHL −100 %, below −50 %.
    heights = {**HEIGHTS, "fractured_anterior_mm": "60", "fractured_posterior_mm": "60"}
    form = ScoreForm(without_vhl(**heights))
    assert error_codes(form) == {"__all__": ["vhl_computed_out_of_range"]}
    assert form.vhl_group_errors  # shown beside the heights, not on one field
