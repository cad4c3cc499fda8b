"""A staked local network: a deployed PoGO contract, a funded task, miners and verifiers.

The tests, the gas benchmark and the demo all start from here, on a real chain.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from web3 import Web3

from pogo.net import chain
from pogo.net.contract import PoGOContract, TaskParams
from pogo.protocol import commitment

ETH = 10**18


def mine(w3: Web3, blocks: int = 1) -> None:
    """Mine empty blocks: Anvil's anvil_mine, or Ganache's evm_mine with a block count."""
    if "error" in w3.provider.make_request("anvil_mine", [hex(blocks)]):
        w3.provider.make_request("evm_mine", [{"blocks": blocks}])


@dataclass
class Scenario:
    w3: Web3
    pogo: PoGOContract               # signed by the owner
    owner: chain.Client
    miners: list[chain.Client]
    verifiers: list[chain.Client]

    def as_(self, client: chain.Client) -> PoGOContract:
        return self.pogo.as_signer(client)

    def by_address(self, address: str) -> chain.Client:
        for c in [self.owner, *self.miners, *self.verifiers]:
            if c.address == address:
                return c
        raise KeyError(address)

    def mine(self, blocks: int = 1) -> None:
        mine(self.w3, blocks)

    def next_epoch(self) -> None:
        """Mine to the first block of the next epoch (stake changes made before count in draws)."""
        epoch = self.pogo.epoch_blocks()
        self.mine(epoch - self.block() % epoch)

    def ready_to_draw(self, submission_id: int) -> None:
        """Mine to the first block where a bot draws the submission's committee: submitBlock + 3
        or later, and neither the latest nor the next block an epoch's first (Anvil estimates on
        the latest block and mines into the next; PoGO.drawCommittee, VerifierBot._advance)."""
        epoch = self.pogo.epoch_blocks()
        first = self.pogo.submission(submission_id).submit_block + 3
        if self.block() < first:
            self.mine(first - self.block())
        while self.block() % epoch == 0 or (self.block() + 1) % epoch == 0:
            self.mine(1)

    def draw(self, submission_id: int, as_: chain.Client | None = None) -> tuple[list[str], dict]:
        """Draw a submission's committee at the first block that allows it."""
        self.ready_to_draw(submission_id)
        return (self.as_(as_) if as_ else self.pogo).draw_committee(submission_id)

    # -- commit-reveal, driven block by block (Anvil estimates a call on the latest block) ------

    def commit(self, client: chain.Client, task_id: int, prev_root: bytes, new_root: bytes, diff_root: bytes
               ) -> bytes:
        """Commit `client`'s update in the task's commit window; returns the salt to reveal with."""
        salt = commitment.new_salt()
        round_ = self.pogo.task(task_id).round
        self.as_(client).commit_update(task_id, commitment.update_commitment(
            task_id, round_, client.address, prev_root, new_root, diff_root, salt))
        return salt

    def to_reveals(self, task_id: int) -> None:
        """Mine until the task's commit window has closed (update reveals are open)."""
        t = self.pogo.task(task_id)
        end = t.round_start + t.params.round_blocks
        if self.block() < end:
            self.mine(end - self.block())

    def reveal(self, client: chain.Client, task_id: int, prev_root: bytes, new_root: bytes, diff_root: bytes,
               salt: bytes, diff_cid: str = "diff", tree_cid: str = "tree", loss_first: int = 2_000_000,
               loss_last: int = 2_100_000) -> int:
        sid, _ = self.as_(client).reveal_update(task_id, prev_root, new_root, diff_root, salt, diff_cid, tree_cid,
                                                loss_first, loss_last)
        return sid

    def submit(self, client: chain.Client, task_id: int, new_root: bytes, diff_root: bytes, **reveal) -> int:
        """Commit, wait for the reveal window, reveal: one update of the current head."""
        head = self.pogo.task(task_id).head_root
        salt = self.commit(client, task_id, head, new_root, diff_root)
        self.to_reveals(task_id)
        return self.reveal(client, task_id, head, new_root, diff_root, salt, **reveal)

    def work(self, miners: list, task_id: int) -> list:
        """One round of the miners' work: each trains, publishes and commits; once the commit
        window has closed, each reveals. Returns each miner's report (None: nothing submitted)."""
        reports = [m.work() for m in miners]
        self.to_reveals(task_id)
        return [r or m.work() for m, r in zip(miners, reports)]

    def vote(self, submission_id: int, ballots: list[tuple[str, bool, int, int]]) -> list[dict]:
        """Each (member, approve, improvement, reason) commits, then, once the commitments have
        closed, reveals; returns the reveal receipts."""
        salts = self.commit_votes(submission_id, ballots)
        self.to_vote_reveals(submission_id)
        return self.reveal_votes(submission_id, ballots, salts)

    def commit_votes(self, submission_id: int, ballots: list[tuple[str, bool, int, int]]) -> list[bytes]:
        salts = []
        for member, approve, improvement, reason in ballots:
            salt, seat = commitment.new_salt(), self.pogo.seat_of(submission_id, member)
            self.as_(self.by_address(member)).commit_vote(submission_id, seat, commitment.vote_commitment(
                submission_id, seat, member, approve, improvement, int(reason), salt))
            salts.append(salt)
        return salts

    def reveal_votes(self, submission_id: int, ballots: list[tuple[str, bool, int, int]], salts: list[bytes]
                     ) -> list[dict]:
        return [self.as_(self.by_address(m)).reveal_vote(submission_id, self.pogo.seat_of(submission_id, m), a, i, r,
                                                         salt)
                for (m, a, i, r), salt in zip(ballots, salts)]

    def to_close(self, task_id: int) -> None:
        """Mine until the task's round may close (its commit and reveal windows have passed)."""
        t = self.pogo.task(task_id)
        end = t.round_start + t.params.round_blocks + t.params.vote_blocks
        if self.block() < end:
            self.mine(end - self.block())

    def to_vote_reveals(self, submission_id: int) -> None:
        """Mine until the submission's vote commitments have closed (reveals are open)."""
        deadline = self.pogo.submission(submission_id).vote_deadline
        if self.block() <= deadline:
            self.mine(deadline + 1 - self.block())

    def block(self) -> int:
        return self.w3.eth.block_number

    def drive(self, bots: list, task_id: int, until_round: int, max_polls: int = 120) -> list:
        """Poll the verifier bots, mining blocks as a live chain would, until the task reaches
        ``until_round``: votes (commit, then reveal), finalization, round close and aggregation.
        When a poll changes nothing, time jumps to the next deadline. Returns the votes."""
        votes = []
        for _ in range(max_polls):
            self.mine(2)
            before = self.block()
            for bot in bots:
                votes += bot.poll()
            task = self.pogo.task(task_id)
            if task.round >= until_round:
                return votes
            if self.block() == before:  # nobody sent anything: wait for the next deadline
                self.mine(max(0, self._next_deadline(task_id, task) - self.block() - 2))
        raise RuntimeError(f"task {task_id} did not reach round {until_round}: see the verifier logs")

    def _next_deadline(self, task_id: int, task) -> int:
        """The next block at which something may happen: vote reveals open or close, or the round's
        commit or reveal window ends."""
        now = self.block()
        p = task.params
        targets = [task.round_start + p.round_blocks, task.round_start + p.round_blocks + p.vote_blocks]
        count = self.pogo.contract.functions.submissionCount().call()
        for sid in range(max(1, count - 64), count + 1):
            s = self.pogo.submission(sid)
            if s.task_id == task_id and s.status == 2:  # voting
                if now <= s.vote_deadline and s.commits < s.seats:
                    targets.append(now + 4)  # members still to commit (waiting for data, say): slow time
                targets += [s.vote_deadline + 1, s.vote_deadline + p.vote_blocks + 1]
        later = [t for t in targets if t > now]
        return min(later) if later else now + 2

    def create_task(self, initial_root: bytes | None = None, funding: int = 20 * ETH, **overrides) -> int:
        params = TaskParams(spec_hash=hashlib.sha256(b"pogo test task").digest(),
                            initial_root=initial_root or hashlib.sha256(b"initial model").digest(),
                            **{"n_params": 1 << 20, **overrides})
        task_id, _ = self.pogo.create_task(params, "spec-cid", "checkpoint-cid", "tree-cid", funding=funding)
        return task_id


def build(w3: Web3, n_miners: int = 3, n_verifiers: int = 8, miner_stake: int = 5 * ETH,
          verifier_stake: int = 10 * ETH, pogo: PoGOContract | None = None) -> Scenario:
    """Deploy (unless given a contract), then stake miners and stake and register verifiers.

    Uses Anvil's development accounts: 0 owns, 1.. mine, then verify.
    """
    clients = [chain.Client(w3, chain.dev_account(i)) for i in range(1 + n_miners + n_verifiers)]
    owner, miners, verifiers = clients[0], clients[1:1 + n_miners], clients[1 + n_miners:]
    pogo = pogo or PoGOContract.deploy(owner)
    for m in miners:
        pogo.as_signer(m).stake(miner_stake)
    for v in verifiers:
        signer = pogo.as_signer(v)
        signer.stake(verifier_stake)
        signer.register_verifier()
    sc = Scenario(w3, pogo, owner, miners, verifiers)
    sc.next_epoch()  # draws read the weights of the epoch's start: let the new verifiers' epoch begin
    return sc
