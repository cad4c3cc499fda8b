"""The Python core against the shared vectors (the Solidity side: test_contract_vectors.py)."""

import hashlib

import numpy as np

from pogo.protocol import checkpoint, difffile, merkle, mxint4, seedstream
from pogo.protocol.source import BytesSource
from tests.vectors import b, load


def test_merkle_vectors():
    v = load("merkle")
    assert [z.hex() for z in merkle.ZERO_HASHES[:8]] == [b(z).hex() for z in v["zero_hashes"]]
    for case in v["cases"]:
        data = b"".join(b(x) for x in case["leaves"])
        tree = merkle.MerkleTree.from_leaf_data(data, case["leaf_bytes"])
        assert tree.root == b(case["root"]) and tree.depth == case["depth"]
        for i, proof in enumerate(case["proofs"]):
            assert tree.proof(i) == [b(p) for p in proof]
            assert merkle.verify_proof(b(case["leaf_hashes"][i]), i, [b(p) for p in proof], tree.root)
    deep = v["deep"]
    assert merkle.root_from_proof(b(deep["leaf_hash"]), deep["index"], [b(p) for p in deep["proof"]]) == b(deep["root"])


def test_seedstream_vectors():
    v = load("seedstream")
    for tag, h in v["tags"].items():
        assert seedstream.keccak(tag.encode()) == b(h)
    for s in v["shards"]:
        assert seedstream.shard_of(s["task_id"], s["round"], s["miner"], s["n_shards"]) == s["shard"]
        assert s["shard"] < s["n_shards"] - 1  # never the validation shard
    for s in v["seeds"]:
        assert seedstream.challenge_seed(b(s["next_block_hash"]), s["submission_id"], b(s["new_root"])) == b(s["seed"])
    for p in v["purposes"]:
        assert seedstream.purpose(p["tag"], p["seat"]) == b(p["purpose"])
    for d in v["draws"]:
        assert seedstream.draw(b(d["seed"]), b(d["purpose"]), d["k"]) == int(d["value"])
    for s in v["leaf_indices"]:
        got = seedstream.leaf_indices(b(s["seed"]), s["seat"], s["count"], s["n_leaves"])
        assert got == s["indices"] and len(set(got)) == len(got) == min(s["count"], s["n_leaves"])
    for c in v["committees"]:
        assert seedstream.draw_committee(b(c["seed"]), c["weights"], c["size"], c["exclude"]) == c["slots"]


def test_mxint4_vectors():
    v = load("mxint4")
    delta = np.frombuffer(b(v["delta_f32"]), dtype="<f4")
    q, scales = mxint4.quantize(delta)
    assert q.tolist() == v["q"] and scales.tolist() == v["scales"]
    assert mxint4.pack_nibbles(q).tobytes() == b(v["packed"])
    new = mxint4.apply(np.frombuffer(b(v["prev_f32"]), dtype="<f4"), q, scales)
    assert new.astype("<f4").tobytes() == b(v["new_f32"])
    # Anchors checked by hand: the tie group (e = 0) rounds half to even.
    assert v["q"][96:103] == [7, 0, 2, 2, 0, -2, -2] and v["scales"][3] == 127


def test_diff_file_vector():
    v = load("diff")
    prev = np.frombuffer(b(v["prev_checkpoint"]), dtype="<f4")[: v["n_params"]]
    raw = np.frombuffer(b(v["raw_checkpoint"]), dtype="<f4")[: v["n_params"]]
    result = difffile.make_diff(prev, raw, v["leaf_size"])
    data = result.diff.encode()
    assert hashlib.sha256(data).digest() == b(v["diff_sha256"]) and data == b(v["diff_file"])
    assert data[:8] == b"POGODIF1" and len(data) == 128 + 4 * (32 // 32 + 16)
    header = difffile.read(BytesSource(data)).header
    assert (header.prev_root, header.new_root, header.diff_root) == (b(v["prev_root"]), b(v["new_root"]), b(v["diff_root"]))
    assert checkpoint.model_root(prev, v["leaf_size"]) == b(v["prev_root"])
