"""The research exports: de-identified and identified, CSV and XLSX, the data dictionary, the log."""

import csv
import io
import logging

import openpyxl
import pytest
from openpyxl.utils import get_column_letter

from cohort import exports
from cohort.models import ExportLog
from scoring.models import Fracture

pytestmark = pytest.mark.django_db


def rows_of(response):
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_de_identified_csv_has_no_name_mrn_or_dates_and_a_stable_pseudonym(signed_in, demo):
    response = signed_in.get("/cohort/export/?format=csv&identified=0")
    assert response["Content-Disposition"].startswith('attachment; filename="nasovcf-deidentified-')
    header, *rows = rows_of(response)
    assert len(rows) == Fracture.objects.count()
    assert header[:4] == ["patient", "sex", "age_years", "injury_day"]
    assert not {"name", "date_of_birth", "assessment_date", "visit_6m_date", "fracture_id"} & set(header)
    ages = [row[2] for row in rows]
    assert all(age == "90+" or int(age) < 90 for age in ages)
    assert [row[0] for row in rows] == sorted(row[0] for row in rows)  # ordered by pseudonym, not by date
    body = response.content.decode()
    assert "DEMO-" not in body and "Demo Patient" not in body
    patient = rows[0][0]
    assert patient.startswith("P-") and len(patient) == 18
    again = rows_of(signed_in.get("/cohort/export/?format=csv&identified=0"))[1][0]
    assert again == patient  # stable across exports
    assert "visit_6m_ka_deg" in header and "non_union" in header and "included_in_cohort" in header


def test_identified_csv_for_clinicians(signed_in, demo):
    header, first, *_ = rows_of(signed_in.get("/cohort/export/?format=csv&identified=1"))
    assert header[:4] == ["patient", "name", "date_of_birth", "sex"]
    assert first[0].startswith("DEMO-")
    assert "assessment_date" in header and "visit_1m_date" in header


def test_xlsx_export_has_the_data_and_its_dictionary(signed_in, demo):
    response = signed_in.get("/cohort/export/?format=xlsx&identified=0")
    book = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
    assert book.sheetnames == ["fractures", "dictionary"]
    header = [cell.value for cell in next(book["fractures"].iter_rows(max_row=1))]
    assert header[0] == "patient" and "nasovcf_total" in header
    dictionary = [row[0] for row in book["dictionary"].iter_rows(min_row=2, values_only=True)]
    assert set(header) <= set(dictionary)


def test_the_data_dictionary_describes_every_column_of_both_exports(signed_in, demo):
    dictionary = rows_of(signed_in.get("/cohort/dictionary.csv"))
    assert dictionary[0] == ["column", "meaning", "unit", "allowed values", "in", "on import"]
    described = {row[0] for row in dictionary[1:]}
    for identified in ("0", "1"):
        header = rows_of(signed_in.get(f"/cohort/export/?format=csv&identified={identified}"))[0]
        assert set(header) == described if identified == "1" else set(header) <= described
    assert "fracture_id" in described


def test_every_export_is_logged_with_who_when_and_which_filter(signed_in, user, demo, caplog):
    with caplog.at_level(logging.INFO, logger="nasovcf.views"):
        signed_in.get("/cohort/export/?format=csv&identified=1&sex=F&level=L1")
    log = ExportLog.objects.get()
    assert (log.user, log.identified, log.file_format) == (user, True, "csv")
    assert log.filters == {"level": "L1", "sex": "F"}
    assert log.rows == Fracture.objects.filter(patient__sex="F", level="L1").count()
    assert any("export user=clinician identified=True" in r.getMessage() for r in caplog.records)


def test_text_that_a_spreadsheet_would_run_is_defused(signed_in, make_patient, make_fracture):
    make_fracture(make_patient(mrn="F1", name='=HYPERLINK("http://x")'))
    rows = rows_of(signed_in.get("/cohort/export/?format=csv&identified=1"))
    assert rows[1][1] == '\'=HYPERLINK("http://x")'


