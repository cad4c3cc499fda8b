"""Throughput of the protocol core; prints JSON.

    python -m benchmarks.core [--mib 64]

merkle_gbps        model root of a checkpoint (leaf hashing in threads + the inner levels)
sha256_limit_gbps  cores x single-thread hashlib SHA-256 over 16 KiB blocks, measured in the
                   same run: the most any SHA-256 tree over 16 KiB leaves could reach here
merkle_ratio       merkle_gbps / sha256_limit_gbps (target >= 0.8)
quantize_gbps      float32 update bytes turned into MX-int4 records per second
rebuild_gbps       model bytes rebuilt per second from theta_prev and a diff (one thread: pogo cost)
compression_ratio  float32 leaf bytes / record bytes at L = 4096 (7.53)
cosine             dequantized vs raw update of a real training run (target >= 0.98)
rebuild_exact      theta_new rebuilt from theta_prev + the diff file is bit-identical
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time

import numpy as np

from pogo.protocol import checkpoint, difffile, mxint4
from pogo.protocol.source import BytesSource

LEAF = 4096
GB = 1e9


def _best_of(fn, repeats: int = 9) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def sha256_single_thread_gbps(block: bytes, seconds: float = 1.0) -> float:
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(256):
            hashlib.sha256(block).digest()
        count += 256
    return count * len(block) / (time.perf_counter() - start) / GB


def real_update(steps: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """theta before and after a few optimizer steps of the miners' model on the real corpus."""
    from deploy import corpus as data
    from pogo.model import gpt as model
    from workers import trainer

    cfg = model.GPTConfig.small()
    corpus = data.load_corpus()
    net = model.GPT(cfg)
    before = trainer.flat_params(net)
    trainer.train_plain(net, corpus.tokens[: corpus.split], steps=steps, batch_size=8, seed=0)
    return before, trainer.flat_params(net)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=64, help="checkpoint size for the hashing runs")
    args = parser.parse_args(argv)
    cores = len(os.sched_getaffinity(0))
    rng = np.random.default_rng(0)
    n_params = args.mib * (1 << 20) // 4
    theta = rng.standard_normal(n_params, dtype=np.float32)
    padded = checkpoint.pad(theta, LEAF)

    merkle_s = _best_of(lambda: checkpoint.model_tree(padded, LEAF))
    merkle_gbps = padded.nbytes / merkle_s / GB
    single = sha256_single_thread_gbps(bytes(4 * LEAF))
    limit = cores * single

    delta = (rng.standard_normal(n_params, dtype=np.float32) * 1e-3).astype(np.float32)
    quant_s = _best_of(lambda: difffile.encode_records(*mxint4.quantize(checkpoint.pad(delta, LEAF)), LEAF))
    diff = difffile.make_diff(theta, theta + delta, LEAF).diff
    rebuild_s = _best_of(lambda: diff.apply(theta), repeats=5)

    before, after = real_update()
    result = difffile.make_diff(before, after, LEAF)
    raw = (after - before).astype(np.float64)
    deq = result.diff.dequantize()[: raw.size].astype(np.float64)
    cosine = float(deq @ raw / (np.linalg.norm(deq) * np.linalg.norm(raw)))
    rebuilt = difffile.read(BytesSource(result.diff.encode())).apply(before)
    rebuild_exact = bool(np.array_equal(rebuilt.view(np.uint32), result.theta_new.view(np.uint32))
                         and checkpoint.model_root(rebuilt, LEAF) == result.diff.header.new_root)

    print(json.dumps({
        "cores": cores,
        "checkpoint_mib": args.mib,
        "merkle_gbps": round(merkle_gbps, 3),
        "sha256_single_thread_gbps": round(single, 3),
        "sha256_limit_gbps": round(limit, 3),
        "merkle_ratio": round(merkle_gbps / limit, 3),
        "quantize_gbps": round(delta.nbytes / quant_s / GB, 3),
        "rebuild_gbps": round(theta.nbytes / rebuild_s / GB, 3),
        "compression_ratio": round(4 * LEAF / difffile.record_size(LEAF), 3),
        "cosine": round(cosine, 4),
        "cosine_update_params": int(raw.size),
        "rebuild_exact": rebuild_exact,
    }, indent=2))


if __name__ == "__main__":
    main()
