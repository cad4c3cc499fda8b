"""What a verifier checks (PROTOCOL.md section 6, version 2), in order, stopping at the first
failure. Faults are provable and slash the miner; judgments only refuse the update.

    faults     1 DATA_UNAVAILABLE  2 MALFORMED  3 STALE_BASE  4 ROOT_MISMATCH  7 NON_FINITE  8 HARMFUL
    judgments  5 NO_PROGRESS  6 OVERFIT  9 INSUFFICIENT_EVIDENCE
    0 approve, with the measured improvement in micro-nats.

The commitment checks are exact. The loss judgment is one paired measurement per submission
(pogo.protocol.judgment): every seat evaluates the same windows, drawn from the submission's
seed, so honest seats agree. Data that cannot be fetched raises ``Unavailable``: the bot
retries until the task's availability window has passed before it votes DATA_UNAVAILABLE.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import torch

from pogo import fraudproof
from pogo.context import Context
from pogo.errors import FormatError
from pogo.model import causal_lm, manifest, quantize
from pogo.model.loss import window_losses
from pogo.net.contract import Reason
from pogo.net.events import Published
from pogo.net.ipfs import DaemonUnreachable, DataUnavailable
from pogo.protocol import (
    aggregate,
    canonical,
    checkpoint,
    fraud,
    judgment,
    merkle,
    seedstream,
    treefile,
)
from pogo.protocol.source import BytesSource

# Every seat measures on the windows of this seat index: one measurement per submission.
SHARED_SEAT = 0


@dataclass(frozen=True)
class Verdict:
    reason: Reason
    improvement: int = 0      # micro-nats: the mean paired gain on the shared training windows
    detail: str = ""
    windows: int = 0          # training windows the judgment used
    fraud: fraud.LeafProof | None = None  # a wrong leaf the chain can check itself (PROTOCOL.md D11)

    @property
    def approve(self) -> bool:
        return self.reason == Reason.OK


class Rejected(Exception):
    def __init__(self, reason: Reason, detail: str, improvement: int = 0, windows: int = 0,
                 proof: fraud.LeafProof | None = None):
        super().__init__(detail)
        self.verdict = Verdict(reason, improvement, detail, windows, proof)


class Unavailable(Exception):
    """Some data could not be fetched now: not a verdict until the availability window passes."""


def _device() -> torch.device:
    return quantize.accelerator() or torch.device("cpu")


_thread = threading.local()


def _models(model: dict, manifest_hash: str | None, n_params: int | None
            ) -> tuple[torch.nn.Module, torch.nn.Module]:
    """Two instances of the task's model: the old head and the new model, side by side. One
    pair per thread: a measurement loads its thetas into them, so two threads sharing a pair
    would score each other's models (an operator running several bots in threads)."""
    key = (canonical.dumps(model), manifest_hash, n_params)
    cached = getattr(_thread, "models", None)
    if cached is None or cached[0] != key:
        cached = (key, tuple(causal_lm.build(model, manifest_hash, n_params).to(_device()) for _ in range(2)))
        _thread.models = cached
    return cached[1]


def forget_models() -> None:
    """Drop this thread's model pair: the next measurement builds fresh ones, as another seat's
    process would (benchmarks.soundness checks that seats agree)."""
    _thread.models = None


