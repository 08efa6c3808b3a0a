"""The models' QuerySet methods (scoring/models.py) where a test reads them without a page."""

import pytest

pytestmark = pytest.mark.django_db


def test_search_reads_indexes_not_every_patient(make_patient):
    """The search is an index look-up on the MRN and on the name's words (SQLite's query plan)."""
    from django.db import connection

    from scoring.models import Patient

    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL plans by its statistics: on a near-empty table a scan is its right choice")
    make_patient(mrn="AAA111", name="Margaret Chen")
    for query in ["aaa", "margaret ch"]:
        sql, params = Patient.objects.order_by("mrn").active().search(query)[:25].query.sql_with_params()
        with connection.cursor() as cursor:
            plan = [row[-1] for row in cursor.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()]
        assert not any(step.startswith("SCAN scoring_patient") for step in plan), plan
