"""What `make bench` and `make bench-load` share: the benchmark database, a private Redis,
gunicorn servers and their CPU counters, an HTTP client, latency statistics, machine facts."""

from __future__ import annotations

import http.client
import json
import os
import platform
import resource
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import dj_database_url

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"  # benchmark databases (reused) and reports
PYTHON = sys.executable
TICKS = os.sysconf("SC_CLK_TCK")
# A row whose pages are slow stops after config.max_seconds, with at least this many requests.
MIN_REQUESTS = 20
# A cookie the anonymous page cache steps aside for: the page is rendered every time.
UNCACHED = {"bench": "1"}


@dataclass
class Config:
    """One benchmark run, from the environment (README, "Benchmark")."""

    items: int = 100_000
    database_url: str = ""
    requests: int = 200  # at least this many requests per row…
    seconds: float = 3.0  # …and at least this long, so the CPU counters (10 ms ticks) are exact
    max_seconds: float = 30.0  # …but a row whose pages are slow stops here
    clients: int = 2
    redis_url: str = ""  # empty: a private redis-server for the run
    reports: Path = RESULTS  # where the markdown reports go
    rows: str = ""  # only the rows whose names contain one of these, comma-separated

    def __post_init__(self):
        if not self.database_url:
            self.database_url = f"sqlite:///{RESULTS / f'bench-{self.items}.sqlite3'}"

    @classmethod
    def from_env(cls) -> Config:
        return cls(
            items=int(os.environ.get("BENCH_ITEMS", "100000")),
            database_url=os.environ.get("BENCH_DATABASE_URL", ""),
            requests=int(os.environ.get("BENCH_REQUESTS", "200")),
            seconds=float(os.environ.get("BENCH_SECONDS", "3")),
            max_seconds=float(os.environ.get("BENCH_MAX_SECONDS", "30")),
            clients=int(os.environ.get("BENCH_CLIENTS", "2")),
            redis_url=os.environ.get("BENCH_REDIS_URL", ""),
            reports=Path(os.environ.get("BENCH_REPORTS", RESULTS)),
            rows=os.environ.get("BENCH_ROWS", ""),
        )

    def wants(self, row: str) -> bool:
        return not self.rows or any(part in row for part in self.rows.split(","))

    @property
    def vendor(self) -> str:
        return "postgresql" if self.database_url.startswith("postgres") else "sqlite"

    @property
    def slug(self) -> str:
        return f"{self.vendor}-{self.items}"


def site_env(config: Config, redis_url: str) -> dict[str, str]:
    """The environment of everything that runs the site: servers, manage.py, the publisher."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DATABASE_URL": config.database_url,
        "MEDIA_ROOT": str(RESULTS / "media"),
        "STATIC_ROOT": str(RESULTS / "static"),
        "DB_CONN_MAX_AGE": "600",
        "VITRINE_PAGE_CACHE_SECONDS": "300",
        "REDIS_URL": redis_url,
        "CACHE_KEY_PREFIX": f"bench-{os.getpid()}",
        # Every shopper of the benchmark comes from 127.0.0.1: the per-network hold limit would
        # refuse all but the first few checkouts.
        "VITRINE_HOLDS_PER_NETWORK_PER_HOUR": "1000000000",
    }


# The benchmark database -------------------------------------------------------------------


def _create_postgres_database(url: str) -> bool:
    """Create the database of `url` when it does not exist; True if it was created."""
    import psycopg

    params = dj_database_url.parse(url)
    name = params["NAME"]
    admin = {
        "host": params.get("HOST") or None,
        "port": params.get("PORT") or None,
        "user": params.get("USER") or None,
        "password": params.get("PASSWORD") or None,
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **admin) as connection:
        if connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            return False
        connection.execute(f'CREATE DATABASE "{name}"')
        return True


def build_record(config: Config) -> Path:
    return RESULTS / f".built-{urllib.parse.quote(config.database_url, safe='')}.json"


def prepare_database(config: Config, env: dict[str, str]) -> dict:
    """Migrate and load the demo plus `config.items` generated pieces (bench/catalogue.py on
    PostgreSQL, `load_demo --items` on SQLite), once per database: later runs reuse it.
    A database built by an earlier run gets the migrations added since.
    Returns the build record: {"items", "seconds"} of the build."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    record = build_record(config)
    if config.vendor == "postgresql":
        if _create_postgres_database(config.database_url):
            record.unlink(missing_ok=True)
    elif not Path(dj_database_url.parse(config.database_url)["NAME"]).exists():
        record.unlink(missing_ok=True)
    if not record.exists():
        print(f"Building the benchmark database ({config.items:,} items); later runs reuse it.")
        start, cpu = time.monotonic(), _children_cpu()
        manage(env, "migrate", "--noinput", "-v0")
        if config.vendor == "postgresql":  # COPY: a million pieces in minutes
            subprocess.run([PYTHON, "-m", "bench.catalogue", str(config.items)], cwd=ROOT,
                           env=env, check=True)  # fmt: skip
        else:
            manage(env, "load_demo", "--items", str(config.items))
        build = {
            "items": config.items,
            "seconds": round(time.monotonic() - start),
            # The loader's own CPU (not the database server's): with the machine shared, the
            # elapsed time alone says little.
            "loader_cpu_seconds": round(_children_cpu() - cpu),
        }
        record.write_text(json.dumps(build))
    else:
        manage(env, "migrate", "--noinput", "-v0")
    manage(env, "collectstatic", "--noinput", "-v0")
    return json.loads(record.read_text())


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True)


