"""The validation report's numbers (cohort/report.py): one JSON-able dict, documented, cached."""

import dataclasses
import math
import re
import stat
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command

from cohort import agreement, analysis, data, groups, report, validation

DOC = (Path(__file__).resolve().parents[2] / "docs" / "report-json.md").read_text()
DOCUMENTED = set(re.findall(r"`([a-z_0-9]+)`", DOC))
# The report's objects (the Objects table of docs/report-json.md), by their dataclasses.
REPORTED = [
    analysis.Rate, analysis.GroupTest, analysis.Auc, analysis.CutPerformance, analysis.LogisticFit,
    analysis.OddsRatio, analysis.PairedAuc, analysis.HeadToHead, analysis.HeadToHeadOutcome,
    groups.AcrossGroups, groups.Pairwise, groups.RatePair, groups.Quartiles, groups.MeanSd,
    groups.GroupComparison, groups.BaselineRow, groups.Category, groups.Count,
    agreement.ReaderAgreement, agreement.Icc, agreement.Kappa,
    validation.Calibration, validation.GroupCalibration, validation.Coefficient, validation.DecisionCurve,
    validation.StrategyCurve,
]  # fmt: skip


@pytest.mark.parametrize("dataclass", REPORTED, ids=lambda cls: cls.__name__)
def test_every_field_of_the_reports_objects_is_documented(dataclass):
    assert dataclass.__name__ in DOC
    assert {field.name for field in dataclasses.fields(dataclass)} <= DOCUMENTED


def test_plain_makes_json_of_dataclasses_numpy_and_nan():
    value = {"rate": analysis.Rate(1, 2, 0.5, 0.1, 0.9), "x": np.float64(math.nan), "n": np.int64(3), "t": (1, 2)}
    assert report.plain(value) == {
        "rate": {"events": 1, "n": 2, "rate": 0.5, "ci_low": 0.1, "ci_high": 0.9, "note": ""},
        "x": None,
        "n": 3,
        "t": [1, 2],
    }


@pytest.mark.django_db
def test_every_key_of_the_report_is_documented(user):
    call_command("seed_demo", patients=60, seed=4)
    numbers = report.compute(data.CohortFilter(), data.data_version()).numbers
    assert set(numbers) <= DOCUMENTED
    for section in ("meta", "population", "methods"):
        assert set(numbers[section]) <= DOCUMENTED, section
    assert set(numbers["population"]["eligibility"]) <= DOCUMENTED
    assert set(numbers["methods"]["explanations"]) <= DOCUMENTED
    assert set(numbers["one_per_patient"]) <= DOCUMENTED
    assert set(numbers["paper"]) <= DOCUMENTED
    assert numbers["paper"]["outcomes"]["low"]["progressive_kyphosis"] == {"events": 1, "n": 46}  # as published
    assert numbers["paper"]["univariable_non_union"]["score"]["value"] == 1.754


@pytest.mark.django_db
def test_the_cache_is_private_to_the_apps_user(user, settings, tmp_path):
    location = tmp_path / "cohort-cache"
    settings.CACHES = {
        **settings.CACHES,
        "cohort": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": str(location)},
    }
    call_command("seed_demo", patients=12, seed=2)
    report.get(data.CohortFilter())
    files = list(location.iterdir())
    assert files
    assert stat.S_IMODE(location.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(file.stat().st_mode) == 0o600 for file in files)


def test_the_cache_key_names_the_filter_the_data_and_the_versions():
    everyone = report.cache_key(data.CohortFilter(), "v1")
    assert everyone == report.cache_key(data.CohortFilter(), "v1")
    assert everyone != report.cache_key(data.CohortFilter(), "v2")
    assert everyone != report.cache_key(data.CohortFilter(sex="F"), "v1")
    assert everyone != report.cache_key(data.CohortFilter(eligible=True), "v1")


@pytest.mark.django_db
def test_demo_data_keeps_history_so_seeding_changes_the_data_version(user):
    before = data.data_version()
    call_command("seed_demo", patients=3, seed=9)
    assert data.data_version() != before


def test_a_plots_cache_key_names_the_language_its_words_are_drawn_in():
    from django.utils import translation

    with translation.override("en-gb"):
        english = report.plot_cache_key(data.CohortFilter(), "v1", "roc")
    with translation.override("zh-hans"):
        chinese = report.plot_cache_key(data.CohortFilter(), "v1", "roc")
    assert english != chinese
    assert english.startswith(report.cache_key(data.CohortFilter(), "v1"))  # the report itself holds no words


def test_the_reports_words_stay_words_in_the_cache_and_english_in_the_json():
    import pickle

    from scoring.wording import gettext_noop, text

    note = report.plain({"note": text(gettext_noop("Too few events to fit: %(n)s events"), n=np.int64(3))})
    restored = pickle.loads(pickle.dumps(note))  # the file cache pickles it
    assert restored["note"].params == {"n": 3}
    assert report.english(restored) == {"note": "Too few events to fit: 3 events"}
