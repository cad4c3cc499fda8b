"""What a round costs at a given model size: the cost model behind `pogo cost` and docs/COST.md.

Inputs are of three kinds, and every output says which it rests on:
  measured here    the bytes of the MX-int4 diff and tree (the formats, exact), the gas of each
                   transaction (benchmarks.gas), the verifier's hashing and rebuild throughput per
                   CPU core (benchmarks.core, benchmarks.scale)
  public figures   parameter counts and shapes of GPT-3 175B and Gemma 3 27B, GPUs' peak dense
                   bf16 FLOP/s and memory
  assumed          model FLOP utilisation (MFU, default 40 %), verifier CPU cores (32)

Training and evaluation FLOPs follow the usual count: 6 N + 12 L d T per trained token (the
second term attention), 2 N + 4 L d T per evaluated one (N parameters, L layers, d width, T context).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

from pogo.errors import PogoError
from pogo.protocol import checkpoint, difffile, merkle, treefile
from pogo.protocol.taskspec import Verification


@dataclass(frozen=True)
class ModelShape:
    name: str
    n_params: float
    n_layer: int
    d_model: int
    context: int
    source: str


MODELS = {
    "gpt3-175b": ModelShape("GPT-3 175B", 175.0e9, 96, 12288, 2048,
                            "Brown et al. 2020, table 2.1: 96 layers, d_model 12288, context 2048"),
    "gemma3-27b": ModelShape("Gemma 3 27B", 27.0e9, 62, 5376, 8192,
                             "Gemma 3 technical report (2025): 62 layers, width 5376; 8192-token training sequences"),
}


@dataclass(frozen=True)
class Gpu:
    name: str
    bf16_flops: float    # peak dense
    memory_bytes: float


GPUS = {
    "h100": Gpu("NVIDIA H100 SXM", 989e12, 80e9),
    "h200": Gpu("NVIDIA H200", 989e12, 141e9),
    "a100": Gpu("NVIDIA A100 80GB", 312e12, 80e9),
    "l40s": Gpu("NVIDIA L40S", 362e12, 48e9),
    "rtx4090": Gpu("NVIDIA RTX 4090", 165e12, 24e9),
    "mi300x": Gpu("AMD MI300X", 1307e12, 192e9),
}

# Gas of each transaction of a round: `python -m benchmarks.gas` on Anvil, 2026-12-02 (the
# steady state: a miner's second update onwards; a vote's seat the dearest of a committee of four).
GAS = {"update_commit_plus_reveal": 193_584, "drawCommittee": 194_426, "vote_commit_plus_reveal": 103_113,
       "finalize": 113_117, "settleSeat": 107_996, "claimReward": 69_114, "closeRound": 55_417}

# A verifier's CPU work per core: `python -m benchmarks.core` on this project's 2-core machine,
# 2026-12-02: sha256_single_thread_gbps 1.679 (16 KiB leaves) and rebuild_gbps 0.605 (model bytes
# rebuilt from theta_prev and a diff by one thread).
HASH_BYTES_PER_CORE_S = 1.679e9
REBUILD_PARAMS_PER_CORE_S = 0.605e9 / 4


@dataclass(frozen=True)
class Inputs:
    model: ModelShape
    gpu: Gpu
    round_hours: float = 1.0
    mfu: float = 0.40
    gpus_per_miner: int = 0          # 0: the fewest whose memory holds the training state
    miners: int = 8
    committee: int = 4
    verifier_cores: int = 32
    bandwidth_gbit: float = 10.0     # a verifier's download bandwidth
    first_look: int = Verification().first_look     # windows a clear verdict needs (the sequential test)
    max_windows: int = Verification().max_windows   # its cap: the worst case


def shape_of(arg: str) -> ModelShape:
    """A named model, or a JSON file: a Hugging Face config.json or this project's GPT config."""
    if arg in MODELS:
        return MODELS[arg]
    path = Path(arg)
    if not path.is_file():
        raise PogoError(f"{arg} is neither a known model ({', '.join(MODELS)}) nor a JSON file")
    try:
        cfg = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise PogoError(f"{path} is not JSON: {exc}") from None
    if "hidden_size" in cfg:  # transformers: gated MLP when the architecture has one
        d, n_layer, vocab = cfg["hidden_size"], cfg["num_hidden_layers"], cfg["vocab_size"]
        heads = cfg.get("num_attention_heads", 1)
        head_dim = cfg.get("head_dim") or d // heads
        kv = cfg.get("num_key_value_heads", heads)
        inner = cfg.get("intermediate_size") or cfg.get("n_inner") or 4 * d
        mlp = (3 if "intermediate_size" in cfg else 2) * d * inner
        attn = 2 * d * heads * head_dim + 2 * d * kv * head_dim
        n = n_layer * (attn + mlp) + vocab * d * (1 if cfg.get("tie_word_embeddings", True) else 2)
        context = cfg.get("max_position_embeddings", 2048)
    elif "n_embd" in cfg:
        d, n_layer, context = cfg["n_embd"], cfg["n_layer"], cfg["block_size"]
        n = 12 * n_layer * d * d + 2 * cfg.get("vocab_size", 256) * d + context * d  # lm_head untied
    else:
        raise PogoError(f"{path}: no hidden_size (transformers) or n_embd (GPT config) in it")
    return ModelShape(path.stem, float(n), int(n_layer), int(d), int(context), f"computed from {path}")


