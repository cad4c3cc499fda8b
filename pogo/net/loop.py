"""The polling loop of long-running roles: transient faults are reported and retried with
backoff; a node that stays away longer than ``give_up_after`` ends the loop with a clear error
(the process exits non-zero instead of spinning forever)."""

from __future__ import annotations

import time
from collections.abc import Callable

import requests
from web3.exceptions import TimeExhausted

from pogo.errors import PogoError
from pogo.net.ipfs import DataUnavailable

# The node or IPFS unreachable or slow (restarting, say): nothing is wrong with the request, so
# a bot retries it as it is, every pass, without counting it as an error.
NODE_AWAY = (requests.exceptions.ConnectionError, requests.exceptions.Timeout, ConnectionError, TimeoutError,
             TimeExhausted, DataUnavailable)
# ... and any other fault of the transport (an HTTP error status, a garbled reply): the loop
# retries these too, since the state is on disk, but gives up after ``give_up_after``.
TRANSIENT = (requests.exceptions.RequestException, *NODE_AWAY)
MAX_BACKOFF_S = 60.0


def poll_until(step: Callable[[], bool], interval: float, say: Callable[[str], None],
               give_up_after: float | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
    """Call ``step`` every ``interval`` seconds until it returns True. After a transient fault
    wait twice as long each time (at most a minute); after ``give_up_after`` seconds of nothing
    but faults, raise PogoError."""
    failing_since: float | None = None
    backoff = interval
    while True:
        try:
            if step():
                return
            failing_since, backoff = None, interval
        except TRANSIENT as exc:
            now = time.monotonic()
            failing_since = failing_since if failing_since is not None else now
            if give_up_after is not None and now - failing_since >= give_up_after:
                raise PogoError(f"gave up after {now - failing_since:.0f} s of {exc.__class__.__name__}: "
                                f"{_first_line(exc)}; check that the chain and IPFS nodes are up") from None
            backoff = min(max(backoff * 2, 0.5), MAX_BACKOFF_S) if now > failing_since else max(interval, 0.0)
            say(f"{exc.__class__.__name__}: {_first_line(exc)}; retrying in {backoff:g} s")
            sleep(backoff)
            continue
        sleep(interval)


def _first_line(exc: BaseException) -> str:
    lines = str(exc).splitlines()
    return lines[0][:200] if lines else ""
