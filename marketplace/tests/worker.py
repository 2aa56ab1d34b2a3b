"""Test-only: run django-tasks-db's worker inside a test, as production's `db_worker` would."""

from unittest import mock

from django.core.management import call_command
from django.utils import timezone

from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult, get_date_max


def run_db_worker() -> None:
    """Run every task that is due, once. Inside the test's transaction the connection must
    stay open (the worker closes old connections between tasks)."""
    with mock.patch("django_tasks_db.management.commands.db_worker.close_old_connections"):
        call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)


def make_retries_due() -> int:
    """Let the clock pass the retries' delays: every deferred task is due now."""
    deferred = DBTaskResult.objects.filter(
        status=TaskResultStatus.READY, run_after__gt=timezone.now()
    ).exclude(run_after=get_date_max())  # how django-tasks-db stores "no run_after"
    return deferred.update(run_after=timezone.now())
