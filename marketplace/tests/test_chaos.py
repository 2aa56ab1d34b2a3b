"""Chaos: the site keeps answering when what it leans on fails, and heals when it comes back.

The cache is an accelerator, never a dependency: a private ``redis-server`` (its own port, no
persistence) behind the production cache backend is killed and paused mid-test; pages, the cart,
sign-in, the Stripe webhook and ``/readyz/`` keep answering, and nothing cached before the
outage is served after it.

The database is a dependency: with PostgreSQL cut off (a TCP relay the test controls), pages
answer the plain error page and ``/readyz/`` 503, nothing is half-written, and everything works
again once it is back.

A db_worker killed (SIGKILL) in the middle of sending an order email leaves its task RUNNING;
``tasks_requeue_stale`` puts it back, a new worker runs it, and each email goes exactly once.
"""

from __future__ import annotations

import hashlib
import hmac
import http.cookiejar
import io
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from django.core import mail
from django.core.cache import cache
from django.test import Client

import pytest

from accounts.factories import UserFactory
from marketplace.money import to_minor_units
from orders.models import Order
from products.factories import ItemPageFactory
from tests.servers import NEEDS_POSTGRES, ROOT, database_url
from vendors.factories import ShopPageFactory

from .helpers import SHOPPER, WsgiSite

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
NEEDS_REDIS_SERVER = pytest.mark.skipif(
    not Path(REDIS_SERVER).exists(), reason="needs the redis-server binary"
)
BACKEND = "marketplace.cache.ResilientRedisCache"
WEBHOOK_SECRET = "whsec_chaos"
RETRY_AFTER = 0.2  # seconds the backend leaves a failed Redis alone before trying again

pytestmark = [pytest.mark.chaos, NEEDS_REDIS_SERVER, pytest.mark.django_db]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A redis-server of this test's own, on a fixed port so it can come back on it."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=10)

    def pause(self) -> None:
        """Still accepting connections, answering nothing: a network partition."""
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.proc.pid, signal.SIGCONT)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.resume()
            self.kill()


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_cache(settings, redis_server):
    """The site as production runs it: the Redis cache backend, cached_db sessions, page cache."""
    settings.CACHES = {
        "default": {
            "BACKEND": BACKEND,
            "LOCATION": redis_server.url,
            "OPTIONS": {"RETRY_AFTER": RETRY_AFTER, "socket_timeout": 0.2},
        }
    }
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    settings.VITRINE_PAGE_CACHE_SECONDS = 300
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    yield redis_server
    cache.close()


def back_up() -> None:
    """Let the backend's retry delay pass: the next operation tries Redis again."""
    time.sleep(RETRY_AFTER * 1.5)


@pytest.fixture
def catalogue(site_tree):
    shop = ShopPageFactory(title="Maison Lune")
    bag = ItemPageFactory(parent=shop, title="Cognac tote", price="1250.00")
    scarf = ItemPageFactory(parent=shop, title="Silk scarf", price="180.00")
    return shop, bag, scarf


def anonymous_pages(shop, item) -> list[str]:
    return [
        "/",
        "/shops/",
        shop.url,
        item.url,
        "/designers/",
        f"/designers/{item.designer.slug}/",
        "/search/?q=tote",
        "/api/v2/items/",
        f"/api/v2/items/{item.pk}/",
        "/account/login/",
    ]


def assert_pages_answer(urls) -> None:
    for url in urls:
        response = Client().get(url)  # a first-time visitor: no cookies, the page cache applies
        assert response.status_code == 200, url


def sign(body: bytes) -> str:
    timestamp = int(time.time())
    digest = hmac.new(
        WEBHOOK_SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256
    ).hexdigest()
    return f"t={timestamp},v1={digest}"


