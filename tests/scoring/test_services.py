"""The services: every write owns its transaction, scores once, and keeps what is derived in step
(the course, the expected visits). Called directly, without HTTP."""

import datetime
from decimal import Decimal

import pytest
from django.http import QueryDict
from django.utils import timezone

from scoring import rules, services
from scoring.forms import AssessmentForm, PatientForm, TreatmentChangeForm
from scoring.models import ExpectedVisit, Fracture, Patient, Visit

pytestmark = pytest.mark.django_db


def _query(**values) -> QueryDict:
    data = QueryDict(mutable=True)
    for name, value in values.items():
        data[name] = value
    return data


@pytest.fixture
def count_scores(monkeypatch):
    calls = []
    real = rules.score

    def counting(inputs):
        calls.append(inputs)
        return real(inputs)

    monkeypatch.setattr(rules, "score", counting)
    return calls


def test_saving_an_assessment_scores_it_once(patient, second_case, user, count_scores):
    form = AssessmentForm(second_case, patient=patient)
    assert form.is_valid(), form.errors
    fracture = services.save_assessment(form=form, user=user)
    assert len(count_scores) == 1
    fracture.refresh_from_db()
    assert (fracture.total_score, fracture.risk_group, fracture.created_by) == (10, "high", user)
    assert fracture.expected_visits.count() == 3  # conservative care: its three scheduled visits


def test_an_assessment_is_scored_with_the_age_the_patient_has_when_it_is_saved(patient, second_case, user):
    form = AssessmentForm(second_case, patient=patient)
    assert form.is_valid()
    # The date of birth is corrected while the form is open: the save scores the stored one.
    type(patient).objects.filter(pk=patient.pk).update(date_of_birth=datetime.date(1970, 1, 1))
    fracture = services.save_assessment(form=form, user=user)
    assert fracture.age_at_assessment == 55
    assert "age_below_inclusion" in [warning["code"] for warning in fracture.population_warnings]


def test_a_corrected_date_of_birth_rescores_every_assessment_and_raises_its_version(patient, make_fracture, user):
    fracture = make_fracture(patient)
    form = PatientForm(
        {"mrn": patient.mrn, "name": patient.name, "sex": "F", "date_of_birth": "1970-01-01", "version": "1"},
        instance=patient,
    )
    assert form.is_valid(), form.errors
    services.update_patient(form=form, user=user)
    fracture.refresh_from_db()
    assert fracture.age_at_assessment == 55 and fracture.version == 2
    assert fracture.history.count() == 2  # the rescore is in the audit trail


def test_archiving_a_patient_takes_every_fracture_off_the_worklist_and_restoring_puts_them_back(
    patient, make_fracture, user
):
    first, second = make_fracture(patient), make_fracture(patient, level="L1")
    assert ExpectedVisit.objects.filter(fracture__in=[first, second]).count() == 6
    archived = services.set_archived(record=patient, archived=True, user=user)
    assert archived.is_archived and archived.version == 2
    assert not ExpectedVisit.objects.exists()
    services.set_archived(record=patient, archived=False, user=user)
    assert ExpectedVisit.objects.count() == 6


def test_a_treatment_change_removes_the_expected_visits(patient, make_fracture, user):
    fracture = make_fracture(patient)
    form = TreatmentChangeForm(
        {"treatment": "kyphoplasty", "changed_on": "2025-04-01", "version": "1"}, fracture=fracture
    )
    assert form.is_valid(), form.errors
    services.change_treatment(form=form, user=user)
    fracture.refresh_from_db()
    assert fracture.treatment_changed_to == "kyphoplasty"
    assert not fracture.expected_visits.exists()


def test_a_visit_saves_with_its_differences_and_refreshes_the_course(patient, make_fracture, user):
    fracture = make_fracture(patient)  # KA 19.6° pretreatment, started 2025-03-10
    form, visit = services.save_visit(
        fracture_id=fracture.pk,
        visit=None,
        user=user,
        data=_query(kind="6m", visit_date="2025-09-10", kyphosis_angle_deg="31.0"),
    )
    assert visit is not None, form.errors
    assert visit.kyphosis_difference_deg == Decimal("11.4")
    fracture.refresh_from_db()
    assert fracture.progressive_kyphosis is True
    assert fracture.expected_visits.get(kind="6m").visit_id == visit.pk
    assert visit.history.count() == 1  # saved once, with its outcomes


