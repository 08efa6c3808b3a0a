"""The patient pages (scoring/views/patients.py): register, edit, the patient page and the list."""

import datetime
from decimal import Decimal

import pytest

from scoring.models import Fracture, Patient
from tests.scoring.views.conftest import new_assessment_url, text, visit_url

pytestmark = pytest.mark.django_db


def test_register_a_patient_saves_one_row_attributed_to_the_user(signed_in, user):
    response = signed_in.post(
        "/patients/new/", {"mrn": " ab-123 ", "name": "Ada Li", "sex": "F", "date_of_birth": "1950-04-02"}
    )
    patient = Patient.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/patients/{patient.pk}/"
    assert patient.mrn == "AB-123"  # trimmed, capitals
    assert patient.created_by == user and patient.updated_by == user


def test_mrn_must_be_unique_whatever_the_case(signed_in, patient):
    response = signed_in.post("/patients/new/", {"mrn": patient.mrn.lower(), "sex": "M", "date_of_birth": "1950-01-01"})
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


def test_patient_page_lists_assessments_newest_first(signed_in, patient, second_case):
    signed_in.post(
        new_assessment_url(patient),
        {**second_case, "assessment_date": "2023-01-05", "injury_date": "", "vhl_percent": "3"},
    )
    signed_in.post(new_assessment_url(patient), second_case)
    page = text(signed_in.get(patient.get_absolute_url()))
    assert page.index("2025-03-10") < page.index("2023-01-05")
    assert "New assessment" in page


def test_html_in_a_name_is_shown_escaped(signed_in, make_patient):
    make_patient(mrn="XSS1", name="<script>alert(1)</script>")
    page = text(signed_in.get("/patients/"))
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


# -- the patient list --------------------------------------------------------------------------


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
    signed_in.post(
        f"/patients/{patient.pk}/edit/",
        {"mrn": "ACC1", "name": "Maria Lopez", "sex": "F", "date_of_birth": "1953-06-01", "version": patient.version},
    )
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


def test_list_shows_the_latest_assessment_and_filters_by_group(signed_in, make_patient, second_case):
    high = make_patient(mrn="HIGH1")
    low = make_patient(mrn="LOW1")
    # HIGH1 was low risk once, then high: the latest counts.
    signed_in.post(
        new_assessment_url(high),
        {
            **second_case,
            "assessment_date": "2020-01-01",
            "injury_date": "",
            "vhl_percent": "1",
            "kyphosis_angle_deg": "1",
            "t2_signal": "diffuse_high",
            "bmd_t_score": "-1.5",
        },
    )
    signed_in.post(new_assessment_url(high), second_case)
    signed_in.post(
        new_assessment_url(low),
        {
            **second_case,
            "vhl_percent": "1",
            "kyphosis_angle_deg": "1",
            "t2_signal": "diffuse_high",
            "bmd_t_score": "-1.5",
        },
    )
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
    signed_in.post(f"/patients/{archived.pk}/archive/", {"reason": "Registered twice"})
    assert "Page 1 of 2 · 6 patients" in text(signed_in.get("/patients/"))
    assert "Page 2 of 2 · 6 patients" in text(signed_in.get("/patients/?page=2"))  # every page: the kept count
    assert "1 patients" not in text(signed_in.get("/patients/?archived=1"))
    signed_in.post(f"/patients/{archived.pk}/archive/", {"restore": "1"})
    assert "Page 1 of 2 · 7 patients" in text(signed_in.get("/patients/"))


def test_a_name_whose_words_lengthen_when_folded_is_saved_and_found(signed_in):
    """Case folding turns "ß" into "ss": the indexed words are cut to their column's 200."""
    from scoring.models import PatientNameWord, name_words

    assert [len(word) for word in name_words("ß" * 200)] == [200]
    response = signed_in.post(
        "/patients/new/", {"mrn": "LONG1", "name": "ß" * 101, "sex": "F", "date_of_birth": "1950-01-01"}
    )
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
            make_fracture(
                patient,
                assessment_date=datetime.date(year, 1, 1),
                vhl_percent=Decimal("10"),
                kyphosis_angle_deg=Decimal("5"),
                bmd_t_score=Decimal("-2.6"),
            )


@pytest.mark.parametrize(
    "url", ["/patients/", "/patients/?q=Q0&group=medium", "/patients/?q=test pat", "/patients/?page=2"]
)
def test_list_queries_do_not_grow_with_the_data(
    signed_in, make_patient, make_fracture, django_assert_max_num_queries, url
):
    _fill(make_patient, make_fracture, 0, 3)
    with django_assert_max_num_queries(12) as small:
        signed_in.get(url)
    _fill(make_patient, make_fracture, 3, 60)
    with django_assert_max_num_queries(len(small.captured_queries)):
        signed_in.get(url)


def test_patient_page_queries_do_not_grow_with_its_assessments(
    signed_in, make_patient, make_fracture, django_assert_max_num_queries
):
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


# -- the list's outcome flags ------------------------------------------------------------------


def test_progressive_kyphosis_is_flagged_in_the_patient_list(signed_in, case_two):
    signed_in.post(visit_url(case_two), {"kind": "6m", "visit_date": "2025-09-10", "kyphosis_angle_deg": "31"})
    assert "Progressive kyphosis" in text(signed_in.get("/patients/"))


def test_the_patient_list_marks_an_outcome_seen_after_a_treatment_change(signed_in, case_two):
    signed_in.post(
        f"/assessments/{case_two.pk}/treatment-change/",
        {"treatment": "vertebroplasty", "changed_on": "2025-04-01", "version": "1"},
    )
    signed_in.post(
        visit_url(case_two),
        {"kind": "6m", "visit_date": "2025-09-10", "bone_union": "non_union", "vacuum_cleft_ct": "on"},
    )
    assert 'Non-union <span class="fw-normal">(after treatment change)</span>' in text(signed_in.get("/patients/"))


@pytest.mark.parametrize(
    ("character", "name"),
    [
        ("\u202e", "U+202E RIGHT-TO-LEFT OVERRIDE"),
        ("\u2067", "U+2067 RIGHT-TO-LEFT ISOLATE"),
        ("\u200b", "U+200B ZERO WIDTH SPACE"),
        ("\ufeff", "U+FEFF ZERO WIDTH NO-BREAK SPACE"),
        ("\u0008", "U+0008 CONTROL CHARACTER"),
    ],
)
def test_a_name_with_an_invisible_character_is_refused_and_nothing_saved(signed_in, patient, character, name):
    """Finding 8: a U+202E in the name made the printed header line read backwards ("86 years" as "68")."""
    message = f"The name contains an invisible control character ({name}): retype it."
    created = signed_in.post(
        "/patients/new/",
        {"mrn": "BIDI1", "name": f"Chen{character} Margaret", "sex": "F", "date_of_birth": "1939-01-01"},
    )
    assert created.status_code == 200 and message in text(created)
    assert not Patient.objects.filter(mrn="BIDI1").exists()
    edited = signed_in.post(
        f"/patients/{patient.pk}/edit/",
        {
            "mrn": patient.mrn,
            "name": f"Test{character} Patient",
            "sex": "F",
            "date_of_birth": "1953-06-01",
            "version": "1",
        },
    )
    assert edited.status_code == 200 and message in text(edited)
    assert Patient.objects.get(pk=patient.pk).name == "Test Patient"
