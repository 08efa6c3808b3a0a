"""The cohort page, the research exports and the demo cohort."""

import csv
import io
import logging

import openpyxl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from scoring import exports
from scoring.models import ExportLog, Fracture, Patient, Visit

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return response.content.decode()


@pytest.fixture
def demo(user):
    call_command("seed_demo", patients=400, seed=11)


# -- demo data -------------------------------------------------------------------------------------

def test_seed_demo_makes_a_cohort_that_scores_by_the_rules(demo):
    assert Patient.objects.count() == 400
    assert not Patient.objects.exclude(mrn__startswith="DEMO-").exists()
    for fracture in Fracture.objects.select_related("patient")[:80]:
        stored = (fracture.total_score, fracture.risk_group, fracture.population_warnings)
        fracture.rescore()
        assert (fracture.total_score, fracture.risk_group, fracture.population_warnings) == stored
    shares = {g: Fracture.objects.filter(risk_group=g).count() / 400 for g in ("low", "medium", "high")}
    assert shares["low"] == pytest.approx(47 / 208, abs=0.08)
    assert shares["medium"] == pytest.approx(98 / 208, abs=0.08)
    high = Fracture.objects.filter(risk_group="high", non_union__isnull=False)
    assert high.filter(non_union=True).count() / high.count() == pytest.approx(39 / 63, abs=0.15)
    assert Visit.objects.filter(kind="6m").exists()


def test_seed_demo_refuses_to_mix_with_real_patients(make_patient, demo):
    make_patient(mrn="REAL1")
    with pytest.raises(CommandError, match="holds real patients"):
        call_command("seed_demo", patients=5)
    call_command("seed_demo", patients=5, allow_mixed=True)
    assert Patient.objects.filter(mrn__startswith="DEMO-").count() == 405


# -- the cohort page -------------------------------------------------------------------------------

def test_cohort_page_shows_the_three_groups_beside_the_paper(signed_in, demo):
    page = text(signed_in.get("/cohort/"))
    for group in ("low", "medium", "high"):
        assert f'data-group="{group}"' in page
    assert "fractures included" in page and "excluded:" in page
    assert "39/63" in page  # the paper's high-group non-union, beside ours
    assert page.count('data-testid="auc"') == 2
    assert "0.872 (0.816–0.928)" in page
    assert page.count('src="data:image/svg+xml;base64,') == 2
    assert "Radiographic course" in page and "15.1 (11.85, 23)" in page


def test_cohort_page_filters_and_counts_the_exclusions(signed_in, demo):
    everyone = text(signed_in.get("/cohort/"))
    women = text(signed_in.get("/cohort/?sex=F"))
    total = Fracture.objects.count()
    female = Fracture.objects.filter(patient__sex="F").count()
    assert f"of {total} fractures included" in everyone
    assert f"of {female} fractures included" in women
    assert "treatment other than conservative" in everyone
    assert "The end comes before the start." in text(signed_in.get("/cohort/?date_from=2025-02-01&date_to=2025-01-01"))


def test_cohort_page_says_plainly_when_there_are_too_few_events(signed_in, user):
    call_command("seed_demo", patients=12, seed=3)
    page = text(signed_in.get("/cohort/"))
    assert "fractures included" in page
    assert "Too few events to fit" in page


def test_cohort_page_queries_do_not_grow_with_the_data(signed_in, user, django_assert_max_num_queries):
    call_command("seed_demo", patients=50, seed=1)
    with django_assert_max_num_queries(12) as small:
        signed_in.get("/cohort/")
    call_command("seed_demo", patients=300, seed=2)
    with django_assert_max_num_queries(len(small.captured_queries)):
        signed_in.get("/cohort/")


def test_viewers_see_the_cohort_page_and_de_identified_exports_only(client, make_user, demo):
    client.force_login(make_user("reader", role="viewer"))
    page = text(client.get("/cohort/"))
    assert "De-identified CSV" in page and "Identified CSV" not in page
    assert client.get("/cohort/export/?format=csv&identified=0").status_code == 200
    assert client.get("/cohort/export/?format=csv&identified=1").status_code == 403
    assert client.get("/cohort/export/?format=xlsx&identified=1").status_code == 403


