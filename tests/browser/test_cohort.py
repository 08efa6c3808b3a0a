"""The cohort page as the external-validation report (issue 14), in a real browser, as a spine
surgeon preparing a validation paper reads it at a tablet's and a desktop's width: a demo cohort of
300 patients, every section of the report beside the paper's published figures, every plot loaded,
no sideways scrolling (the wide tables scroll in their own region), no serious or critical axe-core
violation, the paper's eligibility filter, and the two research exports.

The demo cohort is seeded once for the module (seeding 300 patients for every test would double the
module's time): pytest-django's live-server helper, which makes each test transactional and flushes
the database after it, is replaced here, and the module flushes the database when it is done.
tests/browser/test_cohort_report.py uses the same fixtures for the downloadable report and the JSON.
Each test empties the report's cache (tests/conftest.py), so its first page load computes the
statistics: the waits are the generous ones of tests/browser/conftest.py, on conditions only.
"""

from __future__ import annotations

import csv
import io
import re

import openpyxl
import pytest
from django.core.management import call_command
from django.test.utils import override_settings
from playwright.sync_api import expect

from tests.browser.conftest import ACTION_TIMEOUT_MS, NAVIGATION_TIMEOUT_MS
from tests.browser.test_every_page import WIDEST_ELEMENTS, serious_violations
from tests.conftest import PASSWORD

WIDTHS = (768, 1280)
HEIGHT = 900
USERS = {"clinician": "dr.cohort", "viewer": "viewer.cohort"}

# The report's sections, by the id of each <section> (cohort/presenters.py `page()`), and its heading.
SECTIONS = {
    "counts": "Who is counted",
    "baseline": "Who the patients are, by group",
    "outcomes": "Outcomes by risk group",
    "radiographic": "Radiographic course, median (IQR)",
    "course": "Pain and disability over the visits",
    "discrimination": "Discrimination: ROC of the score",
    "univariable": "Each item and covariate alone: univariable odds ratios",
    "multivariable": "Multivariable models with the paper's covariates",
    "calibration": "Calibration: do the paper's rates come true here?",
    "decision": "Decision curves: does acting on the high group do more good than harm?",
    "head-to-head": "NASOVCF beside Genant and AO Spine-DGOU",
    "agreement": "Two readers: agreement",
    "one-per-patient": "Sensitivity analysis: one fracture per patient",
    "methods": "How these figures are computed",
}
# An estimate with its 95 % interval at the paper's three decimals: 0.859 (0.797–0.921).
AUC = re.compile(r"^0\.\d{3} \(0\.\d{3}–[01]\.\d{3}\)$")
# A rate as the page prints it: 53.7 % (36/67; 41.9–65.1).
RATE = re.compile(r"^\d{1,3}\.\d % \(\d+/\d+; \d{1,3}\.\d–\d{1,3}\.\d\)$")
COUNTED = re.compile(r"(\d+) of (\d+) fractures counted")


@pytest.fixture(autouse=True)
def _live_server_helper():
    """In place of pytest-django's own (same name): it would make every test transactional and
    flush the module's demo cohort after the first. `demo` enables the live server's host instead."""
    return


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker, live_server):
    """A clinician, a viewer and 300 demo patients, served for the whole module; flushed after."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group, Permission
    from django.db import connection

    from scoring.roles import ensure_roles

    with django_db_blocker.unblock():
        # The test database, never the clinic's own (a test using `live_server` has it set up).
        in_memory = connection.vendor == "sqlite" and connection.is_in_memory_db()
        assert in_memory or str(connection.settings_dict["NAME"]).startswith("test_")
        try:
            with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
                ensure_roles(Group, Permission)
                for role, username in USERS.items():
                    user = get_user_model().objects.create_user(username=username, password=PASSWORD)
                    user.groups.add(Group.objects.get(name=role))
            call_command("seed_demo", patients=300, seed=5, allow_mixed=True, stdout=io.StringIO())
            live_server._live_server_modified_settings.enable()  # its host in ALLOWED_HOSTS
            try:
                yield live_server
            finally:
                live_server._live_server_modified_settings.disable()
        finally:
            call_command("flush", verbosity=0, interactive=False)


@pytest.fixture(scope="module")
def tabs(browser, demo):
    """A page for a role ("clinician", "viewer", or None: not signed in) at a width, signed in once
    and kept for the module (one browser context each, so downloads and cookies stay apart)."""
    made: dict[tuple, object] = {}
    contexts = []

    def tab(role: str | None, width: int = 1280):
        if (role, width) in made:
            return made[role, width]
        context = browser.new_context(
            base_url=demo.url, viewport={"width": width, "height": HEIGHT}, accept_downloads=True
        )
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        if role is not None:
            page.goto("/accounts/login/")
            page.get_by_label("Username").fill(USERS[role])
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url("**/patients/")
        made[role, width] = page
        return page

    yield tab
    for context in contexts:
        context.close()


def open_cohort(page, query: str = ""):
    """The cohort page, waited for until the report is there (its first computation takes seconds)."""
    response = page.goto(f"/cohort/{query}")
    assert response is not None and response.status == 200, f"/cohort/{query} answered {response and response.status}"
    expect(page.get_by_role("heading", name="Cohort review: does NASOVCF work here?")).to_be_visible()
    expect(page.locator("section#methods")).to_be_attached()
    return page


def section(page, section_id: str):
    return page.locator(f"section#{section_id}")


def table_row(page, table: str, row: str):
    return page.locator(f'table[data-table="{table}"] tr[data-row="{row}"]')


def counted(page) -> tuple[int, int]:
    """(counted, total) from "Who is counted": "192 of 300 fractures counted"."""
    found = COUNTED.search(section(page, "counts").inner_text())
    assert found, section(page, "counts").inner_text()
    return int(found.group(1)), int(found.group(2))


def plots_loaded(page) -> list[str]:
    """The report's plots that did not load: the alt text and natural width of each."""
    page.wait_for_function("[...document.querySelectorAll('img.cohort-plot')].every((img) => img.complete)")
    return page.evaluate(
        """[...document.querySelectorAll('img.cohort-plot')]
           .filter((img) => !(img.naturalWidth > 100))
           .map((img) => `${img.alt.slice(0, 40)}: ${img.naturalWidth} px`)"""
    )


