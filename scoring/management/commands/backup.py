"""Write a consistent backup of the database while the app runs.

SQLite: the online backup API (a consistent copy even while workers write). PostgreSQL: pg_dump
in its custom format (one consistent snapshot). Restore with `manage.py restore FILE`.
"""

import datetime
import os
import sqlite3
import subprocess
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection


def pg_environment(db: dict) -> tuple[list[str], dict]:
    """Connection arguments and environment for pg_dump / pg_restore from Django's settings."""
    args = []
    if db.get("HOST"):
        args += ["--host", db["HOST"]]
    if db.get("PORT"):
        args += ["--port", str(db["PORT"])]
    if db.get("USER"):
        args += ["--username", db["USER"]]
    env = dict(os.environ)
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    return args, env


class Command(BaseCommand):
    help = "Back up the database to a file, consistently, while the app runs."

    def add_arguments(self, parser):
        parser.add_argument("--output", help="file to write (default: var/backups/nasovcf-<UTC time>.<ext>)")

    def handle(self, *args, output=None, **options):
        vendor = connection.vendor
        if vendor not in ("sqlite", "postgresql"):
            raise CommandError(f"No backup method for {vendor}.")
        stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
        suffix = "sqlite3" if vendor == "sqlite" else "pgdump"
        path = Path(output) if output else Path(settings.VAR_DIR) / "backups" / f"nasovcf-{stamp}.{suffix}"
        # The backup holds patient data: readable by the owner only, from its first byte.
        previous_umask = os.umask(0o077)
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            self.write(vendor, path)
        finally:
            os.umask(previous_umask)
        os.chmod(path, 0o600)
        self.stdout.write(str(path))

    def write(self, vendor: str, path: Path) -> None:
        if vendor == "sqlite":
            connection.ensure_connection()
            target = sqlite3.connect(path)
            try:
                connection.connection.backup(target)
            finally:
                target.close()
        else:
            db = connection.settings_dict
            conn_args, env = pg_environment(db)
            result = subprocess.run(
                ["pg_dump", "--format=custom", "--no-owner", "--file", str(path), *conn_args, db["NAME"]],
                env=env,
                capture_output=True,
                text=True,
            )
            if result.returncode != 0:
                path.unlink(missing_ok=True)
                raise CommandError(f"pg_dump failed: {result.stderr.strip()}")
