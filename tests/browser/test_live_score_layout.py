"""The live result while typing (issue 11): kept in view at tablet and desktop width without
covering the field typed into, in words and units, with the API's own message for a refused value;
the second reader's note; the running ODI; the low-energy-trauma radio's message."""

import datetime
import re
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from scoring.models import Fracture, Patient

pytestmark = pytest.mark.django_db(transaction=True)

TABLET = {"width": 768, "height": 1024}
DESKTOP = {"width": 1280, "height": 800}


@pytest.fixture
def patient(signed_in_page, django_user_model):
    user = django_user_model.objects.get()
    return Patient.objects.create(
        mrn="LIVE1",
        name="Live Case",
        sex="F",
        date_of_birth=datetime.date(1953, 6, 1),
        created_by=user,
        updated_by=user,
    )


@pytest.fixture
def fracture(patient, django_user_model):
    user = django_user_model.objects.get()
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


def fill_worked_case(page):
    """A burst fracture, VHL 26.9 %, KA 19.6°, diffuse low T2, T −3.6: 12 points."""
    page.get_by_label("Fracture type").select_option("burst")
    page.get_by_label("Vertebral height loss (%)").fill("26.9")
    page.get_by_label("Local kyphosis angle (°)").fill("19.6")
    page.get_by_label("MRI T2 signal (mid-sagittal)").select_option("diffuse_low")
    page.get_by_label("BMD T-score").fill("-3.6")
    expect(page.get_by_test_id("live-total")).to_have_text("12")


# The live result wholly inside the window, and the focused field wholly visible beside or above it.
IN_VIEW_AND_NOT_COVERING = """() => {
  const panel = document.querySelector('[data-live-result]').getBoundingClientRect();
  const field = document.activeElement.getBoundingClientRect();
  const inside = r => r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight && r.right <= innerWidth;
  const apart = field.bottom <= panel.top || field.top >= panel.bottom ||
                field.right <= panel.left || field.left >= panel.right;
  return inside(panel) && inside(field) && apart;
}"""


def assert_live_result_in_view_while_typing_in(page, locator):
    locator.focus()
    page.wait_for_function(IN_VIEW_AND_NOT_COVERING)
    for part in ("[data-testid=live-total]", "[data-live-group] .risk-badge", "[data-live-component=bmd]"):
        expect(page.locator(f"[data-live-result] {part}")).to_be_in_viewport(ratio=1)


@pytest.mark.parametrize("viewport", [TABLET, DESKTOP], ids=["768px", "1280px"])
def test_the_live_result_is_in_view_while_the_last_field_of_the_assessment_is_typed_into(
    signed_in_page, patient, viewport
):
    page = signed_in_page
    page.emulate_media(reduced_motion="reduce")  # Bootstrap scrolls smoothly otherwise
    page.set_viewport_size(viewport)
    page.goto(f"/patients/{patient.pk}/assessments/new/")
    fill_worked_case(page)
    page.locator("details.odi-sections > summary").click()
    last_field = page.locator("form[data-live-score] :is(input, select, textarea):not([type=hidden])").last
    expect(last_field).to_have_attribute("name", "odi_section_10")
    assert_live_result_in_view_while_typing_in(page, last_field)
    # A field in the middle of the form is not covered either (the bar keeps room below it).
    page.evaluate("window.scrollTo(0, 0)")
    assert_live_result_in_view_while_typing_in(page, page.get_by_label("BMD T-score"))
    assert_live_result_in_view_while_typing_in(page, page.get_by_label("Weight (kg)"))


@pytest.mark.parametrize("viewport", [TABLET, DESKTOP], ids=["768px", "1280px"])
def test_the_live_result_is_in_view_while_the_last_field_of_the_calculator_is_typed_into(signed_in_page, viewport):
    page = signed_in_page
    page.emulate_media(reduced_motion="reduce")
    page.set_viewport_size(viewport)
    page.goto("/calculator/")
    fill_worked_case(page)
    last_field = page.locator("form[data-live-score] :is(input, select, textarea):not([type=hidden])").last
    expect(last_field).to_have_attribute("name", "low_energy_trauma")
    assert_live_result_in_view_while_typing_in(page, last_field)


def test_the_live_breakdown_speaks_words_and_units_and_the_apis_own_message(signed_in_page, patient):
    page = signed_in_page
    page.goto(f"/patients/{patient.pk}/assessments/new/")
    fill_worked_case(page)

    def row(name):
        return page.locator(f'[data-live-component="{name}"]')

    expect(row("fracture_type")).to_have_text(re.compile(r"Fracture type\s*Burst fracture\s*2 points"))
    expect(row("vertebral_height_loss")).to_have_text(
        re.compile(r"Vertebral height loss\s*26\.9 % \(≥ 15 %\)\s*2 points")
    )
    expect(row("kyphosis_angle")).to_have_text(re.compile(r"19\.6° \(≥ 15°\)\s*2 points"))
    expect(row("t2_signal")).to_have_text(re.compile(r"T2 signal\s*Diffuse low signal\s*2 points"))
    expect(row("bmd")).to_have_text(re.compile(r"BMD T-score\s*−3\.6 \(T ≤ −3\.5\)\s*4 points"))
    expect(page.locator("[data-live-result]")).not_to_contain_text("diffuse_low")

    page.get_by_label("BMD T-score").fill("-9")
    expect(page.get_by_test_id("live-total")).to_have_text("incomplete")
    expect(row("bmd").locator("[data-live-value]")).to_have_text("Must be at least -7.0.")
    expect(row("kyphosis_angle").locator("[data-live-value]")).to_have_text("entered")

    page.get_by_label("BMD T-score").fill("-3.6")
    page.get_by_label("Vertebral height loss (%)").fill("")
    page.get_by_label("c · vertebra above, anterior (mm)").first.fill("0")
    expect(row("vertebral_height_loss").locator("[data-live-value]")).to_have_text(
        re.compile(
            r"^a · fractured, anterior \(mm\): |^c · vertebra above, anterior \(mm\): Must be greater than 0 mm\."
        )
    )
    expect(page.locator("[data-live-result]")).not_to_contain_text("check value")


