"""Gas of each PoGO transition on a real Anvil chain; prints JSON.

    python -m benchmarks.gas

Targets (issues 4, 11 and 15): an update's commit + reveal <= 200k, a vote's commit + reveal <=
110k, drawCommittee <= 250k, finalize <= 150k, one leaf proof at depth 26 <= 40k, a whole leaf
fraud proof for a 4096-parameter leaf at depth 26 <= 3M, measured on leaves of a real update
(`proveLeafFraud` is the most expensive of 12 leaves of one demo round trained from the initial
model, the largest steps relative to the weights a task sees), on a synthetic dense leaf, on the
dearest leaf a miner can make of such weights with its steps, and on a head of tiny weights (the
dearest leaf of all, beyond any miner's choice in the round). The update
figures are a returning miner's (the steady state); a miner's first update to a task and the
contract's first ever are reported beside them, since each pays once for fresh storage words.
Other transitions report their worst case seen: the rejected finalize (which slashes), the
reveal that reaches a quorum.
"""

from __future__ import annotations

import hashlib
import json
import tempfile

import numpy as np

from deploy import scenario
from deploy.scenario import ETH
from pogo.dev import compiler
from pogo.dev.devnet import Devnet
from pogo.net import chain
from pogo.net.contract import Reason
from pogo.protocol import commitment, difffile, fraud, merkle, mxint4
from tests.vectors import b, load

