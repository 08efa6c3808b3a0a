"""The reads the pages make (scoring/selectors.py), where a test reads them without a page."""

import pytest
from django.utils import timezone

pytestmark = pytest.mark.django_db


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.mark.parametrize("status", ["", "overdue", "missed"])
def test_the_worklist_reads_its_rows_through_the_open_visits_index(status, today):
    """The worklist's rows and counts are a range of the index on the visits not yet recorded
    (SQLite's plan), not a scan of every expected visit."""
    from django.db import connection

    from scoring import selectors

    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL plans by its statistics: on a near-empty table a scan is its right choice")
    query = selectors.worklist_rows(today, status).values_list("pk")[:25]
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        plan = " ".join(row[-1] for row in cursor.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall())
    assert "USING INDEX expected_visit_open" in plan or "USING COVERING INDEX expected_visit_open" in plan, plan
