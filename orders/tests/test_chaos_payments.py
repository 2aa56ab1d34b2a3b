"""Chaos at the till, with real processes the test starts and kills: gunicorn serving the site
on PostgreSQL, and localstripe (with its state in a file, so it can come back as it was).

- localstripe goes away while a shopper pays: the site answers with its apology, nothing is
  charged, the order is kept, and paying works again once Stripe is back.
- the web process is killed (SIGKILL) after Stripe charged the card and before the site wrote
  it down: the stored payment attempt lets the next page view find the charge and complete the
  order; the shopper is never asked to pay again and is charged once.

PostgreSQL only (another process must see the test's data), like the other multi-process tests.
"""

from __future__ import annotations

import http.server
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from django.db import connection

import pytest

from orders.models import Order
from products.factories import ItemPageFactory
from tests.localstripe import SECRET_KEY, card_token, intents_for
from tests.servers import NEEDS_POSTGRES, ROOT, Web, database_url, free_port
from vendors.factories import ShopPageFactory

from .helpers import ADDRESS

pytestmark = [
    pytest.mark.chaos,
    NEEDS_POSTGRES,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

LAUNCHER = ROOT / "scripts" / "localstripe_server.py"


class LocalStripe:
    """localstripe on a fixed port with its state in a file: killed, it comes back as it was."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.state = workdir / "localstripe.pickle"
        self.log = workdir / "localstripe.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, str(LAUNCHER), "--port", str(self.port), "--state",
                 str(self.state)],
                cwd=ROOT, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/js.stripe.com/v3/", timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"localstripe did not start:\n{self.log.read_text()}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


class HoldingProxy:
    """Stripe's API as the site sees it: passes every call to localstripe, except that after
    forwarding a PaymentIntent confirmation (the card is charged) it never answers, and tells
    the test: the moment to kill the web process."""

    def __init__(self, upstream: str):
        self.charged = threading.Event()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self._forward()

            def do_POST(self):
                self._forward()

            def do_DELETE(self):
                self._forward()

            def _forward(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                request = urllib.request.Request(
                    upstream + self.path, data=body or None, method=self.command,
                    headers={k: v for k, v in self.headers.items()
                             if k.lower() not in {"host", "content-length", "connection"}},
                )  # fmt: skip
                try:
                    with urllib.request.urlopen(request, timeout=10) as response:
                        status, payload = response.status, response.read()
                except urllib.error.HTTPError as error:
                    status, payload = error.code, error.read()
                if self.command == "POST" and self.path.endswith("/confirm"):
                    proxy.charged.set()
                    time.sleep(30)  # the answer never reaches the site: it is killed first
                    return
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()


def site_env(tmp_path: Path, stripe_base: str) -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "marketplace.settings.production",
        "SECRET_KEY": "chaos-payments-" + "k" * 40,
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": database_url(),
        "TASKS_BACKEND": "django_tasks.backends.immediate.ImmediateBackend",
        "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
        "WEB_CONCURRENCY": "1",
        "GUNICORN_ACCESS_LOG": str(tmp_path / "access.log"),
        "STATIC_ROOT": str(tmp_path / "static"),
        "STRIPE_API_BASE": stripe_base,
        "STRIPE_SECRET_KEY": SECRET_KEY,
        "STRIPE_PUBLISHABLE_KEY": "pk_test_vitrine",
        "STRIPE_WEBHOOK_SECRET": "whsec_chaos_payments",
        "PYTHONPATH": str(ROOT),
    }


@pytest.fixture
def static_files(tmp_path):
    env = site_env(tmp_path, "http://127.0.0.1:9")
    collect = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert collect.returncode == 0, collect.stderr


class Shopper:
    """A browser session against one web process: cookies and CSRF tokens carried along."""

    def __init__(self, web: Web):
        self.web, self.cookies = web, {}

    def get(self, path: str):
        return self.web.request("GET", path, cookies=self.cookies)

    def post(self, path: str, data: dict, *, form_page: str):
        _, html = self.get(form_page)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
        return self.web.request(
            "POST", path, cookies=self.cookies, referer=form_page,
            body={**data, "csrfmiddlewaretoken": token},
        )  # fmt: skip

    def order_placed(self, item) -> Order:
        self.post("/cart/add/", {"item": item.pk}, form_page=item.url)
        response, _ = self.post("/checkout/", ADDRESS, form_page="/checkout/")
        assert response.status == 302, response.status
        return Order.objects.get(reference=response.getheader("Location").split("/")[-2])


def start_web(env: dict, log: Path) -> Web:
    web = Web(env, log)
    web.wait_ready()
    return web


def succeeded_charges(stripe: LocalStripe, order: Order) -> list[dict]:
    return [pi for pi in intents_for(stripe.url, order.reference) if pi["status"] == "succeeded"]


def test_stripe_down_while_paying_then_back(site_tree, tmp_path, static_files):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    item = ItemPageFactory(parent=ShopPageFactory(), title="Cognac tote", price="1250.00")
    stripe = LocalStripe(tmp_path)
    stripe.start()
    web = start_web(site_env(tmp_path, stripe.url), tmp_path / "web.log")
    try:
        shopper = Shopper(web)
        order = shopper.order_placed(item)
        pay = f"/checkout/pay/{order.reference}/"
        token = card_token(stripe.url)

        stripe.kill()
        response, html = shopper.post(pay, {"card_token": token}, form_page=pay)
        assert response.status == 502 and "Nothing was charged twice" in html
        assert web.request("GET", "/")[0].status == 200  # the site answers
        order.refresh_from_db()
        assert order.status == Order.Status.PENDING
        assert order.reservations.filter(status="active").exists()  # the piece is still held

        stripe.start()
        response, _ = shopper.post(pay, {"card_token": card_token(stripe.url)}, form_page=pay)
        assert response.status == 302, web.log.read_text()[-3000:]
        order.refresh_from_db()
        assert order.status == Order.Status.PAID
        assert len(succeeded_charges(stripe, order)) == 1
    finally:
        web.stop()
        stripe.kill()


def test_web_process_killed_after_the_charge_before_our_write(site_tree, tmp_path, static_files):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    item = ItemPageFactory(parent=ShopPageFactory(), title="Cognac tote", price="1250.00")
    stripe = LocalStripe(tmp_path)
    stripe.start()
    proxy = HoldingProxy(stripe.url)
    env = site_env(tmp_path, proxy.url)
    web = start_web(env, tmp_path / "web-1.log")
    second = None
    try:
        shopper = Shopper(web)
        order = shopper.order_placed(item)
        pay = f"/checkout/pay/{order.reference}/"
        _, html = shopper.get(pay)
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
        paying = threading.Thread(
            target=lambda: _swallow(
                lambda: web.request(
                    "POST",
                    pay,
                    cookies=dict(shopper.cookies),
                    referer=pay,
                    body={"card_token": card_token(stripe.url), "csrfmiddlewaretoken": csrf},
                )  # fmt: skip
            ),
            daemon=True,
        )
        paying.start()
        assert proxy.charged.wait(30), web.log.read_text()[-3000:]
        _kill_tree(web.proc.pid)  # master and worker, at once: no cleanup, no answer
        paying.join(30)

        order.refresh_from_db()
        assert order.status == Order.Status.PENDING  # we never learnt of the charge...
        assert order.attempts.get().status == "confirming"  # ...but we know where to look
        assert len(succeeded_charges(stripe, order)) == 1

        second = start_web(site_env(tmp_path, stripe.url), tmp_path / "web-2.log")
        shopper.web = second
        response, _ = shopper.get(pay)  # the shopper comes back to pay
        assert response.status == 302
        assert response.getheader("Location") == f"/checkout/done/{order.reference}/"
        order.refresh_from_db()
        assert order.status == Order.Status.PAID
        assert len(succeeded_charges(stripe, order)) == 1
        response, html = shopper.get(f"/checkout/done/{order.reference}/")
        assert response.status == 200 and "confirmed" in html
    finally:
        for each in (web, second):
            if each is not None:
                each.stop()
        proxy.stop()
        stripe.kill()


def _swallow(call) -> None:
    try:
        call()
    except OSError:
        pass  # the connection dies with the process


def _kill_tree(pid: int) -> None:
    children = subprocess.run(
        ["pgrep", "-P", str(pid)], capture_output=True, text=True
    ).stdout.split()
    for each in [pid, *map(int, children)]:
        try:
            os.kill(each, signal.SIGKILL)
        except ProcessLookupError:
            pass
