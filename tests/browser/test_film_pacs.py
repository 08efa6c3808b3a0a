"""Issue 15 end to end, with a real PACS: Debian's Orthanc with its DICOMweb plugin (tests/orthanc.py)
holds a synthetic lateral film of the patient (tests/films.py: spec §9's worked example scaled by 2
at 0.25 mm). A reader finds the study by MRN, opens the film, clicks the twelve drawn corners, uses
the values, saves the assessment, and the assessment (and its print report) shows VHL 16.7 % and
KA 0.0° with the film's thumbnail; a second reader then measures blind, on their own."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from scoring.models import Film, FilmReading, Fracture
from tests.browser.test_film_viewer import place_the_twelve_corners, value
from tests.conftest import PASSWORD
from tests.films import dicom_film

pytestmark = pytest.mark.django_db(transaction=True)

STUDY, SERIES, INSTANCE = "1.2.826.0.1.3680043.15.1", "1.2.826.0.1.3680043.15.2", "1.2.826.0.1.3680043.15.3"


@pytest.fixture
def pacs(settings, empty_orthanc):
    settings.DICOMWEB_URL = empty_orthanc.url
    settings.DICOMWEB_USER = empty_orthanc.user
    settings.DICOMWEB_PASSWORD = empty_orthanc.password
    empty_orthanc.store(
        dicom_film(
            patient_id="MRN001", patient_name="Patient^Test", study_uid=STUDY, series_uid=SERIES, sop_uid=INSTANCE
        )
    )
    empty_orthanc.store(dicom_film(patient_id="MRN002", patient_name="Other^Person"))
    return empty_orthanc


@pytest.fixture
def fracture(make_patient, make_fracture):
    # Typed values unlike the film's, so the saved assessment shows where its values came from.
    return make_fracture(make_patient(mrn="MRN001", name="Test Patient"), assessment_date=datetime.date(2025, 3, 10))


def sign_in(page, username: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/patients/")


@pytest.mark.parametrize("width", [768, 1280])
def test_a_film_from_the_pacs_measured_by_twelve_clicks_gives_the_saved_assessment_its_values(
    signed_in_page, pacs, fracture, make_user, width
):
    page = signed_in_page
    page.emulate_media(reduced_motion="reduce")
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(fracture.get_absolute_url())
    page.get_by_role("link", name="Add the lateral film").click()
    page.get_by_role("link", name="Search the PACS for MRN001").click()

    # QIDO-RS by MRN: the patient's study, not the other patient's.
    expect(page.get_by_test_id("pacs-study")).to_have_count(1)
    page.get_by_role("button", name="Open this film").click()  # WADO-RS

    expect(page.get_by_test_id("film-facts")).to_contain_text(INSTANCE)
    expect(page.get_by_test_id("film-facts")).to_contain_text("0.25 × 0.25 mm")
    page.get_by_role("link", name="Measure as first reader").click()
    page.locator("[data-film-svg]").scroll_into_view_if_needed()
    place_the_twelve_corners(page)
    expect(value(page, "vhl")).to_have_text("16.7 %")
    expect(value(page, "kyphosis")).to_have_text("0.0°")
    page.get_by_label("Reader (name)").fill("Dr Lin")
    page.get_by_role("button", name="Use these values").click()

    # The assessment's own form, filled: checked and saved through the normal save path.
    page.wait_for_url(re.compile(rf"/assessments/{fracture.pk}/edit/\?reading=\d+$"))
    expect(page.get_by_label("First reader (name)")).to_have_value("Dr Lin")
    page.get_by_role("button", name="Save assessment").click()
    page.wait_for_url(f"**/assessments/{fracture.pk}/")
    expect(page.get_by_test_id("vhl-detail")).to_contain_text("16.7 %")
    expect(page.get_by_test_id("ka-detail")).to_contain_text("0.0°")
    thumbnail = page.get_by_test_id("baseline-films").get_by_role("img")
    expect(thumbnail).to_be_visible()
    assert page.evaluate("img => img.naturalWidth", thumbnail.element_handle()) > 0

    saved = Fracture.objects.get(pk=fracture.pk)
    assert (saved.vhl_percent, saved.kyphosis_angle_deg, saved.genant_grade) == (Decimal("16.7"), 0, 2)
    assert saved.heights.fractured_anterior == 10
    film = Film.objects.get()
    assert (film.source, film.sop_instance_uid) == ("pacs", INSTANCE)
    assert FilmReading.objects.get().reader_name == "Dr Lin"

    page.goto(f"/assessments/{fracture.pk}/print/")
    report_thumbnail = page.get_by_test_id("report-films").get_by_role("img")
    expect(report_thumbnail).to_be_visible()
    assert page.evaluate("img => img.naturalWidth", report_thumbnail.element_handle()) > 0

    # A second reader, signed in as themselves, measures without the first reader's points.
    make_user("dr.second")
    page.context.clear_cookies()
    sign_in(page, "dr.second")
    page.goto(film.get_absolute_url())
    page.get_by_role("link", name="Measure as second reader").click()
    expect(page.locator("[data-next-corner]")).to_contain_text("Cranial vertebra")  # nothing placed
    page.locator("[data-film-svg]").scroll_into_view_if_needed()
    place_the_twelve_corners(page)
    expect(value(page, "vhl")).to_have_text("16.7 %")
    page.get_by_label("Reader (name)").fill("Dr Wu")
    page.get_by_role("button", name="Use these values").click()
    page.wait_for_url(re.compile(rf"/assessments/{fracture.pk}/edit/\?reading=\d+$"))
    expect(page.get_by_label("Second reader (name)")).to_have_value("Dr Wu")
    assert list(FilmReading.objects.values_list("reader", "reader_name")) == [(1, "Dr Lin"), (2, "Dr Wu")]
