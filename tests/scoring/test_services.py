"""The services: every write owns its transaction, scores once, and keeps what is derived in step
(the course, the expected visits). Called directly, without HTTP."""

import datetime
from decimal import Decimal

import pytest
from django.http import QueryDict
from django.utils import timezone

from scoring import rules, services
from scoring.forms import AssessmentForm, PatientForm, TreatmentChangeForm
from scoring.models import ExpectedVisit, Fracture, Visit

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