# -- exports ---------------------------------------------------------------------------------------

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
    make_fracture(make_patient(mrn="F1", name="=HYPERLINK(\"http://x\")"))
    rows = rows_of(signed_in.get("/cohort/export/?format=csv&identified=1"))
    assert rows[1][1] == "'=HYPERLINK(\"http://x\")"


def test_pseudonym_depends_on_its_own_key_not_the_secret_key(settings, monkeypatch, tmp_path):
    settings.VAR_DIR = tmp_path
    first = exports.pseudonym("MRN1")
    assert (tmp_path / "pseudonym_key").stat().st_mode & 0o777 == 0o600
    settings.SECRET_KEY = "rotated" * 10
    assert exports.pseudonym("MRN1") == first == exports.pseudonym(" mrn1 ")
    monkeypatch.setenv("NASOVCF_PSEUDONYM_KEY", "another key")
    assert exports.pseudonym("MRN1") != first


def test_an_invalid_filter_exports_nothing_and_analyses_nothing(signed_in, demo):
    response = signed_in.get("/cohort/export/?format=csv&identified=1&level=L1&date_from=2025-99-01")
    assert response.status_code == 400
    assert not ExportLog.objects.exists()
    page = signed_in.get("/cohort/?level=L1&date_from=2025-99-01")
    assert page.status_code == 400 and "nothing is analysed or exported" in text(page)


def test_a_treatment_change_after_the_six_month_outcome_keeps_the_fracture_in_the_cohort(make_patient, make_fracture):
    import datetime

    from scoring import cohort_data

    fracture = make_fracture(make_patient(mrn="AUG1"))
    Fracture.objects.filter(pk=fracture.pk).update(
        non_union=True, non_union_on=datetime.date(2025, 9, 10), progressive_kyphosis=False,
        progressive_kyphosis_on=datetime.date(2025, 9, 10), treatment_changed_to="kyphoplasty",
        treatment_changed_on=datetime.date(2025, 10, 1))
    frame = cohort_data.read(cohort_data.CohortFilter(), cohort_data.ANALYSIS_COLUMNS)
    assert frame["exclusion"].tolist() == [""]
    Fracture.objects.filter(pk=fracture.pk).update(treatment_changed_on=datetime.date(2025, 5, 1))
    frame = cohort_data.read(cohort_data.CohortFilter(), cohort_data.ANALYSIS_COLUMNS)
    assert frame["exclusion"].tolist() == ["changed"]


def test_seed_demo_ages_are_60_or_over_and_rows_belong_to_a_demo_account(demo):
    assert Fracture.objects.filter(age_at_assessment__lt=60).count() == 0
    assert set(Fracture.objects.values_list("created_by__username", flat=True)) == {"demo-data"}


def test_admins_read_the_export_log_in_the_admin_and_cannot_change_it(client, make_user, user):
    log = ExportLog.objects.create(user=user, identified=True, file_format="csv", filters={}, rows=3)
    client.force_login(make_user("boss", role="admin", is_staff=True))
    assert client.get("/admin/scoring/exportlog/").status_code == 200
    assert client.post(f"/admin/scoring/exportlog/{log.pk}/delete/", {"post": "yes"}).status_code == 403


def test_cohort_page_shows_reader_agreement_and_the_head_to_head(signed_in, demo):
    page = text(signed_in.get("/cohort/"))
    assert "ICC(2,1), 95 % CI" in page and "Cohen" in page
    with_both = Fracture.objects.exclude(second_vhl_percent=None).count()
    assert with_both > 10
    assert f'<td class="text-end">{with_both}</td>' in page
    assert "Genant grade (height-based approximation)" in page and "AO Spine-DGOU class (OF 1–5)" in page
    assert page.count("too few patients") < 6
