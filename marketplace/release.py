"""Which release of the code a process runs: a cache shared by several releases (a rolling
deploy, or the entries left by the last one) keeps each release's entries apart, since what
one release cached (a card's markup, a class it pickled, a static file's hashed name) another
may read differently or not at all."""

import hashlib
import os
from pathlib import Path

from django.conf import settings

# What a release's cached entries depend on: its code, templates and static sources.
SOURCES = (".py", ".html", ".css", ".js", ".txt")
# Not the site's: tools, tests, documentation, and anything hidden (the virtualenv).
SKIPPED = frozenset(["bench", "docs", "e2e", "node_modules", "tests", "media"])


def release() -> str:
    """VITRINE_RELEASE when the deploy sets it (its commit, say); otherwise a digest of the
    sources, the same on every machine running the same code (about 10 ms, once a process)."""
    return getattr(settings, "VITRINE_RELEASE", "") or digest(Path(settings.BASE_DIR))


def digest(root: Path) -> str:
    found = hashlib.sha256()
    for directory, subdirectories, files in os.walk(root):
        subdirectories[:] = sorted(
            name
            for name in subdirectories
            if not name.startswith((".", "__")) and name not in SKIPPED
        )
        for name in sorted(files):
            if name.endswith(SOURCES):
                path = Path(directory, name)
                found.update(path.relative_to(root).as_posix().encode() + b"\0")
                found.update(path.read_bytes())
    return found.hexdigest()[:12]
