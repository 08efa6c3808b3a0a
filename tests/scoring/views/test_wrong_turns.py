"""Issue 11's wrong turns on the daily path, through the pages: the visit that is due, a form sent
twice, a likely duplicate, a reader that moves an outcome, a negative VHL, a total of 12."""

import datetime
import re
from decimal import Decimal

import pytest
from django.utils import timezone

from scoring import rules, services
from scoring.models import Fracture, Visit
from tests.conftest import started
from tests.scoring.views.conftest import confirmed_post, new_assessment_url, text, visit_url

D = Decimal


def token_of(response) -> str:
    return str(response.context["form"].initial["submission"])


def selected_kind(response) -> str:
    return re.search(r'<option value="([^"]+)" selected>', text(response).split('name="kind"', 1)[1]).group(1)


# -- "Record visit" opens the visit that is due --------------------------------------------------


def test_record_visit_without_a_kind_opens_the_visit_that_is_due_not_the_first(signed_in, make_patient, make_fracture):
    """Assessed 190 days ago under conservative care: the 6-month visit is due (the worklist's),
    not the 1-month visit."""
    fracture = started(make_patient, make_fracture, "DUE6", 190)
    response = signed_in.get(visit_url(fracture))
    assert selected_kind(response) == "6m"
    assert response.context["form"].initial["visit_date"] == timezone.localdate()


def test_record_visit_skips_a_recorded_visit_and_a_missed_one(signed_in, make_patient, make_fracture, user):
    fracture = started(make_patient, make_fracture, "DUE3", 100)
    assert selected_kind(signed_in.get(visit_url(fracture))) == "3m"  # the 1-month visit was missed
    Visit.objects.create(
        fracture=fracture,
        kind="3m",
        visit_date=timezone.localdate(),
        vas_pain=3,
        created_by=user,
        updated_by=user,
    )
    services.refresh_course(fracture)
    # The 6-month visit's window opens on day 150: a visit on day 100 is an unscheduled one.
    assert selected_kind(signed_in.get(visit_url(fracture))) == "unscheduled"


def test_a_late_scheduled_visit_is_dated_on_the_last_day_it_may_carry(signed_in, make_patient, make_fracture):
    """A 1-month visit recorded 250 days on (from notes) defaults to its last possible date."""
    fracture = started(make_patient, make_fracture, "LATE1", 250)
    response = signed_in.get(visit_url(fracture) + "?kind=1m")
    start = fracture.treatment_start_date
    assert selected_kind(response) == "1m"
    # the 3-month window opens on day 90 − 14 = 76: the 1-month visit may be dated up to day 75
    assert response.context["form"].initial["visit_date"] == start + datetime.timedelta(days=75)


def test_a_date_outside_the_visits_window_names_the_visit_that_date_fits(signed_in, make_patient, make_fracture):
    fracture = started(make_patient, make_fracture, "FIT6", 190)
    today = timezone.localdate()
    response = signed_in.post(visit_url(fracture), {"kind": "1m", "visit_date": today.isoformat(), "vas_pain": "3"})
    assert f"{today.isoformat()} fits the 6 months visit: choose that visit, or record this one as unscheduled." in (
        text(response)
    )
    assert Visit.objects.count() == 0


# -- a form sent twice saves once ----------------------------------------------------------------


def test_an_assessment_sent_twice_saves_one_fracture(signed_in, patient, second_case):
    token = token_of(signed_in.get(new_assessment_url(patient)))
    first = signed_in.post(new_assessment_url(patient), {**second_case, "submission": token})
    second = signed_in.post(new_assessment_url(patient), {**second_case, "submission": token})
    fracture = Fracture.objects.get()
    assert first.status_code == second.status_code == 302
    assert second.url == first.url == fracture.get_absolute_url()
    assert "This form was already saved" in text(signed_in.get(second.url))
    assert fracture.expected_visits.count() == 3  # one worklist row per visit, not two


def test_a_visit_sent_twice_saves_one_visit(signed_in, case_two):
    token = token_of(signed_in.get(visit_url(case_two)))
    data = {"kind": "unscheduled", "visit_date": "2025-05-01", "vas_pain": "4", "submission": token}
    assert signed_in.post(visit_url(case_two), data).status_code == 302
    second = signed_in.post(visit_url(case_two), data)
    assert second.status_code == 302 and second.url == case_two.get_absolute_url()
    assert Visit.objects.count() == 1


