"""Every page of the app at 375, 768 and 1280 px: no sideways scrolling and no serious or critical
axe-core violation (issue 11), with what stretches a page present: patient names of 80+ characters
and one long word, reader names of 100 characters, the "Readers differ" badge, four visits on one
fracture (tests/seeding_issue11.py). From 768 px on, no table hides columns in a box that scrolls
sideways either. A failure names the page, the width, the elements that reach past the window (or
the columns cut off) and the axe rule with the elements it names.

Efficient by design: the records are seeded once for the module (pytest-django would make each
test that uses the live server transactional, flushing them after every test: this module replaces
that helper), and each role signs in once per width, in one browser context per width and role.
The module flushes the database when it is done, as a transactional test would.
"""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core.management import call_command
from django.test.utils import override_settings

from tests.browser.conftest import ACTION_TIMEOUT_MS, NAVIGATION_TIMEOUT_MS
from tests.seeding_issue11 import PASSWORD, Seeded, seed

WIDTHS = (375, 768, 1280)
HEIGHT = 900

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
    "fracture page, readers differ, four visits": ("clinician", lambda s: s.disagreement.get_absolute_url()),
    "fracture page, treatment changed": ("clinician", lambda s: s.treatment_changed.get_absolute_url()),
    "archived fracture page": ("clinician", lambda s: s.archived_fracture.get_absolute_url()),
    "print page": ("clinician", lambda s: f"/assessments/{s.disagreement.pk}/print/"),
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
    "viewer: patient list": ("viewer", lambda s: "/patients/"),
    "viewer: patient page": ("viewer", lambda s: s.long_name.get_absolute_url()),
    "viewer: fracture page": ("viewer", lambda s: s.disagreement.get_absolute_url()),
    "viewer: print page": ("viewer", lambda s: f"/assessments/{s.disagreement.pk}/print/"),
    "viewer: visit history": ("viewer", lambda s: f"/visits/{s.visits['3m'].pk}/history/"),
    "viewer: worklist": ("viewer", lambda s: "/worklist/"),
    "viewer: calculator": ("viewer", lambda s: "/calculator/"),
    "viewer: cohort page": ("viewer", lambda s: "/cohort/"),
    "sign-in": (None, lambda s: "/accounts/login/"),
}

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
def morning(django_db_setup, django_db_blocker, live_server):
    """The seeded records, served by the live server for the whole module; the database flushed after."""
    from django.db import connection

    with django_db_blocker.unblock():
        # The test database, never the clinic's own (a test using `live_server` has it set up).
        in_memory = connection.vendor == "sqlite" and connection.is_in_memory_db()  # SQLite's test database
        assert in_memory or str(connection.settings_dict["NAME"]).startswith("test_")
        try:
            with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
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
    """A signed-in page for each (role, width), made when first asked for: one context each."""
    _, server = morning
    made: dict[tuple, object] = {}
    contexts = []

    def tab(role: str | None, width: int):
        if (role, width) in made:
            return made[role, width]
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
        made[role, width] = page
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


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", list(PAGES))
def test_no_page_scrolls_sideways_or_fails_axe(tabs, morning, name, width):
    seeded: Seeded = morning[0]
    role, url = PAGES[name]
    page = tabs(role, width)
    response = page.goto(url(seeded))
    assert response is not None and response.status == 200, (
        f"{name} at {width} px: {url(seeded)} answered {response and response.status}"
    )
    problems = []
    scroll_width, inner_width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    if scroll_width > inner_width:
        widest = page.evaluate(WIDEST_ELEMENTS)
        problems.append(f"scrolls sideways: {scroll_width} px wide in {inner_width}; {' / '.join(widest)}")
    if width >= TABLES_FIT_FROM_WIDTH:
        problems += [f"cut off: {box}" for box in page.evaluate(CUT_OFF_BOXES)]
    problems += serious_violations(page)
    assert not problems, f"{name} at {width} px ({url(seeded)}):\n" + "\n".join(problems)
