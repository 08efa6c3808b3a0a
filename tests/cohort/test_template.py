"""The import template (cohort/exports.py): the identified export's columns, spec §6's two worked
cases as example rows whose computed columns are the app's, and the dictionary beside them."""

import csv
import io

import openpyxl
import pytest
from openpyxl.utils import get_column_letter

from cohort import exports
from scoring.forms.visit import scheduled_date_range
from scoring.models import Fracture, Patient
from tests.scoring.views.conftest import confirmed_post, new_assessment_url, visit_url

pytestmark = pytest.mark.django_db


def template_rows() -> list[dict[str, str]]:
    header, *rows = list(csv.reader(io.StringIO(exports.template_csv().decode("utf-8-sig"))))
    return [dict(zip(header, row, strict=True)) for row in rows]


def test_the_template_has_the_identified_export_s_columns_in_order(django_assert_num_queries):
    with django_assert_num_queries(0):  # made in memory: a download that reads no patient's data
        table = exports.template_table()
    assert list(table.columns) == exports.identified_columns()
    header = next(csv.reader(io.StringIO(exports.template_csv().decode("utf-8-sig"))))
    assert header == exports.identified_columns()
    assert exports.template_csv().startswith(b"\xef\xbb\xbf")  # the BOM: Excel reads the UTF-8


def test_the_examples_are_the_two_worked_cases_seen_at_six_months():
    one, two = template_rows()
    assert [(row["patient"], row["name"], row["sex"], row["age_years"]) for row in (one, two)] == [
        ("EXAMPLE-1", "Example Patient One", "F", "79"),
        ("EXAMPLE-2", "Example Patient Two", "F", "71"),
    ]
    for row in (one, two):
        assert row["assessment_date"].startswith("2025-")
        assert row["treatment_start_date"] == row["assessment_date"] and row["treatment"] == "conservative"
        assert row["first_reader_name"] == row["visit_6m_first_reader_name"] == "Dr Example"
        assert row["fracture_id"] == ""  # no record to link back to
        start = Fracture._meta.get_field("assessment_date").to_python(row["assessment_date"])
        first, last = scheduled_date_range(start, "6m")
        assert first.isoformat() <= row["visit_6m_date"] and last is None
    assert (one["nasovcf_total"], one["nasovcf_group"], one["visit_6m_union"], one["non_union"]) == (
        "0",
        "low",
        "united",
        "0",
    )
    assert (two["nasovcf_total"], two["nasovcf_group"], two["visit_6m_union"], two["non_union"]) == (
        "10",
        "high",
        "non_union",
        "1",
    )
    assert (one["ka_difference_6m_deg"], two["ka_difference_6m_deg"]) == ("1.7", "6.4")  # spec §6
    assert (two["visit_6m_vacuum_cleft_mri"], two["visit_6m_vacuum_cleft_ct"]) == ("1", "0")


def save_through_the_pages(client, row: dict[str, str]) -> None:
    """Enter one example row as a clinician would: the patient, the assessment, the 6-month visit."""
    response = client.post(
        "/patients/new/",
        {key: row[column] for key, column in (("mrn", "patient"), ("name", "name"), ("sex", "sex"))}
        | {"date_of_birth": row["date_of_birth"]},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    patient = Patient.objects.get(mrn=row["patient"])
    assessment = {
        "assessment_date": row["assessment_date"],
        "injury_date": row["injury_date"],
        "level": row["level"],
        "low_energy_trauma": "yes" if row["low_energy_trauma"] == "1" else "no",
        "fracture_type": row["fracture_type"],
        "vhl_percent": row["first_reader_vhl_pre_percent"],
        "kyphosis_angle_deg": row["first_reader_ka_pre_deg"],
        "first_reader_name": row["first_reader_name"],
        "t2_signal": row["t2_signal"],
        "bmd_t_score": row["bmd_t_score"],
        "vas_pain": row["vas_pre"],
        "odi_percent": row["odi_pre_percent"],
        "height_cm": row["height_cm"],
        "weight_kg": row["weight_kg"],
        "treatment": row["treatment"],
        "treatment_start_date": row["treatment_start_date"],
    }
    response = confirmed_post(client, new_assessment_url(patient), assessment)
    assert response.status_code == 302, response.content.decode()[:2000]
    fracture = patient.fractures.get()
    visit = {
        "kind": "6m",
        "visit_date": row["visit_6m_date"],
        "vas_pain": row["visit_6m_vas"],
        "odi_percent": row["visit_6m_odi_percent"],
        "first_reader_name": row["visit_6m_first_reader_name"],
        "vhl_percent": row["visit_6m_first_reader_vhl_percent"],
        "kyphosis_angle_deg": row["visit_6m_first_reader_ka_deg"],
        "bone_union": row["visit_6m_union"],
        **{
            evidence: "on"
            for evidence in ("vacuum_cleft_mri", "vacuum_cleft_ct", "anterior_height_change")
            if row[f"visit_6m_{evidence}"] == "1"
        },
    }
    response = confirmed_post(client, visit_url(fracture), visit)
    assert response.status_code == 302, response.content.decode()[:2000]


def test_the_examples_computed_columns_are_what_the_app_computes(signed_in):
    """Saved through the forms and exported, the two cases give the template's rows: every
    computed ("checked") column equal, and every other one but the record's own number."""
    examples = template_rows()
    for row in examples:
        save_through_the_pages(signed_in, row)
    header, *rows = list(
        csv.reader(io.StringIO(signed_in.get("/cohort/export/?format=csv&identified=1").content.decode("utf-8-sig")))
    )
    exported = [dict(zip(header, row, strict=True)) for row in rows]
    checked = [column for column, role in exports.IMPORT_ROLES.items() if role == "checked"]
    assert len(checked) == 15
    assert [{c: row[c] for c in checked} for row in examples] == [{c: row[c] for c in checked} for row in exported]
    for example, saved in zip(examples, exported, strict=True):
        assert saved["fracture_id"] and example["fracture_id"] == ""
        assert {**saved, "fracture_id": ""} == example


def test_the_template_xlsx_has_the_examples_and_the_identified_dictionary_with_what_the_import_does():
    book = openpyxl.load_workbook(io.BytesIO(exports.template_xlsx()))
    assert book.sheetnames == ["fractures", "dictionary"]
    fractures, dictionary = book["fractures"], book["dictionary"]
    assert [cell.value for cell in fractures[1]] == exports.identified_columns()
    assert fractures.max_row == 3  # the header and the two examples
    assert [fractures.cell(row=n, column=1).value for n in (2, 3)] == ["EXAMPLE-1", "EXAMPLE-2"]
    header = [cell.value for cell in dictionary[1]]
    assert header == ["column", "meaning", "unit", "allowed values", "in", "on import"]
    described = {row[0]: row for row in dictionary.iter_rows(min_row=2, values_only=True)}
    assert list(described) == exports.identified_columns()
    assert described["bmd_t_score"][5] == "required"
    assert described["nasovcf_group"][5] == exports.IMPORT_ROLE_WORDS["checked"]
    for sheet in (fractures, dictionary):
        width = len([cell for cell in sheet[1] if cell.value is not None])
        assert sheet.freeze_panes == "A2"
        assert sheet.auto_filter.ref == f"A1:{get_column_letter(width)}{sheet.max_row}"
