"""The cohort read from the database (cohort/data.py): which fractures are counted, each outcome's
own denominator (issue 14, D7), the analysed frame's columns, one fracture per patient, and the
data's version that keys the page's cache."""

import datetime
import io
import math
from decimal import Decimal

import pandas as pd
import pytest
from django.core.management import call_command

from cohort import data
from scoring import rules, services
from scoring.models import Fracture, Visit
from tests.conftest import SECOND_CASE

pytestmark = pytest.mark.django_db

D = Decimal
SEEN = datetime.date(2025, 9, 10)  # the 6-month visit of a fracture treated from 2025-03-10


def read(**filters) -> pd.DataFrame:
    return data.read(data.CohortFilter(**filters), data.ANALYSIS_COLUMNS)


def reasons(**filters) -> dict[int, str]:
    labels = dict(data.EXCLUSIONS)
    return {row.id: labels.get(row.exclusion, "") for row in read(**filters).itertuples()}


def outcomes(fracture, **fields) -> None:
    """Set the fracture's course as the visits would have left it."""
    Fracture.objects.filter(pk=fracture.pk).update(**fields)


def test_a_treatment_change_after_the_six_month_outcome_keeps_the_fracture_in_the_cohort(make_patient, make_fracture):
    fracture = make_fracture(make_patient(mrn="AUG1"))
    outcomes(
        fracture,
        non_union=True,
        non_union_on=SEEN,
        progressive_kyphosis=False,
        progressive_kyphosis_on=SEEN,
        treatment_changed_to="kyphoplasty",
        treatment_changed_on=datetime.date(2025, 10, 1),
    )
    frame = read()
    assert frame["exclusion"].tolist() == [""]
    analysed = data.analysed(frame)
    assert (analysed["non_union"].tolist(), analysed["progressive_kyphosis"].tolist()) == ([1.0], [0.0])
    outcomes(fracture, treatment_changed_on=datetime.date(2025, 5, 1))
    assert read()["exclusion"].tolist() == ["changed"]


def test_a_treatment_change_before_any_six_month_outcome_is_the_reason_not_the_missing_outcome(
    signed_in, make_patient, make_fracture
):
    """Conservative care abandoned at 3 weeks: no 6-month visit will ever be conservative care's,
    so the reason is the change, not "no 6-month outcome yet"."""
    fracture = make_fracture(make_patient(mrn="CHG1"))
    response = signed_in.post(
        f"/assessments/{fracture.pk}/treatment-change/",
        {"treatment": "kyphoplasty", "changed_on": "2025-04-01", "version": "1"},
    )
    assert response.status_code == 302
    fracture.refresh_from_db()
    assert (fracture.treatment_changed_to, fracture.non_union, fracture.non_union_on) == ("kyphoplasty", None, None)
    assert reasons() == {fracture.pk: "treatment changed"}


def test_a_change_after_one_outcome_but_before_the_other_counts_the_fracture_for_the_first_outcome_only(
    make_patient, make_fracture
):
    """D7: kyphosis seen at 6 months, then vertebroplasty before union was assessed. The fracture
    stays in the kyphosis analysis; its non-union is unknown because the treatment changed."""
    fracture = make_fracture(make_patient(mrn="CHG2"))
    outcomes(
        fracture,
        progressive_kyphosis=False,
        progressive_kyphosis_on=SEEN,
        non_union=True,  # seen after the change: vertebroplasty's outcome, not conservative care's
        non_union_on=datetime.date(2025, 12, 1),
        treatment_changed_to="vertebroplasty",
        treatment_changed_on=datetime.date(2025, 10, 1),
    )
    frame = read()
    assert reasons() == {fracture.pk: ""}
    analysed = data.analysed(frame)
    assert analysed["progressive_kyphosis"].tolist() == [0.0]
    assert math.isnan(analysed["non_union"].iloc[0])
    assert data.outcome_counts(frame) == {
        "non_union": {"known": 0, "missing": [("treatment changed before it", 1)]},
        "progressive_kyphosis": {"known": 1, "missing": []},
    }