def test_a_scheduled_visit_sent_twice_is_not_told_it_already_exists(signed_in, case_two):
    token = token_of(signed_in.get(visit_url(case_two)))
    data = {"kind": "6m", "visit_date": "2025-09-10", "kyphosis_angle_deg": "26.0", "submission": token}
    signed_in.post(visit_url(case_two), data)
    second = signed_in.post(visit_url(case_two), data)
    assert second.status_code == 302
    assert Visit.objects.count() == 1


def test_a_claimed_token_refuses_a_second_claim(user):
    token = "0b0b0b0b-0000-4000-8000-000000000001"
    submission = services.claim_submission(token, user)
    services.complete_submission(submission, "/assessments/1/")
    with pytest.raises(services.AlreadySubmitted) as refused:
        services.claim_submission(token, user)
    assert refused.value.url == "/assessments/1/"


# -- likely duplicates are confirmed first -------------------------------------------------------


def test_a_second_assessment_of_the_same_level_and_date_asks_first(signed_in, case_two, second_case):
    url = new_assessment_url(case_two.patient)
    response = signed_in.post(url, second_case)
    assert response.status_code == 200
    assert "Not saved yet: this patient already has an assessment of T11 dated 2025-03-10" in text(response)
    assert Fracture.objects.count() == 1
    assert confirmed_post(signed_in, url, second_case).status_code == 302
    assert Fracture.objects.count() == 2


def test_a_second_unscheduled_visit_on_the_same_day_asks_first(signed_in, case_two):
    data = {"kind": "unscheduled", "visit_date": "2025-05-01", "vas_pain": "4"}
    signed_in.post(visit_url(case_two), data)
    response = signed_in.post(visit_url(case_two), data)
    assert "Not saved yet: this fracture already has an unscheduled visit on 2025-05-01." in text(response)
    assert Visit.objects.count() == 1
    confirmed_post(signed_in, visit_url(case_two), data)
    assert Visit.objects.count() == 2


# -- a reader that moves an outcome is announced before saving (spec §2) --------------------------


@pytest.fixture
def progressive(signed_in, case_two):
    """Baseline KA 19.6°, 6-month KA 31.6°: +12.0°, progressive kyphosis."""
    signed_in.post(visit_url(case_two), {"kind": "6m", "visit_date": "2025-09-10", "kyphosis_angle_deg": "31.6"})
    case_two.refresh_from_db()
    assert case_two.progressive_kyphosis is True
    return case_two


def test_a_second_reader_that_flips_progressive_kyphosis_is_announced_and_recorded(signed_in, progressive, second_case):
    edit = {
        **second_case,
        "version": progressive.version,
        "second_reader_name": "Dr B",
        "second_kyphosis_angle_deg": "26.6",
    }
    url = f"/assessments/{progressive.pk}/edit/"
    response = signed_in.post(url, edit)
    assert response.status_code == 200
    assert "progressive kyphosis at 6 months yes (+12.0°) → no (+8.5°)" in text(response)
    progressive.refresh_from_db()
    assert progressive.second_kyphosis_angle_deg is None and progressive.progressive_kyphosis is True  # nothing saved
    assert confirmed_post(signed_in, url, edit).status_code == 302
    progressive.refresh_from_db()
    assert progressive.kyphosis_angle_deg == D("23.1") and progressive.progressive_kyphosis is False
    reason = progressive.history.first().history_change_reason
    assert reason == "This changes the fracture's course: progressive kyphosis at 6 months yes (+12.0°) → no (+8.5°)."


def test_a_change_that_leaves_the_outcome_as_it_was_is_not_asked(signed_in, progressive, second_case):
    edit = {
        **second_case,
        "version": progressive.version,
        "second_reader_name": "Dr B",
        "second_kyphosis_angle_deg": "19.0",
    }
    assert signed_in.post(f"/assessments/{progressive.pk}/edit/", edit).status_code == 302


