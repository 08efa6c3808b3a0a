"""The pages through Django's test client: what is saved, what is refused, what is shown."""

import datetime
from decimal import Decimal

import pytest
from django.core.management import call_command

from scoring.models import Fracture, Patient

pytestmark = pytest.mark.django_db


def new_assessment_url(patient):
    return f"/patients/{patient.pk}/assessments/new/"


def text(response) -> str:
    return response.content.decode()


# -- patients ----------------------------------------------------------------------------------

def test_register_a_patient_saves_one_row_attributed_to_the_user(signed_in, user):
    response = signed_in.post(
        "/patients/new/", {"mrn": " ab-123 ", "name": "Ada Li", "sex": "F", "date_of_birth": "1950-04-02"}
    )
    patient = Patient.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/patients/{patient.pk}/"
    assert patient.mrn == "AB-123"  # trimmed, capitals
    assert patient.created_by == user and patient.updated_by == user


def test_mrn_must_be_unique_whatever_the_case(signed_in, patient):
    response = signed_in.post(
        "/patients/new/", {"mrn": patient.mrn.lower(), "sex": "M", "date_of_birth": "1950-01-01"}
    )
    assert response.status_code == 200
    assert "Patient with this MRN already exists." in text(response)
    assert Patient.objects.count() == 1


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"mrn": "", "sex": "F", "date_of_birth": "1950-01-01"}, "mrn", "This field is required."),
        ({"mrn": "A 1", "sex": "F", "date_of_birth": "1950-01-01"}, "mrn", "Use letters, digits"),
        ({"mrn": "A1", "sex": "X", "date_of_birth": "1950-01-01"}, "sex", "Select a valid choice"),
        ({"mrn": "A1", "sex": "F", "date_of_birth": "2999-01-01"}, "date_of_birth", "in the future"),
        ({"mrn": "A1", "sex": "F", "date_of_birth": "0001-01-01"}, "date_of_birth", "from 1900 on"),
        ({"mrn": "A1", "sex": "F", "date_of_birth": "1950-13-45"}, "date_of_birth", "Enter a valid date"),
        ({"mrn": "A" * 33, "sex": "F", "date_of_birth": "1950-01-01"}, "mrn", "at most 32 characters"),
    ],
)
def test_a_bad_patient_saves_nothing_and_names_the_field(signed_in, data, field, message):
    response = signed_in.post("/patients/new/", data)
    assert response.status_code == 200
    assert message in text(response)
    assert f'id="error_1_id_{field}"' in text(response)
    assert Patient.objects.count() == 0


def test_edit_a_patient(signed_in, patient, make_user):
    other = make_user("second")
    signed_in.force_login(other)
    response = signed_in.post(
        f"/patients/{patient.pk}/edit/",
        {"mrn": patient.mrn, "name": "Renamed", "sex": "F", "date_of_birth": "1953-06-01", "version": "1"},
    )
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.name == "Renamed"
    assert patient.updated_by == other and patient.created_by != other


def test_correcting_the_date_of_birth_rescores_the_age_warning(signed_in, patient, second_case):
    signed_in.post(new_assessment_url(patient), second_case)
    fracture = Fracture.objects.get()
    assert fracture.population_warnings == []
    signed_in.post(
        f"/patients/{patient.pk}/edit/",
        {"mrn": patient.mrn, "name": patient.name, "sex": "F", "date_of_birth": "1970-01-01", "version": "1"},
    )
    fracture.refresh_from_db()
    assert fracture.age_at_assessment == 55
    assert [w["code"] for w in fracture.population_warnings] == ["age_below_inclusion"]


def test_date_of_birth_after_an_assessment_is_refused(signed_in, patient, second_case):
    signed_in.post(new_assessment_url(patient), second_case)
    response = signed_in.post(
        f"/patients/{patient.pk}/edit/",
        {"mrn": patient.mrn, "sex": "F", "date_of_birth": "2025-06-01", "version": "1"},
    )
    assert "has an assessment dated 2025-03-10" in text(response)
    patient.refresh_from_db()
    assert patient.date_of_birth == datetime.date(1953, 6, 1)