def test_a_change_on_the_day_an_outcome_was_seen_counts_as_before_it(make_patient, make_fracture):
    fracture = make_fracture(make_patient(mrn="CHG3"))
    outcomes(
        fracture,
        progressive_kyphosis=True,
        progressive_kyphosis_on=SEEN,
        non_union=False,
        non_union_on=datetime.date(2025, 9, 9),
        treatment_changed_to="kyphoplasty",
        treatment_changed_on=SEEN,
    )
    assert data.outcome_counts(read()) == {
        "non_union": {"known": 1, "missing": []},
        "progressive_kyphosis": {"known": 0, "missing": [("treatment changed before it", 1)]},
    }


def test_a_fracture_treated_otherwise_from_the_start_is_not_conservative_care(make_patient, make_fracture):
    fracture = make_fracture(make_patient(mrn="VP1"), treatment="vertebroplasty")
    outcomes(fracture, non_union=False, non_union_on=SEEN)
    assert reasons() == {fracture.pk: "not conservative care"}


def test_an_archived_fracture_or_patient_is_not_counted(make_patient, make_fracture, user):
    fracture = make_fracture(make_patient(mrn="AR1"))
    other = make_fracture(make_patient(mrn="AR2"))
    for record in (fracture, other):
        outcomes(record, non_union=False, non_union_on=SEEN)
    services.set_archived(record=fracture, archived=True, user=user, reason="Entered twice")
    services.set_archived(record=other.patient, archived=True, user=user, reason="Registered twice")
    assert reasons() == {fracture.pk: "archived", other.pk: "archived"}


def test_one_outcome_known_counts_the_fracture_and_the_other_is_not_assessed_yet(make_patient, make_fracture):
    """D7: before, a fracture missing either outcome left both analyses."""
    waiting = make_fracture(make_patient(mrn="W1"))
    no_film = make_fracture(make_patient(mrn="W2"))
    outcomes(no_film, non_union=False, non_union_on=SEEN)
    frame = read()
    assert reasons() == {waiting.pk: "no 6-month outcome yet", no_film.pk: ""}
    analysed = data.analysed(frame)
    assert analysed["id"].tolist() == [no_film.pk]
    assert analysed["non_union"].tolist() == [0.0]
    assert math.isnan(analysed["progressive_kyphosis"].iloc[0])
    assert data.outcome_counts(analysed) == data.outcome_counts(frame)
    assert data.outcome_counts(frame) == {
        "non_union": {"known": 1, "missing": []},
        "progressive_kyphosis": {"known": 0, "missing": [("not assessed yet", 1)]},
    }
    assert data.exclusion_counts(frame) == [("no 6-month outcome yet", 1)]


def test_each_outcome_has_its_own_denominator(make_patient, make_fracture):
    """The page's sentence: "non-union known for 3; not known for 2: 1 not assessed yet, 1 treatment
    changed before it". Each analysis drops its own outcome's unknowns only."""
    both, *_ = fractures = [make_fracture(make_patient(mrn=f"DN{n}")) for n in range(5)]
    outcomes(both, non_union=True, non_union_on=SEEN, progressive_kyphosis=True, progressive_kyphosis_on=SEEN)
    outcomes(fractures[1], non_union=False, non_union_on=SEEN)
    outcomes(fractures[2], non_union=False, non_union_on=SEEN)
    outcomes(fractures[3], progressive_kyphosis=False, progressive_kyphosis_on=SEEN)
    outcomes(
        fractures[4],
        progressive_kyphosis=False,
        progressive_kyphosis_on=SEEN,
        treatment_changed_to="kyphoplasty",
        treatment_changed_on=datetime.date(2025, 10, 1),
    )
    analysed = data.analysed(read())
    assert len(analysed) == 5
    assert len(analysed.dropna(subset=["non_union"])) == 3
    assert analysed.dropna(subset=["non_union"])["non_union"].sum() == 1.0
    assert len(analysed.dropna(subset=["progressive_kyphosis"])) == 3
    assert data.outcome_counts(analysed) == {
        "non_union": {"known": 3, "missing": [("not assessed yet", 1), ("treatment changed before it", 1)]},
        "progressive_kyphosis": {"known": 3, "missing": [("not assessed yet", 2)]},
    }


