"""Dishonest miners, for the demo and the tests: each builds artifacts that one check of
PROTOCOL.md section 6 must catch. They share the honest miner's loop (workers.miner)."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import numpy as np

from pogo.protocol import checkpoint, difffile, mxint4, treefile
from workers.miner import Built, build_honest


def _from_records(prev_padded: np.ndarray, q: np.ndarray, scales: np.ndarray, prev_root: bytes, n_params: int,
                  leaf: int, groups: int) -> Built:
    """Honest commitments to a chosen (q, scales), in the task's format (a sparse task's keeps each
    leaf's k largest groups): only the update itself is a lie."""
    return Built.of(difffile.commit(prev_padded, q, scales, prev_root, n_params, leaf, groups), leaf)


def random_update(prev_padded, raw, prev_root, leaf, groups=0, seed: int = 0) -> Built:
    """Noise of the honest update's size instead of training. On a model of realistic size the
    loss rises: NO_PROGRESS (a judgment), or HARMFUL (a fault) beyond the task's harm margin.
    On a toy model (the tests' GPT has 30,176 weights) a random step is a lottery: its
    first-order effect is about 1/sqrt(n_params) of its size along the gradient, enough for some
    ``seed``s to lower the loss measurably; such an update is then paid as the real gain it is
    (the tests pick a seed whose noise does not help)."""
    honest_q, honest_scales = mxint4.quantize(checkpoint.pad(raw, leaf) - prev_padded)
    rng = np.random.default_rng([int.from_bytes(prev_root[:4], "big"), seed])
    q = rng.integers(-7, 8, honest_q.size).astype(np.int8)
    q[raw.size:] = 0
    return _from_records(prev_padded, q, honest_scales, prev_root, raw.size, leaf, groups)


def vandal(prev_padded, raw, prev_root, leaf, groups=0, seed: int = 0) -> Built:
    """Sabotage: noise far larger than any training step (every group at scale 2^-3, so up to
    0.875 per weight) wipes out what the model knew. The loss rises far beyond the task's harm
    margin and beyond noise: HARMFUL, a fault. Vandals with different ``seed``s send different
    noise (with one seed, the second vandal's diff is a copy of the first's: MALFORMED)."""
    rng = np.random.default_rng([int.from_bytes(prev_root[4:8], "big"), seed])
    q = rng.integers(-7, 8, prev_padded.size).astype(np.int8)
    q[raw.size:] = 0
    scales = np.full(prev_padded.size // mxint4.GROUP_SIZE, 127 - 3, dtype=np.uint8)
    return _from_records(prev_padded, q, scales, prev_root, raw.size, leaf, groups)


def zero_update(prev_padded, raw, prev_root, leaf, groups=0) -> Built:
    """Submit the head unchanged: no gain, NO_PROGRESS (a judgment: not accepted, not slashed)."""
    n_groups = prev_padded.size // mxint4.GROUP_SIZE
    return _from_records(prev_padded, np.zeros(prev_padded.size, np.int8),
                         np.full(n_groups, mxint4.SCALE_MIN, np.uint8), prev_root, raw.size, leaf, groups)


def wrong_root(prev_padded, raw, prev_root, leaf, groups=0) -> Built:
    """Claim a new_root the diff does not produce: ROOT_MISMATCH."""
    built = build_honest(prev_padded, raw, prev_root, leaf, groups)
    fake = hashlib.sha256(b"not the model" + built.new_root).digest()
    header = difffile.decode_header(built.diff)
    patched = replace(header, new_root=fake)
    return Built(patched.encode() + built.diff[difffile.HEADER_SIZE:], built.tree, prev_root, fake, built.diff_root)


def wrong_leaf(prev_padded, raw, prev_root, leaf, groups=0) -> Built:
    """An honest diff, but a committed model one ulp off in one parameter of one leaf: a spot
    check misses it most of the time; a verifier's full rebuild finds it and proves it on chain
    with a leaf fraud proof (PROTOCOL.md D11): rejected and slashed at once, no vote needed."""
    q = difffile.make_diff(prev_padded[:raw.size], raw, leaf, prev_root, groups)
    theta = q.theta_new.copy()
    j = (theta.size // leaf // 2) * leaf + 3  # a leaf in the middle of the model
    theta[j] = np.nextafter(theta[j], np.float32(np.inf))
    tree = checkpoint.model_tree(theta, leaf)
    header = replace(q.diff.header, new_root=tree.root)
    return Built(header.encode() + q.diff.records.tobytes(), treefile.encode(tree, leaf), prev_root, tree.root,
                 header.diff_root)


def bad_scales(prev_padded, raw, prev_root, leaf, groups=0) -> Built:
    """A scale byte outside [7, 247] (NaN-like E8M0 0xFF): MALFORMED."""
    built = build_honest(prev_padded, raw, prev_root, leaf, groups)
    header = difffile.decode_header(built.diff)
    records = np.frombuffer(built.diff[difffile.HEADER_SIZE:], np.uint8).reshape(-1, header.record_size).copy()
    records[0, groups * difffile.INDEX_BYTES] = 0xFF  # the first scale byte (a sparse record's come after its indices)
    root = difffile.records_tree(records).root
    return Built(replace(header, diff_root=root).encode() + records.tobytes(), built.tree, prev_root, built.new_root,
                 root)


def non_finite(prev_padded, raw, prev_root, leaf, groups=0) -> Built:
    """Every group at the largest scale (2^120): the model's loss is NaN or infinite: NON_FINITE."""
    honest_q, honest_scales = mxint4.quantize(checkpoint.pad(raw, leaf) - prev_padded)
    q = np.where(np.arange(honest_q.size) < raw.size, np.int8(7), np.int8(0)).astype(np.int8)
    scales = np.full_like(honest_scales, 247)
    return _from_records(prev_padded, q, scales, prev_root, raw.size, leaf, groups)


def withheld(prev_padded, raw, prev_root, leaf, groups=0) -> Built:
    """Commit to an honest update but never publish it: DATA_UNAVAILABLE."""
    built = build_honest(prev_padded, raw, prev_root, leaf, groups)
    built.withhold = True
    return built


class Replay:
    """Resubmit a diff built on an earlier head: STALE_BASE."""

    def __init__(self, old: Built):
        self.old = old

    def __call__(self, prev_padded, raw, prev_root, leaf, groups=0) -> Built:
        return self.old


class Copy:
    """Resubmit another miner's diff of the same round: MALFORMED (a copy)."""

    def __init__(self, original: Built):
        self.original = original

    def __call__(self, prev_padded, raw, prev_root, leaf, groups=0) -> Built:
        return self.original
