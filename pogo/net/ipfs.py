"""The IPFS edge: add, cat, ranged cat and pin over the Kubo-compatible RPC API.

Works with the js-ipfs daemon of the devnet and with any Kubo node. ``ipfshttpclient.connect``
refuses daemon versions it does not know, so the client is constructed directly.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import ipfshttpclient
import numpy as np
from ipfshttpclient.exceptions import Error as IpfsClientError

from pogo.errors import PogoError
from pogo.protocol import checkpoint, treefile

warnings.filterwarnings("ignore", message="The 'strict' parameter is no longer needed", category=FutureWarning)

DEFAULT_TIMEOUT_S = 30.0


class DataUnavailable(PogoError):
    """An object could not be fetched in time (a verifier votes DATA_UNAVAILABLE)."""


@dataclass(frozen=True)
class PublishedModel:
    root: bytes
    checkpoint_cid: str
    tree_cid: str


class Ipfs:
    def __init__(self, addr: str, timeout: float = DEFAULT_TIMEOUT_S):
        self.addr = addr
        self.timeout = timeout
        try:
            self.client = ipfshttpclient.Client(addr)
        except (IpfsClientError, ValueError) as exc:
            raise PogoError(f"cannot use IPFS API address {addr!r}: {exc}") from None

    def version(self) -> str:
        try:
            return self.client.version(timeout=5)["Version"]
        except IpfsClientError as exc:
            raise PogoError(f"no IPFS daemon answers at {self.addr}: start one with `pogo devnet up`, "
                            f"or pass --ipfs ({exc.__class__.__name__})") from None

    def add_bytes(self, data: bytes, pin: bool = True) -> str:
        try:
            cid = self.client.add_bytes(data, timeout=max(self.timeout, len(data) / 20e6))
            if pin:
                self.client.pin.add(cid, timeout=self.timeout)
            return cid
        except IpfsClientError as exc:
            raise PogoError(f"IPFS add failed at {self.addr}: {exc}") from None

    def add_file(self, path: str | Path, pin: bool = True) -> str:
        return self.add_bytes(Path(path).read_bytes(), pin)

    def add_model(self, theta: np.ndarray, leaf_size: int) -> PublishedModel:
        """Publish theta as a checkpoint (padded to whole leaves) and its tree file."""
        padded = checkpoint.pad(theta, leaf_size)
        tree = checkpoint.model_tree(padded, leaf_size)
        return PublishedModel(tree.root, self.add_bytes(padded.tobytes()),
                              self.add_bytes(treefile.encode(tree, leaf_size)))

    def cat(self, cid: str, offset: int | None = None, length: int | None = None,
            timeout: float | None = None) -> bytes:
        """The object's bytes, or ``length`` of them from ``offset``; DataUnavailable if not in time."""
        kwargs = {}
        if offset is not None:
            kwargs["offset"] = offset
        if length is not None:
            kwargs["length"] = length
        try:
            return self.client.cat(cid, timeout=timeout or self.timeout, **kwargs)
        except IpfsClientError as exc:
            raise DataUnavailable(f"{cid} could not be fetched from IPFS: {exc.__class__.__name__}") from None

    def size(self, cid: str, timeout: float | None = None) -> int:
        try:
            return int(self.client.files.stat(f"/ipfs/{cid}", timeout=timeout or self.timeout)["Size"])
        except IpfsClientError as exc:
            raise DataUnavailable(f"{cid} could not be found on IPFS: {exc.__class__.__name__}") from None


class IpfsSource:
    """An IPFS object as a ranged ByteSource (see pogo.source)."""

    def __init__(self, ipfs: Ipfs, cid: str):
        self.ipfs, self.cid = ipfs, cid
        self._size: int | None = None

    def size(self) -> int:
        if self._size is None:
            self._size = self.ipfs.size(self.cid)
        return self._size

    def read(self, offset: int, length: int) -> bytes:
        from pogo.errors import FormatError

        if offset < 0 or offset + length > self.size():
            raise FormatError(f"{self.cid}: truncated, wanted bytes [{offset}, {offset + length}) of {self.size()}")
        data = self.ipfs.cat(self.cid, offset, length)
        if len(data) != length:
            raise FormatError(f"{self.cid}: short read at {offset}: {len(data)} of {length} bytes")
        return data
