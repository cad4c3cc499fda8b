"""The IPFS edge: add, cat, ranged cat and pin over the Kubo-compatible RPC API.

Works with the js-ipfs daemon of the devnet and with any Kubo node. ``ipfshttpclient.connect``
refuses daemon versions it does not know, so the client is constructed directly.

A long-running bot reads objects named by whoever submitted them, so every read here is bounded:
in time (a wall-clock deadline over the size lookup and the whole body, not only the first byte)
and, when the caller gives ``max_bytes``, in memory (the body is streamed and dropped as soon as
more than the cap arrived). Every failure to fetch is a one-line ``DataUnavailable`` naming the
CID (``DaemonUnreachable`` when the local daemon itself stopped answering); an object over the
cap is ``TooLarge``; nothing from the HTTP stack escapes.
"""

from __future__ import annotations

import http.client
import io
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import ipfshttpclient
import numpy as np
import requests
import urllib3.exceptions
from ipfshttpclient.exceptions import Error as IpfsClientError
from ipfshttpclient.exceptions import ErrorResponse

from pogo import progress
from pogo.errors import FormatError, PogoError
from pogo.protocol import checkpoint, treefile

warnings.filterwarnings("ignore", message="The 'strict' parameter is no longer needed", category=FutureWarning)

DEFAULT_TIMEOUT_S = 30.0
GC_TIMEOUT_S = 600.0
CHUNK_BYTES = 256 << 10            # one js-ipfs block: what one read of the body may add beyond a cap
UPLOAD_BAR_BYTES = 1 << 20         # uploads from this size on show a progress bar
UPLOAD_CHUNK = 1 << 20
PROBE_TIMEOUT_S = 2.0              # the liveness check after a failed read
CRASH_SETTLE_S = 0.2               # js-ipfs 0.66 dies ~20 ms after an aborted cat (see _unavailable)

# What the HTTP stack may raise, before or while streaming a body (requests' own exceptions are
# not wrapped by ipfshttpclient once the headers arrived; malformed replies give Value/KeyError).
FETCH_ERRORS: tuple[type[BaseException], ...] = (
    IpfsClientError, requests.exceptions.RequestException, urllib3.exceptions.HTTPError,
    http.client.HTTPException, OSError, ValueError, KeyError)


class DataUnavailable(PogoError):
    """An object could not be fetched in time (a verifier votes DATA_UNAVAILABLE)."""


class DaemonUnreachable(DataUnavailable):
    """The local IPFS daemon itself does not answer (refused, reset, crashed): no evidence about
    the object, so not a reason to vote DATA_UNAVAILABLE; restart the daemon and retry."""


class TooLarge(FormatError):
    """The object is larger than the caller's cap (an honest one never is: a MALFORMED artifact)."""


@dataclass(frozen=True)
class PublishedModel:
    root: bytes
    checkpoint_cid: str
    tree_cid: str


class _Deadline:
    def __init__(self, seconds: float):
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return self.end - time.monotonic()

    def request_timeout(self) -> float:
        """What one HTTP request may still wait (urllib3 refuses a zero timeout)."""
        left = self.left()
        if left <= 0:
            raise _Expired
        return max(left, 0.01)


class _Expired(Exception):
    pass


class _Failed(Exception):
    """A cat failed; the message is the one-line cause."""


def _why(exc: BaseException, deadline: _Deadline, what: str) -> str:
    if isinstance(exc, _Expired) or deadline.left() <= 0 or isinstance(
            exc, (ipfshttpclient.exceptions.TimeoutError, requests.exceptions.Timeout, TimeoutError)):
        return f"{what} within {deadline.seconds:g} s"
    return f"{what}: {_describe(exc)}"


def _describe(exc: BaseException) -> str:
    """One line: the root OS error (refused, reset, ...) if there is one, else the exception."""
    root = _os_cause(exc)
    if root is not None:
        exc = root
    text = " ".join(str(exc).split())
    return f"{exc.__class__.__name__}: {text[:200]}" if text else exc.__class__.__name__