TARGETS = {"update_commit_plus_reveal": 200_000, "vote_commit_plus_reveal": 110_000, "drawCommittee": 250_000,
           "finalize": 150_000, "verify_leaf_proof_depth26": 40_000, "proveLeafFraud": 3_000_000}


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
    # Every seat so far is settled: the owner (a verifier) can leave. Later draws may seat it again.
    gas["leaveVerifierPool"] = sc.as_(sc.owner).leave_verifier_pool()["gasUsed"]
    gas["registerVerifier_reusing_a_slot"] = sc.as_(sc.owner).register_verifier()["gasUsed"]
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
    prev, records = real_update()
    leaves = np.linspace(0, records.shape[0] - 1, 12).astype(int)
    real = sorted(prove_leaf_fraud(sc, prev[i * 4096:(i + 1) * 4096], records[i]) for i in leaves)
    gas["proveLeafFraud"] = real[-1]
    gas["proveLeafFraud_real_update_median"] = real[len(real) // 2]
    gas["proveLeafFraud_real_update_min"] = real[0]
    gas["proveLeafFraud_synthetic"] = prove_leaf_fraud(sc)
    gas["proveLeafFraud_miner_forced_cancellation"] = prove_leaf_fraud(sc, *forced_cancellation())
    rng = np.random.default_rng(3)  # weights below 2^-103 take the general addition, at any step
    tiny = rng.standard_normal(4096).astype(np.float32) * np.float32(2.0**-110)
    q = rng.choice(np.array([-8, -7, -6, -5, -4, -3, -2, -1, 1, 2, 3, 4, 5, 6, 7], dtype=np.int8), 4096)
    gas["proveLeafFraud_head_of_tiny_weights"] = prove_leaf_fraud(
        sc, tiny, difffile.encode_records(q, np.full(4096 // mxint4.GROUP_SIZE, 7, np.uint8), 4096))
    for k in (2, 3, 5, 7):
        gas[f"aggregate_leaf_rebuild_k{k}"] = aggregate_rebuild(sc, k)
    for groups in (1, 2, 8, 32, 127):  # sparse records (D13): expanded on chain, then the dense rule
        gas[f"proveLeafFraud_sparse_k{groups}"] = prove_leaf_fraud(sc, *sparse_leaf(groups))
    return gas


def sparse_leaf(groups: int, leaf_size: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """A synthetic leaf (as in prove_leaf_fraud) and a sparse record of its k largest groups: (the leaf, its record)."""
    rng = np.random.default_rng(17)
    prev = rng.standard_normal(leaf_size).astype(np.float32) * np.float32(0.02)
    raw = prev + rng.standard_normal(leaf_size).astype(np.float32) * np.float32(0.005)
    return prev, difffile.make_diff(prev, raw, leaf_size, groups=groups).diff.records[0]


def aggregate_rebuild(sc: scenario.Scenario, k: int, leaf_size: int = 4096) -> int:
    """The gas of LeafFraud.rebuild (an eth_call) for one leaf of an aggregate of k synthetic dense
    updates (as in prove_leaf_fraud): the bulk of a proof against an aggregate, which adds about
    0.35M of calldata, Merkle proofs and hashing on top."""
    from pogo.net import artifacts

    rng = np.random.default_rng(16 + k)
    prev = rng.standard_normal(leaf_size).astype(np.float32) * np.float32(0.02)
    records = []
    for _ in range(k):
        q = rng.choice(np.array([-8, -7, -6, -5, -4, -3, -2, -1, 1, 2, 3, 4, 5, 6, 7], dtype=np.int8), leaf_size)
        scales = rng.integers(127 - 14, 127 - 8, leaf_size // mxint4.GROUP_SIZE).astype(np.uint8)
        records.append(difffile.encode_records(q, scales, leaf_size)[0].tobytes())
    checker = sc.w3.eth.contract(address=sc.pogo.contract.functions.leafFraud().call(),
                                 abi=artifacts.load("LeafFraud").abi)
    return checker.functions.rebuild(prev.astype("<f4").tobytes(), records, leaf_size).estimate_gas()


def real_update(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """One round of the demo task from its initial model, as a miner makes it (30 Adam steps at the
    task's learning rate), quantized: (the padded initial model, the diff's records)."""
    import torch

    from deploy.corpus import load_corpus
    from pogo.model import manifest
    from pogo.model.gpt import GPT, GPTConfig
    from pogo.protocol import checkpoint
    from workers.trainer import train_plain

    torch.manual_seed(seed)
    net = GPT(GPTConfig.small())
    prev = manifest.flatten(net).copy()
    train_plain(net, load_corpus().tokens[:200_000], steps=30, batch_size=8, seed=seed + 1)
    q = difffile.make_diff(prev, manifest.flatten(net), 4096)
    return checkpoint.pad(prev, 4096), q.diff.records


def forced_cancellation(leaf_size: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """A miner's try at a dear proof: weights of std 0.02, and per group of 32 the scale whose
    steps cancel the most weights to within 1/64 of themselves (the cancelling sums take the
    rebuild's longer path): (the leaf, its record)."""
    rng = np.random.default_rng(4)
    prev = rng.standard_normal(leaf_size).astype(np.float32) * np.float32(0.02)
    q = np.zeros(leaf_size, np.int8)
    scales = np.zeros(leaf_size // mxint4.GROUP_SIZE, np.uint8)
    for g in range(leaf_size // mxint4.GROUP_SIZE):
        a = prev[g * 32:(g + 1) * 32].astype(np.float64)
        best = (-1, 0, q[:0])
        for e8 in range(100, 127):
            qq = np.clip(np.round(-a / 2.0 ** (e8 - 127)), -8, 7)
            cancelled = int(((np.abs(a + qq * 2.0 ** (e8 - 127)) < np.abs(a) / 64) & (qq != 0)).sum())
            best = max(best, (cancelled, e8, qq), key=lambda b: b[0])
        scales[g], q[g * 32:(g + 1) * 32] = best[1], best[2]
    return prev, difffile.encode_records(q, scales, leaf_size)


def prove_leaf_fraud(sc: scenario.Scenario, prev: np.ndarray | None = None, record: np.ndarray | None = None,
                     depth: int = 26) -> int:
    """The whole transaction of one leaf fraud proof against an update of a model with 2^(depth-1)
    + 1 leaves (137 billion parameters at depth 26), one value of the claimed leaf off by one ulp.
    The leaf is `prev` with its diff `record`, or by default a synthetic dense one: weights of
    std 0.02, every element updated (no q = 0 shortcut) by steps of up to half a weight. The
    three trees are built from their siblings alone, like the depth-26 proof above."""
    leaf_size = 4096
    rng = np.random.default_rng(15)
    n_leaves = (1 << (depth - 1)) + 1
    index = n_leaves - 2  # a full leaf near the end: every proof level is a real sibling
    if prev is None or record is None:
        prev = rng.standard_normal(leaf_size).astype(np.float32) * np.float32(0.02)
        q = rng.choice(np.array([-8, -7, -6, -5, -4, -3, -2, -1, 1, 2, 3, 4, 5, 6, 7], dtype=np.int8), leaf_size)
        scales = rng.integers(127 - 14, 127 - 8, leaf_size // mxint4.GROUP_SIZE).astype(np.uint8)
        record = difffile.encode_records(q, scales, leaf_size)
    record = np.asarray(record, dtype=np.uint8).reshape(1, -1)
    groups = 0 if record.size == difffile.record_size(leaf_size) else record.size // difffile.record_size(leaf_size, groups=1)
    header = difffile.DiffHeader(leaf_size, leaf_size, mxint4.GROUP_SIZE, bytes(32), bytes(32), bytes(32), groups)
    new = difffile.Diff(header, record).apply(prev)
    new[17] = np.nextafter(new[17], np.float32(1))
    siblings = [[hashlib.sha256(bytes([t, k])).digest() for k in range(depth)] for t in range(3)]
    prev_root = merkle.root_from_proof(merkle.hash_leaf(prev.tobytes()), index, siblings[0])
    diff_root = merkle.root_from_proof(merkle.hash_leaf(record[0].tobytes()), index, siblings[1])
    claimed = merkle.hash_leaf(new.tobytes())
    new_root = merkle.root_from_proof(claimed, index, siblings[2])
    task = sc.create_task(initial_root=prev_root, n_params=n_leaves * leaf_size, leaf_size=leaf_size)
    sc.as_(sc.miners[0]).stake(ETH)  # what the previous proof forfeited: each proof finds the bond
    sid = sc.submit(sc.miners[0], task, new_root, diff_root)
    proof = fraud.LeafProof(index, prev.astype("<f4").tobytes(), siblings[0], claimed, siblings[2], [],
                            [record[0].tobytes()], [siblings[1]])
    return sc.as_(sc.verifiers[0]).prove_leaf_fraud(sid, proof.encode())["gasUsed"]


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
