"""The benchmark's report (manage.py bench): ratios to the floor beside each page, growth judged on
those ratios, and every target missed named with its reason. Pure: no server, no database."""

from scoring.management.commands.bench import COLD_TIMELINE, FLOOR, NOT_MET_NOTES, Command

PAGES = ["patient list (first page)", "patient search", "patient page", "fracture timeline", COLD_TIMELINE,
         "worklist", "cohort page", "POST /api/score/", "save a visit"]


def run(p50_ms: dict, floor_ms: float) -> dict:
    timings = {FLOOR: {"p50": floor_ms / 1000, "p95": floor_ms / 1000, "n": 30, "floor_p50": floor_ms / 1000}}
    for name in PAGES:
        timings[name] = {"p50": p50_ms.get(name, 2 * floor_ms) / 1000, "p95": 0.01, "n": 30, "floor_p50": floor_ms / 1000}
    return {"timings": timings, "queries": dict.fromkeys([FLOOR, *PAGES], 4), "throughput": {"patient list": 100.0},
            "seed_seconds": 1.0}


def targets(report: str) -> dict[str, str]:
    lines = report.split("## Targets\n")[1].split("\n## ")[0].strip().splitlines()
    return {line.split(":")[0].removeprefix("- "): line.rsplit(": ", 1)[1] for line in lines}


def test_a_machine_twice_as_slow_at_the_larger_size_is_not_growth():
    small = run({"cohort page": 500, "POST /api/score/": 2}, floor_ms=2)
    big = run({name: 2 * ms for name, ms in {"cohort page": 500, "POST /api/score/": 2}.items()}, floor_ms=4)
    big["timings"]["patient list (first page)"]["p50"] = 0.016  # 4× a 4 ms floor: beyond 3×
    report = Command().report({1_000: small, 50_000: big}, 60, 2)
    found = targets(report)
    assert found["patient search"] == "met"  # 8 ms beside a 4 ms floor, as 4 beside 2: no growth
    assert found["patient list (first page)"] == "NOT met"
    assert f"**patient list (first page)**: {NOT_MET_NOTES['patient list (first page)']}" in report
    assert "| patient search | 8.0 | 10.0 | 4.0 | 2.00 | 4 |" in report


def test_growth_beyond_one_and_a_half_times_its_ratio_is_named():
    small = run({"cohort page": 500, "POST /api/score/": 2, "worklist": 2}, floor_ms=2)
    big = run({"cohort page": 500, "POST /api/score/": 2, "worklist": 5}, floor_ms=2)
    found = targets(Command().report({1_000: small, 50_000: big}, 60, 2))
    assert found["worklist"] == "NOT met"  # 2.5× the floor, but 2.5× its ratio at 1,000
    assert found["cohort page at N = 50,000"] == "met"
