"""Progress bars for long work and long waits (tqdm). They draw on a terminal only: tqdm turns
itself off when stderr is not one, and the roles then print a line per step instead."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from tqdm import tqdm


def bar(total: int | None, desc: str, unit: str = "it", **kwargs) -> tqdm:
    """A bar on stderr that disappears when done (the roles log a line for what it did)."""
    return tqdm(total=total, desc=desc, unit=unit, disable=None, leave=False, file=sys.stderr,
                dynamic_ncols=True, **kwargs)


def byte_bar(total: int, desc: str) -> tqdm:
    return bar(total, desc, unit="B", unit_scale=True, unit_divisor=1024)


def shown(b: tqdm | None) -> bool:
    """Whether a bar actually draws (False off a terminal)."""
    return b is not None and not b.disable


@contextmanager
def ticking(desc: str, every_s: float = 0.25) -> Iterator[None]:
    """Elapsed time for one long call that reports no progress of its own (a compile)."""
    b = bar(None, desc, bar_format="{desc} {elapsed}")
    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(every_s):
            b.refresh()
    thread = threading.Thread(target=tick, daemon=True)
    if shown(b):
        thread.start()
    try:
        yield
    finally:
        stop.set()
        if thread.is_alive():
            thread.join()
        b.close()


class BlockWait:
    """A bar for a wait measured in blocks ("round 3: votes close at block 120"): one bar per
    target, from the block the wait began; a new target replaces it."""

    def __init__(self) -> None:
        self._bar: tqdm | None = None
        self._key: tuple[str, int] | None = None
        self._start = 0

    def show(self, what: str, now: int, target: int) -> None:
        if self._key != (what, target):
            self.close()
            self._bar = bar(max(target - now, 1), f"{what} (block {target})", unit="block")
            self._key, self._start = (what, target), now
        assert self._bar is not None
        self._bar.n = min(max(now - self._start, 0), self._bar.total)
        self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        self._bar, self._key = None, None
