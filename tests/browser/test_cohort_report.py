"""The validation report taken away from the cohort page (issue 14), in a real browser: the
self-contained HTML report for a paper's supplement (opened from disk with no request to the
server, stamped, printed to PDF), every number as JSON at full precision (the page's figures are its
values rounded), and who may have them: a viewer may, an anonymous browser is sent to sign in.

The demo cohort and the signed-in tabs are tests/browser/test_cohort.py's fixtures (seeded once for
this module too).
"""

from __future__ import annotations

import json
import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from nasovcf_site.version import VERSION
from scoring.rules import RULES_VERSION
from tests.browser import test_cohort
from tests.browser.conftest import ACTION_TIMEOUT_MS, NAVIGATION_TIMEOUT_MS
from tests.browser.pdf_text import page_count, pdf_page_texts
from tests.browser.test_cohort import open_cohort

# The page module's fixtures, under the same names: its demo cohort (seeded once for this module
# too), its signed-in tabs, and its stand-in for pytest-django's live-server helper.
_live_server_helper = test_cohort._live_server_helper
demo = test_cohort.demo
tabs = test_cohort.tabs

DOWNLOAD = "Download the report (HTML, printable to PDF)"
JSON_LINK = "Every number as JSON"
NON_UNION_AUC = 'table[data-table="auc"] tr[data-row="non_union"] [data-testid="auc"]'


def three_decimals(value: float) -> str:
    """The paper's precision, rounded half away from zero from the float's shortest decimal: an
    independent restatement of the page's rule (cohort/formatting.py), so the test checks it."""
    return str(Decimal(repr(value)).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP))


