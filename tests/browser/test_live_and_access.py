"""The live score as one types, the quick calculator, the keyboard-only path, and axe-core checks."""

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from scoring.models import Fracture, Patient

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def patient(signed_in_page, django_user_model):
    user = django_user_model.objects.get()
    return Patient.objects.create(
        mrn="LIVE1", name="Live Case", sex="F", date_of_birth="1953-06-01", created_by=user, updated_by=user
    )


def test_typing_the_second_worked_case_field_by_field_brings_the_live_total_to_10(signed_in_page, patient):
    page = signed_in_page
    page.goto(f"/patients/{patient.pk}/assessments/new/")
    total = page.get_by_test_id("live-total")
    expect(total).to_have_text("incomplete")
    expect(page.locator('[data-live-component="bmd"] [data-live-value]')).to_have_text("incomplete")
    page.get_by_label("Assessment date").fill("2025-03-10")
    page.get_by_label("Fractured level").select_option("T11")
    page.get_by_label("Fracture type").select_option("compression")
    page.get_by_label("Vertebral height loss (%)").fill("17.8")
    page.get_by_label("Local kyphosis angle (°)").fill("19.6")
    expect(total).to_have_text("incomplete")  # T2 and BMD are still missing: not zero points
    page.get_by_label("MRI T2 signal (mid-sagittal)").select_option("diffuse_low")
    page.get_by_label("BMD T-score").fill("-3.6")
    expect(total).to_have_text("10")
    expect(page.locator("[data-live-group]")).to_have_text("High risk")
    expect(page.locator('[data-live-component="bmd"] [data-live-points]')).to_have_text("4 points")
    expect(page.locator('[data-live-component="bmd"] [data-live-value]')).to_have_text("−3.6 (T ≤ −3.5)")
    page.get_by_label("BMD T-score").fill("-2.0")
    expect(total).to_have_text("6")
    assert Fracture.objects.count() == 0  # the live result saves nothing


def test_the_quick_calculator_hands_its_values_to_a_new_patient_record(signed_in_page):
    page = signed_in_page
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Calculator").click()
    page.get_by_label("Fracture type").select_option("burst")
    page.get_by_label("Vertebral height loss (%)").fill("17.8")
    page.get_by_label("Local kyphosis angle (°)").fill("19.6")
    page.get_by_label("MRI T2 signal (mid-sagittal)").select_option("diffuse_low")
    page.get_by_label("BMD T-score").fill("-3.6")
    expect(page.get_by_test_id("live-total")).to_have_text("12")
    page.get_by_role("button", name="Calculate score").click()
    expect(page.get_by_test_id("score-total")).to_have_text("12")
    page.get_by_role("link", name="New patient with these values").click()
    page.get_by_label("MRN").fill("CALC1")
    page.get_by_label("Sex").select_option("F")
    page.get_by_label("Date of birth").fill("1950-02-02")
    page.get_by_role("button", name="Save patient").click()
    expect(page).to_have_url(re.compile(r"/patients/\d+/assessments/new/\?"))
    expect(page.get_by_label("Fracture type")).to_have_value("burst")
    expect(page.get_by_label("BMD T-score")).to_have_value("-3.6")
    assert Fracture.objects.count() == 0


def test_the_keyboard_alone_saves_an_assessment(signed_in_page, patient):
    page = signed_in_page
    page.goto(f"/patients/{patient.pk}/assessments/new/")
    page.get_by_label("Assessment date").focus()
    keyboard = page.keyboard

    def tab_to(label):
        for _ in range(80):
            keyboard.press("Tab")
            focused = page.evaluate(
                "document.activeElement && document.activeElement.labels && "
                "document.activeElement.labels.length ? document.activeElement.labels[0].innerText : ''"
            )
            if focused.strip().startswith(label):
                return
        raise AssertionError(f"Tab never reached {label}")

    page.get_by_label("Assessment date").press_sequentially("03102025")  # the date control's own order
    tab_to("Fractured level")
    keyboard.type("T11")
    tab_to("Fracture type")
    keyboard.type("Compression")
    tab_to("Treatment chosen")
    keyboard.type("Conservative")
    tab_to("Yes")
    keyboard.press("Space")
    tab_to("Vertebral height loss (%)")
    keyboard.type("17.8")
    tab_to("Local kyphosis angle")
    keyboard.type("19.6")
    tab_to("MRI T2 signal")
    keyboard.type("Diffuse low")
    tab_to("BMD T-score")
    keyboard.type("-3.6")
    for _ in range(200):
        keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == "Save assessment":
            break
    keyboard.press("Enter")
    expect(page.get_by_test_id("score-total")).to_have_text("10")
    assert Fracture.objects.get().total_score == 10


def serious_violations(page):
    results = Axe().run(page)
    return [
        f"{v['id']}: {v['help']} ({len(v['nodes'])})"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_axe_finds_no_serious_or_critical_violation(page, signed_in_page, patient):
    page = signed_in_page
    page.goto(f"/patients/{patient.pk}/assessments/new/")
    for label, value in [
        ("Assessment date", "2025-03-10"),
        ("Vertebral height loss (%)", "17.8"),
        ("Local kyphosis angle (°)", "19.6"),
        ("BMD T-score", "-3.6"),
    ]:
        page.get_by_label(label).fill(value)
    page.get_by_label("Fractured level").select_option("T11")
    page.get_by_label("Fracture type").select_option("compression")
    page.get_by_label("Treatment chosen").select_option("conservative")
    page.get_by_label("MRI T2 signal (mid-sagittal)").select_option("diffuse_low")
    page.get_by_role("radio", name=re.compile("^Yes")).check()
    expect(page.get_by_test_id("live-total")).to_have_text("10")
    found = {"assessment form": serious_violations(page)}
    page.get_by_role("button", name="Save assessment").click()
    expect(page.get_by_test_id("score-total")).to_have_text("10")
    found["result"] = serious_violations(page)
    for name, url in [
        ("list", "/patients/"),
        ("patient", f"/patients/{patient.pk}/"),
        ("calculator", "/calculator/"),
        ("worklist", "/worklist/"),
        ("cohort", "/cohort/"),
    ]:
        page.goto(url)
        found[name] = serious_violations(page)
    page.get_by_role("button", name="Sign out").click()
    page.goto("/accounts/login/")
    found["sign-in"] = serious_violations(page)
    assert {name: v for name, v in found.items() if v} == {}
