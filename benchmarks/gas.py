"""Gas of each PoGO transition on a real Anvil chain; prints JSON.

    python -m benchmarks.gas

Targets (issue 4): submitUpdate <= 150k, attest <= 80k, finalize <= 150k, one leaf proof at
depth 26 <= 40k. submitUpdate is a returning miner's update (the steady state); a miner's
first update to a task and the contract's first ever are reported beside it, since each
pays once for fresh storage words. Other transitions report their worst case seen: the
rejected finalize (which slashes), the attest that reaches a quorum.
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
from tests.vectors import b, load

TARGETS = {"submitUpdate": 150_000, "attest": 80_000, "finalize": 150_000, "verify_leaf_proof_depth26": 40_000}


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

    def submit(miner: int, salt: int) -> tuple[int, int]:
        head = sc.pogo.task(task).head_root
        sid, receipt = sc.as_(sc.miners[miner]).submit_update(
            task, head, hashlib.sha256(bytes([salt])).digest(), hashlib.sha256(bytes([salt, 1])).digest(),
            cid, cid, 2_345_678, 2_456_789)
        return sid, receipt["gasUsed"]

    worst = {"drawCommittee": 0, "attest": 0, "finalize": 0, "settleSeat": 0}
    # Round 0: one update accepted, one rejected (the finalize that slashes).
    firsts = []
    for i, approve in enumerate((True, False)):
        sid, used = submit(i, i)
        firsts.append(used)
        members, receipt = sc.draw(sid)
        worst["drawCommittee"] = max(worst["drawCommittee"], receipt["gasUsed"])
        for m in members[:3]:
            r = sc.as_(sc.by_address(m)).attest(sid, approve, 123_456, Reason.OK if approve else Reason.ROOT_MISMATCH)
            worst["attest"] = max(worst["attest"], r["gasUsed"])
        worst["finalize"] = max(worst["finalize"], sc.pogo.finalize(sid)["gasUsed"])
        for seat in range(len(members)):
            worst["settleSeat"] = max(worst["settleSeat"], sc.pogo.settle_seat(sid, seat)["gasUsed"])
    sc.mine(40)
    gas["closeRound"] = sc.pogo.close_round(task)["gasUsed"]
    gas["claimReward"] = sc.pogo.claim_reward(1)["gasUsed"]
    # Round 1: the same miners again, the steady state of a running network.
    gas["submitUpdate"] = max(submit(0, 10)[1], submit(1, 11)[1])
    gas["submitUpdate_first_ever"] = firsts[0]       # also pays for the contract's first submission id
    gas["submitUpdate_first_by_miner"] = firsts[1]   # a miner's first update to this task
    gas.update(worst)
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
