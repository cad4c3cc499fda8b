"""The verifier bot: one pass of ``poll()`` moves every submission of its task that it can:
draw committees whose seed block exists, check and vote on its own seats, finalize decided
submissions, settle its seats, close rounds, and propose the aggregate when a round waits
for one. Every step is open to anyone on chain, so bots never wait on each other.

The last block it has scanned and the seats it has voted are kept in ``WORKDIR/verifier.json``,
so a restarted bot neither votes twice nor misses a submission.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

from pogo.context import Context
from pogo.net.chain import ChainError
from pogo.net.contract import Status
from pogo.protocol import aggregate, difffile
from pogo.protocol.atomicfile import write_bytes_atomic
from pogo.protocol.source import BytesSource
from verifier.checks import AggregateChecker, Verdict

FINAL = (Status.ACCEPTED, Status.REJECTED, Status.EXPIRED)
SEED_HORIZON = 256  # blockhash() reaches back this far (PoGO.sol)


@dataclass
class BotState:
    scanned_to: int = 0
    open: list = field(default_factory=list)        # submission ids not yet final
    voted: dict = field(default_factory=dict)       # submission id -> verdict
    settled: list = field(default_factory=list)


@dataclass(frozen=True)
class Vote:
    submission_id: int
    seat: int
    verdict: Verdict
    seconds: float
    gas: int


class VerifierBot:
    def __init__(self, ctx: Context, progress: Callable[[str], None] = lambda _: None, aggregator: bool = True):
        self.ctx, self.progress, self.aggregator = ctx, progress, aggregator
        self.pogo = ctx.pogo
        self.address = ctx.pogo.client.address
        self.checker = AggregateChecker(ctx)
        self.state_path = ctx.workdir / "verifier.json"
        self.state = BotState(**json.loads(self.state_path.read_text())) if self.state_path.exists() else BotState()
        self.votes: list[Vote] = []

    def _save(self) -> None:
        write_bytes_atomic(self.state_path, json.dumps(asdict(self.state), indent=1).encode())

    def poll(self) -> list[Vote]:
        """One pass over the chain; returns the votes cast."""
        self.votes = []
        latest = self.ctx.pogo.w3.eth.block_number
        if self.state.scanned_to <= latest:
            for p in self.ctx.log.submissions(self.ctx.task_id, from_block=self.state.scanned_to, to_block=latest):
                if p.submission_id not in self.state.open:
                    self.state.open.append(p.submission_id)
        self.state.scanned_to = latest + 1
        self._save()
        for sid in list(self.state.open):
            self._advance(sid, latest)
        self._advance_round()
        return self.votes

    # -- one submission ------------------------------------------------------------------

    def _advance(self, sid: int, latest: int) -> None:
        s = self.pogo.submission(sid)
        if s.status == Status.PENDING and latest >= s.submit_block + 2:
            if latest > s.submit_block + 1 + SEED_HORIZON:
                self._try(self.pogo.finalize, sid)  # nobody drew it in time: it expires
            else:
                self._try(self.pogo.draw_committee, sid)
            s = self.pogo.submission(sid)
        if s.status == Status.VOTING:
            seat = self.pogo.contract.functions.seatOf(sid, self.address).call() - 1
            if seat >= 0 and str(sid) not in self.state.voted and latest <= s.vote_deadline:
                self._vote(sid, seat, s)
            if self._decided(s):
                self._try(self.pogo.finalize, sid)
                s = self.pogo.submission(sid)
        if s.status in FINAL:
            seat = self.pogo.contract.functions.seatOf(sid, self.address).call() - 1
            if seat >= 0 and sid not in self.state.settled:
                self._try(self.pogo.settle_seat, sid, seat)
                self.state.settled.append(sid)
            self.state.open.remove(sid)
            self._save()

    def _decided(self, s) -> bool:
        s = self.pogo.submission(s.id)
        size = self.pogo.task(self.ctx.task_id).params.committee_size
        quorum = 2 * ((size - 1) // 3) + 1  # the contract's PBFT quorum, 2f + 1 of 3f + 1
        return s.approvals >= quorum or s.rejections >= quorum or self.pogo.w3.eth.block_number > s.vote_deadline

    def _vote(self, sid: int, seat: int, s) -> None:
        start = time.perf_counter()
        p = self.ctx.log.submission(sid)
        head = self.ctx.head()
        task = self.pogo.task(self.ctx.task_id)
        if p.kind == 0:
            verdict = self.checker.check(p, seat, s.seed, task.round, head)
        else:
            verdict = self.checker.check_aggregate(p, seat, s.seed, task.round, head)
        seconds = time.perf_counter() - start
        receipt = self._try(self.pogo.attest, sid, verdict.approve, verdict.improvement, verdict.reason)
        self.state.voted[str(sid)] = {"reason": verdict.reason.name, "improvement": verdict.improvement}
        self._save()
        gas = receipt["gasUsed"] if receipt else 0
        self.votes.append(Vote(sid, seat, verdict, seconds, gas))
        self.progress(f"seat {seat} of update {sid}: {verdict.reason.name} {verdict.detail}")

    # -- the round -----------------------------------------------------------------------

    def _advance_round(self) -> None:
        task = self.pogo.task(self.ctx.task_id)
        if task.open > 0:
            return
        if task.aggregating and self.aggregator:
            # Propose before anything else: closing an aggregating round whose window has
            # passed would give up on this round's average.
            self.propose_aggregate(task.round)
        elif self.pogo.w3.eth.block_number >= task.round_start + task.params.round_blocks:
            self._try(self.pogo.close_round, self.ctx.task_id)
            task = self.pogo.task(self.ctx.task_id)
            if task.aggregating and self.aggregator:
                self.propose_aggregate(task.round)

    def propose_aggregate(self, round_: int) -> int | None:
        """Average the round's accepted updates, publish the result, and propose it."""
        sources = self.ctx.log.accepted_updates(self.ctx.task_id, round_)
        head_root, ckpt_cid, _ = self.ctx.head()
        prev = self.ctx.checkpoint(head_root, ckpt_cid)
        diffs = [difffile.read(BytesSource(self.ctx.ipfs.cat(p.diff_cid))) for p in sources]
        model = self.ctx.ipfs.add_model(aggregate.aggregate(prev, diffs), self.ctx.spec.leaf_size)
        receipt = self._try(self.pogo.propose_aggregate, self.ctx.task_id, model.root,
                            aggregate.sources_root([p.diff_root for p in sources]), "", model.tree_cid,
                            model.checkpoint_cid)
        if receipt is None:
            return None
        sid = receipt[0]
        self.progress(f"proposed aggregate {sid} of updates {[p.submission_id for p in sources]}")
        return sid

    def _try(self, fn, *args):
        """Send a transition that another bot may have sent first; such a revert is not an error."""
        try:
            return fn(*args)
        except ChainError as exc:
            if exc.name in ("WrongStatus", "AlreadySettled", "AlreadyVoted", "WindowOpen", "WindowClosed",
                            "RoundStillOpen", "NotAggregating", "NotDecided", "InsufficientFreeStake"):
                return None
            raise
