"""Put back in the queue the tasks whose worker died while running them."""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from marketplace.models import TaskStepDone


class Command(BaseCommand):
    help = (
        "Re-queue tasks RUNNING for more than --minutes (their db_worker was killed: "
        "django-tasks-db never runs them again). Their side effects done through "
        "marketplace.tasks.once are not repeated. Also forgets those records after --keep-days."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--minutes",
            type=int,
            default=15,
            help="Running longer than this means the worker died (default 15; longer than "
            "any task takes).",
        )
        parser.add_argument("--keep-days", type=int, default=30)

    def handle(self, *args, minutes, keep_days, **options):
        if minutes < 0 or keep_days < 0:
            raise CommandError("--minutes and --keep-days cannot be negative.")
        now = timezone.now()
        stale = DBTaskResult.objects.filter(
            status=TaskResultStatus.RUNNING, started_at__lt=now - timedelta(minutes=minutes)
        )
        ids = [str(pk) for pk in stale.values_list("pk", flat=True)]
        # Only rows still RUNNING and stale at this moment: a task that just finished stays.
        count = stale.filter(pk__in=ids).update(status=TaskResultStatus.READY, started_at=None)
        for task_id in ids:
            self.stdout.write(task_id)
        TaskStepDone.objects.filter(done_at__lt=now - timedelta(days=keep_days)).delete()
        self.stdout.write(f"{count} stale task(s) re-queued")
