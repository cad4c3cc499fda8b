"""Ranged byte sources: where a verifier reads one leaf or one proof without the rest.

A local file and an IPFS object (``pogo.ipfs.IpfsSource``) look the same to the readers of
checkpoints, tree files and diffs.
"""

from __future__ import annotations

import os
from typing import Protocol

from pogo.errors import FormatError


class ByteSource(Protocol):
    """Anything that can return ``length`` bytes starting at ``offset``."""

    def size(self) -> int: ...

    def read(self, offset: int, length: int) -> bytes: ...


class FileSource:
    """A local file read by offset."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = os.fspath(path)
        if not os.path.isfile(self.path):
            raise FormatError(f"{self.path}: no such file")

    def size(self) -> int:
        return os.path.getsize(self.path)

    def read(self, offset: int, length: int) -> bytes:
        with open(self.path, "rb") as f:
            f.seek(offset)
            data = f.read(length)
        if len(data) != length:
            raise FormatError(f"{self.path}: truncated, wanted bytes [{offset}, {offset + length}) of {self.size()}")
        return data


class BytesSource:
    """Bytes already in memory (a downloaded object)."""

    def __init__(self, data: bytes, name: str = "<bytes>"):
        self.data = data
        self.name = name

    def size(self) -> int:
        return len(self.data)

    def read(self, offset: int, length: int) -> bytes:
        if offset < 0 or offset + length > len(self.data):
            raise FormatError(f"{self.name}: truncated, wanted bytes [{offset}, {offset + length}) of {len(self.data)}")
        return self.data[offset:offset + length]
