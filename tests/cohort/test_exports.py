"""The research exports: de-identified and identified, CSV and XLSX, the data dictionary, the log."""

import csv
import io
import logging

import openpyxl
import pytest

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
    assert dictionary[0] == ["column", "meaning", "unit", "allowed values", "in"]
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
