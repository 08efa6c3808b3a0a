"""A corpus of hostile and malformed input across every form and the API: never a 5xx, never a
row written by a refused request, and HTML shown escaped wherever it appears.

At the top of tests/ on purpose: the corpus crosses every form, page and the API, not one module.
"""

import datetime
import json

import pytest
from django.test import Client

from scoring.models import Fracture, Patient, Visit

pytestmark = pytest.mark.django_db

BIG = "A" * 2_000_000  # 2 MB
NUMBERS = [
    "NaN",
    "nan",
    "Infinity",
    "-Infinity",
    "inf",
    "1e309",
    "-1e309",
    "1e999999999",
    "-9E+999999999999999999",
    "9" * 400,
    "0x10",
    "1_000",
    "１２",
    "١٥",
    "½",
    "1,5",
    "1.2.3",
    "--1",
    "+-1",
    "1e",
    ".",
    "-",
    "true",
    "null",
    "[]",
    "{}",
    "<script>alert(1)</script>",
    "' OR '1'='1",
    "1; DROP TABLE scoring_patient;--",
    "%00",
    "\x00",
    "5\x00",
    "😀",
    "\u202e5",
    "\u200b5",
    "1e3",
    "",
]
DATES = [
    "0000-01-01",
    "9999-12-31",
    "0001-01-01",
    "2025-02-30",
    "2025-13-01",
    "yesterday",
    "<script>",
    "' OR 1=1--",
    "\x00",
    "",
    "1e10",
    "A" * 10_000,
    "2025-1-1-1",
]
CHOICES = [
    "",
    "<script>alert(1)</script>",
    "' OR '1'='1",
    "\x00",
    "T13",
    "compression ",
    "COMPRESSION",
    "😀",
    "A" * 100_000,
    "null",
    "1",
]
MRNS = ["", "<b>x</b>", "' OR '1'='1", "a b", "A" * 33, "\x00", "😀", "-LEADING", "MRN\u202e", "../etc"]

SECOND_CASE = {
    "assessment_date": "2025-03-10",
    "level": "T11",
    "injury_date": "2025-03-02",
    "low_energy_trauma": "yes",
    "fracture_type": "compression",
    "vhl_percent": "17.8",
    "kyphosis_angle_deg": "19.6",
    "t2_signal": "diffuse_low",
    "bmd_t_score": "-3.6",
    "treatment": "conservative",
}
ASSESSMENT_CASES = (
    [(field, value) for field in ("bmd_t_score", "kyphosis_angle_deg", "vhl_percent") for value in NUMBERS]
    + [("assessment_date", value) for value in DATES]
    + [
        (field, value)
        for field in ("level", "fracture_type", "t2_signal", "treatment", "low_energy_trauma")
        for value in CHOICES
    ]
    + [("odi_section_1", value) for value in ["6", "-1", "2.5", "<b>", "\x00", "9" * 50]]
)
VISIT_CASES = (
    [("visit_date", value) for value in DATES]
    + [("kind", value) for value in CHOICES]
    + [("vas_pain", value) for value in NUMBERS if value]
    + [("bone_union", value) for value in CHOICES if value]
)
PATIENT_CASES = (
    [("mrn", value) for value in MRNS]
    + [("date_of_birth", value) for value in DATES]
    + [("sex", value) for value in CHOICES]
    + [("name", BIG), ("name", "x\x00y")]
)


def counts():
    return Patient.objects.count(), Fracture.objects.count(), Visit.objects.count()


def test_the_corpus_has_over_200_inputs():
    total = len(ASSESSMENT_CASES) + len(VISIT_CASES) + len(PATIENT_CASES) + len(API_CASES)
    assert total >= 200, total


@pytest.mark.parametrize(("field", "value"), ASSESSMENT_CASES)
def test_hostile_assessment_input_is_refused_without_a_write(signed_in, patient, field, value):
    before = counts()
    response = signed_in.post(f"/patients/{patient.pk}/assessments/new/", {**SECOND_CASE, field: value})
    assert response.status_code == 200, (field, value[:40])
    assert "Nothing was saved" in response.content.decode()
    assert counts() == before


@pytest.mark.parametrize(("field", "value"), VISIT_CASES)
def test_hostile_visit_input_is_refused_without_a_write(signed_in, make_fracture, patient, field, value):
    fracture = make_fracture(patient)
    before = counts()
    data = {"kind": "1m", "visit_date": "2025-04-10", "vas_pain": "5", field: value}
    response = signed_in.post(f"/assessments/{fracture.pk}/visits/new/", data)
    assert response.status_code == 200, (field, value[:40])
    assert counts() == before


@pytest.mark.parametrize(("field", "value"), PATIENT_CASES)
def test_hostile_patient_input_is_refused_without_a_write(signed_in, field, value):
    data = {"mrn": "NEW1", "name": "", "sex": "F", "date_of_birth": "1950-01-01", field: value}
    response = signed_in.post("/patients/new/", data)
    assert response.status_code == 200, (field, value[:40])
    assert Patient.objects.count() == 0


