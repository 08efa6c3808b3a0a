"""The app in Chinese in a real browser (issue 16), at the tablet's and the desktop's width.

A clinician whose browser asks for English switches to 简体中文 in the navigation bar, registers
spec §6's second worked case (71-year-old woman, T11, fall; T-score −3.6, VHL 17.8 %, KA 19.6°,
diffuse low T2 signal, compression fracture) and reads its total 10, the high-risk group and the
items in Chinese; a treatment that is not conservative then shows its population warning in
Chinese. An English-speaking colleague opens the same record and reads it in English. axe-core
stays clean and the pages do not scroll sideways.

The labels are looked up through the catalogue (gettext in Chinese), so the test follows the
translation and fails if a label is still English.
"""

import re

import pytest
from django.utils import translation
from playwright.sync_api import expect

from scoring.models import Fracture, Patient
from tests.browser.test_every_page import problems_of
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

WIDTHS = (768, 1280)
NOT_CONSERVATIVE = (
    "The treatment chosen is not conservative: the score and the cohort's rates describe the course "
    "under conservative treatment."
)


def zh(message: str, context: str | None = None) -> str:
    with translation.override("zh-hans"):
        said = translation.pgettext(context, message) if context else translation.gettext(message)
    assert said != message, f"{message!r} has no Chinese translation"
    return said


def starts(message: str) -> re.Pattern:
    """The Chinese label of `message`, at the start of the field's name (a required field's ends in *;
    the second reader's fields name the same measure after their reader)."""
    return re.compile(r"^\s*" + re.escape(zh(message)))


@pytest.fixture
def clinician(django_user_model):
    from django.contrib.auth.models import Group, Permission

    from scoring.roles import ensure_roles

    ensure_roles(Group, Permission)  # a transactional test flushed the groups the migration made
    user = django_user_model.objects.create_user(username="dr.shaoxing", password=PASSWORD)
    user.groups.add(Group.objects.get(name="clinician"))
    colleague = django_user_model.objects.create_user(username="dr.london", password=PASSWORD)
    colleague.groups.add(Group.objects.get(name="clinician"))
    return user


def sign_in(browser, live_server, width: int, username: str, locale: str):
    context = browser.new_context(base_url=live_server.url, viewport={"width": width, "height": 900}, locale=locale)
    from tests.browser.conftest import ACTION_TIMEOUT_MS, NAVIGATION_TIMEOUT_MS

    context.set_default_timeout(ACTION_TIMEOUT_MS)
    context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
    page = context.new_page()
    page.goto("/accounts/login/")
    return context, page


@pytest.mark.parametrize("width", WIDTHS)
def test_a_clinician_scores_the_high_risk_case_in_chinese(browser, live_server, clinician, width):
    context, page = sign_in(browser, live_server, width, "dr.shaoxing", "en-GB")
    page.get_by_label("Username").fill("dr.shaoxing")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/patients/")

    # The switch in the navigation bar: the page comes back in Chinese.
    page.get_by_test_id("language-switch").get_by_role("button", name="简体中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_role("navigation", name=zh("Main", "navigation"))).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("[\u4e00-\u9fff]"))

    page.goto("/patients/new/")
    page.get_by_label(starts("MRN")).fill("nas-0071")
    page.get_by_label(starts("Name")).fill("Second Case")
    page.get_by_label(starts("Sex")).select_option("F")
    page.get_by_label(starts("Date of birth")).fill("1953-06-01")
    problems = problems_of(page, width)
    assert not problems, "\n".join(problems)
    page.get_by_role("button", name=zh("Save patient")).click()
    expect(page.get_by_role("heading", name=re.compile("NAS-0071"))).to_be_visible()

    page.get_by_role("link", name=zh("New assessment")).click()
    page.get_by_label(starts("Assessment date")).fill("2025-03-10")
    page.get_by_label(starts("Fractured level")).select_option("T11")
    page.get_by_role("radio", name=re.compile("^" + re.escape(zh("Yes")))).check()
    page.get_by_label(starts("Fracture type")).select_option("compression")
    page.get_by_label(starts("Treatment chosen")).select_option("conservative")
    page.get_by_label(starts("Vertebral height loss (%)")).fill("17.8")
    page.get_by_label(starts("Local kyphosis angle (°)")).fill("19.6")
    page.get_by_label(starts("MRI T2 signal (mid-sagittal)")).select_option("diffuse_low")
    page.get_by_label(starts("BMD T-score")).fill("-3.6")
    expect(page.get_by_test_id("live-total")).to_have_text("10")
    expect(page.locator("[data-live-group]")).to_have_text(zh("High risk"))
    problems = problems_of(page, width)
    assert not problems, "\n".join(problems)
    page.get_by_role("button", name=zh("Save assessment")).click()

    expect(page.get_by_test_id("score-total")).to_have_text("10")
    expect(page.get_by_test_id("risk-group")).to_contain_text(zh("High risk"))
    expect(page.locator("[data-warning-code]")).to_have_count(0)  # the case is inside the validated population
    assert Fracture.objects.get().total_score == 10
    problems = problems_of(page, width)
    assert not problems, "\n".join(problems)
    fracture_url = page.url

    # The same findings under a treatment that is not conservative: the warning, in Chinese.
    page.get_by_role("link", name=zh("Edit assessment")).click()
    page.get_by_label(starts("Treatment chosen")).select_option("kyphoplasty")
    page.get_by_role("button", name=zh("Save assessment")).click()
    warning = page.locator("[data-warning-code=treatment_not_conservative]")
    expect(warning).to_have_text(zh(NOT_CONSERVATIVE))
    expect(page.get_by_test_id("score-total")).to_have_text("10")
    problems = problems_of(page, width)
    assert not problems, "\n".join(problems)
    context.close()

    # An English-speaking colleague sees the same record in English.
    context, page = sign_in(browser, live_server, width, "dr.london", "en-GB")
    page.get_by_label("Username").fill("dr.london")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/patients/")
    page.goto(fracture_url)
    expect(page.locator("html")).to_have_attribute("lang", "en-gb")
    expect(page.get_by_test_id("score-total")).to_have_text("10")
    expect(page.get_by_test_id("risk-group")).to_contain_text("High risk")
    expect(page.locator("[data-warning-code=treatment_not_conservative]")).to_have_text(NOT_CONSERVATIVE)
    assert Patient.objects.count() == 1
    context.close()
