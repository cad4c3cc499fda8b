"""`pogo cost`: the cost model's arithmetic, its inputs, and its answers to bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from pogo import cost
from pogo.errors import PogoError
from pogo.model import manifest
from pogo.model.gpt import GPT, GPTConfig
from pogo.protocol import difffile, treefile


def test_a_gpt_config_counts_its_parameters(tmp_path):
    cfg = GPTConfig(n_layer=4, n_head=4, n_embd=192, block_size=128)
    path = tmp_path / "gpt.json"
    path.write_text(json.dumps(cfg.to_json()))
    real = manifest.of_module(GPT(cfg)).n_params
    assert abs(cost.shape_of(str(path)).n_params - real) / real < 0.02  # biases and norms left out


def test_a_transformers_config_counts_its_parameters(tmp_path):
    """Llama 2 7B's config.json: 6,738,415,616 parameters (norms left out: 0.004 %)."""
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"hidden_size": 4096, "num_hidden_layers": 32, "num_attention_heads": 32,
                                "num_key_value_heads": 32, "intermediate_size": 11008, "vocab_size": 32000,
                                "max_position_embeddings": 4096, "tie_word_embeddings": False}))
    assert abs(cost.shape_of(str(path)).n_params - 6_738_415_616) / 6_738_415_616 < 1e-3


def test_bytes_follow_the_formats_and_verification_shrinks_with_longer_rounds():
    one = cost.estimate(cost.Inputs(cost.MODELS["gemma3-27b"], cost.GPUS["h100"], round_hours=1.0))
    two = cost.estimate(cost.Inputs(cost.MODELS["gemma3-27b"], cost.GPUS["h100"], round_hours=2.0))
    n = cost.MODELS["gemma3-27b"].n_params
    assert 0.53 * n < one["miner"]["upload_bytes"] < 0.55 * n  # 4.25 bits a parameter, and the tree
    # ...and exactly the files a miner uploads, at a size small enough to make them here.
    small = cost.ModelShape("small", 3 * 4096 + 5, 1, 32, 64, "test")
    theta = np.zeros(int(small.n_params), dtype=np.float32)
    made = difffile.make_diff(theta, theta + np.float32(1e-3), 4096)
    files = len(made.diff.encode()) + len(treefile.encode(made.new_tree, 4096))
    assert cost.estimate(cost.Inputs(small, cost.GPUS["h100"]))["miner"]["upload_bytes"] == files
    assert two["verification_to_training_gpu_ratio"] == pytest.approx(one["verification_to_training_gpu_ratio"] / 2,
                                                                      rel=1e-3)
    at = cost.estimate(cost.Inputs(cost.MODELS["gemma3-27b"], cost.GPUS["h100"],
                                   round_hours=one["round_hours_for_2pct_verification"]))
    assert at["verification_to_training_gpu_ratio"] == pytest.approx(0.02, rel=1e-3)


def test_unknown_models_and_bad_numbers_are_one_line_errors(tmp_path):
    with pytest.raises(PogoError, match="neither a known model"):
        cost.shape_of("gpt5")
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(PogoError, match="no hidden_size"):
        cost.shape_of(str(tmp_path / "x.json"))
    for args in (["--model", "gpt5"], ["--model", "gpt3-175b", "--mfu", "0"],
                 ["--model", "gpt3-175b", "--miners", "-1"]):
        r = subprocess.run([sys.executable, "-m", "pogo", "cost", *args], capture_output=True, text=True,
                           timeout=60, check=False)
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) <= 2 and "Traceback" not in r.stderr


def test_the_cost_document_says_what_the_model_computes():
    """Run `python -m pogo.dev.costdoc` when this fails: the cost model changed but docs/COST.md did not."""
    from pogo.dev import costdoc

    assert costdoc.COST_MD.read_text() == costdoc.render()
