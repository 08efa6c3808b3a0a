"""Concurrency, measured: gunicorn with several workers on this database, many clients signing in
and saving visits at once, on loopback only, bounded in clients, requests and time.

Passes when no request failed (a "database is locked" would be a failure) and the number of visit
rows written equals the number of saves the server confirmed. Run it on a scratch database:

    NASOVCF_VAR_DIR=$(mktemp -d) .venv/bin/python manage.py loadtest       # SQLite
    DATABASE_URL=postgres://… .venv/bin/python manage.py loadtest           # PostgreSQL
"""

from __future__ import annotations

import datetime
import html
import http.client
import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone

from scoring.models import Fracture, Patient, Visit

HOST = "127.0.0.1"  # loopback only
# The confirmation a form asks for and carries to its next submission (scoring.forms.confirm).
CONFIRMATION = re.compile(r'name="confirmed" value="([^"]+)"')
PASSWORD = "load-test-password-not-for-real-use"
USER_PREFIX = "loadtest-"
MRN_PREFIX = "LOADTEST-"
REQUEST_TIMEOUT_S = 15


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@dataclass
class Tally:
    saves: int = 0
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def saved(self) -> None:
        with self.lock:
            self.saves += 1

    def failed(self, what: str) -> None:
        with self.lock:
            self.errors.append(what)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class Client:
    """One person: a cookie jar, a CSRF token, sign-in, then visits saved one after another."""

    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect)

    def csrf(self) -> str:
        return next(cookie.value for cookie in self.jar if cookie.name == "csrftoken")

    def request(self, path: str, data: dict | None = None) -> int:
        return self.exchange(path, data)[0]

    def exchange(self, path: str, data: dict | None = None) -> tuple[int, str]:
        """The status and the body of a request (a redirect is not followed)."""
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        headers = {"Referer": self.base + path}
        request = urllib.request.Request(self.base + path, data=body, headers=headers)
        try:
            with self.opener.open(request, timeout=REQUEST_TIMEOUT_S) as response:
                return response.status, response.read().decode(errors="replace")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")

    def sign_in(self, username: str) -> bool:
        self.request("/accounts/login/")
        status = self.request(
            "/accounts/login/", {"username": username, "password": PASSWORD, "csrfmiddlewaretoken": self.csrf()}
        )
        return status == 302

    def save_visit(self, fracture_id: int, day: datetime.date, vas: int) -> int:
        """Record an unscheduled visit, as a person does: a second visit the same day is asked about
        (a likely duplicate), and saved by sending the form again with its confirmation."""
        path = f"/assessments/{fracture_id}/visits/new/"
        data = {
            "csrfmiddlewaretoken": self.csrf(),
            "kind": "unscheduled",
            "visit_date": day.isoformat(),
            "vas_pain": str(vas),
            "save": "1",
        }
        status, page = self.exchange(path, data)
        confirmed = CONFIRMATION.search(page) if status == 200 else None
        if confirmed:
            status = self.request(path, {**data, "confirmed": html.unescape(confirmed.group(1))})
        return status


