"""The import's benchmark (manage.py bench_import), end to end at a small size: it builds a file of
demo fractures with all three visits, runs import_cohort's dry run, import and re-import in child
processes on a scratch database, and reports the counts, times, memory and targets. It touches
neither the test database nor the app's own (every database is a scratch file)."""

import io
import re

from django.core.management import call_command

from tools.management.commands.bench_import import Run


def test_the_bench_imports_every_fracture_with_its_three_visits_and_reports_it(tmp_path):
    report = tmp_path / "import.md"

    call_command("bench_import", fractures=30, report=str(report), profile_rows=0, stdout=io.StringIO())

    text = report.read_text()
    assert "30 fractures of 30 patients, each with its 1-, 3- and 6-month visits (90 visits)" in text
    assert "The import created 30 patients, 30 fractures and 90 visits" in text
    assert "the re-import found every fracture and visit unchanged" in text
    runs = re.findall(
        r"^\| (\d)\. [^|]+ \| ([\d.]+) \| ([\d,]+) \| ([\d.]+) \| ([\d.]+) \| (\d+) \| (\d+) \|$", text, re.MULTILINE
    )
    assert [number for number, *_ in runs] == ["1", "2", "3"]
    for _, seconds, rows_per_second, cpu_seconds, _, largest_mb, all_mb in runs:
        assert float(seconds) > 0 and float(cpu_seconds) > 0 and int(rows_per_second.replace(",", "")) >= 0
        assert 30 < int(largest_mb) < 1000 and 30 < int(all_mb) < 1000  # a Django process, well under 1 GB
    targets = re.findall(r"^- (import of 30 fractures|dry run|memory[^:]*): .*: (met|NOT met)$", text, re.MULTILINE)
    assert [name for name, _ in targets] == ["import of 30 fractures", "dry run", "memory (peak of the three runs)"]
    assert "Not profiled (--profile-rows 0)." in text


def test_the_summary_counts_are_read_off_import_cohorts_output():
    run = Run(
        seconds=1.0,
        exit_code=0,
        output=(
            "Imported. 50,000 rows. patients: 50,000 created; fractures: 49,999 created, 1 unchanged; "
            "visits: 150,000 created. 2 row(s) where the file's computed columns differ from the app's.\n"
        ),
        errors="",
        largest_mb=1.0,
        all_mb=1.0,
    )

    assert run.counts() == {
        ("patients", "created"): 50_000,
        ("fractures", "created"): 49_999,
        ("fractures", "unchanged"): 1,
        ("visits", "created"): 150_000,
    }
    assert run.differences() == 2
