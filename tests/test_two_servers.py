"""Two app servers on one database agree: what is saved through one is what the other shows.

Two gunicorn servers, each with its own var/ directory (as two machines behind a load balancer
would have), share one scratch database: a scratch SQLite file, or, when DATABASE_URL names a
PostgreSQL server, a scratch database made on that server and dropped afterwards. A clinician
signs in once (one session cookie, valid on both: one secret key, sessions in the database),
registers a patient and saves an assessment through server A's forms, and reads them through
server B; then records the overdue visit through A, and B's worklist lets it go.

B's pages are read before each change too, so a count or page that B kept from before the change
would show here. Slow (two migrations' worth of set-up, two servers): select it with -m servers.
"""

from __future__ import annotations

import datetime
import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import zoneinfo
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings

pytestmark = pytest.mark.servers

HOST = "127.0.0.1"
USERNAME = "two-servers-clinician"
PASSWORD = "two-servers-password-not-for-real-use"
START_TIMEOUT_S = 180  # a loaded 2-core CI machine starts two servers of two workers each
REQUEST_TIMEOUT_S = 60
MANAGE_TIMEOUT_S = 900


# -- reading pages -------------------------------------------------------------------------------


class PageParser(HTMLParser):
    """The post forms (hidden fields and submit buttons), the table rows' text and the navigation's
    worklist count (the element marked data-testid="worklist-count" in base.html)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self.rows: list[str] = []
        self.count_text: str | None = None
        self._form: dict | None = None
        self._row: list[str] | None = None
        self._count_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        if tag == "form" and found.get("method", "get").lower() == "post":
            self._form = {"action": found.get("action", ""), "hidden": {}, "buttons": {}, "names": set()}
            self.forms.append(self._form)
        elif tag in ("input", "select", "textarea", "button") and self._form is not None and found.get("name"):
            self._form["names"].add(found["name"])
            if tag == "input" and found.get("type") == "hidden":
                self._form["hidden"][found["name"]] = found.get("value", "")
            elif found.get("type") == "submit":
                self._form["buttons"][found["name"]] = found.get("value", "")
        elif tag == "tr":
            self._row = []
        if self._count_depth:
            self._count_depth += 1
        elif found.get("data-testid") == "worklist-count":
            self._count_depth, self.count_text = 1, ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(" ".join(" ".join(self._row).split()))
            self._row = None
        if self._count_depth:
            self._count_depth -= 1

    def handle_data(self, data: str) -> None:
        if self._row is not None:
            self._row.append(data)
        if self._count_depth:
            self.count_text += data


class Page:
    def __init__(self, url: str, status: int, html: str):
        self.url, self.status, self.html = url, status, html
        self.parsed = PageParser()
        self.parsed.feed(html)

    @property
    def path(self) -> str:
        return urllib.parse.urlsplit(self.url).path

    def rows_with(self, *texts: str) -> list[str]:
        return [row for row in self.parsed.rows if all(text in row for text in texts)]

    def worklist_count(self) -> int:
        """The navigation's count of visits overdue or due this week (no badge when there is none)."""
        if self.parsed.count_text is None:
            return 0
        return int(re.match(r"\s*(\d+)", self.parsed.count_text).group(1))

    def form_with(self, field: str) -> dict:
        return next(form for form in self.parsed.forms if field in form["names"])


class Browser:
    """One person's browser: one cookie jar for both servers (cookies do not depend on the port),
    redirects followed, the CSRF token taken from each form."""

    def __init__(self) -> None:
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, url: str) -> Page:
        return self._open(urllib.request.Request(url))

    def post(self, url: str, data: dict) -> Page:
        body = urllib.parse.urlencode(data).encode()
        return self._open(urllib.request.Request(url, data=body, headers={"Referer": url}))

    def submit(self, url: str, field: str, values: dict) -> Page:
        """Open the page at `url`, and post its form holding `field` with `values` (its hidden
        fields, the CSRF token among them, as the page gave them)."""
        form = self.get(url).form_with(field)
        data = {**form["hidden"], **values}
        if "save" in form["buttons"]:
            data["save"] = form["buttons"]["save"]
        return self.post(urllib.parse.urljoin(url, form["action"]), data)

    def _open(self, request: urllib.request.Request) -> Page:
        try:
            with self.opener.open(request, timeout=REQUEST_TIMEOUT_S) as response:
                return Page(response.geturl(), response.status, response.read().decode())
        except urllib.error.HTTPError as error:
            return Page(error.geturl(), error.code, error.read().decode(errors="replace"))


