"""Diff files: an MX-int4 update, leaf-major, behind a 128-byte header (section 3, D13).

Header (integers little-endian):

    offset  size  field
    0       8     magic b"POGODIF1"
    8       2     version (1 dense, 2 sparse)
    10      2     flags (0)
    12      8     P, parameters
    20      4     L, parameters per leaf
    24      4     G, parameters per scale group (32)
    28      32    prev_root
    60      32    new_root
    92      32    diff_root
    124     4     version 1: zero; version 2: k, the groups each record carries (1 <= k < L/G)

Then one record per leaf. Version 1 (dense): L/G scale bytes, then L/2 nibble bytes. Version 2
(sparse, PROTOCOL D13): k group indices (u16, strictly ascending, < L/G), then their k scale
bytes, then their k * G/2 nibble bytes; every group it does not name is an all-zero group
(q = 0, scale byte 7), so a sparse record *is* the dense record it expands to and every rule
downstream (the rebuild, aggregates, fraud proofs) is the dense one. diff_root is the Merkle
root over the records as stored, with leaf_i = sha256(0x00 || record_i).
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
VERSION = 1          # dense
VERSION_SPARSE = 2
INDEX_BYTES = 2      # a sparse record's group index: u16 (L/G <= 2^14 / 32 = 512)
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
    groups: int = 0       # k, the groups a sparse record carries; 0: dense

    @property
    def version(self) -> int:
        return VERSION_SPARSE if self.groups else VERSION

    @property
    def n_leaves(self) -> int:
        return checkpoint.n_leaves(self.n_params, self.leaf_size)

    @property
    def record_size(self) -> int:
        return record_size(self.leaf_size, self.group_size, self.groups)

    def file_size(self) -> int:
        return HEADER_SIZE + self.n_leaves * self.record_size

    def encode(self) -> bytes:
        return HEADER.pack(MAGIC, self.version, 0, self.n_params, self.leaf_size, self.group_size,
                           self.prev_root, self.new_root, self.diff_root, self.groups.to_bytes(4, "little"))

    def to_json(self) -> dict:
        return {
            "version": self.version, "n_params": self.n_params, "leaf_size": self.leaf_size,
            "group_size": self.group_size, "groups_per_record": self.groups,
            "n_leaves": self.n_leaves, "record_size": self.record_size,
            "prev_root": "0x" + self.prev_root.hex(), "new_root": "0x" + self.new_root.hex(),
            "diff_root": "0x" + self.diff_root.hex(),
        }


def record_size(leaf_size: int, group_size: int = mxint4.GROUP_SIZE, groups: int = 0) -> int:
    """A record's bytes: dense, L/G scales and L/2 nibble bytes; sparse, per group an index, a scale
    and G/2 nibble bytes (19 bytes a group: never a dense size, since 19 does not divide 17 * 2^j)."""
    if groups:
        return groups * (INDEX_BYTES + 1 + group_size // 2)
    return leaf_size // group_size + leaf_size // 2


def check_groups(groups: int, leaf_size: int, group_size: int = mxint4.GROUP_SIZE) -> None:
    """k for a sparse diff: at least one group, fewer than a leaf holds (all of them is the dense format)."""
    if isinstance(groups, bool) or not isinstance(groups, int) or not (groups == 0 or 0 < groups < leaf_size // group_size):
        raise FormatError(f"groups per record must be an integer in [0, {leaf_size // group_size}) for leaves of "
                          f"{leaf_size} (0: dense); got {groups!r}")


def decode_header(raw: bytes) -> DiffHeader:
    if len(raw) < HEADER_SIZE:
        raise FormatError(f"a diff file starts with a {HEADER_SIZE}-byte header; got {len(raw)} bytes")
    magic, version, flags, p, leaf, group, prev, new, droot, tail = HEADER.unpack(raw[:HEADER_SIZE])
    if magic != MAGIC:
        raise FormatError(f"not a PoGO diff file (magic {magic!r})")
    groups = int.from_bytes(tail, "little")
    if version not in (VERSION, VERSION_SPARSE) or flags != 0 or (version == VERSION and groups != 0):
        raise FormatError(f"unsupported diff version {version}, flags {flags}")
    if group != mxint4.GROUP_SIZE:
        raise FormatError(f"group size {group} is not {mxint4.GROUP_SIZE}")
    checkpoint.check_leaf_size(leaf)
    if version == VERSION_SPARSE and groups == 0:
        raise FormatError("a sparse diff carries at least one group a record")
    check_groups(groups, leaf, group)
    if p < 1:
        raise FormatError("a diff covers at least one parameter")
    return DiffHeader(p, leaf, group, prev, new, droot, groups)


def read_header(source: ByteSource) -> DiffHeader:
    header = decode_header(source.read(0, HEADER_SIZE))
    if source.size() != header.file_size():
        raise FormatError(f"diff file is {source.size()} bytes, its header says {header.file_size()}")
    return header


@dataclass(frozen=True)
class Diff:
    """A whole diff in memory: the header and the records as one (n_leaves, record) array."""

    header: DiffHeader
    records: np.ndarray  # uint8, shape (n_leaves, record_size), as stored

    def encode(self) -> bytes:
        return self.header.encode() + self.records.tobytes()

    def dense_records(self) -> np.ndarray:
        """The records in the dense layout (a sparse diff's expanded; FormatError if one names a bad group)."""
        if not self.header.groups:
            return self.records
        return expand(self.records, self.header.leaf_size, self.header.groups)

    def q_and_scales(self) -> tuple[np.ndarray, np.ndarray]:
        """Every element's q (int8) and every group's scale byte, over the padded model."""
        n_scales = self.header.leaf_size // self.header.group_size
        dense = self.dense_records()
        scales = dense[:, :n_scales].reshape(-1)
        q = mxint4.unpack_nibbles(dense[:, n_scales:].reshape(-1))
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


def expand(records: np.ndarray, leaf_size: int, groups: int) -> np.ndarray:
    """Sparse records (n, k * 19) -> the dense records they stand for (n, L/G + L/2): the named
    groups' scale and nibble bytes in place, every other group all-zero (q = 0, scale byte 7)."""
    g, half = mxint4.GROUP_SIZE, mxint4.GROUP_SIZE // 2
    n, n_scales = records.shape[0], leaf_size // g
    idx = np.ascontiguousarray(records[:, :INDEX_BYTES * groups]).view("<u2").astype(np.int64)
    if (idx >= n_scales).any() or (np.diff(idx, axis=1) <= 0).any():
        leaf = int(np.argmax((idx >= n_scales).any(axis=1) | (np.diff(idx, axis=1) <= 0).any(axis=1)))
        raise FormatError(f"record {leaf} names groups {idx[leaf].tolist()[:8]}...: a sparse record's group "
                          f"indices must be strictly ascending and below {n_scales}")
    rows = np.arange(n)[:, None]
    scales = np.full((n, n_scales), mxint4.SCALE_MIN, dtype=np.uint8)
    scales[rows, idx] = records[:, INDEX_BYTES * groups:(INDEX_BYTES + 1) * groups]
    nibbles = np.zeros((n, n_scales, half), dtype=np.uint8)
    nibbles[rows, idx] = records[:, (INDEX_BYTES + 1) * groups:].reshape(n, groups, half)
    return np.ascontiguousarray(np.concatenate([scales, nibbles.reshape(n, -1)], axis=1))


def pack_sparse(dense: np.ndarray, selected: np.ndarray, leaf_size: int) -> np.ndarray:
    """Dense records (n, L/G + L/2) and each leaf's chosen groups (n, k, ascending) -> sparse
    records (n, k * 19). The groups left out must be all-zero in ``dense`` (expand restores them)."""
    g, half = mxint4.GROUP_SIZE, mxint4.GROUP_SIZE // 2
    n, n_scales, k = dense.shape[0], leaf_size // g, selected.shape[1]
    rows = np.arange(n)[:, None]
    scales = dense[:, :n_scales][rows, selected]
    nibbles = dense[:, n_scales:].reshape(n, n_scales, half)[rows, selected].reshape(n, k * half)
    index = np.ascontiguousarray(selected.astype("<u2")).view(np.uint8).reshape(n, INDEX_BYTES * k)
    return np.ascontiguousarray(np.concatenate([index, scales, nibbles], axis=1))


def select_groups(update: np.ndarray, leaf_size: int, groups: int) -> np.ndarray:
    """The miner's choice (not a protocol rule): per leaf, the k groups of largest max|update|,
    ties to the lower index, in ascending order; (n_leaves, k). max|x| of float32 is exact, so the
    torch path (pogo.model.quantize) chooses the same groups on any device."""
    amax = np.abs(np.asarray(update, dtype=np.float32)).reshape(-1, leaf_size // mxint4.GROUP_SIZE, mxint4.GROUP_SIZE).max(axis=2)
    if not np.isfinite(amax).all():  # here, not later: a group left out would hide the divergence
        raise FormatError("the update holds NaN or infinite values; training diverged")
    return np.sort(np.argsort(-amax, axis=1, kind="stable")[:, :groups], axis=1)


def group_mask(selected: np.ndarray, leaf_size: int) -> np.ndarray:
    """Per element of the padded model: whether its group is among ``selected``."""
    chosen = np.zeros((selected.shape[0], leaf_size // mxint4.GROUP_SIZE), dtype=bool)
    chosen[np.arange(selected.shape[0])[:, None], selected] = True
    return np.repeat(chosen.reshape(-1), mxint4.GROUP_SIZE)


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
              prev_root: bytes | None = None, groups: int = 0) -> Quantized:
    """Quantize theta_raw - theta_prev (with ``groups`` = k, only each leaf's k largest groups)
    and commit to the result; the residual is everything the diff does not carry."""
    prev = np.asarray(theta_prev, dtype=np.float32).reshape(-1)
    raw = np.asarray(theta_raw, dtype=np.float32).reshape(-1)
    if prev.size != raw.size:
        raise FormatError(f"the models differ in size: {prev.size} and {raw.size} parameters")
    check_groups(groups, leaf_size)
    prev_p, raw_p = checkpoint.pad(prev, leaf_size), checkpoint.pad(raw, leaf_size)
    delta = raw_p - prev_p
    selected = select_groups(delta, leaf_size, groups) if groups else None
    sent = np.where(group_mask(selected, leaf_size), delta, np.float32(0)) if groups else delta
    q, scales = mxint4.quantize(sent)
    if prev_root is None:
        prev_root = checkpoint.model_root(prev_p, leaf_size)
    result = commit(prev_p, q, scales, prev_root, prev.size, leaf_size, groups, selected)
    return replace(result, residual=delta - mxint4.dequantize(q, scales))


def commit(prev_padded: np.ndarray, q: np.ndarray, scales: np.ndarray, prev_root: bytes, n_params: int,
           leaf_size: int, groups: int = 0, selected: np.ndarray | None = None) -> Quantized:
    """The diff, the new model and both trees for a given (q, scales): the one place that turns
    a quantized update into commitments (the honest miner, the cheats and the tests use it). With
    ``groups`` = k the diff is sparse: ``selected`` groups per leaf (default: the k of largest
    max|q 2^e|), every other group dropped to all-zero before anything is committed."""
    if groups:
        if selected is None:
            selected = select_groups(mxint4.dequantize(q, scales), leaf_size, groups)
        keep = group_mask(selected, leaf_size)
        q = np.where(keep, q, np.int8(0)).astype(np.int8)
        scales = np.where(keep[::mxint4.GROUP_SIZE], scales, np.uint8(mxint4.SCALE_MIN)).astype(np.uint8)
    records = encode_records(q, scales, leaf_size)
    if groups:
        records = pack_sparse(records, selected, leaf_size)
    return commit_built(records, mxint4.apply(prev_padded, q, scales), prev_root, n_params, leaf_size, groups)


def commit_built(records: np.ndarray, theta_new: np.ndarray, prev_root: bytes, n_params: int,
                 leaf_size: int, groups: int = 0) -> Quantized:
    """Hash the records (as stored) and the new model (padded) into the diff and its trees: the
    half of `commit` that stays on the CPU when the arithmetic ran elsewhere (pogo.model.quantize)."""
    new_tree = checkpoint.model_tree(theta_new, leaf_size)
    diff_tree = records_tree(records)
    header = DiffHeader(n_params, leaf_size, mxint4.GROUP_SIZE, prev_root, new_tree.root, diff_tree.root, groups)
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
    if header.groups:
        raw = expand(raw[None, :], header.leaf_size, header.groups)[0]
    new = mxint4.apply(prev_leaf, mxint4.unpack_nibbles(raw[n_scales:]), raw[:n_scales], header.group_size)
    if index is not None:
        new[max(0, header.n_params - index * header.leaf_size):] = 0
    return new
