"""Issue 11's "done when": a clinic morning in a real browser, at tablet and desktop widths,
without a wrong turn: register a patient, score the fracture, record the 1-, 3- and 6-month
visits, read the worklist, print, and hand a viewer the results. Every page on the way fits the
window."""

import datetime
import re

import pytest
from django.contrib.auth.models import Group, Permission
from django.utils import timezone
from playwright.sync_api import expect

from scoring.models import Fracture, Visit
from scoring.roles import ensure_roles
from tests.browser.conftest import ACTION_TIMEOUT_MS, NAVIGATION_TIMEOUT_MS
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), page.url


def go(page, name: str, width: int) -> None:
    """A link of the main navigation; at tablet width the menu is folded behind its button."""
    navigation = page.get_by_role("navigation", name="Main")
    if width < 992:
        navigation.get_by_role("button", name="Toggle navigation").click()
    with page.expect_navigation():  # the page's own wait (the navigation timeout), not the next action's
        navigation.get_by_role("link", name=re.compile(f"^{name}")).first.click()


def sign_in(page, username: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/patients/")


def record_visit(page, kind_label: str, day: datetime.date, **fields) -> None:
    page.get_by_test_id("record-visit").click()
    page.locator("#id_kind").select_option(label=kind_label)
    page.locator("#id_visit_date").fill(day.isoformat())
    for label, value in fields.items():
        page.get_by_label(label, exact=True).fill(value)
    fits(page)
    page.get_by_role("button", name="Save visit").click()
    expect(page.get_by_role("status").filter(has_text=f"{kind_label} visit of {day.isoformat()} saved")).to_be_visible()


@pytest.mark.parametrize("width", [768, 1280])
def test_a_clinic_morning_without_a_wrong_turn(browser, live_server, django_user_model, width):
    ensure_roles(Group, Permission)  # a transactional test flushed the groups the migration made
    clinician = django_user_model.objects.create_user(
        username="dr.lin", password=PASSWORD, first_name="Mei", last_name="Lin"
    )
    clinician.groups.add(Group.objects.get(name="clinician"))
    viewer = django_user_model.objects.create_user(username="reader", password=PASSWORD)
    viewer.groups.add(Group.objects.get(name="viewer"))
    context = browser.new_context(base_url=live_server.url, viewport={"width": width, "height": 900})
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)  # the run's first page is a cold start
    page = context.new_page()
    today = timezone.localdate()
    start = today - datetime.timedelta(days=200)

    sign_in(page, "dr.lin")

    # Register the patient.
    go(page, "New patient", width)
    page.get_by_label("MRN").fill("morning-1")
    page.get_by_label("Name").fill("Margaret Chen")
    page.get_by_label("Sex").select_option("F")
    page.get_by_label("Date of birth").fill("1954-01-01")
    fits(page)
    page.get_by_role("button", name="Save patient").click()
    expect(page.get_by_role("heading", name=re.compile("MORNING-1"))).to_be_visible()
    fits(page)

    # Score the fracture (spec §6, second case), assessed 200 days ago.
    page.get_by_role("link", name="New assessment").click()
    page.get_by_label("Assessment date").fill(start.isoformat())
    page.get_by_label("Fractured level").select_option("T11")
    page.get_by_role("radio", name=re.compile("^Yes")).check()
    page.get_by_label("Fracture type").select_option("compression")
    page.get_by_label("Treatment chosen").select_option("conservative")
    page.get_by_label("Vertebral height loss (%)").fill("17.8")
    page.get_by_label("Local kyphosis angle (°)").fill("19.6")
    page.get_by_label("MRI T2 signal (mid-sagittal)").select_option("diffuse_low")
    page.get_by_label("BMD T-score").fill("-3.6")
    expect(page.get_by_test_id("live-total")).to_have_text("10")
    fits(page)
    page.get_by_role("button", name="Save assessment").click()
    expect(page.get_by_test_id("score-total")).to_have_text("10")
    expect(page.get_by_test_id("risk-group")).to_contain_text("High risk")
    fits(page)

    # 200 days on, the visit to record today is the 6-month visit: the button says so.
    expect(page.get_by_test_id("record-visit")).to_have_text("Record 6-month visit")
    # The 1- and 3-month visits, from the notes, then today's 6-month visit.
    record_visit(page, "1 month", start + datetime.timedelta(days=31), **{"VAS pain (0–10)": "6"})
    record_visit(page, "3 months", start + datetime.timedelta(days=88), **{"VAS pain (0–10)": "4"})
    page.get_by_test_id("record-visit").click()
    expect(page.locator("#id_kind")).to_have_value("6m")
    expect(page.locator("#id_visit_date")).to_have_value(today.isoformat())
    page.get_by_label("VAS pain (0–10)", exact=True).fill("2")
    page.get_by_label("Local kyphosis angle (°)", exact=True).fill("26.0")
    page.get_by_label("Bone union").select_option("united")
    page.get_by_role("button", name="Save visit").click()
    expect(page.get_by_role("status").filter(has_text="6 months visit")).to_be_visible()
    fits(page)
    fracture = Fracture.objects.get()
    assert sorted(Visit.objects.values_list("kind", flat=True)) == ["1m", "3m", "6m"]
    assert (fracture.progressive_kyphosis, fracture.non_union) == (False, False)
    expect(page.get_by_test_id("record-visit")).to_have_text("Record unscheduled visit")

    # The worklist no longer lists her: every visit is recorded.
    go(page, "Worklist", width)
    expect(page.get_by_role("heading", name=re.compile("Worklist"))).to_be_visible()
    expect(page.locator('[data-row^="MORNING-1"]')).to_have_count(0)
    fits(page)

    # Print the report: one page with her MRN and name.
    page.goto(f"/assessments/{fracture.pk}/print/")
    expect(page.locator("body")).to_contain_text("MORNING-1")
    expect(page.locator("body")).to_contain_text("Margaret Chen")
    pdf = page.pdf(format="A4")
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1

    # Hand a viewer the results: the score and the visits, and no control they may not use.
    context.clear_cookies()
    sign_in(page, "reader")
    page.get_by_label("MRN or name").fill("MORNING-1")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="MORNING-1").click()
    page.get_by_role("link", name=re.compile("T11")).first.click()
    expect(page.get_by_test_id("score-total")).to_have_text("10")
    expect(page.locator('[data-visit="6m"]')).to_be_visible()
    for control in ("record-visit",):
        expect(page.get_by_test_id(control)).to_have_count(0)
    expect(page.get_by_role("link", name=re.compile("^(Edit|Archive|Treatment change)"))).to_have_count(0)
    fits(page)
    context.close()
