"""The miner loop: sync the head, train K steps on the assigned shard, quantize with error
feedback, publish the diff and its tree to IPFS (never a checkpoint: the new model is the head
plus the diff), commit to the roots in the round's commit window, reveal them once it has
closed (so nobody can copy them first), and later claim the reward. A miner whose free stake no
longer covers the task's bond says so and submits nothing until it stakes more.

Every phase is recorded in ``WORKDIR/miner.json`` before the next begins, and artifacts are
written whole or not at all, so a miner killed at any point resumes where it stopped: a built
update is not trained again, an uploaded one not rebuilt, a committed one revealed with the salt
it was committed with (kept in the state file before the commitment is sent).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from pogo import progress as bars
from pogo.context import Context
from pogo.model import quantize
from pogo.net.chain import ChainError
from pogo.net.contract import Status
from pogo.protocol import commitment, difffile, seedstream, treefile
from pogo.protocol.atomicfile import write_bytes_atomic

# The share of its residual a miner carries into its next round (error feedback, PROTOCOL.md D13;
# the miner's choice). Below 1 the miner's model is pulled back toward the shared head each round:
# measured on the demo task (docs/DENSITY.md), 0.75 narrows the gap to dense at 6.25 % density
# from +7.1 % to +4.0 % (three seeds) and changes nothing beyond the seeds' spread at 18.75 % and 25 %.
RESIDUAL_DECAY = 0.75


@dataclass
class Built:
    """The artifacts of one update, ready to publish."""

    diff: bytes
    tree: bytes
    prev_root: bytes
    new_root: bytes
    diff_root: bytes
    residual: np.ndarray | None = None
    withhold: bool = False   # a cheat that never publishes its data (tests, demo)

    @classmethod
    def of(cls, q: difffile.Quantized, leaf_size: int) -> Built:
        h = q.diff.header
        return cls(q.diff.encode(), treefile.encode(q.new_tree, leaf_size), h.prev_root, h.new_root, h.diff_root,
                   q.residual)


def build_honest(prev_padded: np.ndarray, raw: np.ndarray, prev_root: bytes, leaf_size: int, groups: int = 0) -> Built:
    """The honest update in the task's format (``groups``: the sparse k, 0 dense): on a GPU when
    there is one (pogo.model.quantize, bit-identical), else numpy."""
    device = quantize.accelerator()
    if device is not None:
        return Built.of(quantize.make_diff(prev_padded[: raw.size], raw, leaf_size, prev_root, device, groups), leaf_size)
    return Built.of(difffile.make_diff(prev_padded[: raw.size], raw, leaf_size, prev_root, groups), leaf_size)


Builder = Callable[..., Built]  # (prev_padded, raw, prev_root, leaf_size, groups=0) -> Built


@dataclass
class MinerState:
    round: int = -1
    phase: str = "idle"            # idle -> built -> uploaded -> committing -> committed -> submitted
    head_root: str = ""
    submission_id: int = 0
    cids: dict = field(default_factory=dict)
    salt: str = ""                 # the commitment's secret, until the reveal
    roots: dict = field(default_factory=dict)
    losses: list = field(default_factory=list)
    claimed: list = field(default_factory=list)
    timings: dict = field(default_factory=dict)
    # this miner's revealed updates whose reward is not settled yet, across rounds; None: not
    # known (a state file from before this list, or a crash that hid a reveal), found by one scan
    unclaimed: list | None = None


@dataclass
class RoundReport:
    round: int
    submission_id: int
    shard: int
    train_loss_first: float
    train_loss_last: float
    timings: dict


class Miner:
    def __init__(self, ctx: Context, trainer, builder: Builder = build_honest,
                 progress: Callable[[str], None] = lambda _: None, residual_decay: float = RESIDUAL_DECAY):
        if not 0 <= residual_decay <= 1:
            raise ValueError(f"the residual decay is a share from 0 to 1, not {residual_decay}")
        self.ctx, self.trainer, self.builder, self.progress = ctx, trainer, builder, progress
        self.residual_decay = residual_decay
        self._bar: tqdm | None = None
        self._wait = bars.BlockWait()  # the blocks until the round moves on, on a terminal
        self.address = ctx.pogo.client.address
        self.state_path = ctx.workdir / "miner.json"
        self.residual_path = residual_path(ctx)
        self.state = self._load()

    # -- state ------------------------------------------------------------------------

    def _load(self) -> MinerState:
        if self.state_path.exists():
            return MinerState(**json.loads(self.state_path.read_text()))
        return MinerState()

    def _save(self) -> None:
        write_bytes_atomic(self.state_path, json.dumps(asdict(self.state), indent=1).encode())

    def _round_dir(self, round_: int) -> Path:
        d = self.ctx.workdir / f"round-{round_}"
        d.mkdir(parents=True, exist_ok=True)
        return d

    # -- one round --------------------------------------------------------------------

    def work(self) -> RoundReport | None:
        """Do this round's work, resuming whatever a crash interrupted; returns the report once
        the update is revealed, None while there is nothing (more) to do."""
        task = self.ctx.pogo.task(self.ctx.task_id)
        if task.aggregating:
            return None
        head_root = task.head_root
        if self.state.round != task.round or self.state.head_root != head_root.hex():
            self.state = MinerState(round=task.round, head_root=head_root.hex(), unclaimed=self.state.unclaimed)
            self._save()
        latest = self.ctx.pogo.w3.eth.block_number
        commit_end = task.round_start + task.params.round_blocks
        if self.state.phase in ("committing", "committed"):
            return self._reveal(task, latest, commit_end)
        if latest + 1 >= commit_end:
            # The commit window has passed: close the round if everything is final (anyone may),
            # then work on the next one; otherwise wait for the reveals and the verifiers.
            if task.open == 0 and latest >= commit_end + task.params.vote_blocks:
                try:
                    self.ctx.pogo.close_round(self.ctx.task_id)
                except ChainError as exc:
                    if exc.name not in ("RoundStillOpen", "WindowOpen"):
                        raise
            self._wait.show(f"round {task.round}: reveals and votes", latest, commit_end + task.params.vote_blocks)
            return None
        if self.state.phase == "submitted":
            return None
        if self.state.phase == "idle" and not self._can_bond(task):
            return None
        shard = seedstream.shard_of(self.ctx.task_id, task.round, self.address, self.ctx.spec.n_shards)
        d = self._round_dir(task.round)
        leaf = self.ctx.spec.leaf_size
        timings = self.state.timings

        if self.state.phase == "idle":
            start = time.perf_counter()
            job = self.trainer.share_job({"root": head_root.hex(), "shard": shard, "decay": self.residual_decay})
            prev, losses, raw = run_job(self.ctx, self.trainer, job, self._train_progress)
            timings["train_s"] = time.perf_counter() - start
            start = time.perf_counter()
            built = self.builder(prev, raw, head_root, leaf, groups=self.ctx.spec.sparse_groups)
            timings["quantize_hash_s"] = time.perf_counter() - start
            for name in ("diff", "tree"):
                write_bytes_atomic(d / name, getattr(built, name))
            if built.residual is not None:
                np.save(d / "residual.npy", built.residual)
            self.state.roots = {"prev": built.prev_root.hex(), "new": built.new_root.hex(),
                                "diff": built.diff_root.hex(), "withhold": built.withhold}
            self.state.losses = [losses[0], losses[-1]]
            self.state.phase = "built"
            self._save()

        if self.state.phase == "built":
            start = time.perf_counter()
            if self.state.roots.get("withhold"):
                # Publish nothing: CIDs of data that no node holds.
                self.state.cids = {n: unpublished_cid((d / n).read_bytes()) for n in ("diff", "tree")}
            else:
                self.state.cids = {n: self.ctx.ipfs.add_file(d / n) for n in ("diff", "tree")}
                self.ctx.remember_diff(self.state.cids["diff"], (d / "diff").read_bytes())
            timings["upload_s"] = time.perf_counter() - start
            self.state.phase = "uploaded"
            self._save()

        if self.state.phase == "uploaded":
            # The salt is on disk before the commitment leaves: a crash between the two still
            # reveals. A commitment in the window replaces an earlier one, so sending it again is safe.
            start = time.perf_counter()
            r = self.state.roots
            self.state.salt = commitment.new_salt().hex()
            self.state.phase = "committing"
            self._save()
            try:
                self.ctx.pogo.commit_update(self.ctx.task_id, commitment.update_commitment(
                    self.ctx.task_id, task.round, self.address, head_root, bytes.fromhex(r["new"]),
                    bytes.fromhex(r["diff"]), bytes.fromhex(self.state.salt)))
            except ChainError as exc:
                if exc.name in ("WindowClosed", "Aggregating", "TaskIsEnded", "Reverted"):
                    self.progress(f"the commitment was refused ({exc}); training again next round")
                    self.state.phase = "submitted"  # nothing more this round
                    self._save()
                    return None
                raise
            timings["submit_tx_s"] = time.perf_counter() - start
            self.state.phase = "committed"
            self._save()
            self.progress(f"committed to update of round {task.round} (shard {shard}); "
                          f"revealing from block {commit_end}")
        return None

    def _reveal(self, task, latest: int, commit_end: int) -> RoundReport | None:
        """Reveal the committed update once the commit window has closed."""
        if self.state.phase == "committing":
            # A crash may have come before or after the commitment went out: look on chain.
            key = commitment.update_key(self.ctx.task_id, self.address)
            if self.ctx.pogo.contract.functions.updateCommitments(key).call() != self._commitment(task):
                if latest + 1 >= commit_end:
                    return self._give_up("the round's commit window closed before the commitment was in")
                self.state.phase = "uploaded"
                self._save()
                return self.work()
            self.state.phase = "committed"
            self._save()
        if latest < commit_end:
            self._wait.show(f"round {task.round}: committed, reveal", latest, commit_end)
            return None
        if latest >= commit_end + task.params.vote_blocks:
            return self._give_up("the reveal window closed before the update was revealed")
        start = time.perf_counter()
        r = self.state.roots
        try:
            sid, _ = self.ctx.pogo.reveal_update(
                self.ctx.task_id, task.head_root, bytes.fromhex(r["new"]), bytes.fromhex(r["diff"]),
                bytes.fromhex(self.state.salt), self.state.cids["diff"], self.state.cids["tree"],
                int(self.state.losses[0] * 1e6), int(self.state.losses[1] * 1e6))
        except ChainError as exc:
            if exc.name == "AlreadySubmitted":
                # A crash after the reveal landed: the diff is out, so its residual carries forward
                # (keeping the old one would send again what this diff already carried), and its
                # id, unknown here, is found by the next claim's scan.
                self._carry_residual(task.round)
                self.state.unclaimed = None
            if exc.name in ("InsufficientFreeStake", "StaleBase", "Aggregating", "AlreadySubmitted", "WindowClosed",
                            "BadReveal", "TaskIsEnded"):
                return self._give_up(f"the update was refused ({exc})")
            raise
        timings = self.state.timings
        timings["submit_tx_s"] = timings.get("submit_tx_s", 0.0) + time.perf_counter() - start
        self.state.submission_id = sid
        self.state.phase = "submitted"
        if self.state.unclaimed is not None:
            self.state.unclaimed.append(sid)
        self._carry_residual(task.round)
        self._save()
        shard = seedstream.shard_of(self.ctx.task_id, task.round, self.address, self.ctx.spec.n_shards)
        self.progress(f"submitted update {sid} for round {task.round} (shard {shard})")
        return RoundReport(task.round, sid, shard, self.state.losses[0], self.state.losses[1], dict(timings))

    def _carry_residual(self, round_: int) -> None:
        """The residual carries forward once its diff is out (error feedback, PROTOCOL.md D13)."""
        made = self._round_dir(round_) / "residual.npy"
        if made.exists():
            write_bytes_atomic(self.residual_path, made.read_bytes())

    def _commitment(self, task) -> bytes:
        r = self.state.roots
        return commitment.update_commitment(self.ctx.task_id, task.round, self.address, task.head_root,
                                            bytes.fromhex(r["new"]), bytes.fromhex(r["diff"]),
                                            bytes.fromhex(self.state.salt))

    def _give_up(self, why: str) -> None:
        self.progress(f"{why}; trying again next round")
        self.state.phase = "submitted"  # nothing more this round
        self._save()

    def _can_bond(self, task) -> bool:
        """Whether free stake covers the task's bond; says once a round when it does not."""
        account = self.ctx.pogo.account(self.address)
        free, bond = account["free"], task.params.miner_bond
        if free >= bond:
            return True
        if self.state.timings.get("warned_stake") != task.round:
            self.progress(f"free stake {free / 1e18:.4f} ETH is below the task's bond {bond / 1e18:.4f} ETH: "
                          "not submitting; add stake with `pogo miner stake --amount ETH`")
            self.state.timings["warned_stake"] = task.round
            self._save()
        return False

    def _train_progress(self, step: int, steps: int, loss: float) -> None:
        """A progress bar on a terminal, a line a quarter otherwise."""
        if step == 1:
            self._bar = bars.bar(steps, "training", unit="step")
        shown = bars.shown(self._bar)
        if self._bar is not None:
            self._bar.update(1)
            self._bar.set_postfix(loss=f"{loss:.3f}", refresh=False)
            if step == steps:
                self._bar.close()
                self._bar = None
        if step == steps or (not shown and step % max(1, steps // 4) == 0):
            self.progress(f"step {step}/{steps} loss {loss:.3f}")

    # -- after the vote ---------------------------------------------------------------

    def claim(self) -> int:
        """Claim the rewards of this miner's accepted updates whose rounds have closed. It
        follows its own updates, so a poll costs the same in a task's thousandth round as in
        its first (scanning the task's history instead grew with every round)."""
        if self.state.unclaimed is None:
            self.state.unclaimed = own_updates(self.ctx, self.address)
        total = 0
        for sid in list(self.state.unclaimed):
            amount = claim_reward(self.ctx, sid)
            if amount is None:
                continue  # undecided, or its round is open
            total += amount
            self.state.unclaimed.remove(sid)
            if amount:
                self.state.claimed.append(sid)
            self._save()
        return total


def own_updates(ctx: Context, address: str) -> list[int]:
    """The ids of ``address``'s updates to the task, found by scanning its history."""
    return [p.submission_id for p in ctx.log.submissions(ctx.task_id) if p.miner == address and p.kind == 0]


def claim_reward(ctx: Context, sid: int) -> int | None:
    """Claim submission ``sid``'s reward: the amount paid, 0 when there is nothing to claim (not
    accepted, or claimed already, by this process or another on the key), or None while the
    vote or the round is still open."""
    s = ctx.pogo.submission(sid)
    if s.status in (Status.PENDING, Status.VOTING):
        return None
    if s.status != Status.ACCEPTED or s.reward_claimed:
        return 0
    try:
        receipt = ctx.pogo.claim_reward(sid)
    except ChainError as exc:
        if exc.name == "RoundNotClosed":
            return None
        if exc.name == "NothingToClaim":
            return 0
        raise
    return ctx.pogo.events(receipt, "Rewarded")[0]["amount"]


def claim_rewards(ctx: Context, address: str) -> Iterator[tuple[int, int | None]]:
    """Claim, one by one, the rewards of ``address``'s accepted updates to the task, found by
    scanning its history (for a miner that stopped): yields each (submission id, amount), or
    (id, None) while its round has not closed."""
    for sid in own_updates(ctx, address):
        if ctx.pogo.submission(sid).status != Status.ACCEPTED:
            continue
        amount = claim_reward(ctx, sid)
        if amount != 0:
            yield sid, amount


def run_job(ctx: Context, trainer, job: dict, progress=None) -> tuple[np.ndarray, list[float], np.ndarray]:
    """Train one round's job (on every rank): load the head, K steps on the shard, full fp32 back.

    Error feedback (the miner's choice, PROTOCOL.md D13): training starts from the head plus the
    share ``job["decay"]`` of what this miner's earlier diffs left out (``residual.npy`` in its
    workdir, which every rank of a launcher job shares), so the update carries that remainder
    without learning it again. Adding the remainder after training instead counts it twice and,
    measured (docs/DENSITY.md), makes the head jump: the loss rose 1.8 nats in one round at 6 %
    density."""
    prev = ctx.model(bytes.fromhex(job["root"]))
    tokens = ctx.shard(job["shard"])
    start = prev
    path = residual_path(ctx)
    if path.exists():
        residual = np.load(path)
        if residual.shape == prev.shape:  # anything else is not this task's: never add it
            start = (prev + np.float32(job["decay"]) * residual).astype(np.float32)
    trainer.load(start[: ctx.spec.n_params])
    losses = trainer.train(tokens, progress=progress)
    return prev, losses, trainer.theta()  # under ZeRO-3 a collective: every rank gathers


def residual_path(ctx: Context) -> Path:
    """Where a miner keeps what its diffs left out: per task, as a workdir may serve several."""
    return ctx.workdir / f"residual-task{ctx.task_id}.npy"


def follow(ctx: Context, trainer) -> int:
    """The loop of ranks other than 0 under the DeepSpeed launcher: train each job rank 0
    shares, until it shares None. Only rank 0 quantizes, publishes and submits."""
    jobs = 0
    while (job := trainer.share_job(None)) is not None:
        run_job(ctx, trainer, job)
        jobs += 1
    return jobs


def unpublished_cid(data: bytes) -> str:
    """The CIDv0 that ``data`` would have as one raw block, without adding it anywhere."""
    import hashlib

    import base58

    return base58.b58encode(b"\x12\x20" + hashlib.sha256(b"withheld:" + data).digest()).decode()
