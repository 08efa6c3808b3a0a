"""The main flows in a real browser: sign in, register, score spec §6's second case, find it again."""

import re

import pytest
from playwright.sync_api import expect

from scoring.forms import HEIGHT_LABELS
from scoring.models import Fracture, Patient

pytestmark = pytest.mark.django_db(transaction=True)


def test_signed_out_visitor_lands_on_sign_in(page):
    page.goto("/patients/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/patients/"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_score_the_second_worked_case_and_find_the_patient_by_mrn(signed_in_page):
    page = signed_in_page
    page.get_by_role("link", name="New patient").first.click()
    page.get_by_label("MRN").fill("nas-0071")
    page.get_by_label("Name").fill("Second Case")
    page.get_by_label("Sex").select_option("F")
    page.get_by_label("Date of birth").fill("1953-06-01")
    page.get_by_role("button", name="Save patient").click()
    expect(page.get_by_role("heading", name=re.compile("NAS-0071"))).to_be_visible()

    page.get_by_role("link", name="New assessment").click()
    page.get_by_label("Assessment date").fill("2025-03-10")
    page.get_by_label("Fractured level").select_option("T11")
    page.get_by_role("radio", name=re.compile("^Yes")).check()
    page.get_by_label("Fracture type").select_option("compression")
    page.get_by_label("Treatment chosen").select_option("conservative")
    page.get_by_label("Vertebral height loss (%)").fill("17.8")
    page.get_by_label("Local kyphosis angle (°)").fill("19.6")
    page.get_by_label("MRI T2 signal (mid-sagittal)").select_option("diffuse_low")
    page.get_by_label("BMD T-score").fill("-3.6")
    page.get_by_role("button", name="Save assessment").click()

    expect(page.get_by_test_id("score-total")).to_have_text("10")
    expect(page.get_by_test_id("risk-group")).to_contain_text("High risk")
    expect(page.locator("[data-component=bmd]")).to_contain_text("T ≤ −3.5")
    assert Fracture.objects.get().total_score == 10

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Patients").click()
    page.get_by_label("MRN or name").fill("NAS-0071")
    page.get_by_role("button", name="Search").click()
    row = page.locator("tbody tr", has_text="NAS-0071")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("10")
    expect(row).to_contain_text("High risk")


def test_a_bad_value_shows_its_error_and_saves_nothing(signed_in_page, django_user_model):
    page = signed_in_page
    user = django_user_model.objects.get()
    patient = Patient.objects.create(mrn="BAD1", sex="F", date_of_birth="1950-01-01", created_by=user, updated_by=user)
    page.goto(f"/patients/{patient.pk}/assessments/new/")
    page.get_by_label("Fractured level").select_option("L1")
    page.get_by_role("radio", name=re.compile("^Yes")).check()
    page.get_by_label("Fracture type").select_option("burst")
    page.get_by_label("Treatment chosen").select_option("conservative")
    page.get_by_label("Vertebral height loss (%)").fill("12")
    page.get_by_label("Local kyphosis angle (°)").fill("95")
    page.get_by_label("MRI T2 signal (mid-sagittal)").select_option("confined_low")
    page.get_by_label("BMD T-score").fill("-2.0")
    page.get_by_role("button", name="Save assessment").click()
    expect(page.locator("#error_1_id_kyphosis_angle_deg")).to_have_text("Must be at most 90°.")
    assert Fracture.objects.count() == 0


def test_heights_compute_the_vhl_on_calculate(signed_in_page, django_user_model):
    page = signed_in_page
    user = django_user_model.objects.get()
    patient = Patient.objects.create(mrn="HGT1", sex="M", date_of_birth="1950-01-01", created_by=user, updated_by=user)
    page.goto(f"/patients/{patient.pk}/assessments/new/")
    page.get_by_label("Fractured level").select_option("L1")
    page.get_by_role("radio", name=re.compile("^Yes")).check()
    page.get_by_label("Fracture type").select_option("compression")
    page.get_by_label("Treatment chosen").select_option("conservative")
    for name, value in [
        ("fractured_anterior", "20"),
        ("fractured_posterior", "30"),
        ("cranial_anterior", "30"),
        ("cranial_posterior", "30"),
        ("caudal_anterior", "30"),
        ("caudal_posterior", "30"),
    ]:
        page.get_by_label(HEIGHT_LABELS[f"{name}_mm"], exact=True).fill(value)
    page.get_by_label("Local kyphosis angle (°)").fill("8")
    page.get_by_label("MRI T2 signal (mid-sagittal)").select_option("confined_low")
    page.get_by_label("BMD T-score").fill("-2.0")
    page.get_by_role("button", name="Calculate score").click()
    expect(page.locator("#computed-vhl")).to_contain_text("16.7 %")
    expect(page.get_by_test_id("score-total")).to_have_text("2")
    expect(page.get_by_test_id("risk-group")).to_contain_text("Medium risk")
    assert Fracture.objects.count() == 0


def test_pages_run_under_the_content_security_policy_without_a_violation(signed_in_page, django_user_model):
    page = signed_in_page
    user = django_user_model.objects.get()
    patient = Patient.objects.create(mrn="CSP1", sex="F", date_of_birth="1950-01-01", created_by=user, updated_by=user)
    violations = []
    page.on(
        "console",
        lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None,
    )
    page.on("pageerror", lambda error: violations.append(str(error)))
    for url in [
        "/patients/",
        f"/patients/{patient.pk}/",
        f"/patients/{patient.pk}/assessments/new/",
        "/worklist/",
        f"/patients/{patient.pk}/history/",
        "/patients/new/",
    ]:
        page.goto(url)
        page.wait_for_load_state("networkidle")
    # Bootstrap's script works (the collapsed menu opens) and our own session script has loaded.
    page.set_viewport_size({"width": 600, "height": 800})
    page.goto("/patients/")
    page.get_by_role("button", name="Toggle navigation").click()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Patients")).to_be_visible()
    assert violations == []
