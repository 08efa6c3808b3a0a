"""The pure clinical core stays pure: no Django import, and mypy --strict passes on it."""

import importlib.util
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PURE_MODULES = [
    "scoring.rules",
    "scoring.measurements",
    "scoring.outcomes",
    "scoring.followup",
    "scoring.paper",
    "scoring.charts",
    "scoring.radiograph",
    "scoring.wording",
]

# Imports the module in a fresh interpreter and prints every Django module that came with it.
PROBE = """
import importlib, sys
importlib.import_module(sys.argv[1])
print(" ".join(sorted(m for m in sys.modules if m == "django" or m.startswith("django."))))
"""


def _without_django_settings() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}


@pytest.mark.parametrize("module", PURE_MODULES)
def test_pure_module_imports_without_django(module):
    result = subprocess.run(
        [sys.executable, "-c", PROBE, module],
        cwd=ROOT,
        env=_without_django_settings(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"{module} imports Django: {result.stdout.strip()}"


def test_mypy_checks_exactly_the_pure_core_strictly():
    mypy = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    assert mypy["strict"] is True
    assert sorted(mypy["files"]) == sorted(f"{module.replace('.', '/')}.py" for module in PURE_MODULES)


def test_pure_core_passes_mypy_strict(tmp_path):
    if importlib.util.find_spec("mypy") is None:
        pytest.skip("mypy is not installed (requirements.txt pins it)")
    # The files and the strict settings come from pyproject.toml; a cache of this run only, so a
    # parallel `make lint` never shares one with it.
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "mypy_cache")],
        cwd=ROOT,
        env=_without_django_settings(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
