"""The import's background work (Django's tasks framework, the django-tasks backport, run by
`manage.py db_worker`): checking an uploaded file, and importing it once a clinician confirms the
preview. Neither holds a web request; each keeps its progress on the CohortImport row, which the
page reads."""

from __future__ import annotations

import hashlib
import logging
import shutil
from pathlib import Path

from django.utils import timezone
from django.utils.translation import gettext_noop
from django_tasks import task

from . import importing, tables
from .models import CohortImport
from .tables import Message

logger = logging.getLogger("nasovcf.import")
Status = CohortImport.Status


def _progress(upload: CohortImport):
    def show(done: int, total: int) -> None:
        CohortImport.objects.filter(pk=upload.pk).update(done_rows=done, total_rows=total)

    return show


def _read(upload: CohortImport) -> tables.Table:
    """The stored file, as uploaded (its digest checked): TableError if it cannot be read."""
    data = upload.path.read_bytes()
    if hashlib.sha256(data).hexdigest() != upload.sha256:
        raise tables.TableError(Message(gettext_noop("The stored file is not the one uploaded: upload it again.")))
    return tables.read(upload.path)


def _stop(upload: CohortImport, status: str, message: str) -> None:
    """Stop with `message`: its English in the import's `message`, its parts (a tables.Message) with
    the report, for the page to say it in the reader's language (importing.Report.message)."""
    report = {**upload.report, "message": message.as_data() if isinstance(message, Message) else message}
    CohortImport.objects.filter(pk=upload.pk).update(status=status, message=str(message), report=report)


def kept_check(upload: CohortImport) -> Path:
    """Where the check keeps the records it built, for the import to write without checking the
    file again (importing.Checked): beside the upload, private like it, removed with it."""
    return upload.path.with_name(f"{upload.path.name}.checked")


def forget_kept_check(upload: CohortImport) -> None:
    shutil.rmtree(kept_check(upload), ignore_errors=True)


def _new_kept_check(upload: CohortImport) -> Path:
    forget_kept_check(upload)
    directory = kept_check(upload)
    directory.mkdir(mode=0o700)
    return directory


@task()
def check_import(import_id: str) -> None:
    """Check the file and keep the preview: ready to import, or refused with every problem."""
    upload = CohortImport.objects.get(pk=import_id)
    try:
        table = _read(upload)
        CohortImport.objects.filter(pk=upload.pk).update(total_rows=len(table.rows))
        report = importing.check(table, progress=_progress(upload), keep=_new_kept_check(upload))
    except tables.TableError as error:
        _stop(upload, Status.REFUSED, error.args[0])
        return
    except Exception as error:
        forget_kept_check(upload)
        # Never the file's content in the log: its type and the import's id only.
        logger.exception("import check failed id=%s error=%s", upload.pk, type(error).__name__)
        _stop(
            upload,
            Status.FAILED,
            Message(gettext_noop("The check stopped on an unexpected error: nothing was written.")),
        )
        return
    except BaseException:
        # The worker was stopped (Ctrl-C, a shutdown): say so on the page, then let it stop.
        forget_kept_check(upload)
        _stop(
            upload,
            Status.FAILED,
            Message(gettext_noop("The check was cut short (the background worker stopped): upload the file again.")),
        )
        raise
    if not report.ok:
        forget_kept_check(upload)
    CohortImport.objects.filter(pk=upload.pk).update(
        status=Status.CHECKED if report.ok else Status.REFUSED,
        report=report.as_dict(),
        plan=report.plan,
        done_rows=report.rows,
        total_rows=report.rows,
    )
    logger.info("import checked id=%s rows=%d problems=%d", upload.pk, report.rows, report.problem_count)


@task()
def run_import(import_id: str, user_id: int) -> None:
    """Import the checked file, as the preview showed it."""
    from django.contrib.auth import get_user_model

    upload = CohortImport.objects.get(pk=import_id)
    user = get_user_model().objects.get(pk=user_id)
    try:
        table = _read(upload)
        written = importing.run(
            table,
            user=user,
            source=upload.filename,
            expected_plan=upload.plan,
            progress=_progress(upload),
            checked=kept_check(upload),
        )
    except (tables.TableError, importing.ImportRefused) as error:
        forget_kept_check(upload)
        _stop(upload, Status.FAILED, error.args[0])
        return
    except Exception as error:
        forget_kept_check(upload)
        logger.exception("import failed id=%s error=%s", upload.pk, type(error).__name__)
        _stop(
            upload,
            Status.FAILED,
            Message(
                gettext_noop(
                    "The import stopped on an unexpected error. What was written before it stays; importing the "
                    "file again leaves those rows as they are and writes the rest."
                )
            ),
        )
        return
    except BaseException:
        forget_kept_check(upload)
        _stop(
            upload,
            Status.FAILED,
            Message(
                gettext_noop(
                    "The import was cut short (the background worker stopped). What was written before it stays; "
                    "importing the file again leaves those rows as they are and writes the rest."
                )
            ),
        )
        raise
    upload.path.unlink(missing_ok=True)  # the records hold it now: no second copy of patient data
    forget_kept_check(upload)
    CohortImport.objects.filter(pk=upload.pk).update(
        status=Status.IMPORTED, result=written.as_dict(), imported_at=timezone.now(), done_rows=written.rows
    )
    logger.info("import done id=%s rows=%d user=%s", upload.pk, written.rows, user.get_username())
