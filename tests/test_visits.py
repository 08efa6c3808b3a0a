"""Follow-up visits, outcomes, the worklist, treatment changes and the report (spec §3)."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from scoring import followup
from scoring import services
from scoring.models import ExpectedVisit, Fracture, Visit, visit_schedule

pytestmark = pytest.mark.django_db

D = Decimal


def text(response) -> str:
    return response.content.decode()


def visit_url(fracture):
    return f"/assessments/{fracture.pk}/visits/new/"


@pytest.fixture
def case_one(make_patient, make_fracture):
    """Spec §6, first case: L2, T −1.5, VHL 0.5 %, KA 4.6°, diffuse high signal: score 0."""
    patient = make_patient(mrn="CASE1", date_of_birth=datetime.date(1945, 1, 15))
    return make_fracture(patient, assessment_date=datetime.date(2024, 6, 1), level="L2", vhl_percent=D("0.5"),
                         kyphosis_angle_deg=D("4.6"), t2_signal="diffuse_high", bmd_t_score=D("-1.5"))


@pytest.fixture
def case_two(patient, make_fracture):
    """Spec §6, second case: score 10."""
    return make_fracture(patient)


# -- recording visits -------------------------------------------------------------------------------

def test_six_month_visit_of_the_first_case_is_united_without_progressive_kyphosis(signed_in, case_one, user):
    response = signed_in.post(visit_url(case_one), {
        "kind": "6m", "visit_date": "2024-12-01", "vas_pain": "1", "odi_percent": "8",
        "kyphosis_angle_deg": "6.3", "vhl_percent": "5.3", "bone_union": "united",
    })
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
    signed_in.post(visit_url(case_two), {
        "kind": "6m", "visit_date": "2025-09-10", "kyphosis_angle_deg": "26.0", "vhl_percent": "38.1",
        "bone_union": "non_union", "vacuum_cleft_mri": "on",
    })
    visit = Visit.objects.get()
    assert visit.kyphosis_difference_deg == D("6.4") and visit.progressive_kyphosis is False
    case_two.refresh_from_db()
    assert case_two.non_union is True and case_two.progressive_kyphosis is False
    page = text(signed_in.get(case_two.get_absolute_url()))
    assert "intravertebral vacuum cleft on MRI" in page
    list_page = text(signed_in.get("/patients/"))
    assert '<span class="badge flag-outcome" title="Bone non-union at 6 months or later">Non-union' in list_page


@pytest.mark.parametrize(("ka", "progressive"), [("29.6", False), ("29.7", True)])
def test_progressive_kyphosis_boundary_at_a_visit_is_strictly_more_than_10_degrees(signed_in, case_two, ka, progressive):
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


def test_progressive_kyphosis_is_flagged_in_the_patient_list(signed_in, case_two):
    signed_in.post(visit_url(case_two), {"kind": "6m", "visit_date": "2025-09-10", "kyphosis_angle_deg": "31"})
    assert "Progressive kyphosis" in text(signed_in.get("/patients/"))


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
    heights = {"fractured_anterior_mm": "20", "fractured_posterior_mm": "30", "cranial_anterior_mm": "30",
               "cranial_posterior_mm": "30", "caudal_anterior_mm": "30", "caudal_posterior_mm": "30"}
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


def test_odi_at_baseline_from_sections_is_saved_and_shown_with_what_was_answered(signed_in, patient, second_case):
    del second_case["odi_percent"]
    sections = {f"odi_section_{n}": "3" for n in range(1, 11)}
    sections["odi_section_8"] = ""
    signed_in.post(f"/patients/{patient.pk}/assessments/new/", {**second_case, **sections})
    fracture = Fracture.objects.get()
    assert fracture.odi_percent == D("60.0")
    page = text(signed_in.get(fracture.get_absolute_url()))
    assert "60.0 % (from 9 of 10 sections; not answered: Sex life)" in page


def test_odi_typed_and_from_sections_is_refused(signed_in, case_two):
    response = signed_in.post(visit_url(case_two), {"kind": "1m", "visit_date": "2025-04-10", "odi_percent": "40", "odi_section_1": "2"})
    assert "Type the ODI or score the sections, not both" in text(response)
    assert Visit.objects.count() == 0


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"kind": "1m", "visit_date": "2025-03-09", "vas_pain": "5"}, "visit_date", "cannot come before the pretreatment assessment"),
        ({"kind": "1m", "visit_date": "2999-01-01", "vas_pain": "5"}, "visit_date", "This date is in the future."),
        ({"kind": "3m", "visit_date": "2025-06-10", "bone_union": "united"}, "bone_union", "assessed at the 6-month visit or later (from 2025-08-07"),
        ({"kind": "6m", "visit_date": "2025-09-10", "bone_union": "non_union"}, "bone_union", "A non-union needs its evidence"),
        ({"kind": "6m", "visit_date": "2025-09-10", "bone_union": "united", "vacuum_cleft_ct": "on"}, "vacuum_cleft_ct", "goes with a non-union only"),
        ({"kind": "2m", "visit_date": "2025-04-10", "vas_pain": "5"}, "kind", "Select a valid choice"),
        ({"kind": "1m", "visit_date": "2025-04-10", "kyphosis_angle_deg": "91"}, "kyphosis_angle_deg", "Must be at most 90°."),
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
        assert signed_in.post(visit_url(case_two), {"kind": "unscheduled", "visit_date": date, "vas_pain": "4"}).status_code == 302
    response = signed_in.post(visit_url(case_two), {"kind": "unscheduled", "visit_date": "2025-10-01", "bone_union": "united"})
    assert response.status_code == 302
    case_two.refresh_from_db()
    assert case_two.non_union is False
    assert Visit.objects.count() == 3


def test_editing_a_visit_recomputes_its_outcome(signed_in, case_two, make_user):
    signed_in.post(visit_url(case_two), {"kind": "6m", "visit_date": "2025-09-10", "kyphosis_angle_deg": "26.0"})
    visit = Visit.objects.get()
    editor = make_user("editor")
    signed_in.force_login(editor)
    signed_in.post(f"/visits/{visit.pk}/edit/", {"kind": "6m", "visit_date": "2025-09-10", "kyphosis_angle_deg": "30.0", "version": "1"})
    visit.refresh_from_db()
    assert visit.kyphosis_difference_deg == D("10.4") and visit.progressive_kyphosis is True
    assert visit.updated_by == editor
    case_two.refresh_from_db()
    assert case_two.progressive_kyphosis is True


def test_editing_the_baseline_recomputes_the_visits_differences(signed_in, case_two, second_case):
    signed_in.post(visit_url(case_two), {"kind": "6m", "visit_date": "2025-09-10", "kyphosis_angle_deg": "26.0"})
    signed_in.post(f"/assessments/{case_two.pk}/edit/", {**second_case, "kyphosis_angle_deg": "15.0", "version": "1"})
    visit = Visit.objects.get()
    assert visit.kyphosis_difference_deg == D("11.0") and visit.progressive_kyphosis is True
    case_two.refresh_from_db()
    assert case_two.progressive_kyphosis is True


def test_the_assessment_cannot_be_moved_after_its_first_visit(signed_in, case_two, second_case):
    signed_in.post(visit_url(case_two), {"kind": "1m", "visit_date": "2025-04-10", "vas_pain": "6"})
    response = signed_in.post(f"/assessments/{case_two.pk}/edit/", {**second_case, "assessment_date": "2025-04-11", "injury_date": "", "version": "1"})
    assert "A follow-up visit is dated 2025-04-10, before this" in text(response)


# -- treatment change ---------------------------------------------------------------------------

def test_a_treatment_change_is_recorded_and_later_outcomes_are_marked_after_it(signed_in, case_two):
    response = signed_in.post(f"/assessments/{case_two.pk}/treatment-change/",
                              {"treatment": "vertebroplasty", "changed_on": "2025-03-31", "reason": "pain not controlled",
                               "version": "1"})
    assert response.status_code == 302
    case_two.refresh_from_db()
    assert (case_two.treatment_changed_to, case_two.treatment_changed_on) == ("vertebroplasty", datetime.date(2025, 3, 31))
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
    signed_in.post(visit_url(case_two), {"kind": "6m", "visit_date": "2025-09-10", "bone_union": "non_union",
                                         "vacuum_cleft_mri": "on"})
    signed_in.post(f"/assessments/{case_two.pk}/treatment-change/",
                   {"treatment": "vertebroplasty", "changed_on": "2025-09-20", "version": "1"})
    case_two.refresh_from_db()
    assert case_two.treatment_changed_to == "vertebroplasty"
    assert case_two.non_union is True  # not overwritten by the treatment change


def test_the_patient_list_marks_an_outcome_seen_after_a_treatment_change(signed_in, case_two):
    signed_in.post(f"/assessments/{case_two.pk}/treatment-change/",
                   {"treatment": "vertebroplasty", "changed_on": "2025-04-01", "version": "1"})
    signed_in.post(visit_url(case_two), {"kind": "6m", "visit_date": "2025-09-10", "bone_union": "non_union",
                                         "vacuum_cleft_ct": "on"})
    assert "Non-union <span class=\"fw-normal\">(after treatment change)</span>" in text(signed_in.get("/patients/"))


def test_after_a_change_the_first_treatment_and_its_start_stay_consistent(signed_in, case_two, second_case):
    signed_in.post(f"/assessments/{case_two.pk}/treatment-change/",
                   {"treatment": "vertebroplasty", "changed_on": "2025-04-01", "version": "1"})
    response = signed_in.post(f"/assessments/{case_two.pk}/edit/",
                              {**second_case, "treatment": "kyphoplasty", "treatment_start_date": "2025-04-05", "version": "2"})
    page = text(response)
    assert "the treatment first chosen stays as it was" in page
    assert "Treatment changed on 2025-04-01: it started before that." in page
    case_two.refresh_from_db()
    assert case_two.treatment == "conservative"


def test_an_admin_deleting_a_visit_recomputes_the_course(client, case_two, make_user):
    admin = make_user("boss", role="admin", is_staff=True)
    client.force_login(admin)
    visit = Visit.objects.create(fracture=case_two, kind="6m", visit_date=datetime.date(2025, 9, 10), bone_union="non_union",
                                 vacuum_cleft_mri=True, created_by=admin, updated_by=admin)
    services.refresh_course(case_two)
    assert case_two.non_union is True
    response = client.post(f"/admin/scoring/visit/{visit.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    case_two.refresh_from_db()
    assert case_two.non_union is None
    assert Visit.history.filter(id=visit.pk, history_type="-").get().history_user == admin


def test_a_treatment_change_cannot_predate_the_start_of_treatment(signed_in, case_two):
    response = signed_in.post(f"/assessments/{case_two.pk}/treatment-change/", {"treatment": "kyphoplasty", "changed_on": "2025-03-01", "version": "1"})
    assert "the change comes after it" in text(response)
    case_two.refresh_from_db()
    assert case_two.treatment_changed_to == ""


def test_conservative_is_not_a_treatment_to_change_to(signed_in, case_two):
    response = signed_in.post(f"/assessments/{case_two.pk}/treatment-change/", {"treatment": "conservative", "changed_on": "2025-04-01"})
    assert "Select a valid choice" in text(response)


# -- the worklist --------------------------------------------------------------------------------

@pytest.fixture
def today():
    return timezone.localdate()


def started(make_patient, make_fracture, mrn, days_ago, **fields):
    patient = make_patient(mrn=mrn)
    start = timezone.localdate() - datetime.timedelta(days=days_ago)
    return make_fracture(patient, assessment_date=start, treatment_start_date=start, **fields)


def rows(response):
    page = text(response)
    return sorted(part.split('"')[0] for part in page.split('data-row="')[1:])


def test_worklist_lists_overdue_due_and_upcoming_visits(signed_in, make_patient, make_fracture):
    started(make_patient, make_fracture, "DUE", 30)          # 1-month visit due today
    started(make_patient, make_fracture, "SOON", 18)         # 1-month window opens in 5 days
    started(make_patient, make_fracture, "LATER", 5)         # 1-month window opens in 18 days
    started(make_patient, make_fracture, "LATE", 45)         # 1-month window closed 8 days ago
    started(make_patient, make_fracture, "FAR", 0)           # opens in 23 days, within 28
    started(make_patient, make_fracture, "SURG", 30, treatment="vertebroplasty")
    response = signed_in.get("/worklist/")
    assert rows(response) == ["DUE-1m", "FAR-1m", "LATE-1m", "LATER-1m", "SOON-1m"]
    page = text(response)
    assert page.count('class="badge status-overdue"') == 1
    assert page.count('class="badge status-due_soon"') == 2
    assert page.count('class="badge status-upcoming"') == 2
    assert rows(signed_in.get("/worklist/?status=overdue")) == ["LATE-1m"]


def test_a_missed_visit_gives_way_to_the_next_one_when_its_window_opens(signed_in, make_patient, make_fracture):
    started(make_patient, make_fracture, "MISSED", 77)   # 3-month window opened yesterday
    assert rows(signed_in.get("/worklist/")) == ["MISSED-3m"]


def test_the_six_month_visit_stays_overdue_for_the_configured_days(signed_in, make_patient, make_fracture, settings):
    started(make_patient, make_fracture, "SIX", 180 + 30 + 90)
    started(make_patient, make_fracture, "GONE", 180 + 30 + 91)
    assert rows(signed_in.get("/worklist/")) == ["SIX-6m"]


def test_recording_a_due_visit_shrinks_the_worklist_and_the_navigation_count(signed_in, make_patient, make_fracture):
    due = started(make_patient, make_fracture, "DUE", 30)
    started(make_patient, make_fracture, "OTHER", 31)
    page = text(signed_in.get("/worklist/"))
    assert rows(signed_in.get("/worklist/")) == ["DUE-1m", "OTHER-1m"]
    assert 'data-testid="worklist-count">2<' in page
    assert f'href="/assessments/{due.pk}/visits/new/?kind=1m"' in page  # one click from the row
    signed_in.post(visit_url(due), {"kind": "1m", "visit_date": timezone.localdate().isoformat(), "vas_pain": "5"})
    page = text(signed_in.get("/worklist/"))
    assert rows(signed_in.get("/worklist/")) == ["OTHER-1m"]
    assert 'data-testid="worklist-count">1<' in page


def test_a_change_to_surgery_takes_the_fracture_off_the_worklist(signed_in, make_patient, make_fracture):
    fracture = started(make_patient, make_fracture, "DUE", 30)
    signed_in.post(f"/assessments/{fracture.pk}/treatment-change/",
                   {"treatment": "kyphoplasty", "changed_on": timezone.localdate().isoformat(), "version": "1"})
    assert rows(signed_in.get("/worklist/")) == []


def test_worklist_sorts_by_patient_and_by_due_date(signed_in, make_patient, make_fracture):
    started(make_patient, make_fracture, "BBB", 30)
    started(make_patient, make_fracture, "AAA", 25)
    page = text(signed_in.get("/worklist/?sort=mrn"))
    assert page.index('data-row="AAA') < page.index('data-row="BBB')
    page = text(signed_in.get("/worklist/?sort=due"))
    assert page.index('data-row="BBB') < page.index('data-row="AAA')
    page = text(signed_in.get("/worklist/?sort=-due"))
    assert page.index('data-row="AAA') < page.index('data-row="BBB')
    assert signed_in.get("/worklist/?sort=nonsense&page=zz").status_code == 200


def _listed(schedule, order, start, today, until, overdue_days=90):
    """The worklist's rule (spec §3, README), written out on its own: a visit is listed from when
    its window opens (up to `until`) until `overdue_days` after it closed, and only while the next
    visit's window has not opened."""
    visit = schedule[order]
    if visit.window_opens(start) > until or visit.window_closes(start) + datetime.timedelta(days=overdue_days) < today:
        return False
    return not (order + 1 < len(schedule) and schedule[order + 1].window_opens(start) <= today)