def test_unknown_patient_is_a_404_page(signed_in):
    response = signed_in.get("/patients/999999/")
    assert response.status_code == 404
    assert "Not found" in text(response)


# -- the baseline assessment ---------------------------------------------------------------------

def test_second_worked_case_saves_exactly_one_row_scoring_10_high(signed_in, user, patient, second_case):
    response = signed_in.post(new_assessment_url(patient), second_case)
    fracture = Fracture.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/assessments/{fracture.pk}/"
    assert fracture.total_score == 10
    assert fracture.risk_group == "high"
    assert fracture.rules_version == "NASOVCF-2025"
    assert fracture.age_at_assessment == 71
    assert fracture.vhl_percent == Decimal("17.8") and fracture.vhl_entered_percent == Decimal("17.8")
    assert {name: c["points"] for name, c in fracture.score_components.items()} == {
        "fracture_type": 0, "vertebral_height_loss": 2, "kyphosis_angle": 2, "t2_signal": 2, "bmd": 4,
    }
    assert fracture.population_warnings == []
    assert fracture.created_by == user and fracture.patient == patient


def test_first_worked_case_scores_0_low(signed_in, make_patient):
    patient = make_patient(mrn="CASE1", date_of_birth=datetime.date(1945, 1, 15))  # 79 on 2024-06-01
    data = {
        "assessment_date": "2024-06-01", "level": "L2", "low_energy_trauma": "yes",
        "fracture_type": "compression", "vhl_percent": "0.5", "kyphosis_angle_deg": "4.6",
        "t2_signal": "diffuse_high", "bmd_t_score": "-1.5", "treatment": "conservative",
    }
    signed_in.post(new_assessment_url(patient), data)
    fracture = Fracture.objects.get()
    assert (fracture.total_score, fracture.risk_group, fracture.age_at_assessment) == (0, "low", 79)


def test_vhl_from_six_heights_is_computed_saved_and_shown(signed_in, patient, second_case):
    del second_case["vhl_percent"]
    heights = {"fractured_anterior_mm": "20", "fractured_posterior_mm": "30", "cranial_anterior_mm": "30",
               "cranial_posterior_mm": "30", "caudal_anterior_mm": "30", "caudal_posterior_mm": "30"}
    response = signed_in.post(new_assessment_url(patient), {**second_case, **heights, "preview": "1"})
    assert "VHL computed from the six heights: <strong>16.7 %</strong>" in text(response)
    assert Fracture.objects.count() == 0
    signed_in.post(new_assessment_url(patient), {**second_case, **heights})
    fracture = Fracture.objects.get()
    assert fracture.vhl_percent == Decimal("16.7")
    assert fracture.vhl_entered_percent is None
    assert fracture.fractured_anterior_mm == Decimal("20")
    page = text(signed_in.get(fracture.get_absolute_url()))
    assert "16.7 % (from six heights)" in page


