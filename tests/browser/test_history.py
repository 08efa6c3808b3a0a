"""The history pages in Chromium: long names, long readers and long notes wrap inside the window
at phone, tablet and desktop widths, and axe-core finds nothing serious (issue 11)."""

import datetime
import os
from decimal import Decimal

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from scoring.models import Visit

pytestmark = pytest.mark.django_db(transaction=True)

LONG_NAME = "Maximiliane Konstanze Anneliese von Hohenzollern-Sigmaringen-Wittelsbach-Schaumburg-Lippe"
LONG_READER = "Prof. Dr. med. Bartholomäus Wolfgang Leopold Fitzgerald-Featherstonehaugh"
UNBROKEN = "see-PACS-study-1.2.840.113619.2.55.3.604688119.971.1310033457.173.LATERAL-STANDING-AND-SUPINE"
WIDTHS = (375, 768, 1280)
SHOTS = os.environ.get("HISTORY_SCREENSHOTS")  # a folder: keep a screenshot of each page and width


@pytest.fixture
def records(signed_in_page, django_user_model, make_patient, make_fracture):
    """A patient, a fracture and a visit, each saved several times by a user with a long name."""
    user = django_user_model.objects.get(username="dr.browser")
    user.first_name, user.last_name = "Anna-Katharina", "Smith-Papadopoulou-Oyelaran"
    user.save()
    patient = make_patient(mrn="HIST-0000000000000000000001", name="Short")
    fracture = make_fracture(patient)
    visit = Visit.objects.create(
        fracture=fracture, kind="1m", visit_date=datetime.date(2025, 4, 10), created_by=user, updated_by=user
    )
    for record, changes in (
        (patient, {"name": LONG_NAME}),
        (fracture, {"first_reader_name": LONG_READER, "second_reader_name": LONG_READER + " Jr"}),
        (fracture, {"second_vhl_entered_percent": Decimal("16.2"), "second_kyphosis_angle_deg": Decimal("21.0")}),
        (visit, {"notes": UNBROKEN, "bone_union": "non_union", "second_reader_name": LONG_READER}),
    ):
        for name, value in changes.items():
            setattr(record, name, value)
        record._history_user = user
        record._change_reason = f"Second reader added: {LONG_READER} read the film again ({UNBROKEN})"
        record.save()
    return {"patient": patient, "assessment": fracture, "visit": visit}


def test_the_history_pages_fit_every_width_and_pass_axe(signed_in_page, records):
    page = signed_in_page
    found = {}
    for kind, record in records.items():
        url = f"/{'patients' if kind == 'patient' else kind + 's'}/{record.pk}/history/"
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(url)
            expect(page.get_by_test_id("history-entry").first).to_be_visible()
            expect(page.get_by_test_id("history-who").first).to_have_text(
                "saved by Anna-Katharina Smith-Papadopoulou-Oyelaran"
            )
            overflow = page.evaluate(
                "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth,"
                " document.querySelector('[data-testid=history-table]').getBoundingClientRect().right]"
            )
            page_width, window_width, table_width = overflow
            assert page_width <= window_width, (url, width, overflow)
            assert table_width <= window_width, (url, width, overflow)
            if SHOTS:
                page.screenshot(path=f"{SHOTS}/history-{kind}-{width}.png", full_page=True)
        results = Axe().run(page)
        found[kind] = [
            f"{violation['id']}: {violation['help']}"
            for violation in results.response["violations"]
            if violation["impact"] in ("serious", "critical")
        ]
    assert {kind: violations for kind, violations in found.items() if violations} == {}
    # What a clinician reads there: the readers by name, in words, and the reason on its line.
    page.goto(f"/assessments/{records['assessment'].pk}/history/")
    table = page.get_by_test_id("history-table")
    expect(table).to_contain_text(f"First reader — → {LONG_READER}")
    expect(table).to_contain_text("Second reader's VHL (typed) — → 16.2 %")
    expect(page.get_by_test_id("history-reason").first).to_have_text(
        f"Second reader added: {LONG_READER} read the film again ({UNBROKEN})"
    )
