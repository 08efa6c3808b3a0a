"""A patient's page answers a clinician's first questions (issue 11): how old the patient is
today, where each fracture's care stands (its course, its outcome so far, its next visit), and
the fractures in time order, so a second fracture a year after the first stands out."""

import datetime
import re

import pytest
from django.utils import timezone

from scoring.measurements import age_in_years
from scoring.models import Fracture
from tests.conftest import started
from tests.scoring.views.conftest import text

pytestmark = pytest.mark.django_db


def field(page: str, fracture, name: str) -> str:
    """One summary line of one fracture, its tags stripped."""
    card = page.split(f'data-fracture="{fracture.pk}"')[1].split("</li>")[0]
    value = card.split(f'data-testid="{name}">')[1].split("</dd>")[0]
    return re.sub(r"<[^>]+>", "", value)


def test_the_page_shows_the_age_today(signed_in, patient):
    page = text(signed_in.get(patient.get_absolute_url()))
    age = age_in_years(datetime.date(1953, 6, 1), timezone.localdate())
    assert f"age {age} · born 1953-06-01" in page


def test_each_fracture_shows_its_course(signed_in, make_patient, make_fracture):
    conservative = started(make_patient, make_fracture, "P1", 30)
    patient = conservative.patient
    start = conservative.treatment_start_date
    surgery = make_fracture(patient, level="L1", assessment_date=start, treatment="vertebroplasty")
    changed = make_fracture(patient, level="T12", assessment_date=start)
    signed_in.post(
        f"/assessments/{changed.pk}/treatment-change/",
        {"treatment": "kyphoplasty", "changed_on": timezone.localdate().isoformat(), "version": "1"},
    )
    page = text(signed_in.get(patient.get_absolute_url()))
    assert field(page, conservative, "course") == f"Under conservative care since {start:%Y-%m-%d}"
    assert field(page, surgery, "course") == f"Not conservative: vertebroplasty from {start:%Y-%m-%d}"
    assert field(page, changed, "course") == f"Treatment changed to kyphoplasty on {timezone.localdate():%Y-%m-%d}"


def test_each_fracture_shows_its_outcome_so_far_with_dates(signed_in, patient, make_fracture):
    unknown = make_fracture(patient, level="L2", assessment_date=datetime.date(2025, 3, 12))
    kyphosis = make_fracture(patient, level="L1", assessment_date=datetime.date(2025, 3, 11))
    both = make_fracture(patient, level="T12")
    Fracture.objects.filter(pk=kyphosis.pk).update(
        progressive_kyphosis=True, progressive_kyphosis_on=datetime.date(2025, 9, 10)
    )
    Fracture.objects.filter(pk=both.pk).update(
        progressive_kyphosis=False,
        progressive_kyphosis_on=datetime.date(2025, 9, 12),
        non_union=True,
        non_union_on=datetime.date(2025, 9, 12),
    )
    page = text(signed_in.get(patient.get_absolute_url()))
    assert field(page, unknown, "outcome") == "Not known yet"
    assert field(page, kyphosis, "outcome") == "Progressive kyphosis (film of 2025-09-10); union not known yet"
    assert field(page, both, "outcome") == "No progressive kyphosis (film of 2025-09-12); Non-union (2025-09-12)"
    card = page.split(f'data-fracture="{kyphosis.pk}"')[1].split("</li>")[0]
    assert '<span class="badge flag-outcome">Progressive kyphosis (film of 2025-09-10)</span>' in card


def test_an_outcome_seen_on_a_recorded_visit_reaches_the_patient_page(signed_in, case_two):
    signed_in.post(
        f"/assessments/{case_two.pk}/visits/new/",
        {"kind": "6m", "visit_date": "2025-09-10", "kyphosis_angle_deg": "31"},
    )
    page = text(signed_in.get(case_two.patient.get_absolute_url()))
    assert field(page, case_two, "outcome").startswith("Progressive kyphosis (film of 2025-09-10)")


def test_each_fracture_shows_its_next_visit(signed_in, make_patient, make_fracture):
    due = started(make_patient, make_fracture, "DUE", 30)
    late = make_fracture(due.patient, level="L1", assessment_date=due.assessment_date - datetime.timedelta(days=15))
    surgery = make_fracture(due.patient, level="L2", treatment="vertebroplasty")
    page = text(signed_in.get(due.patient.get_absolute_url()))
    due_on = due.treatment_start_date + datetime.timedelta(days=30)
    assert field(page, due, "next-visit") == f"1 month visit, due {due_on:%Y-%m-%d}: due now or this week"
    assert field(page, late, "next-visit") == (
        f"1 month visit, due {late.treatment_start_date + datetime.timedelta(days=30):%Y-%m-%d}: overdue by 8 days"
    )
    assert field(page, surgery, "next-visit") == "None due (not under conservative care)"


def test_a_recorded_visit_moves_the_next_visit_on(signed_in, make_patient, make_fracture):
    fracture = started(make_patient, make_fracture, "NEXT", 30)
    signed_in.post(
        f"/assessments/{fracture.pk}/visits/new/",
        {"kind": "1m", "visit_date": timezone.localdate().isoformat(), "vas_pain": "4"},
    )
    page = text(signed_in.get(fracture.patient.get_absolute_url()))
    three_months = fracture.treatment_start_date + datetime.timedelta(days=90)
    assert field(page, fracture, "next-visit") == f"3 months visit, due {three_months:%Y-%m-%d}"


def test_the_fractures_over_time_put_a_second_fracture_a_year_later_in_view(signed_in, patient, make_fracture):
    first = make_fracture(patient, level="T12", assessment_date=datetime.date(2024, 3, 4))
    second = make_fracture(patient, level="L1", assessment_date=datetime.date(2025, 3, 10))
    page = text(signed_in.get(patient.get_absolute_url()))
    timeline = page.split('data-testid="fracture-timeline">')[1].split("</ol>")[0]
    assert timeline.index("2024-03-04") < timeline.index("2025-03-10")  # oldest first, unlike the cards
    assert f'href="{first.get_absolute_url()}">T12</a> · NASOVCF {first.total_score}' in timeline
    assert f'href="{second.get_absolute_url()}">L1</a> · NASOVCF {second.total_score}' in timeline
    assert "First fracture assessed" in timeline
    assert "12 months after the T12 fracture" in timeline
    assert "risk-high" in timeline  # each with its group


def test_a_single_fracture_needs_no_timeline(signed_in, patient, make_fracture):
    make_fracture(patient)
    assert 'data-testid="fracture-timeline"' not in text(signed_in.get(patient.get_absolute_url()))


def test_the_patient_page_reads_the_next_visits_in_one_query(
    signed_in, make_patient, make_fracture, django_assert_max_num_queries
):
    fracture = started(make_patient, make_fracture, "Q", 30)
    with django_assert_max_num_queries(12) as small:
        signed_in.get(fracture.patient.get_absolute_url())
    for days in range(5):
        make_fracture(fracture.patient, level="L1", assessment_date=fracture.assessment_date - datetime.timedelta(days))
    with django_assert_max_num_queries(len(small.captured_queries)):
        signed_in.get(fracture.patient.get_absolute_url())