class UpdateChecker:
    """Checks one seat's share of a submission against the task's current head."""

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.spec = ctx.spec
        self.v = ctx.spec.verification

    # -- the whole sequence -------------------------------------------------------------

    def check(self, sub: Published, seat: int, seed: bytes, round_: int, head_root: bytes) -> Verdict:
        """The verdict, or Unavailable (retry later). The head itself must be loadable: a node
        that cannot rebuild it raises pogo.context.HeadUnavailable, which is never a vote."""
        prev = self.ctx.model(head_root)
        try:
            diff, tree = self._fetch(sub)
            self._well_formed(sub, diff, tree)
            self._fresh_base(diff, head_root)
            theta_new = quantize.rebuild(prev, diff)
            self._commitments(sub, tree, theta_new, seat, seed, prev, [diff])
            return self._progress(sub, prev, theta_new, seed, round_)
        except Rejected as rejected:
            return rejected.verdict

    # -- 1. data availability, with the task's byte caps ------------------------------------

    def _fetch(self, sub: Published):
        try:
            try:
                diff = self.ctx.diff(sub.diff_cid)
            except FormatError as exc:
                raise Rejected(Reason.MALFORMED, f"diff: {exc}") from None
            tree = self._tree(sub.tree_cid)
            return diff, tree
        except DaemonUnreachable:
            raise  # our own IPFS node is down: never the miner's fault, never a vote
        except DataUnavailable as exc:
            raise Unavailable(str(exc)) from None

    def _tree(self, cid: str) -> BytesSource:
        try:
            return self.ctx.tree(cid)
        except FormatError as exc:  # not the size of a tree of this task
            raise Rejected(Reason.MALFORMED, f"tree file: {exc}") from None

    # -- 2. well formed -------------------------------------------------------------------

    def _well_formed(self, sub: Published, diff, tree: BytesSource) -> None:
        problems = []
        if diff is not None:
            h = diff.header
            if h.new_root != sub.new_root or h.diff_root != sub.diff_root:
                problems.append("header roots differ from the roots submitted on chain")
            # a copy shares the base, so only submissions made on that base can be its original
            earlier = [p.submission_id for p in self.ctx.log.submissions_on(self.ctx.task_id, sub.prev_root, sub.block)
                       if p.submission_id < sub.submission_id and p.diff_root == sub.diff_root]
            if earlier:
                problems.append(f"a copy of submission {earlier[0]}'s diff")
        try:
            th = treefile.read_header(tree)
            if (th.n_leaves, th.leaf_size) != (self.ctx.n_leaves, self.spec.leaf_size):
                problems.append(f"tree file has n={th.n_leaves}, L={th.leaf_size}")
            elif th.version == treefile.VERSION_LEVELS:
                treefile.read_tree(tree, th)  # its stored inner nodes too: what light clients read
        except FormatError as exc:
            problems.append(f"tree file: {exc}")
        if problems:
            raise Rejected(Reason.MALFORMED, "; ".join(problems))

    # -- 3. fresh base --------------------------------------------------------------------

    @staticmethod
    def _fresh_base(diff, head_root: bytes) -> None:
        if diff is not None and diff.header.prev_root != head_root:
            raise Rejected(Reason.STALE_BASE, f"the diff is based on 0x{diff.header.prev_root.hex()[:16]}…, "
                                              f"not the head 0x{head_root.hex()[:16]}…")

    # -- 4. commitments -------------------------------------------------------------------

    def _commitments(self, sub: Published, tree: BytesSource, theta_new: np.ndarray, seat: int, seed: bytes,
                     prev: np.ndarray, diffs: list, sources: tuple[int, ...] = ()) -> None:
        """Spot-check m leaves against the tree file (what light clients read), then the root. A
        mismatch comes with a fraud proof when the tree file commits to a wrong leaf."""
        leaf = self.spec.leaf_size
        n = theta_new.size // leaf
        proofs = treefile.prover(tree)  # read once: a version 2 file is hashed up to its root

        def mismatch(detail: str) -> Rejected:
            return Rejected(Reason.ROOT_MISMATCH, detail,
                            proof=fraudproof.build(prev, theta_new, leaf, tree, sub.new_root, diffs, sources))

        for i in seedstream.leaf_indices(seed, seat, self.v.spot_checks(), n):
            leaf_hash, proof, _ = proofs(i)
            if merkle.hash_leaf(theta_new[i * leaf:(i + 1) * leaf].tobytes()) != leaf_hash \
                    or not merkle.verify_proof(leaf_hash, i, proof, sub.new_root):
                raise mismatch(f"leaf {i} rebuilt from the diff does not prove to new_root")
        if checkpoint.model_root(theta_new, leaf) != sub.new_root:
            raise mismatch("the rebuilt model's root is not new_root")

    # -- 5-9. the loss judgment: one shared, paired, sequential measurement ------------------

    def _progress(self, sub: Published, prev: np.ndarray, theta_new: np.ndarray, seed: bytes, round_: int) -> Verdict:
        if not np.isfinite(theta_new).all():
            raise Rejected(Reason.NON_FINITE, "the new model has NaN or infinite parameters")
        shard = seedstream.shard_of(self.ctx.task_id, round_, sub.miner, self.spec.n_shards)
        m = measure(self.spec.model, self.spec.recipe.seq_len, prev, theta_new, self.ctx.shard(shard),
                    self.ctx.validation_shard(), seed, self.v.rules(), self.spec.manifest_hash, self.spec.n_params)
        if m.reason != judgment.OK:
            raise Rejected(Reason[m.reason], m.detail, m.improvement, m.windows)
        return Verdict(Reason.OK, m.improvement, m.detail, m.windows)


