"""The film pages (issue 15): adding a film, a patient mismatch, measuring as two readers, "Use these
values" filling the record's form, the image views and who may do what."""

from __future__ import annotations

import datetime
import io
import json
import os
import stat
import time
from decimal import Decimal

import pydicom
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from scoring.models import Film, FilmReading, Fracture, Visit
from tests.films import WORKED_EXAMPLE_CORNERS, dicom_film, png_film

pytestmark = pytest.mark.django_db


def worked_points(shift_x: float = 0) -> dict:
    return {
        vertebra: {corner: [x + shift_x, y] for corner, (x, y) in corners.items()}
        for vertebra, corners in WORKED_EXAMPLE_CORNERS.items()
    }


def upload(client, fracture, data: bytes, name: str = "film.dcm", visit=None):
    url = reverse("scoring:film_add", args=[fracture.pk])
    fields = {"file": SimpleUploadedFile(name, data)}
    if visit is not None:
        fields["visit"] = str(visit.pk)
    return client.post(url, fields)


@pytest.fixture
def fracture(case_two):
    return case_two  # patient MRN001 "Test Patient", as tests.films names its DICOM's patient


@pytest.fixture
def film(signed_in, fracture) -> Film:
    assert upload(signed_in, fracture, dicom_film()).status_code == 302
    return Film.objects.get()


def measure(client, film, reader: int, points: dict, name: str = "Dr A", **extra):
    url = reverse("scoring:film_measure", args=[film.pk, reader])
    return client.post(url, {"reader_name": name, "points": json.dumps(points), **extra})


def files_left() -> list:
    return [path for path in settings.FILMS_DIR.rglob("*") if path.is_file()]


# -- adding a film ---------------------------------------------------------------------------------


def test_an_uploaded_dicom_is_kept_privately_with_its_identity_and_spacing(signed_in, fracture):
    answer = upload(signed_in, fracture, dicom_film(sop_uid="1.2.3.4.5"))
    film = Film.objects.get()
    assert answer.headers["Location"] == film.get_absolute_url()
    assert (film.fracture, film.visit, film.source, film.file_format) == (fracture, None, "upload", "dicom")
    assert (film.width, film.height) == (512, 512)
    assert film.pixel_spacing_mm == (Decimal("0.25"), Decimal("0.25"))
    assert film.sop_instance_uid == "1.2.3.4.5"
    assert film.history.get().history_change_reason == "Uploaded"
    assert stat.S_IMODE(film.directory.stat().st_mode) == 0o700
    for path in film.directory.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert not list((settings.FILMS_DIR / "incoming").iterdir())  # the upload's copy is gone


def test_a_file_that_is_not_an_image_is_refused_with_its_reason_and_nothing_is_kept(signed_in, fracture):
    answer = upload(signed_in, fracture, b"MRN,level\nMRN001,L1\n", name="film.dcm")
    assert answer.status_code == 400
    assert "not a DICOM, PNG or JPEG" in answer.content.decode()
    assert not Film.objects.exists()
    assert files_left() == []


def test_a_film_above_the_size_limit_is_refused(signed_in, fracture, settings):
    settings.NASOVCF_FILM_MAX_MB = 0
    answer = upload(signed_in, fracture, dicom_film())
    assert answer.status_code == 400
    assert "the largest film taken is 0 MB" in answer.content.decode()
    assert not Film.objects.exists()


def test_a_dicom_of_another_patient_waits_for_the_users_word(signed_in, fracture):
    answer = upload(signed_in, fracture, dicom_film(patient_id="OTHER-7", patient_name="Lin^Wei"))
    page = answer.content.decode()
    assert answer.status_code == 200
    assert "the file&#x27;s PatientID is OTHER-7, the patient&#x27;s MRN is MRN001" in page
    assert "the file&#x27;s PatientName is Wei Lin, the patient is Test Patient" in page
    assert not Film.objects.exists()
    key = signed_in.session["film_pending"]["key"]
    kept = signed_in.post(reverse("scoring:film_confirm"), {"key": key, "keep": "yes"})
    film = Film.objects.get()
    assert kept.headers["Location"] == film.get_absolute_url()
    assert film.identity_mismatch_confirmed.startswith("the file's PatientID is OTHER-7")
    reason = film.history.get().history_change_reason
    assert "kept although the file's PatientID is OTHER-7" in reason
    assert "confirmed by clinician" in reason


