"""A task defined at module level (tasks must be importable by the worker)."""

from django.core.mail import send_mail

from django_tasks import task


@task()
def send_probe_email(*, to: str) -> None:
    send_mail("task probe", "queued and sent by the worker", None, [to])
