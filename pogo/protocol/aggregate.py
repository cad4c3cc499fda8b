"""The outer step of a round with several accepted updates (PROTOCOL.md section 7).

    acc = 0; for each accepted diff in ascending submission id: acc = float32(acc + dequant(q))
    theta_next = float32(theta_prev + float32(acc * float32(1/k))), and +0 in the padding

An aggregate has no diff file of its own: its ``diff_root`` is the Merkle root (section 2
rules) over the accepted updates' diff roots in the same order, leaf_i = sha256(0x00 || root_i),
so a verifier knows exactly which updates it averages.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pogo.errors import PogoError
from pogo.protocol import merkle
from pogo.protocol.difffile import Diff


def aggregate(theta_prev_padded: np.ndarray, diffs: Sequence[Diff]) -> np.ndarray:
    if not diffs:
        raise PogoError("nothing to aggregate")
    acc = np.zeros_like(theta_prev_padded, dtype=np.float32)
    for d in diffs:
        acc += d.dequantize()  # float32 + float32 -> float32, one rounding each
    scale = np.float32(1.0) / np.float32(len(diffs))
    new = (theta_prev_padded + (acc * scale).astype(np.float32)).astype(np.float32)
    new[diffs[0].header.n_params:] = 0  # the padding is +0 whatever the head's (PROTOCOL D11)
    return new


def sources_root(diff_roots: Sequence[bytes]) -> bytes:
    return merkle.MerkleTree.from_leaf_hashes([merkle.hash_leaf(r) for r in diff_roots]).root