def sideways(page) -> str:
    """What makes the page wider than the window ("" when nothing does), as test_every_page finds it."""
    scroll_width, inner_width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    if scroll_width <= inner_width:
        return ""
    return f"scrolls sideways: {scroll_width} px wide in {inner_width}; {' / '.join(page.evaluate(WIDEST_ELEMENTS))}"


# -- every section, beside the paper ---------------------------------------------------------------


@pytest.mark.parametrize("width", WIDTHS)
def test_every_section_of_the_report_beside_the_paper(tabs, width):
    page = open_cohort(tabs("clinician", width))
    for section_id, title in SECTIONS.items():
        heading = section(page, section_id).get_by_role("heading", level=2)
        expect(heading).to_contain_text(title)
    included, total = counted(page)
    assert total == 300 and 0 < included <= total

    # The paper's Table 3: each group's column and the test across groups.
    baseline = page.locator('table[data-table="baseline"]')
    for group in ("Low risk (score 0)", "Medium risk (score 2–4)", "High risk (score 6–12)"):
        expect(baseline.locator("thead")).to_contain_text(group)
    expect(table_row(page, "baseline", "age")).to_contain_text("Kruskal–Wallis H, P ")

    # Outcomes by group, each rate beside the paper's: the high group's 39/63 non-union.
    for group in ("low", "medium", "high"):
        rates = table_row(page, "rates", group).get_by_test_id("rate-non_union")
        expect(rates).to_have_text(RATE)
    expect(table_row(page, "rates", "high").locator("td.paper").first).to_have_text("61.9 % (39/63; 49.6–72.9)")
    expect(table_row(page, "rates", "low").locator("td.paper").first).to_contain_text("(1/47;")

    # The paper's Table 4: its high group's pretreatment VHL as printed, beside the high group here.
    vhl_pre = table_row(page, "radiographic", "vhl_pre")
    expect(vhl_pre.locator("td.paper").nth(2)).to_have_text("15.1 (11.85, 23)")
    expect(vhl_pre.locator("td").nth(4)).to_have_text(re.compile(r"^[\d.]+ \([\d.]+, [\d.]+\) \(n \d+\)$"))
    expect(table_row(page, "radiographic", "vhl_pre")).to_contain_text("Kruskal–Wallis H")

    # The paper's Fig. 3: VAS and ODI at the four visits.
    for measure in ("vas", "odi"):
        visits = page.locator(f'table[data-table="course-{measure}"] tbody tr th')
        expect(visits).to_have_text(["pretreatment", "1 month", "3 months", "6 months"])

    # Discrimination: the AUC with its DeLong interval, the paper's 0.872 beside it; the fixed cuts.
    expect(table_row(page, "auc", "non_union").get_by_test_id("auc")).to_have_text(AUC)
    expect(table_row(page, "auc", "non_union").locator("td.paper")).to_have_text("0.872 (0.816–0.928)")
    expect(page.locator('table[data-table="fixed-cuts"] tbody tr')).to_have_count(4)
    high_cut = table_row(page, "fixed-cuts", "non_union-score_gt_4")
    expect(high_cut.locator("th")).to_have_text("Non-union at 6 months: score > 4 (high group)")
    # Score > 4 is the high group: its PPV is the high group's non-union rate, the same figure.
    high_rate = table_row(page, "rates", "high").get_by_test_id("rate-non_union").inner_text()
    expect(high_cut.locator("td").nth(3)).to_have_text(high_rate)

    # Univariable: the score's OR beside the paper's univariable 1.754 (like for like, D6); the
    # multivariable model beside the paper's 1.713 and its model AUC.
    expect(table_row(page, "univariable-non_union", "non_union-score").locator("td.paper")).to_have_text(
        "1.754 (1.504–2.046)"
    )
    multivariable = table_row(page, "multivariable", "non_union")
    expect(multivariable.locator("td.paper")).to_contain_text(
        re.compile(r"NASOVCF score OR 1\.713\b.*\(1\.458–2\.013\)")
    )
    expect(multivariable.locator("td.paper")).to_contain_text("model AUC 0.895 (0.841–0.949)")
    expect(multivariable.get_by_test_id("model-auc")).to_have_text(AUC)

    # Calibration: each group's paper rate against the rate here, E/O, in the large, the slope.
    for outcome in ("non_union", "progressive_kyphosis"):
        for row in ("low", "medium", "high", "eo", "citl", "slope"):
            expect(table_row(page, f"calibration-{outcome}", row)).to_be_visible()
    expect(table_row(page, "calibration-non_union", "high")).to_contain_text("61.9 %")

    # Decision curves: a plain explanation and each outcome's summary over the thresholds.
    expect(section(page, "decision")).to_contain_text("Net benefit counts the patients correctly augmented")
    expect(section(page, "decision").locator("ul.report-notes li")).to_have_count(2)

    # Head to head with Genant and OF, the readers' agreement, one fracture per patient, methods.
    expect(page.locator('table[data-table="head-to-head"] tbody tr')).to_have_count(6)
    expect(section(page, "agreement").get_by_test_id("agreement")).to_have_count(4)
    expect(section(page, "agreement")).to_contain_text("ICC(2,1)")
    expect(table_row(page, "one-per-patient", "auc")).to_be_visible()
    expect(section(page, "methods")).to_contain_text("rounded half away from zero")

    # Every plot there and loaded (rates, course, ROC, the models' ROC, calibration, decision curves).
    expect(page.locator("img.cohort-plot")).to_have_count(6)
    assert plots_loaded(page) == []
    assert sideways(page) == ""


