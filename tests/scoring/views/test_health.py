"""The health check and the idle timer's keep-alive (scoring/views/health.py). That /healthz is
public and answers 200 is walked with every URL in tests/nasovcf_site/test_access.py."""

import pytest
from django.db import DatabaseError

from scoring.views import health

pytestmark = pytest.mark.django_db


class _DownDatabase:
    def cursor(self):
        raise DatabaseError("connection refused")


def test_the_health_check_answers_503_when_the_database_does_not(client, monkeypatch, caplog):
    monkeypatch.setattr(health, "connection", _DownDatabase())
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "unavailable"}
    assert "the database did not answer" in caplog.text


def test_the_health_check_only_answers_get(client):
    assert client.post("/healthz").status_code == 405


def test_keepalive_only_answers_post(signed_in):
    assert signed_in.get("/accounts/keepalive/").status_code == 405
    assert signed_in.post("/accounts/keepalive/").status_code == 204
