"""The import's forms (scoring/forms/imported.py): the pages' rules for every value a table carries,
and RowChecker, which checks row after row with one form, says what a new form would."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.forms import AssessmentForm, VisitForm
from scoring.forms.imported import (
    ImportedAssessmentForm,
    ImportedPatientForm,
    ImportedTreatmentChangeForm,
    ImportedVisitForm,
    RowChecker,
)
from scoring.models import Fracture, Patient, Visit
from tests.conftest import SECOND_CASE

PATIENT = Patient(mrn="P1", sex="F", date_of_birth=datetime.date(1948, 5, 1))
FRACTURE = Fracture(
    patient=PATIENT,
    assessment_date=datetime.date(2025, 1, 6),
    treatment_start_date=datetime.date(2025, 1, 6),
    kyphosis_angle_deg=14,
    vhl_percent=20,
)

# Values a spreadsheet cell may hold for each field: valid ones, edge ones and wrong ones.
NUMBERS = st.sampled_from(["", "0", "14.9", "14.95", "15", "-2.55", "-3.6", "101", "abc", "1e3", "-8.2", "7.04"])
DATES = st.sampled_from(
    ["", "2025-01-06", "2025-02-05", "2025-04-08", "2025-07-05", "31/12/2024", "2025-02-30", "1899-12-31"]
)
ASSESSMENTS = st.fixed_dictionaries(
    {
        "assessment_date": DATES,
        "injury_date": DATES,
        "level": st.sampled_from(["", "T11", "L1", "L6"]),
        "low_energy_trauma": st.sampled_from(["", "yes", "no", "maybe"]),
        "fracture_type": st.sampled_from(["", "compression", "burst", "wedge"]),
        "vhl_percent": NUMBERS,
        "kyphosis_angle_deg": NUMBERS,
        "second_vhl_percent": NUMBERS,
        "second_kyphosis_angle_deg": NUMBERS,
        "t2_signal": st.sampled_from(["", "diffuse_low", "confined_high", "x"]),
        "bmd_t_score": NUMBERS,
        "treatment": st.sampled_from(["", "conservative", "kyphoplasty"]),
        "first_reader_name": st.sampled_from(["", "Dr A"]),
        "second_reader_name": st.sampled_from(["", "Dr B"]),
    }
)
VISITS = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(["1m", "3m", "6m", "unscheduled"]),
        "visit_date": DATES,
        "vas_pain": NUMBERS,
        "odi_percent": NUMBERS,
        "kyphosis_angle_deg": NUMBERS,
        "vhl_percent": NUMBERS,
        "bone_union": st.sampled_from(["", "united", "non_union"]),
        "vacuum_cleft_mri": st.sampled_from(["true", "false"]),
        "second_kyphosis_angle_deg": NUMBERS,
        "second_reader_name": st.sampled_from(["", "Dr B"]),
    }
)

PATIENTS = st.fixed_dictionaries(
    {
        "mrn": st.sampled_from(["", "P1", " ab-12 ", "AB CD!", "X" * 70]),
        "sex": st.sampled_from(["", "F", "M", "x"]),
        "date_of_birth": DATES,
    },
    optional={"name": st.sampled_from(["", "Lin Mei", "  ", "A\u200b", "N" * 300])},  # a column left out
)
CHANGES = st.fixed_dictionaries(
    {
        "treatment": st.sampled_from(["", "conservative", "kyphoplasty", "vertebroplasty", "x"]),
        "changed_on": DATES,
        "reason": st.sampled_from(["", "pain", "  ", "R" * 600]),
    }
)


def outcome(form) -> tuple:
    """What a check says: the errors (in order, with their codes), and the record the form builds
    when valid."""
    errors = list(form.errors.get_json_data().items())
    if errors:
        return errors, None
    record = form.save(commit=False)
    fields = [field.attname for field in record._meta.concrete_fields]
    return errors, {name: getattr(record, name) for name in fields}


def checked(form) -> tuple:
    """What a check says, and the cleaned data it leaves (a number's digits too)."""
    return *outcome(form), repr(sorted(form.cleaned_data.items()))


ASSESSMENT_CHECKER = RowChecker(ImportedAssessmentForm, patient=PATIENT)
VISIT_CHECKER = RowChecker(ImportedVisitForm, fracture=FRACTURE)
PATIENT_CHECKER = RowChecker(ImportedPatientForm)
CHANGE_CHECKER = RowChecker(ImportedTreatmentChangeForm, fracture=FRACTURE)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(ASSESSMENTS, min_size=1, max_size=4))
def test_a_row_checker_says_what_a_new_assessment_form_says(rows):
    for data in rows:
        assert checked(ASSESSMENT_CHECKER.check(data, patient=PATIENT)) == checked(
            ImportedAssessmentForm(data, patient=PATIENT)
        )


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(VISITS, min_size=1, max_size=4))
def test_a_row_checker_says_what_a_new_visit_form_says(rows):
    for data in rows:
        assert checked(VISIT_CHECKER.check(data, fracture=FRACTURE)) == checked(
            ImportedVisitForm(data, fracture=FRACTURE)
        )


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(PATIENTS, min_size=1, max_size=4))
def test_a_row_checker_says_what_a_new_patient_form_says(rows):
    for data in rows:
        assert checked(PATIENT_CHECKER.check(data)) == checked(ImportedPatientForm(data))


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(CHANGES, min_size=1, max_size=4))
def test_a_row_checker_says_what_a_new_treatment_change_form_says(rows):
    """A plain form (no record): its errors and cleaned data."""
    for data in rows:
        checked = CHANGE_CHECKER.check(data, fracture=FRACTURE, instance=FRACTURE)
        new = ImportedTreatmentChangeForm(data, fracture=FRACTURE)
        assert (checked.is_valid(), checked.errors, checked.cleaned_data) == (
            new.is_valid(),
            new.errors,
            new.cleaned_data,
        )


