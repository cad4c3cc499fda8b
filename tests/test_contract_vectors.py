"""The Solidity libraries against the shared vectors (the Python side: test_vectors.py)."""

import random

import pytest
from web3.exceptions import ContractCustomError

from pogo.net.chain import ChainError, decode_revert
from pogo.protocol import seedstream
from tests.vectors import b, load


@pytest.fixture(scope="module")
def harness(clients, artifacts):
    return clients[0].deploy(artifacts["VectorHarness"])


def test_merkle_vectors_on_chain(harness):
    v = load("merkle")
    f = harness.functions
    assert f.hashNode(b(v["zero_hashes"][0]), b(v["zero_hashes"][0])).call() == b(v["zero_hashes"][1])
    for case in v["cases"]:
        for i, leaf in enumerate(case["leaves"]):
            assert f.hashLeaf(b(leaf)).call() == b(case["leaf_hashes"][i])
            proof = [b(p) for p in case["proofs"][i]]
            assert f.verify(proof, b(case["root"]), b(case["leaf_hashes"][i]), i).call()
            assert f.processProof(proof, b(case["leaf_hashes"][i]), i).call() == b(case["root"])
            wrong_leaf = b(case["leaf_hashes"][(i + 1) % len(case["leaves"])])
            if wrong_leaf != b(case["leaf_hashes"][i]):
                assert not f.verify(proof, b(case["root"]), wrong_leaf, i).call()
    deep = v["deep"]
    assert f.verify([b(p) for p in deep["proof"]], b(deep["root"]), b(deep["leaf_hash"]), deep["index"]).call()


def test_proof_index_beyond_the_tree_reverts(harness, artifacts):
    case = load("merkle")["cases"][2]  # 3 leaves, depth 2
    proof = [b(p) for p in case["proofs"][1]]
    with pytest.raises(ContractCustomError) as err:
        harness.functions.processProof(proof, b(case["leaf_hashes"][1]), 1 + 4).call()
    decoded = decode_revert(artifacts["VectorHarness"].abi, err.value.data)
    assert decoded.name == "IndexOutOfRange" and decoded.args_ == (5, 2)


def test_seedstream_vectors_on_chain(harness):
    v = load("seedstream")
    f = harness.functions
    committee, leaves = f.tags().call()
    assert committee == b(v["tags"]["pogo.committee"]) and leaves == b(v["tags"]["pogo.leaves"])
    for s in v["shards"]:
        assert f.shardOf(s["task_id"], s["round"], s["miner"], s["n_shards"]).call() == s["shard"]
    for s in v["seeds"]:
        assert f.challengeSeed(b(s["next_block_hash"]), s["submission_id"], b(s["new_root"])).call() == b(s["seed"])
    for p in v["purposes"]:
        assert f.purpose(p["tag"], p["seat"]).call() == b(p["purpose"])
    for d in v["draws"]:
        assert f.draw(b(d["seed"]), b(d["purpose"]), d["k"]).call() == int(d["value"])


def test_stake_tree_draws_match_python(clients, artifacts, snapshot):
    tree = clients[0].deploy(artifacts["StakeTreeHarness"])
    rng = random.Random(7)
    weights = [rng.choice([0, 1, 5, 10**18, 3 * 10**18]) for _ in range(40)]
    for slot, w in enumerate(weights, start=1):
        clients[0].transact(tree, "set", slot, w)
    clients[0].transact(tree, "set", 3, 7)  # a weight that goes down and up again
    weights[2] = 7
    total = sum(weights)
    assert tree.functions.total().call() == 0  # draws see the epoch as it began
    clients[0].transact(tree, "setEpoch", 1)
    assert tree.functions.total().call() == total == tree.functions.current().call()
    prefix = [sum(weights[:i + 1]) for i in range(len(weights))]
    rs = [0, 1, total - 1] + [rng.randrange(total) for _ in range(30)]
    expected = [next(i for i, c in enumerate(prefix) if c > r) + 1 for r in rs]
    assert [tree.functions.find(r).call() for r in rs] == expected
    # Changes within an epoch leave its draws alone; the next epoch sees them.
    clients[0].transact(tree, "set", 1, weights[0] + 10**18)
    clients[0].transact(tree, "set", 40, 0)
    assert tree.functions.total().call() == total
    assert [tree.functions.find(r).call() for r in rs] == expected
    clients[0].transact(tree, "setEpoch", 2)
    assert tree.functions.total().call() == total + 10**18 - weights[39]
    for bad in (0, 4097):
        with pytest.raises(ChainError, match="SlotOutOfRange"):
            clients[0].transact(tree, "set", bad, 1)
    # The committee draw of the vectors, on chain weights.
    c = load("seedstream")["committees"][1]
    assert seedstream.draw_committee(b(c["seed"]), c["weights"], c["size"], c["exclude"]) == c["slots"]