def test_a_second_readers_values_are_in_the_live_result_as_their_mean(signed_in_page, patient):
    """spec §2, revised Decision: the live result scores the two readers' mean, unrounded, as the
    save will: VHL 26.9 and 3.0 → 14.95 %, 0 points; the total drops from 12 to 10."""
    page = signed_in_page
    page.goto(f"/patients/{patient.pk}/assessments/new/")
    fill_worked_case(page)
    note = page.locator("[data-live-reader-note]")
    expect(note).to_be_hidden()
    page.locator("details.second-reader > summary").click()
    page.get_by_label("Second reader: VHL (%)").fill("3.0")
    expect(note).to_be_visible()
    expect(note).to_contain_text("the mean of the two readers (not rounded) is scored")
    expect(page.get_by_test_id("live-total")).to_have_text("10")
    vhl = page.locator('[data-live-component="vertebral_height_loss"]')
    expect(vhl.locator("[data-live-value]")).to_contain_text("14.95 %")
    expect(vhl.locator("[data-live-points]")).to_have_text("0 points")


def test_the_running_odi_follows_the_sections_chosen_on_the_assessment(signed_in_page, patient):
    page = signed_in_page
    page.goto(f"/patients/{patient.pk}/assessments/new/")
    page.locator("details.odi-sections > summary").click()
    running = page.get_by_test_id("odi-running")
    expect(running).to_have_text("No section answered yet.")
    page.locator("[name=odi_section_1]").select_option("3")
    expect(running).to_have_text("ODI 60.0 % · 1 of 10 answered")
    page.locator("[name=odi_section_4]").select_option("2")
    expect(running).to_have_text("ODI 50.0 % · 2 of 10 answered")
    page.locator("[name=odi_section_1]").select_option("")
    expect(running).to_have_text("ODI 40.0 % · 1 of 10 answered")


def test_the_running_odi_follows_the_sections_chosen_on_the_visit(signed_in_page, fracture):
    page = signed_in_page
    page.goto(f"/assessments/{fracture.pk}/visits/new/")
    page.locator("details.odi-sections > summary").click()
    running = page.get_by_test_id("odi-running")
    for number, answer in [(1, "5"), (2, "4"), (3, "3")]:
        page.locator(f"[name=odi_section_{number}]").select_option(answer)
    expect(running).to_have_text("ODI 80.0 % · 3 of 10 answered")


def test_the_low_energy_trauma_radio_says_what_is_wrong_when_it_turns_red(signed_in_page, patient):
    page = signed_in_page
    page.goto(f"/patients/{patient.pk}/assessments/new/")
    fill_worked_case(page)
    page.get_by_role("button", name="Save assessment").click()
    expect(page.get_by_role("alert").first).to_contain_text("Nothing was saved")
    radio = page.get_by_role("radio", name=re.compile("^Yes"))
    expect(radio).to_have_class(re.compile("is-invalid"))
    message = page.locator("#div_id_low_energy_trauma .invalid-feedback")
    expect(message).to_be_visible()
    expect(message).to_have_text("This field is required.")
    radio.check()
    page.get_by_label("Treatment chosen").select_option("conservative")
    page.get_by_label("Fractured level").select_option("T12")
    page.get_by_role("button", name="Save assessment").click()
    expect(page.get_by_test_id("score-total")).to_have_text("12")
    expect(page.locator(".is-invalid")).to_have_count(0)


@pytest.mark.parametrize("viewport", [TABLET, DESKTOP], ids=["768px", "1280px"])
def test_the_calculator_hands_its_values_to_an_existing_patients_new_assessment(signed_in_page, patient, viewport):
    page = signed_in_page
    page.emulate_media(reduced_motion="reduce")
    page.set_viewport_size(viewport)
    page.goto("/calculator/")
    fill_worked_case(page)
    page.get_by_role("button", name="Calculate score").click()
    new_patient = page.get_by_role("link", name="New patient with these values")
    expect(new_patient).to_be_visible()
    page.get_by_label("Assessment for an existing patient").fill("live ca")
    page.get_by_role("button", name="Find patient").click()
    found = page.get_by_role("link", name="New assessment for LIVE1 · Live Case")
    expect(found).to_be_in_viewport(ratio=1)  # landed on, not hidden under the live result
    page.wait_for_function(  # and nothing (the sticky live result) lies over it
        """() => { const link = document.querySelector('.carry-patients a'); const r = link.getBoundingClientRect();
                   return link.contains(document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2)); }"""
    )
    found.click()
    expect(page).to_have_url(re.compile(rf"/patients/{patient.pk}/assessments/new/\?"))
    expect(page.get_by_label("Fracture type")).to_have_value("burst")
    expect(page.get_by_label("Vertebral height loss (%)")).to_have_value("26.9")
    expect(page.get_by_label("BMD T-score")).to_have_value("-3.6")
    expect(page.get_by_test_id("live-total")).to_have_text("12")
    assert Fracture.objects.count() == 0