def test_pseudonym_depends_on_its_own_key_not_the_secret_key(settings, monkeypatch, tmp_path):
    settings.VAR_DIR = tmp_path
    first = exports.pseudonym("MRN1")
    assert (tmp_path / "pseudonym_key").stat().st_mode & 0o777 == 0o600
    settings.SECRET_KEY = "rotated" * 10
    assert exports.pseudonym("MRN1") == first == exports.pseudonym(" mrn1 ")
    monkeypatch.setenv("NASOVCF_PSEUDONYM_KEY", "another key")
    assert exports.pseudonym("MRN1") != first


# -- readers, Genant and the OF class (issue 11) ----------------------------------------------------

READER_COLUMNS = [
    "first_reader_name",
    "first_reader_vhl_pre_percent",
    "first_reader_ka_pre_deg",
    "second_reader_name",
    "second_reader_vhl_pre_percent",
    "second_reader_ka_pre_deg",
]
SIX_MONTH_READER_COLUMNS = [f"visit_6m_{column.replace('_pre', '')}" for column in READER_COLUMNS]


@pytest.fixture
def read_twice(make_patient, make_fracture, user):
    """A fracture whose pretreatment and 6-month films were each read by two readers, the means
    not rounded (14.95 %), with the six heights (a Genant grade) and an OF class."""
    import datetime
    from decimal import Decimal as D

    from scoring import services
    from scoring.models import Visit

    fracture = make_fracture(
        make_patient(mrn="TWO1", name="Reader Case"),
        first_reader_name="Dr Ahn",
        second_reader_name="Dr Baker",
        first_vhl_percent=D("14.9"),
        second_vhl_percent=D("15.0"),
        vhl_percent=D("14.95"),
        first_kyphosis_angle_deg=D("10.1"),
        second_kyphosis_angle_deg=D("10.2"),
        kyphosis_angle_deg=D("10.15"),
        of_class="OF3",
        genant_grade=2,
        genant_reduction_percent=D("33.3"),
    )
    Visit.objects.create(
        fracture=fracture,
        kind="6m",
        visit_date=datetime.date(2025, 9, 10),
        first_reader_name="Dr Ahn",
        second_reader_name="Dr Chen",
        first_vhl_percent=D("20.1"),
        second_vhl_percent=D("20.2"),
        vhl_percent=D("20.15"),
        first_kyphosis_angle_deg=D("12.0"),
        second_kyphosis_angle_deg=D("13.1"),
        kyphosis_angle_deg=D("12.55"),
        bone_union="united",
        created_by=user,
        updated_by=user,
    )
    services.refresh_course(fracture)
    fracture.refresh_from_db()
    return fracture


def row_of(response) -> dict[str, str]:
    header, row = rows_of(response)
    return dict(zip(header, row, strict=True))


def test_the_identified_export_has_both_readers_genant_and_the_of_class(signed_in, read_twice):
    row = row_of(signed_in.get("/cohort/export/?format=csv&identified=1"))
    assert read_twice.score_components["vertebral_height_loss"]["points"] == 0  # the mean 14.95 scored as it is
    assert [row[c] for c in ("vhl_pre_percent", "ka_pre_deg")] == ["14.95", "10.15"]  # the scored mean, unrounded
    assert [row[c] for c in READER_COLUMNS] == ["Dr Ahn", "14.9", "10.1", "Dr Baker", "15.0", "10.2"]
    assert [row[c] for c in ("visit_6m_vhl_percent", "visit_6m_ka_deg")] == ["20.15", "12.55"]
    assert [row[c] for c in SIX_MONTH_READER_COLUMNS] == ["Dr Ahn", "20.1", "12.0", "Dr Chen", "20.2", "13.1"]
    assert (row["ka_difference_6m_deg"], row["vhl_difference_6m_percent"]) == ("2.4", "5.2")
    assert (row["genant_grade"], row["genant_reduction_percent"], row["of_class"]) == ("2", "33.3", "OF3")