def succeeded_webhook(client: Client, order: Order):
    body = json.dumps(
        {
            "id": f"evt_{secrets.token_hex(8)}",
            "object": "event",
            "type": "payment_intent.succeeded",
            "data": {
                "object": {
                    "id": f"pi_{secrets.token_hex(8)}",
                    "object": "payment_intent",
                    "amount": to_minor_units(order.total, order.currency),
                    "currency": order.currency.lower(),
                    "status": "succeeded",
                    "metadata": {"order_reference": order.reference},
                }
            },
        }
    ).encode()
    return client.generic(
        "POST",
        "/stripe/webhook/",
        body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(body),
    )


def readyz(client: Client) -> tuple[int, dict]:
    response = client.get("/readyz/")
    return response.status_code, json.loads(response.content)


def test_the_site_answers_through_a_redis_outage_and_caches_again_after(
    redis_cache, catalogue, django_capture_on_commit_callbacks
):
    shop, bag, scarf = catalogue
    pages = anonymous_pages(shop, bag)
    password = "correct horse battery"
    UserFactory(username="ada", email="ada@example.com", password=password)
    shopper = Client()

    # Redis up: everything answers, and a cookie-less second visit is a page-cache hit.
    assert_pages_answer(pages)
    assert Client().get("/shops/")["X-Page-Cache"] == "hit"
    assert (
        shopper.post("/account/login/", {"username": "ada", "password": password}).status_code
        == 302
    )
    assert shopper.post("/cart/add/", {"item": bag.pk}).status_code == 302
    assert readyz(Client()) == (200, {"status": "ok", "checks": {"database": "ok", "cache": "ok"}})

    redis_cache.kill()

    # Redis gone: every page still answers, only uncached.
    assert_pages_answer(pages)
    assert Client().get("/shops/").get("X-Page-Cache") != "hit"
    # The signed-in shopper keeps their session and cart (sessions fall back to the database)...
    account = shopper.get("/account/")
    assert account.status_code == 200
    assert shopper.post("/cart/add/", {"item": scarf.pk}).status_code == 302
    cart = shopper.get("/cart/").content.decode()
    assert "Cognac tote" in cart and "Silk scarf" in cart
    # ...and a new visitor can sign in.
    other = Client()
    assert (
        other.post("/account/login/", {"username": "ada", "password": password}).status_code == 302
    )
    assert other.get("/account/").status_code == 200
    # Readiness: degraded, not failed, so a load balancer keeps every node.
    status, body = readyz(Client())
    assert status == 200
    assert body == {"status": "degraded", "checks": {"database": "ok", "cache": "failed"}}

    # A paid order's webhook answers 200 and the order is paid (its cache bump cannot be made).
    assert shopper.post("/checkout/", SHOPPER).status_code == 302
    order = Order.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        response = succeeded_webhook(Client(), order)
    assert response.status_code == 200
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert any(order.reference in message.subject for message in mail.outbox)

    # Redis back on the same port (empty, as after a restart): readiness ok, pages cached again,
    # the shopper still signed in. (A Redis that kept its data: the partition tests below.)
    redis_cache.start()
    back_up()
    assert readyz(Client()) == (
        200,
        {"status": "ok", "checks": {"database": "ok", "cache": "ok"}},
    )
    assert Client().get("/shops/")["X-Page-Cache"] == "miss"
    assert Client().get("/shops/")["X-Page-Cache"] == "hit"
    assert shopper.get("/cart/").status_code == 200
    assert shopper.get("/account/").status_code == 200


def test_a_change_made_while_redis_is_unreachable_is_not_hidden_by_older_cached_pages(
    redis_cache, catalogue
):
    """A partition, not a restart: Redis keeps its data, so what was cached before must not
    come back once it answers again."""
    shop, _, _ = catalogue
    first = Client().get(shop.url)
    assert Client().get(shop.url)["X-Page-Cache"] == "hit"
    assert "Quietly exceptional" in first.content.decode()

    redis_cache.pause()
    try:
        shop.intro = "Closed for the summer"
        shop.save_revision().publish()  # its invalidation cannot reach Redis
        during = Client().get(shop.url)
        assert during.status_code == 200
        assert "Closed for the summer" in during.content.decode()
    finally:
        redis_cache.resume()
    back_up()

    after = Client().get(shop.url)
    assert after["X-Page-Cache"] == "miss"
    assert "Closed for the summer" in after.content.decode()
    assert Client().get(shop.url)["X-Page-Cache"] == "hit"


