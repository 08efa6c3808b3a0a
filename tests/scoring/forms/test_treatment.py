"""TreatmentChangeForm's rule (scoring/forms/treatment.py, spec §3), on the form itself: conservative
care is abandoned after it started, never before."""

import datetime

import pytest

from scoring.forms import TreatmentChangeForm
from tests.scoring.forms.conftest import error_codes

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("changed_on", "codes"),
    [
        ("2025-03-09", {"changed_on": ["before_start"]}),
        ("2025-03-10", {}),  # abandoned on the day it started
    ],
)
def test_a_treatment_change_cannot_predate_the_start_of_treatment(case_two, changed_on, codes):
    # case_two's conservative care started on 2025-03-10.
    form = TreatmentChangeForm({"treatment": "kyphoplasty", "changed_on": changed_on}, fracture=case_two)
    assert error_codes(form) == codes


def test_the_change_is_measured_from_a_later_treatment_start(make_patient, make_fracture):
    fracture = make_fracture(make_patient(mrn="LATESTART"), treatment_start_date=datetime.date(2025, 3, 20))
    form = TreatmentChangeForm({"treatment": "vertebroplasty", "changed_on": "2025-03-15"}, fracture=fracture)
    assert error_codes(form) == {"changed_on": ["before_start"]}
