"""Archiving asks first (issue 11): a confirmation page says what will be hidden and asks why;
the reason is kept on the record and in its history, and shown, with who and when, on the
archived record's page. Restoring asks for confirmation too."""

import pytest

from scoring.models import Fracture, Patient
from tests.conftest import started
from tests.scoring.views.conftest import text

pytestmark = pytest.mark.django_db


def test_the_archive_button_opens_a_confirmation_page_and_archives_nothing(signed_in, make_patient, make_fracture):
    fracture = started(make_patient, make_fracture, "DUE", 30)
    patient = fracture.patient
    page = text(signed_in.get(patient.get_absolute_url()))
    assert f'href="/patients/{patient.pk}/archive/"' in page  # a link to the question, not a one-click form
    assert f'action="/patients/{patient.pk}/archive/"' not in page

    response = signed_in.get(f"/patients/{patient.pk}/archive/")
    assert response.status_code == 200
    question = text(response)
    assert "Archive patient DUE?" in question
    assert "with 1 assessment." in question
    assert "The follow-up visits still expected (3) come off the worklist." in question
    assert 'name="reason"' in question and "Reason for archiving" in question
    assert not Patient.objects.get(pk=patient.pk).is_archived


def test_a_bare_post_from_an_old_archive_button_only_asks(signed_in, patient):
    response = signed_in.post(f"/patients/{patient.pk}/archive/")
    assert response.status_code == 200
    assert "Say why this record is archived." not in text(response)  # nothing typed yet: no error
    assert not Patient.objects.get(pk=patient.pk).is_archived


@pytest.mark.parametrize("reason", ["", "   "])
def test_archiving_without_a_reason_is_refused(signed_in, patient, reason):
    response = signed_in.post(f"/patients/{patient.pk}/archive/", {"reason": reason})
    assert response.status_code == 200
    assert "Say why this record is archived." in text(response)
    assert not Patient.objects.get(pk=patient.pk).is_archived


def test_the_reason_is_kept_on_the_record_in_its_history_and_shown_with_who_and_when(
    signed_in, patient, user, make_fracture
):
    user.first_name, user.last_name = "Anna", "Smith"
    user.save()
    make_fracture(patient)
    response = signed_in.post(f"/patients/{patient.pk}/archive/", {"reason": "Registered twice: see MRN002"})
    assert response.status_code == 302 and response.url == patient.get_absolute_url()
    patient.refresh_from_db()
    assert patient.is_archived and patient.archive_reason == "Registered twice: see MRN002"
    assert patient.history.first().history_change_reason == "Archived: Registered twice: see MRN002"
    page = text(signed_in.get(patient.get_absolute_url()))
    note = page.split('data-testid="archived-note">')[1].split("</div>")[0]
    assert f"Archived on {patient.archived_at:%Y-%m-%d}" in note
    assert "by Anna Smith" in note and "Reason: “Registered twice: see MRN002”" in note


def test_an_assessment_is_archived_with_its_reason_and_the_patient_page_says_so(signed_in, make_patient, make_fracture):
    fracture = started(make_patient, make_fracture, "DUE", 30)
    question = text(signed_in.get(f"/assessments/{fracture.pk}/archive/"))
    assert f"Archive the T11 assessment of {fracture.assessment_date:%Y-%m-%d} (DUE)?" in question
    assert "The assessment leaves the patient's list of assessments" in question
    assert "The follow-up visits still expected (3) come off the worklist." in question
    response = signed_in.post(f"/assessments/{fracture.pk}/archive/", {"reason": "Wrong level entered"})
    assert response.url == fracture.patient.get_absolute_url()
    fracture.refresh_from_db()
    assert fracture.archive_reason == "Wrong level entered"
    assert 'data-row="DUE-1m"' not in text(signed_in.get("/worklist/"))
    page = text(signed_in.get(fracture.patient.get_absolute_url()))
    assert "Archived assessments" in page and "“Wrong level entered”" in page


def test_a_second_click_archives_once(signed_in, patient):
    url = f"/patients/{patient.pk}/archive/"
    signed_in.post(url, {"reason": "Registered twice"})
    versions = patient.history.count()
    response = signed_in.post(url, {"reason": "Registered twice"}, follow=True)
    assert "is already archived" in text(response)
    assert patient.history.count() == versions


def test_restoring_asks_for_confirmation_and_needs_no_reason(signed_in, patient, make_fracture):
    fracture = make_fracture(patient)
    signed_in.post(f"/assessments/{fracture.pk}/archive/", {"reason": "Entered twice"})
    signed_in.post(f"/patients/{patient.pk}/archive/", {"reason": "Registered twice"})
    page = text(signed_in.get(patient.get_absolute_url()))
    assert f'href="/patients/{patient.pk}/archive/">Restore from archive</a>' in page

    question = text(signed_in.get(f"/patients/{patient.pk}/archive/"))
    assert "from the archive?" in question and 'name="restore" value="1"' in question
    assert 'name="reason"' not in question
    assert "Reason: “Registered twice”" in question  # what it was archived for
    assert Patient.objects.get(pk=patient.pk).is_archived

    assert signed_in.post(f"/patients/{patient.pk}/archive/", {"restore": "1"}).status_code == 302
    patient.refresh_from_db()
    assert not patient.is_archived and patient.archive_reason == ""
    assert patient.history.first().history_change_reason == "Restored"
    assert Fracture.objects.get(pk=fracture.pk).is_archived  # the assessment stays archived on its own
    assert "Restore" in text(signed_in.get(f"/assessments/{fracture.pk}/archive/"))


def test_a_viewer_gets_neither_the_question_nor_the_link(client, make_user, patient, make_fracture):
    fracture = make_fracture(patient)
    client.force_login(make_user("reader", role="viewer"))
    assert client.get(f"/patients/{patient.pk}/archive/").status_code == 403
    assert client.get(f"/assessments/{fracture.pk}/archive/").status_code == 403
    assert client.post(f"/patients/{patient.pk}/archive/", {"reason": "x"}).status_code == 403
    assert "/archive/" not in text(client.get(patient.get_absolute_url()))
    assert not Patient.objects.get(pk=patient.pk).is_archived
