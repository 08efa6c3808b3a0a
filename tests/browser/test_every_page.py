"""Every page of the app at 375, 768 and 1280 px: no sideways scrolling and no serious or critical
axe-core violation (issue 11), with what stretches a page present: patient names of 80+ characters
and one long word, reader names of 100 characters, the "Readers differ" badge, four visits on one
fracture, the lateral films of issue 15 with two readers who disagree (tests/seeding_issue11.py).
From 768 px on, no table hides columns in a box that scrolls
sideways either. A failure names the page, the width, the elements that reach past the window (or
the columns cut off) and the axe rule with the elements it names.

Efficient by design: the records are seeded once for the module (pytest-django would make each
test that uses the live server transactional, flushing them after every test: this module replaces
that helper), and each role signs in once per width, in one browser context per width and role.
The module flushes the database when it is done, as a transactional test would. The films live in
a directory of the module's own (each test would otherwise get a new, empty FILMS_DIR from
tests/conftest.py). The PACS pages point DICOMWEB_URL at a closed loopback port (the PACS's error
message) or at the test Orthanc (tests/orthanc.py) holding the patient's study (the list of films).

NASOVCF_SCREENSHOTS=/some/dir saves each page's full-page screenshot there, to look at.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.conf import settings as django_settings
from django.core.management import call_command
from django.test.utils import override_settings

from tests.browser.conftest import ACTION_TIMEOUT_MS, NAVIGATION_TIMEOUT_MS
from tests.films import dicom_film
from tests.orthanc import empty_orthanc, free_port, orthanc  # noqa: F401 (fixtures)
from tests.seeding_issue11 import LONG_MRN, PASSWORD, Seeded, seed

WIDTHS = (375, 768, 1280)
HEIGHT = 900
# Every page in English at each width, and in Chinese at the tablet's (issue 16: no page scrolls
# sideways in Chinese at 768 px, axe stays clean).
LOOKS = [(width, "en-gb") for width in WIDTHS] + [(768, "zh-hans")]

# (page, role, its URL from the seeded records). The clinician sees every page; the viewer the
# read-only pages, which show them without the edit buttons.
PAGES = {
    "patient list": ("clinician", lambda s: "/patients/"),
    "patient search": ("clinician", lambda s: "/patients/?q=maria"),
    "patient page, long name": ("clinician", lambda s: s.long_name.get_absolute_url()),
    "patient page, long word": ("clinician", lambda s: s.long_word.get_absolute_url()),
    "archived patient page": ("clinician", lambda s: s.archived_patient.get_absolute_url()),
    "registration form": ("clinician", lambda s: "/patients/new/"),
    "patient edit form": ("clinician", lambda s: f"/patients/{s.long_word.pk}/edit/"),
    "assessment form, new": ("clinician", lambda s: f"/patients/{s.long_word.pk}/assessments/new/"),
    "assessment form, two readers": ("clinician", lambda s: f"/assessments/{s.disagreement.pk}/edit/"),
    "fracture page, readers differ, four visits, films": ("clinician", lambda s: s.disagreement.get_absolute_url()),
    "fracture page, treatment changed": ("clinician", lambda s: s.treatment_changed.get_absolute_url()),
    "archived fracture page": ("clinician", lambda s: s.archived_fracture.get_absolute_url()),
    "print page, films": ("clinician", lambda s: f"/assessments/{s.disagreement.pk}/print/"),
    "visit form, new": ("clinician", lambda s: f"/assessments/{s.overdue.pk}/visits/new/"),
    "visit form, two readers": ("clinician", lambda s: f"/visits/{s.visits['3m'].pk}/edit/"),
    "treatment change": ("clinician", lambda s: f"/assessments/{s.overdue.pk}/treatment-change/"),
    "patient history": ("clinician", lambda s: f"/patients/{s.long_name.pk}/history/"),
    "fracture history": ("clinician", lambda s: f"/assessments/{s.disagreement.pk}/history/"),
    "visit history": ("clinician", lambda s: f"/visits/{s.visits['6m'].pk}/history/"),
    "worklist": ("clinician", lambda s: "/worklist/"),
    "worklist, overdue": ("clinician", lambda s: "/worklist/?status=overdue"),
    "worklist, due now or this week": ("clinician", lambda s: "/worklist/?status=due_soon"),
    "worklist, upcoming": ("clinician", lambda s: "/worklist/?status=upcoming"),
    "worklist, missed": ("clinician", lambda s: "/worklist/?status=missed"),
    "calculator": ("clinician", lambda s: "/calculator/"),
    "cohort page": ("clinician", lambda s: "/cohort/"),
    "import page": ("clinician", lambda s: "/cohort/import/"),
    "import preview, differences": ("clinician", lambda s: s.imports["checked"].get_absolute_url()),
    "import preview, problems": ("clinician", lambda s: s.imports["refused"].get_absolute_url()),
    "import under way": ("clinician", lambda s: s.imports["importing"].get_absolute_url()),
    "password change": ("clinician", lambda s: "/accounts/password/"),
    "archive confirmation, patient": ("clinician", lambda s: f"/patients/{s.long_name.pk}/archive/"),
    "archive confirmation, assessment": ("clinician", lambda s: f"/assessments/{s.disagreement.pk}/archive/"),
    "restore confirmation, patient": ("clinician", lambda s: f"/patients/{s.archived_patient.pk}/archive/"),
    "film page, two readers": ("clinician", lambda s: s.films["baseline"].get_absolute_url()),
    "film page, visit film, one reader": ("clinician", lambda s: s.films["visit"].get_absolute_url()),
    "film page, another patient's DICOM kept": ("clinician", lambda s: s.films["mismatch"].get_absolute_url()),
    "film add page": ("clinician", lambda s: f"/assessments/{s.disagreement.pk}/films/new/"),
    "film add page, visit, PACS configured": (
        "clinician",
        lambda s: f"/assessments/{s.disagreement.pk}/films/new/?visit={s.visits['1m'].pk}",
    ),
    "measuring page, first reader's points": ("clinician", lambda s: f"/films/{s.films['baseline'].pk}/measure/1/"),
    "measuring page, second reader, no points": ("clinician", lambda s: f"/films/{s.films['visit'].pk}/measure/2/"),
    "compare page": ("clinician", lambda s: f"/films/{s.films['baseline'].pk}/compare/"),
    "PACS page, PACS unreachable": ("clinician", lambda s: f"/assessments/{s.disagreement.pk}/films/pacs/"),
    "PACS page, the patient's studies": (
        "clinician",
        lambda s: f"/assessments/{s.disagreement.pk}/films/pacs/?visit={s.visits['1m'].pk}",
    ),
    "viewer: patient list": ("viewer", lambda s: "/patients/"),
    "viewer: patient page": ("viewer", lambda s: s.long_name.get_absolute_url()),
    "viewer: fracture page": ("viewer", lambda s: s.disagreement.get_absolute_url()),
    "viewer: print page": ("viewer", lambda s: f"/assessments/{s.disagreement.pk}/print/"),
    "viewer: visit history": ("viewer", lambda s: f"/visits/{s.visits['3m'].pk}/history/"),
    "viewer: worklist": ("viewer", lambda s: "/worklist/"),
    "viewer: calculator": ("viewer", lambda s: "/calculator/"),
    "viewer: cohort page": ("viewer", lambda s: "/cohort/"),
    "viewer: film page": ("viewer", lambda s: s.films["baseline"].get_absolute_url()),
    "viewer: compare page": ("viewer", lambda s: f"/films/{s.films['baseline'].pk}/compare/"),
    "sign-in": (None, lambda s: "/accounts/login/"),
}

# The pages that need a PACS: "closed" points DICOMWEB_URL at a loopback port nothing listens on
# (the page shows the PACS's error in words), "orthanc" at the test Orthanc holding the patient's film.
PACS = {
    "film add page, visit, PACS configured": "closed",
    "PACS page, PACS unreachable": "closed",
    "PACS page, the patient's studies": "orthanc",
}
# The film viewer's pages are checked once the film has loaded (its status line empties) and, with
# saved points, once the server's values are shown.
FILM_LOADED = """() => {
  const status = document.querySelector("[data-image-status]");
  return !status || status.textContent === "";
}"""
READY = {"measuring page, first reader's points": "[data-results]:not([hidden])"}

# What makes a page wider than the window: the elements whose right edge passes the viewport's and
# that no scrolling box clips (a table inside .table-responsive scrolls on its own: allowed). A box
# clips an element when it is on the element's chain of containing blocks: an absolutely positioned
# element (Bootstrap's .visually-hidden text) escapes a scrolling box that is not positioned, and
# stretches the page. Named: the outermost such elements, then the innermost, furthest first.
WIDEST_ELEMENTS = """
() => {
  const width = window.innerWidth;
  const root = document.documentElement;
  const containingBox = (element) => {
    const position = getComputedStyle(element).position;
    let box = element.parentElement;
    if (position === "absolute") {
      while (box && box !== root && getComputedStyle(box).position === "static") box = box.parentElement;
    }
    return box;
  };
  const clipped = (element) => {
    if (getComputedStyle(element).position === "fixed") return true;  // never scrolls the page
    for (let box = containingBox(element); box && box !== root && box !== document.body; box = containingBox(box)) {
      if (getComputedStyle(box).overflowX !== "visible") return true;
      if (getComputedStyle(box).position === "fixed") return true;
    }
    return false;
  };
  // Each element's right edge, or that of its own text when the text overflows it (a long word).
  const right = new Map();
  for (const element of document.body.querySelectorAll("*")) {
    const rect = element.getBoundingClientRect();
    if (rect.width || rect.height) right.set(element, rect.right);
  }
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  for (let text = walker.nextNode(); text; text = walker.nextNode()) {
    range.selectNodeContents(text);
    const edge = range.getBoundingClientRect().right;
    const parent = text.parentElement;
    if (!parent || getComputedStyle(parent).overflowX !== "visible") continue;  // it clips its own text
    if (edge > (right.get(parent) ?? -Infinity)) right.set(parent, edge);
  }
  const reaching = [...right.keys()].filter((element) => right.get(element) > width + 0.5 && !clipped(element));
  const describe = (element) => {
    let name = element.tagName.toLowerCase();
    if (element.id) name += "#" + element.id;
    for (const cls of element.classList) name += "." + cls;
    for (const attr of ["data-testid", "data-visit", "data-row"]) {
      if (element.hasAttribute(attr)) name += `[${attr}="${element.getAttribute(attr)}"]`;
    }
    const text = (element.innerText || element.value || element.textContent || "").trim().replace(/\\s+/g, " ").slice(0, 50);
    return `${name} "${text}" (right edge ${Math.round(right.get(element))} px)`;
  };
  const furthest = (a, b) => right.get(b) - right.get(a);
  const outermost = reaching.filter((element) => !reaching.some((other) => other !== element && other.contains(element)));
  const innermost = reaching.filter((element) => !reaching.some((other) => other !== element && element.contains(other)));
  return [
    "outermost: " + outermost.sort(furthest).slice(0, 3).map(describe).join("; "),
    "innermost: " + innermost.sort(furthest).slice(0, 3).map(describe).join("; "),
  ];
}
"""


# From the tablet's width on, a table must not hide columns in a box that scrolls sideways (the
# issue's visits table with Edit and History off screen at 768 px): each such box, and what it hides.
TABLES_FIT_FROM_WIDTH = 768
CUT_OFF_BOXES = """
() => [...document.body.querySelectorAll("*")]
  .filter((box) => ["auto", "scroll"].includes(getComputedStyle(box).overflowX) && box.clientWidth > 0
    && box.scrollWidth > box.clientWidth + 1)
  .map((box) => {
    const edge = box.getBoundingClientRect().right;
    const hidden = [...box.querySelectorAll("th, td")]
      .filter((cell) => cell.getBoundingClientRect().right > edge + 1)
      .map((cell) => (cell.innerText || cell.textContent).trim().replace(/\\s+/g, " ").slice(0, 20))
      .filter((text, i, all) => text && all.indexOf(text) === i)
      .slice(0, 6);
    let name = box.tagName.toLowerCase();
    for (const cls of box.classList) name += "." + cls;
    const table = box.querySelector("table");
    if (table) for (const cls of table.classList) if (!cls.startsWith("table") && !cls.startsWith("align")) name += " > table." + cls;
    return `${name} is ${box.scrollWidth} px wide in ${box.clientWidth}: off screen ${JSON.stringify(hidden)}`;
  })