def test_calculate_shows_the_result_and_saves_nothing(signed_in, patient, second_case):
    response = signed_in.post(new_assessment_url(patient), {**second_case, "preview": "1"})
    assert response.status_code == 200
    assert Fracture.objects.count() == 0
    page = text(response)
    assert '<div class="score-total" data-testid="score-total">10</div>' in page
    assert "Calculated, not saved yet." in page


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("kyphosis_angle_deg", "90.1", "Must be at most 90°."),
        ("kyphosis_angle_deg", "-45.1", "Must be at least -45°."),
        ("bmd_t_score", "-7.1", "Must be at least -7.0."),
        ("bmd_t_score", "4.1", "Must be at most 4.0."),
        ("bmd_t_score", "abc", "Enter a number."),
        ("bmd_t_score", "NaN", "Enter a number."),
        ("vhl_percent", "100.1", "Must be at most 100 %."),
        ("vhl_percent", "-50.1", "Must be at least -50 %."),
        ("vhl_percent", "", "Enter the VHL percentage, or all six heights"),
        ("vas_pain", "10.1", "Must be at most 10."),
        ("odi_percent", "101", "Must be at most 100 %."),
        ("level", "S1", "Select a valid choice"),
        ("fracture_type", "", "This field is required."),
        ("t2_signal", "black", "Select a valid choice"),
        ("treatment", "", "This field is required."),
        ("low_energy_trauma", "", "This field is required."),
        ("assessment_date", "2999-01-01", "This date is in the future."),
        ("assessment_date", "1940-01-01", "This is before the patient"),
        ("injury_date", "2025-03-11", "The injury cannot come after the assessment."),
        ("height_cm", "20", "Must be at least 100 cm."),
        ("weight_kg", "9" * 40, "Enter a number."),
        ("bmd_t_score", "1e1000000", "Enter a number."),
        ("kyphosis_angle_deg", "-9E+999999999999999999", "Enter a number."),
        ("vas_pain", "1e999999", "Enter a number."),
        ("kyphosis_angle_deg", "1_5", "Enter a number."),
        ("kyphosis_angle_deg", "١٥", "Enter a number."),
        ("treatment_start_date", "2025-03-09", "Treatment starts after the pretreatment assessment"),
    ],
)
def test_a_bad_assessment_saves_nothing_and_shows_the_fields_error(signed_in, patient, second_case, field, value, message):
    response = signed_in.post(new_assessment_url(patient), {**second_case, field: value})
    assert response.status_code == 200
    page = text(response)
    assert message in page
    if field == "low_energy_trauma":
        radios = page[page.index('id="div_id_low_energy_trauma"'):]
        assert message in radios[: radios.index("</fieldset>")]
    else:
        assert f'id="error_1_id_{field}"' in page
    assert "Nothing was saved" in page
    assert Fracture.objects.count() == 0


def test_vhl_and_heights_both_given_is_refused(signed_in, patient, second_case):
    response = signed_in.post(new_assessment_url(patient), {**second_case, "fractured_anterior_mm": "20"})
    page = text(response)
    assert "Enter either the VHL percentage or the six heights, not both." in page
    assert Fracture.objects.count() == 0


def test_heights_that_give_an_impossible_vhl_are_refused(signed_in, patient, second_case):
    del second_case["vhl_percent"]
    heights = {"fractured_anterior_mm": "60", "fractured_posterior_mm": "60", "cranial_anterior_mm": "30",
               "cranial_posterior_mm": "30", "caudal_anterior_mm": "30", "caudal_posterior_mm": "30"}
    response = signed_in.post(new_assessment_url(patient), {**second_case, **heights})
    page = text(response)
    vhl_fieldset = page[page.index('class="vhl-fieldset"'):]
    vhl_fieldset = vhl_fieldset[: vhl_fieldset.index("</fieldset>")]
    assert "outside −50 … 100 %: check the heights" in vhl_fieldset  # beside the heights
    assert "Nothing was saved" in page
    assert Fracture.objects.count() == 0


def test_the_result_page_shows_score_group_breakdown_cohort_and_citation(signed_in, patient, second_case):
    signed_in.post(new_assessment_url(patient), second_case)
    page = text(signed_in.get(Fracture.objects.get().get_absolute_url()))
    assert '<div class="score-total" data-testid="score-total">10</div>' in page
    assert "High risk</span>" in page  # a text label, not colour alone
    assert "17.8 %" in page and "19.6°" in page and "−3.6" in page and "T ≤ −3.5" in page
    # spec §5, high group: non-union 39/63 (61.9 %), kyphosis 30/63 (47.6 %), with Wilson intervals.
    assert "non-union at 6 months in 61.9 %</strong>" in page
    assert "39/63; 95 % CI 49.6–72.9 %" in page
    assert "progressive kyphosis in 47.6 %</strong>" in page
    assert "vertebral augmentation may be the better option" in page
    assert "Scientific Reports" in page
    assert "Outside the population" not in page


def test_the_result_page_warns_for_each_criterion_outside_the_validated_population(signed_in, make_patient, second_case):
    young = make_patient(mrn="YOUNG", date_of_birth=datetime.date(1980, 1, 1))
    data = {**second_case, "level": "L4", "low_energy_trauma": "no", "bmd_t_score": "-0.5"}
    signed_in.post(new_assessment_url(young), data)
    fracture = Fracture.objects.get()
    page = text(signed_in.get(fracture.get_absolute_url()))
    for code in ["bmd_above_inclusion", "age_below_inclusion", "level_outside_validated", "high_energy_trauma"]:
        assert f'data-warning-code="{code}"' in page
    assert "Level L4 is outside T11–L2" in page


