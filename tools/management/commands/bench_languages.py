"""The benchmark's pages in English and in Chinese (issue 16: no page slower by more than 5 % in
Chinese). One scratch database of N demo patients, gunicorn on loopback, as `manage.py bench` sets
up; two signed-in sessions, one with the language cookie set to 简体中文, take turns on each page
(English then Chinese, then Chinese then English, …) so that a drift of the machine's speed, and
any advantage of going first, falls on both alike. Writes
bench/languages.md.

    .venv/bin/python manage.py bench_languages               # N = 10,000, 40 requests a page
    .venv/bin/python manage.py bench_languages --size 1000 --requests 10   # a quick look
"""

from __future__ import annotations

import datetime
import http.cookiejar
import platform
import statistics
import time
import urllib.parse
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError

from tools.management.commands.bench import FLOOR, HOST, SCORE_BODY, Session
from tools.management.commands.bench import Command as Bench

TARGET_SLOWER = 0.05  # Chinese at most 5 % slower than English, page by page (p50)


class Command(Bench):
    help = "Time each benchmark page in English and in Chinese, in turns; writes bench/languages.md."

    def add_arguments(self, parser):
        parser.add_argument("--size", type=int, default=10_000, help="demo patients")
        parser.add_argument("--requests", type=int, default=40, help="timed requests per page and language")
        parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (the machine has 2 cores)")
        parser.add_argument("--out", default="bench")

    def handle(self, *args, size, requests, workers, out, **options):
        if size > 200_000 or requests > 200:
            raise CommandError("Keep it bounded: up to 200,000 patients, 200 requests a page.")
        started = time.monotonic()
        self.stdout.write(f"== N = {size:,}, English and Chinese in turns")
        result = self.measure(size, requests, 0, workers)
        report = self.language_report(size, result["timings"], requests, workers, time.monotonic() - started)
        out_dir = Path(out)
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "languages.md").write_text(report)
        self.stdout.write(report)

    def throughput(self, base: str, seconds: float, clients: int = 8) -> dict[str, float]:
        return {}  # not this benchmark's question

    def time_pages(self, base: str, targets: dict, requests: int) -> dict[str, dict]:
        english, chinese = Session(base), Session(base)
        english.sign_in("bench")
        chinese.sign_in("bench")
        chinese.jar.set_cookie(language_cookie("zh-hans"))
        today = datetime.date.today().isoformat()
        timings = {}
        for name, (method, path) in self.pages(targets).items():
            if name == FLOOR:
                continue
            count = max(8, requests // 3) if name == "cohort page" else requests
            samples: dict[str, list[float]] = {"en-gb": [], "zh-hans": []}
            for i in range(count + 2):  # two warm-up requests per page and language
                turns = (("en-gb", english), ("zh-hans", chinese))
                for language, session in turns if i % 2 == 0 else turns[::-1]:  # each goes first in turn
                    each = path.format(targets["others"][(2 * i + (language == "zh-hans")) % len(targets["others"])])
                    if method == "GET":
                        call = lambda session=session, path=path: session.request(path)  # noqa: E731
                    elif method == "API":
                        call = lambda session=session, path=path: session.request(  # noqa: E731
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
                        call = lambda session=session, body=body, each=each: session.request(each, body)  # noqa: E731
                    begun = time.perf_counter()
                    status = call()
                    elapsed = time.perf_counter() - begun
                    if status >= 400:
                        raise CommandError(f"{name} in {language} answered {status}")
                    if i >= 2:
                        samples[language].append(elapsed)
            timings[name] = {language: statistics.median(values) for language, values in samples.items()}
            timings[name]["n"] = count
            self.stdout.write(
                f"   {name}: English {timings[name]['en-gb'] * 1000:.1f} ms, "
                f"Chinese {timings[name]['zh-hans'] * 1000:.1f} ms"
            )
        return timings

    def language_report(self, size: int, timings: dict, requests: int, workers: int, seconds: float) -> str:
        rows = []
        missed = []
        for name, t in timings.items():
            change = t["zh-hans"] / t["en-gb"] - 1
            met = change <= TARGET_SLOWER
            if not met:
                missed.append(name)
            rows.append(
                f"| {name} | {t['n']} | {t['en-gb'] * 1000:.1f} | {t['zh-hans'] * 1000:.1f} | "
                f"{change * 100:+.1f} % | {'met' if met else 'NOT MET'} |"
            )
        verdict = (
            "Every page is within 5 % of its English time in Chinese."
            if not missed
            else f"Slower than 5 % in Chinese: {', '.join(missed)}."
        )
        return "\n".join(
            [
                "# The pages in English and in Chinese (issue 16)",
                "",
                f"`manage.py bench_languages --size {size} --requests {requests}`: {size:,} demo patients, gunicorn with "
                f"{workers} workers on loopback ({platform.python_implementation()} {platform.python_version()}, "
                f"{platform.machine()}), a run of {seconds / 60:.1f} min. Two signed-in sessions, one with "
                "the language cookie set to 简体中文, take turns on each page (each going first every other time), after two warm-up requests "
                "each; the table gives each language's median (p50). Target: Chinese at most 5 % slower.",
                "",
                "| page | requests per language | English p50 (ms) | Chinese p50 (ms) | Chinese vs English | target |",
                "|---|---:|---:|---:|---:|---|",
                *rows,
                "",
                verdict,
                "",
            ]
        )


def language_cookie(language: str) -> http.cookiejar.Cookie:
    """The language cookie LocaleMiddleware reads, for the loopback host."""
    return http.cookiejar.Cookie(
        0, settings.LANGUAGE_COOKIE_NAME, language, None, False, HOST, False, False, "/", True,
        False, None, False, None, None, {},
    )  # fmt: skip
