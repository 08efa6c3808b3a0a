"""The cohort import (cohort/importing.py): the round trip, matching, updates through the normal
save path, the file's computed columns against the app's, and the parallel check."""

import csv
import datetime
import io
import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import translation

from cohort import data, exports, importing, tables
from scoring.models import ExpectedVisit, Fracture, Patient, PatientNameWord, Visit

pytestmark = pytest.mark.django_db


def export_rows() -> list[dict]:
    table = exports.build(data.read(data.CohortFilter()), identified=True)
    return list(csv.DictReader(io.StringIO(exports.to_csv(table).decode("utf-8-sig"))))


def write_csv(path, rows: list[dict]) -> tables.Table:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return tables.read(path)


def empty_the_database() -> None:
    ExpectedVisit.objects.all().delete()
    Visit.objects.all().delete()
    Fracture.objects.all().delete()
    PatientNameWord.objects.all().delete()
    Patient.objects.all().delete()


def worked_cases() -> list[dict]:
    """The template's two worked cases (spec §6), as a clinic's own patients (the template's
    example MRNs are refused: they are there to copy)."""
    rows = list(csv.DictReader(io.StringIO(exports.template_csv().decode("utf-8-sig"))))
    for number, row in enumerate(rows, start=1):
        row["patient"] = f"CASE-{number}"
    return rows


def keyed(rows: list[dict]) -> dict:
    return {(row["patient"], row["level"], row["assessment_date"]): row for row in rows}


@pytest.fixture
def cohort(make_user):
    """A seeded demo cohort and the two worked cases (a non-union with its evidence), as exported."""
    user = make_user("dr.lin", first_name="Wei", last_name="Lin")
    call_command("seed_demo", patients=40, seed=7, stdout=io.StringIO())
    return user


def test_round_trip_export_import_export_gives_the_same_rows_and_values(cohort, tmp_path):
    template = worked_cases()
    before = export_rows()
    assert len(before) == 40
    empty_the_database()
    table = write_csv(tmp_path / "cohort.csv", before + template)

    report = importing.check(table)
    assert report.ok, report.problems[:5]
    assert report.difference_count == 0, report.differences[:5]
    written = importing.run(table, user=cohort, source="cohort.csv", expected_plan=report.plan)

    assert written.count("fractures", "create") == 42
    after = export_rows()
    assert len(after) == 42
    original, again = keyed(before + template), keyed(after)
    assert original.keys() == again.keys()
    for key, row in original.items():
        for column, value in row.items():
            if column == "fracture_id":
                continue  # the new database numbers its records anew
            assert again[key][column] == value, (key, column)


def test_importing_the_same_file_again_changes_nothing(cohort, tmp_path):
    table = write_csv(tmp_path / "cohort.csv", export_rows())
    history = [model.history.count() for model in (Patient, Fracture, Visit)]
    report = importing.check(table)
    assert report.ok
    assert report.count("fractures", "unchanged") == 40
    assert report.count("patients", "unchanged") == 40
    assert report.count("visits", "create") == report.count("visits", "update") == 0
    importing.run(table, user=cohort, source="cohort.csv", expected_plan=report.plan)
    assert [model.history.count() for model in (Patient, Fracture, Visit)] == history


def test_a_changed_value_updates_the_record_through_the_save_path_with_its_history(cohort, tmp_path):
    rows = export_rows()
    row = next(row for row in rows if row["treatment"] == "conservative" and row["first_reader_name"] == "")
    fracture = Fracture.objects.get(pk=row["fracture_id"])
    row["bmd_t_score"] = "-3.6"  # scores 4
    table = write_csv(tmp_path / "cohort-2021.csv", rows)

    report = importing.check(table)
    assert report.count("fractures", "update") == 1
    assert report.count("fractures", "unchanged") == 39
    importing.run(table, user=cohort, source="cohort-2021.csv", expected_plan=report.plan)

    fracture.refresh_from_db()
    assert fracture.bmd_t_score == Decimal("-3.6")
    assert fracture.score_components["bmd"]["points"] == 4
    assert fracture.version == 2
    latest = fracture.history.latest()
    assert latest.history_user == cohort
    assert latest.history_change_reason == "Imported from cohort-2021.csv by Wei Lin"


def test_a_record_changed_after_the_preview_is_not_overwritten(cohort, tmp_path):
    rows = export_rows()
    rows[0]["weight_kg"] = "61.0"
    table = write_csv(tmp_path / "cohort.csv", rows)
    report = importing.check(table)
    assert report.count("fractures", "update") == 1
    Fracture.objects.filter(pk=rows[0]["fracture_id"]).update(version=9)  # somebody saved it since

    with pytest.raises(importing.ImportRefused, match="changed in the app after the preview"):
        importing.run(table, user=cohort, source="cohort.csv", expected_plan=report.plan)
    assert Fracture.objects.get(pk=rows[0]["fracture_id"]).weight_kg != Decimal("61.0")


