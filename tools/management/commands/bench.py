"""The app's benchmark: for each size N, a scratch database with N demo patients (each with a
fracture, its assessment and visits), gunicorn on loopback, and a real HTTP client timing each
page against the framework's floor in the same run. Writes bench/report.md and bench/p50.png.

    make bench            # N = 1,000, 10,000, 50,000
    .venv/bin/python manage.py bench --sizes 500 2000 --requests 10    # a quick look

Bounded: a fixed number of requests per page, loopback only, every server stopped at the end.
"""

from __future__ import annotations

import datetime
import http.cookiejar
import itertools
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

HOST = "127.0.0.1"
PASSWORD = "bench-password-not-for-real-use"
TIMEOUT_S = 30
FLOOR = "floor (base.html, no query of ours)"
# At N = 50,000 every page's p50 within 4× the floor beside it, and its ratio at most 1.5× its
# ratio at N = 1,000; the score API (no database) within 1.5×; the cohort page under 2 s.
TARGET_RATIO = 4.0
TARGET_GROWTH = 1.5
TARGET_API_RATIO = 1.5
TARGET_COHORT_S = 2.0
QUERIES_TARGET = "SQL queries per page the same or fewer at every larger size"

# The report's "Caches" section: every cache the app keeps, what it holds and what it buys.
CACHES_NOTE = "None: every page reads the database directly."

SCORE_BODY = json.dumps(
    {
        "fracture_type": "compression",
        "vhl_percent": 17.8,
        "kyphosis_angle_deg": 19.6,
        "t2_signal": "diffuse_low",
        "bmd_t_score": -3.6,
        "age_years": 71,
        "level": "T11",
        "low_energy_trauma": True,
    }
).encode()


# Why a target is missed, and the next step: read off the profile of each page (see the README).
NOT_MET_NOTES = {
    "patient list (first page)": (
        "Two index reads (25 patients in MRN order, then their latest assessments) and the count of "
        "all patients for the pager. Above the floor: the queries, 25 rows and the search form. "
        "Next: keep the user's permissions in the session (two queries on every page for a "
        "non-superuser)."
    ),
    "patient search": (
        "Index look-ups (the MRN's start, the name's words), so it stays flat in N; a search that "
        'matches thousands ("demo pat") is as slow as the number it counts. Next: stop counting '
        "past a few hundred matches."
    ),
    "fracture timeline": (
        "Drawn afresh on every view: the fracture (some 80 columns) with its patient and entering "
        "users, and its visits read, the score card, the visits table, the course and the details "
        "through the template engine, the four SVG charts with format_html. No single part "
        "dominates. Next: read only the fracture's columns the page shows."
    ),
    "worklist": (
        "The stored expected visits read in due-date order through their index (a page stops once "
        "it has its rows), their counts by status as due-date ranges of a second index; above the "
        "floor: those queries and the 25 rows. Next: the sort and status links drawn once, not "
        "per header."
    ),
    "cohort page": (
        "Every fracture read into pandas (one query), the paper's analyses, two matplotlib plots, and "
        "the inter-reader agreement (each reader's group from the saved points, each distinct reading "
        "scored once). Next: the plots, drawn on every load."
    ),
    "save a visit": (
        "A write transaction, constant in N: the fracture locked and read, the visit and its audit "
        "row written, the visits read to recompute the course and the expected visits, and the "
        "session saved for the confirmation message; with the form's validation that is several "
        "times a page read. Next: skip the course's recomputation when the visit has no film or "
        "union finding."
    ),
}


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Session:
    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect)

    def csrf(self) -> str:
        return next(cookie.value for cookie in self.jar if cookie.name == "csrftoken")

    def request(self, path: str, data: bytes | None = None, headers: dict | None = None) -> int:
        request = urllib.request.Request(self.base + path, data=data, headers=headers or {})
        try:
            with self.opener.open(request, timeout=TIMEOUT_S) as response:
                response.read()
                return response.status
        except urllib.error.HTTPError as error:
            error.read()
            return error.code

    def sign_in(self, username: str) -> None:
        self.request("/accounts/login/")
        body = urllib.parse.urlencode({"username": username, "password": PASSWORD, "csrfmiddlewaretoken": self.csrf()})
        if self.request("/accounts/login/", body.encode()) != 302:
            raise CommandError("The benchmark user could not sign in.")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


