"""The quick calculator (scoring/views/calculator.py): a score with nothing saved, handed on to a
new patient record when wanted. Its live score as one types is in tests/browser/."""

import pytest

from scoring.models import Fracture, Patient
from tests.scoring.views.conftest import text

pytestmark = pytest.mark.django_db

URL = "/calculator/"

# spec §6, second worked case.
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


def test_the_calculator_scores_the_second_worked_case_and_saves_nothing(signed_in):
    response = signed_in.post(URL, SECOND_CASE)
    assert response.status_code == 200
    assert '<div class="score-total" data-testid="score-total">10</div>' in text(response)
    assert (Patient.objects.count(), Fracture.objects.count()) == (0, 0)


def test_a_bad_input_is_named_and_no_score_is_shown(signed_in):
    page = text(signed_in.post(URL, {**SECOND_CASE, "bmd_t_score": "-7.1"}))
    assert 'id="error_1_id_bmd_t_score"' in page and "Must be at least -7.0." in page
    assert 'data-testid="score-total"' not in page


def test_the_values_are_offered_to_a_new_patient_record_which_hands_them_to_its_first_assessment(signed_in):
    page = text(signed_in.post(URL, SECOND_CASE))
    assert "Start a patient record with these values" in page
    carry = page.split('href="/patients/new/?carry=')[1].split('"')[0]
    response = signed_in.post(
        f"/patients/new/?carry={carry}", {"mrn": "CALC1", "sex": "F", "date_of_birth": "1954-01-01"}
    )
    patient = Patient.objects.get()
    assert response.status_code == 302
    assert response["Location"].startswith(f"/patients/{patient.pk}/assessments/new/?")
    form = text(signed_in.get(response["Location"]))
    assert 'name="vhl_percent" value="17.8"' in form and 'name="bmd_t_score" value="-3.6"' in form


def test_a_viewer_may_calculate_but_is_offered_no_patient_record(client, make_user):
    client.force_login(make_user("reader", role="viewer"))
    page = text(client.post(URL, SECOND_CASE))
    assert 'data-testid="score-total">10<' in page
    assert "Start a patient record with these values" not in page
