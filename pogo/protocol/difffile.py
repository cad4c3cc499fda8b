"""Diff files: an MX-int4 update, leaf-major, behind a 128-byte header (section 3).

Header (integers little-endian):

    offset  size  field
    0       8     magic b"POGODIF1"
    8       2     version (1)
    10      2     flags (0)
    12      8     P, parameters
    20      4     L, parameters per leaf
    24      4     G, parameters per scale group (32)
    28      32    prev_root
    60      32    new_root
    92      32    diff_root
    124     4     zero

Then one record per leaf: L/G scale bytes, then L/2 nibble bytes. diff_root is the
Merkle root over the records with leaf_i = sha256(0x00 || record_i).
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, replace

import numpy as np

from pogo.errors import FormatError
from pogo.protocol import checkpoint, merkle, mxint4
from pogo.protocol.atomicfile import write_bytes_atomic
from pogo.protocol.source import ByteSource

MAGIC = b"POGODIF1"
VERSION = 1
HEADER = struct.Struct("<8sHHQII32s32s32s4s")
HEADER_SIZE = 128
assert HEADER.size == HEADER_SIZE


@dataclass(frozen=True)
class DiffHeader:
    n_params: int
    leaf_size: int
    group_size: int
    prev_root: bytes
    new_root: bytes
    diff_root: bytes

    @property
    def n_leaves(self) -> int:
        return checkpoint.n_leaves(self.n_params, self.leaf_size)

    @property
    def record_size(self) -> int:
        return record_size(self.leaf_size, self.group_size)

    def file_size(self) -> int:
        return HEADER_SIZE + self.n_leaves * self.record_size

    def encode(self) -> bytes:
        return HEADER.pack(MAGIC, VERSION, 0, self.n_params, self.leaf_size, self.group_size,
                           self.prev_root, self.new_root, self.diff_root, bytes(4))

    def to_json(self) -> dict:
        return {
            "version": VERSION, "n_params": self.n_params, "leaf_size": self.leaf_size,
            "group_size": self.group_size, "n_leaves": self.n_leaves, "record_size": self.record_size,
            "prev_root": "0x" + self.prev_root.hex(), "new_root": "0x" + self.new_root.hex(),
            "diff_root": "0x" + self.diff_root.hex(),
        }


def record_size(leaf_size: int, group_size: int = mxint4.GROUP_SIZE) -> int:
    return leaf_size // group_size + leaf_size // 2


def decode_header(raw: bytes) -> DiffHeader:
    if len(raw) < HEADER_SIZE:
        raise FormatError(f"a diff file starts with a {HEADER_SIZE}-byte header; got {len(raw)} bytes")
    magic, version, flags, p, leaf, group, prev, new, droot, zero = HEADER.unpack(raw[:HEADER_SIZE])
    if magic != MAGIC:
        raise FormatError(f"not a PoGO diff file (magic {magic!r})")
    if version != VERSION or flags != 0 or zero != bytes(4):
        raise FormatError(f"unsupported diff version {version}, flags {flags}")
    if group != mxint4.GROUP_SIZE:
        raise FormatError(f"group size {group} is not {mxint4.GROUP_SIZE}")
    checkpoint.check_leaf_size(leaf)
    if p < 1:
        raise FormatError("a diff covers at least one parameter")
    return DiffHeader(p, leaf, group, prev, new, droot)


def read_header(source: ByteSource) -> DiffHeader:
    header = decode_header(source.read(0, HEADER_SIZE))
    if source.size() != header.file_size():
        raise FormatError(f"diff file is {source.size()} bytes, its header says {header.file_size()}")
    return header


@dataclass(frozen=True)
class Diff:
    """A whole diff in memory: the header and the records as one (n_leaves, record) array."""

    header: DiffHeader
    records: np.ndarray  # uint8, shape (n_leaves, record_size)

    def encode(self) -> bytes:
        return self.header.encode() + self.records.tobytes()

    def q_and_scales(self) -> tuple[np.ndarray, np.ndarray]:
        """Every element's q (int8) and every group's scale byte, over the padded model."""
        n_scales = self.header.leaf_size // self.header.group_size
        scales = self.records[:, :n_scales].reshape(-1)
        q = mxint4.unpack_nibbles(self.records[:, n_scales:].reshape(-1))
        return q, scales

    def dequantize(self) -> np.ndarray:
        q, scales = self.q_and_scales()
        return mxint4.dequantize(q, scales, self.header.group_size)

    def apply(self, theta_prev: np.ndarray) -> np.ndarray:
        """theta_new over the padded model. Its padding is +0 whatever the head's (PROTOCOL D11)."""
        q, scales = self.q_and_scales()
        prev = checkpoint.pad(np.asarray(theta_prev, dtype=np.float32).reshape(-1)[:self.header.n_params],
                              self.header.leaf_size)
        return mxint4.apply(prev, q, scales, self.header.group_size)