def test_the_preview_lists_where_the_file_disagrees_with_the_rules(cohort, tmp_path):
    rows = worked_cases()
    high = rows[1]  # spec §6: 71-year-old woman, score 10
    assert high["nasovcf_total"] == "10"
    high["nasovcf_total"] = "8"
    high["points_bmd"] = "2"
    table = write_csv(tmp_path / "scored-by-hand.csv", rows)

    report = importing.check(table)
    assert report.ok
    text = [str(difference) for difference in report.differences]
    assert any(line.startswith("row 3, nasovcf_total: the file says 8, the app gives 10") for line in text)
    assert any("row 3, points_bmd: the file says 2, the app gives 4" in line for line in text)
    assert "T-score -3.6 scores 4" in text[0]


def test_a_problem_names_its_row_column_and_value_and_nothing_is_written(cohort, tmp_path):
    rows = export_rows()
    empty_the_database()
    rows[15]["bmd_t_score"] = "-8.2"
    table = write_csv(tmp_path / "cohort.csv", rows)

    report = importing.check(table)
    assert not report.ok
    assert [str(problem) for problem in report.problems] == ["row 17, bmd_t_score: “-8.2”: Must be at least -7.0."]
    with pytest.raises(importing.ImportRefused):
        importing.run(table, user=cohort, source="cohort.csv")
    assert Patient.objects.count() == Fracture.objects.count() == Visit.objects.count() == 0


def test_a_patient_on_several_rows_is_one_patient(cohort, tmp_path):
    rows = export_rows()
    empty_the_database()
    second = dict(rows[0], level="L4", fracture_id="")
    table = write_csv(tmp_path / "cohort.csv", [rows[0], second])
    report = importing.check(table)
    assert report.ok, report.problems
    assert report.count("patients", "create") == 1
    assert report.count("fractures", "create") == 2
    importing.run(table, user=cohort, source="cohort.csv", expected_plan=report.plan)
    assert Patient.objects.count() == 1
    assert Fracture.objects.filter(patient__mrn=rows[0]["patient"]).count() == 2


def linked_records() -> tuple[list, list]:
    """Each expected visit with the visit it links (its fracture's, of its kind), and each patient's
    name words: the rows the import writes beside the records, keyed by what the file says."""
    expected = ExpectedVisit.objects.values_list(
        "fracture__patient__mrn", "fracture__level", "kind", "due_date", "visit__kind", "visit__visit_date"
    )
    for visit in ExpectedVisit.objects.exclude(visit=None).select_related("visit"):
        assert (visit.visit.fracture_id, visit.visit.kind) == (visit.fracture_id, visit.kind)
    return sorted(expected), sorted(PatientNameWord.objects.values_list("patient__mrn", "word"))


def test_expected_visits_and_name_words_of_imported_records_are_kept_as_a_save_keeps_them(cohort, tmp_path):
    rows = export_rows()
    saved = linked_records()
    assert saved[0] and saved[1] and any(row[4] for row in saved[0])
    empty_the_database()
    table = write_csv(tmp_path / "cohort.csv", rows)
    importing.run(table, user=cohort, source="cohort.csv")
    assert linked_records() == saved


@pytest.mark.django_db(transaction=True)
def test_a_large_table_is_checked_in_worker_processes_with_the_same_result(make_user, tmp_path, settings):
    call_command("seed_demo", patients=12, seed=3, stdout=io.StringIO())
    rows = export_rows()
    rows[4]["level"] = "L6"
    rows[7]["nasovcf_total"] = "0"
    table = write_csv(tmp_path / "cohort.csv", rows)
    settings.NASOVCF_IMPORT_PARALLEL_ROWS = 10**9
    serial = importing.check(table)
    settings.NASOVCF_IMPORT_PARALLEL_ROWS = 1
    settings.NASOVCF_IMPORT_PROCESSES = 2
    importing.CHUNK_ROWS, chunk = 5, importing.CHUNK_ROWS  # several chunks for the processes to share
    try:
        parallel = importing.check(table)
    finally:
        importing.CHUNK_ROWS = chunk
    assert parallel.as_dict() == serial.as_dict()
    assert [str(problem) for problem in parallel.problems] == [
        "row 6, level: “L6”: Select a valid choice. L6 is not one of the available choices."
    ]


def test_the_import_command_checks_then_imports(cohort, tmp_path):
    rows = export_rows()
    empty_the_database()
    write_csv(tmp_path / "cohort.csv", rows)
    out = io.StringIO()
    call_command("import_cohort", str(tmp_path / "cohort.csv"), "--dry-run", stdout=out)
    assert "40 rows. patients: 40 to create; fractures: 40 to create" in out.getvalue()
    assert Patient.objects.count() == 0
    call_command("import_cohort", str(tmp_path / "cohort.csv"), "--user", "dr.lin", stdout=out)
    assert "Imported. 40 rows. patients: 40 created; fractures: 40 created" in out.getvalue()
    assert Fracture.objects.count() == 40


def test_the_import_command_exits_non_zero_on_a_problem(cohort, tmp_path):
    from django.core.management import CommandError

    rows = export_rows()
    rows[0]["assessment_date"] = "31/12/2024"
    write_csv(tmp_path / "cohort.csv", rows)
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 problem"):
        call_command("import_cohort", str(tmp_path / "cohort.csv"), "--dry-run", stdout=out)
    assert "1 problem" in out.getvalue()


