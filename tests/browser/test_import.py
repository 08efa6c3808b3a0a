"""Importing past patients in a real browser (issue 13's "Done when"): a clinician opens the cohort
page, downloads the XLSX template, fills in three patients in it, uploads it, reads the preview,
confirms, and finds them in the patient list, on the worklist and on the cohort page; at a
tablet's and a desktop's width, with no sideways scrolling and no serious axe-core violation.

The live server runs the background work at once (tests/conftest.py: django-tasks' immediate
backend), so the progress bar is seldom seen there: its own test holds an import "importing" and
moves it on from the test, as the worker would.
"""

from __future__ import annotations

import datetime
import re

import openpyxl
import pytest
from django.utils import timezone
from playwright.sync_api import expect

from cohort.models import CohortImport
from tests.browser.test_every_page import serious_violations
from tests.cohort.test_import_views import three_patients

pytestmark = pytest.mark.django_db(transaction=True)

WIDTHS = (768, 1280)
DATE_COLUMNS = re.compile(r"(^|_)date(_of_birth)?$")
NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


@pytest.fixture(autouse=True)
def _var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"


def fill_in(path, rows: list[dict[str, str]]) -> None:
    """Replace the template's two examples with `rows`, typed as a person types into a spreadsheet:
    dates as dates, numbers as numbers, every other column left empty."""
    book = openpyxl.load_workbook(path)
    sheet = book["fractures"]
    header = [cell.value for cell in sheet[1]]
    sheet.delete_rows(2, sheet.max_row - 1)

    def typed(column: str, text: str | None):
        if not text:
            return None
        if DATE_COLUMNS.search(column):
            return datetime.date.fromisoformat(text)
        if NUMBER.match(text) and column != "patient":
            return float(text) if "." in text else int(text)
        return text

    for row in rows:
        sheet.append([typed(column, row.get(column)) for column in header])
    book.save(path)


def fits(page) -> None:
    scroll_width, inner_width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll_width <= inner_width, f"{page.url} scrolls sideways: {scroll_width} px in {inner_width}"


@pytest.mark.parametrize("width", WIDTHS)
def test_a_clinician_imports_three_patients_filled_into_the_template(signed_in_page, width, tmp_path):
    page = signed_in_page
    page.set_viewport_size({"width": width, "height": 900})
    today = timezone.localdate()
    rows = three_patients(today)

    page.goto("/cohort/")
    page.get_by_role("link", name="Import past patients").click()
    expect(page.get_by_role("heading", name="Import past patients", level=1)).to_be_visible()
    fits(page)
    assert serious_violations(page) == []

    with page.expect_download() as download_info:
        page.get_by_role("link", name=re.compile(r"^Template \(XLSX")).click()
    template = tmp_path / "our-past-patients.xlsx"
    download_info.value.save_as(template)
    fill_in(template, rows)

    page.get_by_label("CSV or XLSX file").set_input_files(template)
    page.get_by_role("button", name="Upload and check").click()
    expect(page.get_by_role("heading", name="Import of our-past-patients.xlsx")).to_be_visible()
    # The check ran as the upload's request ended: the preview is there, or the problems it found.
    assert page.get_by_test_id("import-status").inner_text() == "checked: ready to import", page.get_by_role(
        "main"
    ).inner_text()
    counts = page.get_by_test_id("import-counts")
    for record in ("patients", "fractures", "visits"):
        expect(counts.locator(f'tr[data-record="{record}"] td')).to_have_text(["3", "0", "0"])
    expect(page.get_by_test_id("import-summary")).to_contain_text("patients: 3 to create; fractures: 3 to create")
    expect(page.get_by_test_id("import-problems")).to_have_count(0)
    fits(page)
    assert serious_violations(page) == []

    page.get_by_role("button", name="Import these records").click()
    expect(page.get_by_test_id("import-status")).to_have_text("imported")
    expect(page.get_by_test_id("import-result")).to_have_text(
        "3 rows. patients: 3 created; fractures: 3 created; visits: 3 created."
    )
    fits(page)
    assert serious_violations(page) == []

    result = page.get_by_role("region", name="Imported")
    result.get_by_role("link", name="Patient list").click()
    for row in rows:
        expect(page.get_by_role("main").get_by_text(row["patient"], exact=True)).to_be_visible()

    # IMP-0001 was assessed 35 days ago with no visit since: its 1-month visit is due now.
    page.goto("/worklist/?status=due_soon")
    listed = page.locator("table.worklist-table tbody tr")
    expect(listed).to_have_count(1)
    expect(listed).to_contain_text("IMP-0001")
    expect(listed).to_have_attribute("data-row", "IMP-0001-1m")

    # All three fractures are counted; IMP-0003, seen at 6 months with a film and bone union, is
    # the one with a complete outcome.
    page.goto("/cohort/")
    expect(page.locator("#counts")).to_contain_text("1 of 3 fractures counted")


def test_the_progress_bar_advances_while_the_import_runs(signed_in_page, django_user_model):
    page = signed_in_page
    clinician = django_user_model.objects.get(username="dr.browser")
    upload = CohortImport.objects.create(
        created_by=clinician,
        imported_by=clinician,
        filename="five-years.xlsx",
        size_bytes=2048,
        sha256="0" * 64,
        status=CohortImport.Status.IMPORTING,
        done_rows=0,
        total_rows=0,
    )
    page.goto(upload.get_absolute_url())
    bar = page.get_by_role("progressbar", name=re.compile("^Importing"))
    expect(bar).to_have_js_property("value", 0)
    expect(page.get_by_text("Importing: reading the file")).to_be_visible()  # not "0 of 0 rows"
    fits(page)
    assert serious_violations(page) == []

    CohortImport.objects.filter(pk=upload.pk).update(total_rows=4000)  # the file is read
    expect(page.get_by_text("Importing: 0 of 4,000 rows")).to_be_visible()
    CohortImport.objects.filter(pk=upload.pk).update(done_rows=1000)  # the worker's first chunk
    expect(bar).to_have_js_property("value", 25)
    expect(page.get_by_text("1,000 of 4,000 rows")).to_be_visible()

    CohortImport.objects.filter(pk=upload.pk).update(done_rows=3000)
    expect(bar).to_have_js_property("value", 75)

    CohortImport.objects.filter(pk=upload.pk).update(
        status=CohortImport.Status.IMPORTED, done_rows=4000, imported_at=timezone.now()
    )
    expect(page.get_by_test_id("import-status")).to_have_text("imported")  # the page reloaded
    expect(page.get_by_role("progressbar")).to_have_count(0)
