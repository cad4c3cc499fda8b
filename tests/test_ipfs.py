"""The IPFS edge against the real js-ipfs daemon (and a scripted fake daemon for what a real one
will not do on demand): a CID that nobody serves fails fast as DataUnavailable, an object over
the caller's cap is refused as TooLarge without being held in memory, the timeout bounds the
whole read, every transport failure is DataUnavailable / PogoError, and pin/unpin/gc really
keep or drop data. Plus the js-ipfs crash on a cat that waits for a missing inner block."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
import requests

from pogo.dev.devnet import Devnet
from pogo.errors import FormatError, PogoError
from pogo.net.ipfs import DaemonUnreachable, DataUnavailable, Ipfs, IpfsSource, TooLarge
from pogo.net.ports import free_port

MiB = 1 << 20


def never_added_cid() -> str:
    """A well-formed CIDv0 (sha256 multihash) of random bytes that no node holds."""
    import base58

    return base58.b58encode(b"\x12\x20" + hashlib.sha256(b"never added:" + os.urandom(32)).digest()).decode()


@pytest.fixture(scope="module")
def ipfs(devnet):
    return Ipfs(devnet.ipfs_api)


def timed(fn):
    start = time.monotonic()
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - returned for the test to judge
        return exc, time.monotonic() - start
    return None, time.monotonic() - start


# -- a scripted daemon ----------------------------------------------------------------------------


class FakeDaemon(BaseHTTPRequestHandler):
    """Answers version, files/stat and cat the way ``server.script`` says."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        script = self.server.script
        command = self.path.split("?")[0].rsplit("/", 1)[-1]
        if command == "version":
            return self._json(200, {"Version": "fake"})
        if command == "stat":
            return self._json(200, {"Type": script.get("type", "file"), "Size": script["size"]})
        if command != "cat":
            return self._json(404, {"Message": f"no {command}", "Code": 0, "Type": "error"})
        mode = script["cat"]
        try:
            if mode == "error":
                return self._json(500, {"Message": "Failed to cat file: boom", "Code": 0, "Type": "error"})
            if mode == "flood":  # not chunked: one read with chunk_size=None would take it all
                self.send_response(200)
                self.send_header("Content-Length", str(1 << 40))
                self.end_headers()
                while not self.server.stop.is_set():
                    self.wfile.write(bytes(MiB))
                return
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Trailer", "X-Stream-Error")
            self.end_headers()
            if mode == "drip":  # 1 KiB every 0.2 s, forever: each read is quick, the whole is not
                while not self.server.stop.wait(0.2):
                    self._chunk(bytes(1024))
            elif mode == "stall":  # the first bytes late, then nothing
                self.server.stop.wait(script["first_after"])
                self._chunk(bytes(1024))
                self.server.stop.wait(60)
            elif mode == "cut":  # half the body, then the connection drops
                self._chunk(bytes(script["size"] // 2))
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
            elif mode == "trailer":  # half the body, then a clean end with an error trailer (js-ipfs)
                self._chunk(bytes(script["size"] // 2))
                self.wfile.write(b"0\r\nX-Stream-Error: block not found\r\n\r\n")
        except OSError:  # the client hung up: that is the point
            pass

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _json(self, status: int, body: dict) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


@pytest.fixture(scope="module")
def fake():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeDaemon)
    server.daemon_threads = True
    server.script, server.stop = {}, threading.Event()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.addr = f"/ip4/127.0.0.1/tcp/{server.server_address[1]}/http"
    yield server
    server.stop.set()
    server.shutdown()
    server.server_close()


# -- time -----------------------------------------------------------------------------------------


def test_unserved_cid_fails_within_the_timeout_and_the_daemon_survives(ipfs):
    cid = never_added_cid()
    for name, fetch in [("cat", lambda: ipfs.cat(cid, timeout=2)),
                        ("size", lambda: ipfs.size(cid, timeout=2)),
                        ("IpfsSource.read", lambda: IpfsSource(ipfs, cid, timeout=2).read(0, 16)),
                        ("pin", lambda: ipfs.pin(cid, timeout=2))]:
        exc, seconds = timed(fetch)
        assert type(exc) is DataUnavailable, f"{name}: {exc!r}"
        assert 1.9 < seconds < 3.0, f"{name} took {seconds:.2f} s with a 2 s timeout"
        assert cid in str(exc) and "\n" not in str(exc) and "within 2 s" in str(exc)
    assert ipfs.version()


def test_the_timeout_bounds_the_whole_body_not_each_read(fake):
    ipfs = Ipfs(fake.addr)
    fake.script = {"size": 10 * MiB, "cat": "drip"}
    exc, seconds = timed(lambda: ipfs.cat("QmDrip", timeout=1.5))
    assert type(exc) is DataUnavailable and "within 1.5 s" in str(exc), exc
    assert 1.4 < seconds < 2.4, seconds
    # One byte just before the deadline must not buy a whole new request timeout.
    fake.script = {"size": 10 * MiB, "cat": "stall", "first_after": 1.0}
    exc, seconds = timed(lambda: ipfs.cat("QmStall", timeout=1.5))
    assert type(exc) is DataUnavailable and "1024 bytes arrived" in str(exc), exc
    assert 1.4 < seconds < 2.2, seconds


# -- memory ---------------------------------------------------------------------------------------


def test_a_cut_or_failed_body_is_unavailable_never_short_data(fake):
    ipfs = Ipfs(fake.addr)
    for mode, words in [("cut", "QmCut could not be fetched"), ("trailer", "ended after 32768 of 65536 bytes"),
                        ("error", "Failed to cat file: boom")]:
        fake.script = {"size": 65536, "cat": mode}
        with pytest.raises(DataUnavailable) as caught:
            ipfs.cat("QmCut", timeout=5)
        assert type(caught.value) is DataUnavailable and words in str(caught.value), (mode, caught.value)
        with pytest.raises(DataUnavailable):
            IpfsSource(ipfs, "QmCut", timeout=5).read(0, 65536)
    # The daemon announces 1000 bytes and sends without end: stopped at the first chunk.
    fake.script = {"size": 1000, "cat": "flood"}
    exc, seconds = timed(lambda: ipfs.cat("QmLiar", timeout=10))
    assert type(exc) is DataUnavailable and "more than the 1000 bytes it announced" in str(exc), exc
    assert seconds < 2, seconds


PEAK_SCRIPT = textwrap.dedent("""
    import re, sys
    from pogo.net.ipfs import Ipfs, TooLarge

    def status_mib(field):
        return int(re.search(field + r":\\s+(\\d+) kB", open("/proc/self/status").read()).group(1)) / 1024

    def report(step, fn):
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # the peak (VmHWM) starts again from the current RSS
        before = status_mib("VmRSS")
        try:
            outcome = f"{len(fn())} bytes"
        except TooLarge:
            outcome = "TooLarge"
        print(step, outcome, status_mib("VmHWM") - before, flush=True)

    real, fake, cid, small, cap = Ipfs(sys.argv[1]), Ipfs(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
    report("warmup", lambda: real.cat(small, timeout=30, max_bytes=cap))
    report("sized", lambda: real.cat(cid, timeout=30, max_bytes=cap))
    real._file_size = lambda cid, deadline: None          # the size lookup skipped: only the stream cap
    report("streamed", lambda: real.cat(cid, timeout=30, max_bytes=cap))
    report("flood", lambda: fake.cat("QmFlood", timeout=30, max_bytes=cap))   # 1 TiB announced, not chunked
    del real._file_size
    report("uncapped", lambda: real.cat(cid, timeout=60))  # the control: the measure does see a body
""")


def test_an_object_over_the_cap_is_refused_without_being_held(ipfs, fake):
    size = 256 * MiB
    # Random bytes, repeated so the daemon stores 4 distinct leaves: fast to add, cheap to gc.
    cid = ipfs.add_bytes(np.random.default_rng(0).bytes(MiB) * (size // MiB), pin=False)
    small_data = os.urandom(1000)
    small = ipfs.add_bytes(small_data, pin=False)
    fake.script = {"size": 0, "type": "directory", "cat": "flood"}
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    done = subprocess.run([sys.executable, "-c", PEAK_SCRIPT, ipfs.addr, fake.addr, cid, small, str(MiB)],
                          check=False, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    steps = {line.split()[0]: line.split() for line in done.stdout.splitlines()}
    growth = {step: float(words[-1]) for step, words in steps.items()}  # MiB of peak RSS over the step's start
    assert steps["warmup"][1:3] == ["1000", "bytes"]
    assert [steps[s][1] for s in ("sized", "streamed", "flood")] == ["TooLarge"] * 3
    assert steps["uncapped"][1:3] == [str(size), "bytes"]
    assert max(growth[s] for s in ("sized", "streamed", "flood")) < 32, growth
    assert growth["uncapped"] > size / MiB * 0.9, growth  # the measurement does see a body held whole


def test_small_objects_ranged_and_capped_reads_are_exact(ipfs):
    data = np.random.default_rng(1).bytes(3 * MiB + 123)  # several blocks
    cid = ipfs.add_bytes(data)
    assert ipfs.size(cid, timeout=5) == len(data)
    assert ipfs.cat(cid) == data
    assert ipfs.cat(cid, max_bytes=len(data), timeout=5) == data
    assert ipfs.cat(cid, 10, 100) == data[10:110]
    assert ipfs.cat(cid, MiB - 7, 300_000, max_bytes=300_000) == data[MiB - 7:MiB - 7 + 300_000]
    assert ipfs.cat(cid, len(data) - 5, 100) == data[-5:]
    assert ipfs.cat(cid, len(data) + 5, 100) == b""
    with pytest.raises(TooLarge, match="more than the cap of"):
        ipfs.cat(cid, max_bytes=len(data) - 1)
    with pytest.raises(TooLarge):
        ipfs.cat(cid, 0, 2000, max_bytes=1999)
    source = IpfsSource(ipfs, cid, timeout=5, max_bytes=len(data))
    assert source.size() == len(data)
    assert source.read(2 * MiB - 1, 5000) == data[2 * MiB - 1:2 * MiB - 1 + 5000]
    with pytest.raises(FormatError, match="truncated"):
        source.read(len(data) - 10, 11)
    with pytest.raises(TooLarge):
        IpfsSource(ipfs, cid, timeout=5, max_bytes=len(data) - 1).size()
    assert isinstance(TooLarge("x"), FormatError)


# -- transport failures ---------------------------------------------------------------------------


def test_no_daemon_is_unavailable_not_a_raw_requests_error():
    ipfs = Ipfs(f"/ip4/127.0.0.1/tcp/{free_port()}/http")
    for fetch in (lambda: ipfs.cat("QmNobody"), lambda: ipfs.size("QmNobody"), lambda: ipfs.pin("QmNobody"),
                  lambda: IpfsSource(ipfs, "QmNobody").read(0, 1)):
        with pytest.raises(DaemonUnreachable) as caught:
            fetch()
        assert isinstance(caught.value, DataUnavailable)
        assert "QmNobody" in str(caught.value) and "refused" in str(caught.value) and "\n" not in str(caught.value)
    with pytest.raises(DaemonUnreachable):  # a bot retries a silent daemon's unpin, not counting it a bug
        ipfs.unpin("QmNobody")
    for call in (lambda: ipfs.add_bytes(b"x"), ipfs.version, lambda: ipfs.unpin("QmNobody"), ipfs.gc):
        with pytest.raises(PogoError) as caught:
            call()
        assert not isinstance(caught.value, requests.RequestException) and "\n" not in str(caught.value)


# -- pins -----------------------------------------------------------------------------------------


def test_unpinned_data_disappears_after_gc_and_pinned_data_stays(ipfs):
    withheld, kept, loose = (os.urandom(5000) for _ in range(3))
    withheld_cid = ipfs.add_bytes(withheld)
    kept_cid = ipfs.add_bytes(kept, pin=False)
    loose_cid = ipfs.add_bytes(loose, pin=False)
    ipfs.pin(kept_cid, timeout=5)
    ipfs.unpin(withheld_cid)
    ipfs.unpin(withheld_cid)  # not pinned any more: not an error
    assert ipfs.gc() >= 2
    for cid in (withheld_cid, loose_cid):
        with pytest.raises(DataUnavailable) as caught:
            ipfs.cat(cid, timeout=1)
        assert type(caught.value) is DataUnavailable and cid in str(caught.value)
    assert ipfs.cat(kept_cid, timeout=5) == kept
    ipfs.unpin(kept_cid)


# -- the js-ipfs crash ----------------------------------------------------------------------------


def test_a_cat_waiting_for_a_missing_inner_block_is_unavailable_and_a_dead_daemon_is_named(tmp_path):
    """js-ipfs 0.66.1 exits when a cat that waits for a missing inner block is aborted (by the
    client's timeout). A private daemon: this one may not survive."""
    net = Devnet(tmp_path)
    try:
        state = net.up()
        ipfs = Ipfs(state.ipfs_api)
        data = np.random.default_rng(2).bytes(3 * MiB)  # 12 leaves of 256 KiB under one root
        cid = ipfs.add_bytes(data)
        ipfs.unpin(cid)
        inner = ipfs.client.object.links(cid)["Links"][5]["Hash"]
        requests.post(f"{state.ipfs.url}/api/v0/block/rm", params={"arg": inner}, timeout=10).raise_for_status()
        source = IpfsSource(ipfs, cid, timeout=1.5)
        assert source.size() == len(data) and source.read(0, 1000) == data[:1000]  # root and leaf 0 are there
        # Pinning first is the safe way to find out: its abort does not kill the daemon.
        with pytest.raises(DataUnavailable, match="not pinned within 1.5 s") as caught:
            ipfs.pin(cid, timeout=1.5)
        assert type(caught.value) is DataUnavailable and ipfs.alive()
        exc, seconds = timed(lambda: source.read(5 * 256 * 1024 + 10, 1000))
        assert isinstance(exc, DataUnavailable) and cid in str(exc), exc
        assert seconds < 1.5 + 0.2 + 2 + 0.5, seconds  # timeout, settle, liveness probe
        alive = ipfs.alive()
        assert isinstance(exc, DaemonUnreachable) == (not alive), (exc, alive)
    finally:
        net.down()