class Command(BaseCommand):
    help = "Load test: gunicorn workers on this database, concurrent clients saving visits (loopback only)."

    def add_arguments(self, parser):
        parser.add_argument("--clients", type=int, default=20)
        parser.add_argument("--seconds", type=float, default=30.0)
        parser.add_argument("--workers", type=int, default=4)
        parser.add_argument("--max-requests", type=int, default=20000, help="stop after this many saves in all")
        parser.add_argument("--report", help="also write the result to this Markdown file")

    def handle(self, *args, clients, seconds, workers, max_requests, report, **options):
        if not 1 <= clients <= 100 or not 1 <= seconds <= 300:
            raise CommandError("Keep it bounded: 1–100 clients, 1–300 seconds.")
        call_command("migrate", interactive=False, verbosity=0)
        fracture_ids = self.prepare(clients)
        port = free_port()
        env = {
            **os.environ,
            "DJANGO_ALLOWED_HOSTS": HOST,
            "DJANGO_DEBUG": "0",
            "HOST": HOST,
            "PORT": str(port),
            "WEB_CONCURRENCY": str(workers),
            "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        }
        call_command("collectstatic", interactive=False, verbosity=0)
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--config",
                "gunicorn.conf.py",
                "--access-logfile",
                "/dev/null",
                "nasovcf_site.wsgi:application",
            ],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        base = f"http://{HOST}:{port}"
        try:
            self.wait_until_up(base, server)
            tally, elapsed = self.run_clients(base, clients, fracture_ids, seconds, max_requests)
        finally:
            server.terminate()
            try:
                _, stderr = server.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                _, stderr = server.communicate()
        rows = Visit.objects.filter(fracture_id__in=fracture_ids).count()
        locked = "database is locked" in stderr.decode(errors="replace")
        rate = tally.saves / elapsed if elapsed else 0.0
        locking = "WAL, IMMEDIATE" if connection.vendor == "sqlite" else "PostgreSQL"
        lines = [
            f"Load test on {connection.vendor} ({locking}): "
            f"gunicorn {workers} workers, {clients} clients, {elapsed:.1f} s",
            f"- saves confirmed (302): {tally.saves}",
            f"- visit rows written: {rows}",
            f"- failed requests: {len(tally.errors)}" + (f" (first: {tally.errors[0]})" if tally.errors else ""),
            f"- 'database is locked' in the server log: {'yes' if locked else 'no'}",
            f"- saves per second: {rate:.1f}",
        ]
        text = "\n".join(lines)
        self.stdout.write(text)
        if report:
            Path(report).parent.mkdir(parents=True, exist_ok=True)
            Path(report).write_text(text + "\n")
        if tally.errors or locked or rows != tally.saves or tally.saves == 0:
            raise CommandError("Load test failed: see above.")

    def prepare(self, clients: int) -> list[int]:
        """Users in the clinician role and one fracture each, started 10 days ago."""
        User = get_user_model()
        Visit.objects.filter(fracture__patient__mrn__startswith=MRN_PREFIX).delete()
        Fracture.objects.filter(patient__mrn__startswith=MRN_PREFIX).delete()
        Patient.objects.filter(mrn__startswith=MRN_PREFIX).delete()
        clinician = Group.objects.get(name="clinician")
        start = timezone.localdate() - datetime.timedelta(days=10)
        ids = []
        for n in range(clients):
            user, _ = User.objects.get_or_create(username=f"{USER_PREFIX}{n:03d}")
            user.set_password(PASSWORD)
            user.save()
            user.groups.add(clinician)
            patient = Patient.objects.create(
                mrn=f"{MRN_PREFIX}{n:03d}",
                sex="F",
                date_of_birth=datetime.date(1950, 1, 1),
                created_by=user,
                updated_by=user,
            )
            fracture = Fracture(
                patient=patient,
                assessment_date=start,
                treatment_start_date=start,
                level="L1",
                low_energy_trauma=True,
                fracture_type="compression",
                vhl_percent=Decimal("12"),
                kyphosis_angle_deg=Decimal("8"),
                t2_signal="confined_low",
                bmd_t_score=Decimal("-2.7"),
                treatment="conservative",
                created_by=user,
                updated_by=user,
            )
            fracture.rescore()
            fracture.save()
            ids.append(fracture.pk)
        return ids

    def wait_until_up(self, base: str, server: subprocess.Popen) -> None:
        """Poll /healthz until it answers 200. On a loaded 2-core machine four workers starting at
        once may take seconds to answer the first request: a poll that times out is polled again."""
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise CommandError(f"gunicorn stopped: {server.stderr.read().decode(errors='replace')[-2000:]}")
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=5) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError, http.client.HTTPException):  # OSError: refused, timed out
                time.sleep(0.3)
        raise CommandError("gunicorn did not answer within 90 s")

    def run_clients(self, base, clients, fracture_ids, seconds, max_requests) -> tuple[Tally, float]:
        tally = Tally()
        today = timezone.localdate()
        budget = threading.Semaphore(max_requests)
        started = threading.Barrier(clients + 1)
        go = threading.Event()
        deadline_box: list[float] = []

        def person(n: int) -> None:
            client = Client(base)
            # Half the clients share fractures, so saves on one fracture also meet.
            fracture_id = fracture_ids[n % max(1, len(fracture_ids) // 2)]
            try:
                signed_in = client.sign_in(f"{USER_PREFIX}{n:03d}")
            except OSError as error:
                signed_in = False
                tally.failed(f"sign-in: {error}")
            started.wait()
            go.wait()
            if not signed_in:
                tally.failed(f"client {n} could not sign in")
                return
            vas = 0
            while time.monotonic() < deadline_box[0] and budget.acquire(blocking=False):
                vas = (vas + 1) % 11
                try:
                    status = client.save_visit(fracture_id, today, vas)
                except OSError as error:
                    tally.failed(f"save: {error}")
                    continue
                if status == 302:
                    tally.saved()
                else:
                    tally.failed(f"save answered {status}")

        threads = [threading.Thread(target=person, args=(n,), daemon=True) for n in range(clients)]
        for thread in threads:
            thread.start()
        started.wait()  # everyone has signed in: the clock starts now
        began = time.monotonic()
        deadline_box.append(began + seconds)
        go.set()
        for thread in threads:
            thread.join(timeout=seconds + 60)
        return tally, time.monotonic() - began