def test_the_de_identified_export_has_the_readings_but_not_the_reader_names(signed_in, read_twice):
    response = signed_in.get("/cohort/export/?format=csv&identified=0")
    row = row_of(response)
    assert "Dr Ahn" not in response.content.decode()
    assert not {c for c in READER_COLUMNS + SIX_MONTH_READER_COLUMNS if c.endswith("_name")} & set(row)
    assert [row[c] for c in READER_COLUMNS if not c.endswith("_name")] == ["14.9", "10.1", "15.0", "10.2"]
    assert [row[c] for c in SIX_MONTH_READER_COLUMNS if not c.endswith("_name")] == ["20.1", "12.0", "20.2", "13.1"]
    assert (row["vhl_pre_percent"], row["genant_grade"], row["of_class"]) == ("14.95", "2", "OF3")


def test_one_reader_and_no_heights_leave_the_new_columns_empty(signed_in, make_patient, make_fracture):
    make_fracture(make_patient(mrn="ONE1"))
    row = row_of(signed_in.get("/cohort/export/?format=csv&identified=1"))
    empty = [*READER_COLUMNS, *SIX_MONTH_READER_COLUMNS, "genant_grade", "genant_reduction_percent", "of_class"]
    assert {row[c] for c in empty} == {""}
    assert row["vhl_pre_percent"] == "17.8"


def test_the_new_columns_keep_one_row_per_fracture_and_the_existing_columns(signed_in, demo, read_twice):
    header, *rows = rows_of(signed_in.get("/cohort/export/?format=csv&identified=1"))
    assert len(rows) == Fracture.objects.count()
    existing = [
        "patient", "name", "date_of_birth", "sex", "age_years", "fracture_id", "assessment_date", "injury_date",
        "injury_day", "level", "low_energy_trauma", "fracture_type", "vhl_pre_percent", "ka_pre_deg", "t2_signal",
        "bmd_t_score", "vas_pre", "odi_pre_percent", "height_cm", "weight_kg", "points_fracture_type",
        "points_vertebral_height_loss", "points_kyphosis_angle", "points_t2_signal", "points_bmd", "nasovcf_total",
        "nasovcf_group", "rules_version", "treatment", "treatment_start_date", "treatment_start_day",
        "treatment_changed_to", "treatment_changed_on", "treatment_change_day",
        *[f"visit_{k}_{i}" for k in ("1m", "3m", "6m") for i in ("date", "day", "vas", "odi_percent", "ka_deg", "vhl_percent", "union")],
        "unscheduled_visits", "ka_difference_6m_deg", "vhl_difference_6m_percent", "progressive_kyphosis",
        "non_union", "included_in_cohort", "exclusion_reason",
    ]  # fmt: skip
    assert [c for c in header if c in existing] == existing  # none renamed, none reordered
    assert set(READER_COLUMNS + SIX_MONTH_READER_COLUMNS) <= set(header)


def test_every_new_column_has_its_meaning_unit_and_allowed_values(signed_in, read_twice):
    described = {row[0]: row for row in rows_of(signed_in.get("/cohort/dictionary.csv"))[1:]}
    for column in (*READER_COLUMNS, *SIX_MONTH_READER_COLUMNS, "genant_grade", "genant_reduction_percent", "of_class"):
        _, meaning, unit, allowed, where, _on_import = described[column]
        assert meaning and allowed, column
        assert where == ("identified export only" if column.endswith("_name") else "both exports"), column
        if column.endswith("_percent"):
            assert unit == "%"
        if column.endswith("_deg"):
            assert unit == "°"
    assert "Genant grade (height-based approximation)" in described["genant_grade"][1]
    assert "staff, not patient data" in described["first_reader_name"][1]
    assert "not rounded (14.95)" in described["vhl_pre_percent"][1]
    assert described["of_class"][3].startswith("OF1, OF2, OF3, OF4, OF5")
    assert "treatment changed" in described["exclusion_reason"][3]


