"""The production deployment in deploy/ holds what it is there for (issue 12: finding 9, the
lockout behind a proxy, and a deployment a hospital's IT can follow).

.ci/nginx.sh runs gunicorn with deploy/nasovcf.env.example's environment (DJANGO_HTTPS=1,
NASOVCF_TRUSTED_PROXIES=1) behind nginx configured from deploy/nginx.conf, over TLS with a
self-signed certificate, all on loopback. Through nginx:

- slow clients (six connections sending their request header a byte a second, six more sending a
  body that way) do not stall the app: every /healthz poll answers within 1 s while they are
  held. The same clients sent straight to gunicorn stall it, as the hostile test found;
- the sign-in lockout holds against invented X-Forwarded-For addresses, and none of them is
  logged;
- nginx serves the static files itself and terminates TLS; no query string reaches a log;
- `manage.py check --deploy --fail-level WARNING` is clean with the deployment's environment.

Served on a scratch database: a SQLite file, or one made on the PostgreSQL server DATABASE_URL
names. Needs nginx and openssl (Debian's packages, which .ci/run installs): without them the tests
skip and say why, except in CI (CI set), where they fail.
"""

from __future__ import annotations

import contextlib
import http.client
import http.cookies
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.servers

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
START_TIMEOUT_S = 420  # migrate, collectstatic, a certificate and two servers on a loaded 2-core machine
REQUEST_TIMEOUT_S = 30
MANAGE_TIMEOUT_S = 600
USERNAME = "deploy-clinician"
PASSWORD = "deploy-password-not-for-real-use"

# The attack (issue 12, finding 9): connections that send their request a byte a second.
SLOW_CLIENTS = 6  # of each kind: a slow header, and a complete header with a slow body
HOLD_S = 6.0  # how long they are held while /healthz is polled (nginx gives a header 10 s)
HEALTHZ_BOUND_S = 1.0  # every poll through nginx answers within this, while they are held
SLOW_HEADER = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow-client\r\nX-Padding: " + b"a" * 200
# A sign-in whose body the app reads: past the checks that need no body (an address, a Referer of
# this host, a CSRF cookie of the right shape), Django reads the form, and waits for it.
SLOW_BODY_HEAD = (
    b"POST /accounts/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Forwarded-Proto: https\r\nX-Forwarded-For: 127.0.0.1\r\n"
    b"Referer: https://127.0.0.1/accounts/login/\r\nCookie: csrftoken=" + b"c" * 32 + b"\r\n"
    b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\n"
)
SLOW_BODY = b"username=slow&password=" + b"b" * 200


# -- the deployment ---------------------------------------------------------------------------------