# -- the servers and their database -----------------------------------------------------------------


def free_ports(count: int) -> list[int]:
    """Ports free now, distinct: each socket is held until all are chosen."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind((HOST, 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def manage(env: dict, *arguments: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=MANAGE_TIMEOUT_S,
    )
    assert result.returncode == 0, f"manage.py {arguments[0]} failed:\n{result.stderr[-3000:]}"
    return result.stdout


@pytest.fixture
def scratch_database_url(tmp_path: Path) -> Iterator[str]:
    """A database of this test's own, on the server DATABASE_URL names (else a SQLite file)."""
    configured = os.environ.get("DATABASE_URL", "")
    scheme = urllib.parse.urlsplit(configured).scheme
    if not configured or scheme == "sqlite":
        yield f"sqlite:///{tmp_path / 'db.sqlite3'}"
        return
    assert scheme in ("postgres", "postgresql", "pgsql"), f"no scratch database for {scheme}:// here"
    import psycopg
    from psycopg import sql

    name = f"nasovcf_two_servers_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(configured, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield urllib.parse.urlsplit(configured)._replace(path=f"/{name}").geturl()
    finally:
        with psycopg.connect(configured, autocommit=True) as connection:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


class Server:
    def __init__(self, name: str, env: dict, port: int, log: Path):
        self.name, self.port, self.log = name, port, log
        self.base = f"http://{HOST}:{port}"
        with log.open("wb") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "nasovcf_site.wsgi:application"],
                cwd=settings.BASE_DIR,
                env={**env, "HOST": HOST, "PORT": str(port)},
                stdout=output,
                stderr=subprocess.STDOUT,
            )

    def url(self, path: str) -> str:
        return self.base + path

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def wait_until_up(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"server {self.name} stopped while starting:\n{self.log_tail()}"
            try:
                with urllib.request.urlopen(self.url("/healthz"), timeout=5) as response:
                    if response.status == 200:
                        return
            except (OSError, ValueError):
                pass
            time.sleep(0.5)
        raise AssertionError(f"server {self.name} did not answer /healthz in {START_TIMEOUT_S} s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)


@pytest.fixture
def servers(tmp_path: Path, scratch_database_url: str) -> Iterator[tuple[Server, Server]]:
    """Servers A and B, two workers each, each with its own var/, on the one scratch database;
    a clinician to sign in with."""
    env = {
        **os.environ,
        "DATABASE_URL": scratch_database_url,
        "DJANGO_SECRET_KEY": f"two-servers-{uuid.uuid4().hex}{uuid.uuid4().hex}",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_DEBUG": "0",
        "WEB_CONCURRENCY": "2",
        # One collected copy, outside both var/ directories, as one release deployed to two machines.
        "DJANGO_STATIC_ROOT": str(tmp_path / "static"),
    }
    var_a, var_b = tmp_path / "var-a", tmp_path / "var-b"
    env_a, env_b = {**env, "NASOVCF_VAR_DIR": str(var_a)}, {**env, "NASOVCF_VAR_DIR": str(var_b)}
    manage(env_a, "migrate", "--noinput", "-v0")
    manage(env_a, "collectstatic", "--noinput", "-v0")
    manage(
        env_a,
        "shell",
        "-c",
        (
            "from django.contrib.auth import get_user_model\n"
            "from django.contrib.auth.models import Group\n"
            f"user = get_user_model().objects.create_user({USERNAME!r}, password={PASSWORD!r})\n"
            "user.groups.add(Group.objects.get(name='clinician'))\n"
        ),
    )
    port_a, port_b = free_ports(2)
    started: list[Server] = []
    try:
        started.append(Server("A", env_a, port_a, tmp_path / "server-a.log"))
        started.append(Server("B", env_b, port_b, tmp_path / "server-b.log"))
        for server in started:
            server.wait_until_up()
        yield started[0], started[1]
    finally:
        for server in started:
            server.stop()


def clinic_today() -> datetime.date:
    """Today where the clinic is (the servers' DJANGO_TIME_ZONE), as the app dates its worklist."""
    return datetime.datetime.now(zoneinfo.ZoneInfo(os.environ.get("DJANGO_TIME_ZONE", "UTC"))).date()


# -- the test ------------------------------------------------------------------------------------------


def test_what_one_server_saves_the_other_shows_at_once(servers):
    a, b = servers
    browser = Browser()
    login = browser.get(a.url("/accounts/login/"))
    signed_in = browser.post(
        a.url("/accounts/login/"),
        {
            **login.form_with("username")["hidden"],
            "username": USERNAME,
            "password": PASSWORD,
        },
    )
    assert signed_in.status == 200 and signed_in.path != "/accounts/login/", "could not sign in on A"

    # B first, with the same session cookie: signed in there too, and nothing due yet. These reads
    # also give B the chance to keep anything it would keep.
    before = browser.get(b.url("/worklist/"))
    assert before.status == 200 and before.path == "/worklist/", "A's session cookie is not valid on B"
    assert before.worklist_count() == 0
    assert browser.get(b.url("/patients/")).status == 200

    mrn = f"TWO-{uuid.uuid4().hex[:8].upper()}"
    registered = browser.submit(
        a.url("/patients/new/"),
        "mrn",
        {
            "mrn": mrn,
            "name": "Two Servers",
            "sex": "F",
            "date_of_birth": "1953-06-01",
        },
    )
    patient_path = registered.path
    assert registered.status == 200 and re.fullmatch(r"/patients/\d+/", patient_path), (
        f"registering the patient on A ended on {registered.url} ({registered.status})"
    )

    today = clinic_today()
    treatment_start = today - datetime.timedelta(days=35)  # its 1-month visit (day 30 ± 7) is overdue
    saved = browser.submit(
        a.url(f"{patient_path}assessments/new/"),
        "fracture_type",
        {
            "assessment_date": (today - datetime.timedelta(days=36)).isoformat(),
            "injury_date": (today - datetime.timedelta(days=40)).isoformat(),
            "level": "T11",
            "low_energy_trauma": "yes",
            "fracture_type": "compression",
            "vhl_percent": "17.8",
            "kyphosis_angle_deg": "19.6",
            "t2_signal": "diffuse_low",
            "bmd_t_score": "-3.6",
            "vas_pain": "8",
            "odi_percent": "62",
            "height_cm": "152",
            "weight_kg": "50",
            "treatment": "conservative",
            "treatment_start_date": treatment_start.isoformat(),
        },
    )
    fracture_path = saved.path
    assert saved.status == 200 and re.fullmatch(r"/assessments/\d+/", fracture_path), (
        f"saving the assessment on A ended on {saved.url} ({saved.status})"
    )

    listed = browser.get(b.url("/patients/"))
    assert listed.rows_with(mrn), "B's patient list does not show the patient registered on A"
    searched = browser.get(b.url(f"/patients/?q={mrn}"))
    assert searched.rows_with(mrn), "B's patient search does not find the patient registered on A"

    worklist = browser.get(b.url("/worklist/"))
    assert worklist.rows_with(mrn, "1 month"), "B's worklist does not list the 1-month visit due on A's record"
    assert worklist.worklist_count() == 1, "B's navigation does not count the visit now due"
    assert browser.get(b.url("/patients/")).worklist_count() == 1

    fracture = browser.get(b.url(fracture_path))
    assert fracture.status == 200
    assert mrn in fracture.html and "T11" in fracture.html
    assert fracture.rows_with("Pretreatment", (today - datetime.timedelta(days=36)).isoformat())
    assert not fracture.rows_with("1 month", today.isoformat())

    recorded = browser.submit(
        a.url(f"{fracture_path}visits/new/"),
        "visit_date",
        {
            "kind": "1m",
            "visit_date": today.isoformat(),
            "vas_pain": "5",
        },
    )
    assert recorded.status == 200 and recorded.path == fracture_path, (
        f"recording the visit on A ended on {recorded.url} ({recorded.status})"
    )

    fracture = browser.get(b.url(fracture_path))
    assert fracture.rows_with("1 month", today.isoformat()), "B's fracture page does not show the visit saved on A"
    worklist = browser.get(b.url("/worklist/"))
    assert not worklist.rows_with(mrn, "1 month"), "B's worklist still lists the visit recorded on A"
    assert worklist.worklist_count() == 0, "B's navigation still counts the visit recorded on A"
