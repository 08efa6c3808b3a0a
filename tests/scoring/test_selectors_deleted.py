"""The reads of records deleted in the admin (selectors.deleted_record, deleted_records_page): built
from the history rows alone, in a number of queries that does not grow with the records."""

import datetime

import pytest

from scoring import selectors
from scoring.models import Fracture, Patient, Visit

pytestmark = pytest.mark.django_db


def _visit(fracture, kind, user):
    return Visit.objects.create(
        fracture=fracture, kind=kind, visit_date=datetime.date(2025, 4, 10), created_by=user, updated_by=user
    )


@pytest.fixture
def deleted_visits(make_patient, make_fracture, user):
    """The ids of nine deleted visits of three fractures: one fracture live, one deleted, one
    deleted with its patient."""
    visits = []
    for n in range(3):
        fracture = make_fracture(make_patient(mrn=f"DEL{n}"), level="L1")
        for kind in ("1m", "3m", "6m"):
            visit = _visit(fracture, kind, user)
            visits.append(visit.pk)
            visit.delete()
        if n >= 1:
            fracture.delete()
        if n == 2:
            fracture.patient.delete()
    return visits


def test_a_page_of_deleted_visits_names_each_through_live_or_deleted_parents_in_six_queries(
    deleted_visits, django_assert_max_num_queries
):
    with django_assert_max_num_queries(6):
        page = selectors.deleted_records_page(Visit, None)
        records = list(page.object_list)
    assert len(records) == 9
    texts = sorted(record.text for record in records)
    assert texts[0] == "DEL0 L1 2025-03-10 · 1 month visit 2025-04-10"
    assert texts[-1] == "DEL2 L1 2025-03-10 · 6 months visit 2025-04-10"
    assert {record.deleted_by for record in records} == {"system"}  # deleted outside a request
    assert records[0].history_url == f"/visits/{deleted_visits[-1]}/history/"  # the latest first


def test_a_live_or_unknown_record_is_not_a_deleted_one(patient):
    assert selectors.deleted_record(Patient, patient.pk) is None
    assert selectors.deleted_record(Patient, 999999) is None


def test_a_deleted_record_keeps_its_last_version_in_words(patient, make_fracture):
    fracture = make_fracture(patient)
    pk = fracture.pk
    fracture.delete()
    record = selectors.deleted_record(Fracture, pk)
    fields = dict(record.last_version)
    assert record.text == "MRN001 T11 2025-03-10"
    assert (fields["Patient"], fields["Level"], fields["BMD T-score"], fields["Total score"]) == (
        "MRN001",
        "T11",
        "−3.6",
        "10",
    )
    assert "Record number" not in fields and "Version" not in fields  # bookkeeping stays out, as in the history