@dataclass
class Deployment:
    work: Path
    url: str
    app_env: dict[str, str]
    context: ssl.SSLContext

    @property
    def tls_port(self) -> int:
        return urllib.parse.urlsplit(self.url).port

    @property
    def app_port(self) -> int:
        return int(self.app_env["PORT"])

    @property
    def http_port(self) -> int:
        site = (self.work / "nginx" / "nasovcf.conf").read_text()
        return int(re.search(r"listen 127\.0\.0\.1:(\d+);", site).group(1))

    def log(self, name: str) -> str:
        path = {"gunicorn": self.work / "gunicorn.log", "nginx": self.work / "nginx" / "nasovcf.access.log"}.get(
            name, self.work / "nginx" / name
        )
        return path.read_text(errors="replace") if path.exists() else ""

    def log_once(self, name: str, text: str, seen_before: int = 0) -> str:
        """The log once `text` is in it more than `seen_before` times: nginx and gunicorn write a
        request's line after its response has gone, so a client can read the answer first."""
        deadline = time.monotonic() + REQUEST_TIMEOUT_S
        while (log := self.log(name)).count(text) <= seen_before:
            assert time.monotonic() < deadline, f"{text!r} did not reach the {name} log in {REQUEST_TIMEOUT_S} s"
            time.sleep(0.1)
        return log

    def manage(self, *arguments: str) -> str:
        env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/"), "LANG": "C.UTF-8"}
        result = subprocess.run(
            [sys.executable, "manage.py", *arguments],
            cwd=ROOT,
            env={**env, **self.app_env},
            capture_output=True,
            text=True,
            timeout=MANAGE_TIMEOUT_S,
        )
        assert result.returncode == 0, f"manage.py {arguments[0]} failed:\n{result.stdout}{result.stderr[-3000:]}"
        return result.stdout

    def request(
        self, method: str, path: str, headers: dict | None = None, body: str | None = None, timeout: float = 30
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        """One request through nginx over TLS, on a connection of its own; redirects not followed."""
        connection = http.client.HTTPSConnection(HOST, self.tls_port, context=self.context, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers={"Host": f"{HOST}:{self.tls_port}", **(headers or {})})
            response = connection.getresponse()
            return response.status, response.headers, response.read()
        finally:
            connection.close()


def nginx_and_openssl_missing() -> list[str]:
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    return [tool for tool in ("nginx", "openssl") if shutil.which(tool, path=path) is None]


@contextlib.contextmanager
def scratch_database() -> Iterator[str | None]:
    """A database of the deployment's own on the server DATABASE_URL names; None for SQLite (the
    script then makes a SQLite file in its own var/)."""
    configured = os.environ.get("DATABASE_URL", "")
    scheme = urllib.parse.urlsplit(configured).scheme
    if not configured or scheme == "sqlite":
        yield None
        return
    assert scheme in ("postgres", "postgresql", "pgsql"), f"no scratch database for {scheme}:// here"
    import psycopg
    from psycopg import sql

    name = f"nasovcf_deploy_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(configured, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield urllib.parse.urlsplit(configured)._replace(path=f"/{name}").geturl()
    finally:
        with psycopg.connect(configured, autocommit=True) as connection:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def stop(process: subprocess.Popen) -> None:
    """The script stops nginx and gunicorn on SIGTERM; whatever of its session is left is killed."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)  # its own session: only what it started


@pytest.fixture(scope="module")
def deployment(tmp_path_factory) -> Iterator[Deployment]:
    missing = nginx_and_openssl_missing()
    if missing and not os.environ.get("CI"):
        pytest.skip(f"{' and '.join(missing)} not installed (apt-get install nginx openssl)")
    # In CI a missing package is installed by the script (or it fails, and so does this).
    work = tmp_path_factory.mktemp("deploy")
    script_log = work / "nginx-sh.log"
    with scratch_database() as database_url:
        env = {**os.environ, "NASOVCF_PYTHON": sys.executable}
        env.pop("DATABASE_URL", None)
        if database_url:
            env["DATABASE_URL"] = database_url
        with script_log.open("wb") as output:
            process = subprocess.Popen(
                ["bash", str(ROOT / ".ci" / "nginx.sh"), str(work)],
                cwd=ROOT,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            deadline = time.monotonic() + START_TIMEOUT_S
            while not (work / "url").exists():
                tail = script_log.read_text(errors="replace")[-4000:]
                assert process.poll() is None, f".ci/nginx.sh stopped while starting:\n{tail}"
                assert time.monotonic() < deadline, f".ci/nginx.sh did not start in {START_TIMEOUT_S} s:\n{tail}"
                time.sleep(0.5)
            app_env = dict(line.split("=", 1) for line in (work / "app.env").read_text().splitlines() if "=" in line)
            context = ssl.create_default_context(cafile=str(work / "tls" / "fullchain.pem"))
            yield Deployment(work, (work / "url").read_text().strip(), app_env, context)
        finally:
            stop(process)


# -- the tests ------------------------------------------------------------------------------------------


def test_the_deployment_runs_with_the_example_environment_and_check_deploy_is_clean(deployment):
    env = deployment.app_env
    assert env["DJANGO_HTTPS"] == "1"
    assert env["NASOVCF_TRUSTED_PROXIES"] == "1"
    assert env["DJANGO_DEBUG"] == "0"
    assert env["HOST"] == "127.0.0.1"  # gunicorn on loopback: nginx is the only way in
    output = deployment.manage("check", "--deploy", "--fail-level", "WARNING")
    assert "System check identified no issues" in output


def test_nginx_terminates_tls_and_redirects_plain_http(deployment):
    status, headers, body = deployment.request("GET", "/healthz")
    assert status == 200 and b'"ok"' in body  # not a redirect: the app knows the request came over TLS
    assert "max-age=31536000" in headers["Strict-Transport-Security"]
    connection = http.client.HTTPConnection(HOST, deployment.http_port, timeout=REQUEST_TIMEOUT_S)
    try:
        connection.request("GET", "/patients/")
        response = connection.getresponse()
        assert response.status == 301
        assert response.headers["Location"].startswith("https://")
    finally:
        connection.close()


def test_nginx_serves_the_static_files_itself(deployment):
    status, _, body = deployment.request("GET", "/accounts/login/")
    assert status == 200
    css = re.search(r'href="(/static/bootstrap/css/bootstrap\.min\.[0-9a-f]{12}\.css)"', body.decode())
    assert css, "the sign-in page links Bootstrap's CSS by its hashed name"
    status, headers, body = deployment.request("GET", css.group(1), headers={"Accept-Encoding": "gzip"})
    assert status == 200 and body
    assert headers["Content-Encoding"] == "gzip"  # the .gz written by collectstatic, sent by nginx
    assert "immutable" in headers["Cache-Control"]
    deployment.log_once("nginx", css.group(1))
    # A request gunicorn does serve, after it: once that is in gunicorn's log, the CSS would be too.
    after = f"/after-the-static-file-{uuid.uuid4().hex[:8]}/"
    deployment.request("GET", after)
    assert css.group(1) not in deployment.log_once("gunicorn", after), "gunicorn served a static file"


def test_no_query_string_reaches_a_log(deployment):
    marker = f"Margaret-Chen-{uuid.uuid4().hex[:8]}"
    seen = {name: deployment.log(name).count("GET /patients/") for name in ("nginx", "gunicorn")}
    status, _, _ = deployment.request("GET", f"/patients/?q={marker}")
    assert status == 302  # to the sign-in page
    for name, count in seen.items():
        deployment.log_once(name, "GET /patients/", count)  # the request's own line is written
    for name in ("nginx", "gunicorn", "error.log", "nasovcf.error.log"):
        assert marker not in deployment.log(name), f"the search reached the {name} log"


def sign_in(deployment: Deployment, password: str, forwarded_for: str) -> int:
    """Post the sign-in form with a fresh CSRF token, claiming to come from `forwarded_for`; the
    status of the post (or of the form, if that was refused)."""
    status, headers, body = deployment.request("GET", "/accounts/login/", headers={"X-Forwarded-For": forwarded_for})
    if status != 200:
        return status
    cookie = http.cookies.SimpleCookie()
    for value in headers.get_all("Set-Cookie") or []:
        cookie.load(value)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body.decode()).group(1)
    form = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "username": USERNAME, "password": password})
    status, _, _ = deployment.request(
        "POST",
        "/accounts/login/",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={cookie['csrftoken'].value}",
            "Referer": f"{deployment.url}/accounts/login/",
            "X-Forwarded-For": forwarded_for,
        },
        body=form,
    )
    return status


UPLOAD_BYTES = 10 * 1024 * 1024  # a cohort spreadsheet well above nginx's 4 MB for every other address


def post_upload(deployment: Deployment, path: str, size: int) -> tuple[int, http.client.HTTPMessage]:
    """POST a file of `size` bytes to `path` through nginx, as the import form sends it (multipart,
    with a CSRF cookie, token and Referer of this site, so Django reads the whole form), then read
    the answer (nginx reads and drops a body it refuses, so the whole file is sent either way)."""
    status, headers, body = deployment.request("GET", "/accounts/login/")
    assert status == 200
    cookie = http.cookies.SimpleCookie()
    for value in headers.get_all("Set-Cookie") or []:
        cookie.load(value)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body.decode()).group(1)
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrfmiddlewaretoken"\r\n\r\n{token}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="cohort.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    request = (
        f"POST {path} HTTP/1.1\r\nHost: {HOST}:{deployment.tls_port}\r\nConnection: close\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {len(head) + size + len(tail)}\r\n"
        f"Cookie: csrftoken={cookie['csrftoken'].value}\r\nReferer: {deployment.url}/cohort/\r\n\r\n"
    ).encode()
    chunk = b"mrn,level\r\n" * 6000
    pieces = [head] + [chunk] * (size // len(chunk)) + [b"x" * (size % len(chunk)), tail]
    raw = socket.create_connection((HOST, deployment.tls_port), timeout=REQUEST_TIMEOUT_S)
    with deployment.context.wrap_socket(raw, server_hostname=HOST) as sock:
        sock.sendall(request)
        for piece in pieces:
            sock.sendall(piece)
        response = http.client.HTTPResponse(sock)
        response.begin()
        response.read()
        return response.status, response.headers


def test_nginx_lets_the_cohort_import_upload_through_and_no_other_large_body(deployment):
    # The import's address: nginx passes a 10 MB file on to the app with every proxy header (Django
    # would answer a request without them 400, or redirect it to https), and Django answers: today
    # 404 or a sign-in redirect, as this request is not signed in; never nginx's 413.
    status, headers = post_upload(deployment, "/cohort/import/", UPLOAD_BYTES)
    assert status in (302, 403, 404, 405), f"/cohort/import/ answered {status}"
    assert headers["X-Frame-Options"] == "DENY"  # Django's answer (nginx adds no such header)
    deployment.log_once("gunicorn", '"POST /cohort/import/"')

    # Any other address keeps the 4 MB limit: nginx refuses the body before the app sees it.
    status, _ = post_upload(deployment, "/patients/new/", UPLOAD_BYTES)
    assert status == 413
    deployment.log_once("nginx", '"POST /patients/new/ HTTP/1.1" 413')
    assert '"POST /patients/new/"' not in deployment.log("gunicorn")


def test_the_sign_in_lockout_holds_against_invented_forwarded_addresses(deployment):
    deployment.manage(
        "shell",
        "-c",
        (
            "from django.contrib.auth import get_user_model\n"
            "from django.contrib.auth.models import Group\n"
            f"user = get_user_model().objects.create_user({USERNAME!r}, password={PASSWORD!r})\n"
            "user.groups.add(Group.objects.get(name='clinician'))\n"
        ),
    )
    assert sign_in(deployment, PASSWORD, "198.51.100.1") == 302  # signing in works through nginx

    # Twelve wrong passwords, each claiming another address: as the hostile test sent them, and
    # one that is no address at all. nginx replaces the header with the address it sees.
    invented = [f"203.0.113.{number}" for number in range(1, 10)] + [
        "10.9.8.7, 192.0.2.10",
        "not-an-ip",
        "192.0.2.11 user=root address=10.0.0.1",
    ]
    statuses = [sign_in(deployment, "a-wrong-password", address) for address in invented]
    assert statuses == [200] * 4 + [429] * 8, f"not locked after 5 failures from one client: {statuses}"
    assert sign_in(deployment, PASSWORD, "198.51.100.2") == 429  # even the right password, while locked

    log = deployment.log("gunicorn")
    assert "failed sign-in" in log
    for claim in ["198.51.100.1", "198.51.100.2", *invented]:
        for word in re.split(r"[,\s]+", claim):
            assert word not in log, f"the client's claim {word!r} was logged"


class SlowClient:
    """One connection that sends its request a byte a second (the head of a body request at once)."""

    def __init__(self, connect: Callable[[], socket.socket], head: bytes, drip: bytes):
        self.sock = connect()
        self.drip_bytes, self.sent = drip, 1
        try:
            self.sock.sendall(head + drip[:1])
        except OSError:
            self.close()
            raise

    def drip(self) -> None:
        """The next byte; a connection the server has closed is left closed (nginx ends a header
        that takes over 10 s)."""
        with contextlib.suppress(OSError):
            self.sock.sendall(self.drip_bytes[self.sent : self.sent + 1])
        self.sent += 1

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


def open_slow_clients(connect: Callable[[], socket.socket]) -> list[SlowClient]:
    """SLOW_CLIENTS of each kind; a connection that fails to open (a loaded machine) is tried again."""
    clients: list[SlowClient] = []
    kinds = [(b"", SLOW_HEADER)] * SLOW_CLIENTS + [(SLOW_BODY_HEAD, SLOW_BODY)] * SLOW_CLIENTS
    try:
        for head, drip in kinds:
            for attempt in range(10):
                try:
                    clients.append(SlowClient(connect, head, drip))
                    break
                except OSError:
                    if attempt == 9:
                        raise
                    time.sleep(0.5)
        return clients
    except BaseException:
        for client in clients:
            client.close()
        raise


def hold_and_poll(clients: list[SlowClient], poll: Callable[[], float], hold_s: float) -> list[float]:
    """Poll while the slow clients are held, each sending a byte a second; the polls' durations."""
    durations: list[float] = []
    started = time.monotonic()
    next_drip = started + 1
    while time.monotonic() - started < hold_s:
        if time.monotonic() >= next_drip:
            for client in clients:
                client.drip()
            next_drip += 1
        durations.append(poll())
        time.sleep(0.1)
    return durations


def test_slow_clients_do_not_stall_the_app_behind_nginx(deployment):
    def through_nginx() -> socket.socket:
        raw = socket.create_connection((HOST, deployment.tls_port), timeout=REQUEST_TIMEOUT_S)
        return deployment.context.wrap_socket(raw, server_hostname=HOST)

    def poll_through_nginx() -> float:
        started = time.monotonic()
        try:
            status, _, body = deployment.request("GET", "/healthz", timeout=10)
        except OSError:
            return float("inf")
        elapsed = time.monotonic() - started
        return elapsed if status == 200 and b'"ok"' in body else float("inf")

    for _ in range(10):  # every worker has served a request before anything is measured
        poll_through_nginx()
    clients = open_slow_clients(through_nginx)
    try:
        durations = hold_and_poll(clients, poll_through_nginx, HOLD_S)
    finally:
        for client in clients:
            client.close()
    slowest = max(durations)
    assert slowest < HEALTHZ_BOUND_S, (
        f"/healthz took {slowest:.2f} s through nginx while {len(clients)} slow clients were held "
        f"(polls: {', '.join(f'{d:.2f}' for d in durations)})"
    )
    assert len(durations) >= 5

    # Without nginx (the same clients straight at gunicorn): every worker waits on one of them and
    # /healthz does not answer. Here last, as the workers only recover once the clients go.
    def straight_to_gunicorn() -> socket.socket:
        return socket.create_connection((HOST, deployment.app_port), timeout=REQUEST_TIMEOUT_S)

    def poll_gunicorn() -> float:
        started = time.monotonic()
        connection = http.client.HTTPConnection(HOST, deployment.app_port, timeout=2 * HEALTHZ_BOUND_S)
        try:
            connection.request("GET", "/healthz", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": HOST})
            connection.getresponse().read()
        except OSError:
            return float("inf")
        finally:
            connection.close()
        return time.monotonic() - started

    clients = open_slow_clients(straight_to_gunicorn)
    try:
        direct = hold_and_poll(clients, poll_gunicorn, 3.0)
    finally:
        for client in clients:
            client.close()
    assert min(direct) >= HEALTHZ_BOUND_S, "the attack did not stall gunicorn facing the clients itself"