def squeezed(text: str) -> str:
    """Text without spaces (the PDF's text runs do not keep every space), ligatures ("ﬁ") spelt out."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def download_report(page, tmp_path):
    with page.expect_download() as download_info:
        page.get_by_role("link", name=DOWNLOAD).click()
    download = download_info.value
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    return download.suggested_filename, path


def test_the_downloaded_report_is_self_contained_stamped_and_prints_to_pdf(browser, tabs, tmp_path):
    page = open_cohort(tabs("clinician"), "?eligible=on")
    page_auc = page.locator(NON_UNION_AUC).inner_text()
    assert page_auc, "the page shows the non-union AUC"
    started = timezone.now().date()
    name, path = download_report(page, tmp_path)
    finished = timezone.now().date()
    assert re.fullmatch(r"nasovcf-validation-report-\d{4}-\d{2}-\d{2}\.html", name), name
    html = path.read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html>")

    # Opened from disk in a browser of its own: nothing is asked of the server, or of anyone.
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
    try:
        report = context.new_page()
        requested: list[str] = []
        report.on("request", lambda request: requested.append(request.url))
        report.goto(path.as_uri())
        report.wait_for_load_state("load")
        expect(report.get_by_role("heading", name="NASOVCF external validation report", level=1)).to_be_visible()
        assert [url for url in requested if not url.startswith(("file:", "data:"))] == []
        images = report.locator("img")
        expect(images).to_have_count(6)
        sources = images.evaluate_all("(imgs) => imgs.map((img) => img.getAttribute('src'))")
        assert all(src.startswith("data:image/") for src in sources), [src[:40] for src in sources]
        report.wait_for_function("[...document.images].every((img) => img.complete)")
        assert report.evaluate("[...document.images].every((img) => img.naturalWidth > 100)")
        assert report.locator("link[rel=stylesheet], script[src]").count() == 0

        # The stamp: the app's version, the rules' version, the filter and the date.
        stamp = report.locator("p.stamp")
        expect(stamp.first).to_contain_text(f"NASOVCF Clinic {VERSION} · rules {RULES_VERSION} · generated ")
        generated = re.search(r"generated (\d{4}-\d{2}-\d{2})T", stamp.first.inner_text()).group(1)
        assert generated in {started.isoformat(), finished.isoformat()}
        expect(stamp.nth(1)).to_have_text(re.compile(r"^Filter: .*eligible", re.I))
        # The same report as the page: the same AUC text, the same sections.
        expect(report.locator(NON_UNION_AUC)).to_have_text(page_auc)
        assert report.locator("section.report-section").count() == page.locator("section.report-section").count()
        expect(report.locator("section#counts")).to_contain_text("Only the paper's eligible population")

        # Printed to PDF (A4) by Chromium: a document of several pages, with the title and the AUC.
        pdf = report.pdf(format="A4", print_background=True)
        assert pdf.startswith(b"%PDF-")
        assert page_count(pdf) >= 2
        texts = pdf_page_texts(pdf)
        assert len(texts) == page_count(pdf)
        assert squeezed(f"NASOVCF external validation reportNASOVCF Clinic {VERSION}") in squeezed(texts[0])
        text = squeezed("".join(texts))
        assert squeezed("How these figures are computed") in squeezed(texts[-1] + texts[-2])
        assert squeezed(page_auc) in text
    finally:
        context.close()


def test_every_number_as_json_matches_the_page(tabs):
    page = open_cohort(tabs("clinician"), "?eligible=on")
    href = page.get_by_role("link", name=JSON_LINK).get_attribute("href")
    assert urlsplit(href).path == "/cohort/report.json" and parse_qs(urlsplit(href).query) == {"eligible": ["on"]}
    response = page.request.get(href)  # the signed-in context's cookies
    assert response.status == 200 and response.headers["content-type"].startswith("application/json")
    report = json.loads(response.text())
    assert report["meta"]["schema"] == "nasovcf-validation-report/1"
    assert report["meta"]["filters"] == {"eligible": True}
    assert report["meta"]["app_version"] == VERSION and report["meta"]["rules_version"] == RULES_VERSION
    assert report["population"]["eligible_only"] is True

    # The page's figures are the JSON's, rounded: the non-union AUC and its DeLong interval ...
    auc = report["discrimination"]["non_union"]["auc"]
    assert all(isinstance(auc[key], float) for key in ("auc", "ci_low", "ci_high"))
    expected = f"{three_decimals(auc['auc'])} ({three_decimals(auc['ci_low'])}–{three_decimals(auc['ci_high'])})"
    expect(page.locator(NON_UNION_AUC)).to_have_text(expected)
    # ... at full precision in the JSON (not the page's three decimals) ...
    assert auc["auc"] != float(three_decimals(auc["auc"]))
    # ... and the counts: who is counted, and the high group's non-union.
    population = report["population"]
    expect(page.locator("section#counts")).to_contain_text(
        f"{population['counted']} of {population['total']} fractures counted"
    )
    high = report["outcomes"]["non_union"]["rates"]["high"]
    expect(
        page.locator('table[data-table="rates"] tr[data-row="high"]').get_by_test_id("rate-non_union")
    ).to_contain_text(f"({high['events']}/{high['n']};")


def test_a_viewer_has_the_page_and_both_reports(tabs, tmp_path):
    page = open_cohort(tabs("viewer"))
    expect(page.get_by_role("link", name=DOWNLOAD)).to_be_visible()
    expect(page.get_by_role("link", name=JSON_LINK)).to_be_visible()
    expect(page.get_by_role("link", name="Identified CSV", exact=True)).to_have_count(0)  # a clinician's export only
    response = page.request.get(page.get_by_role("link", name=JSON_LINK).get_attribute("href"))
    assert response.status == 200
    assert json.loads(response.text())["meta"]["schema"] == "nasovcf-validation-report/1"
    name, path = download_report(page, tmp_path)
    assert name.endswith(".html") and "NASOVCF external validation report" in path.read_text(encoding="utf-8")


@pytest.mark.parametrize("url", ["/cohort/report.json", "/cohort/report.html?eligible=on"])
def test_an_anonymous_browser_is_sent_to_sign_in(tabs, url):
    page = tabs(None)
    page.goto(url)
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next="))
    assert parse_qs(urlsplit(page.url).query)["next"] == [url]
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    assert "nasovcf-validation-report" not in page.content()