def test_a_treatment_other_than_conservative_is_warned_about(signed_in, patient, second_case):
    signed_in.post(new_assessment_url(patient), {**second_case, "treatment": "kyphoplasty"})
    fracture = Fracture.objects.get()
    assert [w["code"] for w in fracture.population_warnings] == ["treatment_not_conservative"]
    assert 'data-warning-code="treatment_not_conservative"' in text(signed_in.get(fracture.get_absolute_url()))


def test_the_admin_shows_clinical_records_but_cannot_add_or_change_them(client, django_user_model, patient):
    admin = django_user_model.objects.create_superuser("root", password="x" * 12)
    client.force_login(admin)
    assert client.get("/admin/scoring/patient/").status_code == 200
    assert client.get("/admin/scoring/patient/add/").status_code == 403
    response = client.post(f"/admin/scoring/patient/{patient.pk}/change/", {"mrn": "p1", "sex": "F", "date_of_birth": "1950-01-01"})
    assert response.status_code == 403
    patient.refresh_from_db()
    assert patient.mrn == "MRN001"


def test_editing_an_assessment_recomputes_its_score(signed_in, patient, second_case, make_user):
    signed_in.post(new_assessment_url(patient), second_case)
    fracture = Fracture.objects.get()
    form_page = text(signed_in.get(f"/assessments/{fracture.pk}/edit/"))
    assert 'value="17.8"' in form_page and 'value="-3.6"' in form_page
    editor = make_user("editor")
    signed_in.force_login(editor)
    response = signed_in.post(f"/assessments/{fracture.pk}/edit/", {**second_case, "bmd_t_score": "-2.0", "vhl_percent": "14.9", "version": "1"})
    assert response.status_code == 302
    fracture.refresh_from_db()
    assert fracture.total_score == 4  # KA 2 + T2 2
    assert fracture.risk_group == "medium"
    assert fracture.updated_by == editor
    assert Fracture.objects.count() == 1


def test_patient_page_lists_assessments_newest_first(signed_in, patient, second_case):
    signed_in.post(new_assessment_url(patient), {**second_case, "assessment_date": "2023-01-05", "injury_date": "", "vhl_percent": "3"})
    signed_in.post(new_assessment_url(patient), second_case)
    page = text(signed_in.get(patient.get_absolute_url()))
    assert page.index("2025-03-10") < page.index("2023-01-05")
    assert "New assessment" in page


def test_bmi_is_shown_from_height_and_weight(signed_in, patient, second_case):
    signed_in.post(new_assessment_url(patient), second_case)
    page = text(signed_in.get(Fracture.objects.get().get_absolute_url()))
    assert "21.6 kg/m²" in page  # 50 / 1.52²


def test_html_in_a_name_is_shown_escaped(signed_in, make_patient):
    make_patient(mrn="XSS1", name="<script>alert(1)</script>")
    page = text(signed_in.get("/patients/"))
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


# -- the patient list -------------------------------------------------------------------------------

def test_list_finds_a_patient_by_mrn_or_name(signed_in, make_patient):
    make_patient(mrn="AAA111", name="Margaret Chen")
    make_patient(mrn="BBB222", name="Robert Brown")
    by_mrn = text(signed_in.get("/patients/?q=aaa1"))
    assert "AAA111" in by_mrn and "BBB222" not in by_mrn
    by_name = text(signed_in.get("/patients/?q=brown"))
    assert "BBB222" in by_name and "AAA111" not in by_name
    assert "No patient matches" in text(signed_in.get("/patients/?q=nobody"))


@pytest.mark.parametrize("query", ["chen", "CHEN", "mar", "marg ch", "Chen, Margaret", "ch mar"])
def test_a_name_is_found_by_the_start_of_its_words_in_any_order_and_case(signed_in, make_patient, query):
    make_patient(mrn="AAA111", name="Margaret Chen")
    make_patient(mrn="BBB222", name="Robert Brown")
    page = text(signed_in.get(f"/patients/?q={query}"))
    assert "AAA111" in page and "BBB222" not in page


