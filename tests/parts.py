"""`pytest -p tests.parts --part parallel|serial`: the two halves `make test` runs.

The browser tests (Chromium against a live server) and any test that starts servers run after the
rest, one at a time, with the machine to themselves: under xdist on a 2-core CI machine they would
share it with the other workers and their page loads would race the timeouts. Everything else is
independent per worker (its own test database) and runs in parallel.

The option narrows whatever else selects the tests (paths, -m, -k), so `make test PYTEST_ARGS=...`
keeps its meaning: each half runs its share of the caller's selection.
"""

import pytest

SERIAL_MARKERS = ("browser", "servers")


def pytest_addoption(parser):
    parser.addoption(
        "--part",
        choices=("parallel", "serial"),
        help="run only the tests safe under xdist (parallel) or only the browser/server tests (serial)",
    )


@pytest.hookimpl(trylast=True)  # after tests/browser/conftest.py has marked its tests `browser`
def pytest_collection_modifyitems(config, items):
    part = config.getoption("part")
    if part is None:
        return
    want_serial = part == "serial"
    selected, deselected = [], []
    for item in items:
        serial = any(item.get_closest_marker(name) for name in SERIAL_MARKERS)
        (selected if serial == want_serial else deselected).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected
