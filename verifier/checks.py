"""What a verifier checks (PROTOCOL.md section 6), in order, stopping at the first failure.

1 DATA_UNAVAILABLE  2 MALFORMED  3 STALE_BASE  4 ROOT_MISMATCH  5 NO_PROGRESS  6 OVERFIT
7 approve, with the measured improvement in micro-nats.

The commitment checks (2-4) are exact; the loss checks (5-6) allow the task's tolerance.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from pogo.context import Context
from pogo.errors import FormatError
from pogo.model import manifest
from pogo.model.gpt import GPT, GPTConfig
from pogo.model.loss import evaluate
from pogo.net.contract import Reason
from pogo.net.events import Published
from pogo.net.ipfs import DataUnavailable, IpfsSource
from pogo.protocol import aggregate, checkpoint, difffile, merkle, seedstream, treefile
from pogo.protocol.source import BytesSource


@dataclass(frozen=True)
class Verdict:
    reason: Reason
    improvement: int = 0      # micro-nats, measured on this seat's windows of the assigned shard
    detail: str = ""

    @property
    def approve(self) -> bool:
        return self.reason == Reason.OK


class Rejected(Exception):
    def __init__(self, reason: Reason, detail: str):
        super().__init__(detail)
        self.verdict = Verdict(reason, 0, detail)


def _device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@lru_cache(maxsize=4)
def _model(cfg_items: tuple) -> GPT:
    return GPT(GPTConfig(**dict(cfg_items))).to(_device())


class UpdateChecker:
    """Checks one seat's share of a submission against the task's current head."""

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.spec = ctx.spec
        self.v = ctx.spec.verification

    # -- the whole sequence -------------------------------------------------------------

    def check(self, sub: Published, seat: int, seed: bytes, round_: int, head: tuple[bytes, str, str]) -> Verdict:
        try:
            diff, tree_src, ckpt_src, prev = self._fetch(sub, head)
            self._well_formed(sub, diff, tree_src, ckpt_src)
            self._fresh_base(diff, head[0])
            theta_new = self._commitments(sub, diff, tree_src, ckpt_src, prev, seat, seed)
            if sub.kind != 0:
                raise RuntimeError("aggregates are checked by AggregateChecker")
            improvement = self._progress(sub, prev, theta_new, seat, seed, round_)
        except Rejected as rejected:
            return rejected.verdict
        return Verdict(Reason.OK, improvement, "all checks passed")

    # -- 1. data availability -------------------------------------------------------------

    def _fetch(self, sub: Published, head: tuple[bytes, str, str]):
        timeout = self.v.fetch_timeout_s
        try:
            raw = self.ctx.ipfs.cat(sub.diff_cid, timeout=timeout) if sub.diff_cid else b""
            tree_src = IpfsSource(self.ctx.ipfs, sub.tree_cid)
            ckpt_src = IpfsSource(self.ctx.ipfs, sub.checkpoint_cid)
            tree_src.size(), ckpt_src.size()
        except DataUnavailable as exc:
            raise Rejected(Reason.DATA_UNAVAILABLE, str(exc)) from None
        prev = self.ctx.checkpoint(head[0], head[1])  # the head itself was verified when it was accepted
        if sub.kind != 0:
            return None, tree_src, ckpt_src, prev
        try:
            return difffile.read(BytesSource(raw, sub.diff_cid)), tree_src, ckpt_src, prev
        except FormatError as exc:
            raise Rejected(Reason.MALFORMED, f"diff: {exc}") from None

    # -- 2. well formed -------------------------------------------------------------------

    def _well_formed(self, sub: Published, diff, tree_src: IpfsSource, ckpt_src: IpfsSource) -> None:
        leaf, n_params = self.spec.leaf_size, self.spec.n_params
        n = checkpoint.n_leaves(n_params, leaf)
        problems = []
        if diff is not None:
            h = diff.header
            if (h.n_params, h.leaf_size) != (n_params, leaf):
                problems.append(f"header P={h.n_params}, L={h.leaf_size}; the task says P={n_params}, L={leaf}")
            if h.new_root != sub.new_root or h.diff_root != sub.diff_root:
                problems.append("header roots differ from the roots submitted on chain")
            earlier = [p.submission_id for p in self.ctx.log.submissions(self.ctx.task_id, to_block=sub.block)
                       if p.submission_id < sub.submission_id and p.diff_root == sub.diff_root
                       and p.prev_root == sub.prev_root]
            if earlier:
                problems.append(f"a copy of submission {earlier[0]}'s diff")
        try:
            th = treefile.read_header(tree_src)
            if (th.n_leaves, th.leaf_size) != (n, leaf):
                problems.append(f"tree file has n={th.n_leaves}, L={th.leaf_size}")
        except FormatError as exc:
            problems.append(f"tree file: {exc}")
        if ckpt_src.size() != 4 * n * leaf:
            problems.append(f"checkpoint is {ckpt_src.size()} bytes, not {4 * n * leaf}")
        if problems:
            raise Rejected(Reason.MALFORMED, "; ".join(problems))

    # -- 3. fresh base --------------------------------------------------------------------

    @staticmethod
    def _fresh_base(diff, head_root: bytes) -> None:
        if diff is not None and diff.header.prev_root != head_root:
            raise Rejected(Reason.STALE_BASE, f"the diff is based on 0x{diff.header.prev_root.hex()[:16]}…, "
                                              f"not the head 0x{head_root.hex()[:16]}…")

    # -- 4. commitments -------------------------------------------------------------------

    def _commitments(self, sub: Published, diff, tree_src, ckpt_src, prev: np.ndarray, seat: int,
                     seed: bytes, theta_new: np.ndarray | None = None) -> np.ndarray:
        """Spot-check m leaves against the tree and checkpoint files, then rebuild it all."""
        leaf = self.spec.leaf_size
        if theta_new is None:
            theta_new = diff.apply(prev)
        n = theta_new.size // leaf
        indices = seedstream.leaf_indices(seed, seat, self.v.spot_checks(), n)
        if 2 * len(indices) >= n:
            # Checking most leaves: two whole downloads beat thousands of ranged reads.
            tree_src = BytesSource(tree_src.read(0, tree_src.size()), sub.tree_cid)
            ckpt_src = BytesSource(ckpt_src.read(0, ckpt_src.size()), sub.checkpoint_cid)
        header = treefile.read_header(tree_src)
        for i in indices:
            new_leaf = theta_new[i * leaf:(i + 1) * leaf]
            leaf_hash, proof, _ = treefile.read_proof(tree_src, i, header)
            if merkle.hash_leaf(new_leaf.tobytes()) != leaf_hash or not merkle.verify_proof(leaf_hash, i, proof, sub.new_root):
                raise Rejected(Reason.ROOT_MISMATCH, f"leaf {i} rebuilt from the diff does not prove to new_root")
            if ckpt_src.read(4 * i * leaf, 4 * leaf) != new_leaf.tobytes():
                raise Rejected(Reason.ROOT_MISMATCH, f"leaf {i} of the published checkpoint is not the rebuilt leaf")
        if checkpoint.model_root(theta_new, leaf) != sub.new_root:
            raise Rejected(Reason.ROOT_MISMATCH, "the rebuilt model's root is not new_root")
        return theta_new

    # -- 5, 6. progress -------------------------------------------------------------------

    def _progress(self, sub: Published, prev: np.ndarray, theta_new: np.ndarray, seat: int, seed: bytes,
                  round_: int) -> int:
        cfg = self.spec.model
        net = _model(tuple(sorted(cfg.items())))
        block = cfg["block_size"]
        shard = seedstream.shard_of(self.ctx.task_id, round_, sub.miner, self.spec.n_shards)
        train_tokens, val_tokens = self.ctx.shard(shard), self.ctx.validation_shard()
        windows = self.v.eval_windows
        train_at = seedstream.batch_offsets(seed, seedstream.TRAIN_BATCH, seat, windows, len(train_tokens), block)
        val_at = seedstream.batch_offsets(seed, seedstream.VAL_BATCH, seat, windows, len(val_tokens), block)
        losses = {}
        for name, theta in (("prev", prev), ("new", theta_new)):
            manifest.load_into(net, theta)
            losses[name] = (evaluate(net, train_tokens, train_at, _device()), evaluate(net, val_tokens, val_at, _device()))
        improvement = int(round((losses["prev"][0] - losses["new"][0]) * 1e6))
        rise = int(round((losses["new"][1] - losses["prev"][1]) * 1e6))
        if improvement < self.v.min_improvement - self.v.loss_tolerance:
            raise Rejected(Reason.NO_PROGRESS, f"loss on the assigned windows fell {improvement} micro-nats; "
                                               f"the task asks {self.v.min_improvement}")
        if rise > self.v.max_validation_rise + self.v.loss_tolerance:
            raise Rejected(Reason.OVERFIT, f"validation loss rose {rise} micro-nats")
        return improvement


class AggregateChecker(UpdateChecker):
    """An aggregate is checked like an update, steps 1-4: it must be exactly the average."""

    def check_aggregate(self, sub: Published, seat: int, seed: bytes, round_: int,
                        head: tuple[bytes, str, str]) -> Verdict:
        try:
            _, tree_src, ckpt_src, prev = self._fetch(sub, head)
            self._well_formed(sub, None, tree_src, ckpt_src)
            if sub.prev_root != head[0]:
                raise Rejected(Reason.STALE_BASE, "the aggregate is not based on the head")
            sources = self.ctx.log.accepted_updates(self.ctx.task_id, round_)
            if aggregate.sources_root([p.diff_root for p in sources]) != sub.diff_root:
                raise Rejected(Reason.MALFORMED, "diff_root does not name the round's accepted updates")
            diffs = []
            for p in sources:
                try:
                    diffs.append(difffile.read(BytesSource(self.ctx.ipfs.cat(p.diff_cid, timeout=self.v.fetch_timeout_s))))
                except DataUnavailable as exc:
                    raise Rejected(Reason.DATA_UNAVAILABLE, str(exc)) from None
            expected = aggregate.aggregate(prev, diffs)
            self._commitments(sub, None, tree_src, ckpt_src, prev, seat, seed, theta_new=expected)
        except Rejected as rejected:
            return rejected.verdict
        return Verdict(Reason.OK, 0, "the aggregate is the exact average")
