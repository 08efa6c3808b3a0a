"""The cohort read from the database: which fractures enter the analyses."""

import datetime

import pytest

from cohort import data
from scoring.models import Fracture

pytestmark = pytest.mark.django_db


def test_a_treatment_change_after_the_six_month_outcome_keeps_the_fracture_in_the_cohort(make_patient, make_fracture):
    fracture = make_fracture(make_patient(mrn="AUG1"))
    Fracture.objects.filter(pk=fracture.pk).update(
        non_union=True,
        non_union_on=datetime.date(2025, 9, 10),
        progressive_kyphosis=False,
        progressive_kyphosis_on=datetime.date(2025, 9, 10),
        treatment_changed_to="kyphoplasty",
        treatment_changed_on=datetime.date(2025, 10, 1),
    )
    frame = data.read(data.CohortFilter(), data.ANALYSIS_COLUMNS)
    assert frame["exclusion"].tolist() == [""]
    Fracture.objects.filter(pk=fracture.pk).update(treatment_changed_on=datetime.date(2025, 5, 1))
    frame = data.read(data.CohortFilter(), data.ANALYSIS_COLUMNS)
    assert frame["exclusion"].tolist() == ["changed"]


def reasons() -> dict[int, str]:
    frame = data.read(data.CohortFilter(), data.ANALYSIS_COLUMNS)
    labels = dict(data.EXCLUSIONS)
    return {row.id: labels.get(row.exclusion, "") for row in frame.itertuples()}


def test_a_treatment_change_before_any_six_month_outcome_is_the_reason_not_the_missing_union(
    signed_in, make_patient, make_fracture
):
    """Conservative care abandoned at 3 weeks: no 6-month visit will ever be conservative care's,
    so the reason is the change, not "no union assessment at 6 months yet"."""
    fracture = make_fracture(make_patient(mrn="CHG1"))
    response = signed_in.post(
        f"/assessments/{fracture.pk}/treatment-change/",
        {"treatment": "kyphoplasty", "changed_on": "2025-04-01", "version": "1"},
    )
    assert response.status_code == 302
    fracture.refresh_from_db()
    assert (fracture.treatment_changed_to, fracture.non_union, fracture.non_union_on) == ("kyphoplasty", None, None)
    assert reasons() == {fracture.pk: "treatment changed"}


def test_a_treatment_change_after_one_outcome_but_before_the_other_is_still_a_change(make_patient, make_fracture):
    fracture = make_fracture(make_patient(mrn="CHG2"))
    Fracture.objects.filter(pk=fracture.pk).update(
        progressive_kyphosis=False,
        progressive_kyphosis_on=datetime.date(2025, 9, 10),
        treatment_changed_to="vertebroplasty",
        treatment_changed_on=datetime.date(2025, 10, 1),
    )  # kyphosis seen at 6 months, union never assessed before the change
    assert reasons() == {fracture.pk: "treatment changed"}


def test_a_fracture_treated_otherwise_from_the_start_is_not_conservative_care(make_patient, make_fracture):
    fracture = make_fracture(make_patient(mrn="VP1"), treatment="vertebroplasty")
    assert reasons() == {fracture.pk: "not conservative care"}


def test_missing_outcomes_of_conservative_care_keep_their_own_reasons(make_patient, make_fracture):
    waiting = make_fracture(make_patient(mrn="W1"))
    no_film = make_fracture(make_patient(mrn="W2"))
    Fracture.objects.filter(pk=no_film.pk).update(non_union=False, non_union_on=datetime.date(2025, 9, 10))
    assert reasons() == {waiting.pk: "no union assessment at 6 months yet", no_film.pk: "no film at 6 months yet"}
