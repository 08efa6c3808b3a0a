"""The schedule at the calendar's end (scoring/followup.py): a start date whose visits would fall
past 9999-12-31 is refused with ScheduleOutOfRange (a ValueError with a code), never an
OverflowError, and never a date quietly moved. Without a database."""

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scoring import followup

SCHEDULE = followup.schedule()
day = datetime.date.fromisoformat

# The 6-month visit falls due 180 days after the start: 9999-07-04 + 180 days is 9999-12-31.
LAST_START_WITH_A_DUE_DATE = day("9999-07-04")


def test_a_start_whose_six_month_visit_falls_in_year_10000_is_out_of_range():
    six = SCHEDULE[-1]
    assert six.due(LAST_START_WITH_A_DUE_DATE) == datetime.date.max
    with pytest.raises(followup.ScheduleOutOfRange) as refused:
        six.due(day("9999-07-05"))
    assert refused.value.code == "schedule_out_of_range"
    assert refused.value.start == day("9999-07-05")
    assert "9999-07-05" in str(refused.value)


@pytest.mark.parametrize("start", ["9999-07-05", "9999-12-31", "9999-06-10"])
def test_every_schedule_function_refuses_a_start_past_the_calendars_end(start):
    start = day(start)
    with pytest.raises(followup.ScheduleOutOfRange):
        followup.expected_visits(start, SCHEDULE, overdue_days=90)
    with pytest.raises(followup.ScheduleOutOfRange):
        followup.check_schedulable(start, SCHEDULE)
    with pytest.raises(followup.ScheduleOutOfRange):
        followup.due_status(SCHEDULE[-1], start, day("2025-01-01"))


def test_the_error_is_a_value_error():
    assert issubclass(followup.ScheduleOutOfRange, ValueError)
    assert not issubclass(followup.ScheduleOutOfRange, OverflowError)


@given(st.dates(min_value=day("1900-01-01"), max_value=day("9999-12-31")))
def test_the_schedule_is_computed_or_refused_never_overflows(start):
    try:
        expected = followup.expected_visits(start, SCHEDULE, overdue_days=90)
    except followup.ScheduleOutOfRange:
        assert start > day("9000-01-01")
    else:
        followup.check_schedulable(start, SCHEDULE)
        assert [visit.due for visit in expected] == [visit.due(start) for visit in SCHEDULE]