def test_an_answer_kept_in_front_of_django_is_not_served_after_a_partition_that_changed_it(
    redis_cache, catalogue
):
    """The same partition, for the answers a worker keeps in front of Django
    (page_cache.PageCacheHits): checked against Redis, they go with the epoch."""
    shop, _, _ = catalogue
    site = WsgiSite()
    site.get(shop.url)
    site.get(shop.url)
    assert not site.answered_by_django(shop.url)  # kept

    redis_cache.pause()
    try:
        shop.intro = "Closed for the summer"
        shop.save_revision().publish()  # its invalidation cannot reach Redis
        status, _, during = site.get(shop.url)
        assert status == "200 OK" and b"Closed for the summer" in during
    finally:
        redis_cache.resume()
    back_up()

    _, headers, after = site.get(shop.url)
    assert headers["X-Page-Cache"] == "miss" and b"Closed for the summer" in after


def test_a_session_ended_while_redis_is_unreachable_stays_ended(redis_cache, catalogue):
    """Signing out during a partition deletes the session from the database only; the copy
    Redis still holds must not sign the shopper back in once it answers again."""
    password = "correct horse battery"
    UserFactory(username="ada", email="ada@example.com", password=password)
    shopper = Client()
    shopper.post("/account/login/", {"username": "ada", "password": password})
    assert shopper.get("/account/").status_code == 200
    session_cookie = shopper.cookies["sessionid"].value

    redis_cache.pause()
    try:
        assert shopper.post("/account/logout/").status_code == 302
    finally:
        redis_cache.resume()
    back_up()

    stale = Client()
    stale.cookies["sessionid"] = session_cookie
    assert stale.get("/account/").status_code == 302  # to the sign-in page


# --- PostgreSQL dropped and back ----------------------------------------------------------------


class TcpProxy:
    """A TCP relay between Django and PostgreSQL that the test can cut (every open connection
    dropped, new ones closed at once, as after a network failure) and restore."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.up = True
        self.open: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            if not self.up:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self.lock:
                self.open += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        self.up = False
        with self.lock:
            dropped, self.open = self.open, []
        for sock in dropped:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # wakes the pump blocked in recv
            except OSError:
                pass
            sock.close()

    def restore(self) -> None:
        self.up = True

    def close(self) -> None:
        self.cut()
        self.listener.close()


@pytest.fixture
def database_through_proxy():
    """Every new database connection (the live server's) goes through a TcpProxy; the test's
    own connection, opened first, stays direct so the test can check the data at any time."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: run with DATABASE_URL=postgres://...")
    settings_dict = connection.settings_dict
    direct = (settings_dict["HOST"], settings_dict["PORT"])
    proxy = TcpProxy((direct[0] or "127.0.0.1", int(direct[1] or 5432)))
    connection.ensure_connection()
    settings_dict["HOST"], settings_dict["PORT"] = "127.0.0.1", str(proxy.port)
    try:
        yield proxy
    finally:
        proxy.close()
        settings_dict["HOST"], settings_dict["PORT"] = direct


class Browser:
    """A shopper's browser against the live server: cookies, CSRF token, no redirects."""

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    def __init__(self, base: str):
        self.base = base
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), self._NoRedirect
        )

    def request(self, path: str, data: dict | None = None) -> tuple[int, str]:
        if data is not None:
            token = next(c.value for c in self.cookies if c.name == "csrftoken")
            data = urllib.parse.urlencode({**data, "csrfmiddlewaretoken": token}).encode()
        try:
            with self.opener.open(self.base + path, data=data, timeout=20) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()


