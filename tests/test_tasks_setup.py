"""Background work is wired up (issue 13: the cohort import runs as a task): Django's tasks framework
through the django-tasks backport, queued in the app's own database (django-tasks-db) and run by
`manage.py db_worker`, which `make run` and deploy/nasovcf-worker.service start.

Tests run tasks at once (tests/conftest.py sets the immediate backend); the database backend's
round trip, enqueue → a stored result → the worker runs it, is checked here in one process.
"""

import signal

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django_tasks import TaskResultStatus, task_backends
from django_tasks.backends.immediate import ImmediateBackend
from django_tasks_db import DatabaseBackend
from django_tasks_db.models import DBTaskResult

from nasovcf_site import settings as site_settings
from tests.tasks_probe import make_group

DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
WORKER_SIGNALS = [signal.SIGINT, signal.SIGTERM, signal.SIGQUIT]


def test_the_site_queues_tasks_in_its_database():
    assert site_settings.TASKS == DATABASE_TASKS
    assert {"django_tasks", "django_tasks_db"} <= set(site_settings.INSTALLED_APPS)


@pytest.mark.django_db
def test_in_tests_a_task_runs_at_once_when_enqueued():
    assert isinstance(task_backends["default"], ImmediateBackend)

    result = make_group.enqueue("probe-immediate")

    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == "probe-immediate"
    assert Group.objects.filter(name="probe-immediate").exists()
    assert not DBTaskResult.objects.exists()


@pytest.fixture
def worker_signals_restored():
    """db_worker installs its own SIGINT/SIGTERM/SIGQUIT handlers (to stop between tasks): the test
    process gets its own back."""
    saved = {number: signal.getsignal(number) for number in WORKER_SIGNALS}
    yield
    for number, handler in saved.items():
        signal.signal(number, handler)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("worker_signals_restored")
def test_with_the_database_backend_a_task_waits_for_the_worker_which_runs_it(settings):
    settings.TASKS = DATABASE_TASKS  # as the site runs: django_tasks drops its cached backend
    assert isinstance(task_backends["default"], DatabaseBackend)

    result = make_group.enqueue("probe-database")

    stored = DBTaskResult.objects.get(id=result.id)
    assert stored.status == TaskResultStatus.READY
    assert stored.task_path == "tests.tasks_probe.make_group"
    assert not Group.objects.filter(name="probe-database").exists()  # queued, not run

    call_command("db_worker", batch=True, startup_delay=False, reload=False, verbosity=0)

    stored.refresh_from_db()
    assert stored.status == TaskResultStatus.SUCCESSFUL, stored.traceback
    assert stored.return_value == "probe-database"
    assert Group.objects.filter(name="probe-database").exists()
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL
