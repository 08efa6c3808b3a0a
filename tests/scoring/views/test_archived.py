"""An archived patient or assessment is read-only through the server, not only on the pages: every
change page answers 409 with what to do ("restore it first"), on GET and POST alike, and a POST
saves nothing. Restoring stays possible, and then the record takes changes again.

Before this, the pages hid the buttons but each of these requests answered 302 and saved."""

import datetime

import pytest

from scoring.models import Fracture, Patient, Visit
from tests.scoring.views.conftest import text

pytestmark = pytest.mark.django_db

ASSESSMENT = {
    "assessment_date": "2025-03-10",
    "level": "T11",
    "injury_date": "2025-03-02",
    "low_energy_trauma": "yes",
    "fracture_type": "compression",
    "vhl_percent": "17.8",
    "kyphosis_angle_deg": "19.6",
    "t2_signal": "diffuse_low",
    "bmd_t_score": "-1.0",
    "treatment": "conservative",
}


@pytest.fixture
def records(patient, make_fracture, user):
    fracture = make_fracture(patient)
    visit = Visit.objects.create(
        fracture=fracture,
        kind="1m",
        visit_date=datetime.date(2025, 4, 10),
        vas_pain=5,
        created_by=user,
        updated_by=user,
    )
    return patient, fracture, visit


def write_requests(patient, fracture, visit):
    """Each change page of a patient and what belongs to it, with a POST that would save."""
    return [
        (
            f"/patients/{patient.pk}/edit/",
            {"mrn": patient.mrn, "name": "Renamed", "sex": "F", "date_of_birth": "1953-06-01", "version": "1"},
        ),
        (f"/patients/{patient.pk}/assessments/new/", {**ASSESSMENT, "level": "L3"}),  # not a likely duplicate
        (f"/assessments/{fracture.pk}/edit/", {**ASSESSMENT, "version": "1"}),
        (
            f"/assessments/{fracture.pk}/visits/new/",
            {"kind": "unscheduled", "visit_date": "2025-05-01", "vas_pain": "4"},
        ),
        (f"/visits/{visit.pk}/edit/", {"kind": "1m", "visit_date": "2025-04-10", "vas_pain": "2", "version": "1"}),
        (
            f"/assessments/{fracture.pk}/treatment-change/",
            {"treatment": "kyphoplasty", "changed_on": "2025-04-01", "version": "1"},
        ),
    ]


def stored(patient, fracture, visit):
    """What a refused write would have changed, and every row and version of the audit trail."""
    return (
        Patient.objects.get(pk=patient.pk).name,
        Fracture.objects.count(),
        Fracture.objects.get(pk=fracture.pk).bmd_t_score,
        Fracture.objects.get(pk=fracture.pk).treatment_changed_to,
        Visit.objects.count(),
        Visit.objects.get(pk=visit.pk).vas_pain,
        Patient.history.count(),
        Fracture.history.count(),
        Visit.history.count(),
    )


@pytest.mark.parametrize("page", range(6))
def test_the_write_requests_save_when_nothing_is_archived(signed_in, records, page):
    """The control: the same requests do write on an active record (so a 409 below is the archive)."""
    url, data = write_requests(*records)[page]
    assert signed_in.get(url).status_code == 200, url
    before = stored(*records)
    assert signed_in.post(url, data).status_code == 302, url
    assert stored(*records) != before


@pytest.mark.parametrize("archived", ["patient", "fracture"])
@pytest.mark.parametrize("page", range(6))
def test_a_change_to_an_archived_record_is_refused_with_409_and_saves_nothing(signed_in, records, archived, page):
    patient, fracture, visit = records
    target = patient if archived == "patient" else fracture
    signed_in.post(
        f"/{'patients' if archived == 'patient' else 'assessments'}/{target.pk}/archive/", {"reason": "Entered twice"}
    )
    url, data = write_requests(patient, fracture, visit)[page]
    if archived == "fracture" and url.startswith("/patients/"):
        pytest.skip("the patient's own pages do not belong to one assessment")
    before = stored(patient, fracture, visit)

    opened = signed_in.get(url)
    assert opened.status_code == 409, url
    assert "is archived: restore it first to change it." in text(opened)
    assert "Nothing was saved" not in text(opened)

    posted = signed_in.post(url, data)
    assert posted.status_code == 409, url
    page_text = text(posted)
    assert "Nothing was saved. " in page_text and "restore it first to change it." in page_text
    assert f'href="{target.get_absolute_url()}"' in page_text  # where the Restore button is
    assert stored(patient, fracture, visit) == before


def test_the_refusal_names_the_archived_record(signed_in, records):
    patient, fracture, _visit = records
    signed_in.post(f"/assessments/{fracture.pk}/archive/", {"reason": "Entered twice"})
    assert "The assessment of 2025-03-10 (T11) is archived" in text(signed_in.get(f"/assessments/{fracture.pk}/edit/"))
    signed_in.post(f"/patients/{patient.pk}/archive/", {"reason": "Registered twice"})
    # The patient is named first: restoring the patient is the first step.
    assert "Patient MRN001 is archived" in text(signed_in.get(f"/assessments/{fracture.pk}/edit/"))


def test_a_viewer_still_gets_403_on_an_archived_record(client, make_user, records, user):
    patient, fracture, _visit = records
    client.force_login(user)
    client.post(f"/patients/{patient.pk}/archive/", {"reason": "Registered twice"})
    client.force_login(make_user("reader", role="viewer"))
    assert client.get(f"/patients/{patient.pk}/edit/").status_code == 403
    assert client.post(f"/assessments/{fracture.pk}/visits/new/", {}).status_code == 403


def test_restoring_stays_possible_and_then_the_record_takes_changes(signed_in, records):
    patient, fracture, visit = records
    signed_in.post(f"/patients/{patient.pk}/archive/", {"reason": "Registered twice"})
    signed_in.post(f"/assessments/{fracture.pk}/archive/", {"reason": "Entered twice"})
    assert signed_in.post(f"/patients/{patient.pk}/archive/", {"restore": "1"}).status_code == 302
    assert signed_in.post(f"/assessments/{fracture.pk}/archive/", {"restore": "1"}).status_code == 302
    response = signed_in.post(
        f"/visits/{visit.pk}/edit/", {"kind": "1m", "visit_date": "2025-04-10", "vas_pain": "2", "version": "1"}
    )
    assert response.status_code == 302
    assert Visit.objects.get(pk=visit.pk).vas_pain == 2


def test_the_pages_of_an_archived_record_offer_no_change_but_restore(signed_in, records):
    patient, fracture, visit = records
    signed_in.post(f"/patients/{patient.pk}/archive/", {"reason": "Registered twice"})
    patient_page = text(signed_in.get(patient.get_absolute_url()))
    fracture_page = text(signed_in.get(fracture.get_absolute_url()))
    assert "Restore from archive" in patient_page
    for url in (f"/patients/{patient.pk}/edit/", f"/patients/{patient.pk}/assessments/new/"):
        assert f'href="{url}"' not in patient_page, url
    for url in (
        f"/assessments/{fracture.pk}/edit/",
        f"/assessments/{fracture.pk}/visits/new/",
        f"/assessments/{fracture.pk}/treatment-change/",
        f"/visits/{visit.pk}/edit/",
    ):
        assert f'href="{url}' not in fracture_page, url
