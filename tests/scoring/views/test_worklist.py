"""The worklist (scoring/views/worklist.py): the visits due, their pages and order, the navigation
count, and the stored expected visits it reads (spec §3)."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from scoring import followup, services
from scoring.models import ExpectedVisit, Fracture, Visit, visit_schedule
from tests.conftest import started
from tests.scoring.views.conftest import _many, text, visit_url

pytestmark = pytest.mark.django_db

D = Decimal


def rows(response):
    page = text(response)
    return sorted(part.split('"')[0] for part in page.split('data-row="')[1:])


def test_worklist_lists_overdue_due_and_upcoming_visits(signed_in, make_patient, make_fracture):
    started(make_patient, make_fracture, "DUE", 30)  # 1-month visit due today
    started(make_patient, make_fracture, "SOON", 18)  # 1-month window opens in 5 days
    started(make_patient, make_fracture, "LATER", 5)  # 1-month window opens in 18 days
    started(make_patient, make_fracture, "LATE", 45)  # 1-month window closed 8 days ago
    started(make_patient, make_fracture, "FAR", 0)  # opens in 23 days, within 28
    started(make_patient, make_fracture, "SURG", 30, treatment="vertebroplasty")
    response = signed_in.get("/worklist/")
    assert rows(response) == ["DUE-1m", "FAR-1m", "LATE-1m", "LATER-1m", "SOON-1m"]
    page = text(response)
    assert page.count('class="badge status-overdue"') == 1
    assert page.count('class="badge status-due_soon"') == 2
    assert page.count('class="badge status-upcoming"') == 2
    assert rows(signed_in.get("/worklist/?status=overdue")) == ["LATE-1m"]


def test_a_missed_visit_gives_way_to_the_next_one_when_its_window_opens(signed_in, make_patient, make_fracture):
    started(make_patient, make_fracture, "MISSED", 77)  # 3-month window opened yesterday
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
    signed_in.post(
        f"/assessments/{fracture.pk}/treatment-change/",
        {"treatment": "kyphoplasty", "changed_on": timezone.localdate().isoformat(), "version": "1"},
    )
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
            expected.append(
                {
                    "mrn": fracture.patient.mrn,
                    "kind": visit.kind.value,
                    "order": order,
                    "pk": fracture.pk,
                    "due": visit.due(start),
                    "status": list(followup.DueStatus).index(row_status),
                }
            )
    return expected


WORKLIST_ORDER = {
    "due": lambda r: (r["due"], r["mrn"], r["pk"], r["order"]),
    "mrn": lambda r: (r["mrn"], r["due"], r["pk"], r["order"]),
    "visit": lambda r: (r["order"], r["due"], r["mrn"], r["pk"]),
    "status": lambda r: (r["status"], r["due"], r["mrn"], r["pk"], r["order"]),
}


@pytest.mark.parametrize("status", ["", "overdue", "due_soon", "upcoming"])
@pytest.mark.parametrize("sort", ["due", "-due", "mrn", "-mrn", "visit", "-visit", "status", "-status"])
def test_worklist_pages_hold_every_row_once_in_the_order_asked(
    signed_in, make_patient, make_fracture, settings, sort, status
):
    """The pages are merged from each visit's own sorted list: walked end to end, they must give
    exactly the rows the rule lists, in the order asked, with the right counts."""
    settings.PAGE_SIZE = 4
    for n, days_ago in enumerate(
        [
            3,
            8,
            10,
            12,
            14,
            20,
            25,
            30,
            30,
            35,
            40,
            45,
            50,
            55,
            60,
            65,
            80,
            85,
            90,
            95,
            100,
            140,
            150,
            170,
            180,
            200,
            240,
            260,
        ]
    ):
        fracture = started(make_patient, make_fracture, f"W{(n * 11) % 29:02d}", days_ago)
        if n % 4 == 0:
            Visit.objects.create(
                fracture=fracture,
                kind="1m",
                visit_date=fracture.assessment_date,
                vas_pain=D(3),
                created_by=fracture.created_by,
                updated_by=fracture.created_by,
            )
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
        assert (
            f'active" aria-current="page" href="?status={status}&amp;sort={sort}" data-status="{status}">' in page_text
        )
    assert f"{len(expected)} visits" in page_text


@pytest.mark.parametrize("url", ["/worklist/", "/worklist/?status=overdue&sort=mrn", "/patients/"])
def test_worklist_and_list_queries_do_not_grow_with_the_number_of_patients(
    signed_in, make_patient, make_fracture, django_assert_max_num_queries, url
):
    _many(make_patient, make_fracture, "S", 5)
    with django_assert_max_num_queries(15) as small:
        signed_in.get(url)
    _many(make_patient, make_fracture, "L", 120)
    with django_assert_max_num_queries(len(small.captured_queries)):
        signed_in.get(url)


def test_the_navigation_count_follows_every_save(signed_in, make_patient, make_fracture):
    due = started(make_patient, make_fracture, "DUE", 30)
    assert 'data-testid="worklist-count">1<' in text(signed_in.get("/patients/"))
    started(make_patient, make_fracture, "ALSO", 30)
    assert 'data-testid="worklist-count">2<' in text(signed_in.get("/patients/"))
    signed_in.post(visit_url(due), {"kind": "1m", "visit_date": timezone.localdate().isoformat(), "vas_pain": "5"})
    assert 'data-testid="worklist-count">1<' in text(signed_in.get("/patients/"))
    assert rows(signed_in.get("/worklist/")) == ["ALSO-1m"]


def test_a_visit_never_recorded_moves_to_missed(signed_in, make_patient, make_fracture):
    started(make_patient, make_fracture, "GONE", 180 + 30 + 91)  # the 6-month visit lapsed yesterday
    started(make_patient, make_fracture, "SIX", 180 + 30 + 90)
    assert rows(signed_in.get("/worklist/")) == ["SIX-6m"]
    page = text(signed_in.get("/worklist/?status=missed"))
    assert rows(signed_in.get("/worklist/?status=missed")) == ["GONE-1m", "GONE-3m", "GONE-6m", "SIX-1m", "SIX-3m"]
    assert 'class="badge status-missed">Missed · ' in page
    assert 'data-status="missed">Missed <span class="badge text-bg-light">5</span>' in page


def test_expected_visits_follow_the_treatment_start_the_visits_and_the_archive(signed_in, make_patient, make_fracture):
    fracture = started(make_patient, make_fracture, "ROWS", 30)

    def rows_of():
        return list(
            ExpectedVisit.objects.filter(fracture=fracture).order_by("kind").values_list("kind", "due_date", "visit_id")
        )

    start = fracture.treatment_start_date
    assert rows_of() == [
        ("1m", start + datetime.timedelta(days=30), None),
        ("3m", start + datetime.timedelta(days=90), None),
        ("6m", start + datetime.timedelta(days=180), None),
    ]
    signed_in.post(visit_url(fracture), {"kind": "1m", "visit_date": timezone.localdate().isoformat(), "vas_pain": "5"})
    assert rows_of()[0][2] == fracture.visits.get().pk
    signed_in.post(f"/assessments/{fracture.pk}/archive/", {"reason": "Entered twice"})
    assert rows_of() == []
    signed_in.post(f"/assessments/{fracture.pk}/archive/", {"restore": "1"})
    assert len(rows_of()) == 3 and rows_of()[0][2] == fracture.visits.get().pk


def test_the_tables_caption_names_its_order_in_the_readers_language(signed_in, make_patient, make_fracture):
    """The caption a screen reader says: the ?sort= key in English, as before; in Chinese the
    column's name, not an English key read out in a Chinese sentence."""
    from django.conf import settings

    started(make_patient, make_fracture, "DUE", 30)

    assert "Visits due, sorted by -mrn" in signed_in.get("/worklist/?sort=-mrn").content.decode()
    assert "Visits due, sorted by due" in signed_in.get("/worklist/").content.decode()
    signed_in.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    page = signed_in.get("/worklist/?sort=-mrn").content.decode()
    assert (
        "待随访列表，按 患者（降序） 排序" in page and "mrn" not in page.split("<caption", 1)[1].split("</caption>")[0]
    )
