"""The follow-up schedule and the worklist's rule (spec §3, scoring/followup.py), without a database."""

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scoring import followup
from scoring.followup import DueStatus, VisitKind

day = datetime.date.fromisoformat


SCHEDULE = followup.schedule()


ONE, THREE, SIX = SCHEDULE


START = day("2025-01-01")


def test_visits_fall_due_30_90_and_180_days_after_treatment_starts():
    assert [v.due(START) for v in SCHEDULE] == [day("2025-01-31"), day("2025-04-01"), day("2025-06-30")]


def test_windows_come_from_settings_and_default_to_7_14_30_days():
    assert [v.window_days for v in SCHEDULE] == [7, 14, 30]
    assert [v.window_days for v in followup.schedule({"1m": 3})] == [3, 14, 30]


@pytest.mark.parametrize(
    ("today", "status"),
    [
        ("2025-01-16", DueStatus.UPCOMING),  # window opens 01-24: more than a week away
        ("2025-01-17", DueStatus.DUE_SOON),  # opens in exactly 7 days
        ("2025-02-07", DueStatus.DUE_SOON),  # last day of the window
        ("2025-02-08", DueStatus.OVERDUE),  # the window closed yesterday
    ],
)
def test_one_month_visit_status_at_its_window_edges(today, status):
    assert followup.due_status(ONE, START, day(today)) is status


def test_bone_union_can_be_assessed_from_the_six_month_window():
    assert followup.six_month_assessment_from(START, SCHEDULE) == day("2025-05-31")


def listed_by_definition(visit_index, start, today, overdue_days, until):
    """The worklist rule written directly on dates, to check the start-date arithmetic."""
    visit = SCHEDULE[visit_index]
    if visit.window_opens(start) > until:
        return False
    if visit.window_closes(start) < today - datetime.timedelta(days=overdue_days):
        return False
    return not (visit_index + 1 < len(SCHEDULE) and SCHEDULE[visit_index + 1].window_opens(start) <= today)


@given(
    st.integers(0, 2),
    st.dates(datetime.date(2024, 1, 1), datetime.date(2026, 12, 31)),
    st.dates(datetime.date(2024, 1, 1), datetime.date(2026, 12, 31)),
    st.integers(0, 120),
    st.integers(0, 60),
)
def test_expected_visits_are_listed_exactly_as_the_rule_says(visit_index, start, today, overdue_days, ahead):
    """The stored dates answer "is it on the worklist today?" as the rule itself does."""
    until = today + datetime.timedelta(days=ahead)
    expected = followup.expected_visits(start, SCHEDULE, overdue_days=overdue_days)[visit_index]
    listed = expected.window_opens <= until and expected.listed_until >= today
    assert listed == listed_by_definition(visit_index, start, today, overdue_days, until)


def test_expected_visits_carry_each_visits_due_date_and_window():
    one, _three, six = followup.expected_visits(START, SCHEDULE, overdue_days=90)
    assert (one.kind, one.due, one.window_opens, one.window_closes) == (
        VisitKind.ONE_MONTH,
        day("2025-01-31"),
        day("2025-01-24"),
        day("2025-02-07"),
    )
    assert six.listed_until == six.window_closes + datetime.timedelta(days=90)


def test_a_missed_one_month_visit_gives_way_when_the_three_month_window_opens():
    # three-month window opens on 2025-03-18 (due 04-01 − 14 days): the 1-month visit is listed
    # through 2025-03-17 and no longer on the 18th.
    one_month = followup.expected_visits(START, SCHEDULE, overdue_days=90)[0]
    assert one_month.listed_until == day("2025-03-17")


@given(
    st.integers(0, 2),
    st.dates(datetime.date(2024, 1, 1), datetime.date(2026, 12, 31)),
    st.dates(datetime.date(2024, 1, 1), datetime.date(2026, 12, 31)),
    st.integers(0, 120),
    st.integers(7, 60),
    st.integers(0, 7),
)
def test_the_status_due_ranges_give_each_open_visit_exactly_its_status(
    visit_index, start, today, overdue_days, ahead, soon_days
):
    """The worklist counts statuses as due-date ranges: each visit not yet recorded falls in the
    range of the status the rule gives it (listed: window_status; no longer listed: missed), and
    in no other; a visit not yet listed (its window opens after the horizon) in none."""
    until = today + datetime.timedelta(days=ahead)
    expected = followup.expected_visits(start, SCHEDULE, overdue_days=overdue_days)[visit_index]
    ranges = followup.status_due_ranges(SCHEDULE, today, until, soon_days=soon_days, overdue_days=overdue_days)
    if expected.listed_until < today:
        status = DueStatus.MISSED
    elif expected.window_opens <= until:
        status = followup.window_status(expected.window_opens, expected.window_closes, today, soon_days)
    else:
        status = None
    found = [s for s in DueStatus if ranges[expected.kind, s][0] <= expected.due <= ranges[expected.kind, s][1]]
    assert found == ([status] if status else [])