def test_a_film_of_another_patient_can_be_discarded(signed_in, fracture):
    upload(signed_in, fracture, dicom_film(patient_id="OTHER-7"))
    key = signed_in.session["film_pending"]["key"]
    signed_in.post(reverse("scoring:film_confirm"), {"key": key, "keep": "no"})
    assert not Film.objects.exists()
    assert files_left() == []


def test_a_name_written_the_dicom_way_matches_the_patient(signed_in, fracture):
    upload(signed_in, fracture, dicom_film(patient_id="mrn001", patient_name="PATIENT^TEST"))
    assert Film.objects.get().identity_mismatch_confirmed == ""


def test_a_visit_film_belongs_to_its_visit(signed_in, fracture, user):
    visit = Visit.objects.create(
        fracture=fracture, kind="1m", visit_date=datetime.date(2025, 4, 10), created_by=user, updated_by=user
    )
    upload(signed_in, fracture, dicom_film(), visit=visit)
    assert Film.objects.get().visit == visit


# -- measuring ------------------------------------------------------------------------------------


def test_use_these_values_keeps_the_reading_and_fills_the_assessment_form(signed_in, film):
    answer = measure(signed_in, film, 1, worked_points(), name="Dr A")
    reading = FilmReading.objects.get()
    assert answer.headers["Location"] == reverse("scoring:fracture_edit", args=[film.fracture_id]) + (
        f"?reading={reading.pk}"
    )
    assert (reading.reader, reading.reader_name, reading.unit) == (1, "Dr A", "mm")
    assert (reading.fractured_anterior, reading.fractured_posterior, reading.cranial_anterior) == (10, 15, 15)
    assert (reading.vhl_percent, reading.kyphosis_angle_deg, reading.genant_grade) == (
        Decimal("16.7"),
        Decimal("0.0"),
        2,
    )
    form = signed_in.get(answer.headers["Location"]).context["form"]
    assert form.initial["fractured_anterior_mm"] == Decimal("10.00")
    assert form.initial["caudal_posterior_mm"] == Decimal("15.00")
    assert form.initial["vhl_percent"] is None
    assert form.initial["kyphosis_angle_deg"] == Decimal("0.0")
    assert form.initial["first_reader_name"] == "Dr A"


def test_saving_the_filled_form_gives_the_assessment_the_films_values(signed_in, film):
    location = measure(signed_in, film, 1, worked_points()).headers["Location"]
    form = signed_in.get(location).context["form"]
    data = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if value is None:
            continue
        data[name] = field.widget.format_value(value) if hasattr(field.widget, "format_value") else value
    data["low_energy_trauma"] = "yes"
    data = {name: ("" if value is None else value) for name, value in data.items()}
    saved = signed_in.post(location, data)
    assert saved.status_code == 302, saved.context["form"].errors
    fracture = Fracture.objects.get(pk=film.fracture_id)
    assert fracture.vhl_percent == Decimal("16.7")
    assert fracture.kyphosis_angle_deg == Decimal("0.0")
    assert fracture.heights.fractured_anterior == Decimal("10.00")
    assert fracture.genant_grade == 2
    assert fracture.first_reader_name == "Dr A"


def test_a_film_without_spacing_fills_the_vhl_not_the_heights(signed_in, fracture):
    upload(signed_in, fracture, png_film(), name="film.png")
    film = Film.objects.get()
    assert film.pixel_spacing_mm is None
    location = measure(signed_in, film, 1, worked_points()).headers["Location"]
    assert FilmReading.objects.get().unit == "px"
    form = signed_in.get(location).context["form"]
    assert form.initial["vhl_percent"] == Decimal("16.7")
    assert form.initial["fractured_anterior_mm"] is None