def test_a_name_is_found_without_its_accents_and_follows_an_edit(signed_in, make_patient):
    patient = make_patient(mrn="ACC1", name="José Núñez-Álvarez")
    assert "ACC1" in text(signed_in.get("/patients/?q=nunez"))
    assert "ACC1" in text(signed_in.get("/patients/?q=alvarez jose"))
    signed_in.post(f"/patients/{patient.pk}/edit/", {"mrn": "ACC1", "name": "Maria Lopez", "sex": "F",
                                                    "date_of_birth": "1953-06-01", "version": patient.version})
    assert "ACC1" in text(signed_in.get("/patients/?q=lopez"))
    assert "No patient matches" in text(signed_in.get("/patients/?q=nunez"))


def test_an_mrn_is_found_by_its_start_and_one_word_with_a_digit_is_only_an_mrn(signed_in, make_patient):
    make_patient(mrn="DEMO-000123", name="Demo Patient 123")
    make_patient(mrn="X9", name="Demo Other")
    assert "DEMO-000123" in text(signed_in.get("/patients/?q=demo-0001"))
    assert "DEMO-000123" not in text(signed_in.get("/patients/?q=000123"))  # the start, not the middle
    # One word with a digit is an MRN: the words of the names are not read for it.
    assert "No patient matches" in text(signed_in.get("/patients/?q=123"))
    # Words with a space between are a name, digits and all.
    page = text(signed_in.get("/patients/?q=patient 12"))
    assert "DEMO-000123" in page and ">X9<" not in page


def test_search_reads_indexes_not_every_patient(make_patient):
    """The search is an index look-up on the MRN and on the name's words (SQLite's query plan)."""
    from django.db import connection

    from scoring.models import Patient

    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL plans by its statistics: on a near-empty table a scan is its right choice")
    make_patient(mrn="AAA111", name="Margaret Chen")
    for query in ["aaa", "margaret ch"]:
        sql, params = Patient.objects.order_by("mrn").active().search(query)[:25].query.sql_with_params()
        with connection.cursor() as cursor:
            plan = [row[-1] for row in cursor.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()]
        assert not any(step.startswith("SCAN scoring_patient") for step in plan), plan


def test_list_shows_the_latest_assessment_and_filters_by_group(signed_in, make_patient, second_case):
    high = make_patient(mrn="HIGH1")
    low = make_patient(mrn="LOW1")
    # HIGH1 was low risk once, then high: the latest counts.
    signed_in.post(new_assessment_url(high), {**second_case, "assessment_date": "2020-01-01", "injury_date": "", "vhl_percent": "1",
                                              "kyphosis_angle_deg": "1", "t2_signal": "diffuse_high", "bmd_t_score": "-1.5"})
    signed_in.post(new_assessment_url(high), second_case)
    signed_in.post(new_assessment_url(low), {**second_case, "vhl_percent": "1", "kyphosis_angle_deg": "1",
                                             "t2_signal": "diffuse_high", "bmd_t_score": "-1.5"})
    page = text(signed_in.get("/patients/?group=high"))
    assert "HIGH1" in page and "LOW1" not in page
    page = text(signed_in.get("/patients/?group=low"))
    assert "LOW1" in page and "HIGH1" not in page
    row = text(signed_in.get("/patients/?q=HIGH1"))
    assert '<td class="text-end fw-semibold">10</td>' in row


def test_list_paginates(signed_in, make_patient, settings):
    settings.PAGE_SIZE = 5
    for n in range(12):
        make_patient(mrn=f"P{n:03d}")
    first = text(signed_in.get("/patients/"))
    assert "P000" in first and "P004" in first and "P005" not in first
    assert "Page 1 of 3 · 12 patients" in first
    last = text(signed_in.get("/patients/?page=3"))
    assert "P010" in last and "P011" in last and "P009" not in last
    assert text(signed_in.get("/patients/?page=abc")).count("P00") == 5  # a bad page number shows page 1