def test_outcome_counts_of_a_frame_built_without_the_reasons_count_the_unknowns_as_not_assessed():
    frame = pd.DataFrame({"non_union": [1.0, 0.0, math.nan], "progressive_kyphosis": [0.0, math.nan, math.nan]})
    assert data.outcome_counts(frame) == {
        "non_union": {"known": 2, "missing": [("not assessed yet", 1)]},
        "progressive_kyphosis": {"known": 1, "missing": [("not assessed yet", 2)]},
    }


# -- the analysed frame (issue 14's contract) -------------------------------------------------------

CONTRACT = [
    "id", "patient_id", "assessment_date", "score", "group", "non_union", "progressive_kyphosis", "female",
    "age", "level", "low_energy_trauma", "bmi", "bmd_t_score", "vas_pre", "odi_pre", "vas_1m", "vas_3m",
    "vas_6m", "odi_1m", "odi_3m", "odi_6m", "fracture_type", "t2_signal", "type_points", "vhl_points",
    "ka_points", "t2_points", "bmd_points", "vhl_pre", "ka_pre", "vhl_6m", "ka_6m", "vhl_diff", "ka_diff",
    "genant_grade", "of_class", "first_vhl", "second_vhl", "first_ka", "second_ka",
]  # fmt: skip


def visit(fracture, kind, day, **fields):
    Visit.objects.create(
        fracture=fracture,
        kind=kind,
        visit_date=day,
        created_by=fracture.created_by,
        updated_by=fracture.created_by,
        **fields,
    )


@pytest.fixture
def followed(make_patient, make_fracture):
    """Spec §6's second case (score 10: VHL 2, KA 2, T2 2, BMD 4 points), 152 cm and 50 kg, seen at
    1 and 6 months (no 3-month visit; no ODI at 1 month), a non-union on the 6-month films."""
    fracture = make_fracture(
        make_patient(mrn="FOL1"),
        vas_pain=D("8.0"),
        odi_percent=D("62.0"),
        height_cm=D("152.0"),
        weight_kg=D("50.0"),
        first_vhl_percent=D("17.8"),
        first_kyphosis_angle_deg=D("19.6"),
    )
    visit(fracture, "1m", datetime.date(2025, 4, 10), vas_pain=D("6.5"))
    visit(
        fracture,
        "6m",
        SEEN,
        vas_pain=D("5.0"),
        odi_percent=D("44.0"),
        vhl_percent=D("38.1"),
        kyphosis_angle_deg=D("26.0"),
        bone_union="non_union",
        vacuum_cleft_mri=True,
    )
    services.refresh_course(fracture)
    fracture.refresh_from_db()
    return fracture


def test_the_analysed_frame_has_every_column_of_the_contract(followed):
    analysed = data.analysed(read())
    assert set(CONTRACT) <= set(analysed.columns)
    row = analysed.iloc[0]
    assert (row["id"], row["patient_id"], row["assessment_date"]) == (
        followed.pk,
        followed.patient_id,
        datetime.date(2025, 3, 10),
    )
    assert (row["score"], row["group"], row["level"], row["age"], row["female"]) == (10, "high", "T11", 71.0, 1.0)
    assert analysed["low_energy_trauma"].tolist() == [True]
    assert analysed["low_energy_trauma"].dtype == bool and analysed["age"].dtype == float
    assert row["bmi"] == pytest.approx(50 / 1.52**2)  # 21.64…, not rounded
    assert [row[f"{item}_points"] for item in ("type", "vhl", "ka", "t2", "bmd")] == [0, 2, 2, 2, 4]
    assert (row["non_union"], row["progressive_kyphosis"]) == (1.0, 0.0)  # KA 19.6 → 26.0: +6.4°
    assert (row["vas_pre"], row["odi_pre"], row["vas_1m"], row["vas_6m"], row["odi_6m"]) == (8.0, 62.0, 6.5, 5.0, 44.0)
    assert all(math.isnan(row[column]) for column in ("odi_1m", "vas_3m", "odi_3m", "genant_grade", "second_vhl"))
    assert row["vhl_pre"] + row["vhl_diff"] == row["vhl_6m"] == pytest.approx(38.1)
    assert row["ka_pre"] + row["ka_diff"] == row["ka_6m"] == pytest.approx(26.0)
    assert (row["first_vhl"], row["first_ka"], row["of_class"], row["fracture_type"], row["t2_signal"]) == (
        17.8,
        19.6,
        "",
        "compression",
        "diffuse_low",
    )
    assert all(analysed[column].dtype == float for column in ("vas_1m", "odi_6m", "bmi", "vhl_6m", "genant_grade"))


