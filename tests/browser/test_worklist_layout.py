"""The worklist, the patient list and the patient page at a phone's, a tablet's and a desktop's
width (issue 11): no sideways scrolling with long names and a second reader recorded, the search
box level with its button, and no serious or critical axe-core violation."""

import datetime
from decimal import Decimal

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone

from scoring import services
from scoring.models import Fracture, Patient

pytestmark = pytest.mark.django_db(transaction=True)

WIDTHS = (375, 768, 1280)
LONG_WORD = "Wolfeschlegelsteinhausenbergerdorffwelchevoralternwarengewissenhaftschaferswessen"  # 81, no space
LONG_NAME = "Maria de los Angeles Fernandez-Castellanos y Rodriguez-Villanueva de la Santisima Trinidad"


@pytest.fixture
def records(signed_in_page, django_user_model):
    user = django_user_model.objects.get()
    today = timezone.localdate()

    def patient(mrn, name):
        return Patient.objects.create(
            mrn=mrn, name=name, sex="F", date_of_birth=datetime.date(1950, 2, 3), created_by=user, updated_by=user
        )

    def fracture(owner, days_ago, **fields):
        start = today - datetime.timedelta(days=days_ago)
        values = {
            "assessment_date": start,
            "treatment_start_date": start,
            "level": "T12",
            "low_energy_trauma": True,
            "fracture_type": "compression",
            "vhl_percent": Decimal("17.8"),
            "kyphosis_angle_deg": Decimal("19.6"),
            "t2_signal": "diffuse_low",
            "bmd_t_score": Decimal("-3.6"),
            "treatment": "conservative",
            **fields,
        }
        made = Fracture(patient=owner, created_by=user, updated_by=user, **values)
        made.rescore()
        made.save()
        services.refresh_course(made)
        return made

    word = patient("A" * 32, LONG_WORD)
    spaced = patient("LONG-NAME-0000000000000000000001", LONG_NAME)
    # Two readers who differ by more than 5 %: the "Readers differ" badge wherever the film is shown.
    first = fracture(
        word,
        400,
        first_reader_name=LONG_WORD,
        second_reader_name=LONG_WORD[::-1],
        first_vhl_percent=Decimal("12.0"),
        second_vhl_entered_percent=Decimal("24.0"),
        second_vhl_percent=Decimal("24.0"),
    )
    fracture(word, 45, level="L1")  # a second fracture a year later, overdue on the worklist
    fracture(spaced, 30, treatment_changed_to="", level="L2")
    fracture(spaced, 301, level="T11")  # on the Missed tab
    archived = fracture(spaced, 60, level="L3")
    services.set_archived(record=archived, archived=True, user=user, reason=LONG_WORD)
    return {"word": word, "spaced": spaced, "first": first}


def pages(records) -> dict[str, str]:
    word, spaced = records["word"], records["spaced"]
    return {
        "worklist": "/worklist/",
        "worklist sorted by group": "/worklist/?sort=group",
        "missed": "/worklist/?status=missed",
        "patient list": "/patients/",
        "patient page": f"/patients/{word.pk}/",
        "patient page with an archived assessment": f"/patients/{spaced.pk}/",
        "archive question": f"/patients/{word.pk}/archive/",
    }


def overflow(page) -> int:
    """How many pixels the page is wider than the window (0: no sideways scroll)."""
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def test_no_page_scrolls_sideways_at_any_width(signed_in_page, records):
    page = signed_in_page
    wider = {}
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        for name, url in pages(records).items():
            page.goto(url)
            page.wait_for_load_state("load")
            if (extra := overflow(page)) > 0:
                wider[f"{name} at {width} px"] = extra
    assert wider == {}


def test_the_worklist_table_fits_a_tablet_without_its_own_scrollbar(signed_in_page, records):
    """At 768 px the table itself fits: Record, the last column, is on screen without scrolling."""
    page = signed_in_page
    page.set_viewport_size({"width": 768, "height": 900})
    page.goto("/worklist/")
    table = page.locator("table.worklist-table")
    table.wait_for()
    wrap_width, table_width = page.evaluate(
        "() => { const t = document.querySelector('table.worklist-table');"
        " return [t.parentElement.clientWidth, t.scrollWidth]; }"
    )
    assert table_width <= wrap_width
    record = page.get_by_role("link", name="Record the 1 month visit of " + "A" * 32)
    box = record.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 768


def test_the_search_box_is_level_with_its_button(signed_in_page, records):
    page = signed_in_page
    for width in (768, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto("/patients/")
        box = page.get_by_label("MRN or name").bounding_box()
        button = page.get_by_role("button", name="Search").bounding_box()
        assert abs((box["y"] + box["height"]) - (button["y"] + button["height"])) <= 1, width
        assert abs(box["height"] - button["height"]) <= 2, width


def serious_violations(page) -> list[str]:
    results = Axe().run(page)
    return [
        f"{v['id']}: {v['help']} ({len(v['nodes'])})"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("width", [375, 1280])
def test_axe_finds_no_serious_violation_on_these_pages(signed_in_page, records, width):
    page = signed_in_page
    page.set_viewport_size({"width": width, "height": 900})
    found = {}
    for name, url in pages(records).items():
        page.goto(url)
        page.wait_for_load_state("load")
        found[name] = serious_violations(page)
    assert {name: v for name, v in found.items() if v} == {}
