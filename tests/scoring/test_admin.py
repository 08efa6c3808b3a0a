"""The admin (scoring/admin.py): clinical records are read there, never added or changed, and a
visit an admin deletes takes its outcome with it."""

import datetime

import pytest

from scoring import services
from scoring.models import Visit

pytestmark = pytest.mark.django_db


def test_the_admin_shows_clinical_records_but_cannot_add_or_change_them(client, django_user_model, patient):
    admin = django_user_model.objects.create_superuser("root", password="x" * 12)
    client.force_login(admin)
    assert client.get("/admin/scoring/patient/").status_code == 200
    assert client.get("/admin/scoring/patient/add/").status_code == 403
    response = client.post(
        f"/admin/scoring/patient/{patient.pk}/change/", {"mrn": "p1", "sex": "F", "date_of_birth": "1950-01-01"}
    )
    assert response.status_code == 403
    patient.refresh_from_db()
    assert patient.mrn == "MRN001"


def test_an_admin_deleting_a_visit_recomputes_the_course(client, case_two, make_user):
    admin = make_user("boss", role="admin", is_staff=True)
    client.force_login(admin)
    visit = Visit.objects.create(
        fracture=case_two,
        kind="6m",
        visit_date=datetime.date(2025, 9, 10),
        bone_union="non_union",
        vacuum_cleft_mri=True,
        created_by=admin,
        updated_by=admin,
    )
    services.refresh_course(case_two)
    assert case_two.non_union is True
    response = client.post(f"/admin/scoring/visit/{visit.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    case_two.refresh_from_db()
    assert case_two.non_union is None
    assert Visit.history.filter(id=visit.pk, history_type="-").get().history_user == admin