def test_bmi_is_unknown_without_height_or_weight(make_patient, make_fracture):
    fracture = make_fracture(make_patient(mrn="NOBMI"), height_cm=D("160.0"))
    outcomes(fracture, non_union=False, non_union_on=SEEN)
    assert math.isnan(data.analysed(read())["bmi"].iloc[0])


def test_the_export_read_gives_the_visits_columns_too(followed):
    frame = data.read(data.CohortFilter())
    assert (frame["vas_1m"].iloc[0], frame["odi_6m"].iloc[0]) == (6.5, 44.0)
    assert set(data.COLUMNS) <= set(frame.columns)


def test_reading_the_cohort_takes_two_queries_however_many_fractures(
    make_patient, make_fracture, django_assert_num_queries
):
    """One query for the fractures (their patient's other fractures a subquery), one for all their
    scheduled visits: 20,000 fractures cost what 1 does."""
    for n in range(6):
        fracture = make_fracture(make_patient(mrn=f"Q{n}"))
        for kind, day in (("1m", datetime.date(2025, 4, 10)), ("3m", datetime.date(2025, 6, 10))):
            visit(fracture, kind, day, vas_pain=D(n), odi_percent=D(10 * n))
    make_fracture(Fracture.objects.first().patient, level="L1")  # a patient with two fractures
    with django_assert_num_queries(2):
        frame = data.read(data.CohortFilter(eligible=True), data.ANALYSIS_COLUMNS)
    assert len(frame) == 7
    assert sorted(frame["vas_3m"].dropna().tolist()) == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    with django_assert_num_queries(2):
        data.read(data.CohortFilter())


def test_the_visits_read_are_those_of_the_selected_fractures_only(make_patient, make_fracture):
    kept = make_fracture(make_patient(mrn="SEL1"), level="L1")
    left = make_fracture(make_patient(mrn="SEL2"), level="L2")
    visit(kept, "1m", datetime.date(2025, 4, 10), vas_pain=D("4.0"))
    visit(left, "1m", datetime.date(2025, 4, 10), vas_pain=D("7.0"))
    frame = read(level="L1")
    assert (frame["id"].tolist(), frame["vas_1m"].tolist()) == ([kept.pk], [4.0])


def test_an_empty_cohort_reads_as_an_empty_frame_with_every_column():
    frame = read(eligible=True)
    analysed = data.analysed(frame)
    assert len(analysed) == 0 and set(CONTRACT) <= set(analysed.columns)
    assert data.outcome_counts(frame) == {outcome: {"known": 0, "missing": []} for outcome in data.OUTCOMES}
    assert [count for _, count in data.eligibility_counts(frame)] == [0] * len(data.ELIGIBILITY)
    assert data.exclusion_counts(frame) == [] and data.patients_with_several(analysed) == (0, 0)


# -- one fracture per patient -----------------------------------------------------------------------


def several() -> pd.DataFrame:
    day = datetime.date
    return pd.DataFrame(
        {
            "id": [5, 3, 4, 7, 9, 8],
            "patient_id": [1, 1, 2, 2, 3, 2],
            "assessment_date": [day(2024, 1, 1), day(2024, 1, 1), day(2024, 5, 1), day(2023, 2, 1), day(2022, 1, 1),
                                day(2023, 2, 1)],
        }
    )  # fmt: skip