@pytest.mark.parametrize("value", DATES + CHOICES[:4])
def test_hostile_treatment_change_is_refused(signed_in, make_fracture, patient, value):
    fracture = make_fracture(patient)
    for field in ("changed_on", "treatment"):
        data = {"treatment": "vertebroplasty", "changed_on": "2025-04-01", "version": "1", field: value}
        response = signed_in.post(f"/assessments/{fracture.pk}/treatment-change/", data)
        assert response.status_code == 200
    fracture.refresh_from_db()
    assert fracture.treatment_changed_to == ""


@pytest.mark.parametrize("value", ["<script>", "' OR 1=1--", "\x00", "😀", "A" * 5000, "%", "_", "\\"])
def test_hostile_searches_and_list_parameters_answer_without_error(signed_in, value):
    for url in ("/patients/", "/worklist/"):
        response = signed_in.get(url, {"q": value, "group": value, "page": value, "sort": value, "status": value})
        assert response.status_code == 200


API_BODIES = [
    {"fracture_type": ["compression"]},
    {"fracture_type": {"$ne": 1}},
    {"vhl_percent": "1e3"},
    {"heights_mm": "20,30"},
    {"heights_mm": {"fractured_anterior": {"x": 1}}},
    {"age_years": -5},
    {"age_years": True},
    {"low_energy_trauma": 1},
    {"level": "<script>"},
    {"t2_signal": "\u0000"},
    {"bmd_t_score": "NaN"},
    {"kyphosis_angle_deg": 10**300},
    {"😀": 1},
    {"__proto__": {}},
    {"fracture_type": "x" * 60_000},
]
API_RAW = [
    '{"bmd_t_score": NaN}',
    '{"bmd_t_score": -Infinity}',
    '{"age_years": 1e99999}',
    "[" * 30_000,
    "\xff\xfe",
    '{"a":1,"a":2}',
    "0",
    "true",
    '"' + "x" * 1000 + '"',
    "",
    "{" + '"k":1,' * 2000 + '"k":1}',
]
API_CASES = [json.dumps(body) for body in API_BODIES] + API_RAW


@pytest.mark.parametrize("body", API_CASES)
def test_hostile_api_bodies_get_a_4xx_json_answer(signed_in, body):
    before = counts()
    response = signed_in.post("/api/score/", body, content_type="application/json")
    assert 400 <= response.status_code < 500
    assert "errors" in response.json()
    assert counts() == before


def test_a_post_without_a_csrf_token_is_refused_everywhere(user, patient, make_fracture):
    fracture = make_fracture(patient)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    before = counts()
    for url, data in [
        ("/patients/new/", {"mrn": "X1", "sex": "F", "date_of_birth": "1950-01-01"}),
        (f"/patients/{patient.pk}/assessments/new/", SECOND_CASE),
        (f"/assessments/{fracture.pk}/visits/new/", {"kind": "1m", "visit_date": "2025-04-10", "vas_pain": "5"}),
        (f"/assessments/{fracture.pk}/archive/", {}),
        ("/api/score/", {}),
    ]:
        assert client.post(url, data).status_code == 403, url
    assert counts() == before


HTML = '<script>alert("x")</script>"><img src=x onerror=alert(1)>'


def test_html_in_every_free_text_field_is_shown_escaped_everywhere(signed_in, make_patient, make_fracture):
    from django.utils import timezone

    patient = make_patient(mrn="ESC1", name=HTML)
    start = timezone.localdate() - datetime.timedelta(days=30)
    fracture = make_fracture(patient, assessment_date=start, treatment_start_date=start)
    signed_in.post(
        f"/assessments/{fracture.pk}/visits/new/",
        {"kind": "1m", "visit_date": timezone.localdate().isoformat(), "vas_pain": "5", "notes": HTML},
    )
    assert Visit.objects.get().notes == HTML
    signed_in.post(
        f"/assessments/{fracture.pk}/treatment-change/",
        {"treatment": "vertebroplasty", "changed_on": timezone.localdate().isoformat(), "reason": HTML, "version": "1"},
    )
    fracture.refresh_from_db()
    assert fracture.treatment_change_reason == HTML
    pages = [
        "/patients/",
        f"/patients/{patient.pk}/",
        fracture.get_absolute_url(),
        f"/assessments/{fracture.pk}/print/",
        f"/patients/{patient.pk}/history/",
        f"/assessments/{fracture.pk}/history/",
        f"/assessments/{fracture.pk}/edit/",
        f"/visits/{Visit.objects.get().pk}/edit/",
        f"/patients/{patient.pk}/edit/",
    ]
    for url in pages:
        page = signed_in.get(url).content.decode()
        assert "<script>alert" not in page and "<img src=x" not in page, url
    shown = signed_in.get(fracture.get_absolute_url()).content.decode()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in shown  # the notes and the reason, escaped


def test_a_name_with_html_is_escaped_in_the_rows_the_list_and_worklist_build(signed_in, make_patient, make_fracture):
    """The list and worklist rows are built in Python (scoring_extras): every value escaped."""
    from django.utils import timezone

    patient = make_patient(mrn="ESC2", name=HTML)
    start = timezone.localdate() - datetime.timedelta(days=30)
    make_fracture(patient, assessment_date=start, treatment_start_date=start)
    for url in ["/patients/", "/patients/?q=esc", "/worklist/"]:
        page = signed_in.get(url).content.decode()
        assert "<script>alert" not in page and "<img src=x" not in page, url
        assert (
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in page
        ), url
