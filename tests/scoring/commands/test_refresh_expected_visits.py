"""manage.py refresh_expected_visits: the stored schedule follows new window settings."""

import datetime

import pytest

from scoring.models import ExpectedVisit
from tests.conftest import started

pytestmark = pytest.mark.django_db


def test_refresh_expected_visits_applies_new_window_settings(make_patient, make_fracture, settings):
    from django.core.management import call_command

    fracture = started(make_patient, make_fracture, "WIN", 30)
    settings.NASOVCF_VISIT_WINDOW_DAYS = {"1m": 3, "3m": 14, "6m": 30}
    call_command("refresh_expected_visits", stdout=__import__("io").StringIO())
    row = ExpectedVisit.objects.get(fracture=fracture, kind="1m")
    assert row.window_opens == fracture.treatment_start_date + datetime.timedelta(days=27)