def test_a_treatment_change_is_the_exported_reason(signed_in, make_patient, make_fracture):
    fracture = make_fracture(make_patient(mrn="CHG1"))
    signed_in.post(
        f"/assessments/{fracture.pk}/treatment-change/",
        {"treatment": "kyphoplasty", "changed_on": "2025-04-01", "version": "1"},
    )
    row = row_of(signed_in.get("/cohort/export/?format=csv&identified=0"))
    assert (row["included_in_cohort"], row["exclusion_reason"]) == ("0", "treatment changed")


def test_a_fracture_with_one_outcome_is_included_and_counted_for_that_outcome_only(
    signed_in, make_patient, make_fracture
):
    """Issue 14, D7: each outcome its own denominator, in the export as on the page."""
    import datetime

    fracture = make_fracture(make_patient(mrn="ONE1"))
    Fracture.objects.filter(pk=fracture.pk).update(non_union=False, non_union_on=datetime.date(2025, 9, 10))
    row = row_of(signed_in.get("/cohort/export/?format=csv&identified=0"))
    assert (row["included_in_cohort"], row["exclusion_reason"]) == ("1", "")
    assert (row["non_union"], row["progressive_kyphosis"]) == ("0", "")
    assert (row["non_union_in_analysis"], row["progressive_kyphosis_in_analysis"]) == ("1", "0")


def test_an_outcome_seen_after_the_treatment_change_is_exported_but_not_counted(signed_in, make_patient, make_fracture):
    import datetime

    fracture = make_fracture(make_patient(mrn="ONE2"))
    Fracture.objects.filter(pk=fracture.pk).update(
        progressive_kyphosis=False,
        progressive_kyphosis_on=datetime.date(2025, 9, 10),
        non_union=True,
        non_union_on=datetime.date(2025, 12, 1),
        treatment_changed_to="kyphoplasty",
        treatment_changed_on=datetime.date(2025, 10, 1),
    )
    row = row_of(signed_in.get("/cohort/export/?format=csv&identified=0"))
    assert (row["included_in_cohort"], row["non_union"], row["non_union_in_analysis"]) == ("1", "1", "0")
    assert row["progressive_kyphosis_in_analysis"] == "1"


def test_the_eligibility_filter_marks_the_rows_outside_it_and_is_logged(signed_in, make_patient, make_fracture):
    import datetime

    young = make_fracture(make_patient(mrn="YNG1", date_of_birth=datetime.date(1990, 1, 1)))
    Fracture.objects.filter(pk=young.pk).update(non_union=False, non_union_on=datetime.date(2025, 9, 10))
    row = row_of(signed_in.get("/cohort/export/?format=csv&identified=0&eligible=on"))
    assert (row["included_in_cohort"], row["exclusion_reason"]) == ("0", "outside the paper's eligibility criteria")
    assert (row["non_union_in_analysis"], row["progressive_kyphosis_in_analysis"]) == ("0", "0")
    assert ExportLog.objects.get().filters == {"eligible": True}
    row = row_of(signed_in.get("/cohort/export/?format=csv&identified=0"))
    assert (row["included_in_cohort"], row["exclusion_reason"]) == ("1", "")


def test_the_dictionary_says_the_counting_rule_and_each_outcome_s_own_column(signed_in):
    described = {row[0]: row for row in rows_of(signed_in.get("/cohort/dictionary.csv"))[1:]}
    assert "at least one 6-month outcome known" in described["included_in_cohort"][1]
    assert "eligibility filter" in described["included_in_cohort"][1]
    assert described["exclusion_reason"][3] == (
        "empty when included; not conservative care, treatment changed, no 6-month outcome yet, "
        "outside the paper's eligibility criteria"
    )
    for outcome in ("non_union", "progressive_kyphosis"):
        _, meaning, _, allowed, where, on_import = described[f"{outcome}_in_analysis"]
        assert "first seen on or after the treatment change" in meaning
        assert (allowed, where, on_import) == ("1, 0", "both exports", exports.IMPORT_ROLE_WORDS["ignored"])


