"""Typed access to the deployed PoGO contract: one method per transition, plain dataclasses back."""

from __future__ import annotations

from dataclasses import astuple, dataclass
from enum import IntEnum

from eth_abi import encode
from eth_utils import keccak
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import BlockNotFound, ContractCustomError
from web3.logs import DISCARD

from pogo.errors import PogoError
from pogo.net import artifacts
from pogo.net.chain import ChainError, Client, Deployment, decode_revert


def committee_hash(members: list[str]) -> bytes:
    """What a submission stores of its committee: keccak256(abi.encode(members)) (PoGO.drawCommittee)."""
    return keccak(encode(["address[]"], [list(members)]))


class Status(IntEnum):
    NONE = 0
    PENDING = 1
    VOTING = 2
    ACCEPTED = 3
    REJECTED = 4         # a quorum found a provable fault: the miner is slashed
    EXPIRED = 5
    NOT_ACCEPTED = 6     # a quorum's judgment: no reward, the bond back less the evaluation fee


class Reason(IntEnum):
    """Why a verifier rejects (PROTOCOL.md section 6); OK approves. Faults are provable and
    slash the miner; judgments only refuse the update."""

    OK = 0
    DATA_UNAVAILABLE = 1
    MALFORMED = 2
    STALE_BASE = 3
    ROOT_MISMATCH = 4
    NO_PROGRESS = 5
    OVERFIT = 6
    NON_FINITE = 7
    HARMFUL = 8
    INSUFFICIENT_EVIDENCE = 9

    @property
    def is_fault(self) -> bool:
        return self not in (Reason.OK, Reason.NO_PROGRESS, Reason.OVERFIT, Reason.INSUFFICIENT_EVIDENCE)


class Param(IntEnum):
    """Which task parameter a BadParams revert names (IPoGO.Param)."""

    INITIAL_ROOT = 0
    N_PARAMS = 1
    LEAF_SIZE = 2
    N_SHARDS = 3
    ROUND_BLOCKS = 4
    VOTE_BLOCKS = 5
    COMMITTEE_SIZE = 6
    SLASH_BPS = 7
    MINER_BOND = 8
    EVAL_FEE = 9
    VERIFIER_BOND = 10
    MAX_IMPROVEMENT = 11
    VERIFIER_FEE = 12
    TASK_COUNT = 13


class FraudKind(IntEnum):
    """What a leaf fraud proof showed (IPoGO.FraudKind)."""

    NONE = 0
    MISMATCH = 1           # the committed leaf is not the rebuilt one
    MALFORMED_RECORD = 2   # the update's own record breaks the format


@dataclass(frozen=True)
class TaskParams:
    """The on-chain parameters of a task, in the Solidity struct's order. The first three
    commit to what the task publishes: ``deploy.task.publish_task`` fills them in."""

    spec_hash: bytes = b""
    initial_root: bytes = b""
    n_params: int = 0
    leaf_size: int = 4096
    n_shards: int = 8
    round_blocks: int = 40
    vote_blocks: int = 20
    committee_size: int = 4
    miner_slash_bps: int = 5000
    verifier_slash_bps: int = 1000
    liveness_slash_bps: int = 200
    miner_bond: int = 10**18
    round_reward: int = 3 * 10**18
    verifier_fee: int = 10**16
    eval_fee: int = 2 * 10**16
    verifier_bond: int = 10**18
    max_improvement: int = 10_000_000

    def as_tuple(self) -> tuple:
        return astuple(self)


@dataclass(frozen=True)
class Bounds:
    """Protocol-wide bounds on every task's parameters, fixed at deployment (PoGO.sol)."""

    max_round_blocks: int = 100_000
    min_vote_blocks: int = 10
    max_vote_blocks: int = 10_000
    max_miner_slash_bps: int = 10_000
    max_verifier_slash_bps: int = 5_000
    max_liveness_slash_bps: int = 1_000
    max_verifier_bond: int = 100 * 10**18
    max_improvement: int = 10_000_000

    def as_tuple(self) -> tuple:
        return astuple(self)


@dataclass(frozen=True)
class Vote:
    """A committee seat's vote (PoGO.votes)."""

    committed: bool
    voted: bool          # revealed
    approve: bool
    settled: bool
    reason: Reason
    improvement: int     # micro-nats