@dataclass(frozen=True)
class Measurement:
    reason: str               # a judgment.* verdict
    improvement: int          # micro-nats, mean paired gain on the training windows
    windows: int
    detail: str


def measure(model: dict, block: int, prev: np.ndarray, theta_new: np.ndarray, train_tokens: np.ndarray,
            val_tokens: np.ndarray, seed: bytes, rules: judgment.Rules, manifest_hash: str | None = None,
            n_params: int | None = None) -> Measurement:
    """The paired sequential measurement of section 6 on the submission's shared windows.

    Deterministic given its inputs: every honest seat on the same hardware gets the same
    numbers, and hardware differences move them by float rounding only."""
    net_prev, net_new = _models(model, manifest_hash, n_params)
    manifest.load_into(net_prev, prev)
    manifest.load_into(net_new, theta_new)
    device = _device()

    def gain(lp: np.ndarray, ln: np.ndarray, last_look: bool) -> tuple[str | None, judgment.Evidence]:
        ev = judgment.Evidence.paired(lp, ln)
        return judgment.judge_gain(ev, rules, last_look), ev

    verdict, ev = _in_looks(net_prev, net_new, train_tokens, seedstream.TRAIN_BATCH, seed, block, rules, device, gain)
    mean = round(ev.mean) if ev.finite else 0
    detail = f"paired gain {mean} ± {ev.se:.0f} micro-nats over {ev.n} windows (threshold {rules.threshold:.0f})"
    if verdict != judgment.OK:
        return Measurement(verdict, mean, ev.n, detail)
    val_at = seedstream.batch_offsets(seed, seedstream.VAL_BATCH, SHARED_SEAT, ev.n, len(val_tokens), block)
    rise = judgment.Evidence.paired(window_losses(net_new, val_tokens, val_at, block, device),
                                    window_losses(net_prev, val_tokens, val_at, block, device))
    verdict = judgment.judge_validation(rise, rules)
    if verdict != judgment.OK:
        return Measurement(verdict, mean, ev.n, f"validation loss rose {rise.mean:.0f} ± {rise.se:.0f} micro-nats")
    return Measurement(judgment.OK, mean, ev.n, detail)


def _in_looks(net_prev, net_new, tokens: np.ndarray, tag: str, seed: bytes, block: int, rules: judgment.Rules,
              device: torch.device, decide) -> tuple[str, judgment.Evidence]:
    """Score both models on the submission's shared windows of ``tag``, in the rules' looks (64,
    128, ... windows), until ``decide(losses_prev, losses_new, last_look)`` gives a verdict: the
    sequential part of section 6 that an update's and an aggregate's judgments share."""
    lp, ln = np.zeros(0), np.zeros(0)
    looks = rules.looks()
    for n in looks:
        more = seedstream.batch_offsets(seed, tag, SHARED_SEAT, n, len(tokens), block, start=lp.size)
        lp = np.concatenate([lp, window_losses(net_prev, tokens, more, block, device)])
        ln = np.concatenate([ln, window_losses(net_new, tokens, more, block, device)])
        verdict, evidence = decide(lp, ln, n == looks[-1])
        if verdict is not None:
            return verdict, evidence
    raise AssertionError("the last look always decides")


