"""The demo cohort (manage.py seed_demo): scored by the rules, in the paper's proportions, apart."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from scoring.models import Fracture, Patient, Visit

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(user):
    call_command("seed_demo", patients=400, seed=11)


def test_seed_demo_makes_a_cohort_that_scores_by_the_rules(demo):
    assert Patient.objects.count() == 400
    assert not Patient.objects.exclude(mrn__startswith="DEMO-").exists()
    for fracture in Fracture.objects.select_related("patient")[:80]:
        stored = (fracture.total_score, fracture.risk_group, fracture.population_warnings)
        fracture.rescore()
        assert (fracture.total_score, fracture.risk_group, fracture.population_warnings) == stored
    shares = {g: Fracture.objects.filter(risk_group=g).count() / 400 for g in ("low", "medium", "high")}
    assert shares["low"] == pytest.approx(47 / 208, abs=0.08)
    assert shares["medium"] == pytest.approx(98 / 208, abs=0.08)
    high = Fracture.objects.filter(risk_group="high", non_union__isnull=False)
    assert high.filter(non_union=True).count() / high.count() == pytest.approx(39 / 63, abs=0.15)
    assert Visit.objects.filter(kind="6m").exists()


def test_seed_demo_refuses_to_mix_with_real_patients(make_patient, demo):
    make_patient(mrn="REAL1")
    with pytest.raises(CommandError, match="holds real patients"):
        call_command("seed_demo", patients=5)
    call_command("seed_demo", patients=5, allow_mixed=True)
    assert Patient.objects.filter(mrn__startswith="DEMO-").count() == 405


def test_seed_demo_ages_are_60_or_over_and_rows_belong_to_a_demo_account(demo):
    assert Fracture.objects.filter(age_at_assessment__lt=60).count() == 0
    assert set(Fracture.objects.values_list("created_by__username", flat=True)) == {"demo-data"}
