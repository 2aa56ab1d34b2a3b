"""A task whose db_worker died is re-queued (tasks_requeue_stale) and, run again, repeats none of
the emails it had already sent (marketplace.tasks.once). The chaos suite kills a real worker."""

from datetime import timedelta
from io import StringIO
from unittest import mock

from django.core.mail import EmailMultiAlternatives
from django.core.management import call_command
from django.utils import timezone

import pytest
from django_tasks.base import TaskResultStatus

from marketplace.models import TaskStepDone
from marketplace.tasks import once, task_id_var
from orders.emails import send_order_email
from orders.factories import paid_order
from products.factories import ItemPageFactory

pytestmark = pytest.mark.django_db


def run_db_worker():
    # As in test_task_request_id: inside the test's transaction the connection must stay open.
    with mock.patch("django_tasks_db.management.commands.db_worker.close_old_connections"):
        call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)


def requeue(minutes: int = 15) -> str:
    out = StringIO()
    call_command("tasks_requeue_stale", f"--minutes={minutes}", stdout=out)
    return out.getvalue()


def as_if_its_worker_died(row, *, minutes_ago: int) -> None:
    row.status = TaskResultStatus.RUNNING
    row.started_at = timezone.now() - timedelta(minutes=minutes_ago)
    row.finished_at = None
    row.save()


@pytest.fixture
def db_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.fixture
def paid(site_tree):
    return paid_order(items=[ItemPageFactory(title="Cognac tote")])


def test_a_task_run_again_sends_only_the_emails_its_dead_run_had_not_sent(
    db_tasks, paid, mailoutbox
):
    from django_tasks_db.models import DBTaskResult

    send_order_email.enqueue(kind="paid", order_id=paid.pk)  # the shopper's and the shop's
    row = DBTaskResult.objects.get(task_path="orders.emails.send_order_email")

    # The first run gets the shopper's receipt out, then its worker dies before the shop's.
    original = EmailMultiAlternatives.send

    def dies_on_the_second(self, *args, **kwargs):
        if mailoutbox:
            raise SystemExit("worker killed")
        return original(self, *args, **kwargs)

    with mock.patch.object(EmailMultiAlternatives, "send", dies_on_the_second):
        run_db_worker()
    assert [m.to for m in mailoutbox] == [[paid.email]]
    row.refresh_from_db()
    as_if_its_worker_died(row, minutes_ago=20)  # a killed worker leaves it RUNNING

    assert requeue(minutes=15).splitlines() == [str(row.pk), "1 stale task(s) re-queued"]
    row.refresh_from_db()
    assert row.status == TaskResultStatus.READY
    run_db_worker()

    row.refresh_from_db()
    assert row.status == TaskResultStatus.SUCCESSFUL
    shop_email = paid.vendor_orders.get().vendor.contact_email
    assert [m.to for m in mailoutbox] == [[paid.email], [shop_email]]  # each exactly once

    # Died after sending everything: run again, nothing more goes out.
    as_if_its_worker_died(row, minutes_ago=20)
    requeue()
    run_db_worker()
    assert len(mailoutbox) == 2
    assert TaskStepDone.objects.filter(task_id=str(row.pk)).count() == 2


def test_a_task_still_running_within_the_limit_is_left_alone(db_tasks, paid, mailoutbox):
    from django_tasks_db.models import DBTaskResult

    send_order_email.enqueue(kind="cancelled", order_id=paid.pk)
    row = DBTaskResult.objects.get(task_path="orders.emails.send_order_email")
    as_if_its_worker_died(row, minutes_ago=5)
    assert requeue(minutes=15).splitlines() == ["0 stale task(s) re-queued"]
    row.refresh_from_db()
    assert row.status == TaskResultStatus.RUNNING


def test_outside_a_worker_once_just_runs_and_records_nothing(mailoutbox):
    done = []
    assert once("anything", lambda: done.append(1)) is True
    assert once("anything", lambda: done.append(1)) is True
    assert done == [1, 1]
    assert TaskStepDone.objects.count() == 0


def test_the_immediate_backend_records_nothing(paid, mailoutbox):
    send_order_email.enqueue(kind="paid", order_id=paid.pk)
    assert len(mailoutbox) == 2
    assert TaskStepDone.objects.count() == 0
    assert task_id_var.get() is None


def test_old_records_are_forgotten(db_tasks):
    TaskStepDone.objects.create(task_id="old", step="email:shopper")
    TaskStepDone.objects.filter(task_id="old").update(done_at=timezone.now() - timedelta(days=31))
    TaskStepDone.objects.create(task_id="new", step="email:shopper")
    requeue()
    assert list(TaskStepDone.objects.values_list("task_id", flat=True)) == ["new"]
