"""Leaf fraud proofs on a real Anvil node (PROTOCOL.md D11): one honest party with one leaf
rejects a wrong update or aggregate at once, in every state where it still matters, and is paid
for it; a wrong proof reverts and changes nothing."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from deploy import scenario
from deploy.scenario import Scenario, mine
from pogo.net.chain import ChainError
from pogo.net.contract import FraudKind, Reason, Status
from pogo.protocol import aggregate, checkpoint, difffile, fraud, merkle

LEAF = 64
N_PARAMS = 3 * LEAF + 10          # 4 leaves, the last one mostly padding: depth 2
BAD_LEAF = 2


@pytest.fixture(scope="module")
def sc(w3, deployed) -> Scenario:
    snap = w3.provider.make_request("evm_snapshot", [])["result"]
    yield scenario.build(w3, pogo=deployed)
    w3.provider.make_request("evm_revert", [snap])


class Model:
    """A small real model and honest updates of it, with the trees a proof reads."""

    def __init__(self, seed: int = 1, groups: int = 0):
        rng = np.random.default_rng(seed)
        self.groups = groups  # 0: dense diffs; k: sparse, k of each leaf's groups (PROTOCOL D13)
        self.rng = rng
        self.prev = checkpoint.pad(rng.standard_normal(N_PARAMS).astype(np.float32) * np.float32(0.02), LEAF)
        self.tree = checkpoint.model_tree(self.prev, LEAF)

    def update(self) -> difffile.Quantized:
        raw = self.prev[:N_PARAMS] + self.rng.standard_normal(N_PARAMS).astype(np.float32) * np.float32(1e-3)
        return difffile.make_diff(self.prev[:N_PARAMS], raw, LEAF, self.tree.root, self.groups)


def corrupted(theta: np.ndarray, leaf: int = BAD_LEAF) -> merkle.MerkleTree:
    """The tree of theta with one parameter of one leaf moved by one ulp: what a spot check misses."""
    bad = theta.copy()
    j = leaf * LEAF + 5
    bad[j] = np.nextafter(bad[j], np.float32(1))
    return checkpoint.model_tree(bad, LEAF)


def proof_for(m: Model, claimed: merkle.MerkleTree, q: difffile.Quantized, leaf: int = BAD_LEAF) -> fraud.LeafProof:
    return fraud.build(leaf, m.prev, LEAF, m.tree, claimed.levels[0][leaf], claimed.proof(leaf),
                       [q.diff.records], [q.diff_tree])


def expect(name: str):
    return pytest.raises(ChainError, match=rf"^transaction reverted: {name}\(")


def balanced(sc: Scenario) -> bool:
    return sc.pogo.accounted_balance() == sc.pogo.balance()


@pytest.fixture
def model(sc, snapshot, request) -> tuple[Model, int]:
    m = Model(groups=getattr(request, "param", 0))
    return m, sc.create_task(initial_root=m.tree.root, n_params=N_PARAMS, leaf_size=LEAF)


def cheat(sc: Scenario, m: Model, task: int, miner: int = 0) -> tuple[int, fraud.LeafProof]:
    q = m.update()
    bad = corrupted(q.theta_new)
    sid = sc.submit(sc.miners[miner], task, bad.root, q.diff_tree.root)
    return sid, proof_for(m, bad, q)


@pytest.mark.parametrize("model", [0], indirect=True)
@pytest.mark.parametrize("state", ["pending", "voting", "accepted", "not_accepted", "expired"])
def test_one_wrong_leaf_is_rejected_by_one_proof_and_the_prover_is_paid(sc, model, state):
    m, task = model
    miner, prover = sc.miners[0], sc.verifiers[0]
    sid, proof = cheat(sc, m, task)
    members: list[str] = []
    if state != "pending":
        members, _ = sc.draw(sid)
    if state == "accepted":
        sc.vote(sid, [(x, True, 50_000, Reason.OK) for x in members])
        sc.pogo.finalize(sid)
        assert sc.pogo.task(task).open == 0 and sc.pogo.contract.functions.rounds(task, 0).call()[0] == 1
    elif state == "not_accepted":
        sc.vote(sid, [(x, False, 0, Reason.NO_PROGRESS) for x in members])
        sc.pogo.finalize(sid)
    elif state == "expired":
        sc.to_vote_reveals(sid)
        mine(sc.w3, sc.pogo.task(task).params.vote_blocks)
        sc.pogo.finalize(sid)
    elif state == "voting":
        sc.commit_votes(sid, [(members[0], True, 1, Reason.OK)])  # a member already committed an approval
    before = sc.pogo.submission(sid).status
    stake, pool = sc.pogo.account(miner.address)["stake"], sc.pogo.task(task).pool

    receipt = sc.as_(prover).prove_leaf_fraud(sid, proof.encode())

    s = sc.pogo.submission(sid)
    # Open or accepted: rejected at once. Expired or refused: the status stays, so do its seats' rules.
    assert s.fraud and s.status == (before if before in (Status.EXPIRED, Status.NOT_ACCEPTED) else Status.REJECTED)
    p = sc.pogo.task(task).params
    committee_share = p.miner_bond * p.miner_slash_bps // 10_000
    assert sc.pogo.account(miner.address)["stake"] == stake - p.miner_bond  # the whole bond
    assert sc.pogo.account(miner.address)["locked"] == 0
    assert sc.pogo.withdrawable(prover.address) == p.miner_bond - committee_share  # the bounty
    assert sc.pogo.task(task).pool == pool + committee_share
    event = sc.pogo.events(receipt, "LeafFraudProven")[0]
    assert (event["leaf"], event["kind"], event["minerSlash"], event["bounty"]) == (
        BAD_LEAF, FraudKind.MISMATCH, p.miner_bond, p.miner_bond - committee_share)
    assert sc.pogo.task(task).open == 0
    assert receipt["gasUsed"] < 1_000_000
    if s.status == Status.REJECTED:  # the seats go free, neither paid nor slashed: no verdict was needed
        for seat, member in enumerate(members):
            if not sc.pogo.contract.functions.votes(sid, seat).call()[3]:  # not settled yet
                stake_v, paid = sc.pogo.account(member)["stake"], sc.pogo.withdrawable(member)
                sc.pogo.settle_seat(sid, seat)
                assert sc.pogo.account(member)["stake"] == stake_v and sc.pogo.withdrawable(member) == paid
            assert sc.pogo.account(member)["locked"] == 0
    # The round closes without it: the head stays, no reward.
    sc.to_close(task)
    sc.pogo.close_round(task)
    assert sc.pogo.task(task).head_root == m.tree.root and sc.pogo.contract.functions.rounds(task, 0).call()[0] == 0
    with expect("WrongStatus"):
        sc.pogo.claim_reward(sid)
    with expect("NotOpen"):  # once is enough
        sc.as_(prover).prove_leaf_fraud(sid, proof.encode())
    assert balanced(sc)


def test_a_miner_proving_its_own_fraud_loses_what_a_committee_rejection_takes(sc, model):
    """Review finding: with half the slash as the bounty, a cheater about to be rejected proved its
    own fraud and halved its loss. The whole bond is forfeited; the prover gets what exceeds the
    committee's share, so the miner still loses minerSlashBps of its bond."""
    m, task = model
    sid, proof = cheat(sc, m, task)
    miner = sc.miners[0]
    total = sc.pogo.account(miner.address)["stake"] + sc.pogo.withdrawable(miner.address)
    sc.as_(miner).prove_leaf_fraud(sid, proof.encode())
    p = sc.pogo.task(task).params
    after = sc.pogo.account(miner.address)["stake"] + sc.pogo.withdrawable(miner.address)
    assert total - after == p.miner_bond * p.miner_slash_bps // 10_000