def test_a_visit_based_on_an_old_version_is_refused_and_nothing_is_written(patient, make_fracture, user):
    fracture = make_fracture(patient)
    _, visit = services.save_visit(
        fracture_id=fracture.pk,
        visit=None,
        user=user,
        data=_query(kind="unscheduled", visit_date="2025-04-01", vas_pain="5"),
    )
    Visit.objects.filter(pk=visit.pk).update(version=2)  # somebody else saved it meanwhile
    form, saved = services.save_visit(
        fracture_id=fracture.pk,
        visit=Visit.objects.get(pk=visit.pk),
        user=user,
        data=_query(kind="unscheduled", visit_date="2025-04-01", vas_pain="7", version="1"),
    )
    assert saved is None and "Not saved" in str(form.non_field_errors())
    assert Visit.objects.get(pk=visit.pk).vas_pain == Decimal("5.0")


def test_an_invalid_visit_writes_nothing(patient, make_fracture, user):
    fracture = make_fracture(patient)
    form, saved = services.save_visit(
        fracture_id=fracture.pk, visit=None, user=user, data=_query(kind="1m", visit_date="2025-03-01", vas_pain="5")
    )
    assert saved is None and form.errors["visit_date"]
    assert not Visit.objects.exists()


def test_refresh_all_expected_visits_follows_new_settings(patient, make_fracture, settings):
    fracture = make_fracture(patient, assessment_date=timezone.localdate())
    settings.NASOVCF_WORKLIST_OVERDUE_DAYS = 10
    assert services.refresh_all_expected_visits() == Fracture.objects.count()
    six = fracture.expected_visits.get(kind="6m")
    assert six.listed_until == six.window_closes + datetime.timedelta(days=10)


def test_forms_refuse_to_save_without_the_services(patient, second_case):
    form = AssessmentForm(second_case, patient=patient)
    assert form.is_valid()
    with pytest.raises(ValueError, match=r"services\.save_assessment"):
        form.save(commit=True)


# -- archived records are read-only ------------------------------------------------------------------


def _count_rows():
    return (
        Fracture.objects.count(),
        Visit.objects.count(),
        Patient.history.count(),
        Fracture.history.count(),
        Visit.history.count(),
    )


@pytest.fixture
def archive(user):
    """Archive a patient or an assessment through the service, as the page's button does."""

    def archive(record):
        services.set_archived(record=record, archived=True, user=user)
        record.refresh_from_db()

    return archive


def test_an_archived_patient_is_not_edited(patient, user, archive):
    form = PatientForm(
        {"mrn": patient.mrn, "name": "Renamed", "sex": "F", "date_of_birth": "1953-06-01", "version": "1"},
        instance=patient,
    )
    assert form.is_valid(), form.errors
    archive(patient)  # archived while the form was open
    before = _count_rows()
    with pytest.raises(services.ArchivedRecord, match=r"Patient MRN001 is archived: restore it first"):
        services.update_patient(form=form, user=user)
    assert Patient.objects.get(pk=patient.pk).name == "Test Patient"
    assert _count_rows() == before


def test_no_new_assessment_for_an_archived_patient(patient, second_case, user, archive):
    form = AssessmentForm(second_case, patient=patient)
    assert form.is_valid(), form.errors
    archive(patient)
    before = _count_rows()
    with pytest.raises(services.ArchivedRecord) as refused:
        services.save_assessment(form=form, user=user)
    assert refused.value.record.pk == patient.pk
    assert _count_rows() == before


@pytest.mark.parametrize("archived", ["patient", "fracture"])
def test_an_archived_assessment_or_one_of_an_archived_patient_is_not_edited(
    patient, make_fracture, second_case, user, archive, archived
):
    fracture = make_fracture(patient)
    form = AssessmentForm({**second_case, "bmd_t_score": "-1.0", "version": "1"}, instance=fracture, patient=patient)
    assert form.is_valid(), form.errors
    archive(patient if archived == "patient" else fracture)
    before = _count_rows()
    with pytest.raises(services.ArchivedRecord, match="is archived: restore it first to change it"):
        services.save_assessment(form=form, user=user)
    assert Fracture.objects.get(pk=fracture.pk).bmd_t_score == Decimal("-3.6")
    assert _count_rows() == before