@pytest.mark.parametrize("identified", ["0", "1"])
def test_the_xlsx_sheets_freeze_their_header_and_filter_the_whole_table(signed_in, read_twice, identified):
    response = signed_in.get(f"/cohort/export/?format=xlsx&identified={identified}")
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    for title, last in (("fractures", "2"), ("dictionary", str(len(exports.dictionary(identified == "1")) + 1))):
        sheet = book[title]
        header = [cell.value for cell in sheet[1]]
        assert header[-1] and None not in header
        assert sheet.freeze_panes == "A2", title
        assert sheet.auto_filter.ref == f"A1:{get_column_letter(len(header))}{last}", title
    fractures = book["fractures"]
    assert fractures.max_row == 2  # the header and the one fracture
    header = [cell.value for cell in fractures[1]]
    row = dict(zip(header, [cell.value for cell in fractures[2]], strict=True))
    assert (row["vhl_pre_percent"], row["second_reader_vhl_pre_percent"], row["genant_grade"]) == (14.95, 15.0, 2)


# -- what the import needs to rebuild a record (issue 13) -------------------------------------------

HEIGHTS = ("fractured_anterior", "fractured_posterior", "cranial_anterior", "cranial_posterior", "caudal_anterior", "caudal_posterior")  # fmt: skip
FIRST_HEIGHTS = ["20.0", "30.0", "30.0", "30.0", "30.0", "30.0"]  # spec §2's example: VHL 16.7 %
SECOND_HEIGHTS = ["21.5", "29.75", "30.25", "30.0", "29.5", "30.1"]


@pytest.fixture
def whole_record(signed_in, make_patient, make_fracture, user):
    """A fracture whose baseline film both readers measured by six heights, a 1-month film read
    twice, a 6-month non-union with its evidence, and conservative care abandoned with a reason."""
    import datetime
    from decimal import Decimal as D

    from scoring import measurements, services
    from scoring.models import Visit

    first = measurements.VertebralHeights(*(D(value) for value in FIRST_HEIGHTS))
    second = measurements.VertebralHeights(*(D(value) for value in SECOND_HEIGHTS))
    first_vhl, second_vhl = measurements.vhl_from_heights(first), measurements.vhl_from_heights(second)
    fracture = make_fracture(
        make_patient(mrn="WHOLE1", name="Whole Record"),
        first_reader_name="Dr Ahn",
        second_reader_name="Dr Baker",
        **{f"{name}_mm": D(value) for name, value in zip(HEIGHTS, FIRST_HEIGHTS, strict=True)},
        **{f"second_{name}_mm": D(value) for name, value in zip(HEIGHTS, SECOND_HEIGHTS, strict=True)},
        first_vhl_percent=first_vhl,
        second_vhl_percent=second_vhl,
        vhl_percent=measurements.mean_of_readers(first_vhl, second_vhl),
        first_kyphosis_angle_deg=D("19.6"),
        second_kyphosis_angle_deg=D("19.8"),
        kyphosis_angle_deg=D("19.7"),
    )
    response = signed_in.post(
        f"/assessments/{fracture.pk}/treatment-change/",
        {"treatment": "kyphoplasty", "changed_on": "2025-10-01", "reason": "Pain unbearable", "version": "1"},
    )
    assert response.status_code == 302
    common = {"fracture": fracture, "created_by": user, "updated_by": user}
    Visit.objects.create(
        **common,
        kind="1m",
        visit_date=datetime.date(2025, 4, 9),
        first_reader_name="Dr Chen",
        second_reader_name="Dr Dos",
        first_vhl_percent=D("16.9"),
        second_vhl_percent=D("17.2"),
        vhl_percent=D("17.05"),
        first_kyphosis_angle_deg=D("20.1"),
        second_kyphosis_angle_deg=D("20.4"),
        kyphosis_angle_deg=D("20.25"),
    )
    Visit.objects.create(
        **common,
        kind="6m",
        visit_date=datetime.date(2025, 9, 10),
        first_reader_name="Dr Chen",
        first_vhl_percent=D("30.1"),
        vhl_percent=D("30.1"),
        first_kyphosis_angle_deg=D("24.0"),
        kyphosis_angle_deg=D("24.0"),
        bone_union="non_union",
        vacuum_cleft_ct=True,
        anterior_height_change=True,
    )
    services.refresh_course(fracture)
    return fracture


