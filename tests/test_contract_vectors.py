"""The Solidity libraries against the shared vectors (the Python side: test_vectors.py)."""

import random

import pytest
from web3.exceptions import ContractCustomError

from pogo.errors import FormatError
from pogo.net import artifacts as pogo_artifacts
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


def _u32(hex_str: str) -> list[int]:
    raw = b(hex_str)
    return [int.from_bytes(raw[i:i + 4], "big") for i in range(0, len(raw), 4)]


def test_float32_on_chain_matches_numpy_bit_for_bit(harness):
    """Float32.sol (the fraud proof's arithmetic) against numpy on every vector: 11,000 random
    pairs and the edge cases (ties, subnormals, signed zeros, carry into infinity, NaN payloads,
    infinities, q 2^e at both scale clamps)."""
    v = load("float32")
    f = harness.functions
    for op, fn in (("add", f.f32Add), ("mul", f.f32Mul)):
        a, b_, out = (_u32(v[op][k]) for k in ("a", "b", "out"))
        got = []
        for i in range(0, len(a), 1500):  # batches within the node's call gas cap
            got += fn(a[i:i + 1500], b_[i:i + 1500]).call()
        wrong = [(hex(x), hex(y), hex(g), hex(w)) for x, y, g, w in zip(a, b_, got, out) if g != w]
        assert not wrong, f"{op}: {len(wrong)} of {len(a)} differ, first {wrong[:3]} (a, b, solidity, numpy)"
    assert f.f32Reciprocal(v["reciprocal"]["k"]).call() == v["reciprocal"]["out"]


def test_leaf_rebuild_on_chain_matches_the_protocol(deployed):
    """LeafFraud.rebuild, the core of the fraud proof, against the Python rule for one update
    and aggregates of 2, 3 and 5, with every special value in the leaf; malformed records are named."""
    fraud = deployed.w3.eth.contract(address=deployed.contract.functions.leafFraud().call(),
                                     abi=pogo_artifacts.load("LeafFraud").abi)
    for case in load("leaf")["cases"]:
        leaf, malformed = fraud.functions.rebuild(b(case["prev"]), [b(r) for r in case["records"]], case["valid"]).call()
        assert malformed == case["malformed"], case.get("what")
        if not malformed:
            assert leaf == b(case["new"])


