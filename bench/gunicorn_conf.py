"""gunicorn for the benchmark: the same for the bare app and the site, so their difference is
the application's. Sync workers (the bench's command line sets how many and the port); the
app loaded before forking, as in production; no access log (its formatting would cost every
request CPU), and workers never recycled, which would reset their CPU counters mid-row."""

import gc

worker_class = "sync"
preload_app = True
max_requests = 0
accesslog = None
loglevel = "warning"
timeout = 120


def pre_fork(server, worker):
    gc.freeze()  # as the site's gunicorn.conf.py does
