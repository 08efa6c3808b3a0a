"""The benchmark's report (manage.py bench): ratios to the floor beside each page, growth judged on
those ratios, query counts that must not grow, the caches named, and every target missed named
with its reason. Pure: no server, no database."""

from tools.management.commands.bench import CACHES_NOTE, FLOOR, NOT_MET_NOTES, QUERIES_TARGET, Command

PAGES = [
    "patient list (first page)",
    "patient search",
    "patient page",
    "fracture timeline",
    "worklist",
    "cohort page",
    "POST /api/score/",
    "save a visit",
]


def run(p50_ms: dict, floor_ms: float, queries: dict | None = None) -> dict:
    timings = {FLOOR: {"p50": floor_ms / 1000, "p95": floor_ms / 1000, "n": 30, "floor_p50": floor_ms / 1000}}
    for name in PAGES:
        timings[name] = {
            "p50": p50_ms.get(name, 2 * floor_ms) / 1000,
            "p95": 0.01,
            "n": 30,
            "floor_p50": floor_ms / 1000,
        }
    return {
        "timings": timings,
        "queries": {**dict.fromkeys([FLOOR, *PAGES], 4), **(queries or {})},
        "throughput": {"patient list": 100.0},
        "seed_seconds": 1.0,
    }


def targets(report: str) -> dict[str, str]:
    lines = report.split("## Targets\n")[1].split("\n## ")[0].strip().splitlines()
    return {line.split(":")[0].removeprefix("- "): line.rsplit(": ", 1)[1] for line in lines if line.startswith("- ")}


FAST = {"cohort page": 500, "POST /api/score/": 2}


def test_a_machine_twice_as_slow_at_the_larger_size_is_not_growth():
    small = run({**FAST, "patient list (first page)": 10}, floor_ms=2)
    big = run({name: 2 * ms for name, ms in FAST.items()}, floor_ms=4)
    big["timings"]["patient list (first page)"]["p50"] = 0.020  # 5× a 4 ms floor, as at 1,000: beyond 4×
    report = Command().report({1_000: small, 50_000: big}, 60, 2)
    found = targets(report)
    assert found["patient search"] == "met"  # 8 ms beside a 4 ms floor, as 4 beside 2: no growth
    assert found["patient list (first page)"] == "NOT met"
    assert f"**patient list (first page)**: {NOT_MET_NOTES['patient list (first page)']}" in report
    assert "| patient search | 8.0 | 10.0 | 4.0 | 2.00 | 4 |" in report


def test_a_page_within_four_times_the_floor_and_flat_meets_its_target():
    small = run({**FAST, "fracture timeline": 7.6}, floor_ms=2)
    big = run({**FAST, "fracture timeline": 7.8}, floor_ms=2)
    assert targets(Command().report({1_000: small, 50_000: big}, 60, 2))["fracture timeline"] == "met"


def test_growth_beyond_one_and_a_half_times_its_ratio_is_named():
    small = run({**FAST, "worklist": 2}, floor_ms=2)
    big = run({**FAST, "worklist": 5}, floor_ms=2)
    found = targets(Command().report({1_000: small, 50_000: big}, 60, 2))
    assert found["worklist"] == "NOT met"  # 2.5× the floor, but 2.5× its ratio at 1,000
    assert found["cohort page at N = 50,000"] == "met"


def test_the_score_api_beyond_one_and_a_half_times_the_floor_is_named():
    small = run({**FAST, "POST /api/score/": 3.2}, floor_ms=2)
    big = run({**FAST, "POST /api/score/": 3.2}, floor_ms=2)
    assert targets(Command().report({1_000: small, 50_000: big}, 60, 2))["POST /api/score/"] == "NOT met"


def test_fewer_queries_at_a_larger_size_meet_the_target_and_more_do_not():
    small = run(FAST, floor_ms=2, queries={"worklist": 6})
    fewer = run(FAST, floor_ms=2, queries={"worklist": 5})
    assert targets(Command().report({1_000: small, 50_000: fewer}, 60, 2))[QUERIES_TARGET] == "met"
    more = run(FAST, floor_ms=2, queries={"worklist": 7})
    report = Command().report({1_000: small, 10_000: small, 50_000: more}, 60, 2)
    assert targets(report)[QUERIES_TARGET] == "NOT met"
    assert f"**{QUERIES_TARGET}**: more queries at a larger size on: worklist." in report


def test_the_report_names_the_caches_the_app_keeps():
    report = Command().report({1_000: run(FAST, floor_ms=2), 50_000: run(FAST, floor_ms=2)}, 60, 2)
    assert f"## Caches\n\n{CACHES_NOTE}\n" in report
