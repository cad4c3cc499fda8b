"""Tree files: every level of a Merkle tree, so proofs are read by offset (section 2).

Layout (all integers little-endian):

    offset  size  field
    0       8     magic b"POGOTRE1"
    8       2     version (1)
    10      2     flags (0)
    12      4     L, parameters per leaf (for a diff's tree: 0)
    16      8     n, the number of leaves
    24      4     depth
    28      4     zero
    32      ...   level 0 (the n leaf hashes), level 1, ..., the root; 32 bytes a node

A level holds only its real nodes (ceil(n / 2^k) at level k); a missing right sibling is
the empty subtree Z_k, which a reader supplies.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

from pogo.errors import FormatError
from pogo.protocol import merkle
from pogo.protocol.atomicfile import write_bytes_atomic
from pogo.protocol.source import ByteSource

MAGIC = b"POGOTRE1"
VERSION = 1
HEADER = struct.Struct("<8sHHIQII")
HEADER_SIZE = HEADER.size  # 32


@dataclass(frozen=True)
class TreeHeader:
    leaf_size: int
    n_leaves: int
    depth: int

    def level_offset(self, level: int) -> int:
        sizes = merkle.level_sizes(self.n_leaves)
        return HEADER_SIZE + merkle.HASH_SIZE * sum(sizes[:level])

    def file_size(self) -> int:
        return HEADER_SIZE + merkle.HASH_SIZE * sum(merkle.level_sizes(self.n_leaves))


def encode(tree: merkle.MerkleTree, leaf_size: int) -> bytes:
    header = HEADER.pack(MAGIC, VERSION, 0, leaf_size, tree.n_leaves, tree.depth, 0)
    return header + b"".join(h for level in tree.levels for h in level)


def write(path: str | os.PathLike[str], tree: merkle.MerkleTree, leaf_size: int) -> None:
    write_bytes_atomic(path, encode(tree, leaf_size))


def read_header(source: ByteSource) -> TreeHeader:
    magic, version, flags, leaf_size, n, depth, zero = HEADER.unpack(source.read(0, HEADER_SIZE))
    if magic != MAGIC:
        raise FormatError(f"not a PoGO tree file (magic {magic!r})")
    if version != VERSION or flags != 0 or zero != 0:
        raise FormatError(f"unsupported tree file version {version} flags {flags}")
    if n < 1 or depth != merkle.depth_for(n):
        raise FormatError(f"tree file header is inconsistent: n={n}, depth={depth}")
    header = TreeHeader(leaf_size, n, depth)
    if source.size() != header.file_size():
        raise FormatError(f"tree file is {source.size()} bytes, its header says {header.file_size()}")
    return header


def read_tree(source: ByteSource) -> merkle.MerkleTree:
    """The whole tree, checked node by node: every stored parent must hash from its children."""
    header = read_header(source)
    data = source.read(HEADER_SIZE, header.file_size() - HEADER_SIZE)
    levels, pos = [], 0
    for size in merkle.level_sizes(header.n_leaves):
        levels.append(tuple(data[pos + 32 * i: pos + 32 * (i + 1)] for i in range(size)))
        pos += 32 * size
    rebuilt = merkle.MerkleTree.from_leaf_hashes(levels[0])
    if rebuilt.levels != tuple(levels):
        raise FormatError("tree file nodes do not hash from their children")
    return rebuilt


def read_proof(source: ByteSource, index: int, header: TreeHeader | None = None) -> tuple[bytes, list[bytes], bytes]:
    """(leaf hash, proof, root) for leaf ``index``, by ranged reads only.

    The proof is only as good as the root it reaches: callers compare that root with the
    commitment on chain (``merkle.verify_proof``).
    """
    header = header or read_header(source)
    if not 0 <= index < header.n_leaves:
        raise FormatError(f"leaf {index} is outside a tree of {header.n_leaves} leaves")
    sizes = merkle.level_sizes(header.n_leaves)

    def node(level: int, i: int) -> bytes:
        return source.read(header.level_offset(level) + 32 * i, 32)

    proof = []
    for k in range(header.depth):
        sibling = (index >> k) ^ 1
        proof.append(node(k, sibling) if sibling < sizes[k] else merkle.ZERO_HASHES[k])
    return node(0, index), proof, node(header.depth, 0)
