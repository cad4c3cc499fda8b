"""Write the shared test vectors in tests/vectors/*.json.

    python -m tests.vectors.generate

The vectors are committed: the Python tests (test_vectors.py) and the Solidity tests
(test_contract_vectors.py, through contracts/test/VectorHarness.sol) both check them, so
a change on either side that alters a hash, an index or a byte fails a test. Regenerate
only for a deliberate protocol change, and record it in docs/PROTOCOL.md.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from pogo.net.chain import dev_account
from pogo.protocol import checkpoint, difffile, merkle, mxint4, seedstream

HERE = Path(__file__).parent


def det_bytes(label: str, n: int) -> bytes:
    """Deterministic pseudo-random bytes: SHA-256 in counter mode."""
    out = b"".join(hashlib.sha256(f"{label}/{i}".encode()).digest() for i in range(-(-n // 32)))
    return out[:n]


def hx(b: bytes) -> str:
    return "0x" + b.hex()


def merkle_vectors() -> dict:
    cases = []
    for n in (1, 2, 3, 5, 8, 13):
        leaf_bytes = 64
        data = det_bytes(f"merkle-{n}", n * leaf_bytes)
        tree = merkle.MerkleTree.from_leaf_data(data, leaf_bytes)
        cases.append({
            "leaf_bytes": leaf_bytes,
            "leaves": [hx(data[i * leaf_bytes:(i + 1) * leaf_bytes]) for i in range(n)],
            "leaf_hashes": [hx(h) for h in tree.levels[0]],
            "depth": tree.depth,
            "root": hx(tree.root),
            "proofs": [[hx(p) for p in tree.proof(i)] for i in range(n)],
        })
    # A depth-26 proof (a 2^26-leaf model, 275 GB at L = 4096) built from its siblings alone.
    leaf = merkle.hash_leaf(det_bytes("deep-leaf", 16384))
    siblings = [det_bytes(f"deep-{k}", 32) for k in range(26)]
    index = 0b10110011100011110000111110
    deep = {"leaf_hash": hx(leaf), "index": index, "proof": [hx(s) for s in siblings],
            "root": hx(merkle.root_from_proof(leaf, index, siblings))}
    return {"zero_hashes": [hx(z) for z in merkle.ZERO_HASHES[:8]], "cases": cases, "deep": deep}


def seedstream_vectors() -> dict:
    miners = [dev_account(i).address for i in range(3)]
    shards = [{"task_id": t, "round": r, "miner": m, "n_shards": s,
               "shard": seedstream.shard_of(t, r, m, s)}
              for t in (1, 7) for r in (0, 1, 2**40) for m in miners for s in (2, 9)]
    seeds = []
    for i in range(4):
        block_hash, new_root = det_bytes(f"bh-{i}", 32), det_bytes(f"root-{i}", 32)
        seeds.append({"next_block_hash": hx(block_hash), "submission_id": i + 1, "new_root": hx(new_root),
                      "seed": hx(seedstream.challenge_seed(block_hash, i + 1, new_root))})
    purposes = [{"tag": tag, "seat": seat, "purpose": hx(seedstream.purpose(tag, seat))}
                for tag in (seedstream.COMMITTEE, seedstream.LEAVES, seedstream.TRAIN_BATCH, seedstream.VAL_BATCH)
                for seat in (0, 1, 3)]
    seed0 = bytes.fromhex(seeds[0]["seed"][2:])
    draws = [{"seed": seeds[0]["seed"], "purpose": p["purpose"], "k": k,
              "value": str(seedstream.draw(seed0, bytes.fromhex(p["purpose"][2:]), k))}
             for p in purposes[:6] for k in (0, 1, 1000)]
    leaf_sets = [{"seed": seeds[1]["seed"], "seat": seat, "count": count, "n_leaves": n,
                  "indices": seedstream.leaf_indices(bytes.fromhex(seeds[1]["seed"][2:]), seat, count, n)}
                 for seat, count, n in ((0, 5, 100), (1, 5, 100), (2, 299, 1000), (3, 10, 7))]
    committees = []
    for weights, size, exclude in (([5, 5, 5, 5, 5], 4, None), ([1, 100, 3, 50, 7, 9], 4, 2),
                                   ([10, 0, 10, 0, 10, 10, 10], 4, 1), ([3, 3], 4, None)):
        committees.append({"seed": seeds[2]["seed"], "weights": weights, "size": size, "exclude": exclude,
                           "slots": seedstream.draw_committee(bytes.fromhex(seeds[2]["seed"][2:]), weights, size, exclude)})
    return {"tags": {t: hx(seedstream.keccak(t.encode())) for t in (seedstream.COMMITTEE, seedstream.LEAVES)},
            "shards": shards, "seeds": seeds, "purposes": purposes, "draws": draws,
            "leaf_indices": leaf_sets, "committees": committees}


def mxint4_vectors() -> dict:
    groups = [
        [0.0] * 32,                                                   # all zero: q = 0, e = -120
        [7.0] + [0.0] * 31,                                           # exactly 7 * 2^0
        [7.0000005] + [1.0] * 31,                                     # just over: e = 1
        [7.0, 0.5, 1.5, 2.5, -0.5, -1.5, -2.5] + [3.5] * 25,          # half-even ties at e = 0
        [1e-30, -3e-31] + [0.0] * 30,                                 # tiny values
        [1e38, -1e38] + [1.0] * 30,                                   # clamped at e = 120
        list(np.linspace(-0.01, 0.013, 32)),
    ]
    delta = np.array(groups, dtype=np.float32).reshape(-1)
    q, scales = mxint4.quantize(delta)
    prev = np.frombuffer(det_bytes("mx-prev", 4 * delta.size), dtype="<u4").astype(np.uint32)
    prev = (prev & np.uint32(0x3FFFFFFF)).view(np.float32) * np.float32(1e-30)  # finite, varied exponents
    prev = np.where(np.isfinite(prev), prev, 0).astype(np.float32)
    new = mxint4.apply(prev, q, scales)
    return {"delta_f32": hx(delta.astype("<f4").tobytes()), "q": q.tolist(), "scales": scales.tolist(),
            "prev_f32": hx(prev.astype("<f4").tobytes()), "new_f32": hx(new.astype("<f4").tobytes()),
            "packed": hx(mxint4.pack_nibbles(q).tobytes())}


def diff_vectors() -> dict:
    n_params, leaf = 100, 32
    prev = np.frombuffer(det_bytes("diff-prev", 4 * n_params), dtype="<i4").astype(np.float32) / 2**31
    raw = prev + np.frombuffer(det_bytes("diff-step", 4 * n_params), dtype="<i4").astype(np.float32) / 2**36
    result = difffile.make_diff(prev, raw, leaf)
    data = result.diff.encode()
    return {"n_params": n_params, "leaf_size": leaf,
            "prev_checkpoint": hx(checkpoint.pad(prev, leaf).tobytes()),
            "raw_checkpoint": hx(checkpoint.pad(raw, leaf).tobytes()),
            "prev_root": hx(checkpoint.model_root(prev, leaf)),
            "new_root": hx(result.new_tree.root), "diff_root": hx(result.diff_tree.root),
            "diff_file": hx(data), "diff_sha256": hx(hashlib.sha256(data).digest())}


def sparse_vectors() -> dict:
    """A sparse diff file (version 2, PROTOCOL D13: 2 of each leaf's 4 groups), each record's dense
    expansion, and records whose indices break the rule (LeafFraud.expand and difffile.expand)."""
    n_params, leaf, groups = 300, 128, 2
    prev = np.frombuffer(det_bytes("sparse-prev", 4 * n_params), dtype="<i4").astype(np.float32) / 2**31
    raw = prev + np.frombuffer(det_bytes("sparse-step", 4 * n_params), dtype="<i4").astype(np.float32) / 2**36
    result = difffile.make_diff(prev, raw, leaf, groups=groups)
    data = result.diff.encode()
    dense = difffile.expand(result.diff.records, leaf, groups)
    bad = []
    for index in ([2, 1], [1, 1], [1, 4]):
        rec = result.diff.records[0].copy()
        rec[:4] = np.array(index, "<u2").view(np.uint8)
        bad.append({"index": index, "record": hx(rec.tobytes())})
    return {"n_params": n_params, "leaf_size": leaf, "groups": groups,
            "prev_checkpoint": hx(checkpoint.pad(prev, leaf).tobytes()),
            "raw_checkpoint": hx(checkpoint.pad(raw, leaf).tobytes()),
            "new_root": hx(result.new_tree.root), "diff_root": hx(result.diff_tree.root),
            "diff_file": hx(data), "records": [hx(r.tobytes()) for r in result.diff.records],
            "dense_records": [hx(r.tobytes()) for r in dense], "malformed": bad}


def _bits(x: np.ndarray) -> list[int]:
    return np.atleast_1d(np.asarray(x, dtype=np.float32)).view(np.uint32).tolist()


def _f32(bits) -> np.ndarray:
    return np.asarray(bits, dtype=np.uint32).view(np.float32)


MAX_FINITE, MIN_NORMAL, MIN_SUB, MAX_SUB = 0x7F7FFFFF, 0x00800000, 0x00000001, 0x007FFFFF
POS_INF, NEG_INF, ONE = 0x7F800000, 0xFF800000, 0x3F800000
NANS = (0x7F800001, 0x7FBFFFFF, 0x7FC00000, 0x7FC12345, 0xFF800001, 0xFFC00000, 0xFFFFFFFF)
SPECIALS = (0, 0x80000000, MIN_SUB, MIN_SUB | 0x80000000, MAX_SUB, MIN_NORMAL, MIN_NORMAL | 0x80000000, ONE,
            0xBF800000, MAX_FINITE, MAX_FINITE | 0x80000000, POS_INF, NEG_INF) + NANS


def _edge_add_pairs() -> list[tuple[int, int]]:
    ulp_half = lambda f: ((f >> 23) - 24) << 23  # 2^(exponent - 24): half an ulp of a normal f
    pairs = [(a, b) for a in SPECIALS for b in SPECIALS]                       # every special against every other
    pairs += [
        (ONE, 0x33800000), (ONE, 0xB3800000), (0x3F800001, 0x33800000),        # 1 +- 2^-24: ties to even
        (0x3F800001, 0xB3800000), (ONE, 0x34400000), (ONE, 0x33800001),         # just past a tie
        (MAX_FINITE, ulp_half(MAX_FINITE)), (MAX_FINITE, ulp_half(MAX_FINITE) - 1),  # largest finite + carry: inf or not
        (MAX_FINITE, MAX_FINITE), (MAX_FINITE | 0x80000000, MAX_FINITE | 0x80000000),
        (MAX_SUB, MIN_SUB), (MIN_NORMAL, MIN_SUB | 0x80000000), (MIN_SUB, MIN_SUB | 0x80000000),
        (0x00400000, 0x00400000), (0x7F000000, 0x7F000000), (0x4B800000, 0x3F000000), (0x4B800001, 0x3F000000),
    ]
    # Update steps at both scale clamps (q 2^-120 and q 2^120), onto tiny and huge values.
    for q in (-8, -1, 1, 7):
        for e in (-120, 120):
            step = _bits(np.float32(q * 2.0 ** e))[0]  # exact
            pairs += [(a, step) for a in (0, 0x80000000, MIN_SUB, MAX_SUB, MIN_NORMAL, ONE, MAX_FINITE, 0xFF7FFFFF)]
    return pairs


def float32_vectors() -> dict:
    rng = np.random.default_rng(2026_12_01)
    u32 = lambda n: rng.integers(0, 2**32, n, dtype=np.uint64).astype(np.uint32)

    def near(a: np.ndarray, spread: int) -> np.ndarray:
        """Random values whose exponents are within +-spread of a's: where rounding happens."""
        e = np.clip(((a >> 23) & 0xFF).astype(np.int64) + rng.integers(-spread, spread + 1, a.size), 0, 254)
        return ((u32(a.size) & 0x807FFFFF) | (e.astype(np.uint32) << 23)).astype(np.uint32)

    a_uniform, b_uniform = u32(4000), u32(4000)
    a_near = u32(4000) & np.uint32(0xFF7FFFFF)                             # finite
    b_near = near(a_near, 30)
    a_small = (u32(1000) & np.uint32(0x81FFFFFF))                          # subnormal and tiny normals
    b_small = (u32(1000) & np.uint32(0x81FFFFFF))
    a_upd = near(np.full(2000, 0x3C000000, np.uint32), 40)                 # weights of every usual size ...
    q = rng.integers(-8, 8, 2000)
    e = rng.integers(-120, 121, 2000)
    b_upd = np.array(_bits(np.array(q * np.ldexp(1.0, e), dtype=np.float32)), dtype=np.uint32)  # ... plus q 2^e
    edge = _edge_add_pairs()
    add_a = np.concatenate([a_uniform, a_near, a_small, a_upd, [p[0] for p in edge]]).astype(np.uint32)
    add_b = np.concatenate([b_uniform, b_near, b_small, b_upd, [p[1] for p in edge]]).astype(np.uint32)

    mul_edge = [(a, b) for a in SPECIALS for b in SPECIALS] + [
        (0x3EAAAAAB, 0x40400000), (MAX_FINITE, 0x3F800001), (MAX_FINITE, 0x3F7FFFFF), (MIN_SUB, 0x3F000000),
        (0x00000003, 0x3F000000), (MIN_NORMAL, 0x3F7FFFFF), (0x1F800000, 0x1F800000), (0x0DA24260, 0x3E800000),
    ]
    m_a = np.concatenate([u32(1500), a_near[:1500], [p[0] for p in mul_edge]]).astype(np.uint32)
    m_b = np.concatenate([u32(1500), near(np.full(1500, 0x3F000000, np.uint32), 70), [p[1] for p in mul_edge]]).astype(np.uint32)
    ks = list(range(1, 101)) + [127, 255, 1000, 4095, 65_537, 2**20 + 1, 2**24 - 1, 2**24]
    with np.errstate(all="ignore"):
        add_out = (_f32(add_a) + _f32(add_b)).view(np.uint32)
        mul_out = (_f32(m_a) * _f32(m_b)).view(np.uint32)
        rec_out = [_bits(np.float32(1.0) / np.float32(k))[0] for k in ks]
    pack = lambda x: hx(np.asarray(x, dtype=">u4").tobytes())  # big-endian uint32s, back to back
    return {"note": "a, b and out are big-endian uint32 bit patterns back to back; out = float32(a op b) by numpy",
            "add": {"count": int(add_a.size), "a": pack(add_a), "b": pack(add_b), "out": pack(add_out)},
            "mul": {"count": int(m_a.size), "a": pack(m_a), "b": pack(m_b), "out": pack(mul_out)},
            "reciprocal": {"k": ks, "out": rec_out}}


def leaf_vectors() -> dict:
    """Whole-leaf rebuilds, the fraud proof's core: one update, aggregates of 2, 3 and 5, and
    aggregates whose sources leave groups all-zero (D14: a group is averaged over its movers)."""
    from pogo.protocol import aggregate

    leaf = 64
    rng = np.random.default_rng(11)
    prev = rng.standard_normal(leaf).astype(np.float32) * np.float32(0.02)
    prev.view(np.uint32)[:len(SPECIALS)] = SPECIALS                       # every special value in the leaf
    cases = []
    # (sources, valid, groups each source leaves all-zero): the last two give groups of 2, 1 and 0 movers
    shapes = ((1, leaf, ()), (1, 40, ()), (2, leaf, ()), (3, leaf, ()), (5, 50, ()),
              (3, leaf, ((1,), (0,), (1,))), (2, leaf, ((1,), (1,))))
    for k, valid, zero in shapes:
        records = []
        for s in range(k):
            q = rng.integers(-8, 8, leaf).astype(np.int8)
            q[valid:] = 0
            for g in zero[s] if zero else ():
                q[32 * g:32 * (g + 1)] = 0
            scales = rng.integers(mxint4.SCALE_MIN, mxint4.SCALE_MAX + 1, leaf // 32).astype(np.uint8)
            scales[0] = [mxint4.SCALE_MIN, mxint4.SCALE_MAX, 127 - 8][s % 3]  # both clamps and a usual scale
            records.append(difffile.encode_records(q, scales, leaf)[0])
        header = difffile.DiffHeader(valid, leaf, 32, bytes(32), bytes(32), bytes(32))
        diffs = [difffile.Diff(header, r.reshape(1, -1)) for r in records]
        with np.errstate(all="ignore"):
            new = diffs[0].apply(prev) if k == 1 else aggregate.aggregate(prev, diffs)
        cases.append({"valid": valid, "prev": hx(prev.astype("<f4").tobytes()),
                      "records": [hx(r.tobytes()) for r in records], "new": hx(new.astype("<f4").tobytes()),
                      "malformed": False})
    # Malformed records: a scale byte below and above the range, and an update of the padding.
    base = cases[0]
    for what, valid in (("scale 6", leaf), ("scale 248", leaf), ("padding", 40)):
        rec = bytearray(bytes.fromhex(base["records"][0][2:]))
        if what == "scale 6":
            rec[1] = 6
        elif what == "scale 248":
            rec[0] = 248
        else:
            rec[leaf // 32 + 25] = 0x10  # element 51: beyond 40 valid parameters
        cases.append({"valid": valid, "prev": base["prev"], "records": [hx(bytes(rec))], "new": None,
                      "malformed": True, "what": what})
    return {"leaf_size": leaf, "cases": cases}


def main() -> None:
    for name, build in (("merkle", merkle_vectors), ("seedstream", seedstream_vectors),
                        ("mxint4", mxint4_vectors), ("diff", diff_vectors), ("float32", float32_vectors),
                        ("leaf", leaf_vectors), ("sparse", sparse_vectors)):
        (HERE / f"{name}.json").write_text(json.dumps(build(), indent=1) + "\n")
        print(f"wrote tests/vectors/{name}.json")


if __name__ == "__main__":
    main()