"""


@pytest.fixture(autouse=True)
def _live_server_helper():
    """In place of pytest-django's own (same name): it makes every test that uses the live server
    transactional, flushing the database after it, and this module's records are seeded once for
    all its tests. `morning` does the rest of its work (the live server's allowed host) instead."""
    return


@pytest.fixture(scope="module")
def films_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("every-page-films")


@pytest.fixture(autouse=True)
def _films_of_the_morning(_test_settings, settings, films_dir):
    """The seeded films' directory for every test (after tests/conftest.py gave each its own)."""
    settings.FILMS_DIR = films_dir


@pytest.fixture(scope="module")
def morning(django_db_setup, django_db_blocker, live_server, films_dir):
    """The seeded records, served by the live server for the whole module; the database flushed after."""
    from django.db import connection

    with django_db_blocker.unblock():
        # The test database, never the clinic's own (a test using `live_server` has it set up).
        in_memory = connection.vendor == "sqlite" and connection.is_in_memory_db()  # SQLite's test database
        assert in_memory or str(connection.settings_dict["NAME"]).startswith("test_")
        try:
            with override_settings(
                PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"], FILMS_DIR=films_dir
            ):
                seeded = seed()
            live_server._live_server_modified_settings.enable()  # its host in ALLOWED_HOSTS
            try:
                yield seeded, live_server
            finally:
                live_server._live_server_modified_settings.disable()
        finally:
            call_command("flush", verbosity=0, interactive=False)


@pytest.fixture(scope="module")
def tabs(browser, morning):
    """A signed-in page for each (role, width, language), made when first asked for: one context
    each. The role signs in in English; the language cookie then sets the pages' language."""
    _, server = morning
    made: dict[tuple, object] = {}
    contexts = []

    def tab(role: str | None, width: int, language: str = "en-gb"):
        if (role, width, language) in made:
            return made[role, width, language]
        context = browser.new_context(base_url=server.url, viewport={"width": width, "height": HEIGHT})
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        if role is not None:
            page.goto("/accounts/login/")
            page.get_by_label("Username").fill({"clinician": "dr.morning", "viewer": "viewer.morning"}[role])
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url("**/patients/")
        context.add_cookies([{"name": django_settings.LANGUAGE_COOKIE_NAME, "value": language, "url": server.url}])
        made[role, width, language] = page
        return page

    yield tab
    for context in contexts:
        context.close()


def serious_violations(page) -> list[str]:
    """axe-core's serious and critical violations, each with the elements it names."""
    violations = Axe().run(page).response["violations"]
    return [
        f"axe {v['id']} ({v['impact']}): {v['help']} at {', '.join(str(n['target']) for n in v['nodes'][:3])}"
        + (f" and {len(v['nodes']) - 3} more" if len(v["nodes"]) > 3 else "")
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]


def problems_of(page, width: int) -> list[str]:
    """What is wrong with the page as shown: sideways scrolling, columns cut off (from the tablet's
    width), serious or critical axe violations."""
    problems = []
    scroll_width, inner_width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    if scroll_width > inner_width:
        widest = page.evaluate(WIDEST_ELEMENTS)
        problems.append(f"scrolls sideways: {scroll_width} px wide in {inner_width}; {' / '.join(widest)}")
    if width >= TABLES_FIT_FROM_WIDTH:
        problems += [f"cut off: {box}" for box in page.evaluate(CUT_OFF_BOXES)]
    return problems + serious_violations(page)


def screenshot(page, name: str, width: int) -> None:
    """With NASOVCF_SCREENSHOTS set, the whole page as a PNG there, to look at."""
    directory = os.environ.get("NASOVCF_SCREENSHOTS")
    if directory:
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        page.screenshot(path=str(Path(directory) / f"{slug}-{width}.png"), full_page=True)


def use_pacs(request, settings, seeded: Seeded, how: str) -> None:
    """DICOMWEB_URL at a closed loopback port, or at the test Orthanc holding the patient's film."""
    if how == "closed":
        settings.DICOMWEB_URL = f"http://127.0.0.1:{free_port()}/dicom-web"
        return
    pacs = request.getfixturevalue("empty_orthanc")
    settings.DICOMWEB_URL, settings.DICOMWEB_USER, settings.DICOMWEB_PASSWORD = pacs.url, pacs.user, pacs.password
    for _ in range(2):  # two lateral views in the study: two rows to choose from
        pacs.store(dicom_film(patient_id=LONG_MRN, patient_name="Cruz^Maria", study_uid="1.2.826.0.1.3680043.8.498.1"))


@pytest.mark.parametrize(("width", "language"), LOOKS)
@pytest.mark.parametrize("name", list(PAGES))
def test_no_page_scrolls_sideways_or_fails_axe(tabs, morning, request, settings, name, width, language):
    seeded: Seeded = morning[0]
    role, url = PAGES[name]
    if name in PACS:
        use_pacs(request, settings, seeded, PACS[name])
    page = tabs(role, width, language)
    response = page.goto(url(seeded))
    assert response is not None and response.status == 200, (
        f"{name} at {width} px: {url(seeded)} answered {response and response.status}"
    )
    assert page.locator("html").get_attribute("lang") == language, f"{name} at {width} px: not in {language}"
    page.wait_for_function(FILM_LOADED)
    if name in READY:
        page.locator(READY[name]).wait_for()
    screenshot(page, name if language == "en-gb" else f"{name} {language}", width)
    problems = problems_of(page, width)
    assert not problems, f"{name} at {width} px in {language} ({url(seeded)}):\n" + "\n".join(problems)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_film_mismatch_confirmation_fits(tabs, morning, width):
    """The confirmation a DICOM of another patient asks for answers the upload's POST (no URL of its
    own): reached by uploading such a file on the film add page."""
    seeded: Seeded = morning[0]
    page = tabs("clinician", width)
    page.goto(f"/assessments/{seeded.disagreement.pk}/films/new/")
    other = dicom_film(patient_id="SOMEONE-ELSE-0000000000000000000001", patient_name="Else^Someone")
    page.locator("input[type=file]").set_input_files(
        files=[{"name": "lateral.dcm", "mimeType": "application/dicom", "buffer": other}]
    )
    # The upload decodes the file in a child process before answering: on a loaded machine that is
    # a slow navigation, so it gets the navigation's timeout, not an action's.
    with page.expect_navigation(timeout=NAVIGATION_TIMEOUT_MS):
        page.get_by_role("button", name="Upload").click()
    assert page.get_by_test_id("film-mismatch").count() == 1, page.locator("main").inner_text()
    screenshot(page, "film mismatch confirmation", width)
    problems = problems_of(page, width)
    assert not problems, f"film mismatch confirmation at {width} px:\n" + "\n".join(problems)
