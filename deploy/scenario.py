"""A staked local network: a deployed PoGO contract, a funded task, miners and verifiers.

The tests, the gas benchmark and the demo all start from here, on a real chain.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from web3 import Web3

from pogo.net import chain
from pogo.net.contract import PoGOContract, TaskParams

ETH = 10**18


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
        self.w3.provider.make_request("anvil_mine", [hex(blocks)])

    def next_epoch(self) -> None:
        """Mine to the first block of the next epoch (stake changes made before count in draws)."""
        epoch = self.pogo.contract.functions.EPOCH_BLOCKS().call()
        self.mine(epoch - self.block() % epoch)

    def ready_to_draw(self, submission_id: int) -> None:
        """Mine to the first block where a bot draws the submission's committee: submitBlock + 3
        or later, and neither the latest nor the next block an epoch's first (Anvil estimates on
        the latest block and mines into the next; PoGO.drawCommittee, VerifierBot._advance)."""
        epoch = self.pogo.contract.functions.EPOCH_BLOCKS().call()
        first = self.pogo.submission(submission_id).submit_block + 3
        if self.block() < first:
            self.mine(first - self.block())
        while self.block() % epoch == 0 or (self.block() + 1) % epoch == 0:
            self.mine(1)

    def draw(self, submission_id: int, as_: chain.Client | None = None) -> tuple[list[str], dict]:
        """Draw a submission's committee at the first block that allows it."""
        self.ready_to_draw(submission_id)
        return (self.as_(as_) if as_ else self.pogo).draw_committee(submission_id)

    def block(self) -> int:
        return self.w3.eth.block_number

    def drive(self, bots: list, task_id: int, until_round: int, max_polls: int = 60) -> list:
        """Poll the verifier bots, mining blocks as a live chain would, until the task reaches
        ``until_round``: votes, finalization, round close and aggregation. Returns the votes."""
        votes = []
        for _ in range(max_polls):
            self.mine(2)
            for bot in bots:
                votes += bot.poll()
            task = self.pogo.task(task_id)
            if task.round >= until_round:
                return votes
            if task.open == 0 and not task.aggregating and self.block() < task.round_start + task.params.round_blocks:
                self.mine(task.round_start + task.params.round_blocks - self.block())
        raise RuntimeError(f"task {task_id} did not reach round {until_round}: see the verifier logs")

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
    # Draws read the weights of the epoch's start: let the new verifiers' epoch begin.
    epoch = pogo.contract.functions.EPOCH_BLOCKS().call()
    w3.provider.make_request("anvil_mine", [hex(epoch - w3.eth.block_number % epoch)])
    return Scenario(w3, pogo, owner, miners, verifiers)