def test_a_second_reader_on_the_six_month_film_is_announced_too(signed_in, progressive):
    visit = progressive.visits.get()
    data = {
        "kind": "6m",
        "visit_date": "2025-09-10",
        "kyphosis_angle_deg": "31.6",
        "second_reader_name": "Dr B",
        "second_kyphosis_angle_deg": "26.0",
        "version": visit.version,
    }
    response = signed_in.post(f"/visits/{visit.pk}/edit/", data)
    assert "progressive kyphosis at 6 months yes (+12.0°) → no (+9.2°)" in text(response)
    confirmed_post(signed_in, f"/visits/{visit.pk}/edit/", data)
    visit.refresh_from_db()
    # spec §2, revised Decision: the follow-up film's two readers' mean, kept as it is
    assert (visit.first_kyphosis_angle_deg, visit.second_kyphosis_angle_deg, visit.kyphosis_angle_deg) == (
        D("31.6"),
        D("26.0"),
        D("28.8"),
    )
    assert visit.kyphosis_difference_deg == D("9.2") and visit.progressive_kyphosis is False


def test_a_follow_up_films_two_readers_vhl_mean_is_not_rounded(signed_in, case_two):
    signed_in.post(
        visit_url(case_two),
        {
            "kind": "6m",
            "visit_date": "2025-09-10",
            "vhl_percent": "30.1",
            "second_reader_name": "Dr B",
            "second_vhl_percent": "30.2",
        },
    )
    visit = Visit.objects.get()
    assert (visit.first_vhl_percent, visit.second_vhl_percent, visit.vhl_percent) == (D("30.1"), D("30.2"), D("30.15"))
    assert visit.vhl_difference_percent == D("12.35")  # 30.15 − 17.8


def test_a_second_readers_value_without_the_firsts_is_refused(signed_in, case_two):
    response = signed_in.post(
        visit_url(case_two),
        {
            "kind": "6m",
            "visit_date": "2025-09-10",
            "vas_pain": "3",
            "second_reader_name": "B",
            "second_kyphosis_angle_deg": "20",
        },
    )
    assert "Enter the first reader&#x27;s kyphosis angle too" in text(response)
    assert Visit.objects.count() == 0


# -- smaller wrong turns ----------------------------------------------------------------------------


def test_a_negative_vhl_from_heights_is_saved_with_a_warning(signed_in, patient, second_case):
    del second_case["vhl_percent"]
    heights = {
        "fractured_anterior_mm": "32",
        "fractured_posterior_mm": "32",
        "cranial_anterior_mm": "30",
        "cranial_posterior_mm": "30",
        "caudal_anterior_mm": "30",
        "caudal_posterior_mm": "30",
    }
    response = signed_in.post(new_assessment_url(patient), {**second_case, **heights}, follow=True)
    fracture = Fracture.objects.get()
    assert fracture.vhl_percent == D("-6.7") and fracture.score_components["vertebral_height_loss"]["points"] == 0
    assert "The VHL from the six heights is −6.7 %: the fractured vertebra measures taller" in text(response)


def test_a_negative_vhl_is_said_on_the_preview_too(signed_in, patient, second_case):
    del second_case["vhl_percent"]
    heights = {
        f"{name}_mm": "30" for name in ("cranial_anterior", "cranial_posterior", "caudal_anterior", "caudal_posterior")
    }
    heights |= {"fractured_anterior_mm": "31", "fractured_posterior_mm": "31"}
    response = signed_in.post(new_assessment_url(patient), {**second_case, **heights, "preview": "1"})
    assert "is −3.3 %: the fractured vertebra measures taller" in text(response)


def test_a_total_of_12_says_it_is_beyond_the_papers_data(signed_in, patient, make_fracture):
    fracture = make_fracture(patient, fracture_type="burst")
    assert fracture.total_score == 12
    page = text(signed_in.get(fracture.get_absolute_url()))
    assert "A total of 12 lies beyond the paper&#x27;s data: its 208 patients scored 0 to 10." in page


def test_a_total_of_10_has_no_extrapolation_note(signed_in, case_two):
    assert "lies beyond the paper" not in text(signed_in.get(case_two.get_absolute_url()))


def test_the_odi_sections_are_answered_in_words(signed_in, patient):
    page = text(signed_in.get(new_assessment_url(patient)))
    assert "1 · Pain intensity" in page
    assert '<option value="0">0 · no pain at the moment</option>' in page
    assert '<option value="5">5 · only to receive treatment</option>' in page


