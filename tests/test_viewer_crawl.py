"""A viewer never meets a link, button or form that leads to a page they may not use (issue 11).

A viewer (the read-only role, scoring/roles.py) starts at the home page and the records a clinic
morning leaves (tests/seeding_issue11.py), opens every page reachable from there, and on each page
reads every same-site `<a href>`, `<img src>` (a film's thumbnail is patient data behind a view),
`<form action>` and button `formaction`. Each target's view must
need no permission the viewer lacks (`view.required_permissions`, set by scoring.views.base.requires),
and every link must open (no 403, no 404, no 500).

At the top of tests/ on purpose, beside test_security.py: it guards every page at once. Bounded:
each URL pattern (with its status/archived/format filter) is opened at most VISITS_PER_PATTERN times
and pagination beyond page 2 is not followed; the permission check still covers every link seen.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urljoin, urlsplit

import pytest
from django.conf import settings
from django.test import Client
from django.urls import Resolver404, resolve

from tests.seeding_issue11 import seed

pytestmark = pytest.mark.django_db

VISITS_PER_PATTERN = 3
# Query parameters that make a different page of the same view (a worklist tab, the archived
# patients, an export's format): each value is a pattern of its own.
MODE_PARAMETERS = {"status", "archived", "format", "kind"}
# Views without `requires` that every signed-in user may use: sign-in and out, the password change,
# the session keep-alive, the health check, and the home page's redirect.
ANY_SIGNED_IN_USER = {
    "home",
    "login",
    "logout",
    "password_change",
    "password_change_done",
    "keepalive",
    "healthz",
    "set_language",
}
# Views guarded by Django's own decorator rather than `requires` (the JSON API; the measuring page
# calls POST /api/measure/ for its live values).
GUARDED_OTHERWISE = {"api_score": ("scoring.view_fracture",), "api_measure": ("scoring.view_fracture",)}


@dataclass(frozen=True)
class Target:
    """A place a page sends its reader: a link, or a form's (or a button's) submission."""

    kind: str  # "link", "image", "GET form", "POST form"
    url: str


class Targets(HTMLParser):
    """The same-site links and form targets of a page, resolved against its URL."""

    def __init__(self, page_url: str):
        super().__init__(convert_charrefs=True)
        self.page_url = page_url
        self.found: list[Target] = []
        self._form_method = "get"

    def _add(self, kind: str, href: str | None) -> None:
        url = urljoin(self.page_url, href or "")  # a form without an action posts to its own page
        parts = urlsplit(url)
        if parts.scheme not in ("", "http", "https") or parts.netloc not in ("", "testserver"):
            return
        if parts.path.startswith("/" + settings.STATIC_URL.lstrip("/")):
            return
        self.found.append(Target(kind, parts.path + (f"?{parts.query}" if parts.query else "")))

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href") is not None:
            if not attrs["href"].startswith("#"):
                self._add("link", attrs["href"])
        elif tag == "img" and attrs.get("src"):
            self._add("image", attrs["src"])
        elif tag == "form":
            self._form_method = (attrs.get("method") or "get").lower()
            self._add(f"{self._form_method.upper()} form", attrs.get("action"))
        elif tag in ("button", "input") and attrs.get("formaction") is not None:
            method = (attrs.get("formmethod") or self._form_method).lower()
            self._add(f"{method.upper()} form", attrs["formaction"])


def permissions_needed(view_name: str, func) -> tuple[str, ...] | None:
    """The permissions a view needs, or None when it declares none we can read (the admin, or a
    view that forgot `requires`): either way not a place to send a viewer."""
    declared = getattr(func, "required_permissions", None)
    if declared is not None:
        return tuple(declared)
    if view_name in ANY_SIGNED_IN_USER:
        return ()
    return GUARDED_OTHERWISE.get(view_name)


def pattern_key(match, url: str) -> tuple:
    query = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    return (match.view_name, tuple(sorted((k, v if k in MODE_PARAMETERS else "") for k, v in query)))


def beyond_page_two(url: str) -> bool:
    page = dict(parse_qsl(urlsplit(url).query)).get("page", "1")
    return not page.isdigit() or int(page) > 2


class Crawl:
    """The viewer's walk: what was opened, and every wrong turn with the page it was found on."""

    def __init__(self, client: Client, user):
        self.client = client
        self.user = user
        self.opened: dict[str, int] = {}  # url → status
        self.opened_views: set[str] = set()
        self.per_pattern: dict[tuple, int] = {}
        self.wrong_turns: dict[tuple, str] = {}  # (found on, kind, target view) → the first example
        self.queue: deque[tuple[str, str]] = deque()
        self.queued: set[str] = set()

    def _wrong_turn(self, found_on: str, target: Target, view_name: str, why: str) -> None:
        key = (
            resolve(urlsplit(found_on).path).view_name if found_on.startswith("/") else found_on,
            target.kind,
            view_name,
        )
        self.wrong_turns.setdefault(key, f"{found_on}: {target.kind} {target.url} ({view_name}) {why}")

    def check(self, found_on: str, target: Target) -> bool:
        """Whether the viewer may use the target; a wrong turn is recorded when not."""
        path = urlsplit(target.url).path
        try:
            match = resolve(path)
        except Resolver404:
            self._wrong_turn(found_on, target, "?", "leads to no page")
            return False
        needed = permissions_needed(match.view_name, match.func)
        if needed is None:
            self._wrong_turn(found_on, target, match.view_name, "declares no permission a viewer has")
            return False
        missing = [perm for perm in needed if not self.user.has_perm(perm)]
        if missing:
            self._wrong_turn(found_on, target, match.view_name, f"needs {', '.join(missing)}")
            return False
        return True

    def enqueue(self, url: str, found_on: str, *, forced: bool = False) -> None:
        if url in self.queued or beyond_page_two(url):
            return
        key = pattern_key(resolve(urlsplit(url).path), url)
        if not forced and self.per_pattern.get(key, 0) >= VISITS_PER_PATTERN:
            return
        self.per_pattern[key] = self.per_pattern.get(key, 0) + 1
        self.queued.add(url)
        self.queue.append((url, found_on))

    def open(self, url: str, found_on: str) -> None:
        response = self.client.get(url)
        self.opened[url] = response.status_code
        self.opened_views.add(resolve(urlsplit(url).path).view_name)
        if response.status_code >= 400:
            self.wrong_turns.setdefault(("status", url), f"{found_on}: link {url} answered {response.status_code}")
            return
        if response.status_code in (301, 302, 303, 307, 308):
            target = Target(
                "redirect", urlsplit(urljoin(url, response["Location"]))._replace(scheme="", netloc="").geturl()
            )
            if self.check(url, target):
                self.enqueue(target.url, url)
            return
        if not response.get("Content-Type", "").startswith("text/html"):
            return  # an export or the data dictionary: opened once, nothing to follow
        parser = Targets(url)
        parser.feed(response.content.decode())
        for target in parser.found:
            if self.check(url, target) and target.kind in ("link", "image", "GET form"):
                self.enqueue(target.url.split("?")[0] if target.kind == "GET form" else target.url, url)

    def run(self, start: list[tuple[str, str]]) -> None:
        for url, found_on in start:
            self.enqueue(url, found_on, forced=True)
        while self.queue:
            self.open(*self.queue.popleft())


