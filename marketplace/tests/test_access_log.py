"""Emailed links' tokens and query strings stay out of the logs: gunicorn's access log and the
application's own lines (django.request's "Not Found: <path>"). See marketplace.tokenised_urls."""

import json
import logging
import re
import runpy
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

from django.urls import URLPattern, URLResolver, get_resolver, reverse

import pytest
from gunicorn import glogging
from gunicorn.config import Config

from marketplace.tokenised_urls import TOKENISED_URLS, TokenisedPathFilter, scrub_path

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "eyJ1IjoxMjN9:1tXyZ9:SECRETsignature0123"
QUERY = "utm_source=mail&email=ada.lovelace%40example.com"
SAMPLE_PATHS = [
    f"/pay/{TOKEN}/",
    f"/email/unsubscribe/{TOKEN}/",
    f"/testimonials/submit/{TOKEN}/",
    f"/account/password-reset/MTIz/{TOKEN}/",
    "/account/password-reset/MTIz/set-password/",
    f"/admin/password_reset/confirm/MTIz/{TOKEN}/",
    f"/account/verify-email/{TOKEN}/",
    f"/saved/alerts/unsubscribe/{TOKEN}/",
]


def gunicorn_logger(tmp_path, access_log_format=None) -> tuple[glogging.Logger, Path]:
    """gunicorn's own logger, configured from gunicorn.conf.py as `gunicorn -c` would."""
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    cfg = Config()
    log_file = tmp_path / "access.log"
    cfg.set("accesslog", str(log_file))
    cfg.set("access_log_format", access_log_format or conf["access_log_format"])
    return glogging.Logger(cfg), log_file


def log_request(logger: glogging.Logger, path: str, query: str = QUERY) -> None:
    raw_uri = f"{path}?{query}" if query else path
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": raw_uri,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "203.0.113.9",
        "HTTP_REFERER": f"https://vitrine.example{raw_uri}",
    }
    response = SimpleNamespace(status="302 Found", sent=0, headers=[("X-Request-ID", "req-1")])
    request = SimpleNamespace(headers=[("REFERER", environ["HTTP_REFERER"])])
    logger.access(response, request, environ, timedelta(milliseconds=12))


@pytest.mark.parametrize("path", SAMPLE_PATHS)
def test_the_access_log_shows_no_token_and_no_query(tmp_path, path):
    logger, log_file = gunicorn_logger(tmp_path)
    log_request(logger, path)
    (line,) = log_file.read_text().splitlines()
    entry = json.loads(line)
    assert TOKEN not in line and "SECRET" not in line and "MTIz" not in line
    assert "utm_source" not in line and "lovelace" not in line
    assert "…" in entry["path"] and entry["status"] == 302 and entry["request_id"] == "req-1"


def test_any_access_log_format_is_scrubbed(tmp_path):
    """Request line, query, Referer and raw URI too, should someone log them."""
    logger, log_file = gunicorn_logger(
        tmp_path, "%(r)s | %(q)s | %(f)s | %({raw_uri}e)s | %({referer}i)s | %(s)s"
    )
    log_request(logger, f"/pay/{TOKEN}/")
    (line,) = log_file.read_text().splitlines()
    assert TOKEN not in line and "utm_source" not in line
    assert line.startswith("GET /pay/…/ HTTP/1.1 |  | https://vitrine.example/pay/…/ |")


def test_ordinary_paths_are_logged_as_they_are(tmp_path):
    logger, log_file = gunicorn_logger(tmp_path)
    for path in ["/account/password-reset/sent/", "/account/verify-email/resend/", "/shops/"]:
        log_request(logger, path, query="")
    paths = [json.loads(line)["path"] for line in log_file.read_text().splitlines()]
    assert paths == ["/account/password-reset/sent/", "/account/verify-email/resend/", "/shops/"]


def test_the_filter_is_installed_once_on_gunicorns_access_logger():
    runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    runpy.run_path(str(ROOT / "gunicorn.conf.py"))  # a config reload reads the file again
    filters = logging.getLogger("gunicorn.access").filters
    assert sum(isinstance(f, TokenisedPathFilter) for f in filters) == 1


def test_application_log_lines_show_no_token(settings):
    """django.request logs 4xx paths ("Not Found: /pay/<token>/") through the console handler."""
    (handler,) = [h for h in logging.getLogger().handlers if h.get_name() == "console"]
    record = logging.LogRecord(
        "django.request", logging.WARNING, __file__, 1, "%s: %s", ("Gone", f"/pay/{TOKEN}/"), None
    )
    assert handler.filter(record)
    assert record.getMessage() == "Gone: /pay/…/"


def tokenised_routes(resolver=None, prefix="", namespace="") -> list[tuple[str, str]]:
    """(URL name, route) of every pattern with a token or uidb64 in its path."""
    found = []
    for entry in (resolver or get_resolver()).url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            found += tokenised_routes(entry, route, inner)
        elif isinstance(entry, URLPattern) and re.search(r"<(\w+:)?(token|uidb64)>", route):
            found.append((f"{namespace}{entry.name}", route))
    return found


def test_every_url_with_a_token_in_its_path_is_listed():
    routes = tokenised_routes()
    assert len(routes) >= len(TOKENISED_URLS)
    assert {name for name, _ in routes} == set(TOKENISED_URLS), routes


@pytest.mark.parametrize("name", sorted(TOKENISED_URLS))
def test_each_listed_url_name_is_scrubbed_as_django_builds_it(name):
    kwargs = {"token": TOKEN}
    if name.endswith("password_reset_confirm"):
        kwargs["uidb64"] = "MTIz"
    path = reverse(name, kwargs=kwargs)
    assert scrub_path(f"{path}?{QUERY}") == path.replace(TOKEN, "…").replace("MTIz", "…")
