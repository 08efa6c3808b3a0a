"""Delete the film files no film record holds: a film refused or discarded leaves none, but one
whose patient-mismatch question was never answered (the session ended) does, and so could a
server stopped mid-upload. Run by deploy/nasovcf-prune.service beside the task pruning."""

import datetime
import shutil
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from scoring.models import Film


class Command(BaseCommand):
    help = "Delete film directories no film record holds, and stale uploads, older than --min-age-hours."

    def add_arguments(self, parser):
        parser.add_argument("--min-age-hours", type=float, default=24.0)

    def handle(self, *args, min_age_hours, **options):
        root = Path(settings.FILMS_DIR)
        if not root.is_dir():
            self.stdout.write("No film directory: nothing to prune.")
            return
        before = time.time() - min_age_hours * 3600
        removed = 0
        for path in root.iterdir():
            if path.name == "incoming":  # uploads being checked: each file by its own age
                for stale in path.iterdir():
                    if stale.stat().st_mtime <= before:
                        stale.unlink(missing_ok=True)
                        removed += 1
                continue
            if path.stat().st_mtime > before:
                continue  # a film being added, or waiting for its patient-mismatch answer
            try:
                key = uuid.UUID(path.name)
            except ValueError:
                continue  # not one of ours
            if path.is_dir() and not Film.objects.filter(storage_key=key).exists():
                shutil.rmtree(path, ignore_errors=True)
                removed += 1
        self.stdout.write(
            f"{removed} film file(s) or directory(ies) no record holds, older than "
            f"{datetime.timedelta(hours=min_age_hours)}, deleted."
        )