@dataclass(frozen=True)
class Submission:
    id: int
    miner: str
    submit_block: int
    task_id: int
    status: Status
    kind: int
    new_root: bytes
    round: int           # an update's round is recorded when it is finalized
    vote_deadline: int   # the last block of vote commitments; reveals follow for vote_blocks
    seats: int
    commits: int
    approvals: int
    rejections: int
    faults: int
    improvement: int
    reward_claimed: bool
    fraud: bool          # rejected by a leaf fraud proof
    committee_hash: bytes
    rejecter_share: int
    diff_root: bytes


@dataclass(frozen=True)
class TaskState:
    params: TaskParams
    owner: str
    pool: int
    round: int
    round_start: int
    head_root: bytes
    aggregating: bool
    open: int
    ended: bool


class PoGOContract:
    """The PoGO contract as seen by one signer."""

    def __init__(self, client: Client, contract: Contract):
        self.client = client
        self.contract = contract
        self.w3: Web3 = client.w3
        self.address = contract.address
        self._drawn_logs: dict[tuple[int, bytes], tuple[int, bytes, dict]] = {}  # -> (block, hash, event)
        self._epoch_blocks: int | None = None

    @classmethod
    def deploy(cls, client: Client, unbonding_blocks: int = 20, min_verifier_stake: int = 10**18,
               bounds: Bounds = Bounds()) -> PoGOContract:
        artifact = artifacts.load("PoGO")
        deployed = client.deploy(artifact, unbonding_blocks, min_verifier_stake, bounds.as_tuple())
        return cls(client, client.w3.eth.contract(address=deployed.address, abi=artifacts.load("PoGO").abi))

    @classmethod
    def at(cls, client: Client, deployment: Deployment) -> PoGOContract:
        return cls(client, client.w3.eth.contract(address=deployment.address, abi=artifacts.load("PoGO").abi))

    def as_signer(self, client: Client) -> PoGOContract:
        return PoGOContract(client, self.contract)

    def _call(self, fn: str, *args):
        """A view call; a custom-error revert comes back as ChainError, like a transaction's."""
        try:
            return getattr(self.contract.functions, fn)(*args).call()
        except ContractCustomError as exc:
            raise decode_revert(self.contract.abi, exc.data) from None

    def _tx(self, fn: str, *args, value: int = 0, headroom_pct: int = 25) -> dict:
        try:
            return self.client.transact(self.contract, fn, *args, value=value, headroom_pct=headroom_pct)
        except ChainError as exc:
            if exc.name == "BadParams" and exc.args_ and exc.args_[0] in Param._value2member_map_:
                raise ChainError("BadParams", exc.args_, f"transaction reverted: BadParams({Param(exc.args_[0]).name}): "
                                 "a task parameter breaks its rule or the protocol's bounds") from None
            raise

    def events(self, receipt: dict, name: str) -> list[dict]:
        """The ``name`` events a transaction emitted, decoded."""
        return [dict(log["args"]) for log in getattr(self.contract.events, name)().process_receipt(receipt, errors=DISCARD)]

    def _event(self, receipt: dict, name: str) -> dict:
        return self.events(receipt, name)[0]

    # -- transitions ------------------------------------------------------------------

    # Stake changes write the stake tree and, first in an epoch, a snapshot; registrations take
    # the next free slot. Their gas depends on what lands before them in the same block: the slot
    # a registration gets at execution is not the one it was estimated at, and its path of up to
    # 12 tree nodes may be fresh storage, each with a fresh snapshot. Twice the estimate ran out
    # with 200 verifiers joining at once, so they get five times it (unused gas is not paid for).
    def stake(self, amount: int) -> dict:
        return self._tx("stake", value=amount, headroom_pct=400)

    def register_verifier(self) -> dict:
        return self._tx("registerVerifier", headroom_pct=400)

    def register_verifier_replacing(self, slot: int) -> dict:
        return self._tx("registerVerifierReplacing", slot)

    def leave_verifier_pool(self) -> dict:
        return self._tx("leaveVerifierPool")

    def end_task(self, task_id: int) -> dict:
        return self._tx("endTask", task_id)

    def reclaim_pool(self, task_id: int) -> dict:
        return self._tx("reclaimPool", task_id)

    def request_unstake(self, amount: int) -> dict:
        return self._tx("requestUnstake", amount)

    def withdraw(self) -> dict:
        return self._tx("withdraw")

    def create_task(self, params: TaskParams, spec_cid: str = "", checkpoint_cid: str = "", tree_cid: str = "",
                    funding: int = 0) -> tuple[int, dict]:
        receipt = self._tx("createTask", params.as_tuple(), spec_cid, checkpoint_cid, tree_cid, value=funding)
        return self._event(receipt, "TaskCreated")["taskId"], receipt

    def fund_task(self, task_id: int, amount: int) -> dict:
        return self._tx("fundTask", task_id, value=amount)

    def commit_update(self, task_id: int, commitment: bytes) -> dict:
        """Commit to an update (pogo.protocol.commitment.update_commitment) in the round's commit window."""
        return self._tx("commitUpdate", task_id, commitment)

    def reveal_update(self, task_id: int, prev_root: bytes, new_root: bytes, diff_root: bytes, salt: bytes,
                      diff_cid: str = "", tree_cid: str = "", loss_first: int = 0, loss_last: int = 0
                      ) -> tuple[int, dict]:
        """Reveal the committed update after the commit window; returns the submission id."""
        receipt = self._tx("revealUpdate", task_id, prev_root, new_root, diff_root, salt, diff_cid, tree_cid,
                           loss_first, loss_last)
        return self._event(receipt, "UpdateSubmitted")["submissionId"], receipt

    def propose_aggregate(self, task_id: int, new_root: bytes, diff_root: bytes, diff_cid: str = "",
                          tree_cid: str = "", checkpoint_cid: str = "") -> tuple[int, dict]:
        receipt = self._tx("proposeAggregate", task_id, new_root, diff_root, diff_cid, tree_cid, checkpoint_cid)
        return self._event(receipt, "UpdateSubmitted")["submissionId"], receipt

    # A draw's gas depends on the seed of the block it lands in (how many picks collide, each a
    # tree descent), which the estimate's block does not share: a 25 % headroom once ran out.
    DRAW_HEADROOM_PCT = 100

    def draw_committee(self, submission_id: int) -> tuple[list[str], dict]:
        receipt = self._tx("drawCommittee", submission_id, headroom_pct=self.DRAW_HEADROOM_PCT)
        return list(self._event(receipt, "CommitteeDrawn")["members"]), receipt

    def draw_committees(self, submission_ids: list[int]) -> dict[int, dict | ChainError]:
        """Draw several committees at once: every draw is sent before any is waited for, so they
        can share a block (one at a time, a keeper drew one committee a block). Each id maps to
        its receipt, or to the ChainError that refused it (another keeper drew it first, ...)."""
        return self._batch({sid: ("drawCommittee", (sid,)) for sid in submission_ids}, self.DRAW_HEADROOM_PCT)

    def commit_votes(self, votes: dict[int, tuple[int, bytes]]) -> dict[int, dict | ChainError]:
        """Commit several votes at once (submission id -> (seat, commitment)), sharing blocks."""
        return self._batch({sid: ("commitVote", (sid, seat, self.committee(sid), c)) for sid, (seat, c) in votes.items()})

    def reveal_votes(self, votes: dict[int, tuple[int, bool, int, int, bytes]]) -> dict[int, dict | ChainError]:
        """Reveal several votes at once (submission id -> (seat, approve, improvement, reason, salt))."""
        return self._batch({sid: ("revealVote", (sid, seat, approve, improvement, int(reason), salt))
                            for sid, (seat, approve, improvement, reason, salt) in votes.items()})

    def _batch(self, calls: dict[int, tuple[str, tuple]], headroom_pct: int = 25) -> dict[int, dict | PogoError]:
        """Send every call before waiting for any; each key maps to its receipt, or to the error
        that stopped it (a revert: ChainError; a node that refused it, out of funds say: PogoError)."""
        sent, out = {}, {}
        for key, (fn, args) in calls.items():
            try:
                sent[key] = self.client.broadcast(self.contract, fn, *args, headroom_pct=headroom_pct)
            except PogoError as exc:
                out[key] = exc
        for key, tx in sent.items():
            try:
                out[key] = self.client.wait(tx)
            except PogoError as exc:
                out[key] = exc
        return out

    def commit_vote(self, submission_id: int, seat: int, commitment: bytes) -> dict:
        """Commit to a vote (pogo.protocol.commitment.vote_commitment) until the vote deadline."""
        return self._tx("commitVote", submission_id, seat, self.committee(submission_id), commitment)

    def reveal_vote(self, submission_id: int, seat: int, approve: bool, improvement: int, reason: Reason | int,
                    salt: bytes) -> dict:
        """Reveal a committed vote in the vote_blocks after the vote deadline."""
        return self._tx("revealVote", submission_id, seat, approve, improvement, int(reason), salt)

    def seat_of(self, submission_id: int, verifier: str) -> int | None:
        """The verifier's seat on the submission's committee, or None."""
        members = self.committee(submission_id)
        return members.index(verifier) if verifier in members else None

    def finalize(self, submission_id: int) -> dict:
        return self._tx("finalize", submission_id)

    def settle_seat(self, submission_id: int, seat: int) -> dict:
        return self._tx("settleSeat", submission_id, seat, self.committee(submission_id))

    def close_round(self, task_id: int) -> dict:
        return self._tx("closeRound", task_id)

    def claim_reward(self, submission_id: int) -> dict:
        return self._tx("claimReward", submission_id)

    def prove_leaf_fraud(self, submission_id: int, proof: bytes) -> dict:
        """Reject a submission with a leaf fraud proof (pogo.protocol.fraud.LeafProof.encode());
        the bounty is credited to this signer's withdrawable balance."""
        return self._tx("proveLeafFraud", submission_id, proof)

    # -- views ------------------------------------------------------------------------

    def task(self, task_id: int) -> TaskState:
        p, *rest = self._call("getTask", task_id)
        return TaskState(TaskParams(*p), *rest)

    def submission(self, submission_id: int) -> Submission:
        raw = self._call("getSubmission", submission_id)
        return Submission(submission_id, raw[0], raw[1], raw[2], Status(raw[3]), *raw[4:])

    def _drawn(self, submission_id: int) -> dict | None:
        """The submission's CommitteeDrawn event: its seed and members live there, storage keeps
        only their hash (which picks the right event should a chain have been rewound)."""
        s = self.submission(submission_id)
        if not s.seats:
            return None
        # A rewound chain (a reorg, a test's snapshot) may reuse the id and even draw the same
        # members from another seed, so a cached event counts only while its block is still there.
        key = (submission_id, s.committee_hash)
        cached = self._drawn_logs.get(key)
        if cached is not None and self._block_hash(cached[0]) == cached[1]:
            return cached[2]
        for log in self.contract.events.CommitteeDrawn.get_logs(
                from_block=s.submit_block, argument_filters={"submissionId": submission_id}):
            if committee_hash(log["args"]["members"]) == s.committee_hash:
                self._drawn_logs[key] = (log["blockNumber"], bytes(log["blockHash"]), dict(log["args"]))
                return self._drawn_logs[key][2]
        return None

    def _block_hash(self, number: int) -> bytes | None:
        try:
            return bytes(self.w3.eth.get_block(number)["hash"])
        except BlockNotFound:
            return None

    def epoch_blocks(self) -> int:
        """Staking.EPOCH_BLOCKS: draws read the weights of the epoch's start (a constant, read once)."""
        if self._epoch_blocks is None:
            self._epoch_blocks = self.contract.functions.EPOCH_BLOCKS().call()
        return self._epoch_blocks

    def seed(self, submission_id: int) -> bytes:
        """The challenge seed fixed when the committee was drawn."""
        drawn = self._drawn(submission_id)
        if drawn is None:
            raise ValueError(f"submission {submission_id} has no committee yet")
        return bytes(drawn["seed"])

    def committee(self, submission_id: int) -> list[str]:
        """The committee's members by seat ([] before the draw)."""
        drawn = self._drawn(submission_id)
        return list(drawn["members"]) if drawn else []

    def vote(self, submission_id: int, seat: int) -> Vote:
        commitment, voted, approve, settled, reason, improvement = self._call("votes", submission_id, seat)
        return Vote(any(commitment), voted, approve, settled, Reason(reason), improvement)

    def account(self, address: str) -> dict:
        stake, locked, open_seats, unbonding, ready, slot = self._call("accounts", address)
        # free: what may back a new bond or be unstaked, Staking._free (0 when slashes left less than the bonds)
        return {"stake": stake, "locked": locked, "free": max(0, stake - locked), "unbonding": unbonding,
                "unbonding_ready": ready, "open_seats": open_seats, "slot": slot}

    def withdrawable(self, address: str) -> int:
        return self.contract.functions.withdrawable(address).call()

    def accounted_balance(self) -> int:
        return self.contract.functions.accountedBalance().call()

    def balance(self) -> int:
        return self.w3.eth.get_balance(self.address)