@pytest.mark.parametrize("width", WIDTHS)
def test_the_report_fits_the_width_and_axe_finds_nothing_serious(tabs, width):
    page = open_cohort(tabs("clinician", width))
    problems = [sideways(page)] + serious_violations(page)
    assert not [problem for problem in problems if problem], "\n".join(problems)


# -- the paper's eligible population ------------------------------------------------------------------


def test_the_eligibility_filter_narrows_the_cohort_and_says_the_criteria(tabs):
    page = open_cohort(tabs("clinician", 1280))
    before, total = counted(page)
    # How many counted fractures fall outside each criterion: "14 outside level T11–L2; 6 outside …".
    outside = [int(n) for n in re.findall(r"(\d+) outside ", section(page, "counts").inner_text())]
    assert outside, "the demo cohort has fractures outside the paper's criteria"

    page.get_by_label("Only the paper's eligible population").check()
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r"/cohort/\?.*eligible=on"))
    expect(page.locator("section#methods")).to_be_attached()
    expect(page.get_by_label("Only the paper's eligible population")).to_be_checked()

    after, total_after = counted(page)
    assert total_after == total
    # A fracture outside any criterion leaves: at least the largest count, at most their sum.
    assert before - sum(outside) <= after <= before - max(outside) < before
    counts = section(page, "counts")
    expect(counts).to_contain_text("Only the paper's eligible population (spec §4): age ≥ 60; level T11–L2;")
    expect(counts).to_contain_text("low-energy trauma; BMD T-score ≤ −1.0")
    expect(counts).to_contain_text(f"{before - after} not counted: outside the paper's eligibility criteria")
    # The report's links keep the filter: what is downloaded is what is shown.
    for name in ("Download the report (HTML, printable to PDF)", "Every number as JSON"):
        expect(page.get_by_role("link", name=name)).to_have_attribute("href", re.compile(r"eligible=on"))
    assert plots_loaded(page) == []
    assert sideways(page) == ""


# -- the exports ------------------------------------------------------------------------------------


def test_both_exports_from_the_cohort_page(tabs, tmp_path):
    page = open_cohort(tabs("clinician", 1280))
    with page.expect_download() as download_info:
        page.get_by_role("link", name="De-identified CSV").click()
    path = tmp_path / "deidentified.csv"
    download_info.value.save_as(path)
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    header = rows[0]
    assert header[:3] == ["patient", "sex", "age_years"] and "name" not in header
    assert len(rows) == 1 + 300  # one row per fracture, every fracture of the demo cohort

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Identified XLSX", exact=True).click()
    path = tmp_path / "identified.xlsx"
    download_info.value.save_as(path)
    sheet = openpyxl.load_workbook(path, read_only=True)["fractures"]
    header = [cell.value for cell in next(sheet.iter_rows(max_row=1))]
    assert header[:3] == ["patient", "name", "date_of_birth"]
