"""The Python core against the shared vectors (the Solidity side: test_contract_vectors.py)."""

import hashlib

import numpy as np
import pytest

from pogo.errors import FormatError
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
        # the three words side by side are abi.encode's bytes
        words = seedstream.encode(["bytes32", "bytes32", "uint256"], [b(d["seed"]), b(d["purpose"]), d["k"]])
        assert int.from_bytes(seedstream.keccak(words), "big") == int(d["value"])
    seed = b(v["draws"][0]["seed"])
    every = seedstream.batch_offsets(seed, seedstream.TRAIN_BATCH, 0, 40, 10_000, 32)
    assert seedstream.batch_offsets(seed, seedstream.TRAIN_BATCH, 0, 40, 10_000, 32, start=17) == every[17:]
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


def test_sparse_diff_file_vector():
    """PROTOCOL.md D13: the sparse diff file byte for byte, each record's dense expansion, and the
    index rules (test_contract_vectors checks LeafFraud.expand against the same file)."""
    v = load("sparse")
    leaf, groups = v["leaf_size"], v["groups"]
    prev = np.frombuffer(b(v["prev_checkpoint"]), dtype="<f4")[: v["n_params"]]
    raw = np.frombuffer(b(v["raw_checkpoint"]), dtype="<f4")[: v["n_params"]]
    data = difffile.make_diff(prev, raw, leaf, groups=groups).diff.encode()
    assert data == b(v["diff_file"]) and data[8:10] == (2).to_bytes(2, "little")
    assert data[124:128] == groups.to_bytes(4, "little") and len(data) == 128 + 3 * 19 * groups
    diff = difffile.read(BytesSource(data))
    assert (diff.header.new_root, diff.header.diff_root) == (b(v["new_root"]), b(v["diff_root"]))
    assert [r.tobytes() for r in diff.records] == [b(r) for r in v["records"]]
    assert [r.tobytes() for r in diff.dense_records()] == [b(r) for r in v["dense_records"]]
    for case in v["malformed"]:
        with pytest.raises(FormatError, match="strictly ascending"):
            difffile.expand(np.frombuffer(b(case["record"]), np.uint8).reshape(1, -1), leaf, groups)


def _u32(hex_str: str) -> np.ndarray:
    return np.frombuffer(b(hex_str), dtype=">u4").astype(np.uint32)


def test_float32_vectors_are_what_numpy_computes():
    """numpy float32 is the reference the fraud proof's Solidity arithmetic must match (the
    Solidity side: test_contract_vectors.py). At least 10,000 random pairs plus the edge cases."""
    v = load("float32")
    for op, fn in (("add", np.add), ("mul", np.multiply)):
        a, b_, out = (_u32(v[op][k]) for k in ("a", "b", "out"))
        assert a.size == b_.size == out.size == v[op]["count"]
        with np.errstate(all="ignore"):
            assert np.array_equal(fn(a.view(np.float32), b_.view(np.float32)).view(np.uint32), out)
    assert v["add"]["count"] >= 11_000
    assert [int(np.array([np.float32(1) / np.float32(k)]).view(np.uint32)[0]) for k in v["reciprocal"]["k"]] \
        == v["reciprocal"]["out"]
    # Anchors checked by hand: ties to even, carry into infinity, x86's NaN rules.
    pairs = dict(zip(zip(_u32(v["add"]["a"]).tolist(), _u32(v["add"]["b"]).tolist()), _u32(v["add"]["out"]).tolist()))
    assert pairs[(0x3F800000, 0x33800000)] == 0x3F800000          # 1 + 2^-24: tie, stays even
    assert pairs[(0x3F800001, 0x33800000)] == 0x3F800002          # tie, rounds up to even
    assert pairs[(0x7F7FFFFF, 0x73000000)] == 0x7F800000          # largest finite + half an ulp: inf
    assert pairs[(0x7F800000, 0xFF800000)] == 0xFFC00000          # inf - inf: the default NaN
    assert pairs[(0x7F800001, 0x3F800000)] == 0x7FC00001          # a signalling NaN comes back quiet
    assert pairs[(0x80000000, 0x80000000)] == 0x80000000 and pairs[(0x80000000, 0)] == 0


def test_leaf_vectors_are_what_the_protocol_computes():
    from pogo.protocol import aggregate

    v = load("leaf")
    leaf = v["leaf_size"]
    zero_groups = 0
    for case in v["cases"]:
        header = difffile.DiffHeader(case["valid"], leaf, 32, bytes(32), bytes(32), bytes(32))
        prev = np.frombuffer(b(case["prev"]), dtype="<f4")
        diffs = [difffile.Diff(header, np.frombuffer(b(r), np.uint8).reshape(1, -1)) for r in case["records"]]
        if case["malformed"]:
            q, scales = diffs[0].q_and_scales()
            bad_scale = ((scales < mxint4.SCALE_MIN) | (scales > mxint4.SCALE_MAX)).any()
            assert bad_scale or q[case["valid"]:].any()
            continue
        with np.errstate(all="ignore"):
            new = diffs[0].apply(prev) if len(diffs) == 1 else aggregate.aggregate(prev, diffs)
        assert new.astype("<f4").tobytes() == b(case["new"])
        assert not new[case["valid"]:].any()  # the padding comes out +0 whatever the head's
        if len(diffs) > 1:
            q = np.stack([d.q_and_scales()[0].reshape(-1, 32).any(axis=1) for d in diffs])
            movers = q.sum(axis=0)
            zero_groups += int((movers < len(diffs)).sum())
            # The plain 1/k average differs only in groups of 1 to k - 1 movers (none moved: both keep prev + 0).
            with np.errstate(all="ignore"):
                plain = prev + (sum(d.dequantize() for d in diffs) * np.float32(1 / len(diffs))).astype(np.float32)
            fewer = np.repeat((movers > 0) & (movers < len(diffs)), 32)[:case["valid"]]
            same = plain[:case["valid"]].view("<u4") == new[:case["valid"]].view("<u4")
            assert same[~fewer].all() and (not fewer.any() or not same[fewer].all())
    assert zero_groups == 3  # D14 is exercised: groups of 2 of 3, 1 of 3 and 0 of 2 movers
