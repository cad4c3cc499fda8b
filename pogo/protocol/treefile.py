"""Tree files: a model's Merkle tree, from which proofs of its leaves are read (section 2, D19).

Layout (all integers little-endian):

    offset  size  field
    0       8     magic b"POGOTRE1"
    8       2     version: 2 (the leaf hashes only, what writers make) or 1 (every level)
    10      2     flags (0)
    12      4     L, parameters per leaf (for a diff's tree: 0)
    16      8     n, the number of leaves
    24      4     depth
    28      4     zero
    32      ...   version 2: the n leaf hashes (level 0)
                  version 1: level 0, level 1, ..., the root; 32 bytes a node

Every inner node is a hash of the leaves, so version 2 stores only those: a reader hashes the
levels above (about n hashes), and the tree file is half the bytes version 1's was. A
version 1 level holds only its real nodes (ceil(n / 2^k) at level k); a missing right sibling
is the empty subtree Z_k, which a reader supplies. Readers take both versions.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable
from dataclasses import dataclass

from pogo.errors import FormatError
from pogo.protocol import merkle
from pogo.protocol.atomicfile import write_bytes_atomic
from pogo.protocol.source import ByteSource

MAGIC = b"POGOTRE1"
VERSION_LEVELS = 1   # every level, proofs by ranged reads
VERSION_LEAVES = 2   # the leaf hashes only (D19): what writers make
VERSIONS = (VERSION_LEAVES, VERSION_LEVELS)
HEADER = struct.Struct("<8sHHIQII")
HEADER_SIZE = HEADER.size  # 32

Proof = tuple[bytes, list[bytes], bytes]  # (leaf hash, sibling hashes bottom up, root)


@dataclass(frozen=True)
class TreeHeader:
    leaf_size: int
    n_leaves: int
    depth: int
    version: int = VERSION_LEAVES

    def file_size(self) -> int:
        nodes = self.n_leaves if self.version == VERSION_LEAVES else sum(merkle.level_sizes(self.n_leaves))
        return HEADER_SIZE + merkle.HASH_SIZE * nodes

    def level_offset(self, level: int) -> int:
        """Where a level starts in a version 1 file."""
        return HEADER_SIZE + merkle.HASH_SIZE * sum(merkle.level_sizes(self.n_leaves)[:level])


def file_sizes(leaf_size: int, n_leaves: int) -> tuple[int, ...]:
    """The sizes a tree file of ``n_leaves`` may have, one per version (version 2's first)."""
    depth = merkle.depth_for(n_leaves)
    return tuple(TreeHeader(leaf_size, n_leaves, depth, v).file_size() for v in VERSIONS)


def encode(tree: merkle.MerkleTree, leaf_size: int, version: int = VERSION_LEAVES) -> bytes:
    if version not in VERSIONS:
        raise ValueError(f"tree file version {version}: writers make {VERSIONS}")
    header = HEADER.pack(MAGIC, version, 0, leaf_size, tree.n_leaves, tree.depth, 0)
    levels = tree.levels[:1] if version == VERSION_LEAVES else tree.levels
    return header + b"".join(h for level in levels for h in level)


def write(path: str | os.PathLike[str], tree: merkle.MerkleTree, leaf_size: int) -> None:
    write_bytes_atomic(path, encode(tree, leaf_size))


def read_header(source: ByteSource) -> TreeHeader:
    magic, version, flags, leaf_size, n, depth, zero = HEADER.unpack(source.read(0, HEADER_SIZE))
    if magic != MAGIC:
        raise FormatError(f"not a PoGO tree file (magic {magic!r})")
    if version not in VERSIONS or flags != 0 or zero != 0:
        raise FormatError(f"unsupported tree file version {version} flags {flags}")
    if n < 1 or depth != merkle.depth_for(n):
        raise FormatError(f"tree file header is inconsistent: n={n}, depth={depth}")
    header = TreeHeader(leaf_size, n, depth, version)
    if source.size() != header.file_size():
        raise FormatError(f"tree file is {source.size()} bytes, its header says {header.file_size()}")
    return header


def read_tree(source: ByteSource, header: TreeHeader | None = None) -> merkle.MerkleTree:
    """The whole tree. Version 2 is built from its leaf hashes; version 1 is checked node by
    node: every stored parent must hash from its children."""
    header = header or read_header(source)
    data = source.read(HEADER_SIZE, header.file_size() - HEADER_SIZE)
    if header.version == VERSION_LEAVES:
        return merkle.MerkleTree.from_leaf_hashes([data[32 * i: 32 * (i + 1)] for i in range(header.n_leaves)])
    levels, pos = [], 0
    for size in merkle.level_sizes(header.n_leaves):
        levels.append(tuple(data[pos + 32 * i: pos + 32 * (i + 1)] for i in range(size)))
        pos += 32 * size
    rebuilt = merkle.MerkleTree.from_leaf_hashes(levels[0])
    if rebuilt.levels != tuple(levels):
        raise FormatError("tree file nodes do not hash from their children")
    return rebuilt


def prover(source: ByteSource, header: TreeHeader | None = None) -> Callable[[int], Proof]:
    """A function from a leaf index to its (leaf hash, proof, root). Version 1 reads each proof
    by offset; version 2 reads the leaf hashes once and hashes the levels above them.

    A proof is only as good as the root it reaches: callers compare that root with the
    commitment on chain (``merkle.verify_proof``)."""
    header = header or read_header(source)

    def check(index: int) -> None:
        if not 0 <= index < header.n_leaves:
            raise FormatError(f"leaf {index} is outside a tree of {header.n_leaves} leaves")

    if header.version == VERSION_LEAVES:
        tree = read_tree(source, header)

        def from_tree(index: int) -> Proof:
            check(index)
            return tree.levels[0][index], tree.proof(index), tree.root

        return from_tree
    sizes = merkle.level_sizes(header.n_leaves)

    def node(level: int, i: int) -> bytes:
        return source.read(header.level_offset(level) + 32 * i, 32)

    def ranged(index: int) -> Proof:
        check(index)
        proof = []
        for k in range(header.depth):
            sibling = (index >> k) ^ 1
            proof.append(node(k, sibling) if sibling < sizes[k] else merkle.ZERO_HASHES[k])
        return node(0, index), proof, node(header.depth, 0)

    return ranged


def read_proof(source: ByteSource, index: int, header: TreeHeader | None = None) -> Proof:
    """(leaf hash, proof, root) for leaf ``index``; for many leaves, use one ``prover``."""
    return prover(source, header)(index)