def test_corners_that_do_not_make_a_vertebra_are_refused_naming_the_corner(signed_in, film):
    points = worked_points()
    fractured = points["fractured"]
    fractured["anterior_inferior"], fractured["posterior_inferior"] = (
        fractured["posterior_inferior"],
        fractured["anterior_inferior"],
    )
    answer = measure(signed_in, film, 1, points)
    assert answer.status_code == 400
    assert "fractured vertebra" in " ".join(answer.context["form"].errors["points"])
    assert not FilmReading.objects.exists()


def test_a_corner_outside_the_film_is_refused(signed_in, film):
    points = worked_points()
    points["caudal"]["posterior_inferior"] = [600, 420]
    answer = measure(signed_in, film, 1, points)
    assert answer.status_code == 400
    assert "outside" in " ".join(answer.context["form"].errors["points"])


def test_the_second_reader_must_be_someone_else(signed_in, film):
    measure(signed_in, film, 1, worked_points())
    answer = measure(signed_in, film, 2, worked_points(), name="Dr B")
    assert answer.status_code == 400
    assert "must be made by someone else" in answer.content.decode()
    assert FilmReading.objects.count() == 1


def test_the_second_reader_measures_blind_then_the_readers_are_compared(client, signed_in, film, make_user):
    measure(signed_in, film, 1, worked_points(), name="Dr A")
    client.force_login(make_user("reader2"))
    page = client.get(reverse("scoring:film_measure", args=[film.pk, 2]))
    assert page.context["viewer_config"]["points"] is None
    assert page.context["viewer_config"]["readings"] == []
    moved = worked_points()
    moved["fractured"]["anterior_inferior"][1] += 8  # a taller anterior wall: a = 12 mm, VHL 10.0 %
    location = measure(client, film, 2, moved, name="Dr B").headers["Location"]
    form = client.get(location).context["form"]
    assert form.initial["second_fractured_anterior_mm"] == Decimal("12.00")
    assert form.initial["second_reader_name"] == "Dr B"
    compare = client.get(reverse("scoring:film_compare", args=[film.pk]))
    rows = {row["label"]: row for row in compare.context["rows"]}
    assert (rows["VHL"]["first"], rows["VHL"]["second"]) == ("16.7 %", "10.0 %")
    assert rows["VHL"]["disagree"] is True  # 6.7 points apart: more than 5 (spec §2, flagged as today)
    assert rows["Kyphosis angle"]["disagree"] is False
    assert [reading["points"] for reading in compare.context["viewer_config"]["readings"]] == [
        worked_points(),
        moved,
    ]


def test_the_viewer_names_each_corner_and_its_vertebra_for_its_messages(signed_in, film):
    corners = signed_in.get(reverse("scoring:film_measure", args=[film.pk, 1])).context["viewer_config"]["corners"]
    assert len(corners) == 12
    assert corners[0] == {
        "vertebra": "cranial",
        "corner": "anterior_superior",
        "label": "Cranial vertebra (above) · anterior superior corner",
        "vertebra_label": "Cranial vertebra (above)",
    }
    assert all(isinstance(corner["label"], str) for corner in corners)  # words, not lazy strings


def test_comparing_needs_both_readers(signed_in, film):
    answer = signed_in.get(reverse("scoring:film_compare", args=[film.pk]))
    assert answer.headers["Location"] == film.get_absolute_url()


def test_a_reading_changed_since_the_page_opened_is_not_overwritten(signed_in, film):
    measure(signed_in, film, 1, worked_points())
    measure(signed_in, film, 1, worked_points(shift_x=1), version="1")  # the page opened at version 1
    answer = measure(signed_in, film, 1, worked_points(shift_x=2), version="1")
    assert answer.status_code == 400
    assert "changed by someone else" in answer.content.decode()
    assert FilmReading.objects.get().points == worked_points(shift_x=1)