def test_update_and_aggregate_rebuilds_match_numpy_on_random_leaves(deployed):
    """The assembly fast path of LeafFraud.rebuild (one update) and the Solidity aggregate path
    against numpy on whole random leaves: weights of every size, random bit patterns (NaN, inf,
    subnormals included), tiny and huge values, scales over the whole range [7, 247], and sources
    that leave groups all-zero (each group averaged over its movers, D14)."""
    import numpy as np

    from pogo.protocol import aggregate, difffile

    fraud = deployed.w3.eth.contract(address=deployed.contract.functions.leafFraud().call(),
                                     abi=pogo_artifacts.load("LeafFraud").abi)
    rng = np.random.default_rng(2026)

    def leaf_of(kind: str, n: int) -> np.ndarray:
        if kind == "weights":
            return (rng.standard_normal(n) * rng.choice([1e-4, 0.02, 1.0], n)).astype(np.float32)
        if kind == "bits":
            return rng.integers(0, 2**32, n, dtype=np.uint64).astype(np.uint32).view(np.float32)
        if kind == "tiny":
            return (rng.integers(0, 2**26, n, dtype=np.uint64) | (rng.integers(0, 2, n) << 31).astype(np.uint64)
                    ).astype(np.uint32).view(np.float32)
        return (np.clip(rng.standard_normal(n), -1.1, 1.1) * 3e38).astype(np.float32)  # near the largest finite

    def record(n: int, low: int, high: int) -> np.ndarray:
        q = rng.integers(-8, 8, n).astype(np.int8)
        scales = rng.integers(low, high + 1, n // 32).astype(np.uint8)
        return difffile.encode_records(q, scales, n)[0]

    def header(n: int) -> difffile.DiffHeader:
        return difffile.DiffHeader(n, n, 32, bytes(32), bytes(32), bytes(32))

    for kind, low, high in (("weights", 100, 130), ("bits", 7, 247), ("tiny", 7, 40), ("huge", 200, 247)):
        prev = leaf_of(kind, 4096)
        rec = record(4096, low, high)
        with np.errstate(all="ignore"):
            expected = difffile.Diff(header(4096), rec.reshape(1, -1)).apply(prev)
        got, malformed = fraud.functions.rebuild(prev.tobytes(), [rec.tobytes()], 4096).call()
        assert not malformed
        diff = np.flatnonzero(np.frombuffer(got, "<u4") != expected.view("<u4"))
        assert diff.size == 0, (kind, [(hex(prev.view("<u4")[i]), hex(np.frombuffer(got, "<u4")[i]),
                                        hex(expected.view("<u4")[i])) for i in diff[:3]])
    # The edges of the main path (LeafFraud `step`): cancellation to 0, to a few bits and of 6 to 12
    # bits, a's shift sa = ea + 87 - xb near 24 and 188, ea near 24 and 253, per element at random.
    n = 4096
    rec = record(n, 7, 247)
    nib = np.repeat(rec[128:], 2) >> np.tile(np.array([0, 4], np.uint8), n // 2) & 15
    q = np.where(nib > 7, nib.astype(np.int64) - 16, nib)
    xb = np.repeat(rec[:128].astype(np.int64) + 22, 32)
    near = rng.integers(-3, 4, n)
    ea = np.select([near % 4 == 0, near % 4 == 1, near % 4 == 2], [xb - 63, xb + 101, np.full(n, 24)], 253) + near
    prev = ((rng.integers(0, 2, n) << 31) | (np.clip(ea, 0, 255) << 23) | rng.integers(0, 2**23, n)).astype(np.uint32)
    cancel = rng.random(n) < 0.3
    ulps = np.where(rng.random(n) < 0.5, near, rng.integers(2**12, 2**18, n) * rng.choice([-1, 1], n))
    prev[cancel] = ((-(q * np.exp2(xb - 149.0))).astype(np.float32).view(np.uint32).astype(np.int64)
                    + ulps)[cancel].astype(np.uint32)
    prev = prev.view(np.float32)
    with np.errstate(all="ignore"):
        expected = difffile.Diff(header(n), rec.reshape(1, -1)).apply(prev)
    got, _ = fraud.functions.rebuild(prev.tobytes(), [rec.tobytes()], n).call()
    diff = np.flatnonzero(np.frombuffer(got, "<u4") != expected.view("<u4"))
    assert diff.size == 0, ("edges", [(hex(prev.view("<u4")[i]), hex(expected.view("<u4")[i])) for i in diff[:3]])
    # `sparse`: the share of each source's groups left all-zero, as in sparse diffs (D14: every
    # group averaged over its 0 to k movers)
    for kind, k, low, high, valid, sparse in (("weights", 2, 100, 130, 1024, 0), ("weights", 3, 100, 130, 1000, 0),
                                              ("bits", 2, 7, 247, 1024, 0), ("tiny", 5, 7, 40, 1024, 0),
                                              ("huge", 3, 200, 247, 1024, 0), ("weights", 4, 100, 130, 1000, 0.6),
                                              ("bits", 5, 7, 247, 1024, 0.5)):
        prev = leaf_of(kind, 1024)
        recs = [record(1024, low, high) for _ in range(k)]
        for r in recs:  # no update of the padding: elements from `valid` on keep q = 0
            r[1024 // 32 + valid // 2:] = 0
            for g in np.flatnonzero(rng.random(1024 // 32) < sparse):
                r[1024 // 32 + 16 * g:1024 // 32 + 16 * (g + 1)] = 0
        with np.errstate(all="ignore"):
            header_k = difffile.DiffHeader(valid, 1024, 32, bytes(32), bytes(32), bytes(32))
            expected = aggregate.aggregate(prev, [difffile.Diff(header_k, r.reshape(1, -1)) for r in recs])
        got, malformed = fraud.functions.rebuild(prev.tobytes(), [r.tobytes() for r in recs], valid).call()
        assert not malformed and got == expected.astype("<f4").tobytes(), (kind, k, valid)


def test_sparse_vector_records_expand_on_chain(deployed):
    """The stored sparse vector (tests/vectors/sparse.json, checked by Python in test_vectors):
    LeafFraud.expand gives each record's dense expansion and refuses the malformed indices."""
    fraud = deployed.w3.eth.contract(address=deployed.contract.functions.leafFraud().call(),
                                     abi=pogo_artifacts.load("LeafFraud").abi)
    v = load("sparse")
    n_scales = v["leaf_size"] // 32
    for record, dense in zip(v["records"], v["dense_records"]):
        assert fraud.functions.expand(b(record), n_scales).call() == [b(dense), False]
    for case in v["malformed"]:
        assert fraud.functions.expand(b(case["record"]), n_scales).call()[1], case["index"]


def test_sparse_records_expand_on_chain_as_in_python(deployed):
    """LeafFraud.expand (PROTOCOL.md D13) against difffile.expand on random sparse records of
    every k from 1 to L/32 - 1, and its refusals: an index not above the one before, or not
    below L/32."""
    import numpy as np

    from pogo.protocol import difffile

    fraud = deployed.w3.eth.contract(address=deployed.contract.functions.leafFraud().call(),
                                     abi=pogo_artifacts.load("LeafFraud").abi)
    rng = np.random.default_rng(13)
    leaf = 512
    n_scales = leaf // 32
    for k in range(1, n_scales):
        chosen = np.sort(rng.choice(n_scales, k, replace=False))
        q = np.zeros(leaf, np.int8)
        scales = np.full(n_scales, 7, np.uint8)
        for g in chosen:
            q[32 * g:32 * g + 32] = rng.integers(-8, 8, 32)
            scales[g] = rng.integers(7, 248)
        record = difffile.pack_sparse(difffile.encode_records(q, scales, leaf), chosen[None, :], leaf)
        dense, malformed = fraud.functions.expand(record.tobytes(), n_scales).call()
        assert not malformed and dense == difffile.expand(record, leaf, k)[0].tobytes(), k
    record = difffile.pack_sparse(difffile.encode_records(np.zeros(leaf, np.int8), np.full(n_scales, 7, np.uint8), leaf),
                                  np.array([[3, 5]]), leaf)
    for index in ([5, 3], [3, 3], [3, n_scales]):
        bad = record.copy()
        bad[0, :4] = np.array(index, "<u2").view(np.uint8)
        assert fraud.functions.expand(bad[0].tobytes(), n_scales).call()[1], index
        with pytest.raises(FormatError):
            difffile.expand(bad, leaf, 2)