def test_the_patient_count_follows_new_and_archived_patients(signed_in, make_patient, settings):
    """A new patient, an archived one and a restored one each show in the list's count at once."""
    settings.PAGE_SIZE = 5
    for n in range(6):
        make_patient(mrn=f"P{n:03d}")
    assert "Page 1 of 2 · 6 patients" in text(signed_in.get("/patients/"))
    signed_in.post("/patients/new/", {"mrn": "NEW1", "sex": "F", "date_of_birth": "1950-01-01"})
    assert "Page 1 of 2 · 7 patients" in text(signed_in.get("/patients/"))
    archived = Patient.objects.get(mrn="P000")
    signed_in.post(f"/patients/{archived.pk}/archive/")
    assert "Page 1 of 2 · 6 patients" in text(signed_in.get("/patients/"))
    assert "Page 2 of 2 · 6 patients" in text(signed_in.get("/patients/?page=2"))  # every page: the kept count
    assert "1 patients" not in text(signed_in.get("/patients/?archived=1"))
    signed_in.post(f"/patients/{archived.pk}/archive/", {"restore": "1"})
    assert "Page 1 of 2 · 7 patients" in text(signed_in.get("/patients/"))


def test_a_name_whose_words_lengthen_when_folded_is_saved_and_found(signed_in):
    """Case folding turns "ß" into "ss": the indexed words are cut to their column's 200."""
    from scoring.models import PatientNameWord, name_words

    assert [len(word) for word in name_words("ß" * 200)] == [200]
    response = signed_in.post("/patients/new/", {"mrn": "LONG1", "name": "ß" * 101, "sex": "F", "date_of_birth": "1950-01-01"})
    assert response.status_code == 302
    assert max(len(word) for word in PatientNameWord.objects.values_list("word", flat=True)) <= 200
    assert "LONG1" in text(signed_in.get("/patients/?q=ssss"))


def test_list_keeps_the_search_in_the_page_links(signed_in, make_patient, settings):
    settings.PAGE_SIZE = 2
    for n in range(5):
        make_patient(mrn=f"KEEP{n}")
    page = text(signed_in.get("/patients/?q=keep"))
    assert "?q=keep&amp;page=2" in page


def _fill(make_patient, make_fracture, start, count):
    for n in range(start, start + count):
        patient = make_patient(mrn=f"Q{n:05d}")
        for year in (2020, 2024):
            make_fracture(patient, assessment_date=datetime.date(year, 1, 1), vhl_percent=Decimal("10"),
                          kyphosis_angle_deg=Decimal("5"), bmd_t_score=Decimal("-2.6"))


@pytest.mark.parametrize("url", ["/patients/", "/patients/?q=Q0&group=medium", "/patients/?q=test pat", "/patients/?page=2"])
def test_list_queries_do_not_grow_with_the_data(signed_in, make_patient, make_fracture, django_assert_max_num_queries, url):
    _fill(make_patient, make_fracture, 0, 3)
    with django_assert_max_num_queries(12) as small:
        signed_in.get(url)
    _fill(make_patient, make_fracture, 3, 60)
    with django_assert_max_num_queries(len(small.captured_queries)):
        signed_in.get(url)


def test_patient_page_queries_do_not_grow_with_its_assessments(signed_in, make_patient, make_fracture, django_assert_max_num_queries):
    _fill(make_patient, make_fracture, 0, 1)
    patient = Patient.objects.get()
    with django_assert_max_num_queries(12) as small:
        signed_in.get(patient.get_absolute_url())
    for year in range(2000, 2015):
        fracture = patient.fractures.first()
        fracture.pk = None
        fracture.assessment_date = datetime.date(year, 5, 5)
        fracture.save()
    with django_assert_max_num_queries(len(small.captured_queries)):
        signed_in.get(patient.get_absolute_url())


# -- first run ---------------------------------------------------------------------------------------

def test_ensure_admin_creates_one_admin_on_an_empty_database_and_prints_its_password(capsys, django_user_model):
    call_command("ensure_admin")
    out = capsys.readouterr().out
    admin = django_user_model.objects.get()
    assert admin.is_superuser and admin.username == "admin"
    password = out.split("password: ")[1].split()[0]
    assert admin.check_password(password)
    call_command("ensure_admin")
    assert capsys.readouterr().out == ""
    assert django_user_model.objects.count() == 1


