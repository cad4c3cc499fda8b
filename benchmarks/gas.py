"""Gas of each PoGO transition on a real Anvil chain; prints JSON.

    python -m benchmarks.gas

Targets (issues 4 and 11): an update's commit + reveal <= 200k, a vote's commit + reveal <=
110k, drawCommittee <= 250k, finalize <= 150k, one leaf proof at depth 26 <= 40k. The update
figures are a returning miner's (the steady state); a miner's first update to a task and the
contract's first ever are reported beside them, since each pays once for fresh storage words.
Other transitions report their worst case seen: the rejected finalize (which slashes), the
reveal that reaches a quorum.
"""

from __future__ import annotations

import hashlib
import json
import tempfile

from deploy import scenario
from deploy.scenario import ETH
from pogo.dev import compiler
from pogo.dev.devnet import Devnet
from pogo.net import chain
from pogo.net.contract import Reason
from pogo.protocol import commitment
from tests.vectors import b, load

TARGETS = {"update_commit_plus_reveal": 200_000, "vote_commit_plus_reveal": 110_000, "drawCommittee": 250_000,
           "finalize": 150_000, "verify_leaf_proof_depth26": 40_000}


def measure(w3) -> dict:
    gas: dict[str, int] = {}
    sc = scenario.build(w3, n_miners=2, n_verifiers=6)
    gas["stake"] = sc.as_(sc.owner).stake(ETH)["gasUsed"]
    gas["registerVerifier"] = sc.as_(sc.owner).register_verifier()["gasUsed"]
    gas["stake_registered_verifier"] = sc.as_(sc.verifiers[0]).stake(ETH)["gasUsed"]
    task = sc.create_task()
    _, receipt = sc.pogo.create_task(sc.pogo.task(task).params, "bafy-spec", "bafy-ckpt", "bafy-tree", funding=ETH)
    gas["createTask"] = receipt["gasUsed"]

    cid = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"  # a CIDv1 of typical length

    def submit_round(salt: int) -> list[tuple[int, int, int]]:
        """Both miners commit, then reveal: (submission id, commit gas, reveal gas) each."""
        t = sc.pogo.task(task)
        entries = []
        for miner in (0, 1):
            roots = hashlib.sha256(bytes([salt, miner])).digest(), hashlib.sha256(bytes([salt, miner, 1])).digest()
            secret = commitment.new_salt()
            c = commitment.update_commitment(task, t.round, sc.miners[miner].address, t.head_root, *roots, secret)
            entries.append((miner, roots, secret, sc.as_(sc.miners[miner]).commit_update(task, c)["gasUsed"]))
        sc.to_reveals(task)
        out = []
        for miner, roots, secret, commit_gas in entries:
            sid, receipt = sc.as_(sc.miners[miner]).reveal_update(task, t.head_root, *roots, secret, cid, cid,
                                                                  2_345_678, 2_456_789)
            out.append((sid, commit_gas, receipt["gasUsed"]))
        return out

    worst = {"drawCommittee": 0, "commitVote": 0, "revealVote": 0, "finalize": 0, "settleSeat": 0}
    # Round 0: one update accepted, one rejected (the finalize that slashes).
    firsts = submit_round(0)
    for (sid, _, _), approve in zip(firsts, (True, False)):
        members, receipt = sc.draw(sid)
        worst["drawCommittee"] = max(worst["drawCommittee"], receipt["gasUsed"])
        ballots = [(m, approve, 123_456 if approve else 0, Reason.OK if approve else Reason.ROOT_MISMATCH)
                   for m in members[:3]]
        salts = []
        for m, a, i, r in ballots:
            salt, seat = commitment.new_salt(), sc.pogo.seat_of(sid, m)
            receipt = sc.as_(sc.by_address(m)).commit_vote(sid, seat, commitment.vote_commitment(sid, seat, m, a, i, r,
                                                                                                   salt))
            worst["commitVote"] = max(worst["commitVote"], receipt["gasUsed"])
            salts.append(salt)
        sc.to_vote_reveals(sid)
        for receipt in sc.reveal_votes(sid, ballots, salts):
            worst["revealVote"] = max(worst["revealVote"], receipt["gasUsed"])
        worst["finalize"] = max(worst["finalize"], sc.pogo.finalize(sid)["gasUsed"])
        for seat in range(len(members)):
            worst["settleSeat"] = max(worst["settleSeat"], sc.pogo.settle_seat(sid, seat)["gasUsed"])
    sc.to_close(task)
    gas["closeRound"] = sc.pogo.close_round(task)["gasUsed"]
    gas["claimReward"] = sc.pogo.claim_reward(1)["gasUsed"]
    # Round 1: the same miners again, the steady state of a running network.
    steady = submit_round(10)
    for sid, _, _ in steady:  # more draws: the gas of one depends on how many picks collide
        worst["drawCommittee"] = max(worst["drawCommittee"], sc.draw(sid)[1]["gasUsed"])
    gas["commitUpdate"] = max(c for _, c, _ in steady)
    gas["revealUpdate"] = max(r for _, _, r in steady)
    gas["update_commit_plus_reveal"] = max(c + r for _, c, r in steady)
    gas["update_commit_plus_reveal_first_ever"] = firsts[0][1] + firsts[0][2]  # the contract's first submission id
    gas["update_commit_plus_reveal_first_by_miner"] = firsts[1][1] + firsts[1][2]  # a miner's first to this task
    gas.update(worst)
    gas["vote_commit_plus_reveal"] = worst["commitVote"] + worst["revealVote"]
    gas["leaveVerifierPool"] = sc.as_(sc.owner).leave_verifier_pool()["gasUsed"]
    gas["registerVerifier_reusing_a_slot"] = sc.as_(sc.owner).register_verifier()["gasUsed"]
    gas["endTask"] = sc.pogo.end_task(task)["gasUsed"]
    sc.mine(300)
    for sid in range(1, sc.pogo.contract.functions.submissionCount().call() + 1):
        if sc.pogo.submission(sid).status in (1, 2):
            sc.pogo.finalize(sid)
    gas["reclaimPool"] = sc.pogo.reclaim_pool(task)["gasUsed"]

    harness = sc.owner.deploy(compiler.compile_contracts()["VectorHarness"])
    deep = load("merkle")["deep"]
    receipt = sc.owner.transact(harness, "verifyTx", [b(p) for p in deep["proof"]], b(deep["root"]),
                                b(deep["leaf_hash"]), deep["index"])
    # The library's own cost: the transaction less its 21,000 base and its calldata.
    calldata = bytes.fromhex(harness.functions.verifyTx([b(p) for p in deep["proof"]], b(deep["root"]),
                             b(deep["leaf_hash"]), deep["index"])._encode_transaction_data()[2:])
    calldata_gas = sum(16 if byte else 4 for byte in calldata)
    gas["verify_leaf_proof_depth26_tx"] = receipt["gasUsed"]
    gas["verify_leaf_proof_depth26"] = receipt["gasUsed"] - 21_000 - calldata_gas
    return gas


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        net = Devnet(tmp)
        state = net.up()
        try:
            gas = measure(chain.connect(state.rpc_url))
        finally:
            net.down()
    report = {"gas": gas, "targets": TARGETS,
              "within_targets": {k: gas[k] <= v for k, v in TARGETS.items()}}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