def test_a_head_with_a_non_zero_padding_cannot_make_an_honest_update_provable(sc, snapshot):
    """Review finding: a task whose initial checkpoint had a non-zero pad made every honest update
    "provably" wrong in its last leaf (the miner pads with zeros, the rebuild added the pad). The
    padding of a new model is +0 whatever the head's, on chain and in Python."""
    m = Model(seed=3)
    m.prev[N_PARAMS:] = np.float32(1.0)  # the creator's choice
    m.tree = checkpoint.model_tree(m.prev, LEAF)
    task = sc.create_task(initial_root=m.tree.root, n_params=N_PARAMS, leaf_size=LEAF)
    honest = m.update()  # make_diff pads the head's parameters with zeros
    assert np.array_equal(honest.diff.apply(m.prev), honest.theta_new)  # what every verifier rebuilds
    sid = sc.submit(sc.miners[0], task, honest.new_tree.root, honest.diff_tree.root)
    last = N_PARAMS // LEAF
    with expect("NoFraud"):
        sc.pogo.prove_leaf_fraud(sid, proof_for(m, honest.new_tree, honest, leaf=last).encode())


def test_a_correct_leaf_cannot_be_proven_and_a_wrong_proof_changes_nothing(sc, model):
    m, task = model
    honest = m.update()
    sid = sc.submit(sc.miners[0], task, honest.new_tree.root, honest.diff_tree.root)
    good = proof_for(m, honest.new_tree, honest)
    prover = sc.as_(sc.verifiers[0])
    with expect("NoFraud"):
        prover.prove_leaf_fraud(sid, good.encode())
    # Every part of a proof is checked before anything is rebuilt.
    bad_prev = bytearray(good.prev_leaf)
    bad_prev[0] ^= 1
    bad_record = bytearray(good.records[0])
    bad_record[-1] ^= 0x10
    cases = [
        (replace(good, prev_leaf=bytes(bad_prev)), "BadProof", "prevProof"),
        (replace(good, prev_leaf=good.prev_leaf[:-4]), "BadProof", "prevLeaf length"),
        (replace(good, claimed_leaf_hash=bytes(32)), "BadProof", "newProof"),
        (replace(good, new_proof=good.new_proof[:-1]), "BadProof", "newProof"),
        (replace(good, records=[bytes(bad_record)]), "BadProof", "recordProof"),
        (replace(good, records=[good.records[0][:-1]]), "BadProof", "recordProof"),
        (replace(good, records=[], record_proofs=[]), "BadProof", "records"),
        (replace(good, leaf=4), "BadProof", "leaf"),
        (replace(good, leaf=1), "BadProof", "prevProof"),  # another leaf's data under this index
        (replace(good, sources=[sid]), "BadSources", None),
    ]
    for wrong, error, what in cases:
        with pytest.raises(ChainError) as err:
            prover.prove_leaf_fraud(sid, wrong.encode())
        assert err.value.name == error and (what is None or err.value.args_ == (what,)), (what, err.value)
    with pytest.raises(ChainError):
        prover.prove_leaf_fraud(sid, b"\x00" * 40)  # not a proof at all
    s = sc.pogo.submission(sid)
    assert s.status == Status.PENDING and not s.fraud and sc.pogo.withdrawable(sc.verifiers[0].address) == 0
    assert balanced(sc)