def test_one_per_patient_keeps_the_earliest_assessment_then_the_lowest_id():
    chosen = data.one_per_patient(several())
    assert chosen["id"].tolist() == [3, 7, 9]  # patient 1: same day, id 3 < 5; patient 2: 2023 (7 < 8)


def test_patients_with_several_counts_the_patients_and_their_fractures():
    assert data.patients_with_several(several()) == (2, 5)
    assert data.patients_with_several(data.one_per_patient(several())) == (0, 0)


# -- the data's version -----------------------------------------------------------------------------


def test_the_data_version_names_the_rules_and_takes_three_queries(django_assert_num_queries):
    with django_assert_num_queries(3):
        version = data.data_version()
    assert version == f"{rules.RULES_VERSION}:0:0:0"


def test_saving_an_assessment_changes_the_data_version(signed_in, patient):
    before = data.data_version()
    response = signed_in.post(f"/patients/{patient.pk}/assessments/new/", dict(SECOND_CASE))
    assert response.status_code == 302 and Fracture.objects.count() == 1
    assert data.data_version() != before


def test_recording_a_visit_changes_the_data_version(signed_in, case_two):
    before = data.data_version()
    response = signed_in.post(
        f"/assessments/{case_two.pk}/visits/new/",
        {"kind": "1m", "visit_date": "2025-04-10", "vas_pain": "6"},
    )
    assert response.status_code == 302 and Visit.objects.count() == 1
    assert data.data_version() != before


def test_archiving_an_assessment_or_a_patient_changes_the_data_version(signed_in, case_two):
    before = data.data_version()
    signed_in.post(f"/assessments/{case_two.pk}/archive/", {"reason": "Wrong level entered"})
    archived = data.data_version()
    assert Fracture.objects.get().is_archived and archived != before
    signed_in.post(f"/patients/{case_two.patient_id}/archive/", {"reason": "Registered twice"})
    assert data.data_version() != archived


def test_deleting_a_visit_changes_the_data_version(followed):
    before = data.data_version()
    Visit.objects.filter(kind="1m").delete()  # a bulk delete still writes each record's history
    assert data.data_version() != before


def test_an_import_changes_the_data_version(followed, tmp_path):
    """The import writes in bulk (bulk_create_with_history): history is kept, the version moves."""
    from cohort import exports

    table = exports.build(data.read(data.CohortFilter()), identified=True)
    table["patient"] = "IMPORTED-1"
    (tmp_path / "cohort.csv").write_bytes(exports.to_csv(table))
    before = data.data_version()
    call_command("import_cohort", str(tmp_path / "cohort.csv"), "--user", "clinician", stdout=io.StringIO())
    assert Fracture.objects.filter(patient__mrn="IMPORTED-1").count() == 1
    assert data.data_version() != before


def test_the_analysis_read_without_djangos_converters_gives_the_orms_frame(followed, make_patient, make_fracture, user):
    """data.fetch reads the rows as the database driver gives them (0.2 s faster at 20,000
    fractures): the frame must be the one the ORM's converters give, value for value and type for type."""
    from django.utils import timezone

    second = make_fracture(followed.patient, level="L1", low_energy_trauma=False)  # two fractures of one patient
    archived = make_fracture(make_patient(mrn="ARC1"), treatment="vertebroplasty")
    Fracture.objects.filter(pk=archived.pk).update(archived_at=timezone.now(), archived_by=user)
    assert second.pk
    fast = data.read(data.CohortFilter(eligible=True), data.ANALYSIS_COLUMNS)
    original = data.fetch
    data.fetch = lambda rows: list(rows)  # the ORM, converters and all
    try:
        slow = data.read(data.CohortFilter(eligible=True), data.ANALYSIS_COLUMNS)
    finally:
        data.fetch = original
    pd.testing.assert_frame_equal(fast, slow)
    assert fast[data.OTHER_FRACTURES].tolist().count(True) == 2
