"""The eligibility filter (cohort/data.py, spec §4): the paper's inclusion criteria, each at its
boundary, with the pure core's thresholds; what the app cannot check."""

import datetime
from decimal import Decimal

import pytest

from cohort import data
from cohort.forms import CohortFilterForm
from scoring import rules, services

pytestmark = pytest.mark.django_db

D = Decimal
ASSESSED = datetime.date(2025, 3, 10)  # make_fracture's assessment date
SEEN = datetime.date(2025, 9, 10)
OUTSIDE = "outside the paper's eligibility criteria"
LABELS = dict(data.ELIGIBILITY)


@pytest.fixture
def fracture(make_patient, make_fracture):
    """A fracture of conservative care with a 6-month outcome, its patient born on `born` (the
    second worked case: 71, T11, fall, T −3.6: inside every criterion unless told)."""

    def make(mrn="EL1", born=datetime.date(1953, 6, 1), patient=None, **fields):
        patient = patient or make_patient(mrn=mrn, date_of_birth=born)
        made = make_fracture(patient, **fields)
        type(made).objects.filter(pk=made.pk).update(non_union=False, non_union_on=SEEN)
        return made

    return make


def reason(frame, fracture) -> str:
    return dict(data.EXCLUSIONS).get(frame.set_index("id").loc[fracture.pk, "exclusion"], "")


def read(eligible: bool):
    return data.read(data.CohortFilter(eligible=eligible), data.ANALYSIS_COLUMNS)


def failing(fracture) -> list[str]:
    """The criteria this fracture fails, by label (the filter off: every counted fracture)."""
    frame = read(eligible=False)
    failures = data.eligibility_failures(frame.set_index("id").loc[[fracture.pk]])
    return [LABELS[key] for key in failures.columns if failures[key].iloc[0]]


def test_the_second_worked_case_is_inside_every_criterion(fracture):
    inside = fracture()
    assert failing(inside) == []
    assert reason(read(eligible=True), inside) == ""


def test_the_filter_off_counts_a_fracture_outside_the_criteria(fracture):
    young = fracture(born=datetime.date(1990, 1, 1))
    assert reason(read(eligible=False), young) == ""
    assert reason(read(eligible=True), young) == OUTSIDE


@pytest.mark.parametrize(
    ("born", "age", "inside"),
    [
        (datetime.date(1965, 3, 11), 59, False),  # 60 the day after the assessment
        (datetime.date(1965, 3, 10), 60, True),  # 60 on the day of the assessment
    ],
)
def test_age_59_is_outside_and_age_60_inside(fracture, born, age, inside):
    made = fracture(born=born)
    assert made.age_at_assessment == age
    assert failing(made) == ([] if inside else [f"age ≥ {rules.MINIMUM_VALIDATED_AGE_YEARS}"])
    assert reason(read(eligible=True), made) == ("" if inside else OUTSIDE)


@pytest.mark.parametrize(
    ("t_score", "inside"),
    [("-1.0", True), ("-0.9", False), ("-7.0", True)],
)
def test_t_score_minus_1_0_is_inside_and_minus_0_9_outside(fracture, t_score, inside):
    made = fracture(bmd_t_score=D(t_score))
    assert failing(made) == ([] if inside else ["BMD T-score ≤ −1.0"])
    assert reason(read(eligible=True), made) == ("" if inside else OUTSIDE)


@pytest.mark.parametrize(
    ("level", "inside"),
    [("T10", False), ("T11", True), ("T12", True), ("L1", True), ("L2", True), ("L3", False)],
)
def test_levels_t11_to_l2_are_inside_and_t10_and_l3_outside(fracture, level, inside):
    made = fracture(level=level)
    assert failing(made) == ([] if inside else ["level T11–L2"])
    assert reason(read(eligible=True), made) == ("" if inside else OUTSIDE)


def test_high_energy_trauma_is_outside(fracture):
    made = fracture(low_energy_trauma=False)
    assert failing(made) == ["low-energy trauma"]
    assert reason(read(eligible=True), made) == OUTSIDE


