"""Import a retrospective cohort from a CSV or XLSX file (the identified export's table), from the
command line: for large files and scripts. The same check, preview and writing as the page."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from cohort import importing, tables


class Command(BaseCommand):
    help = "Import a cohort from a CSV or XLSX file (the identified export's columns); --dry-run only checks it."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--dry-run", action="store_true", help="check and preview only: write nothing")
        parser.add_argument(
            "--user", help="the username the records and their history are attributed to (needed to import)"
        )

    def handle(self, *args, file: Path, dry_run: bool, user: str | None, **options):
        account = None
        if not dry_run:
            if not user:
                raise CommandError("Name the user the import is attributed to: --user USERNAME (or use --dry-run).")
            account = get_user_model().objects.filter(username=user, is_active=True).first()
            if account is None or not account.has_perm("scoring.add_fracture"):
                raise CommandError(f"{user} is not an active account that may add assessments (a clinician).")
        if not file.is_file():
            raise CommandError(f"{file} is not a file.")
        try:
            table = tables.read(file)
        except tables.TableError as error:
            raise CommandError(str(error)) from None
        # The records the check builds are kept (in a private temporary directory, removed at the
        # end) for the import to write without checking every row again.
        with tempfile.TemporaryDirectory(prefix="nasovcf-import-") as kept:
            keep = None if dry_run else Path(kept)
            report = importing.check(table, progress=self._progress("Checking"), keep=keep)
            self._end_progress()
            self.stdout.write(importing.summary(report))
            if not report.ok:
                raise CommandError(f"{report.problem_count} problem(s): nothing was written.")
            if dry_run:
                self.stdout.write("Dry run: nothing was written.")
                return
            try:
                written = importing.run(
                    table,
                    user=account,
                    source=file.name,
                    expected_plan=report.plan,
                    progress=self._progress("Importing"),
                    checked=keep,
                )
            except importing.ImportRefused as error:
                self._end_progress()
                raise CommandError(str(error)) from None
            self._end_progress()
        self.stdout.write(self.style.SUCCESS("Imported. " + importing.summary(written, done=True)))

    def _progress(self, what: str):
        """A progress bar on a terminal; nothing in a log or a pipe."""
        if not sys.stdout.isatty():
            return None

        def show(done: int, total: int) -> None:
            width = 30
            filled = width * done // max(total, 1)
            sys.stdout.write(f"\r{what} [{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} rows")
            sys.stdout.flush()

        return show

    def _end_progress(self) -> None:
        if sys.stdout.isatty():
            sys.stdout.write("\n")
