#!/usr/bin/env python
"""`make bench`: how fast Vitrine's pages are, relative to a bare Django view, in one run.

1. Builds (once, then reuses) a benchmark database: the demo plus a generated catalogue of
   BENCH_ITEMS pieces (default 100,000) over up to 500 shops (`load_demo --items`).
2. Serves it with gunicorn, 2 sync workers, production settings with DEBUG off (bench/settings.py)
   on 127.0.0.1, with the anonymous page cache on.
3. For each page: requests/s, p50/p95/p99 latency, and server CPU ms per request (from the
   workers' /proc counters), and that CPU as a ratio to the bare 20 KB-template view measured
   by the same server in the same run.
4. Prints the table and writes bench/results/latest.md. It reports; it never fails a build.

Environment: BENCH_ITEMS, BENCH_REQUESTS (per page, default 300), BENCH_DATABASE_URL (default a
SQLite file in bench/results/), BENCH_CLIENTS (concurrent clients, default 2).
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PYTHON = sys.executable
ITEMS = int(os.environ.get("BENCH_ITEMS", "100000"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "300"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "2"))
DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", f"sqlite:///{RESULTS / f'bench-{ITEMS}.sqlite3'}"
)
TICKS = os.sysconf("SC_CLK_TCK")


def env() -> dict:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DATABASE_URL": DATABASE_URL,
        "MEDIA_ROOT": str(RESULTS / "media"),
        "DB_CONN_MAX_AGE": "600",
        "VITRINE_PAGE_CACHE_SECONDS": "300",
    }


def manage(*args: str) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env(), check=True)


def prepare() -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    marker = RESULTS / f".built-{urllib.parse.quote(DATABASE_URL, safe='')}"
    if not marker.exists():
        print(f"Building the benchmark database ({ITEMS} items); later runs reuse it.")
        manage("migrate", "--noinput", "-v0")
        manage("load_demo", "--items", str(ITEMS))
        marker.touch()
    manage("collectstatic", "--noinput", "-v0")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    port: int
    process: subprocess.Popen

    @property
    def workers(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()]

    def cpu_seconds(self) -> float:
        total = 0
        for pid in self.workers:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime + stime
        return total / TICKS


def start_server() -> Server:
    port = free_port()
    process = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "gunicorn",
            "marketplace.wsgi",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            # gunicorn.conf.py (read from the working directory) recycles workers, which would
            # reset their CPU counters mid-measurement, and logs every request.
            "--max-requests",
            "0",
            "--access-logfile",
            "/dev/null",
        ],  # fmt: skip
        cwd=ROOT,
        env={**env(), "DJANGO_SETTINGS_MODULE": "bench.settings"},
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                server = Server(port, process)
                if len(server.workers) == 2:
                    return server
        except OSError:
            pass
        time.sleep(0.2)
    process.kill()
    raise SystemExit("gunicorn did not start")


@dataclass
class Request:
    method: str
    path: str
    body: str = ""
    cookies: dict = field(default_factory=dict)


def send(port: int, request: Request) -> tuple[int, float, http.client.HTTPResponse, bytes]:
    headers = {"Host": f"127.0.0.1:{port}"}
    if request.cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in request.cookies.items())
    if request.body:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        headers["Referer"] = f"http://127.0.0.1:{port}/"
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    start = time.perf_counter()
    connection.request(request.method, request.path, body=request.body or None, headers=headers)
    response = connection.getresponse()
    body = response.read()
    elapsed = time.perf_counter() - start
    connection.close()
    return response.status, elapsed, response, body


def cookies_of(response) -> dict:
    jar = {}
    for header, value in response.getheaders():
        if header.lower() == "set-cookie":
            name, _, rest = value.partition("=")
            jar[name] = rest.split(";", 1)[0]
    return jar


@dataclass
class Result:
    name: str
    requests: int
    seconds: float
    latencies: list[float]
    cpu: float
    statuses: set

    def pct(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] * 1000

    @property
    def cpu_ms(self) -> float:
        return self.cpu * 1000 / self.requests


def measure(server: Server, name: str, requests: list[Request], expect=(200,)) -> Result:
    for request in requests[:10]:  # warm up: renditions, caches, connections
        send(server.port, request)
    latencies, statuses, lock = [], set(), threading.Lock()
    queue = list(requests)

    def client():
        while True:
            with lock:
                if not queue:
                    return
                request = queue.pop()
            status, elapsed, _, _ = send(server.port, request)
            with lock:
                latencies.append(elapsed)
                statuses.add(status)

    cpu_before, start = server.cpu_seconds(), time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds, cpu = time.perf_counter() - start, server.cpu_seconds() - cpu_before
    unexpected = statuses - set(expect)
    if unexpected:
        print(f"  {name}: unexpected statuses {sorted(unexpected)}")
    return Result(name, len(latencies), seconds, latencies, cpu, statuses)


def csrf_session(port: int, item_path: str) -> dict | None:
    """A fresh shopper session with a CSRF cookie and token, from an item's add-to-cart form
    (None when the piece is sold and has no form)."""
    _, _, response, body = send(port, Request("GET", item_path, cookies={"bench": "1"}))
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)
    item = re.search(rb'name="item" value="([0-9]+)"', body)
    if not token or not item:
        return None
    return {
        "cookies": {**cookies_of(response), "bench": "1"},
        "token": token.group(1).decode(),
        "item": item.group(1).decode(),
    }


def add_to_cart(port: int, session: dict, item_id: str) -> None:
    """Put a piece in the session's cart; the session cookie arrives with this response."""
    body = f"item={item_id}&csrfmiddlewaretoken={session['token']}"
    status, _, response, _ = send(
        port, Request("POST", "/cart/add/", cookies=session["cookies"], body=body)
    )
    assert status == 302, f"add to cart answered {status}"
    session["cookies"].update(cookies_of(response))


