"""The roles' polling loop keeps going through transient faults, and stops when asked."""

import time

import requests

from pogo.net.ipfs import DataUnavailable
from pogo.net.loop import poll_until


def test_transient_faults_are_reported_and_retried():
    faults = [requests.exceptions.ConnectionError("node down"), DataUnavailable("Qm… not found")]
    said, calls = [], []

    def step():
        calls.append(1)
        if faults:
            raise faults.pop(0)
        return len(calls) == 4

    poll_until(step, 0.0, said.append)
    assert len(calls) == 4 and len(said) == 2
    assert said[0].startswith("ConnectionError: node down") and "retrying" in said[1]


def test_other_errors_stop_the_loop():
    def step():
        raise ValueError("a bug")

    try:
        poll_until(step, 0.0, print)
    except ValueError as exc:
        assert str(exc) == "a bug"
    else:
        raise AssertionError("a bug must not be retried forever")


def test_backoff_grows_and_a_node_that_stays_away_ends_the_loop_with_one_clear_error():
    from pogo.errors import PogoError

    slept = []

    def step():
        raise requests.exceptions.ConnectionError("connection refused")

    said = []
    try:
        poll_until(step, 1.0, said.append, give_up_after=0.05, sleep=lambda s: (slept.append(s), time.sleep(0.01)))
    except PogoError as exc:
        assert "gave up after" in str(exc) and "connection refused" in str(exc) and "\n" not in str(exc)
    else:
        raise AssertionError("the loop must give up")
    assert slept == sorted(slept) and slept[-1] > slept[0]  # backoff, never a tighter loop
    assert all("retrying in" in s for s in said)
