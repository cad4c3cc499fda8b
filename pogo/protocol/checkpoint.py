"""Checkpoint files: theta as raw little-endian float32, zero-padded to n*L (section 2).

Leaf i is the byte range [i*4L, (i+1)*4L), so one leaf is one ranged read.
"""

from __future__ import annotations

import os

import numpy as np

from pogo.errors import FormatError
from pogo.protocol import merkle
from pogo.protocol.atomicfile import write_bytes_atomic
from pogo.protocol.source import ByteSource

FLOAT32_LE = np.dtype("<f4")
DEFAULT_LEAF_SIZE = 4096


MAX_LEAF_SIZE = 1 << 14  # the chain's bound (PROTOCOL D11): a fraud proof's leaf must fit a transaction


def check_leaf_size(leaf_size: int) -> None:
    if leaf_size < 32 or leaf_size > MAX_LEAF_SIZE or leaf_size & (leaf_size - 1):
        raise FormatError(f"leaf size {leaf_size} must be a power of two from 32 (one MX group) to {MAX_LEAF_SIZE:,}")


def n_leaves(n_params: int, leaf_size: int) -> int:
    """n = ceil(P / L)."""
    if n_params < 1:
        raise FormatError("a model has at least one parameter")
    return -(-n_params // leaf_size)


def pad(theta: np.ndarray, leaf_size: int) -> np.ndarray:
    """theta as little-endian float32, zero-padded to a whole number of leaves."""
    check_leaf_size(leaf_size)
    theta = np.ascontiguousarray(theta, dtype=FLOAT32_LE).reshape(-1)
    total = n_leaves(theta.size, leaf_size) * leaf_size
    if total == theta.size:
        return theta
    out = np.zeros(total, dtype=FLOAT32_LE)
    out[: theta.size] = theta
    return out


def leaf_hashes(padded: np.ndarray, leaf_size: int) -> list[bytes]:
    return merkle.hash_leaves(padded.view(np.uint8), 4 * leaf_size)


def model_tree(theta: np.ndarray, leaf_size: int = DEFAULT_LEAF_SIZE) -> merkle.MerkleTree:
    """The Merkle tree whose root is the model root of theta."""
    return merkle.MerkleTree.from_leaf_hashes(leaf_hashes(pad(theta, leaf_size), leaf_size))


def model_root(theta: np.ndarray, leaf_size: int = DEFAULT_LEAF_SIZE) -> bytes:
    return model_tree(theta, leaf_size).root


def write(path: str | os.PathLike[str], theta: np.ndarray, leaf_size: int = DEFAULT_LEAF_SIZE) -> None:
    """Write theta padded to whole leaves; the file appears whole or not at all."""
    write_bytes_atomic(path, pad(theta, leaf_size).tobytes())


def read(path: str | os.PathLike[str], leaf_size: int = DEFAULT_LEAF_SIZE, n_params: int | None = None) -> np.ndarray:
    """Read a checkpoint file; with ``n_params`` check its size and drop the padding."""
    check_leaf_size(leaf_size)
    size = os.path.getsize(path) if os.path.isfile(path) else -1
    if size < 0:
        raise FormatError(f"{path}: no such file")
    if size == 0 or size % (4 * leaf_size):
        raise FormatError(
            f"{path}: {size} bytes is not a whole number of {leaf_size}-parameter leaves "
            f"({4 * leaf_size} bytes each); is the leaf size right?")
    theta = np.fromfile(path, dtype=FLOAT32_LE)
    if n_params is not None:
        expected = n_leaves(n_params, leaf_size) * leaf_size
        if theta.size != expected:
            raise FormatError(f"{path}: holds {theta.size} floats, a model of {n_params} parameters needs {expected}")
        return theta[:n_params]
    return theta


def read_leaf(source: ByteSource, index: int, leaf_size: int) -> np.ndarray:
    """One leaf of a checkpoint by a ranged read."""
    leaf_bytes = 4 * leaf_size
    return np.frombuffer(source.read(index * leaf_bytes, leaf_bytes), dtype=FLOAT32_LE)


def root_of_file(path: str | os.PathLike[str], leaf_size: int = DEFAULT_LEAF_SIZE) -> bytes:
    theta = read(path, leaf_size)
    return merkle.MerkleTree.from_leaf_hashes(leaf_hashes(theta, leaf_size)).root