def _os_cause(exc: BaseException) -> OSError | None:
    seen: set[int] = set()
    todo: list[object] = [exc]
    while todo:
        e = todo.pop()
        if not isinstance(e, BaseException) or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, OSError) and e.errno is not None:
            return e
        todo += [e.__cause__, e.__context__, getattr(e, "reason", None), getattr(e, "original", None),
                 *(a for a in e.args if isinstance(a, BaseException))]
    return None


def _response_of(stream) -> requests.Response | None:
    """The requests.Response under ipfshttpclient's stream iterator, to read it in bounded chunks
    (the iterator itself asks for ``chunk_size=None``: one read may return a whole unchunked body)."""
    for closable in getattr(stream, "_closables", ()) or ():
        if isinstance(closable, requests.Response):
            return closable
    return None


def _limit_wait(response: requests.Response | None, deadline: _Deadline) -> None:
    """Make the next socket read wait at most until the deadline (a stalled body otherwise waits
    a whole request timeout after its last byte)."""
    sock = getattr(getattr(getattr(response, "raw", None), "_connection", None), "sock", None)
    if sock is not None:
        try:
            sock.settimeout(max(deadline.left(), 0.01))
        except OSError:
            pass


class Ipfs:
    def __init__(self, addr: str, timeout: float = DEFAULT_TIMEOUT_S):
        self.addr = addr
        self.timeout = timeout
        try:
            self.client = ipfshttpclient.Client(addr)
        except (IpfsClientError, ValueError) as exc:
            raise PogoError(f"cannot use IPFS API address {addr!r}: {exc}") from None

    def _deadline(self, timeout: float | None) -> _Deadline:
        if timeout is not None and timeout < 0:
            raise ValueError(f"timeout must be positive, not {timeout}")
        return _Deadline(timeout or self.timeout)

    def version(self) -> str:
        try:
            return self.client.version(timeout=5)["Version"]
        except FETCH_ERRORS as exc:
            raise PogoError(f"no IPFS daemon answers at {self.addr}: start one with `pogo devnet up`, "
                            f"or pass --ipfs ({exc.__class__.__name__})") from None

    def alive(self, timeout: float = PROBE_TIMEOUT_S) -> bool:
        try:
            self.client.version(timeout=timeout)
            return True
        except FETCH_ERRORS:
            return False

    # -- publishing ---------------------------------------------------------------------------

    def add_bytes(self, data: bytes, pin: bool = True) -> str:
        try:
            cid = self.client.add_bytes(self._chunks(data), timeout=max(self.timeout, len(data) / 20e6),
                                        opts={"pin": "true" if pin else "false"})
            if pin:
                self.client.pin.add(cid, timeout=self.timeout)
            return cid
        except FETCH_ERRORS as exc:
            raise PogoError(f"IPFS add of {len(data)} bytes failed at {self.addr}: {_describe(exc)}") from None

    @staticmethod
    def _chunks(data: bytes) -> bytes | Iterator[bytes]:
        """The body of an upload: as it is when small, else in chunks that move a progress bar."""
        if len(data) < UPLOAD_BAR_BYTES:
            return data

        def chunks() -> Iterator[bytes]:
            with progress.byte_bar(len(data), "uploading") as b:
                view = memoryview(data)
                for at in range(0, len(data), UPLOAD_CHUNK):
                    yield bytes(view[at:at + UPLOAD_CHUNK])
                    b.update(min(UPLOAD_CHUNK, len(data) - at))
        return chunks()

    def add_file(self, path: str | Path, pin: bool = True) -> str:
        return self.add_bytes(Path(path).read_bytes(), pin)

    def add_model(self, theta: np.ndarray, leaf_size: int) -> PublishedModel:
        """Publish theta as a checkpoint (padded to whole leaves) and its tree file."""
        padded = checkpoint.pad(theta, leaf_size)
        tree = checkpoint.model_tree(padded, leaf_size)
        return PublishedModel(tree.root, self.add_bytes(padded.tobytes()),
                              self.add_bytes(treefile.encode(tree, leaf_size)))

    # -- pins ---------------------------------------------------------------------------------

    def pin(self, cid: str, timeout: float | None = None) -> None:
        """Fetch the whole object and keep it; DataUnavailable if that does not finish in time."""
        deadline = self._deadline(timeout)
        try:
            self.client.pin.add(cid, timeout=deadline.request_timeout())
        except (_Expired, *FETCH_ERRORS) as exc:
            raise self._unavailable(cid, _why(exc, deadline, "not pinned")) from None

    def unpin(self, cid: str) -> None:
        """Let the next gc drop the object; unpinning what is not pinned is not an error."""
        try:
            self.client.pin.rm(cid, timeout=self.timeout)
        except ErrorResponse as exc:
            if "not pinned" not in str(exc):
                raise PogoError(f"IPFS unpin of {cid} failed at {self.addr}: {_describe(exc)}") from None
        except FETCH_ERRORS as exc:  # the daemon did not answer (at 1,000 nodes: busy past the timeout)
            raise DaemonUnreachable(f"IPFS unpin of {cid} failed at {self.addr}: {_describe(exc)}") from None

    def gc(self, timeout: float = GC_TIMEOUT_S) -> int:
        """Delete every unpinned block from the daemon's repo; the number of blocks removed.
        (js-ipfs takes ~25 ms a block.)"""
        try:
            removed = self.client.repo.gc(timeout=timeout) or []
            errors = [str(entry["Error"]) for entry in removed if entry.get("Error")]
        except FETCH_ERRORS as exc:
            raise PogoError(f"IPFS garbage collection failed at {self.addr}: {_describe(exc)}") from None
        if errors:
            raise PogoError(f"IPFS garbage collection at {self.addr} failed on {len(errors)} blocks: {errors[0][:200]}")
        return len(removed)

    # -- reading ------------------------------------------------------------------------------

    def size(self, cid: str, timeout: float | None = None) -> int:
        """The object's size in bytes; DataUnavailable if its root cannot be found in time."""
        deadline = self._deadline(timeout)
        try:
            return int(self._stat(cid, deadline)["Size"])
        except (_Expired, *FETCH_ERRORS) as exc:
            raise self._unavailable(cid, _why(exc, deadline, "not found")) from None

    def cat(self, cid: str, offset: int | None = None, length: int | None = None,
            timeout: float | None = None, max_bytes: int | None = None) -> bytes:
        """The object's bytes, or ``length`` of them from ``offset`` (fewer at its end).

        All of it within ``timeout`` seconds (default: the client's), else DataUnavailable.
        With ``max_bytes``, TooLarge if the object (or the range) is larger, and never more
        than ``max_bytes`` plus one chunk of it held in memory, whatever the daemon says."""
        offset = offset or 0
        if offset < 0 or (length is not None and length < 0) or (max_bytes is not None and max_bytes < 0):
            raise ValueError(f"bad range or cap for {cid}: offset={offset}, length={length}, max_bytes={max_bytes}")
        deadline = self._deadline(timeout)
        try:
            size = self._file_size(cid, deadline)
        except (_Expired, *FETCH_ERRORS) as exc:
            raise self._unavailable(cid, _why(exc, deadline, "not found")) from None
        return self._read(cid, offset, length, deadline, max_bytes, size)

    def _stat(self, cid: str, deadline: _Deadline) -> dict:
        return self.client.files.stat(f"/ipfs/{cid}", timeout=deadline.request_timeout())

    def _file_size(self, cid: str, deadline: _Deadline) -> int | None:
        """The size of a plain file (None for anything else: the daemon then decides)."""
        stat = self._stat(cid, deadline)
        return int(stat["Size"]) if stat.get("Type") == "file" else None

    def _read(self, cid: str, offset: int, length: int | None, deadline: _Deadline,
              max_bytes: int | None, size: int | None) -> bytes:
        """Stream the range, checking the cap and the deadline after every chunk and the
        length at the end (js-ipfs reports an error mid-body only in an HTTP trailer, which
        requests ignores: a cut body would otherwise pass for a short object)."""
        expected = None
        if size is not None:
            expected = max(0, size - offset) if length is None else max(0, min(length, size - offset))
            if max_bytes is not None and expected > max_bytes:
                what = f"{cid} is {size} bytes" if length is None else f"{cid}: {expected} bytes wanted"
                raise TooLarge(f"{what}, more than the cap of {max_bytes} bytes")
            if expected == 0:
                return b""
        elif length == 0:
            return b""
        try:
            return self._stream(cid, offset, length, deadline, max_bytes, expected)
        except _Failed as failed:
            raise self._unavailable(cid, str(failed), cat_aborted=True) from None

    def _stream(self, cid: str, offset: int, length: int | None, deadline: _Deadline,
                max_bytes: int | None, expected: int | None) -> bytes:
        buf = io.BytesIO()  # getvalue() hands over its buffer: no second copy of the body
        stream = None
        try:
            try:
                stream = self.client.cat(cid, offset=offset, length=length, stream=True,
                                         timeout=deadline.request_timeout())
                response = _response_of(stream)
                chunks = response.iter_content(CHUNK_BYTES) if response is not None else stream
                _limit_wait(response, deadline)
                for chunk in chunks:
                    buf.write(chunk)
                    got = buf.tell()
                    if max_bytes is not None and got > max_bytes:
                        raise TooLarge(f"{cid} is larger than the cap of {max_bytes} bytes "
                                       f"(more than {max_bytes} arrived)")
                    if expected is not None and got > expected:
                        raise _Failed(f"the daemon sent more than the {expected} bytes it announced")
                    if deadline.left() <= 0:
                        raise _Expired
                    _limit_wait(response, deadline)
            except (_Expired, *FETCH_ERRORS) as exc:
                raise _Failed(f"{_why(exc, deadline, 'not read')} ({buf.tell()} bytes arrived)") from None
        finally:
            if stream is not None:
                try:
                    stream.close()
                except FETCH_ERRORS:
                    pass
        if expected is not None and buf.tell() != expected:
            raise _Failed(f"the body ended after {buf.tell()} of {expected} bytes")
        return buf.getvalue()

    def _unavailable(self, cid: str, reason: str, cat_aborted: bool = False) -> DataUnavailable:
        """DataUnavailable, or DaemonUnreachable when the daemon no longer answers. js-ipfs 0.66
        exits ~20 ms after a cat is aborted (client timeout or disconnect) while it waits for a
        missing inner block of the object, so after a failed cat a moment passes before asking."""
        if cat_aborted:
            time.sleep(CRASH_SETTLE_S)
        if not self.alive():
            return DaemonUnreachable(f"{cid} could not be fetched: the IPFS daemon at {self.addr} does not "
                                     f"answer ({reason}); restart it (`pogo devnet up`)")
        return DataUnavailable(f"{cid} could not be fetched from IPFS: {reason}")