@pytest.mark.parametrize("url", ["new_assessment", "new_visit"])
def test_each_form_carries_its_csrf_token_once(signed_in, case_two, url):
    page = text(signed_in.get(new_assessment_url(case_two.patient) if url == "new_assessment" else visit_url(case_two)))
    form = page[page.index('<form method="post" novalidate') :]
    form = form[: form.index("</form>")]
    assert form.count('name="csrfmiddlewaretoken"') == 1


def test_a_saved_assessment_keeps_its_rules_version_until_it_is_saved_again(signed_in, case_two, second_case):
    Fracture.objects.filter(pk=case_two.pk).update(rules_version="NASOVCF-2025")
    signed_in.get(case_two.get_absolute_url())
    case_two.refresh_from_db()
    assert case_two.rules_version == "NASOVCF-2025"
    signed_in.post(f"/assessments/{case_two.pk}/edit/", {**second_case, "version": case_two.version})
    case_two.refresh_from_db()
    assert case_two.rules_version == rules.RULES_VERSION == "NASOVCF-2025.2"


def test_a_patient_registration_sent_twice_registers_once(signed_in):
    token = token_of(signed_in.get("/patients/new/"))
    data = {"mrn": "TWICE-1", "name": "Sent Twice", "sex": "F", "date_of_birth": "1950-01-01", "submission": token}
    first = signed_in.post("/patients/new/", data)
    second = signed_in.post("/patients/new/", data)
    assert first.status_code == second.status_code == 302 and second.url == first.url
    from scoring.models import Patient

    assert Patient.objects.filter(mrn="TWICE-1").count() == 1


def test_the_favicon_is_served_to_anyone(client):
    """/favicon.ico, which browsers ask for on every page, redirects to the icon in the static files."""
    from django.contrib.staticfiles import finders
    from django.templatetags.static import static

    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response.url == static("favicon.ico")
    with open(finders.find("favicon.ico"), "rb") as icon:
        assert icon.read(4) == b"\x00\x00\x01\x00"  # an ICO file
    assert f'<link rel="icon" href="{static("favicon.ico")}"' in text(client.get("/accounts/login/"))


def test_a_question_reads_as_a_question_not_an_error(signed_in, case_two, second_case):
    response = signed_in.post(new_assessment_url(case_two.patient), second_case)
    assert "Not saved yet: please read the question below, then save again to confirm." in text(response)
    assert "please correct what is marked below" not in text(response)


def test_the_navigation_names_the_user_by_full_name(client, make_user):
    user = make_user("drsmith")
    user.first_name, user.last_name = "Anna", "Smith"
    user.save()
    client.force_login(user)
    assert "Signed in as <strong>Anna Smith</strong>" in text(client.get("/patients/"))


def test_the_worklist_offers_record_only_once_a_visits_window_has_opened(signed_in, make_patient, make_fracture):
    """Due this week but not open yet (the 1-month window opens on day 23): the row says when it
    opens instead of a Record button whose form would refuse today's date."""
    open_now = started(make_patient, make_fracture, "OPEN", 25)
    opens_soon = started(make_patient, make_fracture, "SOON", 20)
    page = text(signed_in.get("/worklist/"))
    row = page[page.index('data-row="SOON-1m"') :]
    row = row[: row.index("</tr>")]
    opens = opens_soon.treatment_start_date + datetime.timedelta(days=23)
    assert f"opens {opens.isoformat()}" in row and "Record" not in row
    row = page[page.index('data-row="OPEN-1m"') :]
    assert f'href="/assessments/{open_now.pk}/visits/new/?kind=1m"' in row[: row.index("</tr>")]


# -- found in review ---------------------------------------------------------------------------------


def test_a_treatment_change_sent_twice_goes_where_the_first_went(signed_in, case_two):
    url = f"/assessments/{case_two.pk}/treatment-change/"
    token = token_of(signed_in.get(url))
    data = {"treatment": "vertebroplasty", "changed_on": "2025-04-01", "version": "1", "submission": token}
    assert signed_in.post(url, data).status_code == 302
    second = signed_in.post(url, data)
    assert second.status_code == 302 and second.url == case_two.get_absolute_url()


def test_a_form_sent_again_with_other_values_says_they_were_not_applied(signed_in, patient, second_case):
    token = token_of(signed_in.get(new_assessment_url(patient)))
    signed_in.post(new_assessment_url(patient), {**second_case, "submission": token})
    changed = signed_in.post(
        new_assessment_url(patient), {**second_case, "bmd_t_score": "-2.0", "submission": token}, follow=True
    )
    assert "Not saved: this form had already been saved, and the changes made to it since were not applied." in (
        text(changed)
    )
    assert Fracture.objects.get().bmd_t_score == D("-3.6")


