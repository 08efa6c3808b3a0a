"""The fracture page and its print report (issue 11): the visit "Record visit" opens, what became
of each scheduled visit, who entered it, how each reader's values came about, the rules version."""

import datetime
import re
from decimal import Decimal

import pytest
from django.utils import timezone

from scoring import selectors, services
from scoring.models import Fracture, Visit
from tests.conftest import started

from .conftest import text

D = Decimal
pytestmark = pytest.mark.django_db


def record_link(page: str) -> tuple[str, str]:
    """The "Record … visit" button's ?kind= and its words."""
    match = re.search(r'href="/assessments/\d+/visits/new/\?kind=([\w]+)" data-testid="record-visit">([^<]+)<', page)
    assert match, "no Record visit button"
    return match.group(1), match.group(2)


def add_visit(fracture, kind, days_after_start, **fields):
    visit = Visit.objects.create(
        fracture=fracture,
        kind=kind,
        visit_date=fracture.treatment_start_date + datetime.timedelta(days=days_after_start),
        created_by=fracture.created_by,
        updated_by=fracture.created_by,
        **fields,
    )
    services.refresh_course(fracture)
    return visit


# -- "Record visit" opens the visit that is due ---------------------------------------------------


def test_record_visit_opens_the_six_month_visit_the_worklist_lists(signed_in, make_patient, make_fracture):
    """The issue's case: assessed 2026-05-25 under conservative care; on 2026-12-01 the 1- and
    3-month visits are missed and the 6-month visit is due: the button opens it, not the 1-month one."""
    patient = make_patient()
    fracture = make_fracture(patient, assessment_date=datetime.date(2026, 5, 25))
    timeline = selectors.fracture_timeline(fracture, today=datetime.date(2026, 12, 1))
    assert (timeline["next_visit"].kind, timeline["next_visit"].label) == ("6m", "Record 6-month visit")
    # Two months earlier the 3-month visit was the one listed.
    assert selectors.fracture_timeline(fracture, today=datetime.date(2026, 8, 20))["next_visit"].kind == "3m"


@pytest.mark.parametrize(
    ("days_ago", "recorded", "kind", "words"),
    [
        # assessed today: the 1-month window opens on day 23; a visit today can only be unscheduled
        (0, [], "unscheduled", "Record unscheduled visit"),
        (25, [], "1m", "Record 1-month visit"),  # its window is open
        (40, [], "1m", "Record 1-month visit"),  # overdue, still listed: not missed yet
        (40, ["1m"], "unscheduled", "Record unscheduled visit"),  # the 3-month window opens on day 76
        (80, ["1m"], "3m", "Record 3-month visit"),
        (190, [], "6m", "Record 6-month visit"),  # 1 and 3 months missed, 6 months due
        (190, ["1m", "3m", "6m"], "unscheduled", "Record unscheduled visit"),  # all recorded
        (400, [], "unscheduled", "Record unscheduled visit"),  # all missed
    ],
)
def test_record_visit_opens_the_first_visit_whose_window_opened_not_recorded_and_not_missed(
    signed_in, make_patient, make_fracture, days_ago, recorded, kind, words
):
    fracture = started(make_patient, make_fracture, "DUE1", days_ago)
    for n, done in enumerate(recorded):
        add_visit(fracture, done, n)
    assert record_link(text(signed_in.get(fracture.get_absolute_url()))) == (kind, words)


def test_record_visit_is_unscheduled_when_the_treatment_is_not_conservative(signed_in, make_patient, make_fracture):
    fracture = started(make_patient, make_fracture, "VP1", 20, treatment="vertebroplasty")
    assert record_link(text(signed_in.get(fracture.get_absolute_url()))) == (
        "unscheduled",
        "Record unscheduled visit",
    )


def test_record_visit_is_unscheduled_after_a_treatment_change(signed_in, make_patient, make_fracture):
    fracture = started(make_patient, make_fracture, "TC1", 20)
    Fracture.objects.filter(pk=fracture.pk).update(
        treatment_changed_to="kyphoplasty", treatment_changed_on=timezone.localdate() - datetime.timedelta(days=2)
    )
    fracture.refresh_from_db()
    services.sync_expected_visits(fracture)
    assert record_link(text(signed_in.get(fracture.get_absolute_url())))[0] == "unscheduled"


# -- what became of each scheduled visit ------------------------------------------------------------


