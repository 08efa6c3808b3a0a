"""The fracture page in Chromium at phone, tablet and desktop width (issue 11): long patient and
reader names and the "Readers differ" flag never widen the page, the visits table's Edit and
History stay on screen, and axe-core finds no serious or critical violation."""

import datetime
import re
from decimal import Decimal

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone
from playwright.sync_api import expect

from scoring import services
from scoring.models import Fracture, Patient, Visit

pytestmark = pytest.mark.django_db(transaction=True)

D = Decimal
WIDTHS = (375, 768, 1280)
# 100 characters each, the field's maximum: one with spaces, one a single long word.
LONG_READER = ("Dr Maximiliane Konstantina Alexandrou-Featherstonehaugh of the Department of Musculoskeletal " * 2)[
    :100
]
LONG_WORD_READER = ("Dr." + "Radiologist" * 10)[:100]
LONG_NAME = "Anna-Maria Konstantinopoulou-Vanderbilt-Featherstonehaugh de la Cruz y Montenegro-Wolfeschlegel"

assert len(LONG_READER) == 100 and len(LONG_WORD_READER) == 100


def readers(first_vhl, second_vhl, first_ka, second_ka, first=LONG_READER, second=LONG_WORD_READER):
    """A film's two readers, as the forms store them: each one's values and their mean."""
    return {
        "first_reader_name": first,
        "second_reader_name": second,
        "first_vhl_percent": D(first_vhl),
        "vhl_entered_percent": D(first_vhl),
        "second_vhl_percent": D(second_vhl),
        "second_vhl_entered_percent": D(second_vhl),
        "vhl_percent": (D(first_vhl) + D(second_vhl)) / 2,
        "first_kyphosis_angle_deg": D(first_ka),
        "second_kyphosis_angle_deg": D(second_ka),
        "kyphosis_angle_deg": (D(first_ka) + D(second_ka)) / 2,
    }


def four_visit_fracture(user, mrn="LAYOUT1", name=LONG_NAME, days_ago=200):
    """A fracture read by two readers who differ, with its 1-, 3- and 6-month visits and an
    unscheduled one, two of them read twice (one of those flagged), with notes and non-union."""
    patient = Patient.objects.create(
        mrn=mrn, name=name, sex="F", date_of_birth=datetime.date(1953, 6, 1), created_by=user, updated_by=user
    )
    start = timezone.localdate() - datetime.timedelta(days=days_ago)
    fracture = Fracture(
        patient=patient,
        assessment_date=start,
        treatment_start_date=start,
        level="T11",
        low_energy_trauma=True,
        fracture_type="compression",
        t2_signal="diffuse_low",
        bmd_t_score=D("-3.6"),
        treatment="conservative",
        of_class="OF3",
        vas_pain=D(8),
        odi_percent=D(62),
        created_by=user,
        updated_by=user,
        **readers("14.0", "21.0", "17.0", "22.2"),
    )
    fracture.rescore()
    fracture.save()
    for kind, day, fields in [
        (
            "1m",
            30,
            {
                "vas_pain": D(6),
                "odi_percent": D(48),
                "kyphosis_angle_deg": D("21.0"),
                "vhl_entered_percent": D("20.0"),
                "vhl_percent": D("20.0"),
            },
        ),
        ("3m", 90, {"vas_pain": D(4), "odi_percent": D(36), **readers("24.0", "25.0", "22.0", "23.0")}),
        (
            "6m",
            180,
            {
                "vas_pain": D(3),
                "odi_percent": D(30),
                "bone_union": "non_union",
                "vacuum_cleft_mri": True,
                "anterior_height_change": True,
                "notes": "Standing and supine films compared; " * 8,
                **readers("27.0", "33.1", "26.0", "33.0"),
            },
        ),
        ("unscheduled", 190, {"vas_pain": D(5), "notes": "Fall at home, no new fracture on the film."}),
    ]:
        Visit.objects.create(
            fracture=fracture,
            kind=kind,
            visit_date=start + datetime.timedelta(days=day),
            created_by=user,
            updated_by=user,
            **fields,
        )
    services.refresh_course(fracture)
    return fracture


