"""The polling loop of long-running roles: transient faults are reported and retried."""

from __future__ import annotations

import time
from typing import Callable

import requests
from web3.exceptions import TimeExhausted

from pogo.net.ipfs import DataUnavailable

# The node or IPFS briefly unreachable or slow: the state is on disk, so the next pass resumes.
TRANSIENT = (requests.exceptions.RequestException, ConnectionError, TimeoutError, TimeExhausted, DataUnavailable)


def poll_until(step: Callable[[], bool], interval: float, say: Callable[[str], None]) -> None:
    """Call ``step`` every ``interval`` seconds until it returns True."""
    while True:
        try:
            if step():
                return
        except TRANSIENT as exc:
            say(f"{exc.__class__.__name__}: {str(exc).splitlines()[0][:200]}; retrying in {interval:g} s")
        time.sleep(interval)
