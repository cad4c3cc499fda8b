"""The DeepSpeed trainer on this machine's accelerator (CPU/gloo here, GPU/nccl elsewhere),
under every ZeRO stage: theta goes in and comes back bit for bit, and training moves it."""

import numpy as np
import pytest

from deploy import corpus as data
from pogo.model import manifest
from pogo.model.gpt import GPT, GPTConfig
from workers.trainer import TrainConfig, Trainer

TINY = GPTConfig(block_size=32, n_layer=1, n_head=2, n_embd=32)


@pytest.mark.parametrize("stage", [0, 1, 2, 3])
def test_load_train_and_read_full_fp32_params(stage):
    tr = Trainer(TINY, TrainConfig(steps=4, batch_size=4, zero_stage=stage, seed=3))
    assert tr.manifest == manifest.of_module(GPT(TINY))
    theta = tr.theta()
    assert theta.dtype == np.dtype("<f4") and theta.size == tr.manifest.n_params
    target = (theta * 0.5).astype(np.float32)
    tr.load(target)
    assert np.array_equal(tr.theta(), target)  # the optimizer's fp32 copy too, or training would undo it
    corpus = data.load_corpus()
    losses = tr.train(corpus.tokens[:200_000])
    after = tr.theta()
    assert len(losses) == 4 and np.isfinite(losses).all()
    assert not np.array_equal(after, target) and np.abs(after - target).max() < 0.1