def serious_violations(page):
    results = Axe().run(page)
    return [
        f"{v['id']}: {v['help']} ({len(v['nodes'])})"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def overflow(page) -> dict:
    """How far the page reaches past the window's right edge, and the visits table (any of its
    cells or links) past the edge of the column it sits in: 0 and 0 when all fits."""
    return page.evaluate(
        """() => {
            const table = document.querySelector('.visits-table');
            const edge = table.parentElement.getBoundingClientRect().right;
            const cells = [table, ...table.querySelectorAll('a, td, th')];
            return {
                page: document.documentElement.scrollWidth - window.innerWidth,
                table: Math.max(0, ...cells.map(el => Math.ceil(el.getBoundingClientRect().right - edge - 0.5))),
            };
        }"""
    )


@pytest.mark.parametrize("width", WIDTHS)
def test_the_fracture_page_never_scrolls_sideways_and_keeps_edit_and_history_on_screen(
    signed_in_page, django_user_model, width
):
    page = signed_in_page
    fracture = four_visit_fracture(django_user_model.objects.get())
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(fracture.get_absolute_url())
    expect(page.locator('tr[data-visit="unscheduled"]')).to_be_visible()
    assert overflow(page) == {"page": 0, "table": 0}
    # With the readers' flags and both readers' long names on the page.
    expect(page.get_by_test_id("readers").first).to_contain_text("Readers differ by more than 5 % or 5°")
    expect(page.locator('tr[data-readers="6m"]')).to_contain_text(LONG_WORD_READER)
    expect(page.locator('tr[data-readers="6m"]')).to_contain_text("Readers differ by more than 5 % or 5°")
    for kind in ("1m", "3m", "6m", "unscheduled"):
        row = page.locator(f'tr[data-visit="{kind}"]')
        for name in ("Edit", "History"):
            link = row.get_by_role("link", name=re.compile(f"^{name}"))
            expect(link).to_be_visible()
            box = link.bounding_box()
            assert 0 <= box["x"] and box["x"] + box["width"] <= width, (kind, name, box)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_print_report_never_scrolls_sideways_on_screen(signed_in_page, django_user_model, width):
    page = signed_in_page
    fracture = four_visit_fracture(django_user_model.objects.get())
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"/assessments/{fracture.pk}/print/")
    expect(page.get_by_test_id("score-total")).to_be_visible()
    assert overflow(page) == {"page": 0, "table": 0}


def test_axe_finds_no_serious_violation_on_the_fracture_page_and_the_report(signed_in_page, django_user_model):
    page = signed_in_page
    fracture = four_visit_fracture(django_user_model.objects.get())
    Fracture.objects.filter(pk=fracture.pk).update(rules_version="NASOVCF-2025")  # the rules note shown too
    found = {}
    for width in (375, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(fracture.get_absolute_url())
        expect(page.get_by_test_id("score-total")).to_be_visible()
        found[f"fracture page at {width}"] = serious_violations(page)
        page.goto(f"/assessments/{fracture.pk}/print/")
        expect(page.get_by_test_id("score-total")).to_be_visible()
        found[f"report at {width}"] = serious_violations(page)
    assert {name: v for name, v in found.items() if v} == {}


def test_record_visit_opens_the_six_month_visit_when_it_is_due(signed_in_page, django_user_model):
    """Assessed 190 days ago: the 1- and 3-month visits are missed, the 6-month visit is due."""
    page = signed_in_page
    user = django_user_model.objects.get()
    fracture = four_visit_fracture(user, days_ago=190)
    Visit.objects.filter(fracture=fracture).delete()
    services.refresh_course(fracture)
    page.goto(fracture.get_absolute_url())
    expect(page.locator('[data-testid="schedule"] [data-kind="1m"]')).to_contain_text("missed")
    page.get_by_role("link", name="Record 6-month visit").click()
    expect(page).to_have_url(re.compile(rf"/assessments/{fracture.pk}/visits/new/\?kind=6m$"))
    expect(page.locator("#id_kind")).to_have_value("6m")