@pytest.mark.parametrize("archived", ["patient", "fracture"])
def test_no_treatment_change_on_an_archived_record(patient, make_fracture, user, archive, archived):
    fracture = make_fracture(patient)
    form = TreatmentChangeForm(
        {"treatment": "kyphoplasty", "changed_on": "2025-04-01", "version": "1"}, fracture=fracture
    )
    assert form.is_valid(), form.errors
    archive(patient if archived == "patient" else fracture)
    before = _count_rows()
    with pytest.raises(services.ArchivedRecord):
        services.change_treatment(form=form, user=user)
    assert Fracture.objects.get(pk=fracture.pk).treatment_changed_to == ""
    assert _count_rows() == before


@pytest.mark.parametrize("archived", ["patient", "fracture"])
def test_no_visit_recorded_or_edited_on_an_archived_record(patient, make_fracture, user, archive, archived):
    fracture = make_fracture(patient)
    _, visit = services.save_visit(
        fracture_id=fracture.pk, visit=None, user=user, data=_query(kind="1m", visit_date="2025-04-10", vas_pain="5")
    )
    assert visit is not None
    archive(patient if archived == "patient" else fracture)
    before = _count_rows()
    with pytest.raises(services.ArchivedRecord):
        services.save_visit(
            fracture_id=fracture.pk,
            visit=None,
            user=user,
            data=_query(kind="unscheduled", visit_date="2025-05-01", vas_pain="4"),
        )
    with pytest.raises(services.ArchivedRecord):
        services.save_visit(
            fracture_id=fracture.pk,
            visit=Visit.objects.get(pk=visit.pk),
            user=user,
            data=_query(kind="1m", visit_date="2025-04-10", vas_pain="2", version="1"),
        )
    assert Visit.objects.get(pk=visit.pk).vas_pain == Decimal("5.0")
    assert _count_rows() == before


def test_a_restored_record_takes_changes_again(patient, make_fracture, user, archive):
    fracture = make_fracture(patient)
    archive(fracture)
    services.set_archived(record=fracture, archived=False, user=user)
    fracture.refresh_from_db()
    form = TreatmentChangeForm(
        {"treatment": "kyphoplasty", "changed_on": "2025-04-01", "version": str(fracture.version)}, fracture=fracture
    )
    assert form.is_valid(), form.errors
    services.change_treatment(form=form, user=user)
    assert Fracture.objects.get(pk=fracture.pk).treatment_changed_to == "kyphoplasty"


# -- a treatment start past the calendar's end, written behind the forms' back ----------------------


def test_a_start_past_the_calendars_end_has_no_expected_visits_instead_of_an_overflow(patient, make_fracture, user):
    fracture = make_fracture(patient)
    assert fracture.expected_visits.count() == 3
    Fracture.objects.filter(pk=fracture.pk).update(treatment_start_date=datetime.date(9999, 12, 1))
    # What an admin runs after changing the windows; archiving and restoring re-sync it too.
    assert services.refresh_all_expected_visits() == 1
    assert not ExpectedVisit.objects.filter(fracture=fracture).exists()
    services.set_archived(record=Fracture.objects.get(pk=fracture.pk), archived=True, user=user)
    services.set_archived(record=Fracture.objects.get(pk=fracture.pk), archived=False, user=user)
    assert not ExpectedVisit.objects.filter(fracture=fracture).exists()


def test_a_visit_on_a_start_past_the_calendars_end_is_refused_by_its_form(patient, make_fracture, user):
    fracture = make_fracture(patient)
    Fracture.objects.filter(pk=fracture.pk).update(treatment_start_date=datetime.date(9999, 12, 1))
    form, saved = services.save_visit(
        fracture_id=fracture.pk, visit=None, user=user, data=_query(kind="1m", visit_date="2025-04-10", vas_pain="5")
    )
    assert saved is None
    assert [error.code for error in form.non_field_errors().as_data()] == ["schedule_out_of_range"]
    assert not Visit.objects.exists()