@pytest.fixture
def seeded(db):
    return seed(extra_patients=24)  # 30 active patients: the list has a second page


def test_a_viewer_meets_no_link_button_or_form_they_may_not_use(seeded):
    client = Client(raise_request_exception=False)  # a 500 is a wrong turn to list, not a crash
    client.force_login(seeded.viewer)
    start = [("/", "home")]
    start += [(patient.get_absolute_url(), "seeded record") for patient in seeded.patients()]
    for fracture in seeded.fractures():
        start += [
            (fracture.get_absolute_url(), "seeded record"),
            (f"/assessments/{fracture.pk}/print/", "seeded record"),
        ]
        start += [(f"/assessments/{fracture.pk}/history/", "seeded record")]
    start += [(f"/patients/{patient.pk}/history/", "seeded record") for patient in seeded.patients()]
    start += [(f"/visits/{visit.pk}/history/", "seeded record") for visit in seeded.visits.values()]
    start += [
        (f"/worklist/?status={status}", "seeded record") for status in ("overdue", "due_soon", "upcoming", "missed")
    ]
    start += [("/patients/?archived=1", "seeded record")]
    # The films (issue 15): each film's page, and the two readers compared.
    start += [(film.get_absolute_url(), "seeded record") for film in seeded.films.values()]
    start += [(f"/films/{seeded.films['baseline'].pk}/compare/", "seeded record")]

    crawl = Crawl(client, seeded.viewer)
    crawl.run(start)

    # The walk reached the app's read-only pages (else an empty walk would pass).
    assert {
        "scoring:patient_list",
        "scoring:patient_detail",
        "scoring:fracture_detail",
        "scoring:fracture_print",
        "scoring:patient_history",
        "scoring:fracture_history",
        "scoring:visit_history",
        "scoring:worklist",
        "scoring:calculator",
        "cohort:cohort",
        "scoring:film_detail",
        "scoring:film_compare",
        "scoring:film_thumbnail",
    } <= crawl.opened_views
    assert len(crawl.opened) >= 30
    # Nothing of the films' writing reached: no measuring page, no adding, no removing.
    assert not {"scoring:film_measure", "scoring:film_add", "scoring:film_remove"} & crawl.opened_views
    wrong_turns = sorted(crawl.wrong_turns.values())
    assert not wrong_turns, "A viewer meets links they may not use:\n" + "\n".join(wrong_turns)


def test_the_crawl_catches_a_write_link_on_a_page_a_viewer_reads(seeded):
    """The guard itself: walked with a clinician's session (the pages show their Record, Edit and
    New buttons) but judged by the viewer's permissions, it names each such link and its page."""
    client = Client(raise_request_exception=False)
    client.force_login(seeded.clinician)
    crawl = Crawl(client, seeded.viewer)
    crawl.run([("/", "home"), (seeded.disagreement.get_absolute_url(), "seeded record")])
    assert {
        ("scoring:worklist", "link", "scoring:visit_create"),  # Record
        ("scoring:patient_list", "link", "scoring:patient_create"),  # New patient
        ("scoring:fracture_detail", "link", "scoring:visit_edit"),  # a visit's Edit
        ("scoring:fracture_detail", "link", "scoring:film_add"),  # Add the lateral film
        ("scoring:film_detail", "link", "scoring:film_measure"),  # Measure again
        ("scoring:film_detail", "POST form", "scoring:film_remove"),  # Remove the film
    } <= set(crawl.wrong_turns)
    example = crawl.wrong_turns[("scoring:worklist", "link", "scoring:visit_create")]
    assert example.startswith("/worklist/") and "needs scoring.add_visit" in example
