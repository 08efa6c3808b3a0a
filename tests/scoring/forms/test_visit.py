"""VisitForm's cross-field clinical rules (scoring/forms/visit.py, spec §3), on the form itself:
the visit's date against the assessment, the treatment and the schedule, bone union and its
evidence, and a visit with nothing recorded."""

import datetime
from decimal import Decimal

import pytest

from scoring.forms import VisitForm
from scoring.models import Visit
from tests.scoring.forms.conftest import error_codes

pytestmark = pytest.mark.django_db

D = Decimal

# case_two is assessed and treated from 2025-03-10: its 1-month window opens 2025-04-02, the
# 3-month one 2025-05-25 and the 6-month one 2025-08-07 (bone union is assessed from then on).


def visit_form(fracture, instance=None, **data):
    return VisitForm(data, fracture=fracture, instance=instance)


def test_a_visit_with_a_finding_in_its_window_is_valid(case_two):
    form = visit_form(case_two, kind="1m", visit_date="2025-04-10", vas_pain="5")
    assert form.is_valid(), form.errors


def test_a_visit_before_the_assessment_is_refused(case_two):
    # Treatment starts on the assessment day at the earliest, so this is before it too.
    form = visit_form(case_two, kind="unscheduled", visit_date="2025-03-09", vas_pain="5")
    assert error_codes(form) == {"visit_date": ["before_assessment", "before_treatment"]}


def test_a_visit_before_treatment_starts_is_refused(make_patient, make_fracture):
    fracture = make_fracture(make_patient(mrn="LATESTART"), treatment_start_date=datetime.date(2025, 3, 20))
    form = visit_form(fracture, kind="unscheduled", visit_date="2025-03-15", vas_pain="3")
    assert error_codes(form) == {"visit_date": ["before_treatment"]}


@pytest.mark.parametrize(
    ("kind", "visit_date", "codes"),
    [
        ("1m", "2025-04-01", {"visit_date": ["outside_window"]}),  # the day before its window opens
        ("1m", "2025-04-02", {}),
        ("1m", "2025-05-24", {}),  # the day before the 3-month window opens
        ("1m", "2025-05-25", {"visit_date": ["outside_window"]}),
        ("6m", "2025-08-06", {"visit_date": ["outside_window"]}),
        ("6m", "2026-08-07", {}),  # the last visit has no later window to give way to
        ("unscheduled", "2025-03-11", {}),  # an unscheduled visit has no window
    ],
)
def test_a_scheduled_visit_is_dated_from_its_window_until_the_next_one_opens(case_two, kind, visit_date, codes):
    form = visit_form(case_two, kind=kind, visit_date=visit_date, vas_pain="3")
    assert error_codes(form) == codes


def test_the_same_scheduled_visit_cannot_be_recorded_twice_but_can_be_edited(case_two, user):
    recorded = Visit.objects.create(
        fracture=case_two,
        kind="1m",
        visit_date=datetime.date(2025, 4, 10),
        vas_pain=D(6),
        created_by=user,
        updated_by=user,
    )
    assert error_codes(visit_form(case_two, kind="1m", visit_date="2025-04-12", vas_pain="5")) == {
        "kind": ["duplicate_visit"]
    }
    assert visit_form(case_two, instance=recorded, kind="1m", visit_date="2025-04-12", vas_pain="5").is_valid()


@pytest.mark.parametrize(
    ("kind", "visit_date", "codes"),
    [
        ("3m", "2025-06-10", {"bone_union": ["union_too_early"]}),
        ("unscheduled", "2025-08-06", {"bone_union": ["union_too_early"]}),  # whatever the kind, by its date
        ("unscheduled", "2025-08-07", {}),
        ("6m", "2025-09-10", {}),
    ],
)
def test_bone_union_is_assessed_from_the_six_month_window_on(case_two, kind, visit_date, codes):
    form = visit_form(case_two, kind=kind, visit_date=visit_date, bone_union="united")
    assert error_codes(form) == codes


def test_a_non_union_needs_its_evidence(case_two):
    form = visit_form(case_two, kind="6m", visit_date="2025-09-10", bone_union="non_union")
    assert error_codes(form) == {"bone_union": ["non_union_without_evidence"]}


@pytest.mark.parametrize("evidence", ["vacuum_cleft_mri", "vacuum_cleft_ct", "anterior_height_change"])
def test_any_one_piece_of_evidence_supports_a_non_union(case_two, evidence):
    form = visit_form(case_two, kind="6m", visit_date="2025-09-10", bone_union="non_union", **{evidence: "on"})
    assert form.is_valid(), form.errors


@pytest.mark.parametrize("union", ["united", "not_assessed", ""])
def test_evidence_of_non_union_goes_with_a_non_union_only(case_two, union):
    form = visit_form(
        case_two,
        kind="6m",
        visit_date="2025-09-10",
        vas_pain="3",
        bone_union=union,
        vacuum_cleft_ct="on",
        anterior_height_change="on",
    )
    assert error_codes(form) == {
        "vacuum_cleft_ct": ["evidence_without_non_union"],
        "anterior_height_change": ["evidence_without_non_union"],
    }


def test_a_visit_recording_nothing_is_refused(case_two):
    form = visit_form(case_two, kind="1m", visit_date="2025-04-10", notes="seen")
    assert error_codes(form) == {"__all__": ["empty_visit"]}


def test_films_are_optional_at_a_visit_but_not_both_ways_at_once(case_two):
    heights = {
        "fractured_anterior_mm": "20",
        "fractured_posterior_mm": "30",
        "cranial_anterior_mm": "30",
        "cranial_posterior_mm": "30",
        "caudal_anterior_mm": "30",
        "caudal_posterior_mm": "30",
    }
    assert visit_form(case_two, kind="1m", visit_date="2025-04-10", vas_pain="5").is_valid()  # no VHL needed
    form = visit_form(case_two, kind="1m", visit_date="2025-04-10", vhl_percent="20", **heights)
    assert error_codes(form) == {"vhl_percent": ["vhl_both"]}


def test_odi_typed_and_scored_from_sections_at_a_visit_is_refused(case_two):
    form = visit_form(case_two, kind="1m", visit_date="2025-04-10", odi_percent="40", odi_section_1="2")
    assert error_codes(form) == {"odi_percent": ["odi_both"]}


@pytest.mark.parametrize("kind", ["1m", "6m", "unscheduled"])
def test_a_stored_start_past_the_calendars_end_is_an_error_not_an_overflow(case_two, kind):
    """A start date written behind the forms' back (9999-12-01): the schedule's dates would fall in
    year 10000. The form says so instead of failing with an OverflowError."""
    type(case_two).objects.filter(pk=case_two.pk).update(treatment_start_date=datetime.date(9999, 12, 1))
    case_two.refresh_from_db()
    form = visit_form(case_two, kind=kind, visit_date="2025-09-10", vas_pain="5", bone_union="united")
    assert error_codes(form) == {"__all__": ["schedule_out_of_range"]}
    assert "treatment start date, 9999-12-01, is too far ahead" in form.non_field_errors()[0]
