"""Leaf fraud proofs (PROTOCOL.md D11): the evidence that one leaf of a submission's new model is
not what the exact rule of sections 3 and 7 makes of the head's leaf and the diff record(s), in
the form LeafFraud.sol checks it.

A proof names one leaf index i and carries the head's leaf i with its proof to the head root,
the submission's claimed hash of leaf i with its proof to the new root, and leaf i's record of
each source diff with its proof to that diff's root (for an update, its own diff; for an
aggregate, each of the round's accepted updates, in ascending submission id).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from eth_abi import encode

from pogo.protocol import merkle

PROOF_TYPE = "(uint256,bytes,bytes32[],bytes32,bytes32[],uint256[],bytes[],bytes32[][])"


@dataclass(frozen=True)
class LeafProof:
    leaf: int
    prev_leaf: bytes
    prev_proof: list[bytes]
    claimed_leaf_hash: bytes
    new_proof: list[bytes]
    sources: list[int]             # an aggregate's accepted updates, ascending; [] for an update
    records: list[bytes]
    record_proofs: list[list[bytes]]

    def encode(self) -> bytes:
        """abi.encode(IPoGO.LeafFraudProof): what PoGO.proveLeafFraud takes."""
        return encode([PROOF_TYPE], [(self.leaf, self.prev_leaf, self.prev_proof, self.claimed_leaf_hash,
                                      self.new_proof, self.sources, self.records, self.record_proofs)])


def mismatched_leaves(expected_leaf_hashes: Sequence[bytes], claimed_leaf_hashes: Sequence[bytes]) -> list[int]:
    """The leaves whose committed hash differs from the rebuilt one."""
    if len(expected_leaf_hashes) != len(claimed_leaf_hashes):
        raise ValueError(f"{len(claimed_leaf_hashes)} claimed leaves for a model of {len(expected_leaf_hashes)}")
    return [i for i, (e, c) in enumerate(zip(expected_leaf_hashes, claimed_leaf_hashes)) if e != c]


def build(leaf: int, prev_padded: np.ndarray, leaf_size: int, prev_tree: merkle.MerkleTree,
          claimed_leaf_hash: bytes, new_proof: list[bytes], records: Sequence[np.ndarray],
          record_trees: Sequence[merkle.MerkleTree], sources: Sequence[int] = ()) -> LeafProof:
    """The proof for leaf ``leaf``, from the head (padded, and its tree), the claim and the sources'
    records (each source's (n_leaves, record_size) array and its tree)."""
    return LeafProof(
        leaf=leaf,
        prev_leaf=prev_padded[leaf * leaf_size:(leaf + 1) * leaf_size].astype("<f4").tobytes(),
        prev_proof=prev_tree.proof(leaf),
        claimed_leaf_hash=claimed_leaf_hash,
        new_proof=list(new_proof),
        sources=list(sources),
        records=[bytes(r[leaf].tobytes()) for r in records],
        record_proofs=[t.proof(leaf) for t in record_trees],
    )