def test_a_row_checker_refuses_a_form_it_cannot_check_the_same_way():
    """Its steps are worked out ahead for forms without prefix, disabled or file fields: another
    form is refused when the checker is made, not checked differently."""
    with pytest.raises(TypeError, match="prefix"):
        RowChecker(ImportedPatientForm, prefix="p")

    class Disabled(ImportedPatientForm):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.fields["sex"].disabled = True

    with pytest.raises(TypeError, match="disabled"):
        RowChecker(Disabled)

    class OwnExclusions(ImportedPatientForm):
        def _get_validation_exclusions(self):
            return super()._get_validation_exclusions()

    with pytest.raises(TypeError, match="_get_validation_exclusions"):
        RowChecker(OwnExclusions)


def test_a_row_checker_refuses_a_model_with_its_own_checks(monkeypatch):
    """A model's own full_clean (or clean_fields, validate_constraints) would not run: refused."""
    monkeypatch.setattr(Patient, "full_clean", lambda self, *args, **kwargs: None, raising=False)
    with pytest.raises(TypeError, match=r"Patient\.full_clean"):
        RowChecker(ImportedPatientForm)


@settings(max_examples=40, deadline=None)
@given(data=ASSESSMENTS)
def test_the_import_form_applies_the_page_forms_rules_to_every_value_it_carries(data):
    """The page's form (with its hidden fields and the ODI's sections left empty) and the import's
    form give the same errors and the same record."""
    assert outcome(ImportedAssessmentForm(data, patient=PATIENT)) == outcome(AssessmentForm(data, patient=PATIENT))


@settings(max_examples=40, deadline=None)
@given(data=VISITS)
def test_the_import_visit_form_applies_the_page_forms_rules(data):
    assert outcome(ImportedVisitForm(data, fracture=FRACTURE)) == outcome(VisitForm(data, fracture=FRACTURE))


@pytest.mark.django_db
def test_checking_new_records_reads_nothing_from_the_database():
    with CaptureQueriesContext(connection) as queries:
        form = ASSESSMENT_CHECKER.check(SECOND_CASE, patient=PATIENT)
        assert form.is_valid(), form.errors
        fracture = form.save()
        visit = VISIT_CHECKER.check({"kind": "1m", "visit_date": "2025-04-09", "vas_pain": "4"}, fracture=fracture)
        assert visit.is_valid(), visit.errors
    assert len(queries) == 0


def test_a_row_checker_keeps_a_numbers_digits_as_given():
    """The record's own checks remember a value's answer by its text: 2.50 after 2.5 stays 2.50."""
    first = ASSESSMENT_CHECKER.check({**SECOND_CASE, "bmd_t_score": "-2.5"}, patient=PATIENT)
    assert str(first.save().bmd_t_score) == "-2.5"
    second = ASSESSMENT_CHECKER.check({**SECOND_CASE, "bmd_t_score": "-2.50"}, patient=PATIENT)
    assert str(second.save().bmd_t_score) == str(
        ImportedAssessmentForm({**SECOND_CASE, "bmd_t_score": "-2.50"}, patient=PATIENT).save().bmd_t_score
    )


def test_a_row_checkers_record_keeps_nothing_of_the_check():
    """The record a checker builds is kept (pickled) for the import to write: no check is left on it."""
    import pickle

    form = VISIT_CHECKER.check({"kind": "1m", "visit_date": "2025-02-05", "vas_pain": "4"}, fracture=FRACTURE)
    assert form.is_valid(), form.errors
    visit = form.save()
    assert set(vars(visit)) == {field.attname for field in Visit._meta.concrete_fields} | {"_state"}
    assert pickle.loads(pickle.dumps(visit)).vas_pain == 4


def test_a_row_checker_reports_a_records_own_error_again_for_the_same_value():
    """A remembered error of the record's own checks (the model's MRN rule, which the form's field
    does not carry) is raised again, each time, for the value that had it."""
    checker = RowChecker(ImportedPatientForm)
    data = {"mrn": "AB CD!", "sex": "F", "date_of_birth": "1950-01-01"}
    for _ in range(2):
        form = checker.check(data)
        assert checked(form) == checked(ImportedPatientForm(data))
        assert [error.code for error in form.errors.as_data()["mrn"]] == ["invalid_mrn"]
    assert checker.check({**data, "mrn": "AB-12"}).is_valid()


@pytest.mark.parametrize("model", [Patient, Fracture, Visit])
def test_a_row_checkers_blank_record_is_what_the_model_makes(model):
    from scoring.forms.imported import _BlankRecords

    blank = _BlankRecords(model)
    made, new = blank(), model()
    assert blank.plain  # no listener, no __init__ of its own: the fast way is the one tested
    assert {k: v for k, v in vars(made).items() if k != "_state"} == {
        k: v for k, v in vars(new).items() if k != "_state"
    }
    assert made._state.adding and made._state.db is None
    for name, _ in blank.mutable:  # a list or dict default is each record's own
        assert getattr(made, name) is not getattr(blank(), name)


def test_a_blank_record_is_made_by_the_model_when_something_listens(monkeypatch):
    from django.db.models.signals import post_init

    from scoring.forms.imported import _BlankRecords

    seen = []

    def listener(sender, instance, **kwargs):
        seen.append(instance)

    post_init.connect(listener, sender=Visit)
    try:
        made = _BlankRecords(Visit)()
    finally:
        post_init.disconnect(listener, sender=Visit)
    assert seen[-1] is made
