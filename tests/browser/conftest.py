"""Playwright driving Debian's Chromium (/usr/bin/chromium) against the live test server.

In CI (CI set) the browser tests must run: a missing Chromium fails them instead of skipping.
"""

import os
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
# Chromium must not phone home on a closed network; as root it needs --no-sandbox.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Generous waits for a loaded 2-core CI machine (a page load once took over 10 s there). Tests wait
# on elements and expect() conditions, never fixed sleeps, so a fast machine does not wait longer.
ACTION_TIMEOUT_MS = 30_000
NAVIGATION_TIMEOUT_MS = 60_000
LAUNCH_TIMEOUT_MS = 60_000

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make around it
# are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        reason = f"Chromium not found at {CHROMIUM}: install Debian's chromium package (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}. In CI the browser tests must run.")
        pytest.skip(reason)
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=ACTION_TIMEOUT_MS)  # expect() retries its condition up to this long
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS, timeout=LAUNCH_TIMEOUT_MS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    # On the context, so downloads and any page it opens wait as long as the first page.
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def signed_in_page(page, django_user_model):
    from django.contrib.auth.models import Group, Permission

    from scoring.roles import ensure_roles
    from tests.conftest import PASSWORD

    ensure_roles(Group, Permission)  # a transactional test flushed the groups the migration made
    user = django_user_model.objects.create_user(username="dr.browser", password=PASSWORD)
    user.groups.add(Group.objects.get(name="clinician"))
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("dr.browser")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/patients/")
    return page