def test_no_proof_once_the_round_has_closed_or_the_update_was_rejected(sc, model):
    m, task = model
    sid, proof = cheat(sc, m, task)
    members, _ = sc.draw(sid)
    sc.vote(sid, [(x, True, 50_000, Reason.OK) for x in members])
    sc.pogo.finalize(sid)
    sc.to_close(task)
    sc.pogo.close_round(task)  # the wrong update is the head now: too late, by design (D11)
    with expect("NotOpen"):
        sc.pogo.prove_leaf_fraud(sid, proof.encode())

    m2 = Model(seed=2)
    task2 = sc.create_task(initial_root=m2.tree.root, n_params=N_PARAMS, leaf_size=LEAF)
    sid2, proof2 = cheat(sc, m2, task2, miner=1)
    members, _ = sc.draw(sid2)
    sc.vote(sid2, [(x, False, 0, Reason.ROOT_MISMATCH) for x in members])
    sc.pogo.finalize(sid2)
    with expect("NotOpen"):  # already slashed by its committee
        sc.pogo.prove_leaf_fraud(sid2, proof2.encode())


def test_a_malformed_record_is_proven(sc, model):
    m, task = model
    q = m.update()
    records = q.diff.records.copy()
    records[BAD_LEAF, 0] = 0xFF  # a scale byte out of range
    tree = difffile.records_tree(records)
    sid = sc.submit(sc.miners[0], task, q.new_tree.root, tree.root)
    proof = fraud.build(BAD_LEAF, m.prev, LEAF, m.tree, q.new_tree.levels[0][BAD_LEAF], q.new_tree.proof(BAD_LEAF),
                        [records], [tree])
    receipt = sc.pogo.prove_leaf_fraud(sid, proof.encode())
    assert sc.pogo.events(receipt, "LeafFraudProven")[0]["kind"] == FraudKind.MALFORMED_RECORD
    assert sc.pogo.submission(sid).status == Status.REJECTED


