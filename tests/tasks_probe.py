"""A background task of the tests' own, for tests/test_tasks_setup.py: it leaves a trace anyone can
look for (an auth Group of the given name), so a test sees that it ran, and where."""

from django.contrib.auth.models import Group
from django_tasks import task


@task()
def make_group(name: str) -> str:
    """Make the group `name`; return its name, as the task's result."""
    Group.objects.create(name=name)
    return name
