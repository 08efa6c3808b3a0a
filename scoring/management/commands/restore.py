"""Restore a backup written by `manage.py backup` into the database (stop the app first).

--into DATABASE_URL restores into another database instead, e.g. to check a backup.
"""

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
        if db["ENGINE"].endswith("sqlite3"):
            backup = sqlite3.connect(source)
            target = sqlite3.connect(db["NAME"])
            try:
                backup.backup(target)
            finally:
                backup.close()
                target.close()
        elif db["ENGINE"].endswith("postgresql"):
            conn_args, env = pg_environment(db)
            result = subprocess.run(
                ["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction", *conn_args,
                 "--dbname", db["NAME"], str(source)],
                env=env, capture_output=True, text=True,
            )
            if result.returncode != 0:
                raise CommandError(f"pg_restore failed: {result.stderr.strip()}")
        else:
            raise CommandError(f"No restore method for {db['ENGINE']}.")
        self.stdout.write(f"Restored {source} into {db['NAME']}.")
