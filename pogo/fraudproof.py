"""Find a provably wrong leaf in a submission and build its fraud proof (PROTOCOL.md D11) from
what a node has: the head it rebuilt, the diff(s), and the submission's tree file.

A leaf is provable when the tree file's hash of it, with the tree file's proof, reaches the
submission's new root and differs from the hash of the leaf the exact rule rebuilds. A tree
file that does not even reach the new root proves nothing on chain (the committee's
ROOT_MISMATCH vote covers it).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pogo.protocol import difffile, fraud, merkle, treefile
from pogo.protocol.source import ByteSource


def provable_leaf(expected: np.ndarray, leaf_size: int, tree: ByteSource, new_root: bytes,
                  leaves: Sequence[int] | None = None) -> tuple[int, bytes, list[bytes]] | None:
    """(leaf index, claimed hash, its proof to new_root) for the first leaf (of ``leaves``, or of
    the whole model) whose committed hash is not the rebuilt leaf's; None when there is none."""
    header = treefile.read_header(tree)
    n = expected.size // leaf_size
    if header.n_leaves != n:
        return None
    proofs = treefile.prover(tree, header)
    for i in leaves if leaves is not None else range(n):
        if not 0 <= i < n:
            continue
        claimed, proof, _ = proofs(i)
        if claimed != merkle.hash_leaf(expected[i * leaf_size:(i + 1) * leaf_size].tobytes()) \
                and merkle.verify_proof(claimed, i, proof, new_root):
            return i, claimed, proof
    return None


def build(prev: np.ndarray, expected: np.ndarray, leaf_size: int, tree: ByteSource, new_root: bytes,
          diffs: Sequence[difffile.Diff], sources: Sequence[int] = (), leaves: Sequence[int] | None = None
          ) -> fraud.LeafProof | None:
    """The fraud proof for the first provably wrong leaf, or None.

    ``prev`` is the padded head, ``expected`` the padded model the exact rule makes of it with
    ``diffs`` (one for an update; for an aggregate the round's accepted updates, whose ids are
    ``sources``, in ascending order)."""
    found = provable_leaf(expected, leaf_size, tree, new_root, leaves)
    if found is None:
        return None
    i, claimed, new_proof = found
    prev_tree = merkle.MerkleTree.from_leaf_data(prev.astype("<f4").tobytes(), 4 * leaf_size)
    return fraud.build(i, prev, leaf_size, prev_tree, claimed, new_proof, [d.records for d in diffs],
                       [difffile.records_tree(d.records) for d in diffs], sources)
