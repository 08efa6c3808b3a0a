"""The worklist's days overdue, its sort by risk group and its Record link (issue 11): a clinician
sees how late each visit is, can take the high-risk fractures first, and one click opens the
visit that is due."""

import datetime
import re
from decimal import Decimal

import pytest

from scoring import presenters
from tests.conftest import started
from tests.scoring.views.conftest import _many, text

pytestmark = pytest.mark.django_db

D = Decimal
# Inputs that score 0 (low risk); VHL 17.8 % adds 2 (medium); the fixture's defaults score 10 (high).
LOW = {"vhl_percent": D("0.5"), "kyphosis_angle_deg": D("4.6"), "t2_signal": "diffuse_high", "bmd_t_score": D("-1.5")}
MEDIUM = {**LOW, "vhl_percent": D("17.8")}


def row_order(page: str) -> list[str]:
    return re.findall(r'data-row="([^"]+)"', page)


def status_of(page: str, row: str) -> str:
    """The status badge's text of one row."""
    return re.search(rf'data-row="{row}"><td><span class="badge status-[a-z_]+">([^<]+)<', page).group(1)


def test_an_overdue_visit_shows_the_days_since_its_window_closed(signed_in, make_patient, make_fracture):
    started(make_patient, make_fracture, "LATE", 45)  # 1-month visit: due day 30, window closed day 37
    started(make_patient, make_fracture, "JUST", 38)  # window closed yesterday
    started(make_patient, make_fracture, "DUE", 30)  # in its window: not overdue
    page = text(signed_in.get("/worklist/"))
    assert status_of(page, "LATE-1m") == "Overdue · 8 days"
    assert status_of(page, "JUST-1m") == "Overdue · 1 day"
    assert status_of(page, "DUE-1m") == "Due now or this week"
    assert "counted from the day the visit's window closed" in page  # the legend says which


def test_a_missed_visit_shows_its_days_overdue_too(signed_in, make_patient, make_fracture):
    started(make_patient, make_fracture, "GONE", 180 + 30 + 91)  # every visit lapsed
    page = text(signed_in.get("/worklist/?status=missed"))
    # The windows closed on days 37, 104 and 210 after the start (±7, ±14, ±30 days).
    assert status_of(page, "GONE-1m") == "Missed · 264 days"
    assert status_of(page, "GONE-3m") == "Missed · 197 days"
    assert status_of(page, "GONE-6m") == "Missed · 91 days"


@pytest.mark.parametrize(
    ("closes_days_ago", "expected"), [(-3, None), (0, None), (1, 1), (40, 40)], ids=["open", "closes", "1", "40"]
)
def test_days_overdue_count_from_the_window_s_close(closes_days_ago, expected):
    today = datetime.date(2026, 12, 1)
    assert presenters.days_overdue(today - datetime.timedelta(days=closes_days_ago), today) == expected


def test_sort_by_group_puts_high_risk_first_and_each_group_in_due_order(signed_in, make_patient, make_fracture):
    started(make_patient, make_fracture, "LOW-EARLY", 40, **LOW)
    started(make_patient, make_fracture, "MED-LATE", 25, **MEDIUM)
    started(make_patient, make_fracture, "HIGH-LATE", 20)
    started(make_patient, make_fracture, "MED-EARLY", 35, **MEDIUM)
    started(make_patient, make_fracture, "HIGH-EARLY", 33)
    page = text(signed_in.get("/worklist/?sort=group"))
    assert row_order(page) == ["HIGH-EARLY-1m", "HIGH-LATE-1m", "MED-EARLY-1m", "MED-LATE-1m", "LOW-EARLY-1m"]
    assert 'aria-sort="ascending"><a class="link-body-emphasis" href="?sort=-group">Group ▲' in page
    reverse = row_order(text(signed_in.get("/worklist/?sort=-group")))
    assert reverse == list(reversed(row_order(page)))


def test_sort_by_group_keeps_the_status_filter(signed_in, make_patient, make_fracture):
    started(make_patient, make_fracture, "LOW-LATE", 45, **LOW)
    started(make_patient, make_fracture, "HIGH-LATE", 44)
    started(make_patient, make_fracture, "HIGH-DUE", 30)
    page = text(signed_in.get("/worklist/?status=overdue&sort=group"))
    assert row_order(page) == ["HIGH-LATE-1m", "LOW-LATE-1m"]
    assert 'href="?status=overdue&amp;sort=-group"' in page


def test_the_group_sort_pages_through_every_row_once(signed_in, make_patient, make_fracture, settings):
    settings.PAGE_SIZE = 4
    for n in range(5):
        started(make_patient, make_fracture, f"H{n}", 20 + n)
        started(make_patient, make_fracture, f"L{n}", 20 + n, **LOW)
    seen = []
    for number in (1, 2, 3):
        seen += row_order(text(signed_in.get(f"/worklist/?sort=group&page={number}")))
    assert seen == [f"H{n}-1m" for n in reversed(range(5))] + [f"L{n}-1m" for n in reversed(range(5))]


@pytest.mark.parametrize("url", ["/worklist/?sort=group", "/worklist/?status=missed&sort=-group"])
def test_the_group_sort_is_one_query_whatever_the_number_of_rows(
    signed_in, make_patient, make_fracture, django_assert_max_num_queries, url
):
    _many(make_patient, make_fracture, "S", 5)
    with django_assert_max_num_queries(15) as small:
        signed_in.get(url)
    _many(make_patient, make_fracture, "L", 120)
    with django_assert_max_num_queries(len(small.captured_queries)):
        signed_in.get(url)


def test_record_opens_the_visit_that_is_due(signed_in, make_patient, make_fracture):
    """The 3-month visit is due: Record opens it (?kind=3m), and the form starts on that kind."""
    fracture = started(make_patient, make_fracture, "THREE", 90)
    page = text(signed_in.get("/worklist/"))
    assert row_order(page) == ["THREE-3m"]
    assert f'href="/assessments/{fracture.pk}/visits/new/?kind=3m"' in page
    form = text(signed_in.get(f"/assessments/{fracture.pk}/visits/new/?kind=3m"))
    assert re.search(r'<option value="3m"[^>]*selected', form)