def test_the_visit_films_reading_fills_the_visit_form(signed_in, fracture, user):
    visit = Visit.objects.create(
        fracture=fracture, kind="1m", visit_date=datetime.date(2025, 4, 10), created_by=user, updated_by=user
    )
    upload(signed_in, fracture, dicom_film(), visit=visit)
    location = measure(signed_in, Film.objects.get(), 1, worked_points()).headers["Location"]
    assert location.startswith(reverse("scoring:visit_edit", args=[visit.pk]))
    form = signed_in.get(location).context["form"]
    assert form.initial["fractured_anterior_mm"] == Decimal("10.00")


def test_a_reading_of_another_record_fills_nothing(signed_in, film, make_fracture, patient):
    measure(signed_in, film, 1, worked_points())
    other = make_fracture(patient, assessment_date=datetime.date(2025, 5, 1), level="L1")
    page = signed_in.get(reverse("scoring:fracture_edit", args=[other.pk]) + f"?reading={FilmReading.objects.get().pk}")
    assert page.context["form"].initial.get("fractured_anterior_mm") is None


# -- the images ------------------------------------------------------------------------------------


def test_the_image_is_a_png_never_stored_by_a_cache(signed_in, film):
    answer = signed_in.get(reverse("scoring:film_image", args=[film.pk]) + "?center=100&width=50")
    assert answer["Content-Type"] == "image/png"
    assert answer["Cache-Control"] == "no-store"
    assert answer.content.startswith(b"\x89PNG")


@pytest.mark.parametrize("query", ["?center=abc", "?width=0", "?width=-3", "?center=nan", "?width=inf"])
def test_a_window_that_is_not_one_is_a_400(signed_in, film, query):
    assert signed_in.get(reverse("scoring:film_image", args=[film.pk]) + query).status_code == 400


def test_the_record_pages_show_the_films_thumbnail(signed_in, film):
    measure(signed_in, film, 1, worked_points())
    thumbnail = reverse("scoring:film_thumbnail", args=[film.pk])
    assert thumbnail in signed_in.get(film.fracture.get_absolute_url()).content.decode()
    assert thumbnail in signed_in.get(reverse("scoring:fracture_print", args=[film.fracture_id])).content.decode()
    answer = signed_in.get(thumbnail)
    assert answer["Cache-Control"] == "no-store"
    assert answer.content.startswith(b"\x89PNG")


def test_a_removed_film_is_shown_nowhere(signed_in, film):
    answer = signed_in.post(reverse("scoring:film_remove", args=[film.pk]), {"reason": "wrong patient's film"})
    assert answer.status_code == 302
    assert signed_in.get(film.get_absolute_url()).status_code == 404
    assert signed_in.get(reverse("scoring:film_image", args=[film.pk])).status_code == 404
    page = signed_in.get(film.fracture.get_absolute_url()).content.decode()
    assert reverse("scoring:film_thumbnail", args=[film.pk]) not in page
    assert Film.objects.get().history.first().history_change_reason == "Removed: wrong patient's film"


# -- who may do what --------------------------------------------------------------------------------


def test_a_viewer_sees_the_film_but_no_control_to_change_it(client, film, make_user):
    client.force_login(make_user("viewer1", role="viewer"))
    page = client.get(film.get_absolute_url()).content.decode()
    assert reverse("scoring:film_measure", args=[film.pk, 1]) not in page
    assert reverse("scoring:film_remove", args=[film.pk]) not in page
    assert client.get(reverse("scoring:film_image", args=[film.pk])).status_code == 200
    assert "Add the lateral film" not in client.get(film.fracture.get_absolute_url()).content.decode()
    assert client.get(reverse("scoring:film_measure", args=[film.pk, 1])).status_code == 403
    assert upload(client, film.fracture, dicom_film()).status_code == 403


@pytest.mark.parametrize("name", ["film_detail", "film_image", "film_thumbnail", "film_compare"])
def test_signed_out_nobody_sees_a_film(client, film, name):
    client.logout()
    answer = client.get(reverse(f"scoring:{name}", args=[film.pk]))
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith(reverse("login"))