def database_facts(config: Config) -> dict:
    """The database's server version and size on disk."""
    params = dj_database_url.parse(config.database_url)
    if config.vendor == "postgresql":
        import psycopg

        with psycopg.connect(config.database_url.replace("postgres://", "postgresql://", 1)) as c:
            version = c.execute("SHOW server_version").fetchone()[0]
            buffers = c.execute("SHOW shared_buffers").fetchone()[0]
            size = c.execute("SELECT pg_database_size(current_database())").fetchone()[0]
        # shared_buffers: what a search for new words reads from memory, not the OS's cache
        # (docs/deploy.md, "Sizing PostgreSQL").
        name = f"PostgreSQL {version.split()[0]} (shared_buffers {buffers})"
        return {"name": name, "bytes": size}
    import sqlite3

    path = Path(params["NAME"])
    size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))  # with -wal
    return {"name": f"SQLite {sqlite3.sqlite_version}", "bytes": size}


def machine() -> str:
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{model}, {os.cpu_count()} cores, load average {load}"


# Processes --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_port(port: int, ready, process: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                if ready():
                    return
        except OSError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"{what} did not start")


class PrivateRedis:
    """A redis-server of our own on a free port (no disk), or the one of BENCH_REDIS_URL; with
    neither, no Redis (each worker then caches in its own memory, and a publish invalidates
    only the process that made it)."""

    def __init__(self, url: str = ""):
        self.url, self.process = url, None

    def __enter__(self) -> PrivateRedis:
        binary = shutil.which("redis-server")
        if not self.url and binary:
            port = free_port()
            self.process = subprocess.Popen(
                [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--loglevel", "warning"],
                stdout=subprocess.DEVNULL,
            )  # fmt: skip
            _wait_for_port(port, lambda: True, self.process, "redis-server")
            self.url = f"redis://127.0.0.1:{port}/0"
        return self

    def __exit__(self, *exc) -> None:
        if self.process:
            self.process.terminate()
            self.process.wait(timeout=10)

    def flush(self) -> bool:
        """Empties the cache, if it is our own Redis (never BENCH_REDIS_URL's), but for the
        cache's epoch (marketplace.cache): a worker finding it gone starts a new one up to a
        second later, maybe within the request measured, which would then miss what it had
        cached itself (more queries than a first view makes). Whether it did."""
        if not self.process:
            return False
        import redis

        from marketplace.cache import EPOCH_KEY

        client = redis.Redis.from_url(self.url)
        epoch = f":{EPOCH_KEY}".encode()
        keys = [key for key in client.scan_iter(count=10_000) if not key.endswith(epoch)]
        for start in range(0, len(keys), 10_000):
            client.delete(*keys[start : start + 10_000])
        return True


@dataclass
class Server:
    """gunicorn with 2 sync workers (bench/gunicorn_conf.py) serving `app` on a free port."""

    app: str
    env: dict[str, str]
    workers: int = 2
    port: int = 0
    process: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        self.port = free_port()
        self.process = subprocess.Popen(
            [PYTHON, "-m", "gunicorn", self.app, "--config", "bench/gunicorn_conf.py",
             "--workers", str(self.workers), "--bind", f"127.0.0.1:{self.port}"],
            cwd=ROOT, env=self.env,
        )  # fmt: skip
        _wait_for_port(
            self.port, lambda: len(self.worker_pids()) == self.workers, self.process, self.app
        )
        return self

    def __exit__(self, *exc) -> None:
        assert self.process
        self.process.terminate()
        self.process.wait(timeout=60)

    def worker_pids(self) -> list[int]:
        assert self.process
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children")
        return [int(p) for p in children.read_text().split()]

    def cpu_seconds(self) -> float:
        """User + system CPU of the workers so far (the master only supervises)."""
        total = 0
        for pid in self.worker_pids():
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        return total / TICKS


# HTTP -------------------------------------------------------------------------------------


@dataclass
class Request:
    method: str
    path: str
    body: str = ""
    cookies: dict = field(default_factory=dict)
    headers: dict = field(default_factory=dict)


@dataclass
class Response:
    status: int
    seconds: float
    headers: dict[str, str]  # lower-case names; the last of repeated headers
    cookies: dict[str, str]
    body: bytes


def send(port: int, request: Request) -> Response:
    headers = {"Host": f"127.0.0.1:{port}", **request.headers}
    if request.cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in request.cookies.items())
    if request.body:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        headers["Referer"] = f"http://127.0.0.1:{port}/"
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    start = time.perf_counter()
    try:
        connection.request(request.method, request.path, body=request.body or None, headers=headers)
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    seconds = time.perf_counter() - start
    cookies = {}
    for name, value in response.getheaders():
        if name.lower() == "set-cookie":
            key, _, rest = value.partition("=")
            cookies[key] = rest.split(";", 1)[0]
    return Response(
        response.status,
        seconds,
        {k.lower(): v for k, v in response.getheaders()},
        cookies,
        body,
    )


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of `values`; 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(p / 100 * len(ordered))) - 1))]


