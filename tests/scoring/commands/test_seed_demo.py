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


def test_seed_demo_keeps_each_film_s_first_reader_as_the_forms_do(demo):
    """The assessment and visit forms keep the first reader's own VHL and angle on every film
    (TwoReaderFields.apply_readers): with one reader they are the film's values."""
    from django.db.models import F

    assert not Fracture.objects.filter(first_vhl_percent__isnull=True).exists()
    assert not Fracture.objects.filter(first_kyphosis_angle_deg__isnull=True).exists()
    one_reader = Fracture.objects.filter(second_vhl_percent__isnull=True)
    assert one_reader.exists() and Fracture.objects.filter(second_vhl_percent__isnull=False).exists()
    assert (
        one_reader.filter(first_vhl_percent=F("vhl_percent"), first_kyphosis_angle_deg=F("kyphosis_angle_deg")).count()
        == one_reader.count()
    )
    films = Visit.objects.filter(vhl_percent__isnull=False)
    assert films.exists() and films.count() == Visit.objects.filter(kyphosis_angle_deg__isnull=False).count()
    assert (
        films.filter(first_vhl_percent=F("vhl_percent"), first_kyphosis_angle_deg=F("kyphosis_angle_deg")).count()
        == films.count()
    )
    assert not Visit.objects.filter(vhl_percent__isnull=True, first_vhl_percent__isnull=False).exists()
