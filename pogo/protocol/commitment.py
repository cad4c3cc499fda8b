"""Commit-reveal of updates and votes (PROTOCOL.md D10): what a miner or a verifier commits to
before anyone may see it, byte for byte as PoGO.sol recomputes it at the reveal.

A commitment names its sender, so a copied one is worth nothing to a copier; the salt (32 random
bytes, kept by the committer until it reveals) makes it impossible to guess from the few values
a vote can take.
"""

from __future__ import annotations

import secrets

from eth_abi import encode
from eth_utils import keccak, to_canonical_address


def new_salt() -> bytes:
    return secrets.token_bytes(32)


def update_commitment(task_id: int, round_: int, miner: str, prev_root: bytes, new_root: bytes, diff_root: bytes,
                      salt: bytes) -> bytes:
    """keccak256(abi.encode(taskId, round, miner, prevRoot, newRoot, diffRoot, salt))."""
    return keccak(encode(["uint256", "uint256", "address", "bytes32", "bytes32", "bytes32", "bytes32"],
                         [task_id, round_, to_canonical_address(miner), prev_root, new_root, diff_root, salt]))


def vote_commitment(submission_id: int, seat: int, verifier: str, approve: bool, improvement: int, reason: int,
                    salt: bytes) -> bytes:
    """keccak256(abi.encode(submissionId, seat, verifier, approve, improvement, reason, salt))."""
    return keccak(encode(["uint256", "uint256", "address", "bool", "int64", "uint8", "bytes32"],
                         [submission_id, seat, to_canonical_address(verifier), approve, improvement, int(reason), salt]))


def update_key(task_id: int, miner: str) -> bytes:
    """Where PoGO keeps a miner's commitment for a task: keccak256(abi.encode(taskId, miner))."""
    return keccak(encode(["uint256", "address"], [task_id, to_canonical_address(miner)]))