def test_missed_visits_read_missed_in_the_schedule_and_the_visits_table(signed_in, make_patient, make_fracture):
    fracture = started(make_patient, make_fracture, "MISS1", 190)
    page = text(signed_in.get(fracture.get_absolute_url()))
    assert "— not recorded" not in page  # the schedule's old words for a missed visit
    for kind in ("1m", "3m"):
        assert re.search(rf'data-kind="{kind}" data-status="missed">[^<]*<strong>missed</strong>', page), kind
        assert f'data-missed="{kind}"' in page  # a row of the visits table, at its due date
    assert re.search(r'data-kind="6m" data-status="due_soon">[^<]*due now or this week', page)
    assert 'data-missed="6m"' not in page
    # In date order: pretreatment, the missed 1- and 3-month rows, then a recorded unscheduled visit.
    add_visit(fracture, "unscheduled", 100)
    page = text(signed_in.get(fracture.get_absolute_url()))
    order = [page.index(marker) for marker in ('data-missed="1m"', 'data-missed="3m"', 'data-visit="unscheduled"')]
    assert order == sorted(order)


def test_a_treatment_other_than_conservative_from_the_start_has_no_schedule(signed_in, make_patient, make_fracture):
    fracture = started(make_patient, make_fracture, "VP2", 190, treatment="vertebroplasty")
    page = text(signed_in.get(fracture.get_absolute_url()))
    assert "treatment changed" not in page and "missed" not in page
    assert "No follow-up schedule applies: the treatment chosen at the assessment, vertebroplasty, is not" in page
    assert "the worklist follow conservative care only" in page
    assert "data-status=" not in page  # no scheduled visit listed, missed or expected


def test_a_real_treatment_change_marks_the_visits_still_to_come_not_expected(signed_in, make_patient, make_fracture):
    fracture = started(make_patient, make_fracture, "TC2", 190)
    add_visit(fracture, "1m", 30)
    # Changed to kyphoplasty at day 60: the 3- and 6-month visits were still to come.
    Fracture.objects.filter(pk=fracture.pk).update(
        treatment_changed_to="kyphoplasty", treatment_changed_on=fracture.treatment_start_date + datetime.timedelta(60)
    )
    page = text(signed_in.get(fracture.get_absolute_url()))
    assert re.search(r'data-kind="1m" data-status="recorded">[^<]*recorded', page)
    for kind in ("3m", "6m"):
        assert re.search(
            rf'data-kind="{kind}" data-status="not_expected">[^<]*not expected \(treatment changed\)', page
        )
    assert "missed" not in page


# -- who entered it ---------------------------------------------------------------------------------


def test_users_are_named_by_their_full_name_on_the_page_and_the_report(client, make_user, make_patient, make_fracture):
    smith = make_user(username="drsmith", first_name="Anna", last_name="Smith")
    client.force_login(smith)
    fracture = make_fracture(make_patient())
    Fracture.objects.filter(pk=fracture.pk).update(created_by=smith, updated_by=smith)
    page = text(client.get(fracture.get_absolute_url()))
    assert "Entered by Anna Smith on" in page and "last changed by Anna Smith on" in page
    assert "drsmith" not in page.replace("Signed in as <strong>drsmith</strong>", "")
    report = text(client.get(f"/assessments/{fracture.pk}/print/"))
    assert "by Anna Smith" in report and "entered by Anna Smith" in report and "drsmith" not in report


# -- how each reader's values came about ------------------------------------------------------------

# Reader 1 measured six heights (VHL 14.0 %), reader 2 typed 15.9 %: the mean 14.95 % is scored, not rounded.
TWO_READERS = {
    "vhl_percent": D("14.95"),
    "fractured_anterior_mm": D("25.8"),
    "fractured_posterior_mm": D("25.8"),
    "cranial_anterior_mm": D("30"),
    "cranial_posterior_mm": D("30"),
    "caudal_anterior_mm": D("30"),
    "caudal_posterior_mm": D("30"),
    "first_reader_name": "Dr Ada Reader",
    "first_vhl_percent": D("14.0"),
    "first_kyphosis_angle_deg": D("12.0"),
    "second_reader_name": "Dr Bo Second",
    "second_vhl_entered_percent": D("15.9"),
    "second_vhl_percent": D("15.9"),
    "second_kyphosis_angle_deg": D("18.1"),
    "kyphosis_angle_deg": D("15.05"),
}