@pytest.mark.parametrize("model", [0, 1], indirect=True, ids=["dense", "sparse"])
def test_a_wrong_aggregate_is_rejected_by_a_proof_that_names_the_rounds_accepted_updates(sc, model):
    m, task = model
    updates = [m.update(), m.update()]
    head = m.tree.root
    salts = [sc.commit(sc.miners[i], task, head, u.new_tree.root, u.diff_tree.root) for i, u in enumerate(updates)]
    sc.to_reveals(task)
    sids = [sc.reveal(sc.miners[i], task, head, u.new_tree.root, u.diff_tree.root, salt)
            for i, (u, salt) in enumerate(zip(updates, salts))]
    for sid in sids:
        members, _ = sc.draw(sid)
        sc.vote(sid, [(x, True, 50_000, Reason.OK) for x in members])
        sc.pogo.finalize(sid)
    sc.to_close(task)
    sc.pogo.close_round(task)
    assert sc.pogo.task(task).aggregating

    average = aggregate.aggregate(m.prev, [u.diff for u in updates])
    bad = corrupted(average)
    sources_root = aggregate.sources_root([u.diff_tree.root for u in updates])
    agg, _ = sc.as_(sc.miners[2]).propose_aggregate(task, bad.root, sources_root, "d", "t", "c")
    proof = fraud.build(BAD_LEAF, m.prev, LEAF, m.tree, bad.levels[0][BAD_LEAF], bad.proof(BAD_LEAF),
                        [u.diff.records for u in updates], [u.diff_tree for u in updates], sources=sids)
    prover = sc.as_(sc.verifiers[1])
    for wrong in ([sids[0]], [sids[1], sids[0]], [sids[0], sids[0]], [sids[0], agg]):
        records = [u.diff.records for u in updates][:len(wrong)]
        trees = [u.diff_tree for u in updates][:len(wrong)]
        with expect("BadSources"):
            prover.prove_leaf_fraud(agg, replace(proof, sources=wrong, records=[r[BAD_LEAF].tobytes() for r in records],
                                                 record_proofs=[t.proof(BAD_LEAF) for t in trees]).encode())
    # The exact average itself cannot be accused.
    good_tree = checkpoint.model_tree(average, LEAF)
    honest, _ = sc.as_(sc.miners[0]).propose_aggregate(task, good_tree.root, sources_root, "d", "t", "c")
    with expect("NoFraud"):
        prover.prove_leaf_fraud(honest, replace(proof, claimed_leaf_hash=good_tree.levels[0][BAD_LEAF],
                                                new_proof=good_tree.proof(BAD_LEAF)).encode())
    receipt = prover.prove_leaf_fraud(agg, proof.encode())
    assert sc.pogo.submission(agg).status == Status.REJECTED
    assert sc.pogo.events(receipt, "LeafFraudProven")[0]["bounty"] > 0
    assert balanced(sc)


