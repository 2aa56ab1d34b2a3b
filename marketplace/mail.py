"""Every email the site sends takes one path, through this module:

1. a service queues its email task after commit: ``queue_email(task, **ids)`` (a queue that
   is down is logged; the saved action stands, its page answers normally);
2. the task, declared ``@email_task()``, reads what it needs by id when it runs and builds each
   message with ``build_message`` (``emails/<template>.txt`` and ``.html``, the site's address,
   DEFAULT_FROM_EMAIL, one recipient a message);
3. it sends each with ``send_email(message, step=...)``, once: `step` names the message within
   its task (who it is for, never the address), and a message sent is never sent again by a
   retry or a re-run of the task (marketplace.tasks.once);
4. a send that fails raises: the failure is logged and the task tried again later, with
   growing delays, a bounded number of times (``EMAIL_RETRY``).

So a mail server never fails a request, nor loses or doubles an email it refused for a while.
"""

from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.template.loader import render_to_string

from django_tasks.base import Task

from .tasks import Retry, enqueue_after_commit, once, traced_task

F = TypeVar("F", bound=Callable[..., Any])

# Five attempts in all: again after 1, 4, 16 and 64 minutes.
EMAIL_RETRY = Retry(attempts=5)


def build_message(
    *, to: str, subject: str, template: str, context: dict, headers: dict | None = None
) -> EmailMultiAlternatives:
    context = {"site_url": settings.WAGTAILADMIN_BASE_URL, **context}
    message = EmailMultiAlternatives(
        subject,
        render_to_string(f"emails/{template}.txt", context),
        settings.DEFAULT_FROM_EMAIL,
        [to],
        headers=headers or {},
    )
    message.attach_alternative(render_to_string(f"emails/{template}.html", context), "text/html")
    return message


def one_click_unsubscribe(url: str) -> dict[str, str]:
    """RFC 8058 headers: a mail client's "unsubscribe" POSTs `List-Unsubscribe=One-Click` to
    the URL and it takes effect at once, without cookies (accounts.middleware); a person
    opening the link gets a confirmation page instead (a GET changes nothing)."""
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def email_task(*, private: tuple[str, ...] = (), **options: Any) -> Callable[[F], Any]:
    """``@email_task()``: a task that sends email, retried as EMAIL_RETRY says; `private`
    names arguments blanked in the task's row after each run (marketplace.tasks)."""
    return traced_task(retry=EMAIL_RETRY, private=private, **options)


def queue_email(task: Task[..., Any], /, **kwargs: Any) -> None:
    """Queue an email task once the current transaction commits; never raises."""
    enqueue_after_commit(task, **kwargs)


def send_email(message: EmailMessage, *, step: str = "message") -> bool:
    """Send one message from an email task, unless an earlier attempt of the task sent it.
    Raises what the mail server raised, so that the task is retried. Returns whether it was
    sent now."""
    return once(f"email:{step}", message.send)
