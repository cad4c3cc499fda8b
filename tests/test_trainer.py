"""The DeepSpeed trainer on this machine's accelerator (CPU/gloo here, GPU/nccl elsewhere),
under every ZeRO stage and bf16: theta goes in and comes back bit for bit, the forward pass
uses it, and training moves it."""

import numpy as np
import pytest
import torch

from deploy import corpus as data
from pogo.model import manifest
from pogo.model.gpt import GPT, GPTConfig
from pogo.model.loss import batch
from workers.trainer import TrainConfig, Trainer

TINY = GPTConfig(block_size=32, n_layer=1, n_head=2, n_embd=32)


def test_bf16_or_offload_without_zero_is_refused():
    with pytest.raises(ValueError, match="ZeRO stage"):
        TrainConfig(bf16=True)
    with pytest.raises(ValueError, match="ZeRO stage"):
        TrainConfig(offload=True)


@pytest.mark.parametrize("stage,bf16,offload", [(0, False, False), (1, False, False), (2, False, False),
                                                (3, False, False), (1, True, False), (2, False, True),
                                                (3, False, True)])
def test_load_train_and_read_full_fp32_params(stage, bf16, offload):
    tr = Trainer(TINY, TrainConfig(steps=4, batch_size=4, zero_stage=stage, seed=3, bf16=bf16, offload=offload))
    assert tr.manifest == manifest.of_module(GPT(TINY))
    theta = tr.theta()
    assert theta.dtype == np.dtype("<f4") and theta.size == tr.manifest.n_params
    target = (theta * 0.5).astype(np.float32)
    tr.load(target)
    assert np.array_equal(tr.theta(), target)  # the optimizer's fp32 copy too, or training would undo it
    corpus = data.load_corpus()
    # ...and the weights the forward pass uses: the first step's gradient is taken at target.
    x, y = batch(corpus.tokens, [0, 1000, 2000, 3000], TINY.block_size, tr.device)
    reference = GPT(TINY)
    manifest.load_into(reference, target)
    with torch.no_grad():
        _, got = tr.engine(x, y)
        _, want = reference(x.cpu(), y.cpu())
    assert abs(float(got) - float(want)) < (0.05 if bf16 else 1e-5)
    losses = tr.train(corpus.tokens[:200_000])
    after = tr.theta()
    assert len(losses) == 4 and np.isfinite(losses).all()
    assert not np.array_equal(after, target) and np.abs(after - target).max() < 0.1


@pytest.mark.parametrize("schedule", ["warmup", "warmup_cosine"])
def test_a_transformers_model_trains_with_the_task_recipe(schedule):
    """A Llama from its config, AdamW and a DeepSpeed schedule: the loss the engine trains on
    is the loss the verifier measures, and the learning rate follows the schedule."""
    import json
    from pathlib import Path

    from pogo.model import causal_lm
    from pogo.model.loss import evaluate
    from pogo.protocol.taskspec import Recipe

    config = json.loads((Path(__file__).resolve().parent.parent / "examples/shakespeare-llama/config.json").read_text())
    spec = causal_lm.hf_spec({**config, "vocab_size": 256})
    recipe = Recipe(seq_len=32, steps=6, batch_size=4, optimizer="adamw", lr=1e-2, weight_decay=0.1,
                    schedule=schedule, warmup_steps=4, total_steps=8)
    tr = Trainer(spec, TrainConfig.from_recipe(recipe, zero_stage=1, seed=1))
    tokens = data.load_corpus().tokens[:100_000]
    lrs = []
    losses = tr.train(tokens, progress=lambda *_: lrs.append(tr.engine.get_lr()[0]))
    assert len(losses) == 6 and losses[-1] < losses[0]
    assert lrs[0] < lrs[3] <= 1e-2 + 1e-12  # warming up
    net = causal_lm.build(spec)
    manifest.load_into(net, tr.theta())
    offsets = [0, 5000, 9000]
    with torch.no_grad():
        x, y = batch(tokens, offsets, 32, tr.device)
        from pogo.model.loss import lm_loss

        trained = float(lm_loss(tr.engine, x, y))
    assert abs(evaluate(net, tokens, offsets, 32) - trained) < 1e-4
