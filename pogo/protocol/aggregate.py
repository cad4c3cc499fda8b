"""The outer step of a round with several accepted updates (PROTOCOL.md section 7, D14).

    acc = 0; for each accepted diff in ascending submission id: acc = float32(acc + dequant(q))
    c_g = the number of those diffs whose group g has a non-zero q (its movers)
    theta_next = float32(theta_prev + float32(acc * float32(1/c_g))) in group g (c_g >= 1),
    theta_prev + 0 where no diff moves the group, and +0 in the padding

Each group is averaged over the updates that move it: a sparse update (D13) that leaves a group
out does not pull it towards zero. In every group that all k updates move (almost every group of
dense updates) this is the plain 1/k average.

An aggregate has no diff file of its own: its ``diff_root`` is the Merkle root (section 2
rules) over the accepted updates' diff roots in the same order, leaf_i = sha256(0x00 || root_i),
so a verifier knows exactly which updates it averages.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pogo.errors import PogoError
from pogo.protocol import merkle, mxint4
from pogo.protocol.difffile import Diff


def aggregate(theta_prev_padded: np.ndarray, diffs: Sequence[Diff]) -> np.ndarray:
    if not diffs:
        raise PogoError("nothing to aggregate")
    acc = np.zeros_like(theta_prev_padded, dtype=np.float32)
    movers = np.zeros(theta_prev_padded.size // mxint4.GROUP_SIZE, dtype=np.int64)
    for d in diffs:
        q, scales = d.q_and_scales()
        acc += mxint4.dequantize(q, scales)  # float32 + float32 -> float32, one rounding each
        movers += q.reshape(-1, mxint4.GROUP_SIZE).any(axis=1)
    scale = reciprocals(len(diffs))[movers]
    new = (theta_prev_padded + (acc * np.repeat(scale, mxint4.GROUP_SIZE)).astype(np.float32)).astype(np.float32)
    new[diffs[0].header.n_params:] = 0  # the padding is +0 whatever the head's (PROTOCOL D11)
    return new


def reciprocals(k: int) -> np.ndarray:
    """float32(1/c) for c = 0..k, correctly rounded as the EVM's Float32.reciprocal (exact for
    k <= 2^24, far past the sources a proof can carry); c = 0 (no mover: acc is +0) takes 1, which
    leaves the weight at theta_prev + 0."""
    c = np.arange(k + 1, dtype=np.float32)
    c[0] = 1
    return (np.float32(1.0) / c).astype(np.float32)


def sources_root(diff_roots: Sequence[bytes]) -> bytes:
    return merkle.MerkleTree.from_leaf_hashes([merkle.hash_leaf(r) for r in diff_roots]).root