@dataclass
class Result:
    name: str
    requests: int
    seconds: float
    latencies: list[float]
    cpu: float
    errors: int
    target: float | None = None
    queries: int | None = None  # as measured: with what the row's requests keep
    first_queries: int | None = None  # the first view, the cache empty
    unit_ms: float | None = None  # the bare app's CPU per request, measured beside this row

    def ms(self, p: float) -> float:
        return percentile(self.latencies, p) * 1000

    @property
    def cpu_ms(self) -> float:
        return self.cpu * 1000 / self.requests if self.requests else 0.0

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def answered(*statuses: int, location: str = "") -> Callable[[Response], bool]:
    """A check of a response: one of `statuses`, redirecting to a path starting `location`."""

    def check(response: Response) -> bool:
        return response.status in statuses and response.headers.get("location", "").startswith(
            location
        )

    return check


WARMED = 50  # a row of at most this many requests is a rotation of pages, warmed first


def measure(
    server: Server,
    config: Config,
    name: str,
    requests: list[Request],
    ok: Callable[[Response], bool] | None = None,
    *,
    repeat: bool = True,
    target: float | None = None,
) -> Result:
    """Send `requests` (in rotation, from `config.clients` threads) until at least
    `config.requests` were answered and `config.seconds` have passed, or, for a slow page,
    `config.max_seconds` (`repeat=False`: each request once), with the workers' CPU over that
    span. A response `ok` refuses (default:
    any but 200) counts as an error."""
    ok = ok or answered(200)
    # Warm up (renditions, caches, connections): each page of a rotation once; none of a row
    # asking something new each time (hundreds of requests), which must stay new.
    for request in requests if repeat and len(requests) <= WARMED else []:
        send(server.port, request)
    latencies: list[float] = []
    errors, lock, sent = 0, threading.Lock(), 0
    start = time.perf_counter()

    def next_request() -> Request | None:
        nonlocal sent
        with lock:
            if not repeat:
                if sent >= len(requests):
                    return None
            else:
                elapsed = time.perf_counter() - start
                if sent >= config.requests and elapsed >= config.seconds:
                    return None
                if sent >= MIN_REQUESTS and elapsed >= config.max_seconds:  # a slow page
                    return None
            sent += 1
            return requests[(sent - 1) % len(requests)]

    def client() -> None:
        nonlocal errors
        while (request := next_request()) is not None:
            response = send(server.port, request)
            with lock:
                latencies.append(response.seconds)
                if not ok(response):
                    errors += 1
                    if errors <= 3:
                        where = response.headers.get("location", "")
                        print(
                            f"  {name}: {request.method} {request.path} → {response.status} {where}"
                        )

    cpu_before, start = server.cpu_seconds(), time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(config.clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds, cpu = time.perf_counter() - start, server.cpu_seconds() - cpu_before
    return Result(name, len(latencies), seconds, latencies, cpu, errors, target)


def query_count(server: Server, request: Request) -> int | None:
    """How many SQL queries the site ran for `request` (bench.queries counts them on demand)."""
    counted = Request(
        **{**request.__dict__, "headers": {**request.headers, "X-Bench-Queries": "1"}}
    )
    headers = send(server.port, counted).headers
    value = headers.get("x-bench-queries")
    if value is None and headers.get("x-page-cache") == "hit":
        return 0  # answered in front of Django (marketplace.page_cache.PageCacheHits)
    return int(value) if value is not None else None
