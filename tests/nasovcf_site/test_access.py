"""Every URL refuses a signed-out visitor except the few public ones, found by walking the URL conf
so that a new page cannot forget it.

Beside nasovcf_site/ because it guards the root URL conf and the sign-in middleware, for every app.
"""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

# The language switch is public: the sign-in page offers it too (issue 16).
PUBLIC = {"login", "logout", "set_language", "healthz", "favicon", "admin:login", "admin:logout"}
# A record named by a UUID (an import of past patients): tests/test_security.py makes one with it.
EXAMPLE_UUID = "00000000-0000-4000-8000-000000000001"
# A URL part that is one of a few words: the first of them.
EXAMPLE_WORDS = {"file_format": "csv", "name": "rates"}

pytestmark = pytest.mark.django_db


def _example(pattern) -> str:
    text = str(pattern.pattern)
    if hasattr(pattern.pattern, "_route"):
        return re.sub(r"<(?:(\w+):)?(\w+)>", _part, text)
    text = re.sub(r"\(\?P<\w+>[^)]*\)", "scoring", text)
    return text.lstrip("^").rstrip("$").replace("\\Z", "")


def _part(match) -> str:
    converter, name = match.group(1), match.group(2)
    if converter == "int":
        return "1"
    if converter == "uuid":
        return EXAMPLE_UUID
    return EXAMPLE_WORDS.get(name, "scoring")


def walk(patterns=None, prefix="/", namespace=""):
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from walk(pattern.url_patterns, prefix + _example(pattern), inner)
        elif isinstance(pattern, URLPattern):
            yield f"{namespace}{pattern.name}", prefix + _example(pattern)


ALL = sorted(set(walk()))


def test_the_walk_finds_the_apps_pages():
    names = {name for name, _ in ALL}
    assert {"scoring:patient_list", "scoring:fracture_detail", "api_score", "admin:index"} <= names


def _refused(response) -> bool:
    if response.status_code in (401, 403):
        return True
    if response.status_code == 302:
        return "/login/" in response["Location"]
    return False


@pytest.mark.parametrize(("name", "url"), ALL)
def test_signed_out_visitor_is_refused_unless_the_page_is_public(client, name, url):
    get, post = client.get(url), client.post(url)
    if name in PUBLIC:
        return
    assert _refused(get), f"{name} {url} answered GET with {get.status_code} to a signed-out visitor"
    assert _refused(post), f"{name} {url} answered POST with {post.status_code} to a signed-out visitor"


def test_html_pages_send_a_signed_out_visitor_to_sign_in(client):
    response = client.get("/patients/?q=secret")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_health_check_is_public_and_says_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
    assert "no-cache" in response["Cache-Control"] or "no-store" in response["Cache-Control"]


def test_login_page_is_public(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert b"Sign in" in response.content


def test_sign_in_then_out(client, user):
    from tests.conftest import PASSWORD

    response = client.post("/accounts/login/", {"username": "clinician", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/patients/").status_code == 200
    client.post("/accounts/logout/")
    assert client.get("/patients/").status_code == 302


def test_wrong_password_is_refused_with_a_message(client, user):
    response = client.post("/accounts/login/", {"username": "clinician", "password": "wrong"})
    assert response.status_code == 200
    assert b"enter a correct username and password" in response.content


def test_every_public_name_is_a_real_url():
    assert PUBLIC <= {name for name, _ in ALL}
