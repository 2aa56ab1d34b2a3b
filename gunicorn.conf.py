"""gunicorn settings for Vitrine: `gunicorn -c gunicorn.conf.py marketplace.wsgi`.

Everything can be set from the environment (docs/deploy.md): GUNICORN_BIND, WEB_CONCURRENCY,
GUNICORN_THREADS, GUNICORN_TIMEOUT, GUNICORN_GRACEFUL_TIMEOUT, GUNICORN_MAX_REQUESTS.
"""

import gc
import logging
import multiprocessing
import os
import sys

# The project's root, for marketplace.tokenised_urls (gunicorn reads this file before it
# imports the application).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from marketplace.tokenised_urls import TokenisedPathFilter  # noqa: E402

wsgi_app = "marketplace.wsgi:application"
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Sync workers: 2 × cores + 1 is gunicorn's rule of thumb; WEB_CONCURRENCY overrides it.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# On SIGTERM (deploys, scale-down) workers finish the requests they have for this long.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = 5
# Recycle workers now and then (memory); the jitter keeps them from restarting together.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = max_requests // 10
# Django's checks run once in the master, and workers fork from a warm process.
preload_app = True


def pre_fork(server, worker):
    # What the master loaded (the whole application) lives as long as the worker: frozen, the
    # worker's garbage collections never walk it again (about a millisecond on a heavy page)
    # and never write to its memory pages, which stay shared between the workers.
    gc.freeze()


# The proxy (nginx, a load balancer) in front terminates TLS and sets X-Forwarded-Proto.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# Logs to stdout/stderr for the service manager. The access log is one JSON object per line,
# like the application's (marketplace.logging), with the X-Request-ID the app sent back. The
# path is logged without its query string (%(U)s), which can carry search terms; the filter
# also shows the token in emailed links' paths (/pay/…/, /email/unsubscribe/…/, password reset,
# email verification…: marketplace.tokenised_urls) as "…", whatever the format logs.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
access_log_format = (
    '{"time": "%(t)s", "logger": "gunicorn.access", "request_id": "%({x-request-id}o)s", '
    '"method": "%(m)s", "path": "%(U)s", "status": %(s)s, "bytes": "%(B)s", '
    '"duration_ms": %(M)s}'
)

_access_log = logging.getLogger("gunicorn.access")
if not any(isinstance(f, TokenisedPathFilter) for f in _access_log.filters):  # config reloads
    _access_log.addFilter(TokenisedPathFilter())