def test_a_patient_with_two_fractures_is_outside_until_one_is_archived(fracture, make_patient, user):
    """Single-level: the patient has no other fracture in the database that is not archived, whatever
    the filter's dates or level select."""
    patient = make_patient(mrn="TWO", date_of_birth=datetime.date(1950, 1, 1))
    first = fracture(patient=patient, level="T12")
    second = fracture(patient=patient, level="L1", assessment_date=datetime.date(2025, 6, 1))
    single = fracture(mrn="ONE")
    assert failing(first) == failing(second) == ["a single-level fracture (no other fracture of the patient recorded)"]
    assert failing(single) == []
    only_l1 = data.read(data.CohortFilter(level="L1", eligible=True), data.ANALYSIS_COLUMNS)
    assert reason(only_l1, second) == OUTSIDE  # the T12 fracture is not in the selection, yet counts
    services.set_archived(record=first, archived=True, user=user, reason="Entered twice")
    assert failing(second) == []
    assert reason(read(eligible=True), second) == ""


def test_a_fracture_can_fail_several_criteria_and_each_is_counted(fracture):
    fracture(mrn="A", born=datetime.date(1990, 1, 1), level="L4", bmd_t_score=D("0.5"))
    fracture(mrn="B", level="T10")
    fracture(mrn="C")
    frame = read(eligible=True)
    assert data.eligibility_counts(frame) == [
        ("age ≥ 60", 1),
        ("level T11–L2", 2),
        ("low-energy trauma", 0),
        ("BMD T-score ≤ −1.0", 1),
        ("a single-level fracture (no other fracture of the patient recorded)", 0),
    ]
    assert data.eligibility_counts(read(eligible=False)) == data.eligibility_counts(frame)  # the filter off too
    assert data.exclusion_counts(frame) == [(OUTSIDE, 2)]
    assert len(data.analysed(frame)) == 1


def test_the_counting_rule_comes_first_conservative_care_and_a_6_month_outcome(fracture, make_patient, make_fracture):
    """Conservative treatment and follow-up to 6 months are the counting rule itself: a fracture
    failing them keeps that reason, and is not counted among the criteria's failures."""
    waiting = make_fracture(make_patient(mrn="WAIT", date_of_birth=datetime.date(1990, 1, 1)))
    operated = fracture(mrn="VP", treatment="vertebroplasty", level="L4")
    frame = read(eligible=True)
    assert (reason(frame, waiting), reason(frame, operated)) == ("no 6-month outcome yet", "not conservative care")
    assert all(count == 0 for _, count in data.eligibility_counts(frame))
    assert data.COUNTED_CRITERIA == ("conservative treatment", "follow-up to 6 months (a 6-month outcome known)")


def test_the_criteria_use_the_pure_cores_thresholds():
    assert [label for _, label in data.ELIGIBILITY][:4] == [
        f"age ≥ {rules.MINIMUM_VALIDATED_AGE_YEARS}",
        f"level {rules.VALIDATED_LEVELS[0]}–{rules.VALIDATED_LEVELS[-1]}",
        "low-energy trauma",
        f"BMD T-score ≤ {rules.format_signed(rules.T_SCORE_OSTEOPENIA_UPPER)}",
    ]


def test_the_exclusion_criteria_the_app_does_not_record_are_named_for_a_check_by_hand():
    assert data.NOT_RECORDED_CRITERIA == (
        "secondary osteoporosis (endocrine disease, corticosteroid use)",
        "spinal infection",
        "pathological fracture (primary or metastatic tumour)",
        "severe cardiopulmonary dysfunction",
        "life expectancy under 1 year",
    )


def test_the_filter_carries_the_eligibility_box_in_its_record():
    assert data.CohortFilter(eligible=True).as_dict() == {"eligible": True}
    assert data.CohortFilter().as_dict() == {}
    form = CohortFilterForm({"eligible": "on", "level": "L1"})
    assert form.is_valid()
    cohort_filter = data.CohortFilter(**{k: v for k, v in form.cleaned_data.items() if v})  # as the views do
    assert cohort_filter == data.CohortFilter(level="L1", eligible=True)