def scenarios(server: Server) -> list[tuple[str, list[Request], tuple]]:
    """The pages to measure, found through the site itself (like a shopper would)."""
    port = server.port
    uncached = {"bench": "1"}  # any cookie makes the page cache step aside
    _, _, _, body = send(port, Request("GET", "/shops/", cookies=uncached))
    for shop in [
        path.decode() for path in re.findall(rb'href="(/shops/atelier-no-[0-9]+/)"', body)
    ]:
        _, _, _, body = send(port, Request("GET", shop, cookies=uncached))
        items = sorted(
            {p.decode() for p in re.findall(rb'href="(' + shop.encode() + rb'gen-[0-9]+/)"', body)}
        )
        sessions = [s for s in (csrf_session(port, path) for path in items) if s]
        if len(sessions) >= 3:  # a shop with pieces still for sale
            break
    _, _, _, body = send(port, Request("GET", "/designers/", cookies=uncached))
    designer = re.findall(rb'href="(/designers/[a-z0-9-]+/)"', body)[0].decode()
    n = REQUESTS

    def rotate(paths):
        return [paths[i % len(paths)] for i in range(n)]

    searches = [
        "/search/?q=silk&category=bags&sort=price_asc",
        "/search/?q=cashmere&condition=excellent",
        "/search/?designer=maison-aubert&min_price=300&max_price=2000&sort=newest",
        "/search/?q=leather+piece&sort=price_desc&page=2",
    ]
    cart_session = sessions[0]
    for other in sessions[1:3]:
        add_to_cart(port, cart_session, other["item"])

    # Checkout POSTs: each by its own shopper holding a different available piece.
    candidates, page = [], 1
    while len(candidates) < n + 10 and page < 200:
        _, _, _, body = send(port, Request("GET", f"/search/?sort=price_asc&page={page}",
                                           cookies=uncached))  # fmt: skip
        candidates += [
            p.decode() for p in re.findall(rb'href="(/shops/atelier-no-[0-9]+/gen-[0-9]+/)"', body)
        ]
        page += 1
    address = urllib.parse.urlencode({
        "email": "bench@example.com", "name": "Bench Shopper", "line1": "1 Loop Road",
        "city": "London", "postcode": "SW1A 1AA", "country": "GB",
    })  # fmt: skip
    checkout = []
    for path in candidates:
        session = csrf_session(port, path)
        if session is None or len(checkout) >= n:
            continue
        add_to_cart(port, session, session["item"])
        checkout.append(Request("POST", "/checkout/", cookies=session["cookies"],
                                body=f"{address}&csrfmiddlewaretoken={session['token']}"))  # fmt: skip

    return [
        ("minimal view (20 KB template)", [Request("GET", "/_bench/baseline/")] * n, (200,)),
        ("minimal view + pk query", [Request("GET", "/_bench/baseline-db/")] * n, (200,)),
        ("home", [Request("GET", "/", cookies=uncached)] * n, (200,)),
        ("home (cached)", [Request("GET", "/")] * n, (200,)),
        ("shop (24 items)", [Request("GET", shop, cookies=uncached)] * n, (200,)),
        ("shop (cached)", [Request("GET", shop)] * n, (200,)),
        ("item", [Request("GET", p, cookies=uncached) for p in rotate(items)], (200,)),
        ("designer", [Request("GET", designer, cookies=uncached)] * n, (200,)),
        ("designer (cached)", [Request("GET", designer)] * n, (200,)),
        (
            "search with filters",
            [Request("GET", p, cookies=uncached) for p in rotate(searches)],
            (200,),
        ),
        ("cart", [Request("GET", "/cart/", cookies=cart_session["cookies"])] * n, (200,)),
        ("checkout POST", checkout, (302,)),
    ]


TARGETS = {"item": 6, "shop (24 items)": 10, "home": 10, "search with filters": 15}


def report(results: list[Result]) -> str:
    base = results[0].cpu_ms
    lines = [
        f"Vitrine benchmark — {time.strftime('%Y-%m-%d %H:%M')} — {ITEMS:,} items, "
        f"database {DATABASE_URL.split(':', 1)[0]}, gunicorn 2 sync workers, {CLIENTS} clients, "
        f"{os.cpu_count()} cores",
        "",
        "| page | req/s | p50 ms | p95 ms | p99 ms | CPU ms/req | × minimal view | target |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        target = TARGETS.get(r.name) or (2 if "cached" in r.name else None)
        ratio = r.cpu_ms / base if base else float("nan")
        lines.append(
            f"| {r.name} | {r.requests / r.seconds:.0f} | {r.pct(50):.1f} | {r.pct(95):.1f} | "
            f"{r.pct(99):.1f} | {r.cpu_ms:.2f} | {ratio:.1f} | "
            f"{'≤ ' + str(target) if target else ''}{' ✓' if target and ratio <= target else ''} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    os.chdir(ROOT)
    prepare()
    server = start_server()
    try:
        results = []
        for name, requests, expect in scenarios(server):
            print(f"  measuring {name} ({len(requests)} requests)…", flush=True)
            results.append(measure(server, name, requests, expect))
        table = report(results)
    finally:
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(timeout=30)
    print()
    print(table)
    (RESULTS / "latest.md").write_text(table)
    print(f"Written to {RESULTS / 'latest.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
