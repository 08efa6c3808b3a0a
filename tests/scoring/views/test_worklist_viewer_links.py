"""A viewer never sees a link, button or form that leads to a page they may not use (issue 11):
signed in as a viewer, walk the worklist, the patient list and the patient pages of seeded
records (active, archived, a fracture under every course), follow every link, and check every
form's target against the permissions its view requires (`view.required_permissions`)."""

import re
from html import unescape
from urllib.parse import urljoin, urlsplit

import pytest
from django.urls import resolve

from scoring import services
from tests.conftest import started

pytestmark = pytest.mark.django_db

START = ["/worklist/", "/worklist/?status=missed", "/patients/", "/patients/?archived=1"]
# Pages whose links are followed in turn; the rest (cohort, calculator, downloads) are opened only.
WALKED = ("/patients/", "/worklist/", "/assessments/", "/visits/")


@pytest.fixture
def seeded(make_patient, make_fracture, user):
    due = started(make_patient, make_fracture, "DUE", 45)  # overdue on the worklist
    started(make_patient, make_fracture, "MISSED", 301)  # on the Missed tab
    changed = started(make_patient, make_fracture, "CHANGED", 30)
    changed.treatment_changed_to, changed.treatment_changed_on = "kyphoplasty", changed.assessment_date
    changed.save()
    services.refresh_course(changed)
    started(make_patient, make_fracture, "SURGERY", 20, treatment="vertebroplasty")
    second = make_fracture(due.patient, level="L1")
    services.set_archived(record=second, archived=True, user=user, reason="Entered twice")
    gone = started(make_patient, make_fracture, "GONE", 30)
    services.set_archived(record=gone.patient, archived=True, user=user, reason="Registered twice")
    return due


def targets(page: str, base: str) -> tuple[set[str], set[str]]:
    """The internal links and the POST forms' targets of a page."""
    links = {unescape(href) for href in re.findall(r'<a [^>]*href="([^"#][^"]*)"', page)}
    forms = set()
    for form in re.findall(r"<form\b[^>]*>", page):
        if 'method="post"' in form.lower():
            action = re.search(r'action="([^"]*)"', form)
            forms.add(unescape(action.group(1)) if action else base)
    internal = {urljoin(base, link) for link in links if not link.startswith(("http", "mailto:", "/static/"))}
    return internal, {urljoin(base, action) for action in forms}


def walk(client, limit=120):
    """Every page reachable from START: {url: status}, and every POST target seen on them."""
    seen, posts, queue = {}, {}, list(START)
    while queue and len(seen) < limit:
        url = queue.pop(0)
        if url in seen:
            continue
        response = client.get(url, follow=True)  # the home page redirects to the patient list
        seen[url] = response.status_code
        if response.status_code != 200 or not urlsplit(url).path.startswith(WALKED):
            continue
        if "text/html" not in response.get("Content-Type", ""):
            continue
        links, forms = targets(response.content.decode(), url)
        queue += sorted(links - seen.keys())
        for action in forms:
            posts.setdefault(action, url)
    return seen, posts


def allowed(user, url: str) -> bool:
    permissions = getattr(resolve(urlsplit(url).path).func, "required_permissions", ())
    return user.has_perms(permissions)


def test_a_viewer_is_offered_nothing_they_may_not_use(client, make_user, seeded):
    viewer = make_user("reader", role="viewer")
    client.force_login(viewer)
    seen, posts = walk(client)
    refused = {url: status for url, status in seen.items() if status != 200}
    assert refused == {}
    assert {action: page for action, page in posts.items() if not allowed(viewer, action)} == {}
    # The walk did reach the records: the patient pages, the archived ones and the fracture pages.
    assert f"/patients/{seeded.patient.pk}/" in seen
    assert any(url.startswith("/assessments/") for url in seen)


def test_the_walk_finds_the_clinician_s_buttons(client, user, seeded):
    """The same walk as a clinician meets the writing pages: the walk would see them if shown."""
    client.force_login(user)
    seen, posts = walk(client)
    paths = set(seen) | set(posts)
    assert any(re.fullmatch(r"/assessments/\d+/visits/new/\?kind=1m", url) for url in paths)
    assert f"/patients/{seeded.patient.pk}/archive/" in paths
    assert f"/patients/{seeded.patient.pk}/edit/" in paths
    assert any(url.endswith("/assessments/new/") for url in paths)
