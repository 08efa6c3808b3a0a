"""Each record's history page (scoring/views/history.py). What the entries say for each change,
and that the history cannot be edited, are in tests/test_security.py (the audit trail)."""

import datetime
from decimal import Decimal

import pytest

from scoring.models import Visit
from tests.scoring.views.conftest import text

pytestmark = pytest.mark.django_db


def test_history_lists_the_versions_newest_first(signed_in, patient):
    for name in ("First Rename", "Second Rename"):
        patient.name = name
        patient.save()
    page = text(signed_in.get(f"/patients/{patient.pk}/history/"))
    assert (
        page.index("First Rename → Second Rename")
        < page.index("Test Patient → First Rename")
        < page.index("<td>recorded</td>")
    )


def test_history_pages_hold_50_versions_each(signed_in, patient):
    for n in range(55):
        patient.name = f"Name {n}"
        patient.save()
    first = text(signed_in.get(f"/patients/{patient.pk}/history/"))
    assert "Page 1 of 2 · 56 versions" in first
    assert first.count("<tr><td") == 50
    assert "<td>recorded</td>" in text(signed_in.get(f"/patients/{patient.pk}/history/?page=2"))


@pytest.mark.parametrize("prefix", ["/patients", "/assessments", "/visits"])
def test_the_history_of_an_unknown_record_is_a_404(signed_in, prefix):
    assert signed_in.get(f"{prefix}/999999/history/").status_code == 404


# -- a record deleted in the admin keeps its history page (issue 12, item 5) ------------------------


def delete_in_the_admin(client, admin, record):
    """Delete `record` as `admin` through the admin's own delete page, as an admin would."""
    client.force_login(admin)
    opts = record._meta
    response = client.post(f"/admin/{opts.app_label}/{opts.model_name}/{record.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not type(record).objects.filter(pk=record.pk).exists()


@pytest.fixture
def admin(make_user):
    return make_user("boss", role="admin", is_staff=True)


@pytest.fixture
def visit(case_two, user):
    return Visit.objects.create(
        fracture=case_two,
        kind="1m",
        visit_date=datetime.date(2025, 4, 10),
        vas_pain=Decimal(5),
        notes="walking better",
        created_by=user,
        updated_by=user,
    )


def test_a_deleted_patient_keeps_a_history_page_marked_deleted(client, admin, make_user, patient):
    patient.name = "Renamed Patient"
    patient.save()
    delete_in_the_admin(client, admin, patient)
    client.force_login(make_user("reader", role="viewer"))  # anyone who may read patients
    response = client.get(f"/patients/{patient.pk}/history/")
    assert response.status_code == 200
    page = text(response)
    assert "History of this deleted patient" in page
    assert "was deleted in the admin by <strong>boss</strong> on 20" in " ".join(page.split())
    assert "MRN001 Renamed Patient (deleted)" in page  # the breadcrumb, no link to a page that is gone
    assert f'href="/patients/{patient.pk}/"' not in page
    # Its last version, field by field, then the whole history in words.
    assert '<dt class="col-sm-4 col-lg-3">MRN</dt><dd class="col-sm-8 col-lg-9">MRN001</dd>' in page
    assert '<dd class="col-sm-8 col-lg-9">1953-06-01</dd>' in page
    assert page.index("<td>deleted in the admin</td>") < page.index("name Test Patient → Renamed Patient")
    assert page.index("name Test Patient → Renamed Patient") < page.index("<td>recorded</td>")


def test_a_deleted_assessment_keeps_its_history_page_named_by_mrn_level_and_date(client, admin, user, case_two):
    delete_in_the_admin(client, admin, case_two)
    client.force_login(user)
    page = text(client.get(f"/assessments/{case_two.pk}/history/"))
    assert "History of this deleted fracture" in page
    assert "MRN001 T11 2025-03-10 (deleted)" in page
    assert '>T-score</dt><dd class="col-sm-8 col-lg-9">−3.6</dd>' in page
    assert '>Patient</dt><dd class="col-sm-8 col-lg-9">MRN001</dd>' in page
    assert "<td>Deleted</td><td>deleted in the admin</td>" in page


def test_a_deleted_visit_is_named_from_its_fracture_and_patient_even_when_they_are_deleted_too(
    client, admin, user, visit
):
    fracture, patient = visit.fracture, visit.fracture.patient
    for record in (visit, fracture, patient):  # in that order: each protects the one before
        delete_in_the_admin(client, admin, record)
    client.force_login(user)
    page = text(client.get(f"/visits/{visit.pk}/history/"))
    assert "MRN001 T11 2025-03-10 · 1 month visit 2025-04-10 (deleted)" in page
    assert '>Notes</dt><dd class="col-sm-8 col-lg-9">walking better</dd>' in page
    for url in (f"/assessments/{fracture.pk}/history/", f"/patients/{patient.pk}/history/"):
        assert client.get(url).status_code == 200


def test_the_history_of_a_deleted_record_needs_the_right_to_read_that_kind(client, admin, make_user, patient):
    delete_in_the_admin(client, admin, patient)
    client.force_login(make_user("nobody", role=None))
    assert client.get(f"/patients/{patient.pk}/history/").status_code == 403


def test_a_live_record_is_not_marked_deleted(signed_in, patient):
    page = text(signed_in.get(f"/patients/{patient.pk}/history/"))
    assert "deleted" not in page.lower()
    assert f'href="/patients/{patient.pk}/"' in page
