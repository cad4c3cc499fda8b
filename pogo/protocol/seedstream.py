"""The keccak seed stream and data assignment (section 4), as the contracts compute them.

    shard(taskId, round, miner) = uint256(keccak256(abi.encode(taskId, round, miner))) mod (S - 1)
    seed = keccak256(abi.encode(blockhash(submitBlock + 1), submissionId, newRoot))
    draw(seed, purpose, k) = keccak256(abi.encode(seed, purpose, k))
    purpose(tag, seat) = keccak256(abi.encode(keccak256(bytes(tag)), seat))

The validation shard is the last one (index S - 1), so ``mod (S - 1)`` skips it. Each
purpose tag below names one use of the stream; ``contracts/SeedStream.sol`` holds the same
constants and tests/vectors/seedstream.json pins both sides.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from itertools import accumulate

from eth_abi import encode
from eth_utils import keccak, to_canonical_address

from pogo.errors import PogoError

COMMITTEE = "pogo.committee"
LEAVES = "pogo.leaves"
TRAIN_BATCH = "pogo.train-batch"
VAL_BATCH = "pogo.val-batch"


def shard_of(task_id: int, round_: int, miner: str, n_shards: int) -> int:
    """The training shard a miner must use in a round; never the validation shard S - 1."""
    if n_shards < 2:
        raise PogoError("a dataset needs at least two shards: one to train on, one for validation")
    h = keccak(encode(["uint256", "uint256", "address"], [task_id, round_, to_canonical_address(miner)]))
    return int.from_bytes(h, "big") % (n_shards - 1)


def challenge_seed(next_block_hash: bytes, submission_id: int, new_root: bytes) -> bytes:
    """The seed fixed by the hash of the block after the submission's block."""
    return keccak(encode(["bytes32", "uint256", "bytes32"], [next_block_hash, submission_id, new_root]))


def purpose(tag: str, seat: int = 0) -> bytes:
    return keccak(encode(["bytes32", "uint256"], [keccak(tag.encode()), seat]))


def draw(seed: bytes, purpose_: bytes, k: int) -> int:
    """The k-th number of the stream for one purpose, as a uint256."""
    if len(seed) == len(purpose_) == 32 and 0 <= k < 1 << 256:
        # abi.encode(bytes32, bytes32, uint256) is the three words side by side; eth_abi's
        # general encoder took most of a tiny model's measurement (1,024 draws a seat)
        return int.from_bytes(keccak(seed + purpose_ + k.to_bytes(32, "big")), "big")
    return int.from_bytes(keccak(encode(["bytes32", "bytes32", "uint256"], [seed, purpose_, k])), "big")


def distinct_indices(seed: bytes, purpose_: bytes, count: int, modulus: int) -> list[int]:
    """The first ``count`` distinct values of draw(seed, purpose, k) mod ``modulus``, in draw order.

    Asking for at least ``modulus`` values returns every index once.
    """
    if modulus < 1:
        raise PogoError("nothing to draw from")
    count = min(count, modulus)
    if count == modulus:
        # Drawing every index by rejection would take ~n ln n draws; the order does not matter.
        return list(range(modulus))
    seen: dict[int, None] = {}
    k = 0
    while len(seen) < count:
        seen.setdefault(draw(seed, purpose_, k) % modulus, None)
        k += 1
    return list(seen)


def leaf_indices(seed: bytes, seat: int, count: int, n_leaves: int) -> list[int]:
    """The leaves committee member ``seat`` spot checks."""
    return distinct_indices(seed, purpose(LEAVES, seat), count, n_leaves)


def batch_offsets(seed: bytes, tag: str, seat: int, count: int, n_tokens: int, block: int, start: int = 0) -> list[int]:
    """Start offsets of evaluation windows ``start`` to ``count - 1`` (each ``block + 1``
    tokens) in a shard: the stream's prefix, so a measurement draws only the windows it scores."""
    span = n_tokens - block
    if span < 1:
        raise PogoError(f"a shard of {n_tokens} tokens is too short for windows of {block + 1}")
    p = purpose(tag, seat)
    return [draw(seed, p, k) % span for k in range(start, count)]


def draw_committee(seed: bytes, weights: Sequence[int], size: int, exclude: int | None = None,
                   max_draws: int | None = None) -> list[int]:
    """Stake-weighted committee seats, as the contract's Fenwick-tree draw makes them.

    ``weights[i]`` is the stake weight of verifier slot i + 1 (slot 0 is unused on chain).
    Draw k picks the slot whose cumulative weight first exceeds draw(seed, COMMITTEE, k)
    mod total; the excluded slot and slots already seated are skipped. At most
    ``max_draws`` draws (default 8 * size) are made, so a thin pool yields a short committee.
    """
    total = sum(weights)
    if total == 0:
        return []
    max_draws = 8 * size if max_draws is None else max_draws
    prefix = list(accumulate(weights))
    p = purpose(COMMITTEE)
    seats: list[int] = []
    for k in range(max_draws):
        if len(seats) == size:
            break
        r = draw(seed, p, k) % total
        slot = bisect.bisect_right(prefix, r) + 1
        if slot != exclude and slot not in seats:
            seats.append(slot)
    return seats
