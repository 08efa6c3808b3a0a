"""The cohort page in a real browser: a demo cohort, the groups, the AUC, the plots, the exports."""

import csv
import io

import openpyxl
import pytest
from django.core.management import call_command
from playwright.sync_api import expect

pytestmark = pytest.mark.django_db(transaction=True)


def test_cohort_page_with_a_demo_cohort_and_both_exports(signed_in_page, tmp_path):
    page = signed_in_page
    call_command("seed_demo", patients=300, seed=5, allow_mixed=True)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Cohort").click()
    expect(page.get_by_role("heading", name="Cohort review: does NASOVCF work here?")).to_be_visible()
    for group in ("low", "medium", "high"):
        expect(page.locator(f'tr[data-group="{group}"]')).to_be_visible()
    expect(page.get_by_test_id("auc").first).to_have_text(
        __import__("re").compile(r"^0\.\d{3} \(0\.\d{3}–[01]\.\d{3}\)$")
    )
    plots = page.locator("img.cohort-plot")
    expect(plots).to_have_count(2)
    for index in range(2):
        assert plots.nth(index).evaluate("img => img.complete && img.naturalWidth > 100")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="De-identified CSV").click()
    path = tmp_path / "deidentified.csv"
    download_info.value.save_as(path)
    header = next(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert header[:3] == ["patient", "sex", "age_years"] and "name" not in header

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Identified XLSX", exact=True).click()
    path = tmp_path / "identified.xlsx"
    download_info.value.save_as(path)
    sheet = openpyxl.load_workbook(path, read_only=True)["fractures"]
    header = [cell.value for cell in next(sheet.iter_rows(max_row=1))]
    assert header[:3] == ["patient", "name", "date_of_birth"]
