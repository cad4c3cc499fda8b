"""What a round costs as the model grows: one real miner round and one committee seat's check
per model size, on a fresh devnet (Anvil + js-ipfs) and whatever accelerator torch finds; prints
JSON, one object per size.

    python -m benchmarks.scale [--sizes 0.5M,2M,8M] [--quick] [--steps 30] [--density 0.0156]

tokens_per_second        training throughput over the round's K steps (DeepSpeed, fp32 or --bf16)
commit_seconds           quantize to MX-int4 + rebuild + hash the new model's and the diff's trees
commit_overhead_ratio    commit_seconds / the round's training time (K = --steps, the task default)
upload_bytes_per_round   what the miner uploads: the diff file and the tree file
compression_vs_fp32      fp32 model bytes / upload_bytes_per_round
verify_seat_seconds      one committee seat: fetch, spot checks, full rebuild, both loss checks
verify_to_train_ratio    verify_seat_seconds / the round's training time
aggregate_loss_seconds   what an aggregate's seat adds to an update's checks: its validation loss
                         check (PROTOCOL.md D15), once a round per seat of the aggregate's committee
device                   what it ran on

Targets (docs/PERFORMANCE.md): on a GPU at 300M with bf16, commit_overhead_ratio <= 0.05 and
verify_to_train_ratio <= 0.02; compression_vs_fp32 >= 100 needs a sparse diff (--density, PROTOCOL D13).
--quick runs the two smallest sizes, for CI and CPU machines.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import torch

from benchmarks.round import measure
from pogo.dev.devnet import Devnet
from pogo.model.gpt import GPTConfig
from workers.trainer import TrainConfig

# GPT shapes by nominal size: about 12 * n_layer * n_embd^2 parameters (+ embeddings).
SHAPES: dict[str, GPTConfig] = {
    "0.5M": GPTConfig(n_layer=2, n_head=4, n_embd=128, block_size=64),
    "2M": GPTConfig(n_layer=4, n_head=4, n_embd=192, block_size=128),
    "8M": GPTConfig(n_layer=6, n_head=5, n_embd=320, block_size=128),
    "19M": GPTConfig(n_layer=8, n_head=7, n_embd=448, block_size=256),
    "86M": GPTConfig(n_layer=12, n_head=12, n_embd=768, block_size=256),
    "300M": GPTConfig(n_layer=24, n_head=16, n_embd=1024, block_size=256),
}
QUICK = ("0.5M", "2M")


def device() -> str:
    if torch.cuda.is_available():
        return f"cuda: {torch.cuda.get_device_name(0)}"
    return f"cpu: {os.cpu_count()} cores, torch {torch.__version__}"


def row(size: str, m: dict) -> dict:
    train = m["train_seconds"]
    commit = m["quantize_hash_seconds"]
    return {
        "size": size, "n_params": m["n_params"], "steps": m["steps"], "verdict": m["verdict"],
        "tokens_per_second": round(m["tokens_per_step"] * m["steps"] / train, 1),
        "train_seconds": train, "commit_seconds": commit, "commit_overhead_ratio": round(commit / train, 4),
        "upload_seconds": m["upload_seconds"], "upload_bytes_per_round": m["upload_bytes"],
        "compression_vs_fp32": round(4 * m["n_params"] / m["upload_bytes"], 2),
        "verify_seat_seconds": m["verify_seconds"], "verify_to_train_ratio": m["verify_to_train_ratio"],
        "aggregate_loss_seconds": m["aggregate_loss_seconds"],
        "device": device(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", help=f"comma-separated, of {', '.join(SHAPES)} (default: all)")
    parser.add_argument("--quick", action="store_true", help=f"only {', '.join(QUICK)}: a CPU run in minutes")
    parser.add_argument("--steps", type=int, default=30, help="training steps a round (the task default)")
    parser.add_argument("--bf16", action="store_true", help="bf16 mixed precision (fp32 master weights, ZeRO 1)")
    parser.add_argument("--density", type=float, help="the task's diff density (PROTOCOL.md D13; default: the task default)")
    args = parser.parse_args(argv)
    train = TrainConfig(steps=args.steps, zero_stage=1 if args.bf16 else 0, bf16=args.bf16)
    sizes = QUICK if args.quick else tuple(args.sizes.split(",")) if args.sizes else tuple(SHAPES)
    unknown = [s for s in sizes if s not in SHAPES]
    if unknown:
        print(f"benchmarks.scale: unknown size {unknown[0]!r}: choose from {', '.join(SHAPES)}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        net = Devnet(Path(tmp) / "devnet")
        state = net.up()
        try:
            for size in sizes:
                print(f"benchmarks.scale: {size}", file=sys.stderr, flush=True)
                m = measure(state, Path(tmp) / size, args.steps, model_cfg=SHAPES[size], train=train,
                            density=args.density)
                print(json.dumps({**row(size, m), "bf16": args.bf16, "density": m["density"]}), flush=True)
        finally:
            net.down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
