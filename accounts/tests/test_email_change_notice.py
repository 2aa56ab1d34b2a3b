"""The "your address was changed" notice goes to the old address through the task queue: a
mail server that refuses it never fails the change, the notice is tried again later and sent
once, and the old address does not stay in the task table."""

from django.core import mail

import pytest
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from marketplace.tests.worker import make_retries_due, run_db_worker

from .helpers import PASSWORD

pytestmark = pytest.mark.django_db

NOTICE = "accounts.emails.send_email_changed_notice"


@pytest.fixture
def db_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def notice_rows():
    return list(DBTaskResult.objects.filter(task_path=NOTICE).order_by("enqueued_at"))


def test_a_refused_notice_never_fails_the_change_and_is_sent_once_later(
    db_tasks, signed_in, shopper, settings, caplog, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "marketplace.tests.failing_mail.RefusingBackend"
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in.post(
            "/account/email/", {"email": "ada@new.example", "current_password": PASSWORD}
        )
    assert response.status_code == 302
    shopper.refresh_from_db()
    assert shopper.email == "ada@new.example"

    # Queued, not sent inside the request: the mail server has not been asked yet.
    assert "the mail server went away" not in caplog.text
    (queued,) = notice_rows()
    assert queued.args_kwargs["kwargs"]["old_email"] == "ada@example.com"  # until it runs
    run_db_worker()
    assert "the mail server went away" in caplog.text
    first, retry = notice_rows()
    assert first.status == TaskResultStatus.FAILED
    assert first.args_kwargs["kwargs"]["old_email"] == ""  # blanked once the run ended
    assert retry.status == TaskResultStatus.READY

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    make_retries_due()
    run_db_worker()
    notices = [m for m in mail.outbox if m.subject == "Your Vitrine email address was changed"]
    assert [m.to for m in notices] == [["ada@example.com"]]
    retry.refresh_from_db()
    assert retry.status == TaskResultStatus.SUCCESSFUL
    assert retry.args_kwargs["kwargs"]["old_email"] == ""
    make_retries_due()
    run_db_worker()
    assert len([m for m in mail.outbox if m.to == ["ada@example.com"]]) == 1
