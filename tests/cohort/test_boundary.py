"""The clinical app does not carry the research statistics stack: it lives in the cohort app.

numpy is not part of that stack here: the radiographs need it (pydicom imports it to read any
DICOM, and the film images are arrays), so the clinical app may load it; pandas, SciPy,
statsmodels, scikit-learn, pingouin and matplotlib stay the cohort app's."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("pandas", "scipy", "statsmodels", "sklearn", "pingouin", "matplotlib")

# Imports every scoring module (migrations aside) and the whole URL conf, in a fresh interpreter,
# and prints which of the statistics packages came with them.
PROBE = """
import importlib, pkgutil, sys
import django
django.setup()
import scoring
for module in pkgutil.walk_packages(scoring.__path__, "scoring."):
    if ".migrations" not in module.name:
        importlib.import_module(module.name)
from django.urls import get_resolver
get_resolver().url_patterns
heavy = sys.argv[1].split(",")
print(" ".join(sorted({m.split(".")[0] for m in sys.modules} & set(heavy))))
"""


def test_importing_the_clinical_app_and_the_urls_loads_no_statistics_package():
    result = subprocess.run(
        [sys.executable, "-c", PROBE, ",".join(HEAVY)],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "nasovcf_site.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"scoring imports {result.stdout.strip()}"