def test_the_pacs_page_is_not_found_without_a_pacs(signed_in, fracture):
    assert signed_in.get(reverse("scoring:film_pacs", args=[fracture.pk])).status_code == 404
    assert "No PACS is configured" in signed_in.get(reverse("scoring:film_add", args=[fracture.pk])).content.decode()


# -- the PACS (a real Orthanc with DICOMweb: tests/orthanc.py) ------------------------------------


@pytest.fixture
def pacs(settings, empty_orthanc):
    settings.DICOMWEB_URL = empty_orthanc.url
    settings.DICOMWEB_USER = empty_orthanc.user
    settings.DICOMWEB_PASSWORD = empty_orthanc.password
    return empty_orthanc


def test_the_pacs_page_lists_the_patients_films_and_opens_one(signed_in, fracture, pacs):
    pacs.store(dicom_film(study_uid="1.2.826.1.1", series_uid="1.2.826.1.2", sop_uid="1.2.826.1.3"))
    pacs.store(dicom_film(patient_id="OTHER-7", sop_uid="1.2.826.9.9"))
    url = reverse("scoring:film_pacs", args=[fracture.pk])
    assert url in signed_in.get(reverse("scoring:film_add", args=[fracture.pk])).content.decode()
    page = signed_in.get(url)
    studies = page.context["studies"]
    assert [study.study_instance_uid for study in studies] == ["1.2.826.1.1"]
    assert "1.2.826.9.9" not in page.content.decode()
    answer = signed_in.post(url, {"study": "1.2.826.1.1", "series": "1.2.826.1.2", "instance": "1.2.826.1.3"})
    film = Film.objects.get()
    assert answer.headers["Location"] == film.get_absolute_url()
    assert (film.source, film.sop_instance_uid, film.study_instance_uid) == ("pacs", "1.2.826.1.3", "1.2.826.1.1")
    assert film.history.get().history_change_reason == "Opened from the PACS"


def test_a_pacs_that_refuses_the_app_says_so_on_the_page(signed_in, fracture, pacs, settings):
    settings.DICOMWEB_PASSWORD = "wrong"
    page = signed_in.get(reverse("scoring:film_pacs", args=[fracture.pk]))
    assert page.status_code == 200
    assert "HTTP 401" in page.content.decode()


def test_a_film_the_pacs_does_not_have_is_a_message_not_an_error(signed_in, fracture, pacs):
    answer = signed_in.post(
        reverse("scoring:film_pacs", args=[fracture.pk]), {"study": "1.2.3", "series": "1.2.4", "instance": "1.2.5"}
    )
    assert answer.status_code == 400
    assert answer.context["error"]
    assert not Film.objects.exists()


@pytest.mark.parametrize(
    "points",
    [
        '{"cranial": 5}',
        "[]",
        '"corners"',
        "null",
        "1e999999",
        '{"cranial": {"anterior_superior": [NaN, 2]}}',
        json.dumps({"cranial": {"anterior_superior": ["1", None]}}),
        '{"a":' * 2000,
        "{" + " " * 5000 + "}",
    ],
)
def test_corners_that_are_not_twelve_points_are_a_message_never_a_500(signed_in, film, points):
    answer = signed_in.post(
        reverse("scoring:film_measure", args=[film.pk, 1]), {"reader_name": "Dr A", "points": points}
    )
    assert answer.status_code == 400
    assert answer.context["form"].errors["points"]
    assert not FilmReading.objects.exists()


@pytest.mark.parametrize("reader", [0, 3, 99999999999])
def test_a_film_has_only_a_first_and_a_second_reader(signed_in, film, reader):
    assert signed_in.get(f"/films/{film.pk}/measure/{reader}/").status_code == 404


# -- a new assessment measured on its film ------------------------------------------------------


