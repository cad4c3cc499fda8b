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


def main() -> None:
    for name, build in (("merkle", merkle_vectors), ("seedstream", seedstream_vectors),
                        ("mxint4", mxint4_vectors), ("diff", diff_vectors)):
        (HERE / f"{name}.json").write_text(json.dumps(build(), indent=1) + "\n")
        print(f"wrote tests/vectors/{name}.json")


if __name__ == "__main__":
    main()