class Command(BaseCommand):
    help = "Benchmark the pages at several data sizes against the framework's floor; writes bench/report.md."

    def add_arguments(self, parser):
        parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 50_000])
        parser.add_argument("--requests", type=int, default=30, help="timed requests per page (cohort: a third)")
        parser.add_argument("--concurrency-seconds", type=float, default=8.0)
        parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (the machine has 2 cores)")
        parser.add_argument("--out", default="bench")

    def handle(self, *args, sizes, requests, concurrency_seconds, workers, out, **options):
        if max(sizes) > 200_000 or requests > 200 or concurrency_seconds > 60:
            raise CommandError("Keep it bounded: sizes up to 200,000, 200 requests a page, 60 s of load.")
        started = time.monotonic()
        results = {}
        for size in sizes:
            self.stdout.write(f"== N = {size:,}")
            results[size] = self.measure(size, requests, concurrency_seconds, workers)
        out_dir = Path(out)
        out_dir.mkdir(parents=True, exist_ok=True)
        self.plot(results, out_dir / "p50.png")
        report = self.report(results, time.monotonic() - started, workers)
        (out_dir / "report.md").write_text(report)
        self.stdout.write(report)

    # -- one size --------------------------------------------------------------------------------

    def measure(self, size: int, requests: int, concurrency_seconds: float, workers: int) -> dict:
        var_dir = Path(tempfile.mkdtemp(prefix=f"nasovcf-bench-{size}-"))
        env = {
            **os.environ,
            "NASOVCF_VAR_DIR": str(var_dir),
            "DJANGO_DEBUG": "0",
            "DJANGO_ALLOWED_HOSTS": HOST,
            "NASOVCF_BENCH_FLOOR": "1",
            "WEB_CONCURRENCY": str(workers),
        }
        env.pop("DATABASE_URL", None)  # a scratch SQLite database per size
        try:
            seed_started = time.monotonic()
            self.manage(env, "migrate", "--noinput", "-v0")
            self.manage(env, "seed_demo", "--patients", str(size), "--seed", str(size))
            self.manage(env, "collectstatic", "--noinput", "-v0")
            self.manage(
                env,
                "shell",
                "-c",
                (
                    "from django.contrib.auth.models import User\n"
                    f"User.objects.create_superuser('bench', password='{PASSWORD}')"
                ),
            )
            targets = json.loads(
                self.manage(
                    env,
                    "shell",
                    "-c",
                    (
                        "import json\n"
                        "from scoring.models import Fracture\n"
                        "found = list(Fracture.objects.filter(treatment='conservative')\n"
                        f"             .order_by('-pk')[:{requests + 4}])\n"
                        "f = found[0]\n"
                        "print(json.dumps({'patient': f.patient_id, 'fracture': f.pk, 'mrn': f.patient.mrn[:9],\n"
                        "                  'others': [o.pk for o in found[1:]]}))"
                    ),
                )
                .strip()
                .splitlines()[-1]
            )
            queries = self.count_queries(env, targets)
            seeded = time.monotonic() - seed_started
            port = free_port()
            server = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "--config",
                    "gunicorn.conf.py",
                    "--access-logfile",
                    "/dev/null",
                    "--bind",
                    f"{HOST}:{port}",
                    "nasovcf_site.wsgi:application",
                ],
                cwd=settings.BASE_DIR,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                base = f"http://{HOST}:{port}"
                self.wait_until_up(base, server)
                timings = self.time_pages(base, targets, requests)
                throughput = self.throughput(base, concurrency_seconds)
            finally:
                server.terminate()
                try:
                    server.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    server.kill()
        finally:
            shutil.rmtree(var_dir, ignore_errors=True)
        return {"timings": timings, "queries": queries, "throughput": throughput, "seed_seconds": seeded}

    def manage(self, env: dict, *arguments: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *arguments],
            cwd=settings.BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        if result.returncode != 0:
            raise CommandError(f"manage.py {arguments[0]} failed: {result.stderr[-2000:]}")
        return result.stdout

    def pages(self, targets: dict) -> dict[str, tuple[str, str]]:
        """name → (method, path) of every page measured; the floor first."""
        return {
            FLOOR: ("GET", "/bench/floor/"),
            "patient list (first page)": ("GET", "/patients/"),
            "patient search": ("GET", f"/patients/?q={targets['mrn']}"),
            "patient page": ("GET", f"/patients/{targets['patient']}/"),
            "fracture timeline": ("GET", f"/assessments/{targets['fracture']}/"),
            "worklist": ("GET", "/worklist/"),
            "cohort page": ("GET", "/cohort/"),
            "POST /api/score/": ("API", "/api/score/"),
            # A visit saved on another fracture each time, as a clinic does (not 30 on one).
            "save a visit": ("VISIT", "/assessments/{}/visits/new/"),
        }

    def count_queries(self, env: dict, targets: dict) -> dict[str, int]:
        """SQL queries per page, counted in-process on the same database."""
        script = (
            "import json\n"
            "from django.db import connection\n"
            "from django.test import Client\n"
            "from django.test.utils import CaptureQueriesContext\n"
            "from django.contrib.auth.models import User\n"
            "c = Client(HTTP_HOST='127.0.0.1')\n"
            "c.force_login(User.objects.get(username='bench'))\n"
            f"pages = {json.dumps(self.pages(targets))}\n"
            f"body = {SCORE_BODY.decode()!r}\n"
            "counts = {}\n"
            f"other = {targets['others'][-1]}\n"
            "for name, (method, path) in pages.items():\n"
            # As in the timed run, another page first: the last save's flash message is read there.
            "    c.get('/patients/')\n"
            "    path = path.format(other)\n"
            "    with CaptureQueriesContext(connection) as q:\n"
            "        if method == 'GET':\n"
            "            c.get(path)\n"
            "        elif method == 'API':\n"
            "            c.post(path, body, content_type='application/json')\n"
            "        else:\n"
            "            today = __import__('datetime').date.today().isoformat()\n"
            "            c.post(path, {'kind': 'unscheduled', 'visit_date': today, 'vas_pain': '4'})\n"
            "    counts[name] = len(q.captured_queries)\n"
            "print(json.dumps(counts))\n"
        )
        return json.loads(self.manage(env, "shell", "-c", script).strip().splitlines()[-1])

    def wait_until_up(self, base: str, server: subprocess.Popen) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise CommandError("gunicorn stopped while starting")
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2):
                    return
            except OSError:
                time.sleep(0.3)
        raise CommandError("gunicorn did not answer within 60 s")

    def time_pages(self, base: str, targets: dict, requests: int) -> dict[str, dict]:
        """p50 and p95 of each page. Each page request follows a floor request, and the page's ratio
        is to the median of the floor requests interleaved with it: a shared machine's speed drifts
        over minutes, and a ratio to a floor timed at another moment would carry that drift."""
        session = Session(base)
        session.sign_in("bench")
        today = datetime.date.today().isoformat()
        floor_path = self.pages(targets)[FLOOR][1]
        timings, all_floor = {}, []
        for name, (method, path) in self.pages(targets).items():
            if name == FLOOR:
                continue
            count = max(5, requests // 3) if name == "cohort page" else requests
            samples, floor_samples = [], []
            for i in range(count + 2):  # two warm-up requests per page
                # VISIT: another fracture each time (the last one of "others" counts queries)
                each = path.format(targets["others"][i % (len(targets["others"]) - 1)])
                if method == "GET":
                    call = lambda path=path: session.request(path)  # noqa: E731
                elif method == "API":
                    call = lambda path=path: session.request(  # noqa: E731
                        path, SCORE_BODY, {"Content-Type": "application/json", "X-CSRFToken": session.csrf()}
                    )
                else:
                    body = urllib.parse.urlencode(
                        {
                            "csrfmiddlewaretoken": session.csrf(),
                            "kind": "unscheduled",
                            "visit_date": today,
                            "vas_pain": str(i % 10),
                        }
                    ).encode()
                    call = lambda body=body, each=each: session.request(each, body)  # noqa: E731
                for timed, sink in ((lambda: session.request(floor_path), floor_samples), (call, samples)):
                    begun = time.perf_counter()
                    status = timed()
                    elapsed = time.perf_counter() - begun
                    if status >= 400:
                        raise CommandError(f"{name} answered {status}")
                    if i >= 2:
                        sink.append(elapsed)
            all_floor += floor_samples
            timings[name] = {
                "p50": statistics.median(samples),
                "p95": percentile(samples, 0.95),
                "n": len(samples),
                "floor_p50": statistics.median(floor_samples),
            }
            self.stdout.write(
                f"   {name}: p50 {timings[name]['p50'] * 1000:.1f} ms "
                f"(floor beside it {timings[name]['floor_p50'] * 1000:.1f} ms)"
            )
        floor = {"p50": statistics.median(all_floor), "p95": percentile(all_floor, 0.95), "n": len(all_floor)}
        floor["floor_p50"] = floor["p50"]
        self.stdout.write(f"   {FLOOR}: p50 {floor['p50'] * 1000:.1f} ms")
        return {FLOOR: floor, **timings}

    def throughput(self, base: str, seconds: float, clients: int = 8) -> dict[str, float]:
        """Requests per second with 8 concurrent clients, for the list page and the API."""
        result = {}
        for name, path, body in (("patient list", "/patients/", None), ("POST /api/score/", "/api/score/", SCORE_BODY)):
            sessions = [Session(base) for _ in range(clients)]
            for session in sessions:
                session.sign_in("bench")
            done, failed = [0] * clients, [0] * clients
            deadline = time.monotonic() + seconds

            def run(
                n: int, sessions=sessions, path=path, body=body, deadline=deadline, done=done, failed=failed
            ) -> None:
                session = sessions[n]
                headers = {"Content-Type": "application/json", "X-CSRFToken": session.csrf()} if body else None
                while time.monotonic() < deadline:
                    status = session.request(path, body, headers)
                    if status == 200:
                        done[n] += 1
                    else:
                        failed[n] += 1

            threads = [threading.Thread(target=run, args=(n,)) for n in range(clients)]
            begun = time.monotonic()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=seconds + TIMEOUT_S + 5)
            elapsed = time.monotonic() - begun
            result[name] = sum(done) / elapsed
            if sum(failed):
                raise CommandError(f"{sum(failed)} failed requests under load on {name}")
        return result

    # -- the report ----------------------------------------------------------------------------------

    def report(self, results: dict, seconds: float, workers: int) -> str:
        sizes = sorted(results)
        smallest, largest = sizes[0], sizes[-1]
        lines = [
            f"# Benchmark ({datetime.date.today().isoformat()})",
            "",
            f"Machine: {platform.machine()}, {os.cpu_count()} cores, CPython {platform.python_version()}; gunicorn "
            f"{workers} sync workers on loopback, SQLite (WAL); one HTTP client for latencies, 8 for throughput; "
            f"`manage.py bench` took {seconds / 60:.1f} min. Each page request follows a floor request, and a "
            "page's ratio is to the floor requests beside it: absolute times on a shared machine are noise, "
            "and its speed drifts within a run.",
            "",
            "## Caches",
            "",
            CACHES_NOTE,
            "",
        ]
        for size in sizes:
            data = results[size]
            lines += [
                f"## N = {size:,} patients (demo data seeded in {data['seed_seconds']:.0f} s)",
                "",
                "| page | p50 (ms) | p95 (ms) | floor beside it, p50 (ms) | p50 / floor | SQL queries |",
                "|---|---:|---:|---:|---:|---:|",
            ]
            for name, timing in data["timings"].items():
                lines.append(
                    f"| {name} | {timing['p50'] * 1000:.1f} | {timing['p95'] * 1000:.1f} | "
                    f"{timing['floor_p50'] * 1000:.1f} | {timing['p50'] / timing['floor_p50']:.2f} | "
                    f"{data['queries'].get(name, '—')} |"
                )
            lines += [
                "",
                "Throughput, 8 concurrent clients: "
                + "; ".join(f"{name} {rate:.0f} requests/s" for name, rate in data["throughput"].items()),
                "",
            ]
        lines += ["## Targets", ""]
        big, small = results[largest], results[smallest]
        for name, timing in big["timings"].items():
            if name in (FLOOR, "cohort page"):
                continue
            ratio = timing["p50"] / timing["floor_p50"]
            before = small["timings"][name]
            # Growth compares the page's ratio to its floor at both sizes: the raw p50s were timed
            # minutes apart, and the machine's own drift between them is no part of the app's growth.
            growth = ratio / (before["p50"] / before["floor_p50"])
            raw_growth = timing["p50"] / before["p50"]
            limit = TARGET_API_RATIO if name == "POST /api/score/" else TARGET_RATIO
            ok = ratio <= limit and (growth <= TARGET_GROWTH or name == "POST /api/score/")
            lines.append(
                f"- {name}: {ratio:.2f}× the floor at N = {largest:,} (target ≤ {limit}×); "
                f"{growth:.2f}× its ratio at N = {smallest:,} (target ≤ {TARGET_GROWTH}×; raw p50 "
                f"{raw_growth:.2f}×): {'met' if ok else 'NOT met'}"
            )
        cohort = big["timings"]["cohort page"]["p50"]
        lines.append(
            f"- cohort page at N = {largest:,}: p50 {cohort:.2f} s (target < {TARGET_COHORT_S:.0f} s): "
            f"{'met' if cohort < TARGET_COHORT_S else 'NOT met'}"
        )
        grew = [
            name
            for name in small["queries"]
            if any(
                results[later]["queries"][name] > results[earlier]["queries"][name]
                for earlier, later in itertools.pairwise(sizes)
            )
        ]
        lines.append(f"- {QUERIES_TARGET}: {'NOT met' if grew else 'met'}")
        notes = {**NOT_MET_NOTES, QUERIES_TARGET: f"more queries at a larger size on: {', '.join(grew)}."}
        missed = [line.split(":")[0].removeprefix("- ") for line in lines if line.endswith("NOT met")]
        if missed:
            lines += ["", "## Targets not met: why, and the next step", ""]
            lines += [
                f"- **{name}**: {notes.get(name) or notes.get(name.split(' at N = ')[0], 'see the table above.')}"
                for name in missed
            ]
        lines += ["", "![p50 against N](p50.png)", ""]
        return "\n".join(lines)

    def plot(self, results: dict, path: Path) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        sizes = sorted(results)
        figure, axes = plt.subplots(figsize=(7, 4.5))
        for name in results[sizes[0]]["timings"]:
            axes.plot(
                sizes,
                [results[s]["timings"][name]["p50"] * 1000 for s in sizes],
                marker="o",
                label=name,
                linestyle="--" if name == FLOOR else "-",
            )
        axes.set_xscale("log")
        axes.set_yscale("log")
        axes.set_xlabel("patients (N)")
        axes.set_ylabel("p50 latency (ms)")
        axes.legend(fontsize=7, loc="upper left")
        axes.set_title("NASOVCF Clinic: p50 by page against data size", fontsize=10)
        figure.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(figure)