def test_a_new_assessment_is_measured_on_its_film_and_takes_it(signed_in, patient, second_case):
    answer = signed_in.post(
        reverse("scoring:film_add_new_assessment", args=[patient.pk]),
        {"file": SimpleUploadedFile("f.dcm", dicom_film())},
    )
    film = Film.objects.get()
    assert (film.patient, film.fracture, answer.headers["Location"]) == (patient, None, film.get_absolute_url())
    location = measure(signed_in, film, 1, worked_points(), name="Dr A").headers["Location"]
    assert (
        location == reverse("scoring:fracture_create", args=[patient.pk]) + f"?reading={FilmReading.objects.get().pk}"
    )
    page = signed_in.get(location)
    form = page.context["form"]
    assert form.initial["fractured_anterior_mm"] == Decimal("10.00")
    assert form.initial["first_reader_name"] == "Dr A"
    assert f'name="film" value="{film.pk}"' in page.content.decode()

    data = {key: value for key, value in second_case.items() if key != "vhl_percent"}
    data.update(
        {name: str(value) for name, value in form.initial.items() if name.endswith("_mm") and value is not None}
    )
    data.update(kyphosis_angle_deg="0.0", first_reader_name="Dr A", film=str(film.pk))
    saved = signed_in.post(reverse("scoring:fracture_create", args=[patient.pk]), data)
    fracture = Fracture.objects.get()
    assert saved.headers["Location"] == fracture.get_absolute_url(), saved.context and saved.context["form"].errors
    assert (fracture.vhl_percent, fracture.kyphosis_angle_deg) == (Decimal("16.7"), Decimal("0.0"))
    film.refresh_from_db()
    assert film.fracture == fracture
    assert film.history.first().history_change_reason.startswith("The baseline film of the assessment of")
    assert (
        reverse("scoring:film_thumbnail", args=[film.pk]) in signed_in.get(fracture.get_absolute_url()).content.decode()
    )


def test_a_new_assessment_takes_only_its_patients_waiting_film(signed_in, patient, make_patient, second_case, user):
    other = make_patient(mrn="MRN002", name="Other Person")
    signed_in.post(
        reverse("scoring:film_add_new_assessment", args=[other.pk]),
        {"file": SimpleUploadedFile("f.dcm", dicom_film(patient_id="MRN002", patient_name="Person^Other"))},
    )
    film = Film.objects.get()
    signed_in.post(reverse("scoring:fracture_create", args=[patient.pk]), {**second_case, "film": str(film.pk)})
    assert Fracture.objects.get().patient == patient
    film.refresh_from_db()
    assert film.fracture is None  # still the other patient's, waiting


def test_the_patient_page_lists_the_films_waiting_for_a_new_assessment(signed_in, patient):
    signed_in.post(
        reverse("scoring:film_add_new_assessment", args=[patient.pk]),
        {"file": SimpleUploadedFile("f.dcm", dicom_film())},
    )
    film = Film.objects.get()
    page = signed_in.get(patient.get_absolute_url()).content.decode()
    assert "Films for a new assessment" in page
    assert film.get_absolute_url() in page
    form_page = signed_in.get(reverse("scoring:fracture_create", args=[patient.pk])).content.decode()
    assert reverse("scoring:film_add_new_assessment", args=[patient.pk]) in form_page


# -- hostile films (an independent review's findings) ---------------------------------------------


def altered_film(**attributes) -> bytes:
    """The worked film with DICOM attributes set to what a broken or hostile writer puts there."""
    dataset = pydicom.dcmread(io.BytesIO(dicom_film()))
    for keyword, value in attributes.items():
        if value is None:
            delattr(dataset, keyword)
        else:
            setattr(dataset, keyword, value)
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "spacing",
    [["123456.789", "123456.789"], ["1e308", "1e308"], ["0.000000001", "0.000000001"], ["150", "150"], ["inf", "inf"]],
)
@pytest.mark.filterwarnings("ignore::UserWarning")  # pydicom warns of the invalid values, as it should
def test_a_spacing_no_film_can_be_measured_with_counts_as_none(signed_in, fracture, spacing):
    answer = upload(signed_in, fracture, altered_film(PixelSpacing=spacing))
    film = Film.objects.get()
    assert answer.headers["Location"] == film.get_absolute_url()
    assert film.pixel_spacing_mm is None  # heights in px: the film can still be measured
    assert signed_in.get(film.fracture.get_absolute_url()).status_code == 200
    assert measure(signed_in, film, 1, worked_points()).status_code == 302
    assert FilmReading.objects.get().unit == "px"


