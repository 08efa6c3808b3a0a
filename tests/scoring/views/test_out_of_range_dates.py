"""Dates past what the schedule can compute never reach a 500 (finding 3 of the hostile test): the
forms refuse a treatment start more than a year after the assessment, and a far-future start
already stored (written behind the app's back) gives a clear page, not an OverflowError.

The least surprising behaviour chosen: the assessment and print pages say that the visit schedule
is not computable from the stored start date and link to the edit page to correct it; the fracture
has no expected visits (so the worklist is unaffected); a visit is refused by its form with the
same explanation."""

import datetime

import pytest
from django.utils import timezone

from scoring import services
from scoring.models import ExpectedVisit, Fracture, Visit
from tests.scoring.views.conftest import new_assessment_url, text, visit_url

pytestmark = pytest.mark.django_db

FAR_FUTURE = datetime.date(9999, 12, 1)


@pytest.fixture
def far_future(patient, make_fracture):
    """Case two with its treatment start rewritten to 9999-12-01 behind the app's back, and its
    expected visits refreshed as `manage.py refresh_expected_visits` would."""
    fracture = make_fracture(patient)
    Fracture.objects.filter(pk=fracture.pk).update(treatment_start_date=FAR_FUTURE)
    services.refresh_all_expected_visits()
    fracture.refresh_from_db()
    return fracture


@pytest.mark.parametrize("start", ["9999-07-05", "9999-12-31", "2026-03-11"])
def test_the_assessment_form_refuses_a_start_more_than_a_year_after_the_assessment(signed_in, patient, start):
    data = {
        "assessment_date": "2025-03-10",
        "level": "T11",
        "low_energy_trauma": "yes",
        "fracture_type": "compression",
        "vhl_percent": "17.8",
        "kyphosis_angle_deg": "19.6",
        "t2_signal": "diffuse_low",
        "bmd_t_score": "-3.6",
        "treatment": "conservative",
        "treatment_start_date": start,
    }
    response = signed_in.post(new_assessment_url(patient), data)
    assert response.status_code == 200
    assert "Treatment starts within a year of the assessment (by 2026-03-10): check the year." in text(response)
    assert not Fracture.objects.exists()


@pytest.mark.parametrize("suffix", ["", "print/"])
def test_a_stored_far_future_start_gives_a_clear_page_not_a_500(signed_in, far_future, suffix):
    response = signed_in.get(f"{far_future.get_absolute_url()}{suffix}")
    assert response.status_code == 200
    page = text(response)
    assert "visit schedule not computable" in page
    assert "The treatment start date stored for this assessment, 9999-12-01, is too far ahead" in page
    assert f'href="/assessments/{far_future.pk}/edit/"' in page  # where to correct it


def test_a_stored_far_future_start_has_no_expected_visits_and_the_worklist_answers(signed_in, far_future):
    assert not ExpectedVisit.objects.filter(fracture=far_future).exists()
    assert signed_in.get("/worklist/").status_code == 200
    assert signed_in.get("/worklist/?status=missed").status_code == 200


def test_a_visit_on_a_stored_far_future_start_is_refused_with_a_message(signed_in, far_future):
    assert signed_in.get(visit_url(far_future)).status_code == 200
    for kind in ("1m", "6m", "unscheduled"):
        response = signed_in.post(
            visit_url(far_future),
            {"kind": kind, "visit_date": timezone.localdate().isoformat(), "vas_pain": "5", "bone_union": "united"},
        )
        assert response.status_code == 200, kind
        assert "treatment start date, 9999-12-01, is too far ahead for its visit schedule" in text(response)
    assert not Visit.objects.exists()


def test_a_stored_far_future_start_is_corrected_on_the_edit_page(signed_in, far_future, second_case):
    assert signed_in.get(f"/assessments/{far_future.pk}/edit/").status_code == 200
    refused = signed_in.post(
        f"/assessments/{far_future.pk}/edit/", {**second_case, "treatment_start_date": "9999-12-01", "version": "1"}
    )
    assert refused.status_code == 200 and "within a year of the assessment" in text(refused)
    corrected = signed_in.post(
        f"/assessments/{far_future.pk}/edit/", {**second_case, "treatment_start_date": "2025-03-10", "version": "1"}
    )
    assert corrected.status_code == 302
    assert signed_in.get(far_future.get_absolute_url()).status_code == 200
    assert ExpectedVisit.objects.filter(fracture=far_future).count() == 3
