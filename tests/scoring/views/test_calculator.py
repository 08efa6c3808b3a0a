"""The quick calculator (scoring/views/calculator.py): a score with nothing saved, handed on to a
new patient record or to an existing patient's new assessment when wanted. Its live score as one
types is in tests/browser/."""

import re
from html import unescape
from urllib.parse import urlencode

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
    assert "New patient with these values" in page
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
    assert "New patient with these values" not in page
    assert "Assessment for an existing patient" not in page and 'name="calc"' not in page
    # Nor does a search by hand list patients to start an assessment for.
    found = text(client.get(URL, {"calc": urlencode(SECOND_CASE), "patient": "MRN"}))
    assert 'data-testid="score-total">10<' in found and "/assessments/new/" not in found


# -- issue 11: the carry-over right under the result, to a new or an existing patient ----------


def calc_value(page: str) -> str:
    return unescape(re.search(r'name="calc" value="([^"]*)"', page).group(1))


def test_the_carry_over_comes_right_after_the_live_result_before_the_score_card(signed_in):
    page = text(signed_in.post(URL, SECOND_CASE))
    live, carry, card = (page.index(marker) for marker in ("data-live-result", 'id="carry-over"', "score-heading"))
    assert live < carry < card
    assert "New patient with these values" in page and "Assessment for an existing patient" in page


def test_an_existing_patient_is_found_by_mrn_or_name_and_gets_an_assessment_with_the_values(signed_in, make_patient):
    chen = make_patient(mrn="CHEN01", name="Margaret Chen")
    make_patient(mrn="LI0002", name="Wei Li")
    archived = make_patient(mrn="CHEN02", name="Archived Chen")
    archived.archived_at = archived.created_at
    archived.save()
    calc = calc_value(text(signed_in.post(URL, SECOND_CASE)))
    for query in ("chen01", "marg", "chen mar"):
        page = text(signed_in.get(URL, {"calc": calc, "patient": query}))
        assert 'data-testid="score-total">10<' in page  # the result is still shown
        links = re.findall(r'href="(/patients/\d+/assessments/new/\?[^"]*)"', page)
        assert len(links) == 1 and links[0].startswith(f"/patients/{chen.pk}/assessments/new/?"), query
        assert "New assessment for CHEN01 · Margaret Chen" in page
    form = text(signed_in.get(unescape(links[0])))
    for name, value in [("vhl_percent", "17.8"), ("kyphosis_angle_deg", "19.6"), ("bmd_t_score", "-3.6")]:
        assert f'name="{name}" value="{value}"' in form
    assert 'value="diffuse_low" selected' in form and 'value="T11" selected' in form
    assert re.search(r'value="yes"[^>]*checked', form)
    assert Fracture.objects.count() == 0


def test_a_search_that_finds_nobody_says_so(signed_in, make_patient):
    make_patient(mrn="CHEN01", name="Margaret Chen")
    page = text(signed_in.get(URL, {"calc": urlencode(SECOND_CASE), "patient": "nobody"}))
    assert "No patient found for “nobody”." in page and "/assessments/new/" not in page


def test_a_tampered_calc_shows_the_forms_errors_and_offers_no_patient(signed_in, make_patient):
    make_patient(mrn="CHEN01", name="Margaret Chen")
    page = text(signed_in.get(URL, {"calc": urlencode({**SECOND_CASE, "bmd_t_score": "-70"}), "patient": "chen"}))
    assert "Must be at least -7.0." in page and "/assessments/new/" not in page


def test_a_plain_visit_shows_an_empty_calculator(signed_in):
    page = text(signed_in.get(URL))
    assert 'id="carry-over"' not in page and "is-invalid" not in page