@pytest.mark.parametrize(
    "attributes",
    [
        {"RescaleSlope": "nan"},
        {"RescaleSlope": "1e300"},
        {"RescaleIntercept": "inf"},
    ],
)
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_values_that_are_not_numbers_are_refused_and_nothing_stays_on_disk(signed_in, fracture, attributes):
    answer = upload(signed_in, fracture, altered_film(**attributes))
    assert answer.status_code == 400
    assert "The film" in answer.context["form"].errors["file"][0]
    assert not Film.objects.exists()
    assert files_left() == []


@pytest.mark.parametrize("window", [("nan", "100"), ("inf", "100"), ("100", "inf")])
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_a_window_that_is_not_a_number_falls_back_to_the_full_range(signed_in, fracture, window):
    upload(signed_in, fracture, altered_film(WindowCenter=window[0], WindowWidth=window[1]))
    film = Film.objects.get()
    assert (film.window_center, film.window_width) == (
        (film.value_min + film.value_max) / 2,
        film.value_max - film.value_min,
    )
    page = signed_in.get(reverse("scoring:film_measure", args=[film.pk, 1])).content.decode()
    assert "Infinity" not in page and "NaN" not in page


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_a_uid_that_is_not_one_is_not_kept(signed_in, fracture):
    upload(signed_in, fracture, altered_film(SOPInstanceUID="1." * 100))
    assert Film.objects.get().sop_instance_uid == ""


@pytest.mark.parametrize("query", ["?center=1e308&width=1e308", "?center=-1e308&width=1e-300", "?center=3e38&width=1"])
def test_an_extreme_window_is_kept_near_the_films_values(signed_in, film, query):
    answer = signed_in.get(reverse("scoring:film_image", args=[film.pk]) + query)
    assert answer.status_code == 200
    assert answer.content.startswith(b"\x89PNG")


def test_the_mismatch_answer_sent_twice_keeps_one_film_with_its_files(signed_in, fracture):
    upload(signed_in, fracture, dicom_film(patient_id="OTHER-7"))
    pending = signed_in.session["film_pending"]
    url = reverse("scoring:film_confirm")
    signed_in.post(url, {"key": pending["key"], "keep": "yes"})
    session = signed_in.session
    session["film_pending"] = pending  # what a second request sent at the same time read
    session.save()
    again = signed_in.post(url, {"key": pending["key"], "keep": "no"})
    film = Film.objects.get()
    assert again.headers["Location"] == film.get_absolute_url()
    assert (film.directory / "pixels.npy").exists()


def test_prune_films_deletes_only_old_directories_no_film_holds(signed_in, fracture, film):
    upload(signed_in, fracture, dicom_film(patient_id="OTHER-7"))  # waits for an answer that never comes
    waiting = settings.FILMS_DIR / signed_in.session["film_pending"]["key"]
    stale = settings.FILMS_DIR / "incoming" / "stale-upload"
    stale.write_bytes(b"x")
    call_command("prune_films", "--min-age-hours", "1", stdout=io.StringIO())
    assert waiting.exists() and stale.exists()  # younger than an hour
    old = time.time() - 2 * 3600
    for path in (waiting, stale, film.directory):
        os.utime(path, (old, old))
    call_command("prune_films", "--min-age-hours", "1", stdout=io.StringIO())
    assert not waiting.exists() and not stale.exists()
    assert film.directory.exists()  # a film's own files stay, however old


def test_a_window_that_is_not_numbers_is_refused_in_the_readers_language(signed_in, film):
    url = reverse("scoring:film_image", args=[film.pk]) + "?center=x&width=-1"
    english = signed_in.get(url)
    assert english.status_code == 400 and english.content.decode() == "center and width must be numbers, width above 0."
    signed_in.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    chinese = signed_in.get(url)
    assert chinese.status_code == 400 and "窗宽" in chinese.content.decode()
