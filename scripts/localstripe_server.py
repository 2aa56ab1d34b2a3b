#!/usr/bin/env python
"""Run localstripe (a fake Stripe API) bound to loopback only.

localstripe's own CLI binds every interface (``::``) and always keeps its state in the
hard-coded file ``/tmp/localstripe.pickle``. This launcher imports localstripe's aiohttp
app instead, binds it to 127.0.0.1 and makes the state file configurable:

    python scripts/localstripe_server.py                 # :8420, state in /tmp/localstripe.pickle
    python scripts/localstripe_server.py --fresh         # same, but start from an empty state
    python scripts/localstripe_server.py --port 0 --memory   # any free port, nothing on disk

When it is listening it prints one line ``LOCALSTRIPE_READY http://127.0.0.1:<port>`` to
stdout (tests wait for it). ``--webhook-url``/``--webhook-secret`` register a signed webhook
endpoint at start-up, as ``POST /_config/webhooks/<name>`` would. Stripe Connect's accounts,
transfers and transfer reversals, which localstripe lacks, come from localstripe_connect.py.
"""

from __future__ import annotations

import argparse
import logging
import os
import pickle
import socket
import sys

DEFAULT_STATE = "/tmp/localstripe.pickle"  # localstripe's own hard-coded location


def _configure_store(state_path: str | None, *, fresh: bool) -> None:
    """Point localstripe's Store at ``state_path`` (or keep it in memory when None)."""
    from localstripe import resources

    def dump_to_disk(self):
        if state_path is None:
            return
        tmp = f"{state_path}.tmp{os.getpid()}"
        with open(tmp, "wb") as f:
            pickle.dump(dict(self), f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, state_path)

    def try_load_from_disk(self):
        if state_path is None:
            return
        try:
            with open(state_path, "rb") as f:
                old = pickle.load(f)
        except FileNotFoundError:
            return
        except Exception as exc:  # a pickle from another localstripe version, a torn write...
            print(f"localstripe: ignoring unreadable state {state_path}: {exc}", file=sys.stderr)
            return
        self.clear()
        dict.update(self, old)  # plain dict update: don't re-dump once per key

    resources.Store.dump_to_disk = dump_to_disk
    resources.Store.try_load_from_disk = try_load_from_disk

    if fresh and state_path is not None:
        try:
            os.remove(state_path)
        except FileNotFoundError:
            pass
    resources.store.try_load_from_disk()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8420, help="port (default 8420; 0 = any free)")
    state = parser.add_mutually_exclusive_group()
    state.add_argument(
        "--state", default=DEFAULT_STATE, help=f"state file (default {DEFAULT_STATE})"
    )
    state.add_argument("--memory", action="store_true", help="keep all state in memory only")
    parser.add_argument("--fresh", action="store_true", help="discard any saved state at start")
    parser.add_argument("--webhook-url", help="register this signed webhook endpoint at start")
    parser.add_argument(
        "--webhook-secret",
        default=os.environ.get("STRIPE_WEBHOOK_SECRET"),
        help="signing secret for --webhook-url (default: $STRIPE_WEBHOOK_SECRET)",
    )
    parser.add_argument("--access-log", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)

    _configure_store(None if args.memory else args.state, fresh=args.fresh)

    # Import after patching the Store so nothing is loaded from the hard-coded file.
    import localstripe_connect  # beside this file: the Connect endpoints localstripe lacks
    from aiohttp import web
    from localstripe.server import app
    from localstripe.webhooks import register_webhook

    localstripe_connect.install(app)

    if args.webhook_url:
        if not args.webhook_secret:
            parser.error("--webhook-url needs --webhook-secret or $STRIPE_WEBHOOK_SECRET")
        register_webhook("vitrine", args.webhook_url, args.webhook_secret, None)

    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.listen(128)  # connectable from now on, so "ready" below really means ready
    port = sock.getsockname()[1]
    host = f"[{args.host}]" if family == socket.AF_INET6 else args.host

    logging.basicConfig(level=logging.INFO, format="localstripe: %(message)s")
    access_logger = logging.getLogger("aiohttp.access") if args.access_log else None
    if not args.access_log:
        # localstripe logs webhook deliveries through this logger; keep those.
        logging.getLogger("aiohttp.access").setLevel(logging.INFO)

    print(f"LOCALSTRIPE_READY http://{host}:{port}", flush=True)
    web.run_app(app, sock=sock, print=None, access_log=access_logger)


if __name__ == "__main__":
    main()
