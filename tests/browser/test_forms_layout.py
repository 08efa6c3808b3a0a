"""The assessment form, the visit form and the quick calculator at phone, tablet and desktop width
(issue 11): no sideways scrolling, and axe-core finds no serious or critical violation, with the
live result filled in, the sections' running ODI shown and the calculator's carry-over open."""

import datetime
from decimal import Decimal

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone
from playwright.sync_api import expect

from scoring.models import Fracture, Patient

pytestmark = pytest.mark.django_db(transaction=True)

WIDTHS = [375, 768, 1280]
LONG_NAME = "Maximiliana Wilhelmina Konstantinopoulou-Vandersteenhoven"


@pytest.fixture
def fracture(signed_in_page, django_user_model):
    user = django_user_model.objects.get()
    patient = Patient.objects.create(
        mrn="LAYOUT-000000000001",
        name=LONG_NAME,
        sex="F",
        date_of_birth=datetime.date(1950, 2, 2),
        created_by=user,
        updated_by=user,
    )
    assessed = timezone.localdate() - datetime.timedelta(days=30)
    fracture = Fracture(
        patient=patient,
        assessment_date=assessed,
        level="T12",
        low_energy_trauma=True,
        fracture_type="compression",
        vhl_percent=Decimal("17.8"),
        kyphosis_angle_deg=Decimal("19.6"),
        t2_signal="diffuse_low",
        bmd_t_score=Decimal("-3.6"),
        treatment="conservative",
        treatment_start_date=assessed,
        created_by=user,
        updated_by=user,
    )
    fracture.rescore()
    fracture.save()
    return fracture


def serious_violations(page):
    results = Axe().run(page)
    return [
        f"{v['id']}: {v['help']} ({len(v['nodes'])})"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def sideways_overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def fill_score_items(page):
    page.get_by_label("Fracture type").select_option("burst")
    page.get_by_label("Vertebral height loss (%)").fill("26.9")
    page.get_by_label("Local kyphosis angle (°)").fill("19.6")
    page.get_by_label("MRI T2 signal (mid-sagittal)").select_option("diffuse_low")
    page.get_by_label("BMD T-score").fill("-3.6")
    expect(page.get_by_test_id("live-total")).to_have_text("12")


def open_odi_sections(page):
    page.locator("details.odi-sections > summary").click()
    page.locator("[name=odi_section_1]").select_option("3")
    expect(page.get_by_test_id("odi-running")).to_contain_text("1 of 10 answered")


@pytest.mark.parametrize("width", WIDTHS, ids=[f"{w}px" for w in WIDTHS])
def test_the_assessment_visit_and_calculator_pages_fit_the_width_and_pass_axe(signed_in_page, fracture, width):
    page = signed_in_page
    page.set_viewport_size({"width": width, "height": 900})
    found, overflow = {}, {}

    page.goto(f"/patients/{fracture.patient_id}/assessments/new/")
    fill_score_items(page)
    open_odi_sections(page)
    page.locator("details.second-reader > summary").click()
    page.get_by_label("Second reader: VHL (%)").fill("24.0")
    expect(page.locator("[data-live-reader-note]")).to_be_visible()
    found["assessment"], overflow["assessment"] = serious_violations(page), sideways_overflow(page)
    page.get_by_role("button", name="Save assessment").click()  # refused: the radio's message shows
    expect(page.locator("#div_id_low_energy_trauma .invalid-feedback")).to_be_visible()
    found["assessment refused"], overflow["assessment refused"] = serious_violations(page), sideways_overflow(page)

    page.goto(f"/assessments/{fracture.pk}/visits/new/")
    open_odi_sections(page)
    found["visit"], overflow["visit"] = serious_violations(page), sideways_overflow(page)

    page.goto("/calculator/")
    fill_score_items(page)
    page.get_by_role("button", name="Calculate score").click()
    expect(page.get_by_test_id("score-total")).to_have_text("12")
    page.get_by_label("Assessment for an existing patient").fill("konstantin")
    page.get_by_role("button", name="Find patient").click()
    expect(page.get_by_role("link", name=f"New assessment for LAYOUT-000000000001 · {LONG_NAME}")).to_be_visible()
    expect(page.get_by_test_id("live-total")).to_have_text("12")
    found["calculator"], overflow["calculator"] = serious_violations(page), sideways_overflow(page)

    assert {name: v for name, v in found.items() if v} == {}
    assert {name: px for name, px in overflow.items() if px > 0} == {}