@pytest.mark.parametrize("model", [1], indirect=True)
def test_a_sparse_update_is_proven_leaf_by_leaf_like_a_dense_one(sc, model):
    """A sparse diff (PROTOCOL.md D13: one of each leaf's two groups) is checked on chain by the
    dense rule after expansion: its honest leaf cannot be accused, a wrong one is proven, and a
    record naming a group beyond the leaf is a malformed record; a record whose length is neither
    dense nor sparse is no proof."""
    m, task = model
    honest = m.update()
    assert honest.diff.header.groups == 1 and honest.diff.records.shape[1] == 19
    sid = sc.submit(sc.miners[0], task, honest.new_tree.root, honest.diff_tree.root)
    good = proof_for(m, honest.new_tree, honest)
    with expect("NoFraud"):
        sc.pogo.prove_leaf_fraud(sid, good.encode())
    with pytest.raises(ChainError) as err:  # a record the diff root does not commit to
        sc.pogo.prove_leaf_fraud(sid, replace(good, records=[bytes(38)]).encode())
    assert err.value.name == "BadProof" and err.value.args_ == ("recordProof",)

    task = sc.create_task(initial_root=m.tree.root, n_params=N_PARAMS, leaf_size=LEAF)  # one submission a round here
    sid, proof = cheat(sc, m, task, miner=1)
    receipt = sc.pogo.prove_leaf_fraud(sid, proof.encode())
    assert sc.pogo.events(receipt, "LeafFraudProven")[0]["kind"] == FraudKind.MISMATCH
    assert receipt["gasUsed"] < 1_000_000

    q = m.update()
    records = q.diff.records.copy()
    records[BAD_LEAF, :2] = np.array([2], "<u2").view(np.uint8)  # group 2 of a two-group leaf
    tree = difffile.records_tree(records)
    task = sc.create_task(initial_root=m.tree.root, n_params=N_PARAMS, leaf_size=LEAF)
    sid = sc.submit(sc.miners[2], task, q.new_tree.root, tree.root)
    proof = fraud.build(BAD_LEAF, m.prev, LEAF, m.tree, q.new_tree.levels[0][BAD_LEAF], q.new_tree.proof(BAD_LEAF),
                        [records], [tree])
    receipt = sc.pogo.prove_leaf_fraud(sid, proof.encode())
    assert sc.pogo.events(receipt, "LeafFraudProven")[0]["kind"] == FraudKind.MALFORMED_RECORD
    assert balanced(sc)


@pytest.mark.parametrize("length", [0, 20, 38], ids=["empty", "no-layout", "all-groups"])
def test_a_committed_record_in_neither_layout_is_proven_malformed(sc, model, length):
    """Review finding: a diff root may commit to a record that is neither dense (17 L / 32 bytes)
    nor sparse (19 k bytes, 1 <= k < L/32). With its Merkle proof that is the miner's provable
    fault, not an unprovable proof: otherwise a wrong leaf behind such a record escaped."""
    m, task = model
    q = m.update()
    records = [bytes(r.tobytes()) for r in q.diff.records]
    records[BAD_LEAF] = bytes(length)
    tree = merkle.MerkleTree.from_leaf_hashes([merkle.hash_leaf(r) for r in records])
    wrong = corrupted(q.theta_new)
    sid = sc.submit(sc.miners[0], task, wrong.root, tree.root)
    proof = fraud.LeafProof(BAD_LEAF, m.prev[BAD_LEAF * LEAF:(BAD_LEAF + 1) * LEAF].astype("<f4").tobytes(),
                            m.tree.proof(BAD_LEAF), wrong.levels[0][BAD_LEAF], wrong.proof(BAD_LEAF), [],
                            [records[BAD_LEAF]], [tree.proof(BAD_LEAF)])
    receipt = sc.pogo.prove_leaf_fraud(sid, proof.encode())
    assert sc.pogo.events(receipt, "LeafFraudProven")[0]["kind"] == FraudKind.MALFORMED_RECORD
    assert sc.pogo.submission(sid).status == Status.REJECTED and balanced(sc)


def test_the_gas_of_a_whole_proof_for_a_4096_parameter_leaf_at_depth_26_does_not_grow(sc, snapshot):
    """Gas is deterministic: this guards the benchmark's synthetic figure (benchmarks.gas,
    proveLeafFraud_synthetic: 2.78M when written) and the dearest leaf a miner can make with its
    steps (proveLeafFraud_miner_forced_cancellation: 2.86M) at the issue's 3M. Leaves of a real
    first-round update cost 2.72M at most (PROTOCOL.md D11 gives the figures)."""
    from benchmarks.gas import forced_cancellation, prove_leaf_fraud

    gas = prove_leaf_fraud(sc)
    assert gas <= 3_000_000, gas
    gas = prove_leaf_fraud(sc, *forced_cancellation())
    assert gas <= 3_000_000, gas


def test_the_gas_of_an_aggregate_leaf_rebuild_does_not_grow(sc):
    """benchmarks.gas, aggregate_leaf_rebuild_k3: 15.8M when written (a whole proof adds about
    0.35M): an aggregate of three updates stays provable within EIP-7825's 16.7M transaction cap."""
    from benchmarks.gas import aggregate_rebuild

    assert aggregate_rebuild(sc, 3) <= 16_400_000

