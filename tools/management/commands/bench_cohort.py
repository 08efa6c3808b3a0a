"""Benchmark the cohort page: time it at a given number of fractures and write a report.

Run on a scratch database (it adds demo patients to reach the size asked for):

    NASOVCF_VAR_DIR=$(mktemp -d) .venv/bin/python manage.py bench_cohort --fractures 20000
"""

from __future__ import annotations

import datetime
import platform
import statistics
import time
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from scoring.models import Fracture, Patient

TARGET_SECONDS = 2.0


class Command(BaseCommand):
    help = "Time the cohort page at N fractures (demo data) and write a Markdown report."

    def add_arguments(self, parser):
        parser.add_argument("--fractures", type=int, default=20_000)
        parser.add_argument("--runs", type=int, default=5)
        parser.add_argument("--report", default="bench/cohort.md")

    def handle(self, *args, fractures, runs, report, **options):
        call_command("migrate", interactive=False, verbosity=0)
        if Patient.objects.exclude(mrn__startswith="DEMO-").exists():
            raise CommandError("This database holds real patients: run the benchmark on a scratch database.")
        missing = fractures - Fracture.objects.count()
        if missing > 0:
            call_command("seed_demo", patients=missing, seed=fractures, stdout=self.stdout)
        call_command("collectstatic", interactive=False, verbosity=0)
        User = get_user_model()
        user = User.objects.filter(is_superuser=True).first() or User.objects.create_superuser("bench", password=None)
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(user)
        client.get("/cohort/")  # warm: imports (matplotlib, statsmodels) happen once per worker
        seconds, queries = [], 0
        for _ in range(runs):
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                response = client.get("/cohort/")
                seconds.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise CommandError(f"The cohort page answered {response.status_code}.")
            queries = len(captured.captured_queries)
        median = statistics.median(seconds)
        verdict = "met" if median < TARGET_SECONDS else "NOT met"
        text = "\n".join(
            [
                f"# Cohort page benchmark ({datetime.date.today().isoformat()})",
                "",
                f"- fractures: {Fracture.objects.count()} ({connection.vendor})",
                f"- machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}",
                f"- runs: {runs} (after one warm-up); in-process through Django's test client and all middleware",
                f"- median {median:.3f} s, slowest {max(seconds):.3f} s; SQL queries per page: {queries}",
                f"- target (< {TARGET_SECONDS:.0f} s median at 20,000 fractures): {verdict}",
                "",
            ]
        )
        Path(report).parent.mkdir(parents=True, exist_ok=True)
        Path(report).write_text(text)
        self.stdout.write(text)
