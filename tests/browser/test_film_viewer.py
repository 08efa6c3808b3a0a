"""The measuring viewer in a real browser (issue 15, points 2 and 3; spec §9): a reader clicks the
twelve corners drawn on a synthetic DICOM film (tests/films.py: spec §9's worked example scaled by 2
at 0.25 mm, so a = 10 mm, VHL 16.7 %, KA 0.0°), sees the server's values appear, nudges a point with
the keyboard, and "Use these values" fills the assessment's form. At the tablet's and the desktop's
width: no sideways scrolling and no serious or critical axe violation. The compare page draws both
readers' outlines with a legend and flags where they differ.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from scoring import services
from scoring.models import FilmReading
from tests.browser.test_every_page import WIDEST_ELEMENTS, serious_violations
from tests.films import WORKED_EXAMPLE_CORNERS, dicom_film

pytestmark = pytest.mark.django_db(transaction=True)

WIDTHS = (768, 1280)
HEIGHT = 900

# Image coordinates → the page's client coordinates, through the film's own transform (what a click
# on that pixel of the film is).
CLIENT_POINT = """
([x, y]) => {
  const svg = document.querySelector("[data-film-svg]");
  const point = new DOMPoint(x, y).matrixTransform(svg.getScreenCTM());
  return [point.x, point.y];
}
"""
CORNER_LIST = "JSON.parse(document.getElementById('film-viewer-config').textContent).corners"


@pytest.fixture
def film(make_patient, make_fracture, user, tmp_path):
    """A baseline film of the worked example (spacing 0.25 mm) on a saved assessment."""
    fracture = make_fracture(make_patient())
    source = tmp_path / "lateral.dcm"
    source.write_bytes(dicom_film())
    key, decoded = services.ingest_film(source=source, declared_name="lateral.dcm")
    return services.add_film(
        fracture_pk=fracture.pk,
        visit_pk=None,
        key=key,
        decoded=decoded,
        source="upload",
        original_name="lateral.dcm",
        mismatch_confirmed="",
        user=user,
    )


def worked_points(**moved) -> dict:
    """The drawn corners as spec §9 JSON; `moved` replaces some ("fractured.anterior_inferior": (x, y))."""
    points = {
        vertebra: {corner: list(xy) for corner, xy in corners.items()}
        for vertebra, corners in WORKED_EXAMPLE_CORNERS.items()
    }
    for key, xy in moved.items():
        vertebra, corner = key.split(".")
        points[vertebra][corner] = list(xy)
    return points


def click_on_film(page, xy) -> None:
    x, y = page.evaluate(CLIENT_POINT, list(xy))
    page.mouse.click(x, y)


def open_measuring(page, film, width: int, reader: int = 1):
    # Bootstrap scrolls smoothly unless motion is reduced: a scroll still gliding (to a field just
    # filled) would move the film under the next click.
    page.emulate_media(reduced_motion="reduce")
    page.set_viewport_size({"width": width, "height": HEIGHT})
    response = page.goto(f"/films/{film.pk}/measure/{reader}/")
    assert response is not None and response.status == 200
    page.locator("[data-film-svg]").scroll_into_view_if_needed()
    return page


def place_the_twelve_corners(page) -> None:
    """Clicks each drawn corner when the guide names it as the next one (the guided order)."""
    for corner in page.evaluate(CORNER_LIST):
        expect(page.locator("[data-next-corner]")).to_have_text(f"Next: {corner['label']}")
        click_on_film(page, WORKED_EXAMPLE_CORNERS[corner["vertebra"]][corner["corner"]])


def value(page, name: str):
    return page.locator(f'[data-result="{name}"]')


def no_sideways_scroll_nor_axe_problem(page) -> list[str]:
    problems = []
    scroll_width, inner_width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    if scroll_width > inner_width:
        problems.append(f"scrolls sideways: {scroll_width} px wide in {inner_width}; {page.evaluate(WIDEST_ELEMENTS)}")
    return problems + serious_violations(page)


@pytest.mark.parametrize("width", WIDTHS)
def test_twelve_clicks_give_the_worked_example_and_use_these_values_fills_the_form(signed_in_page, film, width):
    page = signed_in_page
    problems = []  # the strict CSP (no inline script or style) and the script itself run clean
    page.on(
        "console", lambda message: problems.append(message.text) if "Content Security Policy" in message.text else None
    )
    page.on("pageerror", lambda error: problems.append(str(error)))
    open_measuring(page, film, width)
    use = page.get_by_role("button", name="Use these values")
    expect(use).to_be_disabled()
    place_the_twelve_corners(page)

    # Spec §9's worked example, every number from POST /api/measure/.
    expect(value(page, "vhl")).to_have_text("16.7 %")
    expect(value(page, "kyphosis")).to_have_text("0.0°")
    expect(value(page, "fractured_anterior")).to_have_text("10.00 mm")
    expect(value(page, "fractured_posterior")).to_have_text("15.00 mm")
    expect(value(page, "genant")).to_have_text("Grade 2")
    expect(value(page, "genant-reductions")).to_contain_text("33.3 %")
    expect(use).to_be_enabled()
    assert page.locator("[data-film-overlay] polygon").count() == 3  # each vertebra's closed outline

    # The keyboard: pick a corner in the list, the arrow keys move it 1 px (0.25 mm) and back.
    page.get_by_role("button", name=re.compile(r"^Fractured vertebra · anterior inferior corner")).click()
    page.keyboard.press("ArrowDown")
    expect(value(page, "fractured_anterior")).to_have_text("10.25 mm")
    expect(value(page, "vhl")).to_have_text("15.8 %")
    page.keyboard.press("ArrowUp")
    expect(value(page, "fractured_anterior")).to_have_text("10.00 mm")
    expect(value(page, "vhl")).to_have_text("16.7 %")
    expect(use).to_be_enabled()

    assert no_sideways_scroll_nor_axe_problem(page) == []

    page.get_by_label("Reader (name)").fill("Dr Film")
    use.click()
    page.wait_for_url(re.compile(rf"/assessments/{film.fracture_id}/edit/"))
    for field, expected in [
        ("fractured_anterior_mm", "10.00"),
        ("fractured_posterior_mm", "15.00"),
        ("cranial_anterior_mm", "15.00"),
        ("cranial_posterior_mm", "15.00"),
        ("caudal_anterior_mm", "15.00"),
        ("caudal_posterior_mm", "15.00"),
    ]:
        expect(page.locator(f"#id_{field}")).to_have_value(expected)
    reading = FilmReading.objects.get(film=film, reader=1)
    assert reading.reader_name == "Dr Film"
    assert reading.points == worked_points()

    # Opened again, the saved points are shown and their values fetched.
    open_measuring(page, film, width)
    expect(page.locator("[data-film-overlay] .film-point")).to_have_count(12)
    expect(value(page, "vhl")).to_have_text("16.7 %")
    expect(page.get_by_role("button", name="Use these values")).to_be_enabled()
    assert problems == []


def test_corners_that_cross_are_refused_in_words_naming_the_vertebra(signed_in_page, film):
    page = open_measuring(signed_in_page, film, 1280)
    place_the_twelve_corners(page)
    expect(value(page, "vhl")).to_have_text("16.7 %")
    # Re-place the cranial anterior superior corner behind the posterior edge: the outline
    # AS → AI → PI → PS crosses itself (spec §9's plausibility), and the API says so.
    page.get_by_role("button", name=re.compile(r"^Cranial vertebra \(above\) · anterior superior corner")).click()
    click_on_film(page, (330, 200))
    errors = page.locator("[data-measure-errors] li")
    expect(errors).to_have_count(1)
    expect(errors.first).to_contain_text("Cranial vertebra (above): The cranial vertebra's outline")
    expect(errors.first).to_contain_text("crosses itself")
    expect(page.locator("[data-results]")).to_be_hidden()
    expect(page.get_by_role("button", name="Use these values")).to_be_disabled()
    # Put back where it was drawn, the values return.
    page.get_by_role("button", name=re.compile(r"^Cranial vertebra \(above\) · anterior superior corner")).click()
    click_on_film(page, WORKED_EXAMPLE_CORNERS["cranial"]["anterior_superior"])
    expect(value(page, "vhl")).to_have_text("16.7 %")
    expect(errors).to_have_count(0)


def test_without_a_mouse_a_corner_is_placed_and_nudged_from_the_keyboard(signed_in_page, film):
    page = open_measuring(signed_in_page, film, 1280)
    film_area = page.locator("[data-film-svg]")
    film_area.focus()
    page.keyboard.press("Enter")  # places the first corner at the centre cross (the film's centre)
    first = page.get_by_role("button", name=re.compile(r"^Cranial vertebra \(above\) · anterior superior corner"))
    expect(first).to_contain_text("placed at x 256, y 256")
    first.focus()
    page.keyboard.press("Enter")  # selects it
    expect(first).to_have_attribute("aria-pressed", "true")
    page.keyboard.press("Shift+ArrowLeft")
    page.keyboard.press("ArrowUp")
    expect(first).to_contain_text("placed at x 246, y 255")
    points = page.evaluate("JSON.parse(document.getElementById('id_points').value)")
    assert points == {"cranial": {"anterior_superior": [246, 255]}}

    # Zoom from the keyboard and back to the whole film: the view box (in film pixels) narrows.
    view_width = "Number(document.querySelector('[data-film-svg]').getAttribute('viewBox').split(' ')[2])"
    whole = page.evaluate(view_width)
    film_area.focus()
    page.keyboard.press("+")
    assert page.evaluate(view_width) == pytest.approx(whole / 1.25)
    page.get_by_role("button", name="Fit").click()
    assert page.evaluate(view_width) == pytest.approx(whole)


@pytest.mark.parametrize("width", WIDTHS)
def test_compare_shows_both_outlines_with_a_legend_and_flags_the_vhl(signed_in_page, film, make_user, width):
    first_reader, second_reader = make_user("reader.one"), make_user("reader.two")
    services.save_reading(
        film=film, reader=1, reader_name="Dr A", points=worked_points(), seen_version=None, user=first_reader
    )
    # The second reader puts the fractured anterior inferior corner 8 px (2 mm) higher: a = 8 mm,
    # VHL 23.3 % against 16.7 %: more than 5 % apart.
    x, y = WORKED_EXAMPLE_CORNERS["fractured"]["anterior_inferior"]
    moved = worked_points(**{"fractured.anterior_inferior": (x, y - 8)})
    services.save_reading(film=film, reader=2, reader_name="Dr B", points=moved, seen_version=None, user=second_reader)

    page = signed_in_page
    page.emulate_media(reduced_motion="reduce")
    page.set_viewport_size({"width": width, "height": HEIGHT})
    response = page.goto(f"/films/{film.pk}/compare/")
    assert response is not None and response.status == 200
    readings = page.locator("[data-film-overlay] .film-reading")
    expect(readings).to_have_count(2)
    assert readings.nth(0).locator("polygon").count() == 3
    assert readings.nth(1).locator("polygon").count() == 3
    assert [readings.nth(i).get_attribute("stroke") for i in range(2)] == ["#0d6efd", "#d63384"]
    legend = page.locator("[data-legend] li")
    expect(legend).to_have_text(["First reader (Dr A)", "Second reader (Dr B)"])
    vhl_row = page.locator('tr[data-row="VHL"]')
    expect(vhl_row).to_contain_text("Readers differ")
    expect(vhl_row).to_have_class(re.compile("reading-disagree"))
    # Nothing to place: a click on the film changes no outline and there is no form.
    page.locator("[data-film-svg]").scroll_into_view_if_needed()
    click_on_film(page, (20, 20))
    expect(page.locator("[data-film-overlay] .film-point")).to_have_count(0)
    expect(page.get_by_role("button", name="Use these values")).to_have_count(0)
    assert no_sideways_scroll_nor_axe_problem(page) == []


def test_a_placed_point_is_dragged_and_the_view_windowed_zoomed_and_panned(signed_in_page, film):
    """Issue 15, points 2 and 3: click, then drag to adjust; window/level, zoom and pan."""
    page = open_measuring(signed_in_page, film, 1280)
    place_the_twelve_corners(page)
    expect(value(page, "fractured_anterior")).to_have_text("10.00 mm")

    # Drag the fractured vertebra's anterior inferior corner 8 px (2 mm) down: a = 12 mm.
    x, y = WORKED_EXAMPLE_CORNERS["fractured"]["anterior_inferior"]
    start = page.evaluate(CLIENT_POINT, [x, y])
    end = page.evaluate(CLIENT_POINT, [x, y + 8])
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move((start[0] + end[0]) / 2, (start[1] + end[1]) / 2)
    page.mouse.move(*end)
    page.mouse.up()
    expect(value(page, "fractured_anterior")).to_have_text("12.00 mm")
    expect(value(page, "vhl")).to_have_text("10.0 %")

    # Window/level: a new centre and width ask the server for the film in that window.
    image = page.locator("[data-film-image]")
    page.locator('[data-window="center"]').fill("1000")
    page.locator('[data-window="width"]').fill("500")
    page.locator('[data-window="width"]').press("Enter")
    expect(image).to_have_attribute("href", re.compile(r"center=1000(\.0)?&width=500"))
    assert page.evaluate("img => img.getBBox().width", image.element_handle()) > 0

    # Zoom in with the wheel over the film, then drag the background to pan: the view box moves.
    svg = page.locator("[data-film-svg]")
    before = svg.get_attribute("viewBox")
    box = svg.bounding_box()
    page.mouse.move(box["x"] + 40, box["y"] + 40)  # a corner of the film, away from every point
    page.mouse.wheel(0, -400)
    expect(svg).not_to_have_attribute("viewBox", before)
    zoomed = svg.get_attribute("viewBox")
    page.mouse.move(box["x"] + 40, box["y"] + 40)
    page.mouse.down()
    page.mouse.move(box["x"] + 120, box["y"] + 100)
    page.mouse.up()
    expect(svg).not_to_have_attribute("viewBox", zoomed)
    expect(value(page, "fractured_anterior")).to_have_text("12.00 mm")  # panning moved no point
    page.get_by_role("button", name="Fit").click()
    expect(svg).to_have_attribute("viewBox", before)


def test_on_a_tablet_a_tap_places_the_next_corner(browser, live_server, film, django_user_model):
    """A touch screen (a ward tablet at 768 px): tapping the film places the corner the guide names."""
    from django.contrib.auth.models import Group, Permission

    from scoring.roles import ensure_roles
    from tests.browser.conftest import ACTION_TIMEOUT_MS, NAVIGATION_TIMEOUT_MS
    from tests.conftest import PASSWORD

    ensure_roles(Group, Permission)
    user = django_user_model.objects.create_user(username="dr.tablet", password=PASSWORD)
    user.groups.add(Group.objects.get(name="clinician"))
    context = browser.new_context(
        base_url=live_server.url, has_touch=True, is_mobile=True, viewport={"width": 768, "height": 1024}
    )
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
    page = context.new_page()
    try:
        page.goto("/accounts/login/")
        page.get_by_label("Username").fill("dr.tablet")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/patients/")
        page.emulate_media(reduced_motion="reduce")
        page.goto(f"/films/{film.pk}/measure/1/")
        page.locator("[data-film-svg]").scroll_into_view_if_needed()
        expect(page.locator("[data-next-corner]")).to_contain_text("Cranial vertebra (above) · anterior superior")
        x, y = page.evaluate(CLIENT_POINT, list(WORKED_EXAMPLE_CORNERS["cranial"]["anterior_superior"]))
        page.touchscreen.tap(x, y)
        expect(page.locator("[data-next-corner]")).to_contain_text("Cranial vertebra (above) · anterior inferior")
        placed = page.evaluate("JSON.parse(document.getElementById('id_points').value || '{}')")
        assert placed["cranial"]["anterior_superior"] == pytest.approx(
            list(WORKED_EXAMPLE_CORNERS["cranial"]["anterior_superior"]), abs=1
        )
    finally:
        context.close()
