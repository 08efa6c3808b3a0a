"""Follow-up in a real browser: the 6-month visits of spec §6's two cases, and the worklist."""

import datetime
import re
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from scoring import services
from scoring.models import Fracture, Patient, Visit

pytestmark = pytest.mark.django_db(transaction=True)


def make_case(user, mrn, born, assessed, **fields):
    patient = Patient.objects.create(mrn=mrn, sex="F", date_of_birth=born, created_by=user, updated_by=user)
    fracture = Fracture(
        patient=patient,
        assessment_date=assessed,
        treatment_start_date=assessed,
        low_energy_trauma=True,
        fracture_type="compression",
        treatment="conservative",
        created_by=user,
        updated_by=user,
        **fields,
    )
    fracture.rescore()
    fracture.save()
    services.refresh_course(fracture)  # its expected visits, as a save through the app makes them
    return fracture


def test_six_month_visit_of_the_first_case_shows_ka_difference_1_7_and_no_progressive_kyphosis(
    signed_in_page, django_user_model
):
    page = signed_in_page
    user = django_user_model.objects.get()
    fracture = make_case(
        user,
        "CASE1",
        datetime.date(1945, 1, 15),
        datetime.date(2024, 6, 1),
        level="L2",
        vhl_percent=Decimal("0.5"),
        kyphosis_angle_deg=Decimal("4.6"),
        t2_signal="diffuse_high",
        bmd_t_score=Decimal("-1.5"),
    )
    page.goto(fracture.get_absolute_url())
    expect(page.get_by_test_id("score-total")).to_have_text("0")
    page.get_by_role("link", name=re.compile(r"^Record .*visit$")).click()
    page.locator("#id_kind").select_option("6m")
    page.get_by_label("Visit date").fill("2024-12-01")
    page.get_by_label("Local kyphosis angle (°)").fill("6.3")
    page.get_by_label("Vertebral height loss (%)").fill("5.3")
    page.get_by_label("Bone union").select_option("united")
    page.get_by_role("button", name="Save visit").click()
    expect(page).to_have_url(re.compile(rf"/assessments/{fracture.pk}/$"))
    row = page.locator('tr[data-visit="6m"]')
    expect(row.get_by_test_id("ka-difference")).to_have_text("(+1.7°)")
    expect(row).to_contain_text("No progressive kyphosis")
    expect(page.get_by_test_id("outcome-kyphosis")).to_contain_text("No")
    expect(page.get_by_test_id("outcome-union")).to_contain_text("United")


def test_six_month_visit_of_the_second_case_flags_non_union(signed_in_page, django_user_model):
    page = signed_in_page
    user = django_user_model.objects.get()
    fracture = make_case(
        user,
        "CASE2",
        datetime.date(1953, 6, 1),
        datetime.date(2025, 3, 10),
        level="T11",
        vhl_percent=Decimal("17.8"),
        kyphosis_angle_deg=Decimal("19.6"),
        t2_signal="diffuse_low",
        bmd_t_score=Decimal("-3.6"),
    )
    page.goto(f"/assessments/{fracture.pk}/visits/new/?kind=6m")
    page.get_by_label("Visit date").fill("2025-09-10")
    page.get_by_label("Local kyphosis angle (°)").fill("26.0")
    page.get_by_label("Vertebral height loss (%)").fill("38.1")
    page.get_by_label("Bone union").select_option("non_union")
    page.get_by_label("intravertebral vacuum cleft on MRI").check()
    page.get_by_role("button", name="Save visit").click()
    row = page.locator('tr[data-visit="6m"]')
    expect(row.get_by_test_id("ka-difference")).to_have_text("(+6.4°)")  # spec §6: 6.4°, below the 10° cut
    expect(row).to_contain_text("Non-union")
    expect(page.get_by_test_id("outcome-union")).to_contain_text("Non-union")
    expect(page.get_by_test_id("outcome-kyphosis")).to_contain_text("No")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Patients").click()
    expect(page.locator("tbody tr", has_text="CASE2")).to_contain_text("Non-union")


def test_the_worklist_shrinks_when_a_due_visit_is_recorded(signed_in_page, django_user_model):
    page = signed_in_page
    user = django_user_model.objects.get()
    today = timezone.localdate()
    for mrn in ("DUE-A", "DUE-B"):
        make_case(
            user,
            mrn,
            datetime.date(1950, 1, 1),
            today - datetime.timedelta(days=30),
            level="L1",
            vhl_percent=Decimal("10"),
            kyphosis_angle_deg=Decimal("8"),
            t2_signal="confined_low",
            bmd_t_score=Decimal("-2.0"),
        )
    page.goto("/worklist/")
    expect(page.locator("tbody tr")).to_have_count(2)
    expect(page.get_by_test_id("worklist-count")).to_contain_text("2")
    page.get_by_role("link", name="Record the 1 month visit of DUE-A").click()
    expect(page.locator("#id_kind")).to_have_value("1m")
    page.get_by_label("VAS pain (0–10)").fill("5")
    page.get_by_role("button", name="Save visit").click()
    expect(page.get_by_role("status")).to_contain_text("1 month visit")
    page.get_by_role("navigation", name="Main").get_by_role("link", name=re.compile("^Worklist")).click()
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator("tbody tr")).to_contain_text("DUE-B")
    expect(page.get_by_test_id("worklist-count")).to_contain_text("1")
    assert Visit.objects.get().fracture.patient.mrn == "DUE-A"
