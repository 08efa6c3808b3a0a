"""The admin (scoring/admin.py): clinical records are read there, never added or changed, a visit
an admin deletes takes its outcome with it, the records deleted are listed for admins, and no one
grants themselves more through the user pages."""

import datetime

import pytest
from django.contrib.auth.models import Group

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


# -- the records deleted in the admin, listed for admins (issue 12, item 5) --------------------------


@pytest.fixture
def admin(make_user):
    return make_user("boss", role="admin", is_staff=True)


def _delete(client, record):
    opts = record._meta
    response = client.post(f"/admin/scoring/{opts.model_name}/{record.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302


def test_an_admin_finds_each_deleted_record_listed_with_who_when_and_its_history(client, admin, user, case_two):
    visit = Visit.objects.create(
        fracture=case_two, kind="3m", visit_date=datetime.date(2025, 6, 9), created_by=user, updated_by=user
    )
    patient = case_two.patient
    client.force_login(admin)
    for record in (visit, case_two, patient):
        _delete(client, record)
    # From the admin's index, one click to each list; from each list, one click to the history.
    index = client.get("/admin/").content.decode()
    for kind in ("patient", "fracture", "visit"):
        assert f'href="/admin/scoring/{kind}/deleted/">Deleted {kind}s</a>' in index
        assert (
            f'href="/admin/scoring/{kind}/deleted/">Deleted {kind}s</a>'
            in client.get(f"/admin/scoring/{kind}/").content.decode()
        )
    expected = {
        "patient": ("MRN001 Test Patient", f"/patients/{patient.pk}/history/"),
        "fracture": ("MRN001 T11 2025-03-10", f"/assessments/{case_two.pk}/history/"),
        "visit": ("MRN001 T11 2025-03-10 · 3 months visit 2025-06-09", f"/visits/{visit.pk}/history/"),
    }
    for kind, (identified_as, history_url) in expected.items():
        response = client.get(f"/admin/scoring/{kind}/deleted/")
        assert response.status_code == 200
        row = " ".join(response.content.decode().split())
        assert f"<td>{identified_as}</td>" in row
        assert "<td>boss</td>" in row
        assert f'<a href="{history_url}">History</a>' in row
        assert client.get(history_url).status_code == 200  # the admin role reads every kind


def test_the_deleted_list_is_empty_until_something_is_deleted(client, admin, patient):
    client.force_login(admin)
    page = client.get("/admin/scoring/patient/deleted/").content.decode()
    assert "No patient has been deleted." in page
    assert "MRN001" not in page


@pytest.mark.parametrize("role", ["clinician", "viewer"])
def test_staff_without_the_admin_role_get_403_on_the_deleted_list_and_see_no_link(
    client, admin, make_user, patient, role
):
    client.force_login(admin)
    _delete(client, patient)
    client.force_login(make_user("staffer", role=role, is_staff=True))
    assert client.get("/admin/scoring/patient/deleted/").status_code == 403
    assert "deleted/" not in client.get("/admin/").content.decode()
    assert "deleted/" not in client.get("/admin/scoring/patient/").content.decode()


@pytest.mark.parametrize("role", ["clinician", "viewer"])
def test_clinicians_and_viewers_never_reach_the_deleted_list_nor_see_a_link_in_the_app(client, make_user, role):
    client.force_login(make_user("someone", role=role))
    response = client.get("/admin/scoring/visit/deleted/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    assert "/deleted/" not in client.get("/patients/").content.decode()


# -- no one grants themselves more (issue 12, item 6) -----------------------------------------------


def _form(user, **fields):
    """What the admin's change form for `user` posts, with `fields` changed."""
    data = {"username": user.username, "is_active": "on", "date_joined_0": "2025-01-01", "date_joined_1": "00:00:00"}
    data.update(fields)
    return data


def _group(name):
    return Group.objects.get(name=name).pk


def _roles(user):
    return sorted(user.groups.values_list("name", flat=True))


def test_an_admin_cannot_put_itself_in_the_clinician_group(client, admin, django_user_model):
    client.force_login(admin)
    page = client.get(f"/admin/auth/user/{admin.pk}/change/").content.decode()
    assert 'name="groups"' not in page and 'name="is_staff"' not in page  # shown, not offered
    response = client.post(
        f"/admin/auth/user/{admin.pk}/change/",
        _form(admin, groups=[_group("admin"), _group("clinician")], is_staff="on", is_superuser="on"),
    )
    assert response.status_code == 302  # the rest of the form saves; the roles are not part of it
    fresh = django_user_model.objects.get(pk=admin.pk)
    assert _roles(fresh) == ["admin"]
    assert not fresh.has_perm("scoring.add_patient") and not fresh.has_perm("scoring.export_identified")


def test_an_admin_cannot_drop_its_own_flags_either(client, admin, django_user_model):
    client.force_login(admin)
    client.post(f"/admin/auth/user/{admin.pk}/change/", _form(admin, is_active="", groups=[]))
    fresh = django_user_model.objects.get(pk=admin.pk)
    assert fresh.is_active and fresh.is_staff and _roles(fresh) == ["admin"]


def test_an_admin_gives_others_the_clinician_or_viewer_role(client, admin, make_user):
    newcomer = make_user("newcomer", role=None)
    client.force_login(admin)
    page = client.get(f"/admin/auth/user/{newcomer.pk}/change/").content.decode()
    assert ">clinician</option>" in page and ">viewer</option>" in page and ">admin</option>" not in page
    response = client.post(f"/admin/auth/user/{newcomer.pk}/change/", _form(newcomer, groups=[_group("clinician")]))
    assert response.status_code == 302
    assert _roles(newcomer) == ["clinician"]


def test_an_admin_cannot_make_another_account_an_admin(client, admin, make_user, django_user_model):
    """Else a second admin account, made for the purpose, could raise the first."""
    accomplice = make_user("accomplice", role="clinician")
    client.force_login(admin)
    response = client.post(
        f"/admin/auth/user/{accomplice.pk}/change/", _form(accomplice, groups=[_group("admin")], is_staff="on")
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    fresh = django_user_model.objects.get(pk=accomplice.pk)
    assert _roles(fresh) == ["clinician"] and not fresh.is_staff
    # Staff status alone is not granted either: the field is not part of the form.
    client.post(
        f"/admin/auth/user/{accomplice.pk}/change/", _form(accomplice, groups=[_group("clinician")], is_staff="on")
    )
    assert not django_user_model.objects.get(pk=accomplice.pk).is_staff


def test_an_admin_cannot_change_take_over_or_delete_another_admin(client, admin, make_user, django_user_model):
    other = make_user("other-admin", role="admin", is_staff=True)
    client.force_login(admin)
    assert (
        client.post(f"/admin/auth/user/{other.pk}/change/", _form(other, groups=[_group("clinician")])).status_code
        == 403
    )
    new_password = {"password1": "a-new-password-42", "password2": "a-new-password-42", "usable_password": "true"}
    assert client.post(f"/admin/auth/user/{other.pk}/password/", new_password).status_code == 403
    assert client.post(f"/admin/auth/user/{other.pk}/delete/", {"post": "yes"}).status_code == 403
    client.post("/admin/auth/user/", {"action": "delete_selected", "_selected_action": [other.pk], "post": "yes"})
    fresh = django_user_model.objects.get(pk=other.pk)
    assert _roles(fresh) == ["admin"] and fresh.check_password("correct-horse-battery-staple")


def test_a_superuser_makes_admins(client, make_user, django_user_model):
    root = django_user_model.objects.create_superuser("root", password="x" * 12)
    newcomer = make_user("newcomer", role=None)
    client.force_login(root)
    response = client.post(
        f"/admin/auth/user/{newcomer.pk}/change/", _form(newcomer, groups=[_group("admin")], is_staff="on")
    )
    assert response.status_code == 302
    fresh = django_user_model.objects.get(pk=newcomer.pk)
    assert _roles(fresh) == ["admin"] and fresh.is_staff