def test_a_registration_from_the_calculator_sent_twice_lands_on_the_assessment_both_times(signed_in):
    token = token_of(signed_in.get("/patients/new/?carry=fracture_type%3Dburst"))
    data = {
        "mrn": "CARRY-2",
        "sex": "F",
        "date_of_birth": "1950-01-01",
        "carry": "fracture_type=burst",
        "submission": token,
    }
    first, second = signed_in.post("/patients/new/", data), signed_in.post("/patients/new/", data)
    assert first.url == second.url and first.url.endswith("/assessments/new/?fracture_type=burst")


def test_a_corrected_date_of_birth_keeps_an_old_score_and_its_rules_version(signed_in, patient, make_fracture):
    """A DOB correction updates the age and its warnings; the score recorded under the earlier rules
    (a two-reader mean rounded: 14.9 and 15.0 → 15.0, 2 points) stays until the assessment is saved."""
    fracture = make_fracture(
        patient,
        vhl_percent=D("15.0"),
        first_vhl_percent=D("14.9"),
        second_vhl_percent=D("15.0"),
        second_reader_name="B",
    )
    Fracture.objects.filter(pk=fracture.pk).update(rules_version="NASOVCF-2025", total_score=10)
    signed_in.post(
        f"/patients/{patient.pk}/edit/",
        {"mrn": patient.mrn, "name": patient.name, "sex": "F", "date_of_birth": "1970-06-01", "version": "1"},
    )
    fracture.refresh_from_db()
    assert (fracture.total_score, fracture.rules_version) == (10, "NASOVCF-2025")
    assert fracture.age_at_assessment == 54
    assert [warning["code"] for warning in fracture.population_warnings] == ["age_below_inclusion"]
    page = text(signed_in.get(fracture.get_absolute_url()))
    assert "rounded to 0.1 under the earlier rules (14.95 % unrounded)" in page
    assert "Scored under the earlier rules NASOVCF-2025" in page


def test_an_old_one_reader_assessment_has_no_earlier_rules_note(signed_in, case_two):
    Fracture.objects.filter(pk=case_two.pk).update(rules_version="NASOVCF-2025")
    assert "Scored under the earlier rules" not in text(signed_in.get(case_two.get_absolute_url()))


def test_a_confirmed_outcome_change_is_the_reason_on_the_visit_it_turned_too(signed_in, progressive, second_case):
    edit = {
        **second_case,
        "version": progressive.version,
        "second_reader_name": "B",
        "second_kyphosis_angle_deg": "26.6",
    }
    confirmed_post(signed_in, f"/assessments/{progressive.pk}/edit/", edit)
    visit = progressive.visits.get()
    assert visit.progressive_kyphosis is False
    assert visit.history.first().history_change_reason.startswith("This changes the fracture's course")
    latest = progressive.history.first()
    assert latest.progressive_kyphosis is False  # the edit and its course in one history row
    assert progressive.history.filter(history_change_reason__startswith="This changes").count() == 1


def test_archiving_twice_writes_once(signed_in, case_two, user):
    services.set_archived(record=case_two, archived=True, user=user, reason="Entered twice")
    services.set_archived(record=case_two, archived=True, user=user, reason="Entered twice")
    assert case_two.history.filter(history_change_reason__startswith="Archived").count() == 1


def test_a_vhl_that_rounds_to_zero_is_shown_as_0_0_not_minus_0_0(signed_in, patient, make_fracture):
    fracture = make_fracture(patient, vhl_percent=D("-0.04"))
    assert fracture.score_components["vertebral_height_loss"]["value"] == D("0.0")
    assert "−0.0" not in text(signed_in.get(fracture.get_absolute_url()))


def test_the_patient_page_says_when_no_visit_is_due_because_they_were_missed(signed_in, make_patient, make_fracture):
    fracture = started(make_patient, make_fracture, "ALLMISSED", 400)
    page = text(signed_in.get(fracture.patient.get_absolute_url()))
    assert "None due (a scheduled visit was missed: see the fracture&#x27;s schedule)" in page