class IpfsSource:
    """An IPFS object as a ranged ByteSource (see pogo.source): every size lookup and read within
    ``timeout`` (else DataUnavailable), and TooLarge if the object exceeds ``max_bytes``."""

    def __init__(self, ipfs: Ipfs, cid: str, timeout: float | None = None, max_bytes: int | None = None):
        self.ipfs, self.cid, self.timeout, self.max_bytes = ipfs, cid, timeout, max_bytes
        self._size: int | None = None

    def size(self) -> int:
        if self._size is None:
            size = self.ipfs.size(self.cid, timeout=self.timeout)
            if self.max_bytes is not None and size > self.max_bytes:
                raise TooLarge(f"{self.cid} is {size} bytes, more than the cap of {self.max_bytes} bytes")
            self._size = size
        return self._size

    def read(self, offset: int, length: int) -> bytes:
        size = self.size()
        if offset < 0 or length < 0 or offset + length > size:
            raise FormatError(f"{self.cid}: truncated, wanted bytes [{offset}, {offset + length}) of {size}")
        data = self.ipfs._read(self.cid, offset, length, self.ipfs._deadline(self.timeout), length, size)
        if len(data) != length:  # _read checks the length already; never hand out a short read
            raise DataUnavailable(f"{self.cid}: short read at {offset}: {len(data)} of {length} bytes")
        return data
