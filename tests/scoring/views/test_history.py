"""Each record's history page (scoring/views/history.py). What the entries say for each change,
and that the history cannot be edited, are in tests/test_security.py (the audit trail)."""

import datetime
import html
import re
from decimal import Decimal

import pytest

from scoring import services
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
        < page.index(">Recorded</p>")
    )


def test_history_pages_hold_50_versions_each(signed_in, patient):
    for n in range(55):
        patient.name = f"Name {n}"
        patient.save()
    first = text(signed_in.get(f"/patients/{patient.pk}/history/"))
    assert "Page 1 of 2 · 56 versions" in first
    assert first.count('data-testid="history-entry"') == 50
    assert ">Recorded</p>" in text(signed_in.get(f"/patients/{patient.pk}/history/?page=2"))


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
    assert 'was deleted in the admin by <strong>boss</strong> on <time datetime="20' in " ".join(page.split())
    assert "MRN001 Renamed Patient (deleted)" in page  # the breadcrumb, no link to a page that is gone
    assert f'href="/patients/{patient.pk}/"' not in page
    # Its last version, field by field, then the whole history in words.
    assert '<dt class="col-sm-4 col-lg-3">MRN</dt><dd class="col-sm-8 col-lg-9 text-break">MRN001</dd>' in page
    assert '<dd class="col-sm-8 col-lg-9 text-break">1953-06-01</dd>' in page
    assert page.index(">Deleted in the admin</p>") < page.index("Name Test Patient → Renamed Patient")
    assert page.index("Name Test Patient → Renamed Patient") < page.index(">Recorded</p>")


def test_a_deleted_assessment_keeps_its_history_page_named_by_mrn_level_and_date(client, admin, user, case_two):
    delete_in_the_admin(client, admin, case_two)
    client.force_login(user)
    page = text(client.get(f"/assessments/{case_two.pk}/history/"))
    assert "History of this deleted fracture" in page
    assert "MRN001 T11 2025-03-10 (deleted)" in page
    assert '>BMD T-score</dt><dd class="col-sm-8 col-lg-9 text-break">−3.6</dd>' in page
    assert '>Patient</dt><dd class="col-sm-8 col-lg-9 text-break">MRN001</dd>' in page
    assert ">Deleted in the admin</p>" in page


def test_a_deleted_visit_is_named_from_its_fracture_and_patient_even_when_they_are_deleted_too(
    client, admin, user, visit
):
    fracture, patient = visit.fracture, visit.fracture.patient
    for record in (visit, fracture, patient):  # in that order: each protects the one before
        delete_in_the_admin(client, admin, record)
    client.force_login(user)
    page = text(client.get(f"/visits/{visit.pk}/history/"))
    assert "MRN001 T11 2025-03-10 · 1 month visit 2025-04-10 (deleted)" in page
    assert '>Notes</dt><dd class="col-sm-8 col-lg-9 text-break">walking better</dd>' in page
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


# -- a clinician's words: fields, reasons, full names, the clinic's time (issue 11) -----------------


def visible(response) -> str:
    """The page's text as read: tags dropped, spaces collapsed."""
    words = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", text(response))).split())
    return re.sub(r" ([.,;)])", r"\1", words)


def at(record, moment):
    """Date the record's history as if its latest version was saved at `moment` (UTC), each
    earlier one a minute before the next."""
    rows = list(record.history.order_by("-history_date", "-history_id"))
    for minutes, row in enumerate(rows):
        type(row).objects.filter(pk=row.pk).update(history_date=moment - datetime.timedelta(minutes=minutes))


DECEMBER_MORNING = datetime.datetime(2026, 12, 1, 8, 14, tzinfo=datetime.UTC)  # 09:14 in Berlin


@pytest.fixture
def anna(make_user):
    return make_user("asmith", first_name="Anna", last_name="Smith")


def test_the_history_page_names_fields_with_units_users_by_full_name_and_times_in_the_clinics_zone(
    client, settings, anna, case_two
):
    settings.TIME_ZONE = "Europe/Berlin"
    case_two._history_user = anna
    case_two.second_reader_name, case_two.second_vhl_entered_percent = "Dr Lee", Decimal("12.0")
    case_two.save()
    case_two._history_user = anna
    case_two.second_vhl_entered_percent, case_two.kyphosis_difference_six_months_deg = Decimal("14.0"), Decimal("8.5")
    case_two.save()
    at(case_two, DECEMBER_MORNING)
    client.force_login(anna)
    page = visible(client.get(f"/assessments/{case_two.pk}/history/"))
    assert (
        "2026-12-01 09:14 CET saved by Anna Smith Second reader's VHL (typed) 12.0 % → 14.0 % "
        "Kyphosis angle change at 6 months — → +8.5° (computed)" in page
    )
    assert "the clinic's time, Europe/Berlin" in page
    assert "second vhl" not in page.lower() and "UTC" not in page


def test_the_reason_given_for_a_change_is_on_its_line(signed_in, user, patient):
    services.set_archived(record=patient, archived=True, user=user, reason="duplicate record")
    services.set_archived(record=patient, archived=False, user=user)
    page = visible(signed_in.get(f"/patients/{patient.pk}/history/"))
    assert page.index("Restored") < page.index("Archived: duplicate record") < page.index("Recorded")
    assert page.count("duplicate record") == 1  # the reason once, not again as a change


def test_a_deleted_records_notice_gives_the_clinics_time(client, settings, admin, make_user, patient):
    settings.TIME_ZONE = "Europe/Berlin"
    delete_in_the_admin(client, admin, patient)
    at(patient, DECEMBER_MORNING)
    client.force_login(make_user("reader", role="viewer"))
    assert "was deleted in the admin by boss on 2026-12-01 09:14 CET." in visible(
        client.get(f"/patients/{patient.pk}/history/")
    )


def test_a_refused_stale_save_names_who_by_full_name_and_when_in_the_clinics_time(client, settings, anna, patient):
    settings.TIME_ZONE = "Europe/Berlin"
    data = {"mrn": "MRN001", "sex": "F", "date_of_birth": "1953-06-01", "version": "1"}
    client.force_login(anna)
    assert client.post(f"/patients/{patient.pk}/edit/", {**data, "name": "First"}).status_code == 302
    at(patient, DECEMBER_MORNING)
    response = client.post(f"/patients/{patient.pk}/edit/", {**data, "name": "Second"})
    assert (
        "Not saved: Anna Smith changed it (Name Test Patient → First) at 2026-12-01 09:14 CET, "
        "after you opened this record." in visible(response)
    )
