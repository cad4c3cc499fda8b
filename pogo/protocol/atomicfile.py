"""Files that appear whole or not at all, so a crash never leaves half an artifact."""

from __future__ import annotations

import os


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes | memoryview) -> None:
    """Write to a temporary name beside ``path``, fsync, then rename over it."""
    path = os.fspath(path)
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