def measure_aggregate(model: dict, block: int, prev: np.ndarray, theta_new: np.ndarray, val_tokens: np.ndarray,
                      seed: bytes, rules: judgment.Rules, manifest_hash: str | None = None,
                      n_params: int | None = None) -> Measurement:
    """The aggregate's loss check (PROTOCOL.md D15): the paired rise of the validation loss from
    the head to the aggregate, on the submission's shared validation windows, in looks."""
    net_prev, net_new = _models(model, manifest_hash, n_params)
    manifest.load_into(net_prev, prev)
    manifest.load_into(net_new, theta_new)

    def harm(lp: np.ndarray, ln: np.ndarray, last_look: bool) -> tuple[str | None, judgment.Evidence]:
        rise = judgment.Evidence.paired(ln, lp)  # positive when the aggregate raised the loss
        return judgment.judge_aggregate(rise, rules, last_look), rise

    verdict, rise = _in_looks(net_prev, net_new, val_tokens, seedstream.VAL_BATCH, seed, block, rules, _device(), harm)
    detail = (f"validation loss rose {rise.mean:.0f} ± {rise.se:.0f} micro-nats over {rise.n} windows "
              f"(harm margin {rules.harm_margin:.0f})")
    gain = -round(rise.mean) if rise.finite else 0
    return Measurement(verdict, gain, rise.n, detail)


class AggregateChecker(UpdateChecker):
    """An aggregate is checked like an update, steps 1-4: it must be exactly the average, and
    its snapshot checkpoint exactly that model (newcomers start from it). Then its loss check
    (D15): an exact average that clearly harms the validation loss is refused, not slashed."""

    def check_aggregate(self, sub: Published, seat: int, seed: bytes, round_: int, head_root: bytes) -> Verdict:
        prev = self.ctx.model(head_root)
        try:
            try:
                tree = self._tree(sub.tree_cid)
                snapshot = self.ctx.fetch_exact(sub.checkpoint_cid, self.ctx.checkpoint_bytes, "snapshot")
                sources, diffs = self.ctx.round_updates(round_)
            except DaemonUnreachable:
                raise
            except DataUnavailable as exc:
                raise Unavailable(str(exc)) from None
            except FormatError as exc:
                raise Rejected(Reason.MALFORMED, str(exc)) from None
            self._well_formed(sub, None, tree)
            if sub.prev_root != head_root:
                raise Rejected(Reason.STALE_BASE, "the aggregate is not based on the head")
            if aggregate.sources_root([p.diff_root for p in sources]) != sub.diff_root:
                raise Rejected(Reason.MALFORMED, "diff_root does not name the round's accepted updates")
            expected = aggregate.aggregate(prev, diffs)
            self._commitments(sub, tree, expected, seat, seed, prev, diffs, tuple(p.submission_id for p in sources))
            if snapshot != expected.tobytes():
                raise Rejected(Reason.ROOT_MISMATCH, "the snapshot checkpoint is not the exact average")
            m = measure_aggregate(self.spec.model, self.spec.recipe.seq_len, prev, expected, self.ctx.validation_shard(),
                                  seed, self.v.rules(), self.spec.manifest_hash, self.spec.n_params)
            if m.reason != judgment.OK:
                raise Rejected(Reason[m.reason], f"the exact average harms: {m.detail}", m.improvement, m.windows)
        except Rejected as rejected:
            return rejected.verdict
        return Verdict(Reason.OK, m.improvement, f"the aggregate is the exact average; {m.detail}", m.windows)
