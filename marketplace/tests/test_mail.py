"""Every email's one path (marketplace.mail): queued after commit, sent once by its task, a
refused send logged and tried again later, a bounded number of times, with growing delays."""

import logging
from datetime import timedelta
from unittest import mock

from django.core.mail import EmailMultiAlternatives
from django.utils import timezone

import pytest
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from marketplace.mail import EMAIL_RETRY
from marketplace.tasks import ATTEMPT_KWARG, FIRST_TASK_KWARG, Retry
from orders.emails import send_order_email, send_order_email_then_erase
from orders.factories import paid_order
from orders.models import VendorOrder
from products.factories import ItemPageFactory

from .worker import make_retries_due, run_db_worker

pytestmark = pytest.mark.django_db

PATH = "orders.emails.send_order_email"


@pytest.fixture
def db_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.fixture
def paid(site_tree):
    return paid_order(items=[ItemPageFactory(title="Cognac tote")])


def rows():
    return list(DBTaskResult.objects.filter(task_path=PATH).order_by("enqueued_at"))


def test_the_delays_grow_and_the_attempts_are_bounded():
    assert [EMAIL_RETRY.delay(n) for n in (1, 2, 3, 4)] == [
        timedelta(minutes=minutes) for minutes in (1, 4, 16, 64)
    ]
    assert EMAIL_RETRY.attempts == 5
    assert Retry(attempts=2, first_delay=timedelta(seconds=30), factor=2).delay(2) == timedelta(
        minutes=1
    )


def test_a_refused_message_is_retried_later_and_only_what_was_not_sent_goes(
    db_tasks, paid, mailoutbox, caplog
):
    send_order_email.enqueue(kind="paid", order_id=paid.pk)  # the shopper's and the shop's
    original = EmailMultiAlternatives.send

    def refuses_the_shop(self, *args, **kwargs):
        if self.to != [paid.email]:
            raise ConnectionRefusedError("the mail server is down")
        return original(self, *args, **kwargs)

    with mock.patch.object(EmailMultiAlternatives, "send", refuses_the_shop):
        run_db_worker()
    assert [m.to for m in mailoutbox] == [[paid.email]]
    first, retry = rows()
    assert first.status == TaskResultStatus.FAILED
    assert "the mail server is down" in first.traceback
    assert "task orders.emails.send_order_email failed (attempt 1)" in caplog.text
    # Queued again, to run later, as the same mailing's second attempt.
    assert retry.status == TaskResultStatus.READY
    assert timezone.now() + timedelta(seconds=50) < retry.run_after
    kwargs = retry.args_kwargs["kwargs"]
    assert (kwargs[ATTEMPT_KWARG], kwargs[FIRST_TASK_KWARG]) == (2, str(first.pk))

    run_db_worker()  # not due yet: nothing runs
    assert len(mailoutbox) == 1
    make_retries_due()
    run_db_worker()
    shop = paid.vendor_orders.get().vendor.contact_email
    assert [m.to for m in mailoutbox] == [[paid.email], [shop]]  # the shopper's is not repeated
    retry.refresh_from_db()
    assert retry.status == TaskResultStatus.SUCCESSFUL
    make_retries_due()
    run_db_worker()
    assert len(mailoutbox) == 2 and len(rows()) == 2


def test_after_the_last_attempt_it_gives_up_and_says_so(db_tasks, paid, mailoutbox, caplog):
    send_order_email.enqueue(kind="placed", order_id=paid.pk)
    with mock.patch.object(
        EmailMultiAlternatives, "send", side_effect=ConnectionRefusedError("down")
    ):
        for _ in range(EMAIL_RETRY.attempts + 1):
            make_retries_due()
            run_db_worker()
    assert [row.status for row in rows()] == [TaskResultStatus.FAILED] * EMAIL_RETRY.attempts
    assert mailoutbox == []
    gave_up = [r for r in caplog.records if "gave up" in r.getMessage()]
    assert [(r.levelno, r.getMessage()) for r in gave_up] == [
        (logging.ERROR, f"task {PATH} gave up after {EMAIL_RETRY.attempts} attempts")
    ]


def test_a_backend_that_cannot_defer_logs_the_failure_and_retries_nothing(paid, caplog):
    # The immediate backend (development, tests) runs the task inside the request.
    with mock.patch.object(
        EmailMultiAlternatives, "send", side_effect=ConnectionRefusedError("down")
    ):
        send_order_email.enqueue(kind="placed", order_id=paid.pk)
    assert f"task {PATH} not retried: its backend cannot defer a task" in caplog.text
    assert not DBTaskResult.objects.exists()


@pytest.mark.parametrize("mail_server_comes_back", [True, False])
def test_an_erased_shoppers_last_email_is_retried_before_the_details_go(
    db_tasks, site_tree, mailoutbox, mail_server_comes_back
):
    """The delivery details kept after an erasure go once the last email went, or once its
    last attempt failed: never while a retry could still send it."""
    order = paid_order(
        items=[ItemPageFactory(title="Cognac tote")],
        vendor_status=VendorOrder.Status.DELIVERED,
        erase_when_fulfilled_at=timezone.now(),
    )
    part = order.vendor_orders.get()
    send_order_email_then_erase.enqueue(
        kind="delivered", order_id=order.pk, vendor_order_id=part.pk
    )
    refused = mock.patch.object(
        EmailMultiAlternatives, "send", side_effect=ConnectionRefusedError("down")
    )
    with refused:
        run_db_worker()
    order.refresh_from_db()
    assert order.email and mailoutbox == []  # kept for the retry

    attempts_left = EMAIL_RETRY.attempts - 1
    for _ in range(attempts_left):
        make_retries_due()
        if mail_server_comes_back:
            run_db_worker()
            break
        with refused:
            run_db_worker()
    order.refresh_from_db()
    assert order.email == "" and order.shipping_name == ""
    assert len(mailoutbox) == (1 if mail_server_comes_back else 0)