def height_columns(ordinal: str) -> list[str]:
    return [f"{ordinal}_reader_{name}_pre_mm" for name in HEIGHTS]


def visit_reader_columns(kind: str) -> list[str]:
    return [f"visit_{kind}_{column.replace('_pre', '')}" for column in READER_COLUMNS]


def test_the_identified_export_carries_every_value_the_import_needs(signed_in, whole_record):
    row = row_of(signed_in.get("/cohort/export/?format=csv&identified=1"))
    assert [row[c] for c in height_columns("first")] == FIRST_HEIGHTS
    assert [row[c] for c in height_columns("second")] == SECOND_HEIGHTS
    assert [row[c] for c in READER_COLUMNS] == ["Dr Ahn", "16.7", "19.6", "Dr Baker", "14.5", "19.8"]
    assert (row["vhl_pre_percent"], row["ka_pre_deg"]) == ("15.6", "19.7")  # the two readers' means
    assert [row[c] for c in visit_reader_columns("1m")] == ["Dr Chen", "16.9", "20.1", "Dr Dos", "17.2", "20.4"]
    assert [row[c] for c in visit_reader_columns("3m")] == [""] * 6  # no 3-month visit
    assert [row[c] for c in visit_reader_columns("6m")] == ["Dr Chen", "30.1", "24.0", "", "", ""]
    evidence = ("vacuum_cleft_mri", "vacuum_cleft_ct", "anterior_height_change")
    assert [row[f"visit_6m_{item}"] for item in evidence] == ["0", "1", "1"]
    assert [row[f"visit_1m_{item}"] for item in evidence] == ["0", "0", "0"]  # a visit: recorded as no
    assert [row[f"visit_3m_{item}"] for item in evidence] == ["", "", ""]  # no visit: empty
    assert (row["visit_6m_union"], row["non_union"]) == ("non_union", "1")
    assert [row[c] for c in ("treatment_changed_to", "treatment_changed_on", "treatment_change_reason")] == [
        "kyphoplasty",
        "2025-10-01",
        "Pain unbearable",
    ]


def test_the_de_identified_export_has_the_heights_and_readings_but_no_names_nor_reason(signed_in, whole_record):
    response = signed_in.get("/cohort/export/?format=csv&identified=0")
    row = row_of(response)
    body = response.content.decode()
    assert not {"Dr Ahn", "Dr Baker", "Dr Chen", "Dr Dos", "Pain unbearable"} & set(row.values())
    assert "Dr " not in body and "Pain unbearable" not in body
    assert "treatment_change_reason" not in row and "visit_1m_first_reader_name" not in row
    assert [row[c] for c in height_columns("first") + height_columns("second")] == FIRST_HEIGHTS + SECOND_HEIGHTS
    numbers = [c for c in visit_reader_columns("1m") if not c.endswith("_name")]
    assert [row[c] for c in numbers] == ["16.9", "20.1", "17.2", "20.4"]
    assert [row[f"visit_6m_{item}"] for item in ("vacuum_cleft_mri", "vacuum_cleft_ct", "anterior_height_change")] == [
        "0",
        "1",
        "1",
    ]


