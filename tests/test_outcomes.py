"""Outcomes (spec §3) and the follow-up schedule, without a database: every boundary by name."""

import datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scoring import followup, measurements, outcomes
from scoring.followup import DueStatus, VisitKind
from scoring.outcomes import BoneUnion, VisitOutcome

D = Decimal
day = datetime.date.fromisoformat


# -- differences and progressive kyphosis ---------------------------------------------------------

def test_ka_difference_of_exactly_10_0_is_not_progressive_kyphosis():
    assert outcomes.is_progressive_kyphosis(D("10.0")) is False


def test_ka_difference_of_10_1_is_progressive_kyphosis():
    assert outcomes.is_progressive_kyphosis(D("10.1")) is True


def test_ka_difference_of_10_04_rounds_to_10_0_and_is_not_progressive():
    assert outcomes.is_progressive_kyphosis(D("10.04")) is False


def test_first_worked_case_ka_difference_is_1_7_and_not_progressive():
    difference = outcomes.kyphosis_difference(D("6.3"), D("4.6"))
    assert difference == D("1.7")
    assert outcomes.is_progressive_kyphosis(difference) is False


def test_second_worked_case_ka_difference_is_6_4_and_vhl_difference_20_3():
    assert outcomes.kyphosis_difference(D("26.0"), D("19.6")) == D("6.4")
    assert outcomes.height_loss_difference(D("38.1"), D("17.8")) == D("20.3")


def test_kyphosis_that_lessens_gives_a_negative_difference():
    assert outcomes.kyphosis_difference(D("8.0"), D("12.5")) == D("-4.5")


@pytest.mark.parametrize(
    ("union", "non_union"),
    [(BoneUnion.NON_UNION, True), (BoneUnion.UNITED, False), (BoneUnion.NOT_ASSESSED, None), (None, None)],
)
def test_non_union_only_when_recorded_as_such(union, non_union):
    assert outcomes.is_non_union(union) is non_union


# -- the fracture's course ------------------------------------------------------------------------

def visit(date, ka_diff=None, six=False, union=None):
    return VisitOutcome(day(date), None if ka_diff is None else D(ka_diff), six, union)


def test_course_is_unknown_without_visits():
    course = outcomes.fracture_outcome([])
    assert (course.progressive_kyphosis, course.non_union) == (None, None)


def test_course_before_six_months_without_progression_is_still_unknown():
    course = outcomes.fracture_outcome([visit("2025-02-01", "3.0"), visit("2025-04-01", "6.0")])
    assert course.progressive_kyphosis is None


def test_the_fracture_outcome_waits_for_the_six_month_film_as_spec_3_defines_it():
    # a 3-month film at +10.5° is flagged on its visit, but the outcome is the 6-month film's
    course = outcomes.fracture_outcome(
        [visit("2025-04-01", "10.5"), visit("2025-08-01", "9.0", six=True, union=BoneUnion.UNITED)]
    )
    assert course.progressive_kyphosis is False
    assert course.progressive_kyphosis_on == day("2025-08-01")
    assert course.non_union is False


def test_progressive_kyphosis_on_the_six_month_film():
    course = outcomes.fracture_outcome([visit("2025-04-01", "3.0"), visit("2025-08-01", "10.1", six=True)])
    assert course.progressive_kyphosis is True
    assert course.progressive_kyphosis_on == day("2025-08-01")


def test_the_first_film_at_six_months_or_later_decides_not_a_later_one():
    course = outcomes.fracture_outcome([visit("2025-08-01", "4.0", six=True), visit("2025-12-01", "12.0", six=True)])
    assert course.progressive_kyphosis is False


def test_an_early_film_alone_leaves_the_outcome_unknown():
    assert outcomes.fracture_outcome([visit("2025-04-01", "15.0")]).progressive_kyphosis is None


def test_six_month_film_within_10_degrees_means_no_progressive_kyphosis():
    course = outcomes.fracture_outcome([visit("2025-08-01", "10.0", six=True)])
    assert course.progressive_kyphosis is False
    assert course.progressive_kyphosis_on == day("2025-08-01")


def test_union_status_is_the_first_assessed_at_six_months_or_later():
    course = outcomes.fracture_outcome([
        visit("2025-08-01", six=True, union=BoneUnion.NOT_ASSESSED),
        visit("2025-09-01", six=True, union=BoneUnion.NON_UNION),
        visit("2026-03-01", six=True, union=BoneUnion.UNITED),  # a later union does not undo the 6-month finding
    ])
    assert course.non_union is True and course.non_union_on == day("2025-09-01")


def test_union_recorded_before_six_months_does_not_count():
    assert outcomes.fracture_outcome([visit("2025-04-01", union=BoneUnion.NON_UNION)]).non_union is None


# -- ODI from the questionnaire (spec §2) ----------------------------------------------------------

def test_odi_with_all_ten_sections_answered():
    assert measurements.odi_from_sections([2] * 10) == D("40.0")


def test_odi_with_unanswered_sections_leaves_them_out_of_the_denominator():
    # 9 answered, sum 17: 17 / 45 × 100 = 37.777… → 37.8
    assert measurements.odi_from_sections([2, 2, 2, 2, 2, 2, 2, None, 2, 1]) == D("37.8")


def test_odi_with_no_section_answered_is_none():
    assert measurements.odi_from_sections([None] * 10) is None


def test_odi_refuses_a_section_above_5():
    with pytest.raises(ValueError):
        measurements.odi_from_sections([6] + [0] * 9)


@given(st.lists(st.one_of(st.none(), st.integers(0, 5)), min_size=10, max_size=10))
def test_odi_is_always_between_0_and_100(sections):
    odi = measurements.odi_from_sections(sections)
    assert odi is None or D(0) <= odi <= D(100)


# -- the schedule (spec §3) ------------------------------------------------------------------------

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
        ("2025-01-16", DueStatus.UPCOMING),   # window opens 01-24: more than a week away
        ("2025-01-17", DueStatus.DUE_SOON),   # opens in exactly 7 days
        ("2025-02-07", DueStatus.DUE_SOON),   # last day of the window
        ("2025-02-08", DueStatus.OVERDUE),    # the window closed yesterday
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
    if visit_index + 1 < len(SCHEDULE) and SCHEDULE[visit_index + 1].window_opens(start) <= today:
        return False
    return True


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
    one, three, six = followup.expected_visits(START, SCHEDULE, overdue_days=90)
    assert (one.kind, one.due, one.window_opens, one.window_closes) == (VisitKind.ONE_MONTH, day("2025-01-31"),
                                                                       day("2025-01-24"), day("2025-02-07"))
    assert six.listed_until == six.window_closes + datetime.timedelta(days=90)


def test_a_missed_one_month_visit_gives_way_when_the_three_month_window_opens():
    # three-month window opens on 2025-03-18 (due 04-01 − 14 days): the 1-month visit is listed
    # through 2025-03-17 and no longer on the 18th.
    one_month = followup.expected_visits(START, SCHEDULE, overdue_days=90)[0]
    assert one_month.listed_until == day("2025-03-17")
