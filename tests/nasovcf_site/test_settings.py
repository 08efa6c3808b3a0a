"""Configuration from the environment, the first-run secret key, SQLite tuning, static files."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, django
django.setup()
from django.conf import settings
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("PRAGMA journal_mode")
    journal = cursor.fetchone()[0]
    cursor.execute("PRAGMA busy_timeout")
    busy = cursor.fetchone()[0]
print(json.dumps({"debug": settings.DEBUG, "key": settings.SECRET_KEY, "hosts": settings.ALLOWED_HOSTS,
                  "journal": journal, "busy": busy,
                  "mode": settings.DATABASES["default"]["OPTIONS"].get("transaction_mode"),
                  "secure": getattr(settings, "SESSION_COOKIE_SECURE", False)}))
"""


def probe(tmp_path, **env) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
    clean.update(NASOVCF_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="nasovcf_site.settings", **env)
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=clean, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_debug_is_off_unless_set_and_a_secret_key_is_kept_in_var(tmp_path):
    first = probe(tmp_path)
    assert first["debug"] is False
    key_file = tmp_path / "secret_key"
    assert key_file.read_text() == first["key"] and len(first["key"]) >= 50
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert probe(tmp_path)["key"] == first["key"]  # the same key on the next start
    assert probe(tmp_path, DJANGO_DEBUG="1")["debug"] is True


def test_environment_overrides(tmp_path):
    result = probe(
        tmp_path, DJANGO_SECRET_KEY="k" * 60, DJANGO_ALLOWED_HOSTS="clinic.example, 10.0.0.5", DJANGO_HTTPS="1"
    )
    assert result["key"] == "k" * 60
    assert result["hosts"] == ["clinic.example", "10.0.0.5"]
    assert result["secure"] is True
    assert not (tmp_path / "secret_key").exists()


def test_sqlite_is_tuned_for_several_writers(tmp_path):
    result = probe(tmp_path)
    assert result["journal"] == "wal"
    assert result["busy"] == 20000
    assert result["mode"] == "IMMEDIATE"
    assert (tmp_path / "nasovcf.sqlite3").exists()


@pytest.mark.django_db
def test_collected_static_files_are_hashed_and_served_by_whitenoise(settings, tmp_path, user):
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    call_command("collectstatic", interactive=False, verbosity=0)
    client = Client()  # a new handler, so whitenoise reads the new STATIC_ROOT
    page = client.get("/accounts/login/").content.decode()
    css = re.search(r'href="(/static/bootstrap/css/bootstrap\.min\.[0-9a-f]{12}\.css)"', page)
    assert css, "Bootstrap's CSS is linked by its hashed name, from our own server"
    response = client.get(css.group(1), HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert "max-age=315360000" in response["Cache-Control"]
    assert "cdn" not in page.lower() and "https://" not in page
