"""Background tasks run under the id of the request that queued them (marketplace.tasks), so
one id ties a shopper's request to the emails it caused, in the web process and in db_worker."""

import json
from unittest import mock

from django.core.management import call_command

import pytest
from django_tasks import TaskResultStatus

from marketplace.logging import request_id_var
from marketplace.tests.helpers import SHOPPER
from marketplace.tests.tasks_probe import report_request_id, send_probe_email

ORDER_TASK = "orders.emails.send_order_email"


def task_lines(entries, path):
    return [
        e for e in entries if e["logger"] == "marketplace.tasks" and f"task {path} " in e["message"]
    ]


def place_order(client, request_id: str):
    from products.factories import ItemPageFactory

    item = ItemPageFactory(title="Cognac tote", price="1250.00")
    client.post("/cart/add/", {"item": item.pk})
    response = client.post("/checkout/", SHOPPER, headers={"X-Request-ID": request_id})
    assert response.status_code == 302, response.content
    assert response["X-Request-ID"] == request_id
    return response


def run_db_worker():
    # The worker closes stale connections between tasks; inside a test's transaction the
    # connection must stay open (a real worker runs outside any transaction).
    with mock.patch("django_tasks_db.management.commands.db_worker.close_old_connections"):
        call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)


# Real commits, so the email is queued on commit inside the request, as in production.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_order_email_a_checkout_queues_logs_under_the_checkouts_request_id(
    client, site_tree, mailoutbox, json_log
):
    from orders.models import Order

    place_order(client, "req-checkout-1")

    order = Order.objects.get()
    assert [m.subject for m in mailoutbox] == [f"We've received your order {order.reference}"]
    [line] = task_lines(json_log(), ORDER_TASK)
    assert line["message"].startswith(f"task {ORDER_TASK} finished in ")
    assert line["level"] == "INFO"
    assert line["request_id"] == "req-checkout-1"
    assert "ada.lovelace" not in json.dumps(json_log())
    assert request_id_var.get() is None


@pytest.mark.django_db
def test_a_task_queued_outside_any_request_runs_with_no_request_id(mailoutbox, json_log):
    result = send_probe_email.enqueue(to="ops@vitrine.example")

    assert result.status == TaskResultStatus.SUCCESSFUL
    assert [m.subject for m in mailoutbox] == ["task probe"]
    [line] = task_lines(json_log(), "marketplace.tests.tasks_probe.send_probe_email")
    assert line["request_id"] is None


def test_enqueue_passes_the_current_id_and_the_task_sees_it():
    token = request_id_var.set("req-outer")
    try:
        result = report_request_id.enqueue()
    finally:
        request_id_var.reset(token)
    assert result.kwargs == {"request_id": "req-outer"}
    assert result.return_value == "req-outer"


def test_the_id_is_set_only_while_the_task_runs_also_when_it_fails(json_log):
    assert request_id_var.get() is None
    # As db_worker runs a stored task: no id around it, the task's own id inside.
    ok = report_request_id.enqueue(request_id="req-a")
    assert ok.return_value == "req-a"
    assert request_id_var.get() is None

    failed = report_request_id.enqueue(request_id="req-b", fail=True)
    assert failed.status == TaskResultStatus.FAILED
    assert request_id_var.get() is None

    # Under another id (a request), that id is back after the task, raised or not.
    token = request_id_var.set("req-outer")
    try:
        with pytest.raises(RuntimeError, match="on purpose"):
            report_request_id.call(request_id="req-c", fail=True)
        assert request_id_var.get() == "req-outer"
        # Called directly (one task calling another), the function keeps the caller's id.
        assert report_request_id.call() == "req-outer"
    finally:
        request_id_var.reset(token)

    entries = json_log()
    probe = [(e["message"], e["request_id"]) for e in entries if e["logger"].endswith("probe")]
    assert probe == [
        ("probe running under request req-a", "req-a"),
        ("probe running under request req-b", "req-b"),
        ("probe running under request req-c", "req-c"),
        ("probe running under request req-outer", "req-outer"),
    ]
    lines = task_lines(entries, "marketplace.tests.tasks_probe.report_request_id")
    assert [(line["level"], line["request_id"]) for line in lines] == [
        ("INFO", "req-a"),
        ("ERROR", "req-b"),
        ("ERROR", "req-c"),
    ]
    assert "RuntimeError: probe failed on purpose" in lines[1]["exception"]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_with_the_database_backend_db_worker_sends_the_email_under_the_requests_id(
    client, site_tree, settings, mailoutbox, json_log
):
    from django_tasks_db.models import DBTaskResult

    from orders.models import Order

    # Production's backend; django-tasks re-reads TASKS when the setting changes.
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    place_order(client, "req-checkout-db")

    # Creating the item queued Wagtail's own tasks (search and reference indexes) too.
    row = DBTaskResult.objects.get(task_path=ORDER_TASK)
    assert row.args_kwargs["kwargs"]["request_id"] == "req-checkout-db"
    assert mailoutbox == []  # queued, not sent
    assert task_lines(json_log(), ORDER_TASK) == []

    run_db_worker()

    order = Order.objects.get()
    assert [m.subject for m in mailoutbox] == [f"We've received your order {order.reference}"]
    row.refresh_from_db()
    assert row.status == TaskResultStatus.SUCCESSFUL
    [line] = task_lines(json_log(), ORDER_TASK)
    assert line["request_id"] == "req-checkout-db"
    assert request_id_var.get() is None


@pytest.mark.django_db
def test_db_worker_logs_a_failed_task_under_its_id_and_resets_it(settings, json_log):
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    token = request_id_var.set("req-db-fail")  # as a request would have it when enqueuing
    try:
        report_request_id.enqueue(fail=True)
    finally:
        request_id_var.reset(token)

    run_db_worker()

    assert DBTaskResult.objects.get().status == TaskResultStatus.FAILED
    [line] = task_lines(json_log(), "marketplace.tests.tasks_probe.report_request_id")
    assert line["level"] == "ERROR" and line["request_id"] == "req-db-fail"
    assert "RuntimeError: probe failed on purpose" in line["exception"]
    assert request_id_var.get() is None
