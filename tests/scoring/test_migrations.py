"""Migrations move data forward without losing any: from the schema before the redesign (the
worklist's bit mask, migration 0011) to the expected visits stored as rows (0013)."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = ("scoring", "0011_worklist_awaiting_indexes")
AFTER = ("scoring", "0013_expected_visits")


def _fracture(apps, patient, user, **fields):
    values = {
        "patient_id": patient.pk,
        "assessment_date": datetime.date(2026, 1, 5),
        "treatment_start_date": datetime.date(2026, 1, 5),
        "level": "T12",
        "low_energy_trauma": True,
        "fracture_type": "compression",
        "vhl_percent": Decimal("17.8"),
        "kyphosis_angle_deg": Decimal("19.6"),
        "t2_signal": "diffuse_low",
        "bmd_t_score": Decimal("-3.6"),
        "treatment": "conservative",
        "age_at_assessment": 72,
        "total_score": 10,
        "risk_group": "high",
        "score_components": {},
        "rules_version": "NASOVCF-2025",
        "created_by_id": user.pk,
        "updated_by_id": user.pk,
    }
    values.update(fields)
    return apps.get_model("scoring", "Fracture").objects.create(**values)


@pytest.mark.django_db(transaction=True)
def test_expected_visits_are_filled_for_existing_fractures_and_nothing_is_lost():
    executor = MigrationExecutor(connection)
    try:
        executor.migrate([BEFORE])
        old = executor.loader.project_state([BEFORE]).apps
        user = old.get_model("auth", "User").objects.create(username="entered")
        patient = old.get_model("scoring", "Patient").objects.create(
            mrn="MIG-1",
            name="Migrated Patient",
            sex="F",
            date_of_birth=datetime.date(1953, 6, 1),
            created_by_id=user.pk,
            updated_by_id=user.pk,
        )
        followed = _fracture(old, patient, user, recorded_visits=1)
        operated = _fracture(old, patient, user, level="L1", treatment="vertebroplasty")
        changed = _fracture(
            old,
            patient,
            user,
            level="L2",
            treatment_changed_to="kyphoplasty",
            treatment_changed_on=datetime.date(2026, 1, 20),
        )
        archived = _fracture(
            old, patient, user, level="T11", archived_at=datetime.datetime(2026, 2, 1, tzinfo=datetime.UTC)
        )
        visit = old.get_model("scoring", "Visit").objects.create(
            fracture_id=followed.pk,
            kind="1m",
            visit_date=datetime.date(2026, 2, 4),
            vas_pain=Decimal("4.0"),
            created_by_id=user.pk,
            updated_by_id=user.pk,
        )
        old.get_model("scoring", "Visit").objects.create(
            fracture_id=followed.pk,
            kind="unscheduled",
            visit_date=datetime.date(2026, 2, 20),
            vas_pain=Decimal("3.0"),
            created_by_id=user.pk,
            updated_by_id=user.pk,
        )

        executor = MigrationExecutor(connection)
        executor.migrate([AFTER])
        new = executor.loader.project_state([AFTER]).apps
        expected = new.get_model("scoring", "ExpectedVisit").objects.order_by("kind")
        rows = list(
            expected.values_list(
                "fracture_id", "kind", "due_date", "window_opens", "window_closes", "listed_until", "visit_id"
            )
        )
        assert rows == [
            (
                followed.pk,
                "1m",
                datetime.date(2026, 2, 4),
                datetime.date(2026, 1, 28),
                datetime.date(2026, 2, 11),
                datetime.date(2026, 3, 21),
                visit.pk,
            ),  # listed until the day before the 3-month window opens
            (
                followed.pk,
                "3m",
                datetime.date(2026, 4, 5),
                datetime.date(2026, 3, 22),
                datetime.date(2026, 4, 19),
                datetime.date(2026, 6, 3),
                None,
            ),
            (
                followed.pk,
                "6m",
                datetime.date(2026, 7, 4),
                datetime.date(2026, 6, 4),
                datetime.date(2026, 8, 3),
                datetime.date(2026, 11, 1),
                None,
            ),  # 90 days after its window closed
        ]
        fractures = new.get_model("scoring", "Fracture").objects
        assert sorted(fractures.values_list("pk", flat=True)) == sorted(
            [followed.pk, operated.pk, changed.pk, archived.pk]
        )
        kept = fractures.get(pk=followed.pk)
        assert (kept.vhl_percent, kept.kyphosis_angle_deg, kept.total_score, kept.risk_group) == (
            Decimal("17.8"),
            Decimal("19.6"),
            10,
            "high",
        )
        assert new.get_model("scoring", "Visit").objects.count() == 2
        assert new.get_model("scoring", "Patient").objects.get().name == "Migrated Patient"
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_two_readers_migration_keeps_every_saved_score_and_its_rules_version():
    """0014 widens the film values to 0.01 (an unrounded two-reader mean) and adds the follow-up
    films' readers: a saved assessment keeps its values, its score and its rules version (spec §2,
    revised Decision: it is scored anew only when saved again)."""
    before, after = ("scoring", "0013_expected_visits"), ("scoring", "0014_two_readers_on_every_film")
    executor = MigrationExecutor(connection)
    try:
        executor.migrate([before])
        old = executor.loader.project_state([before]).apps
        user = old.get_model("auth", "User").objects.create(username="entered")
        patient = old.get_model("scoring", "Patient").objects.create(
            mrn="MIG-2", sex="F", date_of_birth=datetime.date(1953, 6, 1), created_by_id=user.pk, updated_by_id=user.pk
        )
        # Two readers, 14.9 % and 15.0 %: the old rules scored their mean rounded, 15.0 %, 2 points.
        fracture = _fracture(
            old,
            patient,
            user,
            vhl_percent=Decimal("15.0"),
            first_vhl_percent=Decimal("14.9"),
            second_vhl_percent=Decimal("15.0"),
            second_reader_name="Dr B",
            total_score=10,
        )
        visit = old.get_model("scoring", "Visit").objects.create(
            fracture_id=fracture.pk,
            kind="6m",
            visit_date=datetime.date(2026, 7, 4),
            kyphosis_angle_deg=Decimal("26.0"),
            kyphosis_difference_deg=Decimal("6.4"),
            created_by_id=user.pk,
            updated_by_id=user.pk,
        )
        executor = MigrationExecutor(connection)
        executor.migrate([after])
        new = executor.loader.project_state([after]).apps
        kept = new.get_model("scoring", "Fracture").objects.get(pk=fracture.pk)
        assert (kept.vhl_percent, kept.total_score, kept.rules_version, kept.archive_reason) == (
            Decimal("15.0"),
            10,
            "NASOVCF-2025",
            "",
        )
        kept_visit = new.get_model("scoring", "Visit").objects.get(pk=visit.pk)
        assert (kept_visit.kyphosis_angle_deg, kept_visit.kyphosis_difference_deg) == (Decimal("26.0"), Decimal("6.4"))
        assert (kept_visit.second_reader_name, kept_visit.second_kyphosis_angle_deg) == ("", None)
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