def _expected_worklist(today, until, status=""):
    """Every worklist row by the rule itself, on each fracture and its recorded visits."""
    schedule = visit_schedule()
    expected = []
    for fracture in Fracture.objects.under_conservative_care().select_related("patient"):
        recorded = set(fracture.visits.values_list("kind", flat=True))
        for order, visit in enumerate(schedule):
            start = fracture.treatment_start_date
            if not _listed(schedule, order, start, today, until) or visit.kind in recorded:
                continue
            row_status = followup.due_status(visit, start, today, 7)
            if status and row_status != status:
                continue
            expected.append({"mrn": fracture.patient.mrn, "kind": visit.kind.value, "order": order, "pk": fracture.pk,
                             "due": visit.due(start), "status": list(followup.DueStatus).index(row_status)})
    return expected


WORKLIST_ORDER = {
    "due": lambda r: (r["due"], r["mrn"], r["pk"], r["order"]),
    "mrn": lambda r: (r["mrn"], r["due"], r["pk"], r["order"]),
    "visit": lambda r: (r["order"], r["due"], r["mrn"], r["pk"]),
    "status": lambda r: (r["status"], r["due"], r["mrn"], r["pk"], r["order"]),
}


@pytest.mark.parametrize("status", ["", "overdue", "due_soon", "upcoming"])
@pytest.mark.parametrize("sort", ["due", "-due", "mrn", "-mrn", "visit", "-visit", "status", "-status"])
def test_worklist_pages_hold_every_row_once_in_the_order_asked(signed_in, make_patient, make_fracture, settings,
                                                               sort, status):
    """The pages are merged from each visit's own sorted list: walked end to end, they must give
    exactly the rows the rule lists, in the order asked, with the right counts."""
    settings.PAGE_SIZE = 4
    for n, days_ago in enumerate([3, 8, 10, 12, 14, 20, 25, 30, 30, 35, 40, 45, 50, 55, 60, 65, 80, 85, 90, 95, 100,
                                  140, 150, 170, 180, 200, 240, 260]):
        fracture = started(make_patient, make_fracture, f"W{(n * 11) % 29:02d}", days_ago)
        if n % 4 == 0:
            Visit.objects.create(fracture=fracture, kind="1m", visit_date=fracture.assessment_date, vas_pain=D(3),
                                 created_by=fracture.created_by, updated_by=fracture.created_by)
            services.refresh_course(fracture)
    today = timezone.localdate()
    expected = _expected_worklist(today, today + datetime.timedelta(days=28), status)
    expected.sort(key=WORKLIST_ORDER[sort.lstrip("-")], reverse=sort.startswith("-"))
    seen = []
    for page in range(1, -(-len(expected) // 4) + 1):
        page_text = text(signed_in.get(f"/worklist/?status={status}&sort={sort}&page={page}"))
        seen += [part.split('"')[0] for part in page_text.split('data-row="')[1:]]
    assert len(expected) > 4
    assert seen == [f"{row['mrn']}-{row['kind']}" for row in expected]
    if status:  # the pill of the status shown is the active one, with the count of its rows
        assert f'active" aria-current="page" href="?status={status}&amp;sort={sort}" data-status="{status}">' in page_text
    assert f"{len(expected)} visits" in page_text


def _many(make_patient, make_fracture, prefix, count):
    for n in range(count):
        fracture = started(make_patient, make_fracture, f"{prefix}{n:04d}", 20 + n % 200)
        if n % 3 == 0:
            Visit.objects.create(fracture=fracture, kind="1m", visit_date=fracture.assessment_date, vas_pain=D(3),
                                 created_by=fracture.created_by, updated_by=fracture.created_by)
            services.refresh_course(fracture)


@pytest.mark.parametrize("url", ["/worklist/", "/worklist/?status=overdue&sort=mrn", "/patients/"])
def test_worklist_and_list_queries_do_not_grow_with_the_number_of_patients(signed_in, make_patient, make_fracture,
                                                                           django_assert_max_num_queries, url):
    _many(make_patient, make_fracture, "S", 5)
    with django_assert_max_num_queries(15) as small:
        signed_in.get(url)
    _many(make_patient, make_fracture, "L", 120)
    with django_assert_max_num_queries(len(small.captured_queries)):
        signed_in.get(url)


def test_saving_a_visit_takes_as_many_queries_with_many_patients(signed_in, make_patient, make_fracture,
                                                                 django_assert_max_num_queries):
    today = timezone.localdate().isoformat()
    first = started(make_patient, make_fracture, "FIRST", 40)
    _many(make_patient, make_fracture, "S", 3)
    with django_assert_max_num_queries(20) as small:  # with the role's permissions and the test's savepoints
        assert signed_in.post(visit_url(first), {"kind": "1m", "visit_date": today, "vas_pain": "3"}).status_code == 302
    second = started(make_patient, make_fracture, "SECOND", 40)
    _many(make_patient, make_fracture, "L", 120)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert signed_in.post(visit_url(second), {"kind": "1m", "visit_date": today, "vas_pain": "3"}).status_code == 302


def test_fracture_page_queries_do_not_grow_with_its_visits(signed_in, case_two, django_assert_max_num_queries):
    with django_assert_max_num_queries(12) as small:
        signed_in.get(case_two.get_absolute_url())
    for n in range(12):
        Visit.objects.create(fracture=case_two, kind="unscheduled", visit_date=datetime.date(2025, 4, 1) + datetime.timedelta(days=n),
                             vas_pain=D(5), created_by=case_two.created_by, updated_by=case_two.created_by)
    with django_assert_max_num_queries(len(small.captured_queries)):
        signed_in.get(case_two.get_absolute_url())


# -- timeline and report ---------------------------------------------------------------------------

def test_timeline_draws_charts_with_the_cohort_medians_for_the_group(signed_in, case_two):
    signed_in.post(visit_url(case_two), {"kind": "6m", "visit_date": "2025-09-10", "kyphosis_angle_deg": "26.0",
                                         "vhl_percent": "38.1", "vas_pain": "4", "odi_percent": "30"})
    page = text(signed_in.get(case_two.get_absolute_url()))
    assert page.count('<svg viewBox="0 0 360 200"') == 4
    assert "Kyphosis angle over time" in page
    # spec §5, high group: KA 12.5 (9.35–14.85) before, 22.1 (18.55–27) at 6 months.
    assert "Cohort median (IQR), high group: pretreatment and 6 months: 12.5 (9.35–14.85), then 22.1 (18.55–27)" in page
    assert "6 months (2025-09-10): 26°" in page


def test_the_charts_show_a_new_or_edited_visit_at_once(signed_in, case_two):
    """A new visit and an edited visit each show at once, on the page and on the printed report."""
    signed_in.post(visit_url(case_two), {"kind": "6m", "visit_date": "2025-09-10", "kyphosis_angle_deg": "26.0"})
    assert "6 months (2025-09-10): 26°" in text(signed_in.get(case_two.get_absolute_url()))
    visit = case_two.visits.get()
    signed_in.post(f"/visits/{visit.pk}/edit/", {"kind": "6m", "visit_date": "2025-09-10", "kyphosis_angle_deg": "30.0",
                                                 "version": visit.version})
    page = text(signed_in.get(case_two.get_absolute_url()))
    assert "6 months (2025-09-10): 30°" in page and "26°" not in page
    signed_in.post(visit_url(case_two), {"kind": "3m", "visit_date": "2025-06-10", "kyphosis_angle_deg": "20.0"})
    assert "3 months (2025-06-10): 20°" in text(signed_in.get(case_two.get_absolute_url()))
    assert "3 months (2025-06-10): 20°" in text(signed_in.get(f"/assessments/{case_two.pk}/print/"))


def test_the_page_shows_the_course_as_stored(signed_in, case_two):
    """The course is saved without raising the fracture's version (services.refresh_course): the
    page shows it as it is stored, whatever the version."""
    assert "Not assessed yet" in text(signed_in.get(case_two.get_absolute_url()))
    Fracture.objects.filter(pk=case_two.pk).update(non_union=True, non_union_on=datetime.date(2025, 9, 10))
    page = text(signed_in.get(case_two.get_absolute_url()))
    assert "Not assessed yet" not in page and "Non-union</span> (2025-09-10)" in page


def test_print_page_is_a_clean_report(signed_in, case_two, user):
    signed_in.post(visit_url(case_two), {"kind": "6m", "visit_date": "2025-09-10", "kyphosis_angle_deg": "26.0",
                                         "bone_union": "non_union", "vacuum_cleft_ct": "on"})
    response = signed_in.get(f"/assessments/{case_two.pk}/print/")
    page = text(response)
    assert response.status_code == 200
    assert "NASOVCF fracture report" in page and case_two.patient.mrn in page
    assert f"by {user.username}" in page and "Printed " in page
    assert 'class="navbar' not in page  # no navigation
    assert "print.css" in page
    assert "Non-union" in page and "intravertebral vacuum cleft on CT" in page
    assert page.count("<svg") >= 1


def test_the_navigation_count_follows_every_save(signed_in, make_patient, make_fracture):
    due = started(make_patient, make_fracture, "DUE", 30)
    assert 'data-testid="worklist-count">1<' in text(signed_in.get("/patients/"))
    started(make_patient, make_fracture, "ALSO", 30)
    assert 'data-testid="worklist-count">2<' in text(signed_in.get("/patients/"))
    signed_in.post(visit_url(due), {"kind": "1m", "visit_date": timezone.localdate().isoformat(), "vas_pain": "5"})
    assert 'data-testid="worklist-count">1<' in text(signed_in.get("/patients/"))
    assert rows(signed_in.get("/worklist/")) == ["ALSO-1m"]


@pytest.mark.parametrize("status", ["", "overdue", "missed"])
def test_the_worklist_reads_its_rows_through_the_open_visits_index(status, today):
    """The worklist's rows and counts are a range of the index on the visits not yet recorded
    (SQLite's plan), not a scan of every expected visit."""
    from django.db import connection

    from scoring import selectors

    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL plans by its statistics: on a near-empty table a scan is its right choice")
    query = selectors.worklist_rows(today, status).values_list("pk")[:25]
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        plan = " ".join(row[-1] for row in cursor.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall())
    assert "USING INDEX expected_visit_open" in plan or "USING COVERING INDEX expected_visit_open" in plan, plan


def test_a_visit_never_recorded_moves_to_missed(signed_in, make_patient, make_fracture):
    started(make_patient, make_fracture, "GONE", 180 + 30 + 91)  # the 6-month visit lapsed yesterday
    started(make_patient, make_fracture, "SIX", 180 + 30 + 90)
    assert rows(signed_in.get("/worklist/")) == ["SIX-6m"]
    page = text(signed_in.get("/worklist/?status=missed"))
    assert rows(signed_in.get("/worklist/?status=missed")) == ["GONE-1m", "GONE-3m", "GONE-6m", "SIX-1m", "SIX-3m"]
    assert 'class="badge status-missed">Missed<' in page
    assert 'data-status="missed">Missed <span class="badge text-bg-light">5</span>' in page


def test_expected_visits_follow_the_treatment_start_the_visits_and_the_archive(signed_in, make_patient, make_fracture):
    fracture = started(make_patient, make_fracture, "ROWS", 30)
    rows_of = lambda: list(ExpectedVisit.objects.filter(fracture=fracture).order_by("kind").values_list(  # noqa: E731
        "kind", "due_date", "visit_id"))
    start = fracture.treatment_start_date
    assert rows_of() == [("1m", start + datetime.timedelta(days=30), None), ("3m", start + datetime.timedelta(days=90), None),
                         ("6m", start + datetime.timedelta(days=180), None)]
    signed_in.post(visit_url(fracture), {"kind": "1m", "visit_date": timezone.localdate().isoformat(), "vas_pain": "5"})
    assert rows_of()[0][2] == fracture.visits.get().pk
    signed_in.post(f"/assessments/{fracture.pk}/archive/")
    assert rows_of() == []
    signed_in.post(f"/assessments/{fracture.pk}/archive/", {"restore": "1"})
    assert len(rows_of()) == 3 and rows_of()[0][2] == fracture.visits.get().pk


def test_refresh_expected_visits_applies_new_window_settings(make_patient, make_fracture, settings):
    from django.core.management import call_command

    fracture = started(make_patient, make_fracture, "WIN", 30)
    settings.NASOVCF_VISIT_WINDOW_DAYS = {"1m": 3, "3m": 14, "6m": 30}
    call_command("refresh_expected_visits", stdout=__import__("io").StringIO())
    row = ExpectedVisit.objects.get(fracture=fracture, kind="1m")
    assert row.window_opens == fracture.treatment_start_date + datetime.timedelta(days=27)
