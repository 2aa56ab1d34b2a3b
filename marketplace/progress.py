"""Progress for long jobs: a tqdm bar on a terminal, plain periodic lines otherwise (logs, CI)."""

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from tqdm import tqdm


class _PlainProgress:
    """Prints `desc: 40% (400/1000)` at most every 10% or 10 seconds."""

    def __init__(self, *, total: int, desc: str, stream):
        self.total, self.desc, self.stream = max(total, 1), desc, stream
        self.done, self.last_percent, self.last_time = 0, -10, 0.0

    def update(self, n: int = 1) -> None:
        self.done += n
        percent = self.done * 100 // self.total
        now = time.monotonic()
        if (
            percent >= self.last_percent + 10
            or now - self.last_time >= 10
            or self.done >= self.total
        ):
            self.stream.write(f"{self.desc}: {percent}% ({self.done}/{self.total})\n")
            self.stream.flush()
            self.last_percent, self.last_time = percent, now

    def close(self) -> None:
        pass


@contextmanager
def progress(*, total: int, desc: str, stream=None) -> Iterator:
    """`with progress(total=n, desc="Items") as bar: bar.update(k)`."""
    stream = stream or sys.stderr
    if stream.isatty():
        bar = tqdm(total=total, desc=desc, file=stream, unit="")
    else:
        bar = _PlainProgress(total=total, desc=desc, stream=stream)
    try:
        yield bar
    finally:
        bar.close()
