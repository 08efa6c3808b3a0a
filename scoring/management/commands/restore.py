"""Restore a backup written by `manage.py backup` into the database (stop the app first).

--into DATABASE_URL restores into another database instead, e.g. to check a backup.
"""

import datetime
import os
import sqlite3
import subprocess
from pathlib import Path

import dj_database_url
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from .backup import pg_environment


class Command(BaseCommand):
    help = "Restore a backup file (from `manage.py backup`) into the database; stop the app first."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--into", help="a DATABASE_URL to restore into (default: the app's database)")
        parser.add_argument("--yes", action="store_true", help="do not ask before replacing the data")

    def handle(self, *args, file, into=None, yes=False, **options):
        source = Path(file)
        if not source.exists():
            raise CommandError(f"No such file: {source}")
        db = dj_database_url.parse(into) if into else connection.settings_dict
        if not yes and not into:
            answer = input(f"Replace everything in {db['NAME']} with {source}? Type 'yes': ")
            if answer.strip() != "yes":
                raise CommandError("Nothing restored.")
        previous_umask = os.umask(0o077)  # a database file made here holds patient data
        try:
            if db["ENGINE"].endswith("sqlite3"):
                self.restore_sqlite(source, Path(db["NAME"]))
            elif db["ENGINE"].endswith("postgresql"):
                self.restore_postgresql(source, db)
            else:
                raise CommandError(f"No restore method for {db['ENGINE']}.")
        finally:
            os.umask(previous_umask)
        self.stdout.write(f"Restored {source} into {db['NAME']}.")

    def restore_sqlite(self, source: Path, target_path: Path) -> None:
        backup = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            check_sqlite_backup(backup, source)
            if target_path.exists() and target_path.stat().st_size:
                # Keep what is being replaced, in case the wrong file was restored.
                stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
                keep = target_path.with_name(f"{target_path.name}.before-restore-{stamp}")
                current = sqlite3.connect(target_path)
                saved = sqlite3.connect(keep)
                try:
                    current.backup(saved)
                finally:
                    current.close()
                    saved.close()
                self.stdout.write(f"The database as it was is kept in {keep}.")
            target = sqlite3.connect(target_path)
            try:
                backup.backup(target)
            finally:
                target.close()
        finally:
            backup.close()

    def restore_postgresql(self, source: Path, db: dict) -> None:
        conn_args, env = pg_environment(db)
        listing = subprocess.run(["pg_restore", "--list", str(source)], capture_output=True, text=True)
        if listing.returncode != 0 or "scoring_patient" not in listing.stdout:
            raise CommandError(f"{source} is not a NASOVCF Clinic backup from pg_dump: nothing restored.")
        result = subprocess.run(
            [
                "pg_restore",
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                *conn_args,
                "--dbname",
                db["NAME"],
                str(source),
            ],
            env=env,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise CommandError(f"pg_restore failed: {result.stderr.strip()}")


def check_sqlite_backup(backup: sqlite3.Connection, source: Path) -> None:
    """Refuse a file that is not an intact NASOVCF Clinic database, before anything is replaced."""
    try:
        integrity = backup.execute("PRAGMA integrity_check").fetchone()[0]
        tables = {row[0] for row in backup.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as error:
        raise CommandError(f"{source} is not a SQLite database ({error}): nothing restored.") from error
    if integrity != "ok":
        raise CommandError(f"{source} is damaged ({integrity}): nothing restored.")
    if not {"django_migrations", "scoring_patient", "scoring_fracture", "scoring_visit"} <= tables:
        raise CommandError(f"{source} is not a NASOVCF Clinic backup: nothing restored.")