def test_both_exports_have_the_dictionary_s_columns_in_its_order(signed_in, whole_record):
    identified = rows_of(signed_in.get("/cohort/export/?format=csv&identified=1"))[0]
    assert identified == exports.identified_columns()
    both = [column for column, *_, identified_only in exports.DICTIONARY if not identified_only]
    assert rows_of(signed_in.get("/cohort/export/?format=csv&identified=0"))[0] == both
    # The new visit blocks: evidence right after each union, every film's readers where the 6m's were.
    assert identified[identified.index("visit_1m_union") + 1 : identified.index("visit_3m_date")] == [
        "visit_1m_vacuum_cleft_mri",
        "visit_1m_vacuum_cleft_ct",
        "visit_1m_anterior_height_change",
    ]
    readers_from = identified.index("visit_6m_anterior_height_change") + 1
    expected = visit_reader_columns("1m") + visit_reader_columns("3m") + visit_reader_columns("6m")
    assert identified[readers_from : readers_from + 18] == expected
    assert identified[readers_from + 18] == "unscheduled_visits"
    after_readers = identified.index("second_reader_ka_pre_deg") + 1
    assert identified[after_readers : after_readers + 12] == height_columns("first") + height_columns("second")
    assert identified[identified.index("treatment_changed_on") + 1] == "treatment_change_reason"


def test_every_column_has_exactly_one_import_role_and_every_role_its_words():
    columns = exports.identified_columns()
    assert len(columns) == len(set(columns))
    listed = [column for role_columns in exports.IMPORT_ROLE_COLUMNS.values() for column in role_columns]
    assert len(listed) == len(set(listed)), "a column under two roles"
    assert set(listed) == set(columns) == set(exports.IMPORT_ROLES)  # none without a role, none unknown
    assert set(exports.IMPORT_ROLES.values()) == set(exports.IMPORT_ROLE_WORDS)
    roles = exports.IMPORT_ROLES
    assert {roles[c] for c in ("patient", "date_of_birth", "assessment_date", "bmd_t_score", "treatment")} == {
        "required"
    }
    assert (roles["vhl_pre_percent"], roles["visit_3m_vhl_percent"]) == ("film", "film_optional")
    assert {roles[c] for c in columns if "_reader_" in c} == {"optional"}
    assert {roles[c] for c in ("nasovcf_total", "points_bmd", "non_union", "age_years")} == {"checked"}
    assert {roles[c] for c in ("fracture_id", "visit_6m_day", "exclusion_reason")} == {"ignored"}


def test_the_dictionary_says_what_the_import_does_with_each_column(signed_in):
    described = {row[0]: row for row in rows_of(signed_in.get("/cohort/dictionary.csv"))[1:]}
    assert list(described) == exports.identified_columns()
    assert described["patient"][5] == "required"
    assert described["ka_pre_deg"][5].startswith("required unless the readers' own columns give it")
    assert described["visit_1m_ka_deg"][5].startswith("optional; with the readers' own columns filled")
    assert described["nasovcf_total"][5].startswith("computed by the app: not read; where filled, compared")
    assert described["injury_day"][5] == "computed by the app: not read"
    assert described["treatment_change_reason"][4] == "identified export only"
    _, meaning, unit, allowed, where, on_import = described["second_reader_caudal_posterior_pre_mm"]
    assert (unit, where, on_import) == ("mm", "both exports", "optional")
    assert "spec §2" in meaning and allowed.startswith("over 0 to 100, to 0.01; empty when the VHL was typed")
    assert described["visit_6m_vacuum_cleft_ct"][3] == "1 yes, 0 no; empty if there is no such visit"
    # The de-identified export cannot be imported (no MRN, no dates): its dictionary says nothing of it.
    assert "on import" not in exports.dictionary(identified=False).columns
