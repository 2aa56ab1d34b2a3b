"""Helpers for tests that run the site as separate processes (gunicorn on PostgreSQL and
Redis): what they need to find, and one gunicorn process to talk to."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote, urlencode

from django.db import connection

import pytest

ROOT = Path(__file__).resolve().parents[1]
GUNICORN = Path(sys.executable).with_name("gunicorn")
START_TIMEOUT = 60
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
# The local Redis's database for tests of the production cache, which empty it (FLUSHDB): the
# tests using it run on one xdist worker, one at a time.
TEST_REDIS_URL = f"redis://{REDIS_HOST}:{REDIS_PORT}/15"
USES_TEST_REDIS = pytest.mark.xdist_group("test-redis-db")


def postgres_configured() -> bool:
    """The suite runs on PostgreSQL (decided before any database is set up, for skipif)."""
    return os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))


NEEDS_POSTGRES = pytest.mark.skipif(
    not postgres_configured(),
    reason="needs PostgreSQL: run with DATABASE_URL=postgres://... (CI's second run)",
)


def redis_up() -> bool:
    try:
        with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=1) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url() -> str:
    s = connection.settings_dict
    auth = quote(s["USER"] or "", safe="")
    if s["PASSWORD"]:
        auth += ":" + quote(s["PASSWORD"], safe="")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


class Web:
    """One gunicorn process (one worker) on its own port, as behind a TLS-terminating proxy."""

    def __init__(self, env: dict[str, str], log: Path):
        self.port = free_port()
        self.log = log
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [str(GUNICORN), "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{self.port}",
                 "--workers", "1"],
                cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def request(self, method: str, path: str, *, cookies=None, body=None, referer=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        headers = {"X-Forwarded-Proto": "https", "Host": f"127.0.0.1:{self.port}"}
        if cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        if body is not None:
            body = urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if referer:
            headers["Referer"] = f"https://127.0.0.1:{self.port}{referer}"
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            content = response.read().decode()
        finally:
            conn.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            if cookies is not None:
                cookies[name] = rest.split(";", 1)[0]
        return response, content

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"gunicorn exited:\n{self.log.read_text()}")
            try:
                response, _ = self.request("GET", "/readyz/")
                if response.status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"gunicorn not ready in {START_TIMEOUT}s:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
