"""SHA-256 Merkle trees over fixed-size leaves (PROTOCOL.md section 2).

    leaf_i     = sha256(0x00 || leaf bytes)
    node(a, b) = sha256(0x01 || a || b)

The tree is padded to 2**depth leaves with empty subtrees: Z_0 is 32 zero bytes and
Z_{k+1} = node(Z_k, Z_k). Only the real nodes of each level are stored; a missing right
sibling at level k is Z_k. A proof is the depth sibling hashes from the bottom up, and
bit k of the leaf index says whether the running hash is the right (1) child at level k.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from pogo.errors import ProofError

HASH_SIZE = 32
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
MAX_DEPTH = 64

# Below this many bytes per worker, thread start-up costs more than the hashing it saves.
_PARALLEL_MIN_BYTES = 1 << 20


def _zero_hashes(count: int) -> list[bytes]:
    zeros = [bytes(HASH_SIZE)]
    for _ in range(count):
        zeros.append(hash_node(zeros[-1], zeros[-1]))
    return zeros


def hash_leaf(data: bytes | memoryview) -> bytes:
    """The leaf hash of one leaf's bytes."""
    h = hashlib.sha256(LEAF_PREFIX)
    h.update(data)
    return h.digest()


def hash_node(left: bytes, right: bytes) -> bytes:
    """The hash of an inner node from its two children."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


ZERO_HASHES: list[bytes] = _zero_hashes(MAX_DEPTH)


def depth_for(n_leaves: int) -> int:
    """ceil(log2(n)), and 0 for a single leaf."""
    if n_leaves < 1:
        raise ValueError("a tree needs at least one leaf")
    return (n_leaves - 1).bit_length()


def level_sizes(n_leaves: int) -> list[int]:
    """How many real nodes each level holds, from the leaves (level 0) to the root."""
    sizes = [n_leaves]
    for _ in range(depth_for(n_leaves)):
        sizes.append((sizes[-1] + 1) // 2)
    return sizes


def hash_leaves(data: bytes | memoryview, leaf_bytes: int, workers: int | None = None) -> list[bytes]:
    """Hash consecutive leaves of ``leaf_bytes`` each; ``len(data)`` must be a multiple.

    hashlib releases the GIL on large inputs, so threads hash leaves in parallel.
    """
    view = memoryview(data).cast("B")
    if leaf_bytes <= 0 or len(view) % leaf_bytes:
        raise ValueError(f"data of {len(view)} bytes is not a whole number of {leaf_bytes}-byte leaves")
    n = len(view) // leaf_bytes
    workers = workers or os.cpu_count() or 1
    workers = max(1, min(workers, len(view) // _PARALLEL_MIN_BYTES, n))

    def run(lo: int, hi: int) -> list[bytes]:
        return [hash_leaf(view[i * leaf_bytes:(i + 1) * leaf_bytes]) for i in range(lo, hi)]

    if workers == 1:
        return run(0, n)
    bounds = [n * w // workers for w in range(workers + 1)]
    with ThreadPoolExecutor(workers) as pool:
        parts = pool.map(run, bounds[:-1], bounds[1:])
    return [h for part in parts for h in part]


@dataclass(frozen=True)
class MerkleTree:
    """Every real node of a padded SHA-256 Merkle tree, level 0 (leaves) first."""

    levels: tuple[tuple[bytes, ...], ...]

    @classmethod
    def from_leaf_hashes(cls, leaf_hashes: Sequence[bytes]) -> MerkleTree:
        if not leaf_hashes:
            raise ValueError("a tree needs at least one leaf")
        levels = [tuple(leaf_hashes)]
        for k in range(depth_for(len(leaf_hashes))):
            below = levels[-1]
            if len(below) % 2:
                below = below + (ZERO_HASHES[k],)
            levels.append(tuple(hash_node(below[i], below[i + 1]) for i in range(0, len(below), 2)))
        return cls(tuple(levels))

    @classmethod
    def from_leaf_data(cls, data: bytes | memoryview, leaf_bytes: int) -> MerkleTree:
        return cls.from_leaf_hashes(hash_leaves(data, leaf_bytes))

    @property
    def n_leaves(self) -> int:
        return len(self.levels[0])

    @property
    def depth(self) -> int:
        return len(self.levels) - 1

    @property
    def root(self) -> bytes:
        return self.levels[-1][0]

    def proof(self, index: int) -> list[bytes]:
        """The sibling hashes of leaf ``index``, bottom up."""
        if not 0 <= index < self.n_leaves:
            raise IndexError(f"leaf {index} is outside a tree of {self.n_leaves} leaves")
        out = []
        for k, level in enumerate(self.levels[:-1]):
            sibling = (index >> k) ^ 1
            out.append(level[sibling] if sibling < len(level) else ZERO_HASHES[k])
        return out


def root_from_proof(leaf_hash: bytes, index: int, proof: Sequence[bytes]) -> bytes:
    """The root that ``proof`` leads to from ``leaf_hash`` at ``index``."""
    if index < 0 or index >> len(proof):
        raise ProofError(f"leaf index {index} does not fit a proof of depth {len(proof)}")
    running = leaf_hash
    for k, sibling in enumerate(proof):
        if len(sibling) != HASH_SIZE:
            raise ProofError(f"proof element {k} is {len(sibling)} bytes, not {HASH_SIZE}")
        running = hash_node(sibling, running) if (index >> k) & 1 else hash_node(running, sibling)
    return running


def verify_proof(leaf_hash: bytes, index: int, proof: Sequence[bytes], root: bytes) -> bool:
    """True when ``proof`` shows ``leaf_hash`` is leaf ``index`` of the tree with ``root``."""
    try:
        return root_from_proof(leaf_hash, index, proof) == root
    except ProofError:
        return False


def merkle_root(data: bytes | memoryview, leaf_bytes: int) -> bytes:
    """The root over ``data`` cut into leaves of ``leaf_bytes`` (already padded)."""
    return MerkleTree.from_leaf_data(data, leaf_bytes).root