def test_an_update_keeps_the_odi_sections_when_the_odi_did_not_change(cohort, tmp_path):
    fracture = Fracture.objects.filter(treatment="conservative").first()
    Fracture.objects.filter(pk=fracture.pk).update(odi_sections=[2] * 10, odi_percent=Decimal("40.0"))
    rows = export_rows()
    row = next(row for row in rows if row["fracture_id"] == str(fracture.pk))
    row["weight_kg"] = "55.5"
    table = write_csv(tmp_path / "cohort.csv", rows)
    importing.run(table, user=cohort, source="cohort.csv")
    fracture.refresh_from_db()
    assert fracture.weight_kg == Decimal("55.5")
    assert fracture.odi_sections == [2] * 10
    assert fracture.odi_percent == Decimal("40.0")


def test_dates_in_the_visit_columns_follow_the_assessment(cohort, tmp_path):
    rows = export_rows()
    empty_the_database()
    row = next(row for row in rows if row["visit_1m_date"])
    start = datetime.date.fromisoformat(row["treatment_start_date"] or row["assessment_date"])
    row["visit_1m_date"] = (start - datetime.timedelta(days=3)).isoformat()
    table = write_csv(tmp_path / "cohort.csv", [row])
    report = importing.check(table)
    assert {problem.column for problem in report.problems} == {"visit_1m_date"}
    assert "before the pretreatment assessment" in report.problems[0].message
    assert all(str(problem).startswith("row 2, visit_1m_date: ") for problem in report.problems)


def test_the_templates_example_rows_are_refused(tmp_path):
    path = tmp_path / "template.csv"
    path.write_bytes(exports.template_csv())
    report = importing.check(tables.read(path))
    assert [str(problem) for problem in report.problems] == [
        "row 2, patient: EXAMPLE-1 is the template's example: replace the row with one of your patients, or delete it.",
        "row 3, patient: EXAMPLE-2 is the template's example: replace the row with one of your patients, or delete it.",
    ]


def test_a_row_with_a_bad_patient_still_has_its_other_problems_listed(cohort, tmp_path):
    rows = export_rows()
    empty_the_database()
    row = next(row for row in rows if row["visit_1m_date"])
    row["sex"] = "Q"
    row["visit_1m_vas"] = "11"
    report = importing.check(write_csv(tmp_path / "cohort.csv", [row]))
    assert [str(problem) for problem in report.problems] == [
        "row 2, sex: “Q”: Select a valid choice. Q is not one of the available choices.",
        "row 2, visit_1m_vas: “11”: Must be at most 10.",
    ]


# -- in the reader's language (issue 16) ---------------------------------------------------------------


def test_the_preview_keeps_its_problems_as_parts_and_says_them_in_the_readers_language(cohort, tmp_path):
    rows = export_rows()
    empty_the_database()
    row = next(row for row in rows if row["visit_1m_date"])
    row["sex"] = "Q"
    with translation.override("zh-hans"):  # checked during a Chinese page's request...
        report = importing.check(write_csv(tmp_path / "cohort.csv", [row]))
    kept = importing.Report.from_dict(json.loads(json.dumps(report.as_dict())))  # ...kept as JSON
    english = "row 2, sex: “Q”: Select a valid choice. Q is not one of the available choices."
    assert [str(problem) for problem in kept.problems] == [english]  # read in English
    assert kept.problems[0].message.msgid == "“%(value)s”: %(message)s"
    with translation.override("zh-hans"):
        [shown] = [str(problem) for problem in kept.problems]
        choice = translation.gettext("Select a valid choice. %(value)s is not one of the available choices.")
    assert choice % {"value": "Q"} in shown and shown != english  # Django's own Chinese for its message


def test_a_message_kept_as_text_before_issue_16_is_shown_as_it_is():
    kept = importing.Report.from_dict(
        {
            "rows": 1,
            "counts": {},
            "problems": [[2, "sex", "“Q”: not a sex."]],
            "problem_count": 1,
            "differences": [[2, "nasovcf_total", "8", "10", "T-score -3.6 scores 4"]],
            "difference_count": 1,
            "notes": [],
        }
    )
    assert [str(problem) for problem in kept.problems] == ["row 2, sex: “Q”: not a sex."]
    assert str(kept.differences[0]) == "row 2, nasovcf_total: the file says 8, the app gives 10: T-score -3.6 scores 4"


def test_the_data_dictionary_is_worded_when_it_is_asked_for(monkeypatch):
    monkeypatch.setattr(tables, "gettext", lambda message: f"«{message}»")  # a stand-in language
    described = exports.dictionary().set_index("column")
    assert described.loc["sex", "meaning"] == "«Sex»"
    assert described.loc["vas_pre", "allowed values"] == "«0 to 10, empty if not recorded»"
    assert described.loc["patient", "on import"] == "«required»"
    assert "sex" in described.index  # the column names are a data contract: never translated