@NEEDS_POSTGRES
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_pages_fail_cleanly_while_the_database_is_unreachable_and_recover(
    live_server, site_tree, database_through_proxy
):
    from products.models import ItemPage

    shop = ShopPageFactory(title="Maison Lune")
    bag = ItemPageFactory(parent=shop, title="Cognac tote", price="1250.00")
    shopper = Browser(live_server.url)
    assert shopper.request(bag.url)[0] == 200  # sets the CSRF cookie
    assert shopper.request("/cart/add/", {"item": bag.pk})[0] == 302
    assert shopper.request("/readyz/")[0] == 200

    database_through_proxy.cut()

    for path in ("/", shop.url, "/cart/"):
        status, body = shopper.request(path)
        assert status == 500, path  # the plain error page, not a hang
        assert "Traceback" not in body
    status, body = Browser(live_server.url).request("/readyz/")
    assert status == 503
    assert json.loads(body)["checks"]["database"] == "failed"
    assert shopper.request("/checkout/", SHOPPER)[0] == 500

    database_through_proxy.restore()

    # Back: pages answer, nothing was half-written, the cart survived and checkout works.
    assert shopper.request("/readyz/")[0] == 200
    assert shopper.request(shop.url)[0] == 200
    assert Order.objects.count() == 0
    assert ItemPage.objects.get(pk=bag.pk).quantity == 1
    status, cart = shopper.request("/cart/")
    assert status == 200 and "Cognac tote" in cart
    assert shopper.request("/checkout/", SHOPPER)[0] == 302
    assert Order.objects.count() == 1


# --- The task worker killed mid-task -------------------------------------------------------------


def start_worker(workdir: Path, *, mail_delay: float, batch: bool) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "marketplace.tests.chaos_settings",
        "DATABASE_URL": database_url(),
        "CHAOS_MAIL_DIR": str(workdir / "mail"),
        "CHAOS_MAIL_DELAY": str(mail_delay),
    }
    command = [sys.executable, "manage.py", "db_worker", "--no-reload", "--no-startup-delay",
               "--interval", "0.1", *(["--batch"] if batch else [])]  # fmt: skip
    log = (workdir / "worker.log").open("ab")
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log
    )


@NEEDS_POSTGRES
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_worker_killed_mid_email_is_recovered_and_each_email_goes_once(
    site_tree, settings, tmp_path
):
    from django.core.management import call_command

    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from orders.emails import send_order_email
    from orders.factories import paid_order

    from .slow_mail import delivered

    (tmp_path / "mail").mkdir()
    # Paying sends its own emails (at once, under the test settings' backend) before the
    # worker's queue is set up: only the email queued below goes through the worker.
    order = paid_order(items=[ItemPageFactory(title="Cognac tote")])
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    shop_email = order.vendor_orders.get().vendor.contact_email
    send_order_email.enqueue(kind="paid", order_id=order.pk)  # the shopper's and the shop's
    row = DBTaskResult.objects.get(task_path="orders.emails.send_order_email")

    worker = start_worker(tmp_path, mail_delay=60, batch=False)
    try:
        sending = tmp_path / "mail.sending"
        deadline = time.monotonic() + 60
        while not (sending.exists() and any(sending.iterdir())):
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()
            assert time.monotonic() < deadline, "the worker never started sending"
            time.sleep(0.05)
    finally:
        worker.kill()  # SIGKILL in the middle of the first email
        worker.wait(timeout=10)

    row.refresh_from_db()
    assert row.status == TaskResultStatus.RUNNING  # stuck: django-tasks-db never retries it
    assert delivered(tmp_path / "mail") == []

    call_command("tasks_requeue_stale", "--minutes=0", stdout=io.StringIO())
    worker = start_worker(tmp_path, mail_delay=0, batch=True)
    assert worker.wait(timeout=120) == 0, (tmp_path / "worker.log").read_text()

    row.refresh_from_db()
    assert row.status == TaskResultStatus.SUCCESSFUL
    assert sorted(delivered(tmp_path / "mail")) == sorted([order.email, shop_email])