def estimate(i: Inputs) -> dict:
    m, g = i.model, i.gpu
    n = m.n_params
    train_flops_token = 6 * n + 12 * m.n_layer * m.d_model * m.context
    eval_flops_token = 2 * n + 4 * m.n_layer * m.d_model * m.context
    # Mixed-precision Adam: bf16 weights and grads, fp32 master, two moments: 16 bytes a parameter.
    gpus = i.gpus_per_miner or max(1, math.ceil(16 * n / (0.8 * g.memory_bytes)))
    seconds = i.round_hours * 3600
    tokens = gpus * g.bf16_flops * i.mfu * seconds / train_flops_token
    # The file sizes of the formats themselves (nibbles and a scale byte a group; the tree's leaf hashes, D19).
    leaf = checkpoint.DEFAULT_LEAF_SIZE
    leaves = checkpoint.n_leaves(int(n), leaf)
    diff_bytes = difffile.HEADER_SIZE + leaves * difffile.record_size(leaf)
    tree_bytes = treefile.TreeHeader(leaf, leaves, merkle.depth_for(leaves)).file_size()
    model_bytes = 4 * n

    # A seat: fetch the diff, rebuild every leaf and hash the new model (CPU threads), then the
    # sequential loss test: old and new model on training and validation windows, after its
    # first look (a clear verdict) or at its cap (the worst case).
    download_s = (diff_bytes + tree_bytes) * 8 / (i.bandwidth_gbit * 1e9)
    rebuild_s = n / (REBUILD_PARAMS_PER_CORE_S * i.verifier_cores)
    hash_s = model_bytes / (HASH_BYTES_PER_CORE_S * i.verifier_cores)

    def eval_gpu_s(windows: int) -> float:  # on the same GPUs as a miner's
        return 2 * 2 * windows * m.context * eval_flops_token / (gpus * g.bf16_flops * i.mfu)

    per_submission = (GAS["update_commit_plus_reveal"] + GAS["drawCommittee"] + GAS["finalize"]
                      + i.committee * (GAS["vote_commit_plus_reveal"] + GAS["settleSeat"]) + GAS["claimReward"])
    gas = (i.miners + (1 if i.miners > 1 else 0)) * per_submission + GAS["closeRound"]

    train_gpu_s = gpus * seconds

    def ratio(windows: int) -> float:  # every submission is checked by a committee
        return i.committee * gpus * eval_gpu_s(windows) / train_gpu_s
    # The share falls as 1 / round length: a seat's cost does not grow with the round.
    typical, worst = ratio(i.first_look), ratio(i.max_windows)
    return {
        "model": m.name, "n_params": n, "model_source": m.source, "gpu": g.name, "gpus_per_miner": gpus,
        "round_hours": i.round_hours, "mfu": i.mfu,
        "miner": {"tokens_per_round": round(tokens), "train_gpu_hours": round(train_gpu_s / 3600, 2),
                  "upload_bytes": round(diff_bytes + tree_bytes), "fp32_model_bytes": round(model_bytes),
                  "compression_vs_fp32": round(model_bytes / (diff_bytes + tree_bytes), 2)},
        "verifier_seat": {"download_bytes": round(diff_bytes + tree_bytes), "download_seconds": round(download_s, 1),
                          "rebuild_seconds": round(rebuild_s, 1), "hash_seconds": round(hash_s, 1),
                          "eval_gpu_seconds_first_look": round(eval_gpu_s(i.first_look), 1),
                          "eval_gpu_seconds_at_cap": round(eval_gpu_s(i.max_windows), 1),
                          "seconds_first_look": round(download_s + rebuild_s + hash_s + eval_gpu_s(i.first_look), 1)},
        "gas_per_round": gas, "gas_per_submission": per_submission, "blocks_at_30m_gas": round(gas / 30e6, 3),
        "verification_to_training_gpu_ratio": round(typical, 5),
        "verification_to_training_gpu_ratio_at_cap": round(worst, 5),
        "round_hours_for_2pct_verification": round(i.round_hours * typical / 0.02, 3),
        "round_hours_for_2pct_verification_at_cap": round(i.round_hours * worst / 0.02, 3),
        "inputs": {"measured": ["diff and tree bytes (format)", "gas per transaction (benchmarks.gas)",
                                "hash and rebuild throughput per core (benchmarks.core)"],
                   "public": ["model shape", "GPU peak bf16 FLOP/s and memory"],
                   "assumed": [f"MFU {i.mfu:.0%}", f"{i.verifier_cores} verifier CPU cores",
                               f"{i.bandwidth_gbit:g} Gbit/s verifier download",
                               f"{i.first_look} evaluation windows a clear verdict, {i.max_windows} at the cap"]},
        "assumptions": asdict(i) | {"model": m.name, "gpu": g.name},
    }
