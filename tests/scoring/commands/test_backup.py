"""A backup taken while the app runs restores into a fresh database with the same rows."""

import datetime
import json
import sqlite3
import uuid
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection

from scoring.models import Visit

TABLES = [
    "scoring_patient",
    "scoring_fracture",
    "scoring_visit",
    "scoring_historicalfracture",
    "auth_user",
    "auth_group",
]

pytestmark = pytest.mark.django_db(transaction=True)


def _plain(value) -> str:
    """One form for a value whichever driver read it (Django's cursor reads jsonb as text)."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            value = json.loads(value)
        except ValueError:
            return value
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def rows(cursor, table):
    cursor.execute(f"SELECT * FROM {table} ORDER BY 1")
    return [tuple(_plain(value) for value in row) for row in cursor.fetchall()]


@pytest.fixture
def data(make_patient, make_fracture, user):
    fracture = make_fracture(make_patient(mrn="BACKUP1", name="Ünïcödé <b>name</b>"))
    Visit.objects.create(
        fracture=fracture,
        kind="1m",
        visit_date=datetime.date(2025, 4, 10),
        vas_pain=Decimal("4.5"),
        created_by=user,
        updated_by=user,
    )
    return fracture


def test_backup_restores_into_a_fresh_database_with_every_row(data, tmp_path):
    path = tmp_path / "backup.bin"
    call_command("backup", output=str(path))
    assert path.stat().st_size > 0 and path.stat().st_mode & 0o777 == 0o600
    with connection.cursor() as cursor:
        expected = {table: rows(cursor, table) for table in TABLES}
    assert expected["scoring_visit"] and expected["scoring_patient"]

    if connection.vendor == "sqlite":
        fresh = tmp_path / "fresh.sqlite3"
        call_command("restore", str(path), into=f"sqlite:///{fresh}")
        restored = sqlite3.connect(fresh, detect_types=sqlite3.PARSE_DECLTYPES | sqlite3.PARSE_COLNAMES)
        try:
            cursor = restored.cursor()
            got = {table: rows(cursor, table) for table in TABLES}
        finally:
            restored.close()
    else:
        import psycopg

        settings = connection.settings_dict
        name = f"restore_{uuid.uuid4().hex[:8]}"
        params = {
            "host": settings["HOST"] or None,
            "port": settings["PORT"] or None,
            "user": settings["USER"],
            "password": settings["PASSWORD"],
            "autocommit": True,
        }
        with psycopg.connect(dbname=settings["NAME"], **params) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        try:
            url = f"postgres://{settings['USER']}:{settings['PASSWORD']}@{settings['HOST'] or 'localhost'}:{settings['PORT'] or 5432}/{name}"
            call_command("restore", str(path), into=url)
            with psycopg.connect(dbname=name, **params) as restored:
                got = {table: rows(restored.cursor(), table) for table in TABLES}
        finally:
            with psycopg.connect(dbname=settings["NAME"], **params) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    assert got == expected


@pytest.mark.parametrize("content", [b"", b"not a database at all", b"SQLite format 3\x00" + b"\x00" * 200])
def test_restore_refuses_a_file_that_is_not_a_backup_and_changes_nothing(tmp_path, content):
    from django.core.management.base import CommandError

    bad = tmp_path / "bad.sqlite3"
    bad.write_bytes(content)
    target = tmp_path / "target.sqlite3"
    sqlite3.connect(target).execute("CREATE TABLE keep (x)").connection.commit()
    with pytest.raises(CommandError, match="nothing restored"):
        call_command("restore", str(bad), into=f"sqlite:///{target}")
    tables = [row[0] for row in sqlite3.connect(target).execute("SELECT name FROM sqlite_master")]
    assert tables == ["keep"]


def test_backup_directory_and_file_are_private(data, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    call_command("backup")
    folder = tmp_path / "backups"
    (written,) = folder.iterdir()
    assert folder.stat().st_mode & 0o777 == 0o700
    assert written.stat().st_mode & 0o777 == 0o600
