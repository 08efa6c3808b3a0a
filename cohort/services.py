"""The cohort app's writes: starting, confirming and discarding an import (the records themselves
are written by cohort/importing.py through the clinical services)."""

from __future__ import annotations

import hashlib
import os

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from nasovcf_site.private_files import PRIVATE_FILE_MODE, private_directory

from . import tasks
from .models import CohortImport


def start_import(*, file, user) -> CohortImport:
    """Keep the uploaded file (mode 600, under var/imports/) and check it in the background."""
    upload = CohortImport(created_by=user, filename=os.path.basename(file.name)[:255], size_bytes=file.size)
    private_directory(upload.path.parent)
    digest = hashlib.sha256()
    descriptor = os.open(upload.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    with os.fdopen(descriptor, "wb") as handle:
        for chunk in file.chunks():
            digest.update(chunk)
            handle.write(chunk)
    upload.sha256 = digest.hexdigest()
    with transaction.atomic():
        upload.save()
        transaction.on_commit(lambda: tasks.check_import.enqueue(str(upload.pk)))
    return upload


def confirm_import(*, upload: CohortImport, user) -> bool:
    """Import a checked file (once: a second click finds it importing). False if it is not ready."""
    with transaction.atomic():
        ready = CohortImport.objects.filter(pk=upload.pk, status=CohortImport.Status.CHECKED).update(
            status=CohortImport.Status.IMPORTING, imported_by=user, done_rows=0, updated_at=timezone.now()
        )
        if ready:
            transaction.on_commit(lambda: tasks.run_import.enqueue(str(upload.pk), user.pk))
    return bool(ready)


def discard_import(*, upload: CohortImport) -> None:
    """Forget a file not imported: its copy is deleted, its preview kept for the record."""
    with transaction.atomic():
        CohortImport.objects.filter(pk=upload.pk).exclude(
            status__in=[CohortImport.Status.IMPORTING, CohortImport.Status.IMPORTED]
        ).update(status=CohortImport.Status.DISCARDED)
    upload.refresh_from_db()
    if upload.status == CohortImport.Status.DISCARDED:
        upload.path.unlink(missing_ok=True)
        tasks.forget_kept_check(upload)  # the check's kept records: no copy of the rows left


def import_limit_bytes() -> int:
    return settings.NASOVCF_IMPORT_MAX_MB * 1024 * 1024
