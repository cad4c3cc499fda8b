"""The verifier bot: one pass of ``poll()`` moves every submission of its task that it can:
draw committees whose seed block exists, check its own seats (filing a leaf fraud proof when
the full rebuild finds a provably wrong leaf) and commit to its votes, reveal
them once the commitments have closed, finalize decided submissions, settle its seats, pin accepted data, close rounds, and propose the aggregate
when a round waits for one. Every step is open to anyone on chain, so bots never wait on
each other, and a transition another bot sent first is a lost race, not an error.

A network of many verifiers needs only a few keepers: a bot started with ``keeper=False``
follows only the submissions whose committee seats it (found in the CommitteeDrawn events),
and leaves drawing committees, expiring undrawn submissions and closing rounds to the
keepers (anyone may; every keeper does). Its work per poll then grows with its seats, not
with the number of submissions: what lets a thousand verifiers follow a thousand miners.
Keepers share the draws by submission id (``keeper_slot=(i, n)``): keeper i of n draws the
ids equal to i mod n, and a draw still waiting DRAW_GRACE blocks later passes to the next
keeper, and so on round the ring. So n keepers draw n committees a block between them, never
two racing for the same one, and a stopped keeper's share is still drawn.

Nothing one submission does stops the bot: an exception in its handling is reported and the
submission is tried again on the next poll; it becomes a vote only where the fault is
provable. Data that cannot be fetched is retried until the task's availability window has
passed. The last block scanned, the seats voted and each vote's salt (written before its
commitment is sent) are kept in ``WORKDIR/verifier.json``, so a restarted bot neither votes
twice, nor misses a submission, nor loses a vote it committed to.

Committees are drawn from one pool for every task, so a verifier is also seated on tasks its
bot does not follow, a junk task of an attacker's among them; a silent seat on a submission
that expires pays the liveness share (SECURITY.md #40). The bot guards those seats: from the
middle of their commit window on (a bot of the same key on another machine that follows the
task votes first), it abstains (PROTOCOL.md D18: a revealed vote that counts on no side and is
neither paid nor slashed), all such seats in one batch of transactions; it reveals them, calls
finalize once the reveals have closed, and settles them, so that no seat stays open and holds
the verifier's unbonding back.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field

import numpy as np

from pogo.context import Context, HeadUnavailable
from pogo.errors import FormatError, PogoError, raised_at
from pogo.net.chain import ChainError
from pogo.net.contract import Reason, Status
from pogo.net.ipfs import DaemonUnreachable, DataUnavailable
from pogo.net.loop import NODE_AWAY
from pogo.protocol import aggregate, checkpoint, commitment
from pogo.protocol.atomicfile import write_bytes_atomic
from verifier.checks import AggregateChecker, Unavailable, Verdict

FINAL = (Status.ACCEPTED, Status.REJECTED, Status.EXPIRED, Status.NOT_ACCEPTED)
SEED_HORIZON = 256  # blockhash() reaches back this far (PoGO.sol)
DRAW_DELAY = 3  # the first block drawCommittee accepts, after submitBlock (PoGO.sol)
DRAW_GRACE = 16  # blocks a draw stays with one keeper before it passes to the next (15 turns fit SEED_HORIZON)
RESCAN_BLOCKS = 32  # at most this many blocks are scanned again after a restart
KEEP_TRIES = 8  # polls that try to pin or copy an accepted submission's data
# Reverts that mean another party moved the state first: expected, and quiet.
LOST_RACES = ("WrongStatus", "AlreadySettled", "AlreadyVoted", "WindowOpen", "WindowClosed", "RoundStillOpen",
              "NotAggregating", "Aggregating", "NotDecided", "SeedNotReady", "Reverted", "NotOpen")


@dataclass
class BotState:
    scanned_to: int = 0
    open: list = field(default_factory=list)        # submission ids not yet final
    voted: dict = field(default_factory=dict)       # submission id -> verdict (its commitment is on chain)
    ballots: dict = field(default_factory=dict)     # submission id -> the vote and salt to reveal
    revealed: list = field(default_factory=list)
    settled: list = field(default_factory=list)
    pinned: list = field(default_factory=list)      # accepted submissions whose data this bot pins
    kept: list = field(default_factory=list)        # their CIDs: never unpinned (a copy shares its CID)
    proved: list = field(default_factory=list)      # submissions this bot rejected with a leaf fraud proof
    guarded: dict = field(default_factory=dict)     # submission id -> its seat and windows, on tasks it does not follow


@dataclass(frozen=True)
class Vote:
    submission_id: int
    seat: int
    verdict: Verdict
    seconds: float
    gas: int
    cpu_seconds: float = 0.0  # this thread's CPU time in the check (seconds also counts waits)


class VerifierBot:
    def __init__(self, ctx: Context, progress: Callable[[str], None] = lambda _: None, aggregator: bool = True,
                 keeper: bool = True, keeper_slot: tuple[int, int] = (0, 1)):
        self.ctx, self.progress, self.aggregator, self.keeper = ctx, progress, aggregator, keeper
        if not 0 <= keeper_slot[0] < keeper_slot[1]:
            raise ValueError(f"keeper_slot {keeper_slot}: need 0 <= i < n")
        self.keeper_slot = keeper_slot
        self.pogo = ctx.pogo
        self.address = ctx.pogo.client.address
        self.checker = AggregateChecker(ctx)
        self._refused_round = -1  # the round whose exact average a committee refused (D15)
        self.state_path = ctx.workdir / "verifier.json"
        self.state = BotState(**json.loads(self.state_path.read_text())) if self.state_path.exists() else BotState()
        self._saved_scan = self.state.scanned_to
        self.votes: list[Vote] = []
        # exceptions caught in per-submission handling, by class and where in this project they
        # were raised (benchmarks count them)
        self.error_kinds: Counter[str] = Counter()
        self.node_away = 0         # passes of one submission retried because the chain or IPFS node was away
        self._waiting: dict[int, str] = {}
        self._to_draw: list[int] = []
        self._keep_tries: Counter[int] = Counter()
        # what this bot knows of the submissions it follows, forgotten once final: id -> its
        # reveal's block; id -> (committee hash, vote deadline, this bot's seat or None)
        self._revealed: dict[int, int] = {}
        self._draws: dict[int, tuple[bytes, int, int | None]] = {}
        self._params = None
        self.epoch_blocks = self.pogo.epoch_blocks()  # no draw on an epoch's first block

    @property
    def errors(self) -> int:
        """How many exceptions per-submission handling caught (bugs or hostile input)."""
        return sum(self.error_kinds.values())

    def _save(self) -> None:
        write_bytes_atomic(self.state_path, json.dumps(asdict(self.state), indent=1).encode())
        self._saved_scan = self.state.scanned_to

    def poll(self) -> list[Vote]:
        """One pass over the chain; returns the votes cast. Raises only when the chain itself
        cannot be read (the caller's loop retries with backoff)."""
        self.votes = []
        latest = self.pogo.w3.eth.block_number
        found = False
        if self.state.scanned_to <= latest:
            for sid in self._new_submissions(self.state.scanned_to, latest):
                if sid not in self.state.open:
                    self.state.open.append(sid)
                    found = True
        # A scan that found nothing is saved now and then: a restart scans those blocks again,
        # which finds nothing new (an fsync a poll was most of an idle bot's time).
        self.state.scanned_to = latest + 1
        if found or self.state.scanned_to - self._saved_scan >= RESCAN_BLOCKS:
            self._save()
        if self.state.guarded:  # first: its windows are short, and own-task checks may be slow
            self._guarded("the seats on other tasks", self._guard_seats, latest)
        self._to_draw = []
        for sid in list(self.state.open):
            self._guarded(f"submission {sid}", self._advance, sid, latest)
        if self._to_draw:
            self._guarded("the draws", self._draw, self._to_draw)
        if self.keeper or self.aggregator:
            self._guarded("the round", self._advance_round)
        return self.votes

    def _new_submissions(self, from_block: int, to_block: int) -> list[int]:
        """A keeper follows every submission of the task; any other bot, the ones it is seated on."""
        drawn = self.ctx.log.committee_drawn(from_block, to_block)
        for e in drawn:  # the draw fixes the members: this bot's seat on each, known without a call
            members = e["members"]
            seat = members.index(self.address) if self.address in members else None
            if self.keeper or seat is not None:  # what this bot follows
                self._draws[e["submissionId"]] = (e["committeeHash"], e["voteDeadline"], seat)
        if self.keeper:
            self._own_task(drawn)  # a keeper follows its task through the reveals; this finds its other seats
            revealed = self.ctx.log.revealed(self.ctx.task_id, from_block, to_block)
            self._revealed |= dict(revealed)
            return [sid for sid, _ in revealed]
        return self._own_task(drawn)

    def _own_task(self, drawn: list[dict]) -> list[int]:
        """Of the drawn committees that seat this bot, the submissions of its task; the seats on
        other tasks go to ``state.guarded`` (see the module's docstring)."""
        own, guarded = [], len(self.state.guarded)
        for e in drawn:
            if self.address not in e["members"]:
                continue
            sid = e["submissionId"]
            if self.pogo.submission(sid).task_id == self.ctx.task_id:
                own.append(sid)
            elif str(sid) not in self.state.guarded and str(sid) not in self.state.ballots:
                self.state.guarded[str(sid)] = {"seat": e["members"].index(self.address), "deadline": e["voteDeadline"],
                                                "vote_blocks": e["voteDeadline"] - e["block"]}
        if len(self.state.guarded) != guarded:
            self._save()
        return own

    def _guarded(self, what: str, fn, *args) -> None:
        try:
            fn(*args)
        except KeyboardInterrupt:
            raise
        except HeadUnavailable as exc:
            self.progress(f"{what}: cannot load the head yet ({exc}); retrying next poll")
        except NODE_AWAY as exc:  # the chain or IPFS node away (restarting): not a fault of ours
            self.node_away += 1
            self.progress(f"{what}: {exc.__class__.__name__}: {_line(exc)}; retrying next poll")
        except Exception as exc:  # noqa: BLE001 - a bug or a hostile input: report it, keep the bot alive
            where = raised_at(exc)
            self.error_kinds[f"{exc.__class__.__name__} at {where}"] += 1
            self.progress(f"{what}: {exc.__class__.__name__}: {_line(exc)} (at {where}); "
                          "retrying next poll")

    # -- one submission ------------------------------------------------------------------

    def _idle(self, sid: int, latest: int) -> bool:
        """Whether the events this bot scanned show nothing it may do for the submission at this
        block, so the pass need not read it (a keeper following a thousand updates read every
        one each pass, and drew a committee a block). Nothing known (after a restart): not idle."""
        if sid in self._draws:
            _, deadline, seat = self._draws[sid]
            # no vote is revealed, so nothing is decided, before the deadline (a fraud proof
            # rejects at once, and is seen after it)
            return latest <= deadline and (seat is None or str(sid) in self.state.voted)
        revealed = self._revealed.get(sid)
        if revealed is None:
            return False
        waited = latest - revealed
        return waited < DRAW_DELAY or (not self._my_draw(sid, waited) and waited <= 1 + SEED_HORIZON)

    def _advance(self, sid: int, latest: int) -> None:
        if self._idle(sid, latest):
            return
        s = self.pogo.submission(sid)
        if s.status == Status.PENDING and self.keeper and latest >= s.submit_block + DRAW_DELAY:
            if latest > s.submit_block + 1 + SEED_HORIZON:
                self._try(self.pogo.finalize, sid)  # nobody drew it in time: it expires
                s = self.pogo.submission(sid)
            elif self._my_draw(sid, latest - s.submit_block) and latest % self.epoch_blocks \
                    and (latest + 1) % self.epoch_blocks:
                # this keeper's turn (_my_draw), not on an epoch's first block: the estimate runs on
                # `latest`, the tx lands in the next; sent with the pass's other draws (_draw)
                self._to_draw.append(sid)
                return
        if s.status == Status.VOTING:
            seat = self._seat(sid, s)
            if seat is not None and str(sid) not in self.state.voted and latest < s.vote_deadline:
                self._vote(sid, seat, s, latest)
                s = self.pogo.submission(sid)
            elif seat is not None and str(sid) in self.state.voted and sid not in self.state.revealed \
                    and latest > s.vote_deadline:
                self._reveal(sid, seat)
                s = self.pogo.submission(sid)
            if self._decided(s, latest):
                self._try(self.pogo.finalize, sid)
                s = self.pogo.submission(sid)
        if s.status in FINAL:
            seat = self._seat(sid, s)
            if seat is not None and sid not in self.state.settled:
                self._try(self.pogo.settle_seat, sid, seat)
                self.state.settled.append(sid)
            if s.status == Status.ACCEPTED and (s.kind == 0 or str(sid) in self.state.voted):
                if not self._keep(sid, s):
                    self._save()
                    return  # its data is tried again next poll
            elif s.status != Status.ACCEPTED and str(sid) in self.state.voted:
                self._unpin(sid)  # what checking it pinned is no longer needed
            self.state.open.remove(sid)
            self._save()
            self._draws.pop(sid, None)
            self._revealed.pop(sid, None)

    def _draw(self, sids: list[int]) -> None:
        """Draw the committees this pass found ready, in one go; the next pass follows them."""
        for sid, result in self.pogo.draw_committees(sids).items():
            if _failed(result):
                self.progress(f"drawing the committee of update {sid}: {result}")

    def _my_draw(self, sid: int, waited: int) -> bool:
        """Whether this keeper holds the draw of an update revealed ``waited`` blocks ago: keeper
        sid mod n first, then the next one each DRAW_GRACE blocks. One holder at a time: when every
        keeper took any overdue draw, all of them sent it and all but the first reverted."""
        i, n = self.keeper_slot
        turn = max(0, waited - DRAW_DELAY) // DRAW_GRACE
        return (sid + turn) % n == i

    def _seat(self, sid: int, s) -> int | None:
        """This bot's seat on the submission's committee, or None. The members are fixed by the
        draw, and committee_hash names them, so a seat is read from the chain once."""
        known = self._draws.get(sid)
        if known is None or known[0] != s.committee_hash:
            known = self._draws[sid] = (s.committee_hash, s.vote_deadline, self.pogo.seat_of(sid, self.address))
        return known[2]

    def _decided(self, s, block: int) -> bool:
        """Whether finalize would succeed (the contract's rule, section 5), for the submission as
        just read, at ``block`` (the poll's: an older block only defers a finalize to the next
        poll); the task's parameters never change, so they are read once."""
        if self._params is None:
            self._params = self.pogo.task(self.ctx.task_id).params
        size, vote_blocks = self._params.committee_size, self._params.vote_blocks
        quorum = 2 * ((size - 1) // 3) + 1  # the contract's PBFT quorum, 2f + 1 of 3f + 1
        if block > s.vote_deadline + vote_blocks:  # the reveals have closed
            return True
        # Before that, only once every seat that committed has revealed (SECURITY.md #17).
        return s.approvals + s.rejections >= s.commits and max(s.approvals, s.rejections) >= quorum  # faults <= rejections

    def _vote(self, sid: int, seat: int, s, latest: int) -> None:
        earlier = self.state.ballots.get(str(sid))
        committed = self._committed(sid, seat)
        if earlier and committed == self._commitment(sid, earlier)[:20]:
            # Committed before a restart, not yet recorded: keep that ballot, it is the one to reveal.
            self.state.voted[str(sid)] = {"reason": Reason(earlier["reason"]).name, "improvement": earlier["improvement"]}
            self._save()
            return
        if committed != bytes(20):  # another process of this key committed the seat (its abstention, D18)
            if self._waiting.get(sid) != "committed":
                self.progress(f"seat {seat} of update {sid}: already committed by another process of this key; "
                              "not checking it")
                self._waiting[sid] = "committed"
            return
        start, cpu = time.perf_counter(), time.thread_time()
        p = self.ctx.log.submission(sid)
        head_root = self.ctx.head_root()
        task = self.pogo.task(self.ctx.task_id)
        try:
            if p.kind == 0:
                verdict = self.checker.check(p, seat, self.pogo.seed(sid), task.round, head_root)
            else:
                verdict = self.checker.check_aggregate(p, seat, self.pogo.seed(sid), task.round, head_root)
        except Unavailable as exc:
            # Unavailable data is a fault only once the availability window has passed.
            ready = s.vote_deadline - task.params.vote_blocks + self.ctx.spec.verification.availability_blocks
            if latest < ready and latest < s.vote_deadline:
                if self._waiting.get(sid) != str(exc):
                    self.progress(f"seat {seat} of update {sid}: waiting for its data until block {ready} ({exc})")
                    self._waiting[sid] = str(exc)
                return
            verdict = Verdict(Reason.DATA_UNAVAILABLE, 0, str(exc))
        seconds, cpu = time.perf_counter() - start, time.thread_time() - cpu
        if verdict.fraud is not None and self._prove(sid, verdict):
            return  # rejected on chain by the proof: no vote needed
        ballot = {"seat": seat, "approve": verdict.approve, "improvement": verdict.improvement,
                  "reason": int(verdict.reason), "salt": commitment.new_salt().hex()}
        self.state.ballots[str(sid)] = ballot  # on disk before the commitment leaves
        self._save()
        receipt = self._try(self.pogo.commit_vote, sid, seat, self._commitment(sid, ballot))
        if receipt is None and self._committed(sid, seat) != self._commitment(sid, ballot)[:20]:
            return  # not committed (a lost race with the deadline): nothing to reveal
        self.state.voted[str(sid)] = {"reason": verdict.reason.name, "improvement": verdict.improvement}
        self._save()
        gas = receipt["gasUsed"] if receipt else 0
        self.votes.append(Vote(sid, seat, verdict, seconds, gas, cpu))
        self.progress(f"seat {seat} of update {sid}: {verdict.reason.name} {verdict.detail} (committed)")

    def _prove(self, sid: int, verdict: Verdict) -> bool:
        """File the leaf fraud proof the check found (PROTOCOL.md D11); True once the submission is
        rejected. A proof another party filed first is a lost race; anything else falls back to
        the committee vote."""
        try:
            receipt = self._try(self.pogo.prove_leaf_fraud, sid, verdict.fraud.encode())
        except PogoError as exc:  # e.g. the node will not take a proof that large: the vote still counts
            self.progress(f"update {sid}: the leaf fraud proof could not be sent ({_line(exc)}); voting instead")
            return False
        if receipt is None:
            return self.pogo.submission(sid).fraud
        event = self.pogo.events(receipt, "LeafFraudProven")[0]
        self.state.proved.append(sid)
        self._save()
        self.progress(f"update {sid}: leaf {event['leaf']} is not what its diff makes of the head; proved it on "
                      f"chain: rejected, the miner's bond of {event['minerSlash'] / 1e18:g} ETH forfeited, bounty "
                      f"{event['bounty'] / 1e18:g} ETH to this verifier ({receipt['gasUsed']:,} gas)")
        return True

    def _committed(self, sid: int, seat: int) -> bytes:
        """The commitment on chain for a seat: its leading 20 bytes (PoGO.Vote)."""
        return bytes(self.pogo.contract.functions.votes(sid, seat).call()[0])

    def _commitment(self, sid: int, ballot: dict) -> bytes:
        return commitment.vote_commitment(sid, ballot["seat"], self.address, ballot["approve"],
                                          ballot["improvement"], ballot["reason"], bytes.fromhex(ballot["salt"]))

    def _reveal(self, sid: int, seat: int) -> None:
        """Reveal the vote committed to, once every member's commitment window has closed."""
        b = self.state.ballots[str(sid)]
        self._try(self.pogo.reveal_vote, sid, seat, b["approve"], b["improvement"], b["reason"], bytes.fromhex(b["salt"]))
        if self.pogo.contract.functions.votes(sid, seat).call()[1]:  # revealed (now or by an earlier try)
            self.state.revealed.append(sid)
            self._save()

    def _guard_seats(self, latest: int) -> None:
        """One step for every seat on a task this bot does not follow: abstain in the second half
        of its commit window unless the seat is committed, reveal, then finalize once the reveals
        have closed and settle. Reveals go out first and commits next, each as one batch (seats
        may be many, and a missed reveal of a commitment costs the liveness share on any outcome),
        before any settlement, which waits for its transactions."""
        commits, reveals, done = {}, {}, []
        for key, g in list(self.state.guarded.items()):
            try:
                sid, seat, deadline, vote_blocks = int(key), g["seat"], g["deadline"], g["vote_blocks"]
            except (TypeError, KeyError, ValueError):  # a state file of an older bot: nothing to resume
                del self.state.guarded[key]
                continue
            if latest < deadline - vote_blocks // 2:
                continue  # a bot of this key that follows the task votes first
            ballot = self.state.ballots.get(key)
            try:
                if latest < deadline:  # commits land by the deadline
                    if self._committed(sid, seat) == bytes(20):  # none yet, or ours was lost: (re)send it
                        if ballot is None:
                            ballot = self.state.ballots[key] = {"seat": seat, "approve": False, "improvement": 0,
                                                                "reason": int(Reason.OK),
                                                                "salt": commitment.new_salt().hex()}
                            self._save()  # on disk before the commitment leaves
                        commits[sid] = (seat, self._commitment(sid, ballot))
                elif latest < deadline + vote_blocks:  # reveals land within the window
                    if ballot is not None and sid not in self.state.revealed \
                            and self._committed(sid, seat) == self._commitment(sid, ballot)[:20]:
                        if self.pogo.vote(sid, seat).voted:  # revealed by an earlier pass
                            self.state.revealed.append(sid)
                        else:
                            reveals[sid] = (seat, ballot["approve"], ballot["improvement"], ballot["reason"],
                                            bytes.fromhex(ballot["salt"]))
                else:
                    done.append((sid, seat))
            except PogoError as exc:  # ChainError too
                self.progress(f"seat {seat} of update {sid} of another task: {_line(exc)}; retrying next poll")
        if reveals:
            for sid in self._report(self.pogo.reveal_votes(reveals), "revealed the abstentions (D18) on seats of other tasks"):
                self.state.revealed.append(sid)
            self._save()
        if commits:
            self._report(self.pogo.commit_votes(commits), "abstained (D18) on seats of tasks this bot does not follow")
        for sid, seat in done:
            self._guarded(f"the seat on update {sid} of another task", self._settle_guarded, sid, seat)

    def _settle_guarded(self, sid: int, seat: int) -> None:
        """After the reveals: finalize the submission if nobody did, settle the seat, forget it."""
        status = self.pogo.submission(sid).status
        if status not in FINAL:
            self._try(self.pogo.finalize, sid)
            status = self.pogo.submission(sid).status
        if status in FINAL:
            self._try(self.pogo.settle_seat, sid, seat)
        if self.pogo.vote(sid, seat).settled:
            key = str(sid)
            del self.state.guarded[key]
            self.state.ballots.pop(key, None)
            if sid in self.state.revealed:
                self.state.revealed.remove(sid)
            self._save()

    def _report(self, results: dict, done: str) -> list[int]:
        """Say what a batch did; returns the ids whose transaction went through."""
        ok = [sid for sid, r in results.items() if not isinstance(r, Exception)]
        for sid, r in results.items():
            if _failed(r):
                self.progress(f"update {sid} of another task: {_line(r)}")
        if ok:
            self.progress(f"{done}: updates {ok}")
        return ok

    def _keep(self, sid: int, s) -> bool:
        """Keep an accepted submission's data: the head is rebuilt from it, whatever its miner
        does. Its committee pins it, and the aggregator the updates it averages (a keeper
        pinning all it follows would keep every update of the network). Every bot also keeps a
        local copy of each accepted update of its task's current or previous round that it
        follows (a keeper's, or a seat decided before this bot voted), so it rebuilds the head
        even when every IPFS copy is gone; a keeper started late does not fetch the history.

        Whether it is done: a fetch or pin that fails is tried on the next polls, and after
        KEEP_TRIES the bot says so and goes on (each try can wait the task's fetch timeout, so
        data gone for good must not slow every poll); the head is then rebuilt from IPFS when
        needed. Our own IPFS node away is retried as a node away."""
        pin = sid not in self.state.pinned and (str(sid) in self.state.voted or (self.aggregator and s.kind == 0))
        if not pin and s.round + 1 < self.pogo.task(self.ctx.task_id).round:
            return True
        p = self.ctx.log.submission(sid)
        try:
            for cid in (p.diff_cid, p.tree_cid, p.checkpoint_cid) if pin else ():
                if cid:
                    self.ctx.ipfs.pin(cid, timeout=self.ctx.spec.verification.fetch_timeout_s)
                    if cid not in self.state.kept:  # a pin retried after a failure is kept once
                        self.state.kept.append(cid)
            if p.diff_cid:
                self.ctx.diff(p.diff_cid)  # the local copy
        except DaemonUnreachable:
            raise
        except (DataUnavailable, FormatError) as exc:
            self._keep_tries[sid] += 1
            if isinstance(exc, DataUnavailable) and self._keep_tries[sid] < KEEP_TRIES:
                return False
            self.progress(f"update {sid}: keeps no copy of its data ({_line(exc)})")
            self._keep_tries.pop(sid, None)
            return True
        self._keep_tries.pop(sid, None)
        if pin:
            self.state.pinned.append(sid)
        return True

    def _unpin(self, sid: int) -> None:
        p = self.ctx.log.submission(sid)
        for cid in (p.diff_cid, p.tree_cid, p.checkpoint_cid):
            if cid and cid not in self.state.kept:
                self.ctx.ipfs.unpin(cid)

    # -- the round -----------------------------------------------------------------------

    def _advance_round(self) -> None:
        task = self.pogo.task(self.ctx.task_id)
        if task.open > 0:
            return
        block, p = self.pogo.w3.eth.block_number, task.params
        if task.aggregating and self.aggregator and block < task.round_start + max(p.round_blocks, p.vote_blocks) \
                and not self._average_refused(task):
            # Propose before anything else while proposals are taken (D15): closing an aggregating
            # round whose window has passed would give up on this round's average.
            self.propose_aggregate(task.round)
        elif self.keeper and block >= task.round_start + p.round_blocks + p.vote_blocks:
            self._try(self.pogo.close_round, self.ctx.task_id)
            task = self.pogo.task(self.ctx.task_id)
            if task.aggregating and self.aggregator:
                self.propose_aggregate(task.round)

    def _average_refused(self, task) -> bool:
        """Whether a committee judged this round's exact average harmful (NOT_ACCEPTED, PROTOCOL.md
        D15). The average is the same whoever builds it, so proposing it again would only be
        refused again: a keeper closes the round with the head unchanged once its window has
        passed. Only the exact average counts: a wrong aggregate that a committee left
        NOT_ACCEPTED (judgment votes from a faulty minority) or that a proof caught leaves the
        honest one still to propose."""
        if self._refused_round == task.round:
            return True
        refused = []
        for p in self.ctx.log.submissions_on(self.ctx.task_id, task.head_root, self.pogo.w3.eth.block_number):
            if p.kind == 1:  # an aggregate
                s = self.pogo.submission(p.submission_id)
                if s.round == task.round and s.status == Status.NOT_ACCEPTED and not s.fraud:
                    refused.append(s.new_root)
        if refused and checkpoint.model_root(self._average(task.round)[0], self.ctx.spec.leaf_size) in refused:
            self._refused_round = task.round  # rebuilt once, not on every poll until the round closes
            self.progress(f"round {task.round}: its average was refused (D15); the head stays when the round closes")
            return True
        return False

    def _average(self, round_: int) -> tuple[np.ndarray, list]:
        """This round's exact average and its sources (section 7, D14)."""
        sources, diffs = self.ctx.round_updates(round_)
        return aggregate.aggregate(self.ctx.head(), diffs), sources

    def propose_aggregate(self, round_: int) -> int | None:
        """Average the round's accepted updates, publish the result as a snapshot, and propose it."""
        average, sources = self._average(round_)
        model = self.ctx.ipfs.add_model(average, self.ctx.spec.leaf_size)
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
            if exc.name not in LOST_RACES:
                self.progress(f"{fn.__name__}{args}: {exc}")
            return None


def _failed(result) -> bool:
    """Whether a batch's result (a receipt, or the error that stopped its transaction) is worth
    saying: an error that is not a lost race."""
    return isinstance(result, Exception) and not (isinstance(result, ChainError) and result.name in LOST_RACES)


def _line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else ""


def settle_seats(ctx: Context, address: str) -> Iterator[tuple[int, int, int]]:
    """Settle ``address``'s unsettled seats on the task's finalized submissions, one by one:
    yields (submission id, paid, slashed). settleSeat is open to anyone and a running bot settles
    its own; this is for a verifier that stopped. A seat settled meanwhile by another caller is skipped."""
    for p in ctx.log.submissions(ctx.task_id):
        sid = p.submission_id
        if ctx.pogo.submission(sid).status not in FINAL:
            continue
        seat = ctx.pogo.seat_of(sid, address)
        if seat is None or ctx.pogo.vote(sid, seat).settled:
            continue
        try:
            receipt = ctx.pogo.settle_seat(sid, seat)
        except ChainError as exc:
            if exc.name == "AlreadySettled":
                continue
            raise
        settled = ctx.pogo.events(receipt, "SeatSettled")[0]
        yield sid, settled["paid"], settled["slashed"]

