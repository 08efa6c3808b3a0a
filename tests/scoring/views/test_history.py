"""Each record's history page (scoring/views/history.py). What the entries say for each change,
and that the history cannot be edited, are in tests/test_security.py (the audit trail)."""

import pytest

from tests.scoring.views.conftest import text

pytestmark = pytest.mark.django_db


def test_history_lists_the_versions_newest_first(signed_in, patient):
    for name in ("First Rename", "Second Rename"):
        patient.name = name
        patient.save()
    page = text(signed_in.get(f"/patients/{patient.pk}/history/"))
    assert (
        page.index("First Rename → Second Rename")
        < page.index("Test Patient → First Rename")
        < page.index("<td>recorded</td>")
    )


def test_history_pages_hold_50_versions_each(signed_in, patient):
    for n in range(55):
        patient.name = f"Name {n}"
        patient.save()
    first = text(signed_in.get(f"/patients/{patient.pk}/history/"))
    assert "Page 1 of 2 · 56 versions" in first
    assert first.count("<tr><td") == 50
    assert "<td>recorded</td>" in text(signed_in.get(f"/patients/{patient.pk}/history/?page=2"))


@pytest.mark.parametrize("prefix", ["/patients", "/assessments", "/visits"])
def test_the_history_of_an_unknown_record_is_a_404(signed_in, prefix):
    assert signed_in.get(f"{prefix}/999999/history/").status_code == 404