def test_the_edit_form_of_an_assessment_without_heights_shows_its_vhl(signed_in, patient, make_fracture):
    fracture = make_fracture(patient)  # saved outside the form: no vhl_entered_percent
    page = text(signed_in.get(f"/assessments/{fracture.pk}/edit/"))
    assert 'name="vhl_percent" value="17.8"' in page


def test_a_second_readers_mean_is_scored_and_a_large_disagreement_flagged(signed_in, patient, second_case):
    data = {**second_case, "vhl_percent": "12.0", "kyphosis_angle_deg": "12.0", "first_reader_name": "Dr A",
            "second_reader_name": "Dr B", "second_vhl_percent": "18.0", "second_kyphosis_angle_deg": "18.1"}
    signed_in.post(new_assessment_url(patient), data)
    fracture = Fracture.objects.get()
    assert (fracture.first_vhl_percent, fracture.second_vhl_percent, fracture.vhl_percent) == (Decimal("12.0"), Decimal("18.0"), Decimal("15.0"))
    assert (fracture.first_kyphosis_angle_deg, fracture.second_kyphosis_angle_deg) == (Decimal("12.0"), Decimal("18.1"))
    assert fracture.kyphosis_angle_deg == Decimal("15.1")  # 15.05 rounded half-up
    assert fracture.score_components["vertebral_height_loss"]["points"] == 2  # the mean, 15.0, is scored
    assert fracture.readers_disagree
    page = text(signed_in.get(fracture.get_absolute_url()))
    assert "Readers differ by more than 5 % or 5°" in page and "Dr B" in page
    edit = text(signed_in.get(f"/assessments/{fracture.pk}/edit/"))
    assert 'name="kyphosis_angle_deg" value="12.0"' in edit  # the first reader's own values
    assert 'name="vhl_percent" value="12.0"' in edit
    # Saving again unchanged keeps the same mean (it must not drift towards the second reader).
    signed_in.post(f"/assessments/{fracture.pk}/edit/", {**data, "version": "1"})
    fracture.refresh_from_db()
    assert (fracture.first_vhl_percent, fracture.vhl_percent, fracture.version) == (Decimal("12.0"), Decimal("15.0"), 2)


def test_a_second_reader_needs_a_name(signed_in, patient, second_case):
    response = signed_in.post(new_assessment_url(patient), {**second_case, "second_vhl_percent": "18"})
    assert "Name the second reader." in text(response)
    assert Fracture.objects.count() == 0


def test_genant_grade_and_of_class_are_shown_beside_the_score(signed_in, patient, second_case):
    del second_case["vhl_percent"]
    heights = {"fractured_anterior_mm": "22.5", "fractured_posterior_mm": "28.5", "cranial_anterior_mm": "30",
               "cranial_posterior_mm": "30", "caudal_anterior_mm": "30", "caudal_posterior_mm": "30"}
    signed_in.post(new_assessment_url(patient), {**second_case, **heights, "of_class": "OF3"})
    fracture = Fracture.objects.get()
    assert (fracture.genant_grade, fracture.genant_reduction_percent) == (2, Decimal("25.0"))
    page = text(signed_in.get(fracture.get_absolute_url()))
    assert "Genant grade (height-based approximation)" in page
    assert "grade 2 (largest height reduction 25.0 %)" in page
    assert "OF 3: deformation of one endplate, distinct" in page


def test_the_assessment_form_preselects_no_fracture_type_or_t2_pattern(signed_in, patient, second_case):
    page = text(signed_in.get(new_assessment_url(patient)))
    for name in ("fracture_type", "t2_signal"):
        select = page[page.index(f'name="{name}"'):]
        select = select[: select.index("</select>")]
        assert '<option value="" selected>—</option>' in select, name
    del second_case["t2_signal"]
    response = signed_in.post(new_assessment_url(patient), second_case)
    assert "This field is required." in text(response) and Fracture.objects.count() == 0
