"""PatientForm's rules across records (scoring/forms/patient.py), on the form itself: the date of
birth against the patient's assessments, and the MRN against every other patient."""

import datetime

import pytest

from scoring.forms import PatientForm
from tests.scoring.forms.conftest import error_codes

pytestmark = pytest.mark.django_db


def data(patient, **changes):
    return {
        "mrn": patient.mrn,
        "name": patient.name,
        "sex": patient.sex,
        "date_of_birth": patient.date_of_birth.isoformat(),
        **changes,
    }


@pytest.mark.parametrize(
    ("date_of_birth", "codes"),
    [
        ("2025-03-10", {}),  # born on the day of the assessment: odd, but not a contradiction
        ("2025-03-11", {"date_of_birth": ["after_assessment"]}),
    ],
)
def test_the_date_of_birth_cannot_come_after_an_existing_assessment(patient, make_fracture, date_of_birth, codes):
    make_fracture(patient)  # assessed on 2025-03-10
    form = PatientForm(data(patient, date_of_birth=date_of_birth), instance=patient)
    assert error_codes(form) == codes


def test_the_earliest_assessment_is_the_one_that_counts(patient, make_fracture):
    make_fracture(patient)
    make_fracture(patient, assessment_date=datetime.date(2020, 1, 5), injury_date=None)
    form = PatientForm(data(patient, date_of_birth="2021-01-01"), instance=patient)
    assert error_codes(form) == {"date_of_birth": ["after_assessment"]}
    assert "2020-01-05" in form.errors["date_of_birth"][0]


def test_an_mrn_that_differs_only_in_case_and_spaces_is_already_taken(patient):
    form = PatientForm({"mrn": f" {patient.mrn.lower()} ", "sex": "M", "date_of_birth": "1950-01-01"})
    assert error_codes(form) == {"mrn": ["unique"]}


def test_a_patient_keeps_its_own_mrn_when_edited(patient):
    form = PatientForm(data(patient, mrn=patient.mrn.lower(), name="Renamed"), instance=patient)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["mrn"] == "MRN001"
