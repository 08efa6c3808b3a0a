"""The follow-up visit pages and the treatment change (scoring/views/visits.py, spec §3)."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from scoring.models import Visit
from tests.conftest import started
from tests.scoring.views.conftest import _many, confirmed_post, text, visit_url

pytestmark = pytest.mark.django_db

D = Decimal


# -- recording visits --------------------------------------------------------------------------


def test_six_month_visit_of_the_first_case_is_united_without_progressive_kyphosis(signed_in, case_one, user):
    response = signed_in.post(
        visit_url(case_one),
        {
            "kind": "6m",
            "visit_date": "2024-12-01",
            "vas_pain": "1",
            "odi_percent": "8",
            "kyphosis_angle_deg": "6.3",
            "vhl_percent": "5.3",
            "bone_union": "united",
        },
    )
    assert response.status_code == 302 and response["Location"] == case_one.get_absolute_url()
    visit = Visit.objects.get()
    assert visit.kyphosis_difference_deg == D("1.7")
    assert visit.vhl_difference_percent == D("4.8")
    assert visit.progressive_kyphosis is False
    assert visit.created_by == user
    case_one.refresh_from_db()
    assert (case_one.progressive_kyphosis, case_one.non_union) == (False, False)
    page = text(signed_in.get(case_one.get_absolute_url()))
    assert "(+1.7°)" in page and "No progressive kyphosis" in page and "United" in page


def test_six_month_visit_of_the_second_case_is_a_non_union(signed_in, case_two):
    signed_in.post(
        visit_url(case_two),
        {
            "kind": "6m",
            "visit_date": "2025-09-10",
            "kyphosis_angle_deg": "26.0",
            "vhl_percent": "38.1",
            "bone_union": "non_union",
            "vacuum_cleft_mri": "on",
        },
    )
    visit = Visit.objects.get()
    assert visit.kyphosis_difference_deg == D("6.4") and visit.progressive_kyphosis is False
    case_two.refresh_from_db()
    assert case_two.non_union is True and case_two.progressive_kyphosis is False
    page = text(signed_in.get(case_two.get_absolute_url()))
    assert "intravertebral vacuum cleft on MRI" in page
    list_page = text(signed_in.get("/patients/"))
    assert '<span class="badge flag-outcome" title="Bone non-union at 6 months or later">Non-union' in list_page


@pytest.mark.parametrize(("ka", "progressive"), [("29.6", False), ("29.7", True)])
def test_progressive_kyphosis_boundary_at_a_visit_is_strictly_more_than_10_degrees(
    signed_in, case_two, ka, progressive
):
    signed_in.post(visit_url(case_two), {"kind": "3m", "visit_date": "2025-06-10", "kyphosis_angle_deg": ka})
    visit = Visit.objects.get()
    assert visit.kyphosis_difference_deg == D(ka) - D("19.6")
    assert visit.progressive_kyphosis is progressive
    case_two.refresh_from_db()
    assert case_two.progressive_kyphosis is None  # spec §3: the outcome is the 6-month film's


@pytest.mark.parametrize(("ka", "progressive"), [("29.6", False), ("29.7", True)])
def test_the_fractures_progressive_kyphosis_is_the_six_month_films(signed_in, case_two, ka, progressive):
    signed_in.post(visit_url(case_two), {"kind": "6m", "visit_date": "2025-09-10", "kyphosis_angle_deg": ka})
    case_two.refresh_from_db()
    assert case_two.progressive_kyphosis is progressive


@pytest.mark.parametrize(
    ("kind", "date", "message"),
    [
        ("6m", "2025-04-10", "A 6 months visit is dated from 2025-08-07 on"),
        ("1m", "2025-10-10", "A 1 month visit is dated from 2025-04-02 to 2025-05-24"),
        ("3m", "2025-05-24", "A 3 months visit is dated from 2025-05-25 to 2025-08-06"),
    ],
)
def test_a_scheduled_visit_must_fall_in_its_place_in_the_schedule(signed_in, case_two, kind, date, message):
    response = signed_in.post(visit_url(case_two), {"kind": kind, "visit_date": date, "vas_pain": "3"})
    assert message in text(response)
    assert Visit.objects.count() == 0


def test_a_visit_before_treatment_starts_is_refused(signed_in, make_patient, make_fracture):
    fracture = make_fracture(make_patient(mrn="LATESTART"), treatment_start_date=datetime.date(2025, 3, 20))
    response = signed_in.post(visit_url(fracture), {"kind": "unscheduled", "visit_date": "2025-03-15", "vas_pain": "3"})
    assert "Follow-up visits come after treatment starts (2025-03-20)" in text(response)
    assert Visit.objects.count() == 0


def test_the_odi_sections_answered_at_a_visit_are_shown(signed_in, case_two):
    sections = {f"odi_section_{n}": "1" for n in range(1, 11)}
    sections["odi_section_9"] = ""
    signed_in.post(visit_url(case_two), {"kind": "1m", "visit_date": "2025-04-10", **sections})
    page = text(signed_in.get(case_two.get_absolute_url()))
    assert "from 9 of 10 sections; not answered: Social life" in page


def test_vhl_at_a_visit_from_six_heights_uses_the_same_measurement_code(signed_in, case_two):
    heights = {
        "fractured_anterior_mm": "20",
        "fractured_posterior_mm": "30",
        "cranial_anterior_mm": "30",
        "cranial_posterior_mm": "30",
        "caudal_anterior_mm": "30",
        "caudal_posterior_mm": "30",
    }
    signed_in.post(visit_url(case_two), {"kind": "1m", "visit_date": "2025-04-10", **heights})
    visit = Visit.objects.get()
    assert visit.vhl_percent == D("16.7") and visit.vhl_entered_percent is None
    assert visit.vhl_difference_percent == D("-1.1")


def test_odi_from_the_questionnaire_at_a_visit_shows_which_sections_were_answered(signed_in, case_two):
    sections = {f"odi_section_{n}": "2" for n in range(1, 11)}
    sections["odi_section_8"] = ""
    sections["odi_section_10"] = "1"
    signed_in.post(visit_url(case_two), {"kind": "1m", "visit_date": "2025-04-10", **sections})
    visit = Visit.objects.get()
    assert visit.odi_percent == D("37.8")
    assert visit.odi_sections == [2, 2, 2, 2, 2, 2, 2, None, 2, 1]


def test_odi_typed_and_from_sections_is_refused(signed_in, case_two):
    response = signed_in.post(
        visit_url(case_two), {"kind": "1m", "visit_date": "2025-04-10", "odi_percent": "40", "odi_section_1": "2"}
    )
    assert "Type the ODI or score the sections, not both" in text(response)
    assert Visit.objects.count() == 0


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"kind": "1m", "visit_date": "2025-03-09", "vas_pain": "5"},
            "visit_date",
            "cannot come before the pretreatment assessment",
        ),
        ({"kind": "1m", "visit_date": "2999-01-01", "vas_pain": "5"}, "visit_date", "This date is in the future."),
        (
            {"kind": "3m", "visit_date": "2025-06-10", "bone_union": "united"},
            "bone_union",
            "assessed at the 6-month visit or later (from 2025-08-07",
        ),
        (
            {"kind": "6m", "visit_date": "2025-09-10", "bone_union": "non_union"},
            "bone_union",
            "A non-union needs its evidence",
        ),
        (
            {"kind": "6m", "visit_date": "2025-09-10", "bone_union": "united", "vacuum_cleft_ct": "on"},
            "vacuum_cleft_ct",
            "goes with a non-union only",
        ),
        ({"kind": "2m", "visit_date": "2025-04-10", "vas_pain": "5"}, "kind", "Select a valid choice"),
        (
            {"kind": "1m", "visit_date": "2025-04-10", "kyphosis_angle_deg": "91"},
            "kyphosis_angle_deg",
            "Must be at most 90°.",
        ),
        ({"kind": "1m", "visit_date": "2025-04-10", "vas_pain": "11"}, "vas_pain", "Must be at most 10."),
        ({"kind": "1m", "visit_date": "2025-04-10", "odi_section_3": "6"}, "odi_section_3", "Select a valid choice"),
    ],
)
def test_a_bad_visit_saves_nothing_and_names_the_field(signed_in, case_two, data, field, message):
    response = signed_in.post(visit_url(case_two), data)
    assert response.status_code == 200
    page = text(response)
    assert message in page
    assert f'id="error_1_id_{field}"' in page
    assert Visit.objects.count() == 0


def test_an_empty_visit_is_refused(signed_in, case_two):
    response = signed_in.post(visit_url(case_two), {"kind": "1m", "visit_date": "2025-04-10"})
    assert "Record at least one finding" in text(response)
    assert Visit.objects.count() == 0


def test_the_same_scheduled_visit_cannot_be_recorded_twice(signed_in, case_two):
    signed_in.post(visit_url(case_two), {"kind": "1m", "visit_date": "2025-04-10", "vas_pain": "6"})
    response = signed_in.post(visit_url(case_two), {"kind": "1m", "visit_date": "2025-04-12", "vas_pain": "5"})
    assert "This fracture already has its 1 month visit (2025-04-10)" in text(response)
    assert Visit.objects.count() == 1


def test_unscheduled_visits_may_repeat_and_one_after_six_months_may_record_union(signed_in, case_two):
    for date in ("2025-05-01", "2025-05-20"):
        assert (
            signed_in.post(
                visit_url(case_two), {"kind": "unscheduled", "visit_date": date, "vas_pain": "4"}
            ).status_code
            == 302
        )
    response = signed_in.post(
        visit_url(case_two), {"kind": "unscheduled", "visit_date": "2025-10-01", "bone_union": "united"}
    )
    assert response.status_code == 302
    case_two.refresh_from_db()
    assert case_two.non_union is False
    assert Visit.objects.count() == 3


def test_editing_a_visit_recomputes_its_outcome(signed_in, case_two, make_user):
    signed_in.post(visit_url(case_two), {"kind": "6m", "visit_date": "2025-09-10", "kyphosis_angle_deg": "26.0"})
    visit = Visit.objects.get()
    editor = make_user("editor")
    signed_in.force_login(editor)
    confirmed_post(
        signed_in,
        f"/visits/{visit.pk}/edit/",
        {"kind": "6m", "visit_date": "2025-09-10", "kyphosis_angle_deg": "30.0", "version": "1"},
    )
    visit.refresh_from_db()
    assert visit.kyphosis_difference_deg == D("10.4") and visit.progressive_kyphosis is True
    assert visit.updated_by == editor
    case_two.refresh_from_db()
    assert case_two.progressive_kyphosis is True


def test_saving_a_visit_takes_as_many_queries_with_many_patients(
    signed_in, make_patient, make_fracture, django_assert_max_num_queries
):
    today = timezone.localdate().isoformat()
    first = started(make_patient, make_fracture, "FIRST", 40)
    _many(make_patient, make_fracture, "S", 3)
    # with the role's permissions, the test's savepoints and the form's one-time token (claimed, then completed)
    with django_assert_max_num_queries(23) as small:
        assert signed_in.post(visit_url(first), {"kind": "1m", "visit_date": today, "vas_pain": "3"}).status_code == 302
    second = started(make_patient, make_fracture, "SECOND", 40)
    _many(make_patient, make_fracture, "L", 120)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert (
            signed_in.post(visit_url(second), {"kind": "1m", "visit_date": today, "vas_pain": "3"}).status_code == 302
        )


# -- treatment change --------------------------------------------------------------------------


def test_a_treatment_change_is_recorded_and_later_outcomes_are_marked_after_it(signed_in, case_two):
    response = signed_in.post(
        f"/assessments/{case_two.pk}/treatment-change/",
        {"treatment": "vertebroplasty", "changed_on": "2025-03-31", "reason": "pain not controlled", "version": "1"},
    )
    assert response.status_code == 302
    case_two.refresh_from_db()
    assert (case_two.treatment_changed_to, case_two.treatment_changed_on) == (
        "vertebroplasty",
        datetime.date(2025, 3, 31),
    )
    assert case_two.treatment == "conservative"  # the original choice stays on record
    signed_in.post(visit_url(case_two), {"kind": "6m", "visit_date": "2025-09-10", "bone_union": "united"})
    page = text(signed_in.get(case_two.get_absolute_url()))
    assert "Conservative care abandoned on <strong>2025-03-31</strong>" in page
    assert "after treatment change</span>" in page
    assert "United (2025-09-10) (after the treatment change)" in page
    assert signed_in.get(f"/assessments/{case_two.pk}/treatment-change/").status_code == 404  # only once


def test_a_treatment_change_keeps_outcomes_saved_meanwhile(signed_in, case_two):
    page = signed_in.get(f"/assessments/{case_two.pk}/treatment-change/")  # opened first
    assert page.status_code == 200
    signed_in.post(
        visit_url(case_two),
        {"kind": "6m", "visit_date": "2025-09-10", "bone_union": "non_union", "vacuum_cleft_mri": "on"},
    )
    signed_in.post(
        f"/assessments/{case_two.pk}/treatment-change/",
        {"treatment": "vertebroplasty", "changed_on": "2025-09-20", "version": "1"},
    )
    case_two.refresh_from_db()
    assert case_two.treatment_changed_to == "vertebroplasty"
    assert case_two.non_union is True  # not overwritten by the treatment change


def test_a_treatment_change_cannot_predate_the_start_of_treatment(signed_in, case_two):
    response = signed_in.post(
        f"/assessments/{case_two.pk}/treatment-change/",
        {"treatment": "kyphoplasty", "changed_on": "2025-03-01", "version": "1"},
    )
    assert "the change comes after it" in text(response)
    case_two.refresh_from_db()
    assert case_two.treatment_changed_to == ""


def test_conservative_is_not_a_treatment_to_change_to(signed_in, case_two):
    response = signed_in.post(
        f"/assessments/{case_two.pk}/treatment-change/", {"treatment": "conservative", "changed_on": "2025-04-01"}
    )
    assert "Select a valid choice" in text(response)
