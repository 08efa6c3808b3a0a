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