def test_each_readers_vhl_says_how_it_came_about_and_the_mean_is_scored_unrounded(
    signed_in, make_patient, make_fracture
):
    fracture = make_fracture(make_patient(), **TWO_READERS)
    page = text(signed_in.get(fracture.get_absolute_url()))
    assert "(from six heights)</dd>" not in page  # the old claim, for a mean of two readings
    assert "14.95 % (the mean of two readers, not rounded: reader 1 from six heights, reader 2 typed)" in page
    assert "15.05° (the mean of two readers, not rounded)" in page
    assert "Reader 1: Dr Ada Reader</span>: VHL 14.0 % from six heights, KA 12.0°" in page
    assert "Reader 2: Dr Bo Second</span>: VHL 15.9 % typed, KA 18.1°" in page
    assert "Mean scored</span> (not rounded): VHL 14.95 %, KA 15.05°" in page
    assert "Readers differ by more than 5 % or 5°" in page  # 12.0° and 18.1°
    assert "Reader 2: heights" not in page  # reader 2 typed: no heights of theirs to show


def test_one_readers_vhl_from_heights_or_typed_says_so(signed_in, make_patient, make_fracture):
    heights = {key: value for key, value in TWO_READERS.items() if key.endswith("_mm")}
    measured = make_fracture(make_patient(mrn="ONE1"), vhl_percent=D("14.0"), **heights)
    page = text(signed_in.get(measured.get_absolute_url()))
    assert "14.0 % (from six heights)" in page and "Reader 1" not in page and "Mean scored" not in page
    typed = make_fracture(make_patient(mrn="ONE2"), vhl_entered_percent=D("17.8"))
    assert "17.8 % (typed)" in text(signed_in.get(typed.get_absolute_url()))


def test_a_follow_up_films_second_reader_shows_with_the_mean_and_the_flag(signed_in, make_patient, make_fracture):
    fracture = started(make_patient, make_fracture, "VR1", 190)
    add_visit(
        fracture,
        "6m",
        180,
        first_reader_name="Dr Ada Reader",
        first_kyphosis_angle_deg=D("24.0"),
        second_reader_name="Dr Bo Second",
        second_kyphosis_angle_deg=D("30.1"),
        kyphosis_angle_deg=D("27.05"),
        vhl_entered_percent=D("20.0"),
        first_vhl_percent=D("20.0"),
        second_vhl_entered_percent=D("21.0"),
        second_vhl_percent=D("21.0"),
        vhl_percent=D("20.5"),
    )
    for url in (fracture.get_absolute_url(), f"/assessments/{fracture.pk}/print/"):
        page = text(signed_in.get(url))
        row = page[page.index('data-readers="6m"') :]
        row = row[: row.index("</tr>")]
        assert "Reader 1: Dr Ada Reader</span>: VHL 20.0 % typed, KA 24.0°" in row, url
        assert "Reader 2: Dr Bo Second</span>: VHL 21.0 % typed, KA 30.1°" in row, url
        assert "Mean compared</span> (not rounded): VHL 20.5 %, KA 27.05°" in row, url
        assert "Readers differ by more than 5 % or 5°" in row, url
        assert "27.05°" in page[page.index('data-visit="6m"') :]


# -- a score saved under earlier rules --------------------------------------------------------------


def test_an_assessment_scored_under_earlier_rules_says_so(signed_in, make_patient, make_fracture):
    """Only where the change could move its score: a film read by two readers."""
    fracture = make_fracture(make_patient(), second_kyphosis_angle_deg=D("19.0"), second_reader_name="B")
    assert 'data-testid="rules-note"' not in text(signed_in.get(fracture.get_absolute_url()))
    Fracture.objects.filter(pk=fracture.pk).update(rules_version="NASOVCF-2025")
    for url in (fracture.get_absolute_url(), f"/assessments/{fracture.pk}/print/"):
        page = text(signed_in.get(url))
        assert "Scored under the earlier rules NASOVCF-2025 (the mean of two readers was rounded to 0.1" in page
        assert "Saving the assessment again scores it anew under NASOVCF-2025.2." in page


# -- the print report -------------------------------------------------------------------------------


def test_the_report_names_the_patient_both_readers_genant_and_the_of_class(signed_in, make_patient, make_fracture):
    patient = make_patient(mrn="PRN001", name="Maria Example")
    fracture = make_fracture(patient, of_class="OF3", **TWO_READERS)
    fracture.apply_genant()
    fracture.save()
    page = text(signed_in.get(f"/assessments/{fracture.pk}/print/"))
    head = page[page.index('data-testid="running-head"') :]
    assert head.index("PRN001") < head.index("Maria Example") < head.index("</div>")
    assert "Genant grade (height-based approximation)" in page and "grade 0 (largest height reduction" in page
    assert "OF 3: deformation of one endplate" in page
    assert "Reader 1: Dr Ada Reader" in page and "Reader 2: Dr Bo Second" in page
    assert "Mean scored</span> (not rounded): VHL 14.95 %, KA 15.05°" in page
    assert "Scheduled visits: 1 month (due" in page
