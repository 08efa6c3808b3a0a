"""The import's benchmark: a file of N fractures, each with its 1-, 3- and 6-month visits, checked
and imported into a new empty database by `manage.py import_cohort`, each run a child process
timed by the wall clock, with its memory read off the kernel. Writes bench/import.md.

    make bench                                                      # N = 50,000
    .venv/bin/python manage.py bench_import --fractures 2000 --report /tmp/import.md   # a quick look

The file is the identified export of a seeded demo cohort (`seed_demo`): the very table a clinic
would bring back. Three runs on a database that starts empty, in this order: the dry run (the
check alone), the import (which checks again, then writes), and the dry run again on the now-full
database (a re-import: everything unchanged). Then, at a small N and in one process, the dry run
and the import once more under cProfile: where the time goes.

Bounded: every database is a scratch SQLite file under a temporary directory, removed at the end.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import datetime
import itertools
import os
import platform
import pstats
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

# The targets, on this project's 2-core machine.
TARGET_IMPORT_S = 120.0
TARGET_DRY_RUN_S = 60.0
TARGET_MEMORY_MB = 1000.0
KINDS = ("1m", "3m", "6m")
USERNAME = "bench-clinician"
DEMO_PREFIX = "DEMO-"
DATABASE_FILE = "nasovcf.sqlite3"
CHILD_TIMEOUT_S = 1800
SAMPLE_EVERY_S = 1.0  # reading a large process's smaps_rollup costs some 10 ms of CPU
TOP = 15

# A migrated empty database with a clinician to attribute the import to.
PREPARE = (
    "from django.contrib.auth.models import Group, User\n"
    "from django.core.management import call_command\n"
    "call_command('migrate', interactive=False, verbosity=0)\n"
    f"User.objects.create_user({USERNAME!r}, password=None).groups.add(Group.objects.get(name='clinician'))\n"
)
# N demo patients, and the identified export of them all.
SEED_AND_EXPORT = (
    "from pathlib import Path\n"
    "from django.core.management import call_command\n"
    "from cohort import data, exports\n"
    "call_command('seed_demo', patients={patients}, seed={patients}, verbosity=0)\n"
    "Path({path!r}).write_bytes(exports.to_csv(exports.build(data.read(data.CohortFilter()), identified=True)))\n"
)
# The command's own work under the profiler: Django's start and the modules' imports come first.
PROFILE = (
    "import cProfile\n"
    "from django.core.management import call_command\n"
    "import cohort.management.commands.import_cohort\n"
    "arguments = {arguments!r}\n"
    "cProfile.runctx('call_command(\"import_cohort\", *arguments)', globals(), locals(), {out!r})\n"
)
# The summary import_cohort prints: "patients: 2 to create, 1 unchanged; fractures: …; visits: …."
COUNT_WORDS = re.compile(r"([\d,]+) (to create|to update|created|updated|unchanged)")
DIFFERENCES = re.compile(r"([\d,]+) row\(s\) where the file's computed columns differ")


@dataclasses.dataclass
class Run:
    """One child process: its wall time, output, and peak memory two ways (see `memory_note`)."""

    seconds: float
    exit_code: int
    output: str
    errors: str
    largest_mb: float  # the peak RSS of its largest process (getrusage, from the kernel)
    all_mb: float  # the peak of its processes' PSS summed (sampled)
    cpu_seconds: float = 0.0  # user + system time of its processes
    load: float = 0.0  # the machine's load average (1 min) as it ended

    @property
    def memory_mb(self) -> float:
        return max(self.largest_mb, self.all_mb)

    def counts(self) -> dict[tuple[str, str], int]:
        """(record, action) → number, read off the summary import_cohort prints."""
        found = {}
        for record, words in re.findall(r"(patients|fractures|visits): ([^;]*?)(?:;|\.(?:\s|$))", self.output):
            for number, action in COUNT_WORDS.findall(words):
                found[(record, action)] = int(number.replace(",", ""))
        return found

    def differences(self) -> int:
        match = DIFFERENCES.search(self.output)
        return int(match.group(1).replace(",", "")) if match else 0


def process_tree(root: int) -> list[int]:
    """`root` and every process below it (an import's check forks one worker per core)."""
    parents = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    tree, frontier = [root], {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier}
        tree += frontier
    return tree


def proportional_kb(pid: int) -> int:
    """A process's proportional set size: its private pages, and its share of the pages it shares
    (a forked worker shares its parent's table until either writes to it). Its RSS where the
    kernel has no smaps_rollup."""
    for name, key in (("smaps_rollup", "Pss:"), ("status", "VmRSS:")):
        try:
            with open(f"/proc/{pid}/{name}") as lines:
                for line in lines:
                    if line.startswith(key):
                        return int(line.split()[1])
        except OSError:
            continue
    return 0


class TreeMemory(threading.Thread):
    """The peak, over a child's life, of the memory all its processes hold together."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak_kb = pid, 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.peak_kb = max(self.peak_kb, sum(proportional_kb(pid) for pid in process_tree(self.pid)))
            self.done.wait(SAMPLE_EVERY_S)

    def stop(self) -> None:
        self.done.set()
        self.join()


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy of an SQLite database (its WAL included), through SQLite's backup."""
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.closing(sqlite3.connect(source)) as old, contextlib.closing(sqlite3.connect(target)) as new:
        old.backup(new)


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def short_name(where: tuple[str, int, str]) -> str:
    """A profile entry as `path:line(function)`, the path from the project or site-packages."""
    file, line, function = where
    if file == "~":
        return function
    path = file.split("site-packages/", 1)[1] if "site-packages/" in file else file
    with contextlib.suppress(ValueError):
        path = str(Path(file).relative_to(settings.BASE_DIR))
    return f"{path}:{line}({function})"


def profile_table(path: Path, key: int) -> list[str]:
    """The profile's top entries by cumulative (key 3) or own (key 2) time, as a Markdown table."""
    entries = sorted(pstats.Stats(str(path)).stats.items(), key=lambda item: item[1][key], reverse=True)[:TOP]
    lines = ["| function | calls | cumulative (s) | own (s) |", "|---|---:|---:|---:|"]
    for where, (_, calls, own, cumulative, _) in entries:
        name = short_name(where).replace("|", "\\|")
        lines.append(f"| `{name}` | {calls:,} | {cumulative:.2f} | {own:.2f} |")
    return lines


class Command(BaseCommand):
    help = "Benchmark import_cohort: N fractures with three visits each, dry run and import; writes bench/import.md."

    def add_arguments(self, parser):
        parser.add_argument("--fractures", type=int, default=50_000)
        parser.add_argument("--report", default="bench/import.md")
        parser.add_argument(
            "--profile-rows",
            type=int,
            default=5_000,
            help="rows of the file profiled (at most --fractures; 0: no profile)",
        )

    def handle(self, *args, fractures, report, profile_rows, **options):
        if not 1 <= fractures <= 200_000:
            raise CommandError("--fractures takes 1 to 200000.")
        started = time.monotonic()
        load = os.getloadavg()[0]
        work = Path(tempfile.mkdtemp(prefix="nasovcf-bench-import-"))
        try:
            built = self.build(work, fractures)
            runs = self.measure(work, built["path"], fractures)
            rows = min(profile_rows, fractures)
            profiles = self.profile(work, built["path"], rows) if rows > 0 else {}
        finally:
            shutil.rmtree(work, ignore_errors=True)
        text = self.report(fractures, built, runs, profiles, load, time.monotonic() - started)
        Path(report).parent.mkdir(parents=True, exist_ok=True)
        Path(report).write_text(text)
        self.stdout.write(text)

    # -- children ----------------------------------------------------------------------------------

    def env(self, var_dir: Path, **extra: str) -> dict[str, str]:
        env = {**os.environ, "NASOVCF_VAR_DIR": str(var_dir), "DJANGO_DEBUG": "0", **extra}
        env.pop("DATABASE_URL", None)  # scratch SQLite databases only
        return env

    def manage(self, env: dict, *arguments: str) -> str:
        """A step that is not measured (building the file)."""
        result = subprocess.run(
            [sys.executable, "manage.py", *arguments],
            cwd=settings.BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=CHILD_TIMEOUT_S,
        )
        if result.returncode != 0:
            raise CommandError(f"manage.py {arguments[0]} failed: {result.stderr[-2000:]}")
        return result.stdout

    def measured(self, env: dict, *arguments: str) -> Run:
        """A child process timed by the wall clock. Its own rusage (os.wait4: this child's alone,
        not the largest of every child so far as RUSAGE_CHILDREN would give) holds the peak RSS
        of its largest process; a sampler sums all its processes' memory meanwhile."""
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            begun = time.perf_counter()
            child = subprocess.Popen(
                [sys.executable, *arguments], cwd=settings.BASE_DIR, env=env, stdout=out, stderr=err
            )
            sampler = TreeMemory(child.pid)
            sampler.start()
            timer = threading.Timer(CHILD_TIMEOUT_S, child.kill)
            timer.start()
            try:
                _, status, usage = os.wait4(child.pid, 0)
            finally:
                timer.cancel()
                sampler.stop()
            seconds = time.perf_counter() - begun
            child.returncode = os.waitstatus_to_exitcode(status)
            out.seek(0)
            err.seek(0)
            return Run(
                seconds=seconds,
                exit_code=child.returncode,
                output=out.read().decode(errors="replace"),
                errors=err.read().decode(errors="replace"),
                largest_mb=usage.ru_maxrss * 1024 / 1e6,  # KiB on Linux
                all_mb=sampler.peak_kb * 1024 / 1e6,
                cpu_seconds=usage.ru_utime + usage.ru_stime,
                load=os.getloadavg()[0],
            )

    def import_cohort(self, path: Path, *options: str) -> list[str]:
        return ["manage.py", "import_cohort", str(path), *options]

    # -- the file ----------------------------------------------------------------------------------

    def build(self, work: Path, fractures: int) -> dict:
        """The identified export of `fractures` demo patients, kept to the fractures with all three
        visits (a recent or operated fracture has fewer), and topped up to `fractures` rows with
        copies of those under new MRNs. Also a migrated empty database with a clinician, for the runs."""
        self.stdout.write(f"== building the file: {fractures:,} fractures with three visits each")
        begun = time.monotonic()
        source = work / "source"
        env = self.env(source)
        self.manage(env, "shell", "-c", PREPARE)
        copy_database(source / DATABASE_FILE, work / "empty" / DATABASE_FILE)
        exported = work / "export.csv"
        self.manage(env, "shell", "-c", SEED_AND_EXPORT.format(patients=fractures, path=str(exported)))
        with exported.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            columns = next(reader)
            rows = list(reader)
        at = {name: number for number, name in enumerate(columns)}
        complete = [row for row in rows if all(row[at[f"visit_{kind}_date"]] for kind in KINDS)]
        if not complete:
            raise CommandError("No demo fracture has all three visits: seed more patients.")
        chosen = complete[:fractures]
        last = max(int(row[at["patient"]].removeprefix(DEMO_PREFIX)) for row in rows)
        for number, row in zip(itertools.count(last + 1), itertools.cycle(complete)):
            if len(chosen) >= fractures:
                break
            copy = list(row)
            copy[at["patient"]] = f"{DEMO_PREFIX}{number:06d}"
            copy[at["name"]] = f"Demo Patient {number}"
            copy[at["fracture_id"]] = ""
            chosen.append(copy)
        path = work / "cohort-bench.csv"
        self.write_csv(path, columns, chosen)
        shutil.rmtree(source, ignore_errors=True)
        exported.unlink()
        return {
            "path": path,
            "columns": columns,
            "seeded": fractures,
            "complete": min(len(complete), fractures),
            "copies": max(0, fractures - len(complete)),
            "megabytes": path.stat().st_size / 1e6,
            "seconds": time.monotonic() - begun,
        }

    def write_csv(self, path: Path, columns: list[str], rows: list[list[str]]) -> None:
        with path.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            writer.writerows(rows)

    # -- the runs ------------------------------------------------------------------------------------

    def measure(self, work: Path, path: Path, fractures: int) -> dict[str, Run]:
        target = work / "target"
        copy_database(work / "empty" / DATABASE_FILE, target / DATABASE_FILE)
        env = self.env(target)
        visits = len(KINDS) * fractures
        runs = {}
        steps = (
            ("dry run", ["--dry-run"], {("fractures", "to create"): fractures, ("visits", "to create"): visits}),
            ("import", ["--user", USERNAME], {("fractures", "created"): fractures, ("visits", "created"): visits}),
            ("re-import", ["--dry-run"], {("fractures", "unchanged"): fractures, ("visits", "unchanged"): visits}),
        )
        for name, options, expected in steps:
            self.stdout.write(f"== {name}")
            run = self.measured(env, *self.import_cohort(path, *options))
            self.stdout.write(f"   {run.seconds:.1f} s, {run.memory_mb:.0f} MB: {run.output.strip()[-300:]}")
            self.expect(name, run, expected)
            runs[name] = run
        return runs

    def expect(self, name: str, run: Run, expected: dict[tuple[str, str], int]) -> None:
        if run.exit_code != 0:
            raise CommandError(f"The {name} failed (exit {run.exit_code}): {run.output[-1500:]}{run.errors[-1500:]}")
        counts = run.counts()
        wrong = {key: counts.get(key, 0) for key, number in expected.items() if counts.get(key, 0) != number}
        if name == "re-import":  # unchanged means nothing else
            wrong |= {key: number for key, number in counts.items() if key[1] != "unchanged"}
        if wrong:
            raise CommandError(f"The {name} did not do what it should ({wrong}, expected {expected}): {run.output}")

    # -- where the time goes --------------------------------------------------------------------------

    def profile(self, work: Path, path: Path, rows: int) -> dict:
        """The dry run and the import of the file's first `rows` rows under cProfile, each on an
        empty database and in one process (a pool's workers are out of the profiler's sight)."""
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            columns = next(reader)
            head = list(itertools.islice(reader, rows))
        subset = work / "profile.csv"
        self.write_csv(subset, columns, head)
        found = {"rows": rows}
        for name, options in (("dry run", ["--dry-run"]), ("import", ["--user", USERNAME])):
            self.stdout.write(f"== profile: {name}, {rows:,} rows")
            var_dir = work / f"profile-{name.replace(' ', '-')}"
            copy_database(work / "empty" / DATABASE_FILE, var_dir / DATABASE_FILE)
            out = work / f"{var_dir.name}.prof"
            env = self.env(var_dir, NASOVCF_IMPORT_PROCESSES="1")
            script = PROFILE.format(arguments=[str(subset), *options], out=str(out))
            run = self.measured(env, "manage.py", "shell", "-c", script)
            if run.exit_code != 0:
                raise CommandError(f"The profiled {name} failed: {run.output[-1500:]}{run.errors[-1500:]}")
            found[name] = {
                "seconds": run.seconds,
                "cumulative": profile_table(out, 3),
                "own": profile_table(out, 2),
            }
        return found

    # -- the report ------------------------------------------------------------------------------------

    def report(self, fractures: int, built: dict, runs: dict[str, Run], profiles: dict, load: float, seconds: float):
        dry, imported, again = runs["dry run"], runs["import"], runs["re-import"]
        created = imported.counts()
        memory = max(run.memory_mb for run in runs.values())
        processes = min(os.cpu_count() or 1, settings.NASOVCF_IMPORT_PROCESSES)
        parallel = fractures >= settings.NASOVCF_IMPORT_PARALLEL_ROWS and processes > 1
        lines = [
            f"# Import benchmark ({datetime.date.today().isoformat()})",
            "",
            f"Machine: {platform.machine()}, {os.cpu_count()} cores ({cpu_model()}), CPython "
            f"{platform.python_version()}; load average {load:.2f} when it began; SQLite (WAL) in a scratch "
            f"directory; the check in {processes if parallel else 1} process(es). `manage.py bench_import` "
            f"took {seconds / 60:.1f} min. Each run is `manage.py import_cohort` in a child process, timed by the "
            "wall clock from its start to its exit (Django's start included).",
            "",
            "## The file",
            "",
            f"- {fractures:,} fractures of {fractures:,} patients, each with its 1-, 3- and 6-month visits "
            f"({len(KINDS) * fractures:,} visits): a CSV of {len(built['columns'])} columns, {built['megabytes']:.1f} MB.",
            f"- The identified export of `seed_demo --patients {built['seeded']:,}`: {built['complete']:,} of its "
            f"fractures have all three visits (a recent or operated fracture has fewer); "
            f"{built['copies']:,} more rows are copies of those under new MRNs. Built in "
            f"{built['seconds']:.0f} s (not part of the numbers below).",
            "",
            "## The runs",
            "",
            "| run | wall (s) | rows/s | CPU (s) | load average | memory, largest process (MB) | "
            "memory, all its processes (MB) |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        names = {
            "dry run": "1. dry run, empty database (the check)",
            "import": "2. import (checks once, then writes what the check built)",
            "re-import": "3. dry run again, full database (a re-import)",
        }
        for key, run in runs.items():
            lines.append(
                f"| {names[key]} | {run.seconds:.1f} | {fractures / run.seconds:,.0f} | {run.cpu_seconds:.1f} | "
                f"{run.load:.1f} | {run.largest_mb:.0f} | {run.all_mb:.0f} |"
            )
        lines += [
            "",
            f"- The import created {created.get(('patients', 'created'), 0):,} patients, "
            f"{created.get(('fractures', 'created'), 0):,} fractures and {created.get(('visits', 'created'), 0):,} "
            "visits; the re-import found every fracture and visit unchanged.",
            f"- The import's time: its check {dry.seconds:.1f} s (run 1); the writing {imported.seconds - dry.seconds:.1f} s "
            "(run 2 − run 1, with the check's worker processes turning the new records into rows of database "
            "values): those rows are kept (one file a chunk, in a private temporary directory) and written as they "
            "are, not checked a second time, while the file and the stored records it names are the ones checked "
            f"(importing.Checked). The re-import's check reads the stored records "
            f"too: {again.seconds:.1f} s.",
            f"- CPU: the user and system time of the run's processes (the check's workers included); load "
            f"average: the machine's, over the minute before the run ended. With {os.cpu_count()} cores, a load "
            "above that means other work shared them, and the wall time grew with it; the CPU time much less.",
            f"- Rows where the file's computed columns differ from the app's: {dry.differences():,}.",
            "- Memory: the largest process's peak RSS from the kernel (`os.wait4`, exact); all its processes: "
            f"the sum of their proportional set sizes (shared pages split among those sharing them), sampled every "
            f"{SAMPLE_EVERY_S} s. A target is judged on the larger.",
            "",
            "## Targets",
            "",
            self.verdict(f"import of {fractures:,} fractures", imported.seconds, TARGET_IMPORT_S, "s"),
            self.verdict("dry run", dry.seconds, TARGET_DRY_RUN_S, "s"),
            self.verdict("memory (peak of the three runs)", memory, TARGET_MEMORY_MB, "MB"),
            "",
        ]
        lines += self.profile_section(profiles)
        return "\n".join(lines) + "\n"

    def profile_section(self, profiles: dict) -> list[str]:
        if not profiles:
            return ["## Where the time goes", "", "Not profiled (--profile-rows 0)."]
        lines = [
            f"## Where the time goes (cProfile, the file's first {profiles['rows']:,} rows, one process)",
            "",
            "Each on an empty database, in one process (NASOVCF_IMPORT_PROCESSES=1) so the profiler sees "
            "every row; the command's own work only (Django's start and the modules' imports come before "
            "the profiler). The time is with the profiler's overhead.",
        ]
        for name in ("dry run", "import"):
            found = profiles[name]
            lines += [
                "",
                f"### {name.capitalize()}: {found['seconds']:.1f} s under the profiler",
                "",
                f"Top {TOP} by cumulative time:",
                "",
                *found["cumulative"],
                "",
                f"Top {TOP} by own time:",
                "",
                *found["own"],
            ]
        return lines

    def verdict(self, what: str, value: float, target: float, unit: str) -> str:
        return (
            f"- {what}: {value:,.1f} {unit} (target < {target:,.0f} {unit}): {'met' if value < target else 'NOT met'}"
        )