def encode_records(q: np.ndarray, scales: np.ndarray, leaf_size: int, group_size: int = mxint4.GROUP_SIZE) -> np.ndarray:
    n_scales = leaf_size // group_size
    scales = scales.reshape(-1, n_scales)
    nibbles = mxint4.pack_nibbles(q).reshape(scales.shape[0], leaf_size // 2)
    return np.ascontiguousarray(np.concatenate([scales, nibbles], axis=1))


def records_tree(records: np.ndarray) -> merkle.MerkleTree:
    return merkle.MerkleTree.from_leaf_data(records.reshape(-1), records.shape[1])


@dataclass(frozen=True)
class Quantized:
    """Everything a miner commits to for one update."""

    diff: Diff
    theta_new: np.ndarray      # padded, float32
    new_tree: merkle.MerkleTree
    diff_tree: merkle.MerkleTree
    residual: np.ndarray | None  # delta - dequant(q), padded: the miner's error feedback


def make_diff(theta_prev: np.ndarray, theta_raw: np.ndarray, leaf_size: int = checkpoint.DEFAULT_LEAF_SIZE,
              prev_root: bytes | None = None) -> Quantized:
    """Quantize theta_raw - theta_prev and commit to the result."""
    prev = np.asarray(theta_prev, dtype=np.float32).reshape(-1)
    raw = np.asarray(theta_raw, dtype=np.float32).reshape(-1)
    if prev.size != raw.size:
        raise FormatError(f"the models differ in size: {prev.size} and {raw.size} parameters")
    prev_p, raw_p = checkpoint.pad(prev, leaf_size), checkpoint.pad(raw, leaf_size)
    delta = raw_p - prev_p
    q, scales = mxint4.quantize(delta)
    if prev_root is None:
        prev_root = checkpoint.model_root(prev_p, leaf_size)
    result = commit(prev_p, q, scales, prev_root, prev.size, leaf_size)
    return replace(result, residual=delta - mxint4.dequantize(q, scales))


def commit(prev_padded: np.ndarray, q: np.ndarray, scales: np.ndarray, prev_root: bytes, n_params: int,
           leaf_size: int) -> Quantized:
    """The diff, the new model and both trees for a given (q, scales): the one place that turns
    a quantized update into commitments (the honest miner, the cheats and the tests use it)."""
    return commit_built(encode_records(q, scales, leaf_size), mxint4.apply(prev_padded, q, scales), prev_root,
                        n_params, leaf_size)


def commit_built(records: np.ndarray, theta_new: np.ndarray, prev_root: bytes, n_params: int,
                 leaf_size: int) -> Quantized:
    """Hash the records and the new model (padded) into the diff and its trees: the half of
    `commit` that stays on the CPU when the arithmetic ran elsewhere (pogo.model.quantize)."""
    new_tree = checkpoint.model_tree(theta_new, leaf_size)
    diff_tree = records_tree(records)
    header = DiffHeader(n_params, leaf_size, mxint4.GROUP_SIZE, prev_root, new_tree.root, diff_tree.root)
    return Quantized(Diff(header, records), theta_new, new_tree, diff_tree, None)


def write(path: str | os.PathLike[str], diff: Diff) -> None:
    write_bytes_atomic(path, diff.encode())


def read(source: ByteSource) -> Diff:
    """A whole diff, checked: sizes, scale bytes, diff_root, and no update in the padding."""
    header = read_header(source)
    body = np.frombuffer(source.read(HEADER_SIZE, header.file_size() - HEADER_SIZE), dtype=np.uint8)
    records = body.reshape(header.n_leaves, header.record_size)
    diff = Diff(header, records)
    q, scales = diff.q_and_scales()
    mxint4.check_scales(scales)
    if records_tree(records).root != header.diff_root:
        raise FormatError("the records do not hash to the header's diff_root")
    if q[header.n_params:].any():
        raise FormatError("the diff updates padding beyond the model's last parameter")
    return diff


def read_record(source: ByteSource, header: DiffHeader, index: int) -> bytes:
    """One leaf's record by a ranged read."""
    if not 0 <= index < header.n_leaves:
        raise FormatError(f"leaf {index} is outside a diff of {header.n_leaves} leaves")
    return source.read(HEADER_SIZE + index * header.record_size, header.record_size)


def apply_record(prev_leaf: np.ndarray, record: bytes, header: DiffHeader, index: int | None = None) -> np.ndarray:
    """Rebuild one leaf of theta_new from the same leaf of theta_prev and its record; given the
    leaf's ``index``, the padding past the model's last parameter comes out +0 (PROTOCOL D11)."""
    n_scales = header.leaf_size // header.group_size
    raw = np.frombuffer(record, dtype=np.uint8)
    if raw.size != header.record_size:
        raise FormatError(f"a record is {header.record_size} bytes; got {raw.size}")
    new = mxint4.apply(prev_leaf, mxint4.unpack_nibbles(raw[n_scales:]), raw[:n_scales], header.group_size)
    if index is not None:
        new[max(0, header.n_params - index * header.leaf_size):] = 0
    return new
